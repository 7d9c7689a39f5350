/// Sends one GraphQL document to the platform and returns the answer's body. Implementations
/// do the HTTP (and its retries on network errors, 429 and 5xx); GraphQL errors arrive in a
/// 200 answer and are not retried.
package protocol GraphQLTransport: AnyObject {
  /// `applicant`, when given, goes in the `opencti-applicant-id` header (impersonation).
  func send(_ request: GraphQLRequest, applicant: String?) throws(OpenCTIError) -> [UInt8]
}

/// The typed OpenCTI calls a connector needs, over a `GraphQLTransport`.
package final class OpenCTIClient {
  package let transport: any GraphQLTransport

  package init(transport: any GraphQLTransport) { self.transport = transport }

  /// `about { version }`: checks URL and token, and tells which platform this is.
  package func version() throws(OpenCTIError) -> String {
    try GraphQLResponse.version(transport.send(.about(), applicant: nil))
  }

  /// Fails unless the platform is recent enough for `stixBundlePush`.
  @discardableResult
  package func requireBundlePush() throws(OpenCTIError) -> String {
    let text = try version()
    if let version = PlatformVersion(text), version < PlatformVersion.bundlePushMinimum {
      throw .unsupportedVersion(text, minimum: PlatformVersion.bundlePushMinimum.text)
    }
    return text
  }

  package func register(_ connector: ConnectorRegistration) throws(OpenCTIError) -> GraphQLResponse.RegisteredConnector {
    try GraphQLResponse.registeredConnector(transport.send(.registerConnector(connector), applicant: nil))
  }

  /// Pings with `state` (and `info`, when the platform's schema takes it) and returns the state
  /// the platform now holds (a JSON text or nil).
  package func ping(connectorId: String, state: JSONValue?, info: ConnectorInfo? = nil) throws(OpenCTIError) -> String? {
    try GraphQLResponse.pingedState(
      transport.send(.pingConnector(id: connectorId, state: ConnectorState.encode(state), info: info), applicant: nil))
  }

  /// The size of the connector's queue (`connector_queue_details`); nil when the platform does
  /// not know the connector.
  package func queueDetails(connectorId: String) throws(OpenCTIError) -> ConnectorQueueDetails? {
    try GraphQLResponse.queueDetails(transport.send(.getConnector(id: connectorId), applicant: nil))
  }

  package func addWork(connectorId: String, friendlyName: String) throws(OpenCTIError) -> String {
    try GraphQLResponse.workId(transport.send(.workAdd(connectorId: connectorId, friendlyName: friendlyName), applicant: nil))
  }

  package func addExpectations(workId: String, count: Int) throws(OpenCTIError) {
    try GraphQLResponse.check(transport.send(.addExpectations(workId: workId, count: count), applicant: nil), operation: .addExpectations)
  }

  package func workToProcessed(workId: String, message: String, inError: Bool) throws(OpenCTIError) {
    try GraphQLResponse.check(
      transport.send(.workToProcessed(workId: workId, message: message, inError: inError), applicant: nil),
      operation: .workToProcessed)
  }

  package func pushBundle(_ bundle: [UInt8], objectCount: Int, connectorId: String, workId: String?, applicant: String?)
    throws(OpenCTIError)
  {
    let request = GraphQLRequest.stixBundlePush(connectorId: connectorId, bundle: bundle, objectCount: objectCount, workId: workId)
    try GraphQLResponse.check(transport.send(request, applicant: applicant), operation: .stixBundlePush)
  }

  package func delete(id: String) throws(OpenCTIError) {
    try GraphQLResponse.check(transport.send(.stixDelete(id: id), applicant: nil), operation: .stixDelete)
  }

  package func merge(targetId: String, sourceIds: [String]) throws(OpenCTIError) {
    try GraphQLResponse.check(transport.send(.stixMerge(targetId: targetId, sourceIds: sourceIds), applicant: nil), operation: .stixMerge)
  }

  /// The first intrusion set, malware, tool or attack pattern named `value` (by name, MITRE
  /// id or alias), or nil.
  package func findThreat(_ value: String) throws(OpenCTIError) -> GraphQLResponse.DomainObject? {
    try GraphQLResponse.firstDomainObject(transport.send(.threatLookup(value: value), applicant: nil))
  }
}
