/// The GraphQL operations cti tools send to OpenCTI. Field and argument names are the
/// platform's own (schema `opencti.graphql`, as pycti uses them); each document holds exactly one
/// operation, because the platform's alias guard allows one mutation per document.
package enum GraphQLOperation: String, Sendable, CaseIterable {
  case about = "About"
  case registerConnector = "RegisterConnector"
  case pingConnector = "PingConnector"
  case workAdd = "WorkAdd"
  case addExpectations = "AddExpectations"
  case workToProcessed = "WorkToProcessed"
  case stixBundlePush = "StixBundlePush"
  case stixDelete = "StixDelete"
  case stixMerge = "StixMerge"
  case stixDomainObjects = "StixDomainObjects"
  case getConnector = "GetConnector"

  /// Whether a request that may or may not have reached the platform (a timeout, a 5xx) may be
  /// sent again. Reads, connector upserts, bundle pushes (the platform upserts objects) and
  /// deletes are safe to repeat; a repeated workAdd or toProcessed at worst leaves an extra
  /// empty work or closes one twice, which beats failing the run. Adding expectations twice
  /// would leave the work waiting for ever, and a second merge fails once the sources are gone:
  /// those two are not repeated.
  package var mayRepeat: Bool {
    switch self {
    case .about, .registerConnector, .pingConnector, .workAdd, .workToProcessed, .stixBundlePush, .stixDelete,
      .stixDomainObjects, .getConnector:
      true
    case .addExpectations, .stixMerge: false
    }
  }

  /// `pingConnector` as platforms before `ConnectorInfoInput` know it (and pycti before it sent
  /// `connector_info`): state only.
  package static let legacyPingDocument =
    "mutation PingConnector($id: ID!, $state: String) { pingConnector(id: $id, state: $state) { id connector_state } }"

  /// The document text sent as `query`.
  package var document: String {
    switch self {
    case .about:
      "query About { about { version } }"
    case .registerConnector:
      "mutation RegisterConnector($input: RegisterConnectorInput) { registerConnector(input: $input) { id connector_state connector_user_id config { connection { host vhost use_ssl port user pass } listen listen_routing listen_exchange push push_routing push_exchange } } }"
    case .pingConnector:
      "mutation PingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) { pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) { id connector_state } }"
    case .workAdd:
      "mutation WorkAdd($connectorId: String!, $friendlyName: String) { workAdd(connectorId: $connectorId, friendlyName: $friendlyName) { id } }"
    case .addExpectations:
      "mutation AddExpectations($id: ID!, $expectations: Int) { workEdit(id: $id) { addExpectations(expectations: $expectations) } }"
    case .workToProcessed:
      "mutation WorkToProcessed($id: ID!, $message: String, $inError: Boolean) { workEdit(id: $id) { toProcessed(message: $message, inError: $inError) } }"
    case .stixBundlePush:
      "mutation StixBundlePush($connectorId: String!, $bundle: String!, $work_id: String) { stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $work_id) }"
    case .stixDelete:
      "mutation StixDelete($id: ID!) { stixEdit(id: $id) { delete } }"
    case .stixMerge:
      "mutation StixMerge($id: ID!, $stixObjectsIds: [String]!) { stixEdit(id: $id) { merge(stixObjectsIds: $stixObjectsIds) { id } } }"
    case .getConnector:
      "query GetConnector($id: String!) { connector(id: $id) { id connector_queue_details { messages_number messages_size } } }"
    case .stixDomainObjects:
      "query StixDomainObjects($types: [String], $filters: FilterGroup, $first: Int) { stixDomainObjects(types: $types, filters: $filters, first: $first) { edges { node { id standard_id entity_type ... on AttackPattern { name x_mitre_id } ... on IntrusionSet { name } ... on Malware { name } ... on Tool { name } } } } }"
    }
  }
}

