import CTITestSupport
import Foundation
import Logging
import Testing

@testable import CTICore

/// AMQP push against real components: the fake platform's /graphql (registration, works,
/// expectations) and Debian's RabbitMQ, started once for the run. The platform's exchanges and
/// queues are declared as registerConnector declares them; every message is read back from
/// the push queue and decoded. Serialized: two tests stop or kill the shared broker.
@Suite(.serialized) struct AMQPPushEndToEndTests {
  let platform = FakePlatform.shared
  let logger: Logger = {
    var logger = Logger(label: "amqp-test")
    logger.logLevel = .critical
    return logger
  }()

  struct Run {
    let token: String
    let connectorId: String
    /// The tool's own connector, registered by `start`.
    let connector: ConnectorRegistration
    let target: AMQPPushTarget
    var pushQueue: String { "push_\(connectorId)" }
  }

  /// A fresh platform reporting `reported` as its broker, the connector's queues declared, and
  /// a started target using `environment` for the MQ_* settings.
  func run(
    reported: AMQPEndpoint? = nil, environment: [String: String] = [:],
    options: AMQPPublisher.Settings = AMQPPublisher.Settings(initialBackoff: 0.2, maxBackoff: 1), start: Bool = true
  ) throws -> Run {
    let broker = try RabbitMQ.shared()
    let token = FakePlatform.unique("amqp-token")
    let connectorId = UUID().uuidString.lowercased()
    try platform.createGraphQLPlatform(token: token, userId: "connector-user", amqp: reported ?? broker.endpoint)
    try broker.declareConnectorQueues(connectorId: connectorId)
    let transport = try HTTPGraphQLTransport(url: platform.baseURL, token: token, logger: logger)
    let connector = ConnectorRegistration(id: connectorId, name: "AMQP test")
    let session = PushSession(client: OpenCTIClient(transport: transport), connector: connector)
    let settings = try AMQPSettings.resolve(Configuration(environment: environment))
    let target = AMQPPushTarget(session: session, settings: settings, publisherOptions: options, logger: logger)
    if start { try target.start() }
    return Run(token: token, connectorId: connectorId, connector: connector, target: target)
  }

  func bundle(_ id: String, _ objects: [String]) -> [UInt8] {
    Array("{\"type\":\"bundle\",\"id\":\"\(id)\",\"spec_version\":\"2.1\",\"objects\":[\(objects.joined(separator: ","))]}".utf8)
  }

  func object(_ type: String, _ number: Int, _ extra: String = "") -> String {
    "{\"type\":\"\(type)\",\"spec_version\":\"2.1\",\"id\":\"\(id(type, number))\",\"name\":\"n\(number) é\"\(extra.isEmpty ? "" : "," + extra)}"
  }

  func id(_ type: String, _ number: Int) -> String {
    let digits = String(number)
    return "\(type)--00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
  }

  /// A message's body and the bundle inside it.
  struct Decoded {
    var body: JSONValue
    var bundle: JSONValue
    var objectId: String { bundle["objects"]?.arrayValue?.first?["id"]?.stringValue ?? "" }
  }

  func decode(_ message: QueuedMessage) throws -> Decoded {
    let body = try JSONParser.parse(message.body)
    let content = try #require(Base64.decode(Array((body["content"]?.stringValue ?? "").utf8)))
    return Decoded(body: body, bundle: try JSONParser.parse(content))
  }

