import CTICore
import CTITestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// SIGTERM to every tool in the middle of its input: it finishes the record at hand, flushes,
/// commits what was applied, prints its summary and exits 0; stdout never ends in a torn line
/// (issue 10, "The same manners in every tool").
@Suite struct StopSignalEndToEndTests {
  let platform = FakePlatform.shared

  static func checkpoint(_ state: String, tool: String = "cti-stream") -> String {
    "{\"type\":\"cti-checkpoint\",\"tool\":\"\(tool)\",\"state\":\(state)}"
  }

  static func streamEventLine(_ number: Int) -> String {
    "{\"id\":\"\(PipelineFixtures.streamEventId(number))\",\"event\":\"create\"," + StreamEndToEndTests.payload(number).dropFirst()
  }

  static func indicator(_ number: Int) -> String {
    "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--\(PipelineFixtures.uuid("5167e000", number))\",\"name\":\"i\(number)\",\"pattern\":\"[ipv4-addr:value = '10.0.0.\(number)']\",\"pattern_type\":\"stix\"}"
  }

  static func bundle(_ number: Int) -> String {
    "{\"type\":\"bundle\",\"id\":\"bundle--\(PipelineFixtures.uuid("b0b0b0b0", number))\",\"objects\":[\(indicator(number))]}"
  }

  /// Every line of a result's stdout is whole JSON and the output ends with a newline.
  func expectWholeLines(_ result: ToolResult, _ tool: String) {
    let torn = result.stdoutLines.filter { (try? JSONParser.validate(Array($0.utf8))) == nil }
    #expect(torn.isEmpty, "\(tool): torn lines on stdout: \(torn.map { String($0.prefix(120)) })")
    #expect(result.stdout.isEmpty || result.stdout.last == 0x0A, "\(tool): stdout ends inside a line")
  }

  func expectWholeLines(_ sink: TestSink, _ tool: String) {
    #expect(sink.tornLines.isEmpty, "\(tool): torn lines on stdout: \(sink.tornLines)")
  }

  /// SIGTERM once `tool` has written two lines into `sink`, which reads on to the end as the
  /// last stage of a pipeline would; the tool exits 0 with whole lines only.
  func terminateAfterTwoLines(_ tool: RunningTool, into sink: TestSink, _ name: String) -> ToolResult {
    sink.started()
    sink.read(lines: 2, timeout: 20)
    tool.signal(SIGTERM)
    sink.readToEnd(timeout: 20)
    let result = tool.wait(timeout: 15)
    #expect(result.status == 0 && !result.timedOut, "\(result.stderr)")
    expectWholeLines(sink, name)
    return result
  }

  // MARK: Sources reading a platform or files

  @Test func ctiStream() throws {
    var stream = FakePlatform.Stream()
    stream.events = PipelineFixtures.streamEvents(300)
    stream.delay = 0.02
    stream.heartbeat = 0.2
    try platform.install(stream)
    let folder = try TemporaryFolder()
    let state = folder.path + "/stream.json"
    let tool = try ToolRunner.start(
      "cti-stream", ["--state", state, "--recover", "false"],
      environment: platform.environment(for: stream))
    #expect(tool.waitUntil(timeout: 20) { $0.completedLines >= 20 }, "\(tool.stderrSoFar)")
    tool.signal(SIGTERM)
    let result = tool.wait(timeout: 15)
    #expect(result.status == 0 && !result.timedOut, "\(result.stderr)")
    #expect(result.stderr.contains("events written") && result.stderr.contains("stopped by SIGTERM"), "\(result.stderr)")
    expectWholeLines(result, "cti-stream")
    #expect(result.stdoutLines.count < 300)
    let last = try #require(result.stdoutLines.last.flatMap { try? RawObject(Array($0.utf8)).string("id") })
    #expect(readState(state)?["start_from"]?.stringValue == last, "the state covers every line written, no more")
  }

  @Test func ctiMISPFeed() throws {
    let folder = try TemporaryFolder()
    let feed = try PipelineFixtures.writeMISPFeed(40, to: folder.path + "/feed", attributes: 20)
    let state = folder.path + "/misp.json"
    let sink = try TestSink(statePath: state)
    let tool = try ToolRunner.start(
      "cti-misp", ["--feed", feed, "--state", state, "--import-from-date", "2000-01-01", "--create-indicators", "--jobs", "1"],
      input: .bytes([]), output: sink.output)
    // The bundles (about 400 KB) fill the pipe: cti-misp is in the middle of its feed when the
    // signal comes.
    let result = terminateAfterTwoLines(tool, into: sink, "cti-misp")
    #expect(result.stderr.contains("stopped by SIGTERM"), "\(result.stderr)")
    let bundles = sink.records.filter { $0.string("type") == "bundle" }
    #expect(bundles.count > 0 && bundles.count < 40)
    #expect(sink.records.last?.string("type") == Checkpoint.type, "the last bundle is followed by its checkpoint")
    #expect(readState(state)?["last_event_timestamp"]?.intValue == PipelineFixtures.mispTimestamp(bundles.count))
    #expect(!result.stderr.contains("came back committed"), "every checkpoint was committed: \(result.stderr)")
  }

