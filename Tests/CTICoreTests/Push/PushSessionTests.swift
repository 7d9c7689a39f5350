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
  /// Answers `connectorInfo` in a ping as a schema without ConnectorInfoInput does.
  var refusesConnectorInfo = false
  /// The queue sizes (bytes) answered by successive `connector(id)` reads; the last one stays.
  var queueSizes: [Double] = [0]
  private var works = 0

  func send(_ request: GraphQLRequest, applicant: String?) throws(OpenCTIError) -> [UInt8] {
    let body = try! JSONParser.parse(request.body)
    sent.append((request.operation, body["variables"] ?? .null, applicant))
    if let failure = failOn[request.operation] { throw failure }
    if refusesConnectorInfo, request.operation == .pingConnector, body["variables"]?["connectorInfo"] != nil {
      throw .graphQL(
        GraphQLError(message: "Unknown type \"ConnectorInfoInput\".", code: "GRAPHQL_VALIDATION_FAILED", operation: .pingConnector))
    }
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
    case .getConnector:
      let size = queueSizes.count > 1 ? queueSizes.removeFirst() : queueSizes[0]
      data = ["connector": ["id": "c", "connector_queue_details": ["messages_number": .int(3), "messages_size": .number(String(size))]]]
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
    try session.pushBundle(bundle, objectCount: 5, as: own, applicant: nil)
    try session.pushBundle(bundle, objectCount: 1, as: own, applicant: nil)
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

  @Test func pingerSendsConnectorInfoAndDropsItForAnOlderSchema() {
    let transport = ScriptedTransport()
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let info = ConnectorInfo(runAndTerminate: true, queueThreshold: 500, lastRun: ISO8601.Instant(seconds: 1_700_000_000))
    let pinger = ConnectorPinger(client: OpenCTIClient(transport: transport), connectorId: "own-id", info: info, logger: logger)
    pinger.update { $0.buffering = true }
    pinger.pingNow()
    let sent = transport.sent.last?.variables["connectorInfo"]
    #expect(sent == [
      "run_and_terminate": true, "buffering": true, "queue_threshold": .int(500), "queue_messages_size": .int(0),
      "next_run_datetime": .null, "last_run_datetime": "2023-11-14T22:13:20Z",
    ])
    #expect(pinger.sendsInfo)

    transport.refusesConnectorInfo = true
    pinger.pingNow()
    #expect(transport.operations.suffix(2) == [.pingConnector, .pingConnector], "refused, then sent again without it")
    #expect(transport.sent.last?.variables["connectorInfo"] == nil)
    #expect(!pinger.sendsInfo)
    pinger.pingNow()
    #expect(transport.sent.count == 4, "remembered: one request per ping from now on")
    #expect(pinger.pings == 3)
  }

  @Test func backPressureDrainsThenWaitsForTheQueueToEmpty() throws {
    let transport = ScriptedTransport()
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let pinger = ConnectorPinger(
      client: OpenCTIClient(transport: transport), connectorId: "own-id", info: ConnectorInfo(queueThreshold: 1), logger: logger)
    // 2 MB at the first two reads, then 0.5 MB: the threshold is 1 MB.
    transport.queueSizes = [2_000_000, 2_000_000, 500_000]
    let gate = QueueBackPressure(
      threshold: 1, checkInterval: 0.3, client: OpenCTIClient(transport: transport), connectorIds: { ["own-id"] }, pinger: pinger,
      logger: logger)
    var drained = 0
    let started = MonotonicClock.now()
    #expect(try gate.waitWhileFull(drain: { drained += 1 }))
    #expect(drained == 1)
    #expect(MonotonicClock.now() - started >= 0.6, "two waits before the size dropped")
    #expect(transport.operations.filter { $0 == .getConnector }.count == 3)
    #expect(transport.sent.last?.variables == ["id": "own-id"])
    #expect(!gate.buffering && gate.pauses == 1)
    #expect(pinger.currentInfo?.queueMessagesSize == 0.5)
    // The next check is not due yet: no read.
    #expect(try gate.waitWhileFull(drain: { drained += 1 }))
    #expect(transport.operations.filter { $0 == .getConnector }.count == 3)
    #expect(drained == 1)
  }

  @Test func backPressureIsOffWhenThePlatformRefusesTheQuery() throws {
    let transport = ScriptedTransport()
    transport.failOn[.getConnector] = .graphQL(GraphQLError(message: "forbidden", code: "FORBIDDEN_ACCESS", operation: .getConnector))
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let gate = QueueBackPressure(
      threshold: 1, checkInterval: 0, client: OpenCTIClient(transport: transport), connectorIds: { ["own-id"] }, pinger: nil,
      logger: logger)
    #expect(try gate.waitWhileFull(drain: {}))
    #expect(try gate.waitWhileFull(drain: {}))
    #expect(gate.disabledBecause != nil)
    #expect(transport.operations == [.getConnector], "asked once")
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
