/// The connector state file: `last_run`, `last_event` (ISO-8601) and `last_event_timestamp`.
package struct MISPFeedState: Sendable, Equatable {
  package var lastRun: String?
  package var lastEvent: String?
  package var lastEventTimestamp: Int64?

  package init(lastRun: String? = nil, lastEvent: String? = nil, lastEventTimestamp: Int64? = nil) {
    self.lastRun = lastRun
    self.lastEvent = lastEvent
    self.lastEventTimestamp = lastEventTimestamp
  }

  /// The state in `path`, or an empty state when the file does not exist.
  package static func load(_ path: String) throws(ConfigError) -> MISPFeedState {
    guard FileSystem.exists(path) else { return MISPFeedState() }
    guard let bytes = try? FileSystem.read(path), let root = try? JSONParser.parse(bytes), root.objectValue != nil else {
      throw ConfigError("state file \(path) is not readable JSON")
    }
    return MISPFeedState(
      lastRun: root["last_run"]?.stringValue, lastEvent: root["last_event"]?.stringValue,
      lastEventTimestamp: root["last_event_timestamp"]?.intValue.map(Int64.init))
  }

  /// The high-water mark this state gives: `last_event_timestamp`, else `last_run`.
  package var mark: Int64? {
    if let lastEventTimestamp { return lastEventTimestamp }
    return lastRun.flatMap(ISO8601.parse)?.seconds
  }

  /// The state as the connector stores it, one JSON object.
  package var bytes: [UInt8] {
    var object = JSONObject()
    object["last_run"] = lastRun.map(JSONValue.string)
    object["last_event"] = lastEvent.map(JSONValue.string)
    object["last_event_timestamp"] = lastEventTimestamp.map { .int($0) }
    return JSONWriter.serialize(.object(object))
  }

  /// Python's `isoformat()` of a UTC instant, as the connector stores it.
  package static func isoformat(_ instant: ISO8601.Instant) -> String {
    IDTime.isoformat(unixSeconds: instant.seconds, microseconds: Int(instant.nanoseconds / 1000)).text
  }
}
