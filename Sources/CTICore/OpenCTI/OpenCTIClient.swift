/// Sends one GraphQL document to the platform and returns the answer's body. Implementations
/// do the HTTP (and its retries on network errors, 429 and 5xx); GraphQL errors arrive in a
/// 200 answer and are not retried.
public protocol GraphQLTransport: AnyObject {
  /// `applicant`, when given, goes in the `opencti-applicant-id` header (impersonation).
  func send(_ request: GraphQLRequest, applicant: String?) throws(OpenCTIError) -> [UInt8]
}

/// The typed OpenCTI calls a connector needs, over a `GraphQLTransport`.
public final class OpenCTIClient {
  public let transport: GraphQLTransport

  public init(transport: GraphQLTransport) { self.transport = transport }

  /// `about { version }`: checks URL and token, and tells which platform this is.
  public func version() throws(OpenCTIError) -> String {
    try GraphQLResponse.version(transport.send(.about(), applicant: nil))
  }

  /// Fails unless the platform is recent enough for `stixBundlePush`.
  @discardableResult
  public func requireBundlePush() throws(OpenCTIError) -> String {
    let text = try version()
    if let version = PlatformVersion(text), version < PlatformVersion.bundlePushMinimum {
      throw .unsupportedVersion(text, minimum: PlatformVersion.bundlePushMinimum.text)
    }
    return text
  }

  public func register(_ connector: ConnectorRegistration) throws(OpenCTIError) -> GraphQLResponse.RegisteredConnector {
    try GraphQLResponse.registeredConnector(transport.send(.registerConnector(connector), applicant: nil))
  }

  /// Pings with `state` (and `info`, when the platform's schema takes it) and returns the state
  /// the platform now holds (a JSON text or nil).
  public func ping(connectorId: String, state: JSONValue?, info: ConnectorInfo? = nil) throws(OpenCTIError) -> String? {
    try GraphQLResponse.pingedState(
      transport.send(.pingConnector(id: connectorId, state: ConnectorState.encode(state), info: info), applicant: nil))
  }

  /// The size of the connector's queue (`connector_queue_details`); nil when the platform does
  /// not know the connector.
  public func queueDetails(connectorId: String) throws(OpenCTIError) -> ConnectorQueueDetails? {
    try GraphQLResponse.queueDetails(transport.send(.getConnector(id: connectorId), applicant: nil))
  }

  public func addWork(connectorId: String, friendlyName: String) throws(OpenCTIError) -> String {
    try GraphQLResponse.workId(transport.send(.workAdd(connectorId: connectorId, friendlyName: friendlyName), applicant: nil))
  }

  public func addExpectations(workId: String, count: Int) throws(OpenCTIError) {
    try GraphQLResponse.check(transport.send(.addExpectations(workId: workId, count: count), applicant: nil), operation: .addExpectations)
  }

  public func workToProcessed(workId: String, message: String, inError: Bool) throws(OpenCTIError) {
    try GraphQLResponse.check(
      transport.send(.workToProcessed(workId: workId, message: message, inError: inError), applicant: nil),
      operation: .workToProcessed)
  }

  public func pushBundle(_ bundle: [UInt8], objectCount: Int, connectorId: String, workId: String?, applicant: String?)
    throws(OpenCTIError)
  {
    let request = GraphQLRequest.stixBundlePush(connectorId: connectorId, bundle: bundle, objectCount: objectCount, workId: workId)
    try GraphQLResponse.check(transport.send(request, applicant: applicant), operation: .stixBundlePush)
  }

  public func delete(id: String) throws(OpenCTIError) {
    try GraphQLResponse.check(transport.send(.stixDelete(id: id), applicant: nil), operation: .stixDelete)
  }

  public func merge(targetId: String, sourceIds: [String]) throws(OpenCTIError) {
    try GraphQLResponse.check(transport.send(.stixMerge(targetId: targetId, sourceIds: sourceIds), applicant: nil), operation: .stixMerge)
  }

  /// The first intrusion set, malware, tool or attack pattern named `value` (by name, MITRE
  /// id or alias), or nil.
  public func findThreat(_ value: String) throws(OpenCTIError) -> GraphQLResponse.DomainObject? {
    try GraphQLResponse.firstDomainObject(transport.send(.threatLookup(value: value), applicant: nil))
  }
}