  @Test func everyObjectArrivesAsPyctiSendsIt() throws {
    let broker = try RabbitMQ.shared()
    let run = try run()
    let inputs = [
      bundle("bundle--one", [
        object("report", 1, "\"object_refs\":[\"\(id("malware", 1))\",\"\(id("relationship", 1))\"]"),
        object("relationship", 1, "\"source_ref\":\"\(id("malware", 1))\",\"target_ref\":\"\(id("x-foo", 1))\""),
        object("malware", 1, "\"external_references\":[{\"url\":\"http://a\"},{\"url\":\"http://a\"}]"),
      ]),
      bundle("bundle--two", (1...40).map { object("indicator", $0, "\"created_by_ref\":\"\(id("identity", 1))\"") } + [object("identity", 1)]),
    ]
    var incompatible: [String] = []
    run.target.onIncompatible = { object, _ in incompatible.append(object.id) }
    for input in inputs { try run.target.pushBundle(input, objectCount: 0, as: run.connector, applicant: nil) }
    try run.target.finish(inError: false, message: "done")
    let messages = try broker.drain(run.pushQueue).map(decode)
    let splits = try inputs.map { try SplitBundle(RawObject($0)) }
    #expect(messages.count == splits.reduce(0) { $0 + $1.count })
    #expect(incompatible == [id("relationship", 1)])
    let state = try platform.graphQLState(token: run.token)
    let works = state["works"]?.objectValue?.members.map(\.value) ?? []
    #expect(works.count == 1)
    let work = try #require(works.first)
    #expect(work["expected"]?.intValue == messages.count)
    #expect(work["closed"] == true)
    var position = 0
    for split in splits {
      for k in 0..<split.count {
        let message = messages[position]
        #expect(message.body.objectValue?.keys == ["bundle_type", "applicant_id", "action_sequence", "entities_types", "content", "update", "draft_id", "work_id"])
        #expect(message.body["bundle_type"] == "QUEUE_BUNDLE")
        #expect(message.body["applicant_id"] == "connector-user")
        #expect(message.body["action_sequence"]?.intValue == k + 1)
        #expect(message.body["work_id"] == work["id"])
        #expect(message.body["update"] == false && message.body["draft_id"] == .null)
        #expect(message.bundle == (try JSONParser.parse(split.bundle(k))))
        #expect(message.bundle["x_opencti_seq"]?.intValue == split.sequence(k))
        position += 1
      }
    }
    // Dependencies first: the identity before the 40 indicators that name it.
    let second = messages.suffix(41).map(\.objectId)
    #expect(second.first == id("identity", 1))
    // One external reference left of the two equal ones.
    let malware = try #require(messages.first { $0.objectId == id("malware", 1) })
    #expect(malware.bundle["objects"]?.arrayValue?.first?["external_references"]?.arrayValue?.count == 1)
  }

  @Test func messagesArePersistentWithPyctisProperties() throws {
    let broker = try RabbitMQ.shared()
    let run = try run()
    try run.target.pushBundle(bundle("bundle--p", [object("malware", 1)]), objectCount: 1, as: run.connector, applicant: nil)
    try run.target.settle()
    let message = try #require(try broker.drain(run.pushQueue).first)
    #expect(message.deliveryMode == 2)
    #expect(message.contentEncoding == "utf-8")
    #expect(message.contentType == nil)
    #expect(message.exchange == "amqp.worker.exchange")
    #expect(message.routingKey == "push_routing_\(run.connectorId)")
  }

