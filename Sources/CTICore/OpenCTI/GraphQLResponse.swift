/// An error the platform reported in a GraphQL answer's `errors[]` (the HTTP status is 200).
package struct GraphQLError: ToolError, Equatable, Sendable {
  package var message: String
  /// `extensions.code` (for example `AUTH_REQUIRED`, `GRAPHQL_VALIDATION_FAILED`), when given.
  package var code: String?
  /// The error's `name` (OpenCTI sets it on its functional errors), when given.
  package var name: String?
  package var operation: GraphQLOperation

  package init(message: String, code: String? = nil, name: String? = nil, operation: GraphQLOperation) {
    self.message = message
    self.code = code
    self.name = name
    self.operation = operation
  }

  /// The token was refused or lacks a capability.
  package var isPermissionDenied: Bool {
    let tags = [code, name].compactMap { $0?.uppercased() }
    return tags.contains { ["AUTH_REQUIRED", "AUTH_FAILURE", "FORBIDDEN_ACCESS", "FORBIDDENACCESS", "AUTHREQUIRED"].contains($0) }
  }

  /// A refused token is a permission problem; anything else the platform refuses is an answer
  /// the tool did not expect.
  package var exitStatus: ExitStatus { isPermissionDenied ? .noPermission : .protocolError }

  /// The document or its variables did not match the schema: sending it again cannot help.
  package var isValidation: Bool {
    let tags = [code, name].compactMap { $0?.uppercased() }
    return tags.contains { ["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT"].contains($0) }
  }

  package var description: String {
    let tag = code ?? name
    return "\(operation.rawValue): \(message)" + (tag.map { " (\($0))" } ?? "")
  }
}

/// Why a call to the platform failed.
package enum OpenCTIError: ToolError, Equatable, Sendable {
  /// The platform answered with `errors[]`.
  case graphQL(GraphQLError)
  /// HTTP 401 or 403.
  case permissionDenied(status: Int, operation: GraphQLOperation)
  /// Another HTTP status that is not worth retrying (or still failing after the retries).
  case httpStatus(Int, operation: GraphQLOperation, body: String)
  /// The connection failed or timed out (after the retries).
  case network(String, operation: GraphQLOperation)
  /// A 200 answer that is not the JSON the operation returns.
  case badResponse(String, operation: GraphQLOperation)
  /// The platform is older than what the tool needs.
  case unsupportedVersion(String, minimum: String)
  /// Publishing to the platform's RabbitMQ failed (AMQP push), after the publisher's own
  /// reconnects and retries.
  case broker(AMQPError)
  /// pycti's splitter finds nothing to send in the bundle, or cannot read it (AMQP push).
  case unsplittable(String)

  package var exitStatus: ExitStatus {
    switch self {
    case .graphQL(let error): error.exitStatus
    case .permissionDenied: .noPermission
    case .httpStatus(let status, _, _): status == 429 || status >= 500 ? .unavailable : .protocolError
    case .network: .unavailable
    case .badResponse, .unsupportedVersion: .protocolError
    case .broker(let error): error.exitStatus
    case .unsplittable: .dataError
    }
  }

  /// Whether the failure says nothing about the record being sent: the platform is down or
  /// refuses the token, so the following records would fail the same way.
  /// The platform is down or overloaded (not a refusal) and the operation may be sent again:
  /// worth waiting for.
  package var isOutage: Bool {
    switch self {
    case .network(_, let operation): operation.mayRepeat
    case .httpStatus(let status, let operation, _): (status == 429 || status >= 500) && operation.mayRepeat
    default: false
    }
  }

  package var isPlatformFailure: Bool {
    switch self {
    case .graphQL(let error): error.isPermissionDenied
    case .permissionDenied, .network, .unsupportedVersion: true
    case .httpStatus(let status, _, _): status == 429 || status >= 500 || status == 404
    case .badResponse, .unsplittable: false
    // The publisher has already waited out what can be waited out: any broker failure stops
    // the run's pushing.
    case .broker: true
    }
  }

  package var description: String {
    switch self {
    case .graphQL(let error): "OpenCTI refused \(error)"
    case .permissionDenied(let status, let operation):
      "\(operation.rawValue): HTTP \(status), the token was refused (check OPENCTI_TOKEN and its capabilities)"
    case .httpStatus(let status, let operation, let body):
      "\(operation.rawValue): HTTP \(status)" + (body.isEmpty ? "" : ": \(body)")
    case .network(let message, let operation): "\(operation.rawValue): \(message)"
    case .badResponse(let message, let operation): "\(operation.rawValue): unexpected answer: \(message)"
    case .unsupportedVersion(let version, let minimum):
      "OpenCTI \(version) is too old: stixBundlePush needs \(minimum) or later"
    case .broker(let error): error.description
    case .unsplittable(let message): "cannot split the bundle as pycti does: \(message)"
    }
  }
}

