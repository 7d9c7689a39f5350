/// One event listed in `manifest.json`.
package struct MISPManifestEntry: Sendable, Equatable {
  package var uuid: String
  /// The event's last change (Unix seconds); integers and strings are both accepted.
  package var timestamp: Int64
  package var info: String
  /// Why the entry cannot be imported: its timestamp is missing, not a whole number, or outside
  /// the years 0001 to 9999. Such an entry has no place in the timestamp order; it sorts last,
  /// is reported as failed by every run, and the state never passes it.
  package var problem: String?

  package init(uuid: String, timestamp: Int64, info: String, problem: String? = nil) {
    self.uuid = uuid
    self.timestamp = timestamp
    self.info = info
    self.problem = problem
  }

  /// The entries of a manifest, oldest first (ties by uuid, so runs are repeatable), entries
  /// with a `problem` last. Only a manifest that is not a JSON object fails as a whole.
  package static func parse(_ bytes: [UInt8]) throws(MISPEventError) -> [MISPManifestEntry] {
    let root: JSONValue
    do { root = try JSONParser.parse(bytes) } catch { throw MISPEventError("manifest.json: \(error)") }
    guard let object = root.objectValue else { throw MISPEventError("manifest.json is not a JSON object") }
    var entries: [MISPManifestEntry] = []
    for (uuid, value) in object {
      let info = value["info"]?.stringValue ?? ""
      if let timestamp = value["timestamp"]?.intValue, ISO8601.Instant.supportedSeconds.contains(Int64(timestamp)) {
        entries.append(MISPManifestEntry(uuid: uuid, timestamp: Int64(timestamp), info: info))
        continue
      }
      let problem: String
      if let text = value["timestamp"]?.numberText ?? value["timestamp"]?.stringValue {
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        problem =
          value["timestamp"]?.intValue != nil || MISPTimestamps.isWholeNumber(text.trimmingSpaces)
          ? "timestamp \(shown) is outside the years 0001 to 9999" : "timestamp '\(shown)' is not a whole number"
      } else {
        problem = "no numeric timestamp"
      }
      entries.append(MISPManifestEntry(uuid: uuid, timestamp: .max, info: info, problem: problem))
    }
    return entries.sorted {
      ($0.problem == nil ? 0 : 1, $0.timestamp, $0.uuid) < ($1.problem == nil ? 0 : 1, $1.timestamp, $1.uuid)
    }
  }
}
