import CTICore
import CTITestSupport
import Foundation
import Testing

/// The pipelines of issue 10 with either stage killed by SIGKILL at random moments, each time
/// resumed from the shared `--state` file, then run to completion. After every kill the state
/// may only cover what the sink has applied (files on disk, bundles the platform received), no
/// diode file may be gone without its data pushed, and at the end every source record has been
/// applied at least once. Rounds: CTI_KILL_ITERATIONS (default 20); CTI_KILL_SEED repeats a run.
/// The four tests mostly wait (on the fake platform's delays, on kills), so they run in parallel.
@Suite struct PipelineKillTests {
  let platform = FakePlatform.shared

  /// A sink whose source was killed ends by itself: with 0, or 1 when the source died in the
  /// middle of a line and the torn line was reported.
  func expectSinkEndedAlone(_ round: KillLoop.Round, _ loop: KillLoop) {
    guard round.sourceKilled else { return }
    #expect(!round.sink.timedOut && [0, 1].contains(round.sink.status), "\(round): sink status \(round.sink.status); \(loop.repeatHint)\n\(round.sink.stderr)")
    if round.sink.status == 1 {
      #expect(round.sink.stderr.contains("not JSON"), "\(round): only a torn last line may fail the sink; \(loop.repeatHint)\n\(round.sink.stderr)")
    }
  }

  /// The rounds every test runs: `KillLoop.iterations` random kills, each followed by `check`,
  /// then one run of `finish` (or `start`) to completion in which both stages exit 0, and
  /// `check` again.
  func killThenComplete(
    _ loop: inout KillLoop, start: () throws -> ToolPipeline, finish: (() throws -> ToolPipeline)? = nil,
    check: (String) throws -> Void
  ) throws -> (source: ToolResult, sink: ToolResult) {
    for number in stride(from: 1, through: KillLoop.iterations, by: 1) {
      let round = loop.round(number, try start(), window: 0.05...0.5)
      expectSinkEndedAlone(round, loop)
      try check("\(round)")
    }
    let last = try (finish?() ?? start()).wait(timeout: 60)
    #expect(last.source.status == 0, "\(loop.repeatHint)\n\(last.source.stderr)")
    #expect(last.sink.status == 0, "\(loop.repeatHint)\n\(last.sink.stderr)")
    try check("after the run to completion")
    return last
  }

  // MARK: cti-stream | cti-backup

  @Test func streamIntoBackup() throws {
    var loop = KillLoop()
    let folder = try TemporaryFolder()
    let state = folder.path + "/stream.json"
    let backup = folder.path + "/backup"
    try FileManager.default.createDirectory(atPath: backup, withIntermediateDirectories: true)
    let count = 3000
    var stream = FakePlatform.Stream()
    stream.events = PipelineFixtures.streamEvents(count)
    // Bursts of 40 events, each closed by a heartbeat (so a checkpoint), every 50 ms: the burst
    // waits in the pipe while the backup fsyncs its files, so a state committed before the sink
    // applied the burst would show at a killed sink.
    stream.burst = 40
    stream.delay = 0.05
    stream.heartbeat = 0.01
    try platform.install(stream)
    let environment = platform.environment(for: stream)
    func start(_ stop: [String] = ["--idle-exit", "1"]) throws -> ToolPipeline {
      try ToolPipeline(
        ("cti-stream", ["--state", state, "--recover", "false"] + stop), ("cti-backup", ["--state", state, "--fsync", backup]),
        sourceEnvironment: environment)
    }
    func stored() -> Set<String> { Set(PipelineFixtures.backupContents(backup).values.flatMap { $0 }) }
    func checkState(_ context: String) {
      guard let saved = readState(state) else { return }
      guard let text = saved["start_from"]?.stringValue, let position = PipelineFixtures.position(text) else {
        Issue.record("\(context): unreadable state \(saved); \(loop.repeatHint)")
        return
      }
      let files = stored()
      let missing = (1...count).filter { number in
        PipelineFixtures.position(PipelineFixtures.streamEventId(number))! <= position
          && !files.contains(PipelineFixtures.streamObjectId(number))
      }
      #expect(missing.count == 0, "\(context): the state is at \(text) but events \(missing.prefix(5)) (\(missing.count) in all) before it are not in the backup; \(loop.repeatHint)")
    }

    // The last run stops once the events after the state are written (an idle timeout could
    // fire before a busy machine delivers the first one).
    func finish() throws -> ToolPipeline {
      let resumeAfter = readState(state)?["start_from"]?.stringValue.flatMap(PipelineFixtures.position) ?? (0, 0)
      let remaining = (1...count).filter { PipelineFixtures.position(PipelineFixtures.streamEventId($0))! > resumeAfter }.count
      return try start(remaining > 0 ? ["--max-events", String(remaining)] : ["--idle-exit", "1"])
    }
    let last = try killThenComplete(&loop, start: { try start() }, finish: finish, check: checkState)
    let files = stored()
    let missing = (1...count).filter { !files.contains(PipelineFixtures.streamObjectId($0)) }
    #expect(missing.count == 0, "events never applied: \(missing.prefix(10)) (\(missing.count)); \(loop.repeatHint)\n\(last.source.stderr)\n\(last.sink.stderr)")
    #expect(readState(state)?["start_from"]?.stringValue == PipelineFixtures.streamEventId(count), "\(loop.repeatHint)")
  }