/// Reads a GraphQL answer: `errors[]` become a thrown `GraphQLError`, otherwise the `data`
/// object is returned in place.
package enum GraphQLResponse {
  package static func data(_ body: [UInt8], operation: GraphQLOperation) throws(OpenCTIError) -> RawObject {
    let answer: RawObject
    do {
      answer = try RawObject(body)
    } catch {
      throw .badResponse("not a JSON object (\(error))", operation: operation)
    }
    if let errors = answer.value("errors")?.arrayValue, let first = errors.first {
      let message = first["message"]?.stringValue ?? first.jsonText
      throw .graphQL(
        GraphQLError(
          message: message, code: first["extensions"]?["code"]?.stringValue, name: first["name"]?.stringValue,
          operation: operation))
    }
    guard let data = answer.object("data") else { throw .badResponse("no data", operation: operation) }
    return data
  }

  /// The object answered for the operation's top-level field (`registerConnector`, `workAdd`…).
  static func field(_ data: RawObject, _ name: String, operation: GraphQLOperation) throws(OpenCTIError) -> RawObject {
    guard let object = data.object(name) else { throw .badResponse("no \(name) object", operation: operation) }
    return object
  }

  /// `about.version`.
  package static func version(_ body: [UInt8]) throws(OpenCTIError) -> String {
    let data = try data(body, operation: .about)
    guard let version = try field(data, "about", operation: .about).string("version") else {
      throw .badResponse("no about.version", operation: .about)
    }
    return version
  }

  /// What `registerConnector` answers (the document is pycti's, `config` included).
  package struct RegisteredConnector: Sendable, Equatable {
    package var id: String
    package var connectorState: String?
    package var connectorUserId: String?
    /// The connector's queues and the platform's RabbitMQ, for AMQP push.
    package var config: ConnectorQueueConfig?

    package init(id: String, connectorState: String? = nil, connectorUserId: String? = nil, config: ConnectorQueueConfig? = nil) {
      self.id = id
      self.connectorState = connectorState
      self.connectorUserId = connectorUserId
      self.config = config
    }
  }

  package static func registeredConnector(_ body: [UInt8]) throws(OpenCTIError) -> RegisteredConnector {
    let connector = try field(data(body, operation: .registerConnector), "registerConnector", operation: .registerConnector)
    guard let id = connector.string("id") else { throw .badResponse("no connector id", operation: .registerConnector) }
    return RegisteredConnector(
      id: id, connectorState: connector.string("connector_state"), connectorUserId: connector.string("connector_user_id"),
      config: ConnectorQueueConfig(connector.object("config")))
  }

  /// The `connector_state` returned by `pingConnector` (nil when null or missing).
  package static func pingedState(_ body: [UInt8]) throws(OpenCTIError) -> String? {
    try field(data(body, operation: .pingConnector), "pingConnector", operation: .pingConnector).string("connector_state")
  }

  /// The queue details `connector(id)` answers; nil when the platform has no such connector
  /// (or gives no details).
  package static func queueDetails(_ body: [UInt8]) throws(OpenCTIError) -> ConnectorQueueDetails? {
    let data = try data(body, operation: .getConnector)
    guard let connector = data.object("connector"), let details = connector.value("connector_queue_details")?.objectValue
    else { return nil }
    func number(_ key: String) -> Double? {
      switch details[key] {
      case .number(let text)?: Double(text)
      case .string(let text)?: Double(text.trimmingSpaces)
      default: nil
      }
    }
    guard let size = number("messages_size") else {
      throw .badResponse("connector_queue_details without messages_size", operation: .getConnector)
    }
    return ConnectorQueueDetails(messagesNumber: Int(number("messages_number") ?? 0), messagesSize: size)
  }

  /// The id of the work `workAdd` created.
  package static func workId(_ body: [UInt8]) throws(OpenCTIError) -> String {
    guard let id = try field(data(body, operation: .workAdd), "workAdd", operation: .workAdd).string("id") else {
      throw .badResponse("no work id", operation: .workAdd)
    }
    return id
  }

  /// Checks an answer that only needs to be free of errors (workEdit, stixEdit), and for
  /// `stixBundlePush` that the platform said `true`.
  package static func check(_ body: [UInt8], operation: GraphQLOperation) throws(OpenCTIError) {
    let data = try data(body, operation: operation)
    if operation == .stixBundlePush, data.value("stixBundlePush")?.boolValue != true {
      throw .badResponse("stixBundlePush did not answer true", operation: operation)
    }
  }

  /// A domain object as `stixDomainObjects` answers it.
  package struct DomainObject: Sendable, Equatable {
    package var id: String
    package var standardId: String?
    /// The platform's type name, e.g. `Intrusion-Set`.
    package var entityType: String
    package var name: String
    package var mitreId: String?

    package init(id: String, standardId: String?, entityType: String, name: String, mitreId: String? = nil) {
      self.id = id
      self.standardId = standardId
      self.entityType = entityType
      self.name = name
      self.mitreId = mitreId
    }
  }

  /// The first node of a `stixDomainObjects` answer; nil when there is none.
  package static func firstDomainObject(_ body: [UInt8]) throws(OpenCTIError) -> DomainObject? {
    let data = try data(body, operation: .stixDomainObjects)
    guard let list = data.value("stixDomainObjects"), let edges = list["edges"]?.arrayValue else {
      throw .badResponse("no stixDomainObjects.edges", operation: .stixDomainObjects)
    }
    guard let node = edges.first?["node"] else { return nil }
    guard let id = node["id"]?.stringValue, let type = node["entity_type"]?.stringValue, let name = node["name"]?.stringValue
    else {
      throw .badResponse("a node without id, entity_type or name", operation: .stixDomainObjects)
    }
    return DomainObject(
      id: id, standardId: node["standard_id"]?.stringValue, entityType: type, name: name,
      mitreId: node["x_mitre_id"]?.stringValue)
  }
}