  @Test func ctiDiodeImport() throws {
    let folder = try TemporaryFolder()
    let diode = folder.path + "/diode"
    let files = try PipelineFixtures.writeDiodeFiles(30, to: diode, padding: 10_000)
    let state = folder.path + "/diode.state"
    let sink = try TestSink(statePath: state)
    let tool = try ToolRunner.start("cti-diode", ["import", diode, "--state", state], input: .bytes([]), output: sink.output)
    let result = terminateAfterTwoLines(tool, into: sink, "cti-diode import")
    #expect(result.stderr.contains("stopped by a signal"), "\(result.stderr)")
    let fileOfBundle = Dictionary(uniqueKeysWithValues: (1...30).map { (PipelineFixtures.diodeBundleId($0), PipelineFixtures.diodeFileName($0)) })
    let delivered = Set(sink.records.compactMap { $0.object("bundle")?.string("id").flatMap { fileOfBundle[$0] } })
    #expect(delivered.count > 0 && delivered.count < 30)
    let left = Set(((try? FileManager.default.contentsOfDirectory(atPath: diode)) ?? []).filter { $0.hasSuffix(".json") })
    #expect(Set(files.keys).subtracting(left) == delivered, "exactly the files whose envelopes were read and committed are deleted")
    #expect(PipelineFixtures.journalNames(state) == delivered)
  }

  @Test func ctiBackupRestore() throws {
    let folder = try TemporaryFolder()
    let backup = folder.path + "/backup"
    let tree = try PipelineFixtures.writeBackupTree(folders: 40, perFolder: 2, to: backup, padding: 3000)
    let state = folder.path + "/restore.json"
    let sink = try TestSink(statePath: state)
    let tool = try ToolRunner.start("cti-backup", ["restore", "--state", state, backup], input: .bytes([]), output: sink.output)
    let result = terminateAfterTwoLines(tool, into: sink, "cti-backup restore")
    #expect(result.stderr.contains("folders restored") && result.stderr.contains("stopped by SIGTERM"), "\(result.stderr)")
    let bundles = sink.records.filter { $0.string("type") == "bundle" }
    #expect(bundles.count > 0 && bundles.count < tree.count)
    #expect(sink.records.last?.string("type") == Checkpoint.type)
    #expect(readState(state)?["current"]?.stringValue == tree.keys.sorted()[bundles.count - 1])
    #expect(!result.stderr.contains("came back committed"), "\(result.stderr)")
  }

  // MARK: Tools reading stdin

  @Test func ctiBackup() throws {
    let folder = try TemporaryFolder()
    let state = folder.path + "/stream.json"
    let backup = folder.path + "/backup"
    try FileManager.default.createDirectory(atPath: backup, withIntermediateDirectories: true)
    let input = try HeldInput()
    let tool = try ToolRunner.start("cti-backup", ["--state", state, backup], input: input.input)
    input.started()
    let committed = #"{"start_from":"\#(PipelineFixtures.streamEventId(30))","recover_until":false}"#
    input.send((1...30).map(Self.streamEventLine) + [Self.checkpoint(committed)])
    #expect(tool.waitUntil(timeout: 20) { _ in readState(state) != nil }, "\(tool.stderrSoFar)")
    // Ten more events whose checkpoint never comes: applied, but the state stays.
    input.send((31...40).map(Self.streamEventLine))
    #expect(input.waitUntilRead(timeout: 20))
    #expect(tool.waitUntil(timeout: 20) { _ in PipelineFixtures.backupContents(backup).values.reduce(0) { $0 + $1.count } == 40 })
    tool.signal(SIGTERM)
    let result = tool.wait(timeout: 15)
    input.finish()
    #expect(result.status == 0 && !result.timedOut, "\(result.stderr)")
    #expect(result.stderr.contains("40 records: 40 written") && result.stderr.contains("stopped by SIGTERM"), "\(result.stderr)")
    #expect(result.stderr.contains("1 of 1 checkpoint committed"), "\(result.stderr)")
    #expect(readState(state) == (try JSONParser.parse(committed)))
  }

