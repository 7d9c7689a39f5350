/// A diode envelope (the `send_to_directory` file format) read for pushing: the source
/// connector to impersonate, the applicant and the bundle, kept as raw bytes.
public struct DiodeEnvelope: Sendable {
  public var connector: ConnectorRegistration
  /// The user id on the source platform (nil when the file says null).
  public var applicantId: String?
  public var bundle: RawObject
  public var update: Bool

  /// Reads an envelope. The connector needs `id`, `name` and a known `type`; `scope` may be a
  /// comma-separated string or a list.
  public init(_ object: RawObject) throws(RecordProblem) {
    guard let connector = object.object("connector") else { throw RecordProblem("envelope has no connector object") }
    guard let id = connector.string("id"), !id.isEmpty else { throw RecordProblem("envelope connector has no id") }
    guard let name = connector.string("name"), !name.isEmpty else {
      throw RecordProblem("envelope connector \(id) has no name")
    }
    let typeText = connector.string("type") ?? ConnectorType.externalImport.rawValue
    guard let type = ConnectorType(parsing: typeText) else {
      throw RecordProblem("envelope connector \(id) has an unknown type '\(typeText)'")
    }
    var scope: [String] = []
    switch connector.value("scope") {
    case .string(let text): scope = ConnectorRegistration.scope(from: text)
    case .array(let items): scope = items.compactMap(\.stringValue).flatMap(ConnectorRegistration.scope(from:))
    case .null, nil: break
    default: throw RecordProblem("envelope connector \(id) has a scope that is neither a string nor a list")
    }
    guard let bundle = object.object("bundle") else { throw RecordProblem("envelope has no bundle object") }
    self.connector = ConnectorRegistration(
      id: id, name: name, type: type, scope: scope, auto: connector.value("auto")?.boolValue ?? false)
    applicantId = object.string("applicant_id")
    self.bundle = bundle
    update = object.value("update")?.boolValue ?? false
  }
}

/// What a stream event asks the target platform to do.
public enum StreamEventAction: Sendable {
  /// `create` or `update`: upsert the object.
  case upsert(RawObject)
  case delete(id: String)
  /// `merge`: the sources are merged into the target.
  case merge(targetId: String, sourceIds: [String])
  /// `connected`, `heartbeat` and other control events carry no data.
  case control(String)

  /// Reads a `{"id","event","data":{…,"data":<STIX>,…}}` line as cti-stream writes it.
  public init(_ object: RawObject) throws(RecordProblem) {
    guard let event = object.string("event") else { throw RecordProblem("stream event has no event name") }
    switch event {
    case "create", "update", "delete", "merge":
      guard let payload = object.object("data"), let stix = payload.object("data") else {
        throw RecordProblem("\(event) event has no data.data object")
      }
      guard let id = stix.string("id"), STIXIdentifier.isValid(id) else {
        throw RecordProblem("\(event) event data has no valid STIX id")
      }
      switch event {
      case "delete": self = .delete(id: id)
      case "merge":
        let sources = payload.object("context")?.value("sources")?.arrayValue ?? []
        let ids = sources.compactMap { $0["id"]?.stringValue }
        guard !ids.isEmpty, ids.count == sources.count else {
          throw RecordProblem("merge event for \(id) lists no source ids in data.context.sources")
        }
        self = .merge(targetId: id, sourceIds: ids)
      default: self = .upsert(stix)
      }
    case "connected", "heartbeat", "no-recover": self = .control(event)
    default: throw RecordProblem("unknown stream event '\(event)'")
    }
  }
}

/// Why a record cannot be pushed as it is.
public struct RecordProblem: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
