extension ConnectorRegistration {
  /// The registration that impersonates the connector a diode envelope comes from.
  package init(_ connector: DiodeConnector) throws(RecordError) {
    guard let type = ConnectorType(parsing: connector.type) else {
      throw RecordError("envelope connector \(connector.id) has an unknown type '\(connector.type)'")
    }
    self.init(id: connector.id, name: connector.name, type: type, scope: connector.scope, auto: connector.auto)
  }
}

/// What a stream event asks the target platform to do.
package enum StreamEventAction: Sendable {
  /// `create` or `update`: upsert the object.
  case upsert(RawObject)
  case delete(id: String)
  /// `merge`: the sources are merged into the target.
  case merge(target: RawObject, sourceIds: [String])

  /// The action for a data event (either form, see `StreamEvent`).
  package init(_ event: StreamEvent) throws(RecordError) {
    switch event.name {
    case "delete": self = .delete(id: event.id)
    case "merge":
      let sources = event.context?.value("sources")?.arrayValue ?? []
      let ids = sources.compactMap { $0["id"]?.stringValue }
      guard !ids.isEmpty, ids.count == sources.count else {
        throw RecordError("merge event for \(event.id) lists no source ids in context.sources")
      }
      self = .merge(target: event.data, sourceIds: ids)
    default: self = .upsert(event.data)
    }
  }
}