/// One GraphQL request: the operation and the JSON body `{"operationName","query","variables"}`
/// ready to POST to `<url>/graphql`.
package struct GraphQLRequest: Sendable {
  package let operation: GraphQLOperation
  package let body: [UInt8]
  /// How many STIX objects the request carries (bundle pushes only), for counting.
  package let objectCount: Int

  /// A request whose variables are given as a tree (all operations but the bundle push);
  /// `document` replaces the operation's usual one (an older form of it).
  package init(_ operation: GraphQLOperation, document: String? = nil, variables: JSONObject) {
    var writer = Self.start(operation, document: document)
    writer.write(.object(variables))
    writer.append("}")
    self.operation = operation
    body = writer.bytes
    objectCount = 0
  }

  private init(operation: GraphQLOperation, body: [UInt8], objectCount: Int) {
    self.operation = operation
    self.body = body
    self.objectCount = objectCount
  }

  private static func start(_ operation: GraphQLOperation, document: String? = nil, capacity: Int = 512) -> JSONWriter {
    var writer = JSONWriter(capacity: capacity)
    writer.append("{\"operationName\":")
    writer.writeString(operation.rawValue)
    writer.append(",\"query\":")
    writer.writeString(document ?? operation.document)
    writer.append(",\"variables\":")
    return writer
  }

  package static func about() -> GraphQLRequest { GraphQLRequest(.about, variables: JSONObject()) }

  package static func registerConnector(_ connector: ConnectorRegistration) -> GraphQLRequest {
    GraphQLRequest(.registerConnector, variables: JSONObject([("input", .object(connector.input))]))
  }

  /// `state` is the connector state as a JSON text; pycti sends `"null"` when there is none.
  /// `info` (pycti's `connector_info`, the `connectorInfo` argument) is left out, with the
  /// argument, for a platform whose schema does not have it.
  package static func pingConnector(id: String, state: String, info: ConnectorInfo? = nil) -> GraphQLRequest {
    guard let info else {
      return GraphQLRequest(
        .pingConnector, document: GraphQLOperation.legacyPingDocument,
        variables: JSONObject([("id", .string(id)), ("state", .string(state))]))
    }
    return GraphQLRequest(
      .pingConnector, variables: JSONObject([("id", .string(id)), ("state", .string(state)), ("connectorInfo", .object(info.input))]))
  }

  /// The connector's own entry, for its queue's size (`connector_queue_details`).
  package static func getConnector(id: String) -> GraphQLRequest {
    GraphQLRequest(.getConnector, variables: JSONObject([("id", .string(id))]))
  }

  package static func workAdd(connectorId: String, friendlyName: String) -> GraphQLRequest {
    GraphQLRequest(.workAdd, variables: JSONObject([("connectorId", .string(connectorId)), ("friendlyName", .string(friendlyName))]))
  }

  package static func addExpectations(workId: String, count: Int) -> GraphQLRequest {
    GraphQLRequest(.addExpectations, variables: JSONObject([("id", .string(workId)), ("expectations", .int(count))]))
  }

  package static func workToProcessed(workId: String, message: String, inError: Bool) -> GraphQLRequest {
    GraphQLRequest(
      .workToProcessed,
      variables: JSONObject([("id", .string(workId)), ("message", .string(message)), ("inError", .bool(inError))]))
  }

  /// The bundle push. `bundle` is the bundle's JSON text; it is spliced into the body as the
  /// `bundle` string variable (escaped, never parsed again).
  package static func stixBundlePush(connectorId: String, bundle: [UInt8], objectCount: Int, workId: String?)
    -> GraphQLRequest
  {
    var writer = start(.stixBundlePush, capacity: bundle.count + bundle.count / 8 + 1024)
    writer.append("{\"connectorId\":")
    writer.writeString(connectorId)
    writer.append(",\"bundle\":")
    writer.writeBytesAsString(bundle)
    writer.append(",\"work_id\":")
    if let workId { writer.writeString(workId) } else { writer.append("null") }
    writer.append("}}")
    return GraphQLRequest(operation: .stixBundlePush, body: writer.bytes, objectCount: objectCount)
  }

  package static func stixDelete(id: String) -> GraphQLRequest {
    GraphQLRequest(.stixDelete, variables: JSONObject([("id", .string(id))]))
  }

  package static func stixMerge(targetId: String, sourceIds: [String]) -> GraphQLRequest {
    GraphQLRequest(
      .stixMerge, variables: JSONObject([("id", .string(targetId)), ("stixObjectsIds", .array(sourceIds.map { .string($0) }))]))
  }

  /// The entity types a threat lookup searches, with the platform's type names.
  package static let threatTypes = ["Intrusion-Set", "Malware", "Tool", "Attack-Pattern"]
  /// The attributes a threat lookup compares with the value (any of them may match).
  package static let threatKeys = ["name", "x_mitre_id", "aliases", "x_opencti_aliases"]

  /// The first intrusion set, malware, tool or attack pattern whose name, MITRE id or an
  /// alias equals `value`: the lookup of misp-feed's `guess_threats_from_tags`, as a
  /// `stixDomainObjects` query with one FilterGroup.
  package static func threatLookup(value: String) -> GraphQLRequest {
    let filter = JSONObject([
      ("key", .array(threatKeys.map { .string($0) })), ("values", .array([.string(value)])),
    ])
    let filters = JSONObject([("mode", "and"), ("filters", .array([.object(filter)])), ("filterGroups", .array([]))])
    return GraphQLRequest(
      .stixDomainObjects,
      variables: JSONObject([
        ("types", .array(threatTypes.map { .string($0) })), ("filters", .object(filters)), ("first", .int(1)),
      ]))
  }
}
