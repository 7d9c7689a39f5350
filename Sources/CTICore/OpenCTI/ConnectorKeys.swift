/// pycti's connector settings, read by the tools that register as a connector or write one into
/// diode files.
public enum ConnectorKeys {
  public static let id = Setting(env: "CONNECTOR_ID", key: "connector.id")
  public static let name = Setting(env: "CONNECTOR_NAME", key: "connector.name")
  public static let type = Setting(env: "CONNECTOR_TYPE", key: "connector.type")
  public static let scope = Setting(env: "CONNECTOR_SCOPE", key: "connector.scope")
}

/// What the command line said about the connector (nil: not given).
public struct ConnectorFlags: Sendable, Equatable {
  public var id: String?
  public var name: String?
  public var type: String?
  public var scope: String?

  public init(id: String? = nil, name: String? = nil, type: String? = nil, scope: String? = nil) {
    self.id = id
    self.name = name
    self.type = type
    self.scope = scope
  }
}
