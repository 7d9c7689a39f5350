import CTITestSupport
import Foundation
import Testing

@testable import CTICore

#if canImport(Glibc)
  import Glibc
#endif

/// cti-push as a connector the platform watches: pings from the start (with pycti's connector
/// info where the schema has it), and back-pressure from the connector's queue.
@Suite struct PushConnectorLifecycleTests {
  let platform = FakePlatform.shared

  func indicator(_ number: Int, padding: Int = 0) -> String {
    let digits = String(number)
    let id = "indicator--00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
    return "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"\(id)\",\"name\":\"i\(number)\",\"description\":\"\(String(repeating: "x", count: padding))\",\"pattern\":\"[ipv4-addr:value = '10.0.0.\(number % 250)']\",\"pattern_type\":\"stix\"}"
  }

  func environment(_ token: String, _ connectorId: String) -> [String: String] {
    ["OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token, "CONNECTOR_ID": connectorId]
  }

  @Test func aShortRunPingsAtOnceWithConnectorInfo() throws {
    let token = FakePlatform.unique("ping-token")
    let connectorId = UUID().uuidString.lowercased()
    try platform.createGraphQLPlatform(token: token)
    var environment = environment(token, connectorId)
    environment["CONNECTOR_RUN_AND_TERMINATE"] = "true"
    // The default interval (40 s) is far longer than the run.
    let result = try ToolRunner.run("cti-push", [], stdin: Array((indicator(1) + "\n").utf8), environment: environment, timeout: 30)
    #expect(result.status == 0, "\(result.stderr)")
    let state = try platform.graphQLState(token: token)
    let pings = state["pings"]?.arrayValue ?? []
    #expect(pings.count == 2, "one right after registering, one at the end")
    let first = try #require(pings.first?["connector_info"])
    #expect(first["run_and_terminate"] == true)
    #expect(first["buffering"] == false)
    #expect(first["queue_threshold"]?.intValue == 500)
    #expect(first["queue_messages_size"]?.intValue == 0)
    #expect(first["last_run_datetime"] == .null)
    let last = try #require(pings.last?["connector_info"])
    #expect(last["last_run_datetime"]?.stringValue.flatMap(ISO8601.parse) != nil, "the end of the run is the last run")
    let requests = state["requests"]?.arrayValue ?? []
    let order = requests.compactMap { $0["operation"]?.stringValue }
    #expect(order.firstIndex(of: "PingConnector")! < order.firstIndex(of: "StixBundlePush")!, "pinged before pushing")
  }

  @Test func anOlderSchemaGetsPingsWithoutConnectorInfo() throws {
    let token = FakePlatform.unique("ping-old-token")
    let connectorId = UUID().uuidString.lowercased()
    try platform.createGraphQLPlatform(token: token, version: "6.3.0", connectorInfo: false)
    let result = try ToolRunner.run(
      "cti-push", [], stdin: Array((indicator(1) + "\n").utf8), environment: environment(token, connectorId), timeout: 30)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(!result.stderr.contains("ping failed"), "\(result.stderr)")
    let state = try platform.graphQLState(token: token)
    let pings = state["pings"]?.arrayValue ?? []
    #expect(pings.count == 2)
    #expect(pings.allSatisfy { $0["connector_info"] == .null && $0["id"]?.stringValue == connectorId })
    let sent = (state["requests"]?.arrayValue ?? []).filter { $0["operation"] == "PingConnector" }
    #expect(sent.count == 3, "the first ping is refused once, then every ping goes without the info")
    #expect(sent.first?["variables"]?["connectorInfo"] != nil)
    #expect(sent.dropFirst().allSatisfy { $0["variables"]?["connectorInfo"] == nil })
  }

  @Test func sigtermWhilePausedEndsTheRunAtOnce() throws {
    let token = FakePlatform.unique("queue-stop-token")
    let connectorId = UUID().uuidString.lowercased()
    try platform.createGraphQLPlatform(token: token)
    try platform.setQueue(token: token, connectorId: connectorId, bytes: 900_000_000)
    let work = try TemporaryFolder()
    let running = try ToolRunner.startWithInputPipe(
      "cti-push", ["--state", work.path + "/state", "--queue-check-interval", "0.2"], environment: environment(token, connectorId))
    #expect(running.waitUntil(timeout: 20) { $0.stderrSoFar.contains("at or over the threshold of 500 MB") }, "\(running.stderrSoFar)")
    running.writeInput(Array((indicator(1) + "\n{\"type\":\"cti-checkpoint\",\"tool\":\"t\",\"state\":{\"n\":1}}\n").utf8))
    let signalled = Date()
    running.signal(SIGTERM)
    let result = running.wait(timeout: 10)
    #expect(Date().timeIntervalSince(signalled) < 3)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("0 records, 0 bundles, 0 objects pushed, 0 rejected, 0 works opened"), "\(result.stderr)")
    #expect(result.stderr.contains("stopped by SIGTERM while the connector queue was full"))
    #expect(work.names(".").isEmpty, "nothing read, nothing committed")
  }

  @Test func backPressureOverTheAPI() throws {
    let token = FakePlatform.unique("queue-token")
    let connectorId = UUID().uuidString.lowercased()
    try platform.createGraphQLPlatform(token: token)
    try checkBackPressure(platform: platform, token: token, connectorId: connectorId, environment: environment(token, connectorId)) {
      let bundles = (try platform.graphQLState(token: token))["bundles"]?.arrayValue ?? []
      return bundles.reduce(0) { $0 + ($1["object_ids"]?.arrayValue?.count ?? 0) }
    }
  }
}

/// Starts cti-push with its connector's queue over a 1 MB threshold and checks that it reads
/// nothing (the writer of its input blocks on a full pipe, nothing reaches `objectsPushed`, the
/// pings say `buffering: true`), then that once the queue drains everything written is pushed.
func checkBackPressure(
  platform: FakePlatform, token: String, connectorId: String, environment: [String: String], extraArguments: [String] = [],
  objectsPushed: () throws -> Int
) throws {
  try platform.setQueue(token: token, connectorId: connectorId, bytes: 3_000_000, messages: 40)
  let running = try ToolRunner.startWithInputPipe(
    "cti-push",
    ["--queue-threshold", "1", "--queue-check-interval", "0.2", "--ping-interval", "0.3", "--flush-delay", "0.2"]
      + extraArguments,
    environment: environment)
  func operations() -> [String] {
    ((try? platform.graphQLState(token: token))?["requests"]?.arrayValue ?? []).compactMap { $0["operation"]?.stringValue }
  }
  #expect(running.waitUntil(timeout: 20) { _ in operations().contains("GetConnector") }, "\(running.stderrSoFar)")
  let count = 400
  let lines = (1...count).map { number in
    let digits = String(number)
    let id = "indicator--00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
    return "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"\(id)\",\"name\":\"i\(number)\",\"description\":\"\(String(repeating: "x", count: 900))\",\"pattern\":\"[ipv4-addr:value = '10.0.0.\(number % 250)']\",\"pattern_type\":\"stix\"}\n"
  }
  let input = Array(lines.joined().utf8)
  let taken = running.writeInput(input, blocking: false)
  #expect(taken < input.count, "the writer blocks: cti-push is not reading")
  #expect(taken <= 1 << 20, "no more than a pipe holds")
  usleep(800_000)
  #expect(try objectsPushed() == 0)
  let pings = (try platform.graphQLState(token: token))["pings"]?.arrayValue ?? []
  #expect(pings.contains { $0["connector_info"]?["buffering"] == true }, "\(pings)")
  #expect(pings.contains { $0["connector_info"]?["queue_messages_size"]?.intValue == 3 })
  #expect(running.isRunning)

  try platform.setQueue(token: token, connectorId: connectorId, bytes: 200_000)
  #expect(running.writeInput(Array(input[taken...])) == input.count - taken)
  running.closeInput()
  let result = running.wait(timeout: 30)
  #expect(result.status == 0, "\(result.stderr)")
  #expect(try objectsPushed() == count)
  #expect(result.stderr.contains("the connector queue holds 3 MB, at or over the threshold of 1 MB"), "\(result.stderr)")
  #expect(result.stderr.contains("the connector queue is down to 0.20 MB"))
  #expect(result.stderr.contains("input paused 1 time ("))
  let last = (try platform.graphQLState(token: token))["pings"]?.arrayValue?.last
  #expect(last?["connector_info"]?["buffering"] == false)
}