  // MARK: cti-misp --feed | cti-push

  @Test func mispFeedIntoPush() throws {
    var loop = KillLoop()
    let folder = try TemporaryFolder()
    let count = 250
    let feed = try PipelineFixtures.writeMISPFeed(count, to: folder.path + "/feed")
    let options = ["--import-from-date", "2000-01-01", "--create-indicators", "--jobs", "1"]
    let expected = try PipelineFixtures.mispObjectIds(feed: feed, arguments: options)
    try #require(expected.count == count)
    let token = FakePlatform.unique("kill-misp")
    let environment = try platform.slowPushPlatform(token: token, delay: 0.015)
    let state = folder.path + "/misp.json"
    func start() throws -> ToolPipeline {
      try ToolPipeline(
        ("cti-misp", ["--feed", feed, "--state", state] + options), ("cti-push", ["--state", state]),
        sinkEnvironment: environment)
    }
    func checkState(_ context: String) throws {
      guard let saved = readState(state) else { return }
      guard let mark = saved["last_event_timestamp"]?.intValue else {
        Issue.record("\(context): unreadable state \(saved); \(loop.repeatHint)")
        return
      }
      let pushed = try platform.pushedObjectIds(token: token)
      let missing = (1...count).filter { PipelineFixtures.mispTimestamp($0) <= mark && !expected[$0 - 1].isSubset(of: pushed) }
      #expect(missing.count == 0, "\(context): the state is at \(mark) but events \(missing.prefix(5)) (\(missing.count) in all) before it were not pushed; \(loop.repeatHint)")
    }

    _ = try killThenComplete(&loop, start: { try start() }, check: checkState)
    let pushed = try platform.pushedObjectIds(token: token)
    let missing = (1...count).filter { !expected[$0 - 1].isSubset(of: pushed) }
    #expect(missing.count == 0, "events never pushed: \(missing.prefix(10)) (\(missing.count)); \(loop.repeatHint)")
    #expect(readState(state)?["last_event_timestamp"]?.intValue == PipelineFixtures.mispTimestamp(count), "\(loop.repeatHint)")
  }

  // MARK: cti-diode import | cti-push

