import Foundation
import Logging
import Testing
@testable import CTICore

/// Answers each operation like the platform would, and records what was sent.
final class ScriptedTransport: GraphQLTransport {
  var sent: [(operation: GraphQLOperation, variables: JSONValue, applicant: String?)] = []
  var version = "6.8.10"
  var pingAnswer: String? = "null"
  var failOn: [GraphQLOperation: OpenCTIError] = [:]
  private var works = 0

  func send(_ request: GraphQLRequest, applicant: String?) throws(OpenCTIError) -> [UInt8] {
    let body = try! JSONParser.parse(request.body)
    sent.append((request.operation, body["variables"] ?? .null, applicant))
    if let failure = failOn[request.operation] { throw failure }
    let data: JSONValue
    switch request.operation {
    case .about: data = ["about": ["version": .string(version)]]
    case .registerConnector:
      data = ["registerConnector": ["id": body["variables"]?["input"]?["id"] ?? .null, "connector_state": .null, "connector_user_id": "user-1"]]
    case .pingConnector: data = ["pingConnector": ["id": "c", "connector_state": pingAnswer.map { .string($0) } ?? .null]]
    case .workAdd:
      works += 1
      data = ["workAdd": ["id": .string("work-\(works)")]]
    case .addExpectations: data = ["workEdit": ["addExpectations": "w"]]
    case .workToProcessed: data = ["workEdit": ["toProcessed": "w"]]
    case .stixBundlePush: data = ["stixBundlePush": true]
    case .stixDelete: data = ["stixEdit": ["delete": "x"]]
    case .stixMerge: data = ["stixEdit": ["merge": ["id": "x"]]]
    case .stixDomainObjects: data = ["stixDomainObjects": ["edges": []]]
    }
    return JSONWriter.serialize(["data": data])
  }

  var operations: [GraphQLOperation] { sent.map(\.operation) }
}

@Suite struct PushSessionTests {
  let own = ConnectorRegistration(id: "own-id", name: "cti-push")
  let source = ConnectorRegistration(id: "src-id", name: "CVE", scope: ["vulnerability"])
  let bundle = Array("{\"type\":\"bundle\",\"objects\":[]}".utf8)