  @Test func expectationsAreAddedBeforeAnythingIsPublished() throws {
    let broker = try RabbitMQ.shared()
    let run = try run()
    try platform.injectGraphQLFault(token: run.token, operation: "AddExpectations", .error("work deleted"))
    #expect(throws: OpenCTIError.self) {
      try run.target.pushBundle(bundle("bundle--e", [object("malware", 1), object("malware", 2)]), objectCount: 2, as: run.connector, applicant: nil)
    }
    try run.target.settle()
    #expect(try broker.messageCount(run.pushQueue) == 0)
  }

  @Test func envelopesPublishOnTheirOwnConnectorsQueueAsTheirApplicant() throws {
    let broker = try RabbitMQ.shared()
    let run = try run()
    let envelope = ConnectorRegistration(id: UUID().uuidString.lowercased(), name: "Diode source")
    try broker.declareConnectorQueues(connectorId: envelope.id)
    try run.target.pushBundle(bundle("bundle--a", [object("malware", 1)]), objectCount: 1, as: envelope, applicant: "mapped-user")
    try run.target.pushBundle(bundle("bundle--b", [object("malware", 2)]), objectCount: 1, as: envelope, applicant: nil)
    try run.target.pushBundle(bundle("bundle--c", [object("malware", 3)]), objectCount: 1, as: run.connector, applicant: nil)
    try run.target.finish(inError: false, message: "done")
    let theirs = try broker.drain("push_\(envelope.id)").map(decode)
    let ours = try broker.drain(run.pushQueue).map(decode)
    #expect(theirs.map(\.objectId) == [id("malware", 1), id("malware", 2)])
    #expect(theirs.map { $0.body["applicant_id"] } == ["mapped-user", "connector-user"])
    #expect(ours.map(\.objectId) == [id("malware", 3)])
    let works = try platform.graphQLState(token: run.token)["works"]?.objectValue?.members.map(\.value) ?? []
    let envelopeWork = try #require(works.first { $0["connector_id"]?.stringValue == envelope.id })
    #expect(theirs.allSatisfy { $0.body["work_id"] == envelopeWork["id"] })
    #expect(envelopeWork["expected"]?.intValue == 2)
  }

  @Test func mqVariablesOverrideTheReportedBrokerAndAnUnreachableOneIsExit69() throws {
    let broker = try RabbitMQ.shared()
    // The platform reports a broker nobody listens on, as a compose platform reports `rabbitmq`.
    let nowhere = AMQPEndpoint(host: "127.0.0.1", port: try RabbitMQ.unusedPort(), user: "opencti", password: "wrong")
    let unreachable = try run(reported: nowhere, start: false)
    do throws(OpenCTIError) {
      try unreachable.target.start()
      Issue.record("start should fail")
    } catch {
      #expect(error.exitStatus == .unavailable)
      #expect("\(error)".contains("RabbitMQ unreachable"))
    }
    let overridden = try run(
      reported: nowhere,
      environment: ["MQ_HOST": "127.0.0.1", "MQ_PORT": String(broker.port), "MQ_USER": broker.user, "MQ_PASS": broker.password])
    try overridden.target.pushBundle(bundle("bundle--o", [object("malware", 1)]), objectCount: 1, as: overridden.connector, applicant: nil)
    try overridden.target.settle()
    #expect(try broker.drain(overridden.pushQueue).count == 1)
    // A wrong password is a refusal (77), not an outage.
    let refused = try run(environment: ["MQ_PASS": "wrong"], start: false)
    do throws(OpenCTIError) {
      try refused.target.start()
      Issue.record("start should fail")
    } catch {
      #expect(error.exitStatus == .noPermission, "\(error)")
    }
  }

  @Test func tlsFollowsPyctisSettings() throws {
    let broker = try RabbitMQ.shared()
    let queue = "tls-\(UUID().uuidString.lowercased())"
    try broker.declareConnectorQueues(connectorId: queue)
    let pem = try String(contentsOfFile: broker.certificatePath, encoding: .utf8)
    func publishOne(_ tls: AMQPTLS) throws {
      let publisher = AMQPPublisher(endpoint: broker.tlsEndpoint(tls), options: AMQPPublisher.Settings(outageTolerance: 0), logger: logger)
      defer { publisher.close() }
      try publisher.connect()
      try publisher.publish(exchange: "amqp.worker.exchange", routingKey: "push_routing_\(queue)", body: Array("over TLS".utf8))
      try publisher.waitForConfirms()
    }
    // pycti's default: TLS without checking the broker's certificate.
    try publishOne(AMQPTLS())
    // MQ_USE_SSL_REJECT_UNAUTHORIZED=true with the CA as a path, then as PEM text.
    try publishOne(AMQPTLS(caCertificate: broker.certificatePath, verifyPeer: true))
    try publishOne(AMQPTLS(caCertificate: pem, verifyPeer: true))
    #expect(try broker.drain("push_\(queue)").count == 3)
    // Checking without the CA: the self-signed certificate is refused.
    #expect(throws: AMQPError.self) { try publishOne(AMQPTLS(verifyPeer: true)) }
    #expect(throws: AMQPError.self) { try publishOne(AMQPTLS(caCertificate: "/nonexistent/ca.pem", verifyPeer: true)) }
  }

  @Test(.timeLimit(.minutes(1))) func aKilledBrokerLosesNothingAndConfirmedMessagesAreNotSentTwice() throws {
    let broker = try RabbitMQ.shared()
    let queue = "publisher-\(UUID().uuidString.lowercased())"
    try broker.declareConnectorQueues(connectorId: queue)
    let publisher = AMQPPublisher(
      endpoint: broker.endpoint, options: AMQPPublisher.Settings(window: 64, initialBackoff: 0.2, maxBackoff: 1), logger: logger)
    func send(_ number: Int) throws {
      try publisher.publish(exchange: "amqp.worker.exchange", routingKey: "push_routing_\(queue)", body: Array("message \(number)".utf8))
    }
    for number in 1...150 { try send(number) }
    try publisher.waitForConfirms()
    #expect(publisher.confirmedThrough == 150)
    // Kill the VM while the next messages go out, then bring the broker back.
    let restarted = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      usleep(300_000)
      try? broker.kill()
      usleep(500_000)
      try? broker.start()
      restarted.signal()
    }
    for number in 151...300 {
      try send(number)
      usleep(5_000)
    }
    try publisher.waitForConfirms()
    restarted.wait()
    publisher.close()
    #expect(publisher.counts.reconnects >= 1)
    #expect(publisher.counts.confirmed == 300)
    let received = try broker.drain("push_\(queue)").map { String(decoding: $0.body, as: UTF8.self) }
    let counts = Dictionary(received.map { ($0, 1) }, uniquingKeysWith: +)
    for number in 1...300 { #expect(counts["message \(number)", default: 0] >= 1, "message \(number) lost") }
    for number in 1...150 { #expect(counts["message \(number)"] == 1, "confirmed message \(number) sent again") }
  }

  @Test func refusedMessagesAreSentAgainUntilAcceptedThenGivenUpOn() throws {
    let broker = try RabbitMQ.shared()
    let name = "bounded-\(UUID().uuidString.lowercased())"
    try broker.declareConnectorQueues(connectorId: name)  // the exchanges
    try broker.declareBoundedQueue(name, exchange: "amqp.worker.exchange", routingKey: name, maxLength: 5)
    let publisher = AMQPPublisher(
      endpoint: broker.endpoint, options: AMQPPublisher.Settings(outageTolerance: 20, initialBackoff: 0.2, maxBackoff: 0.4),
      logger: logger)
    // 8 messages into room for 5: three are refused, and sent again once the queue is emptied.
    let emptied = DispatchSemaphore(value: 0)
    let drained = LockedBox<[String]>([])
    for number in 1...8 {
      try publisher.publish(exchange: "amqp.worker.exchange", routingKey: name, body: Array("message \(number)".utf8))
    }
    Thread.detachNewThread {
      usleep(600_000)
      let first = (try? broker.drain(name)) ?? []
      drained.mutate { $0 += first.map { String(decoding: $0.body, as: UTF8.self) } }
      emptied.signal()
    }
    try publisher.waitForConfirms()
    emptied.wait()
    let rest = try broker.drain(name).map { String(decoding: $0.body, as: UTF8.self) }
    let all = drained.value + rest
    #expect(publisher.counts.nacked >= 3)
    #expect(publisher.counts.confirmed == 8)
    #expect(all.sorted() == (1...8).map { "message \($0)" }.sorted(), "each message exactly once")

    // A queue that stays full: the publisher gives up after the tolerance, and stays given up.
    for number in 1...5 {
      try publisher.publish(exchange: "amqp.worker.exchange", routingKey: name, body: Array("full \(number)".utf8))
    }
    try publisher.waitForConfirms()
    let stubborn = AMQPPublisher(
      endpoint: broker.endpoint, options: AMQPPublisher.Settings(outageTolerance: 1, initialBackoff: 0.2, maxBackoff: 0.4), logger: logger)
    try stubborn.publish(exchange: "amqp.worker.exchange", routingKey: name, body: Array("refused".utf8))
    #expect(throws: AMQPError.self) { try stubborn.waitForConfirms() }
    #expect(stubborn.failure != nil)
    #expect(throws: AMQPError.self) { try stubborn.publish(exchange: "amqp.worker.exchange", routingKey: name, body: [1]) }
    _ = try broker.drain(name)
  }

  @Test(.timeLimit(.minutes(1))) func aStoppedBrokerMidRunIsWaitedForThroughTheTarget() throws {
    let broker = try RabbitMQ.shared()
    let run = try run()
    let first = (1...10).map { number in bundle("bundle--first-\(number)", (1...5).map { object("malware", number * 100 + $0) }) }
    for input in first { try run.target.pushBundle(input, objectCount: 5, as: run.connector, applicant: nil) }
    try run.target.settle()
    let restarted = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      broker.stop()
      try? broker.start()
      restarted.signal()
    }
    let second = (11...30).map { number in bundle("bundle--second-\(number)", (1...5).map { object("malware", number * 100 + $0) }) }
    for input in second {
      try run.target.pushBundle(input, objectCount: 5, as: run.connector, applicant: nil)
      usleep(20_000)
    }
    try run.target.finish(inError: false, message: "done")
    restarted.wait()
    #expect(run.target.publisherCounts.reconnects >= 1)
    let ids = try broker.drain(run.pushQueue).map { try decode($0).objectId }
    let counts = Dictionary(ids.map { ($0, 1) }, uniquingKeysWith: +)
    for number in 1...30 {
      for n in 1...5 {
        let objectId = id("malware", number * 100 + n)
        if number <= 10 {
          #expect(counts[objectId] == 1, "\(objectId) confirmed before the stop, then sent again")
        } else {
          #expect(counts[objectId, default: 0] >= 1, "\(objectId) lost")
        }
      }
    }
  }

  // MARK: cti-push --queue-protocol amqp

  @Test func ctiPushPublishesOverAMQPWithTheMQOverrides() throws {
    let broker = try RabbitMQ.shared()
    let token = FakePlatform.unique("amqp-cli")
    let connectorId = UUID().uuidString.lowercased()
    // The platform reports its internal broker; the MQ_* variables point at the real one.
    let reported = AMQPEndpoint(host: "127.0.0.1", port: try RabbitMQ.unusedPort(), user: "opencti", password: "internal")
    try platform.createGraphQLPlatform(token: token, userId: "connector-user", amqp: reported)
    try broker.declareConnectorQueues(connectorId: connectorId)
    let inputs = [
      bundle("bundle--cli-1", (1...30).map { object("indicator", $0, "\"created_by_ref\":\"\(id("identity", 1))\"") } + [object("identity", 1)]),
      bundle("bundle--cli-2", [object("malware", 1), object("x-custom", 1)]),
    ]
    let stdin = Array(inputs.map { String(decoding: $0, as: UTF8.self) + "\n" }.joined().utf8)
    let rejects = FileManager.default.temporaryDirectory.appendingPathComponent(FakePlatform.unique("rejects") + ".ndjson").path
    defer { try? FileManager.default.removeItem(atPath: rejects) }
    let result = try ToolRunner.run(
      "cti-push", ["--reject", rejects], stdin: stdin,
      environment: [
        "OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token, "CONNECTOR_ID": connectorId, "QUEUE_PROTOCOL": "amqp",
        "MQ_HOST": "127.0.0.1", "MQ_PORT": String(broker.port), "MQ_USER": broker.user, "MQ_PASS": broker.password,
      ])
    #expect(result.status == 1, "an object was rejected: \(result.stderr)")
    #expect(result.stderr.contains("QUEUE_PROTOCOL is deprecated"))
    #expect(result.stderr.contains("line 2: x-custom \(id("x-custom", 1)) not sent"), "the incompatible object is reported: \(result.stderr)")
    #expect(result.stderr.contains("2 records, 2 bundles, 32 objects pushed, 1 rejected (1 in \(rejects))"), "\(result.stderr)")
    #expect(result.stderr.contains("32 messages published over AMQP"), "\(result.stderr)")
    // The object OpenCTI would not import goes to --reject alone, with its line, to be sent again.
    let rejected = try String(contentsOfFile: rejects, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(Array($0.utf8)) }
    #expect(rejected.count == 1)
    #expect(rejected.first?["line"] == 2)
    #expect(rejected.first?["record"]?["id"]?.stringValue == id("x-custom", 1))
    #expect(rejected.first?["error"]?.stringValue?.contains("does not import") == true)
    let messages = try broker.drain("push_\(connectorId)").map(decode)
    let expected = try inputs.flatMap { input in
      let split = try SplitBundle(RawObject(input))
      return try (0..<split.count).map { try JSONParser.parse(split.bundle($0)) }
    }
    #expect(messages.map(\.bundle) == expected)
    let state = try platform.graphQLState(token: token)
    let requests = state["requests"]?.arrayValue ?? []
    #expect(!requests.contains { $0["operation"] == "StixBundlePush" })
    let works = state["works"]?.objectValue?.members.map(\.value) ?? []
    #expect(works.count == 1)
    #expect(works.first?["expected"]?.intValue == 32)
    #expect(works.first?["closed"] == true)
  }

  @Test func ctiPushStopsReadingWhileTheQueueIsFull() throws {
    let broker = try RabbitMQ.shared()
    let token = FakePlatform.unique("amqp-queue")
    let connectorId = UUID().uuidString.lowercased()
    try platform.createGraphQLPlatform(token: token, userId: "connector-user", amqp: broker.endpoint)
    try broker.declareConnectorQueues(connectorId: connectorId)
    let environment = [
      "OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token, "CONNECTOR_ID": connectorId, "CONNECTOR_QUEUE_PROTOCOL": "amqp",
    ]
    try checkBackPressure(platform: platform, token: token, connectorId: connectorId, environment: environment) {
      try broker.messageCount("push_\(connectorId)")
    }
  }

  @Test func ctiPushWithAnUnreachableBrokerExits69AndRejectsEverything() throws {
    let token = FakePlatform.unique("amqp-cli")
    let nowhere = AMQPEndpoint(host: "127.0.0.1", port: try RabbitMQ.unusedPort(), user: "opencti", password: "x")
    try platform.createGraphQLPlatform(token: token, amqp: nowhere)
    let rejects = FileManager.default.temporaryDirectory.appendingPathComponent(FakePlatform.unique("rejects") + ".ndjson").path
    defer { try? FileManager.default.removeItem(atPath: rejects) }
    let lines = [bundle("bundle--r1", [object("malware", 1)]), bundle("bundle--r2", [object("malware", 2)])]
    let result = try ToolRunner.run(
      "cti-push", ["--queue-protocol", "amqp", "--reject", rejects],
      stdin: Array(lines.map { String(decoding: $0, as: UTF8.self) + "\n" }.joined().utf8),
      environment: ["OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token, "CONNECTOR_ID": UUID().uuidString.lowercased()])
    #expect(result.status == 69, "\(result.stderr)")
    #expect(result.stderr.contains("RabbitMQ unreachable"))
    let rejected = try String(contentsOfFile: rejects, encoding: .utf8).split(separator: "\n")
    #expect(rejected.count == 2)
  }
}

/// A value shared with a helper thread.
final class LockedBox<Value>: @unchecked Sendable {
  private var stored: Value
  private let lock = NSLock()
  init(_ value: Value) { stored = value }
  var value: Value { lock.withLock { stored } }
  func mutate(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