  @Test func diodeImportIntoPush() throws {
    var loop = KillLoop()
    let folder = try TemporaryFolder()
    let count = 100
    let diode = folder.path + "/diode"
    let files = try PipelineFixtures.writeDiodeFiles(count, to: diode)
    let token = FakePlatform.unique("kill-diode")
    let environment = try platform.slowPushPlatform(token: token, delay: 0.01)
    let state = folder.path + "/diode.state"
    func start() throws -> ToolPipeline {
      try ToolPipeline(("cti-diode", ["import", diode, "--state", state]), ("cti-push", ["--state", state]), sinkEnvironment: environment)
    }
    func present() -> Set<String> {
      Set(((try? FileManager.default.contentsOfDirectory(atPath: diode)) ?? []).filter { $0.hasSuffix(".json") })
    }
    func check(_ context: String) throws {
      let pushed = try platform.pushedObjectIds(token: token)
      let here = present()
      let deletedUnpushed = files.filter { !here.contains($0.key) && !Set($0.value).isSubset(of: pushed) }.map(\.key)
      #expect(deletedUnpushed.count == 0, "\(context): files deleted before their data was pushed: \(deletedUnpushed.sorted().prefix(5)); \(loop.repeatHint)")
      let recorded = PipelineFixtures.journalNames(state)
      let recordedUnpushed = recorded.filter { !Set(files[$0] ?? []).isSubset(of: pushed) }
      #expect(recordedUnpushed.count == 0, "\(context): the state records files not pushed: \(recordedUnpushed.sorted().prefix(5)); \(loop.repeatHint)")
      #expect(!FileManager.default.fileExists(atPath: diode + "/.rejected"), "\(context): \(loop.repeatHint)")
    }

    let last = try killThenComplete(&loop, start: { try start() }, check: check)
    let pushed = try platform.pushedObjectIds(token: token)
    let missing = files.filter { !Set($0.value).isSubset(of: pushed) }.map(\.key)
    #expect(missing.count == 0, "files never pushed: \(missing.sorted().prefix(10)); \(loop.repeatHint)")
    #expect(present().isEmpty, "every file is deleted once the pipeline committed it; \(loop.repeatHint)\n\(last.source.stderr)")
    #expect(PipelineFixtures.journalNames(state) == Set(files.keys), "\(loop.repeatHint)")
  }

  // MARK: cti-backup restore | cti-push

  @Test func restoreIntoPush() throws {
    var loop = KillLoop()
    let folder = try TemporaryFolder()
    let backup = folder.path + "/backup"
    // Folders of about 6 KB: the pipe holds only a few, so the restore runs as fast as the push.
    let tree = try PipelineFixtures.writeBackupTree(folders: 150, perFolder: 2, to: backup, padding: 3000)
    try #require(tree.count == 150)
    let folders = tree.keys.sorted()
    let token = FakePlatform.unique("kill-restore")
    let environment = try platform.slowPushPlatform(token: token, delay: 0.02)
    let state = folder.path + "/restore.json"
    func start() throws -> ToolPipeline {
      try ToolPipeline(
        ("cti-backup", ["restore", "--state", state, backup]), ("cti-push", ["--state", state]), sinkEnvironment: environment)
    }
    func checkState(_ context: String) throws {
      guard let saved = readState(state) else { return }
      guard let current = saved["current"]?.stringValue else {
        Issue.record("\(context): unreadable state \(saved); \(loop.repeatHint)")
        return
      }
      let pushed = try platform.pushedObjectIds(token: token)
      let missing = folders.filter { $0 <= current && !(tree[$0] ?? []).isSubset(of: pushed) }
      #expect(missing.count == 0, "\(context): the state is at folder \(current) but folders \(missing.prefix(5)) before it were not pushed; \(loop.repeatHint)")
    }

    _ = try killThenComplete(&loop, start: { try start() }, check: checkState)
    let pushed = try platform.pushedObjectIds(token: token)
    let missing = folders.filter { !(tree[$0] ?? []).isSubset(of: pushed) }
    #expect(missing.count == 0, "folders never pushed: \(missing.prefix(10)); \(loop.repeatHint)")
    #expect(readState(state)?["current"]?.stringValue == folders.last, "\(loop.repeatHint)")
  }
}
