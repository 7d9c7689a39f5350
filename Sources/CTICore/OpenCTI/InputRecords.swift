extension ConnectorRegistration {
  /// The registration that impersonates the connector a diode envelope comes from.
  public init(_ connector: DiodeConnector) throws(RecordProblem) {
    guard let type = ConnectorType(parsing: connector.type) else {
      throw RecordProblem("envelope connector \(connector.id) has an unknown type '\(connector.type)'")
    }
    self.init(id: connector.id, name: connector.name, type: type, scope: connector.scope, auto: connector.auto)
  }
}

/// What a stream event asks the target platform to do.
public enum StreamEventAction: Sendable {
  /// `create` or `update`: upsert the object.
  case upsert(RawObject)
  case delete(id: String)
  /// `merge`: the sources are merged into the target.
  case merge(target: RawObject, sourceIds: [String])
  /// `connected`, `heartbeat` and other control events carry no data.
  case control(String)

  /// Reads a stream event as docs/records.md describes it (`{"id","event",…payload…}` with the
  /// STIX object in `data` and a merge's `sources` in `context`). The unflattened form, the SSE
  /// `data:` payload kept whole under `data`, is read too.
  public init(_ object: RawObject) throws(RecordProblem) {
    guard let event = object.string("event") else { throw RecordProblem("stream event has no event name") }
    switch event {
    case "create", "update", "delete", "merge":
      guard var stix = object.object("data") else { throw RecordProblem("\(event) event has no data object") }
      var context = object.object("context")
      if stix.string("id") == nil, let nested = stix.object("data") {
        context = stix.object("context")
        stix = nested
      }
      guard let id = stix.string("id"), STIXIdentifier.isValid(id) else {
        throw RecordProblem("\(event) event data has no valid STIX id")
      }
      switch event {
      case "delete": self = .delete(id: id)
      case "merge":
        let sources = context?.value("sources")?.arrayValue ?? []
        let ids = sources.compactMap { $0["id"]?.stringValue }
        guard !ids.isEmpty, ids.count == sources.count else {
          throw RecordProblem("merge event for \(id) lists no source ids in context.sources")
        }
        self = .merge(target: stix, sourceIds: ids)
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