  @Test func oneWorkPerConnectorAndExpectationForSingleObjectBundles() throws {
    let transport = ScriptedTransport()
    let session = PushSession(client: OpenCTIClient(transport: transport), connector: own)
    try session.start()
    #expect(session.platformVersion == "6.8.10")
    #expect(session.connectorUserId == "user-1")
    try session.pushBundle(bundle, objectCount: 5, as: nil, applicant: nil)
    try session.pushBundle(bundle, objectCount: 1, as: nil, applicant: nil)
    try session.pushBundle(bundle, objectCount: 3, as: source, applicant: "dst-user")
    try session.pushBundle(bundle, objectCount: 3, as: source, applicant: nil)
    try session.finish(inError: true, message: "2 records rejected")
    #expect(transport.operations == [
      .about, .registerConnector, .workAdd, .stixBundlePush, .addExpectations, .stixBundlePush,
      .registerConnector, .workAdd, .stixBundlePush, .stixBundlePush, .workToProcessed, .workToProcessed,
    ])
    #expect(session.works.map(\.workId) == ["work-1", "work-2"])
    let pushes = transport.sent.filter { $0.operation == .stixBundlePush }
    #expect(pushes.map { $0.variables["connectorId"] } == ["own-id", "own-id", "src-id", "src-id"])
    #expect(pushes.map { $0.variables["work_id"] } == ["work-1", "work-1", "work-2", "work-2"])
    #expect(pushes.map(\.applicant) == [nil, nil, "dst-user", nil])
    let expectation = try #require(transport.sent.first { $0.operation == .addExpectations })
    #expect(expectation.variables == ["id": "work-1", "expectations": 1])
    let registration = transport.sent.filter { $0.operation == .registerConnector }[1]
    #expect(registration.variables["input"]?["scope"] == ["vulnerability"])
    #expect(registration.variables["input"]?["name"] == "CVE")
    let closes = transport.sent.filter { $0.operation == .workToProcessed }
    #expect(closes.map { $0.variables["inError"] } == [true, true])
    #expect(closes.map { $0.variables["message"] } == ["2 records rejected", "2 records rejected"])
    let workName = transport.sent.first { $0.operation == .workAdd }?.variables["friendlyName"]?.stringValue
    #expect(workName?.hasPrefix("cti-push run @ ") == true)
  }

  @Test func aClosedWorkMakesWayForANewOneAndASessionNeedNoConnectorOfItsOwn() throws {
    let transport = ScriptedTransport()
    let session = PushSession(client: OpenCTIClient(transport: transport), connector: nil)
    try session.start()
    try session.pushBundle(bundle, objectCount: 2, as: source, applicant: nil)
    #expect(try session.closeWork(of: source, message: "Connector successfully run", inError: false))
    #expect(try !session.closeWork(of: source, message: "again", inError: false), "nothing left open")
    try session.pushBundle(bundle, objectCount: 1, as: source, applicant: "dst-user")
    try session.closeWork(of: source, message: "push failed", inError: true)
    try session.finish(inError: false, message: "done")
    #expect(transport.operations == [
      .about, .registerConnector, .workAdd, .stixBundlePush, .workToProcessed,
      .workAdd, .addExpectations, .stixBundlePush, .workToProcessed,
    ])
    #expect(session.works.map(\.workId) == ["work-1", "work-2"])
    let closes = transport.sent.filter { $0.operation == .workToProcessed }.map(\.variables)
    #expect(closes == [
      ["id": "work-1", "message": "Connector successfully run", "inError": false],
      ["id": "work-2", "message": "push failed", "inError": true],
    ])
  }

  @Test func oldPlatformsAreRefused() {
    let transport = ScriptedTransport()
    transport.version = "6.2.9"
    let session = PushSession(client: OpenCTIClient(transport: transport), connector: own)
    #expect(throws: OpenCTIError.unsupportedVersion("6.2.9", minimum: "6.3.0")) { try session.start() }
    #expect(transport.operations == [.about])
  }

  @Test func aSessionWithoutPushesOpensNoWork() throws {
    let transport = ScriptedTransport()
    let session = PushSession(client: OpenCTIClient(transport: transport), connector: own)
    try session.start()
    try session.deleteObject(id: "indicator--1")
    try session.finish(inError: false, message: "done")
    #expect(transport.operations == [.about, .registerConnector, .stixDelete])
  }

  @Test func pingerAdoptsARemoteReset() {
    let transport = ScriptedTransport()
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let pinger = ConnectorPinger(client: OpenCTIClient(transport: transport), connectorId: "own-id", state: ["start_from": "5-0"], logger: logger)
    transport.pingAnswer = "{\"start_from\":\"5-0\"}"
    pinger.pingNow()
    #expect(pinger.resets == 0)
    #expect(pinger.currentState == ["start_from": "5-0"])
    #expect(transport.sent.last?.variables == ["id": "own-id", "state": "{\"start_from\":\"5-0\"}"])
    transport.pingAnswer = ""
    pinger.pingNow()
    #expect(pinger.resets == 1)
    #expect(pinger.currentState == nil)
    pinger.pingNow()
    #expect(transport.sent.last?.variables["state"] == "null")
    #expect(pinger.resets == 1)
    #expect(pinger.pings == 3)
  }

  @Test func pingerThreadPingsAndStops() throws {
    let transport = ScriptedTransport()
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let pinger = ConnectorPinger(client: OpenCTIClient(transport: transport), connectorId: "own-id", interval: 0.05, logger: logger)
    pinger.start()
    let deadline = ISO8601.Instant.now.seconds + 5
    while pinger.pings < 2, ISO8601.Instant.now.seconds < deadline { usleep(10_000) }
    pinger.stop()
    let count = pinger.pings
    #expect(count >= 2)
    usleep(150_000)
    #expect(pinger.pings == count)
  }
}