/// One push run against OpenCTI: the tool's connector is registered at `start`, and every
/// connector pushed as (the tool's own, or one impersonated from a diode envelope) is
/// registered once and gets a work, opened at its first bundle and closed by `closeWork` or
/// `finish`. cti-push keeps one work per connector for the whole run; cti-diode import --push
/// closes the work after each file, so each file gets its own.
public final class PushSession: PushTarget {
  public let client: OpenCTIClient
  /// The tool's own connector, registered by `start`; nil for a tool that only pushes as the
  /// connectors of diode envelopes. Every push names the connector it is made as.
  public let connector: ConnectorRegistration?
  /// The platform's version, once `start` has run.
  public private(set) var platformVersion: String?
  /// The token user's id as registration reported it.
  public private(set) var connectorUserId: String?
  /// Every work opened so far, in opening order (closed ones included).
  public private(set) var works: [(connectorId: String, workId: String)] = []
  /// The works not closed yet, by connector id.
  private var openWorks: [String: String] = [:]
  /// What registerConnector answered for each connector registered so far, by id.
  public private(set) var registrations: [String: GraphQLResponse.RegisteredConnector] = [:]
  private let clock: () -> ISO8601.Instant

  public init(client: OpenCTIClient, connector: ConnectorRegistration?, clock: @escaping () -> ISO8601.Instant = { .now }) {
    self.client = client
    self.connector = connector
    self.clock = clock
  }

  /// Checks the platform (version gate, unless `requireBundlePush` is false: AMQP push works
  /// with every 6.x) and registers the tool's connector, if it has one.
  public func start(requireBundlePush: Bool = true) throws(OpenCTIError) {
    platformVersion = requireBundlePush ? try client.requireBundlePush() : try client.version()
    if let connector { try ensureRegistered(connector) }
  }

  /// The registration answer of `connector`, registering it first if needed.
  public func registration(for connector: ConnectorRegistration) throws(OpenCTIError) -> GraphQLResponse.RegisteredConnector {
    try ensureRegistered(connector)
  }

  /// The id of the open work of `connector`, opening one when there is none.
  public func work(for connector: ConnectorRegistration) throws(OpenCTIError) -> String {
    if let open = openWorks[connector.id] { return open }
    try ensureRegistered(connector)
    let name = "\(connector.name) run @ \(ISO8601.format(clock(), fractionDigits: 0))"
    let workId = try client.addWork(connectorId: connector.id, friendlyName: name)
    works.append((connector.id, workId))
    openWorks[connector.id] = workId
    return workId
  }

  @discardableResult
  private func ensureRegistered(_ connector: ConnectorRegistration) throws(OpenCTIError) -> GraphQLResponse.RegisteredConnector {
    if let known = registrations[connector.id] { return known }
    let answer = try client.register(connector)
    if connector.id == self.connector?.id { connectorUserId = answer.connectorUserId }
    registrations[connector.id] = answer
    return answer
  }

  /// Pushes a bundle into the open work of its connector. A one-object bundle gets its
  /// expectation added first: the worker only adds expectations when it splits a bigger bundle,
  /// so without it the work would never count that object.
  public func pushBundle(_ bundle: [UInt8], objectCount: Int, as connector: ConnectorRegistration, applicant: String?)
    throws(OpenCTIError)
  {
    let workId = try work(for: connector)
    if objectCount == 1 { try client.addExpectations(workId: workId, count: 1) }
    try client.pushBundle(bundle, objectCount: objectCount, connectorId: connector.id, workId: workId, applicant: applicant)
  }

  /// Closes the open work of `connector` with `toProcessed`, if it has one; its next bundle
  /// opens a new work. Returns whether a work was closed.
  @discardableResult
  public func closeWork(of connector: ConnectorRegistration, message: String, inError: Bool) throws(OpenCTIError) -> Bool {
    guard let workId = openWorks.removeValue(forKey: connector.id) else { return false }
    try client.workToProcessed(workId: workId, message: message, inError: inError)
    return true
  }

  public func deleteObject(id: String) throws(OpenCTIError) { try client.delete(id: id) }

  public func mergeObjects(targetId: String, sourceIds: [String]) throws(OpenCTIError) {
    try client.merge(targetId: targetId, sourceIds: sourceIds)
  }

  /// Closes every open work with `toProcessed`, in error when `inError`. Tries all of them and
  /// throws the first failure.
  public func finish(inError: Bool, message: String) throws(OpenCTIError) {
    var firstFailure: OpenCTIError?
    for work in works where openWorks[work.connectorId] == work.workId {
      openWorks[work.connectorId] = nil
      do {
        try client.workToProcessed(workId: work.workId, message: message, inError: inError)
      } catch {
        firstFailure = firstFailure ?? error
      }
    }
    if let firstFailure { throw firstFailure }
  }
}
