package import CTICore

/// The fake platform's `/graphql` endpoint (fake_graphql.py): one simulated platform per API
/// token, faults on demand, and its state (connectors, works, bundles, edits, requests) for
/// tests to check.
extension FakePlatform {
  /// An entity the platform already holds, found by `stixDomainObjects` queries.
  package struct KnownEntity: Sendable {
    /// The platform's type name: `Intrusion-Set`, `Malware`, `Tool`, `Attack-Pattern`…
    package var entityType: String
    package var name: String
    package var aliases: [String]
    package var standardId: String
    package var mitreId: String?

    package init(_ entityType: String, name: String, aliases: [String] = [], standardId: String, mitreId: String? = nil) {
      self.entityType = entityType
      self.name = name
      self.aliases = aliases
      self.standardId = standardId
      self.mitreId = mitreId
    }

    var spec: JSONValue {
      var object = JSONObject([
        ("entity_type", .string(entityType)), ("name", .string(name)), ("aliases", .array(aliases.map { .string($0) })),
        ("standard_id", .string(standardId)),
      ])
      if let mitreId { object["x_mitre_id"] = .string(mitreId) }
      return .object(object)
    }
  }

  /// Creates a platform answering to `token`, holding `entities`. `amqp`, when given, is the
  /// broker registerConnector reports in `config.connection` (default: host `rabbitmq`, port
  /// 5672, guest/guest, as a docker-compose platform says).
  /// `connectorInfo` false makes a platform whose schema has no `ConnectorInfoInput` (pings with
  /// it are refused as Apollo refuses an unknown type).
  package func createGraphQLPlatform(
    token: String, version: String = "6.8.10", userId: String? = nil, bypass: Bool = true, entities: [KnownEntity] = [],
    amqp: AMQPEndpoint? = nil, connectorInfo: Bool = true
  ) throws {
    var spec = JSONObject([
      ("token", .string(token)), ("version", .string(version)), ("bypass", .bool(bypass)), ("connector_info", .bool(connectorInfo)),
    ])
    if let userId { spec["user_id"] = .string(userId) }
    if !entities.isEmpty { spec["entities"] = .array(entities.map(\.spec)) }
    if let amqp {
      spec["amqp"] = [
        "host": .string(amqp.host), "port": .int(amqp.port), "vhost": .string(amqp.vhost), "use_ssl": .bool(amqp.tls != nil),
        "user": .string(amqp.user), "pass": .string(amqp.password),
      ]
    }
    try control("POST", "/_graphql/platform", body: .object(spec))
  }

  /// What an injected fault does to a matching request.
  package enum GraphQLFault: Sendable {
    case status(Int, retryAfter: Int? = nil)
    case error(String, code: String = "FUNCTIONAL_ERROR")
    /// Waits that long before answering normally.
    case delay(Double)
    /// Closes the connection without an answer.
    case drop
    /// A 200 answer of `bytes` bytes (announced with Content-Length, or chunked), written 1 MiB
    /// at a time `pause` seconds apart.
    case huge(Int, chunked: Bool = false, pause: Double = 0)
  }

  /// Makes the `count` requests of `operation` after the first `skip` ones fail with `fault`.
  package func injectGraphQLFault(token: String, operation: String, skip: Int = 0, count: Int = 1, _ fault: GraphQLFault) throws {
    var spec = JSONObject([("token", .string(token)), ("operation", .string(operation)), ("skip", .int(skip)), ("count", .int(count))])
    switch fault {
    case .status(let status, let retryAfter):
      spec["status"] = .int(status)
      if let retryAfter { spec["retry_after"] = .int(retryAfter) }
    case .error(let message, let code):
      spec["error"] = .string(message)
      spec["code"] = .string(code)
    case .delay(let seconds): spec["delay"] = .number(String(seconds))
    case .drop: spec["drop"] = true
    case .huge(let bytes, let chunked, let pause):
      spec["huge"] = .int(bytes)
      spec["chunked"] = .bool(chunked)
      spec["pause"] = .number(String(pause))
    }
    try control("POST", "/_graphql/fault", body: .object(spec))
  }

  /// Sets what `connector(id){connector_queue_details}` reports for `connectorId` from now on.
  package func setQueue(token: String, connectorId: String, bytes: Int, messages: Int = 0) throws {
    try control(
      "POST", "/_graphql/queue",
      body: [
        "token": .string(token), "connector_id": .string(connectorId), "messages_size": .int(bytes),
        "messages_number": .int(messages),
      ])
  }

  /// The platform's state: `connectors` (by id), `works` (by id), `bundles`, `edits`,
  /// `requests` and `pings`.
  package func graphQLState(token: String) throws -> JSONValue {
    try control("GET", "/_graphql/state?token=\(token)")
  }
}
