/// pycti's connector settings, read by the tools that register as a connector or write one into
/// diode files.
package enum ConnectorKeys {
  package static let id = Setting(env: "CONNECTOR_ID", key: "connector.id")
  package static let name = Setting(env: "CONNECTOR_NAME", key: "connector.name")
  package static let type = Setting(env: "CONNECTOR_TYPE", key: "connector.type")
  package static let scope = Setting(env: "CONNECTOR_SCOPE", key: "connector.scope")
}

/// What the command line said about the connector (nil: not given).
package struct ConnectorFlags: Sendable, Equatable {
  package var id: String?
  package var name: String?
  package var type: String?
  package var scope: String?

  package init(id: String? = nil, name: String? = nil, type: String? = nil, scope: String? = nil) {
    self.id = id
    self.name = name
    self.type = type
    self.scope = scope
  }
}