  @Test func ctiPush() throws {
    let token = FakePlatform.unique("term-push")
    let environment = try platform.slowPushPlatform(token: token, delay: 0)
    let folder = try TemporaryFolder()
    let state = folder.path + "/stream.json"
    let input = try HeldInput()
    // With a flush delay of a minute, only the signal can make cti-push send what it holds.
    let tool = try ToolRunner.start("cti-push", ["--state", state, "--flush-delay", "60"], input: input.input, environment: environment)
    input.started()
    let committed = #"{"start_from":"1705327200005-0","recover_until":false}"#
    input.send((1...5).map(Self.indicator) + [Self.checkpoint(committed)])
    #expect(input.waitUntilRead(timeout: 20))
    usleep(300_000)
    #expect(try platform.pushedObjectIds(token: token).isEmpty, "nothing is pushed before the flush delay")
    #expect(readState(state) == nil, "objects held in memory are not applied: their checkpoint waits")
    tool.signal(SIGTERM)
    let result = tool.wait(timeout: 15)
    input.finish()
    #expect(result.status == 0 && !result.timedOut, "\(result.stderr)")
    #expect(result.stderr.contains("5 records, 1 bundles, 5 objects pushed") && result.stderr.contains("stopped by SIGTERM"), "\(result.stderr)")
    #expect(try platform.pushedObjectIds(token: token).count == 5)
    #expect(readState(state) == (try JSONParser.parse(committed)))
    let platformState = try platform.graphQLState(token: token)
    let works = platformState["works"]?.objectValue?.members.map(\.value) ?? []
    #expect(works.count == 1 && works.allSatisfy { $0["closed"] == true && $0["in_error"] == false }, "\(works)")
    let closing = (platformState["requests"]?.arrayValue ?? []).filter { $0["operation"] == "WorkToProcessed" }
    #expect(closing.count == 1)
  }

  @Test func ctiMISPStdin() throws {
    let folder = try TemporaryFolder()
    let feed = try PipelineFixtures.writeMISPFeed(3, to: folder.path + "/feed")
    let events = try (1...3).map { try String(contentsOfFile: feed + "/\(PipelineFixtures.mispEventUUID($0)).json", encoding: .utf8) }
    let upstream = Self.checkpoint(#"{"imported":[]}"#, tool: "cti-diode")
    let input = try HeldInput()
    let tool = try ToolRunner.start("cti-misp", ["--create-indicators"], input: input.input)
    input.started()
    input.send(events + [upstream])
    #expect(tool.waitUntil(timeout: 20) { $0.completedLines >= 4 }, "\(tool.stderrSoFar)")
    tool.signal(SIGTERM)
    let result = tool.wait(timeout: 15)
    input.finish()
    #expect(result.status == 0 && !result.timedOut, "\(result.stderr)")
    #expect(result.stderr.contains("3 events read, 3 converted") && result.stderr.contains("stopped by SIGTERM"), "\(result.stderr)")
    expectWholeLines(result, "cti-misp")
    #expect(result.stdoutLines.count == 4)
    #expect(result.stdoutLines.last == upstream, "an upstream checkpoint passes through after the bundles before it")
  }

  @Test func ctiDiodeExport() throws {
    let folder = try TemporaryFolder()
    let destination = folder.path + "/out"
    try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
    let state = folder.path + "/misp.json"
    let input = try HeldInput()
    let tool = try ToolRunner.start(
      "cti-diode", ["export", destination, "--state", state, "--connector-id", UUID().uuidString.lowercased(), "--connector-name", "Export Test"],
      input: input.input)
    input.started()
    let committed = #"{"last_event_timestamp":1712000180}"#
    input.send((1...3).map(Self.bundle) + [Self.checkpoint(committed, tool: "cti-misp")])
    #expect(tool.waitUntil(timeout: 20) { _ in readState(state) != nil }, "\(tool.stderrSoFar)")
    input.send((4...5).map(Self.bundle))
    func files() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: destination)) ?? []).filter { $0.hasSuffix(".json") }.count }
    #expect(tool.waitUntil(timeout: 20) { _ in files() == 5 }, "\(tool.stderrSoFar)")
    tool.signal(SIGTERM)
    let result = tool.wait(timeout: 15)
    input.finish()
    #expect(result.status == 0 && !result.timedOut, "\(result.stderr)")
    #expect(result.stderr.contains("wrote 5 files") && result.stderr.contains("stopped by SIGTERM"), "\(result.stderr)")
    #expect(readState(state) == (try JSONParser.parse(committed)))
  }
}
