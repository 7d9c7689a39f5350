/// The resume point of a live stream, in pycti's state keys:
/// `{"start_from": "<event id>", "recover_until": "<ISO date>" | false}`. Other keys found in
/// the file are kept when it is rewritten; pycti's older `connectorLastEventId` and
/// `connectorStartTime` are read too.
package struct LiveStreamState: Equatable, Sendable {
  /// The last event id processed (sent as `Last-Event-ID`).
  package var startFrom: String?
  /// The date up to which the platform recovers from its database; nil means none (`false`).
  package var recoverUntil: String?
  private var others = JSONObject()

  package init(startFrom: String?, recoverUntil: String?) {
    self.startFrom = startFrom
    self.recoverUntil = recoverUntil
  }

  /// The state in a file, or nil when the file does not exist. A file that exists but is not a
  /// state is an error: starting over silently would replay the whole platform.
  package static func load(_ path: String) throws -> LiveStreamState? {
    guard FileSystem.exists(path) else { return nil }
    let bytes = try FileSystem.read(path)
    guard case .object(let object)? = try? JSONParser.parse(bytes) else {
      throw ConfigError("state file \(path) is not a JSON object; fix or remove it (removing it starts from the beginning)")
    }
    var state = LiveStreamState(startFrom: nil, recoverUntil: nil)
    state.startFrom = object["start_from"]?.stringValue ?? object["connectorLastEventId"]?.stringValue
    state.recoverUntil = Self.recoverValue(object["recover_until"] ?? object["connectorStartTime"])
    var others = object
    for key in ["start_from", "recover_until", "connectorLastEventId", "connectorStartTime"] { others[key] = nil }
    state.others = others
    return state
  }

  /// pycti sends no `recover` when the value is false or one of these words.
  static func recoverValue(_ value: JSONValue?) -> String? {
    guard let text = value?.stringValue else { return nil }
    return ["no", "none", "No", "None", "false", "False", ""].contains(text) ? nil : text
  }

  /// The state as one JSON object (the state file holds it and a newline).
  package var bytes: [UInt8] {
    var object = JSONObject()
    object["start_from"] = startFrom.map { .string($0) } ?? .null
    object["recover_until"] = recoverUntil.map { .string($0) } ?? .bool(false)
    for member in others { object[member.key] = member.value }
    return JSONWriter.serialize(.object(object))
  }

  package static func == (lhs: LiveStreamState, rhs: LiveStreamState) -> Bool {
    lhs.startFrom == rhs.startFrom && lhs.recoverUntil == rhs.recoverUntil && lhs.others == rhs.others
  }
}
