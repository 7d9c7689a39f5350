import CTITestSupport
import Foundation
import Testing

@testable import CTICore

/// The manners every tool shares (issue: one line limit, one exit-code table, signals handled,
/// nothing read that is not applied or rejected), and the stream's defences against a malformed
/// stream.
@Suite struct ToolMannersEndToEndTests {
  let platform = FakePlatform.shared

  /// Runs a built tool through /bin/sh with a virtual-memory ceiling (in KiB), so that an
  /// unbounded buffer fails the test instead of the machine.
  static func runLimited(
    _ tool: String, _ arguments: [String], memoryKiB: Int, environment: [String: String] = [:], timeout: Double = 60
  ) throws -> ToolResult {
    let path = ToolRunner.binDirectory.appendingPathComponent(tool).path
    let quoted = ([path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    return try ToolRunner.runProgramWithEnvironment(
      "/bin/sh", ["-c", "ulimit -v \(memoryKiB); exec \(quoted)"], environment: environment, timeout: timeout)
  }

  @Test func badOptionValuesAreUsageErrorsInEveryTool() throws {
    let cases: [(String, [String])] = [
      ("cti-backup", ["--bucket", "day", "/tmp"]),
      ("cti-misp", ["--compat", "offical"]),
      ("cti-backup", ["--log-format", "yaml", "/tmp"]),
      ("cti-push", ["--dry-run", "--batch-size", "0"]),
      ("cti-stream", ["--replay", "/dev/null", "--events", "create,updat"]),
      ("cti-diode", ["export", "--max-line-bytes", "lots", "/tmp"]),
      ("cti-push", ["--dry-run", "--flush-delay", "soon"]),
    ]
    for (tool, arguments) in cases {
      let result = try ToolRunner.run(tool, arguments, timeout: 20)
      #expect(result.status == ExitStatus.usage.rawValue, "\(tool) \(arguments): \(result.stderr)")
    }
  }

  @Test func aStateFileInAMissingFolderStopsEveryToolBeforeItStarts() throws {
    let state = "/nonexistent-cti-folder/state.json"
    let cases: [(String, [String])] = [
      ("cti-stream", ["--replay", "/dev/null", "--state", state]),
      ("cti-misp", ["--state", state, "--feed", "/tmp"]),
      ("cti-backup", ["--state", state, "/tmp"]),
      ("cti-backup", ["restore", "--state", state, "/tmp"]),
      ("cti-push", ["--dry-run", "--state", state]),
      ("cti-diode", ["export", "--state", state, "/tmp"]),
      ("cti-diode", ["import", "--state", state, "/tmp"]),
    ]
    for (tool, arguments) in cases {
      let result = try ToolRunner.run(tool, arguments, environment: ["CONNECTOR_ID": "x", "CONNECTOR_NAME": "xx"], timeout: 20)
      #expect(result.status == ExitStatus.noInput.rawValue, "\(tool) \(arguments): \(result.stderr)")
      #expect(result.stderr.contains("/nonexistent-cti-folder does not exist"), "\(tool): \(result.stderr)")
    }
  }

  @Test func cti_push_keepsAnOverlongLineInItsRejectFile() throws {
    let folder = try TemporaryFolder()
    let long = #"{"type":"note","id":"note--00000000-0000-4000-8000-000000000001","content":""# + String(repeating: "é\"", count: 3000) + #""}"#
    let small = #"{"type":"note","id":"note--00000000-0000-4000-8000-000000000002","content":"ok"}"#
    let input = Array((small + "\n" + long + "\n" + small + "\n").utf8)
    let result = try ToolRunner.run(
      "cti-push", ["--dry-run", "--max-line-bytes", "2K", "--reject", folder.path + "/rejects.ndjson"], stdin: input,
      environment: ["CONNECTOR_ID": "5c3a9a52-8d0e-4b7f-9f4e-2b1d3c4e5f60"])
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stderr.contains("line 2: longer than the line limit of 2048 bytes"))
    let rejects = (folder.read("rejects.ndjson") ?? "").split(separator: "\n")
    #expect(rejects.count == 1)
    let reject = try JSONParser.parse(String(rejects.first ?? ""))
    #expect(reject["line"]?.intValue == 2)
    #expect(reject["text"]?.stringValue == long, "the whole line, byte for byte, as JSON text")
  }

  @Test func cti_push_thatCannotStartRejectsWhatItReadsAndCommitsNothing() throws {
    let token = FakePlatform.unique("old-platform")
    try platform.createGraphQLPlatform(token: token, version: "6.2.9")
    let folder = try TemporaryFolder()
    let environment = ["OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token, "CONNECTOR_ID": UUID().uuidString.lowercased()]
    let object = #"{"type":"tool","id":"tool--00000000-0000-4000-8000-000000000001","name":"t"}"#
    let checkpoint = #"{"type":"cti-checkpoint","tool":"cti-misp","state":{"last_run":"x"}}"#
    let input = Array((object + "\n" + checkpoint + "\n").utf8)
    let withRejects = try ToolRunner.run(
      "cti-push", ["--reject", folder.path + "/r.ndjson", "--state", folder.path + "/s.json"], stdin: input, environment: environment)
    #expect(withRejects.status == ExitStatus.protocolError.rawValue, "\(withRejects.stderr)")
    #expect((folder.read("r.ndjson") ?? "").split(separator: "\n").count == 1, "the record went to the reject file")
    #expect(folder.read("s.json") == nil, "the source's state is not committed")
    let without = try ToolRunner.run("cti-push", ["--state", folder.path + "/s.json"], stdin: input, environment: environment)
    #expect(without.status == ExitStatus.protocolError.rawValue)
    #expect(folder.read("s.json") == nil)
  }

  @Test func cti_misp_skipsAnOverlongLineAndGoesOn() throws {
    let event = try #require(Bundle.module.url(forResource: "Fixtures/misp-feed-small", withExtension: nil))
    let files = try FileManager.default.contentsOfDirectory(atPath: event.path).filter { $0 != "manifest.json" }.sorted()
    let text = try String(contentsOf: event.appendingPathComponent(try #require(files.first)), encoding: .utf8)
    let compact = String(decoding: JSONWriter.serialize(try JSONParser.parse(text)), as: UTF8.self)
    let long = #"{"Event":{"info":""# + String(repeating: "x", count: 5000) + #""}}"#
    let result = try ToolRunner.run("cti-misp", ["--max-line-bytes", "4K"], stdin: Array((long + "\n" + compact + "\n").utf8))
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stderr.contains("line 1: longer than the line limit"))
    #expect(result.stdoutLines.count == 1, "the event after it is converted")
  }

  @Test func cti_misp_neverWritesALineTheNextToolWouldRefuse() throws {
    let long = #"{"Event":{"uuid":"5f1a2b3c-0000-4000-8000-000000000001","info":""# + String(repeating: "x", count: 900) + #"","date":"2024-01-15","timestamp":"1705327200","Orgc":{"name":"ACME","uuid":"5f1a2b3c-0000-4000-8000-0000000000aa"}}}"#
    let result = try ToolRunner.run("cti-misp", ["--max-line-bytes", "2K"], stdin: Array((long + "\n").utf8))
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stdout.isEmpty)
    #expect(result.stderr.contains("over the line limit of 2048 bytes"))
  }

  // MARK: The stream's defences

  @Test func anEndlessDataLineIsDroppedWithBoundedMemoryAndTheStreamResumes() throws {
    var stream = FakePlatform.Stream()
    stream.events = StreamEndToEndTests.events(3)
    stream.faults = [1: .endless(after: 1, megabytes: 200)]
    stream.hold = false
    try platform.install(stream)
    let environment = platform.environment(for: stream)
    let result = try Self.runLimited(
      "cti-stream", ["--max-line-bytes", "1M", "--recover", "false", "--reconnect-delay", "0.1", "--max-events", "3"],
      memoryKiB: 250_000, environment: environment)
    #expect(result.status == 1, "the dropped event is reported: \(result.stderr)")
    #expect(result.stderr.contains("passed the line limit of 1048576 bytes"))
    let ids = result.stdoutLines.compactMap { try? RawObject(Array($0.utf8)).string("id") }
    #expect(ids == stream.events.map(\.id), "the first event once, then the rest after reconnecting from it")
  }

  @Test func aHeartbeatWhoseDataIsNotJSONIsSkippedAndTheStreamGoesOn() throws {
    let folder = try TemporaryFolder()
    let capture = """
      event: connected
      data: not json

      id: 1-0
      event: heartbeat
      data: 2024-01-15T15:16:08Z

      id: 2-0
      event: create
      data: {"type":"create","data":{"id":"indicator--00000000-0000-4000-8000-000000000001","type":"indicator"}}


      """
    try folder.write("capture.sse", capture)
    let result = try ToolRunner.run("cti-stream", ["--replay", folder.path + "/capture.sse", "--heartbeats"])
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stdoutLines.count == 1)
    #expect(result.stdoutLines.first?.hasPrefix(#"{"id":"2-0","event":"create""#) == true)
    #expect(result.stderr.components(separatedBy: "payload is not valid JSON").count == 3, "both control events reported")
  }

  @Test func anOutputThatFillsUpCountsOnlyWhatGotOutAndSaysSoOnce() throws {
    let folder = try TemporaryFolder()
    let events = (1...50).map { n in
      "id: \(n)-0\nevent: create\ndata: {\"data\":{\"id\":\"indicator--00000000-0000-4000-8000-\(String(format: "%012d", n))\",\"type\":\"indicator\"}}\n\n"
    }.joined()
    try folder.write("capture.sse", events)
    let state = folder.path + "/state.json"
    let path = ToolRunner.binDirectory.appendingPathComponent("cti-stream").path
    let result = try ToolRunner.runProgramWithEnvironment(
      "/bin/sh", ["-c", "'\(path)' --replay '\(folder.path)/capture.sse' --state '\(state)' > /dev/full"], environment: [:])
    #expect(result.status == ExitStatus.ioError.rawValue, "\(result.stderr)")
    #expect(result.stderr.contains("0 events written"), "\(result.stderr)")
    #expect(result.stderr.components(separatedBy: "No space left on device").count == 2, "the error is printed once: \(result.stderr)")
    #expect(folder.read("state.json") == nil || folder.read("state.json")?.contains("\"start_from\":\"0-0\"") == true)
  }
}
