/// One push run against OpenCTI: the tool's connector is registered at `start`, and every
/// connector pushed as (the tool's own, or one impersonated from a diode envelope) is
/// registered once and gets a work, opened at its first bundle and closed by `closeWork` or
/// `finish`. cti-push keeps one work per connector for the whole run; cti-diode import --push
/// closes the work after each file, so each file gets its own.
package final class PushSession: PushTarget {
  package let client: OpenCTIClient
  /// The tool's own connector, registered by `start`; nil for a tool that only pushes as the
  /// connectors of diode envelopes. Every push names the connector it is made as.
  package let connector: ConnectorRegistration?
  /// The platform's version, once `start` has run.
  package private(set) var platformVersion: String?
  /// The token user's id as registration reported it.
  package private(set) var connectorUserId: String?
  /// Every work opened so far, in opening order (closed ones included).
  package private(set) var works: [(connectorId: String, workId: String)] = []
  /// The works not closed yet, by connector id.
  private var openWorks: [String: String] = [:]
  /// What registerConnector answered for each connector registered so far, by id.
  package private(set) var registrations: [String: GraphQLResponse.RegisteredConnector] = [:]
  private let clock: () -> ISO8601.Instant

  package init(client: OpenCTIClient, connector: ConnectorRegistration?, clock: @escaping () -> ISO8601.Instant = { .now }) {
    self.client = client
    self.connector = connector
    self.clock = clock
  }

  /// Checks the platform (version gate, unless `requireBundlePush` is false: AMQP push works
  /// with every 6.x) and registers the tool's connector, if it has one.
  package func start(requireBundlePush: Bool = true) throws(OpenCTIError) {
    platformVersion = requireBundlePush ? try client.requireBundlePush() : try client.version()
    if let connector { try ensureRegistered(connector) }
  }

  /// The registration answer of `connector`, registering it first if needed.
  package func registration(for connector: ConnectorRegistration) throws(OpenCTIError) -> GraphQLResponse.RegisteredConnector {
    try ensureRegistered(connector)
  }

  /// The id of the open work of `connector`, opening one when there is none.
  package func work(for connector: ConnectorRegistration) throws(OpenCTIError) -> String {
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
  package func pushBundle(_ bundle: [UInt8], objectCount: Int, as connector: ConnectorRegistration, applicant: String?)
    throws(OpenCTIError)
  {
    let workId = try work(for: connector)
    if objectCount == 1 { try client.addExpectations(workId: workId, count: 1) }
    try client.pushBundle(bundle, objectCount: objectCount, connectorId: connector.id, workId: workId, applicant: applicant)
  }

  /// Closes the open work of `connector` with `toProcessed`, if it has one; its next bundle
  /// opens a new work. Returns whether a work was closed.
  @discardableResult
  package func closeWork(of connector: ConnectorRegistration, message: String, inError: Bool) throws(OpenCTIError) -> Bool {
    guard let workId = openWorks.removeValue(forKey: connector.id) else { return false }
    try client.workToProcessed(workId: workId, message: message, inError: inError)
    return true
  }

  package func deleteObject(id: String) throws(OpenCTIError) { try client.delete(id: id) }

  package func mergeObjects(targetId: String, sourceIds: [String]) throws(OpenCTIError) {
    try client.merge(targetId: targetId, sourceIds: sourceIds)
  }

  /// Closes every open work with `toProcessed`, in error when `inError`. Tries all of them and
  /// throws the first failure.
  package func finish(inError: Bool, message: String) throws(OpenCTIError) {
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
