import CTICore
import CTITestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// cti-push with an input that pauses: what it holds goes out after --flush-delay, and the
/// checkpoint that followed it is committed then, not at the end of the input.
@Suite struct PushIdleFlushEndToEndTests {
  let platform = FakePlatform.shared

  @Test func aPausedInputIsPushedAfterTheFlushDelayAndItsCheckpointCommitted() throws {
    let token = FakePlatform.unique("idle-push")
    let environment = try platform.slowPushPlatform(token: token, delay: 0)
    let folder = try TemporaryFolder()
    let state = folder.path + "/stream.json"
    let input = try HeldInput()
    let tool = try ToolRunner.start("cti-push", ["--state", state, "--flush-delay", "1"], input: input.input, environment: environment)
    input.started()
    let first = #"{"start_from":"1705327200003-0","recover_until":false}"#
    input.send((1...3).map(StopSignalEndToEndTests.indicator) + [StopSignalEndToEndTests.checkpoint(first)])
    #expect(input.waitUntilRead(timeout: 20))
    let sent = Date()
    var pushed = Set<String>()
    while Date().timeIntervalSince(sent) < 10 {
      pushed = try platform.pushedObjectIds(token: token)
      let saved = readState(state)
      if saved != nil, pushed.count < 3 { Issue.record("the checkpoint was committed before its objects were pushed") }
      if pushed.count == 3, saved != nil { break }
      usleep(50_000)
    }
    let elapsed = Date().timeIntervalSince(sent)
    #expect(pushed.count == 3, "\(tool.stderrSoFar)")
    #expect(elapsed >= 0.7 && elapsed < 4, "pushed \(elapsed) s after the input paused, for a --flush-delay of 1 s")
    #expect(readState(state) == (try JSONParser.parse(first)))
    #expect(tool.isRunning, "the input is still open")

    let second = #"{"start_from":"1705327200005-0","recover_until":false}"#
    input.send((4...5).map(StopSignalEndToEndTests.indicator) + [StopSignalEndToEndTests.checkpoint(second)])
    input.finish()
    let result = tool.wait(timeout: 20)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("5 records, 2 bundles, 5 objects pushed"), "\(result.stderr)")
    #expect(try platform.pushedObjectIds(token: token).count == 5)
    #expect(readState(state) == (try JSONParser.parse(second)))
  }
}

/// `cti-diode import DIR | head -1`: the reader takes one envelope and goes; no file may be
/// deleted, since nothing tells the importer that the rest of the pipeline has the data.
@Suite struct DiodeIntoHeadEndToEndTests {
  /// Runs `cti-diode import ARGS | head -1` through /bin/sh; returns the shell's result (the
  /// importer's stderr included) and the line head printed.
  func importIntoHead(_ arguments: [String], folder: TemporaryFolder) throws -> (ToolResult, [String]) {
    let tool = ToolRunner.binDirectory.appendingPathComponent("cti-diode").path
    let quoted = ([tool, "import"] + arguments).map { "'\($0)'" }.joined(separator: " ")
    let result = try ToolRunner.runProgram("/bin/sh", ["-c", "\(quoted) | /usr/bin/head -1 > '\(folder.path)/head.out'"], timeout: 30)
    return (result, (folder.read("head.out") ?? "").split(separator: "\n").map(String.init))
  }

  func present(_ path: String) -> Set<String> {
    Set(((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".json") })
  }

  /// Twelve files of about 40 KB: more than a pipe holds, so the importer meets the closed pipe.
  func diodeFolder(_ folder: TemporaryFolder) throws -> (path: String, files: Set<String>) {
    let path = folder.path + "/diode"
    return (path, Set(try PipelineFixtures.writeDiodeFiles(12, to: path, padding: 20_000).keys))
  }

  @Test func withStateNothingIsDeletedOrCommitted() throws {
    let folder = try TemporaryFolder()
    let (diode, files) = try diodeFolder(folder)
    let state = folder.path + "/diode.state"
    let (result, lines) = try importIntoHead([diode, "--state", state], folder: folder)
    #expect(result.status == 0 && !result.timedOut, "\(result.stderr)")
    #expect(lines.count == 1)
    #expect(present(diode) == files, "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: state), "nothing came back committed")
    #expect(result.stderr.contains("output closed by the reader"), "\(result.stderr)")
    #expect(result.stderr.contains("warning:") && result.stderr.contains(state), "\(result.stderr)")
  }

  @Test func withoutStateNothingIsDeletedAndTheImporterWarns() throws {
    let folder = try TemporaryFolder()
    let (diode, files) = try diodeFolder(folder)
    let (result, lines) = try importIntoHead([diode], folder: folder)
    #expect(result.status == 0 && !result.timedOut, "\(result.stderr)")
    #expect(lines.count == 1)
    #expect(present(diode) == files, "\(result.stderr)")
    #expect(result.stderr.contains("files are not deleted after import"), "\(result.stderr)")
  }
}
