import CTICore
import CTITestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A sink that cannot apply anything leaves the shared state file as it was, and the source says
/// that its state did not advance (issue 10, "If nothing downstream commits").
@Suite struct FailingSinkEndToEndTests {
  let platform = FakePlatform.shared

  /// A loopback port nothing listens on.
  static func closedPort() -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  static let warning = "no checkpoint written to stdout came back committed"
  static let stateBefore = #"{"last_run":"2024-01-01T00:00:00+00:00","last_event":"2024-01-01T00:00:00+00:00","last_event_timestamp":1700000000}"# + "\n"

  /// A feed whose bundles (about 150 KB in all) do not fit in a pipe: cti-misp is still writing
  /// when cti-push gives up, so it meets the closed pipe instead of waiting for a commit.
  func downPlatformPipeline(_ folder: TemporaryFolder, push: [String]) throws -> (ToolPipeline, state: String) {
    let feed = try PipelineFixtures.writeMISPFeed(30, to: folder.path + "/feed", attributes: 10)
    let state = folder.path + "/misp.json"
    try Self.stateBefore.write(toFile: state, atomically: true, encoding: .utf8)
    let environment = [
      "OPENCTI_URL": "http://127.0.0.1:\(Self.closedPort())", "OPENCTI_TOKEN": "token", "CONNECTOR_ID": UUID().uuidString.lowercased(),
    ]
    let pipeline = try ToolPipeline(
      ("cti-misp", ["--feed", feed, "--state", state, "--create-indicators", "--jobs", "1"]),
      ("cti-push", ["--state", state] + push), sinkEnvironment: environment)
    return (pipeline, state)
  }

  @Test func aPlatformDownLeavesTheMISPStateUnchanged() throws {
    let folder = try TemporaryFolder()
    let (pipeline, state) = try downPlatformPipeline(folder, push: [])
    let (misp, push) = pipeline.wait(timeout: 60)
    #expect(push.status == 69, "\(push.stderr)")
    #expect(push.stderr.contains("0 records"), "cti-push reads nothing when it can send nothing and has no --reject: \(push.stderr)")
    #expect(try String(contentsOfFile: state, encoding: .utf8) == Self.stateBefore)
    #expect(misp.status == 0, "\(misp.stderr)")
    #expect(misp.stderr.contains(Self.warning), "\(misp.stderr)")
  }

  @Test func aPlatformDownWithARejectFileTakesEveryRecordAndLeavesTheStateUnchanged() throws {
    let folder = try TemporaryFolder()
    let rejects = folder.path + "/rejects.ndjson"
    let (pipeline, state) = try downPlatformPipeline(folder, push: ["--reject", rejects])
    let (misp, push) = pipeline.wait(timeout: 60)
    #expect(push.status == 69, "\(push.stderr)")
    #expect(try String(contentsOfFile: state, encoding: .utf8) == Self.stateBefore)
    let rejected = (folder.read("rejects.ndjson") ?? "").split(separator: "\n")
    #expect(rejected.count == 30, "every bundle read goes to the reject file: \(push.stderr)")
    #expect(misp.status == 0, "\(misp.stderr)")
    #expect(misp.stderr.contains(Self.warning), "\(misp.stderr)")
  }

  /// The capture's 200 events (about 150 KB) do not fit in a pipe either.
  static let capture = PipelineFixtures.streamCapture(1...200)
  static let streamStateBefore = #"{"start_from":"1705327200003-0","recover_until":false}"# + "\n"

  @Test func aBackupFolderThatCannotBeCreatedLeavesTheStreamStateUnchanged() throws {
    let folder = try TemporaryFolder()
    let state = folder.path + "/stream.json"
    try Self.streamStateBefore.write(toFile: state, atomically: true, encoding: .utf8)
    // A plain file where the backup folder's parent should be: cti-backup cannot create it.
    try folder.write("taken", "a file")
    // The capture only reaches cti-stream once cti-backup has given up: the source meets a
    // closed pipe before it could send a single checkpoint.
    let input = try HeldInput()
    let pipeline = try ToolPipeline(
      ("cti-stream", ["--replay", "-", "--state", state]), ("cti-backup", ["--state", state, folder.path + "/taken/backup"]),
      sourceInput: input.input)
    input.started()
    let backup = pipeline.sink.wait(timeout: 30)
    #expect(backup.status == 74, "\(backup.stderr)")
    input.send([Self.capture])
    input.finish()
    let stream = pipeline.source.wait(timeout: 30)
    #expect(stream.status == 0, "\(stream.stderr)")
    #expect(try String(contentsOfFile: state, encoding: .utf8) == Self.streamStateBefore)
    #expect(stream.stderr.contains("output closed by the reader"), "\(stream.stderr)")
    #expect(stream.stderr.contains("warning:") && stream.stderr.contains(state), "the source says its state did not advance: \(stream.stderr)")
  }

  @Test func aBackupFolderThatCannotBeWrittenLeavesTheStreamStateUnchanged() throws {
    let folder = try TemporaryFolder()
    let state = folder.path + "/stream.json"
    try Self.streamStateBefore.write(toFile: state, atomically: true, encoding: .utf8)
    // The events' bucket folder is taken by a plain file: the first write fails.
    let created = try #require(ISO8601.parse("2024-01-15T14:00:29.412Z"))
    try folder.write("backup/opencti_data/" + BucketSize.hour.folderName(for: created), "not a folder")
    try Self.capture.write(toFile: folder.path + "/capture.sse", atomically: true, encoding: .utf8)
    let pipeline = try ToolPipeline(
      ("cti-stream", ["--replay", folder.path + "/capture.sse", "--state", state]),
      ("cti-backup", ["--state", state, folder.path + "/backup"]))
    let (stream, backup) = pipeline.wait(timeout: 30)
    #expect(backup.status == 74, "\(backup.stderr)")
    #expect(backup.stderr.contains("line 1") || backup.stderr.contains("opencti_data"), "\(backup.stderr)")
    #expect(try String(contentsOfFile: state, encoding: .utf8) == Self.streamStateBefore)
    #expect(stream.status == 0, "\(stream.stderr)")
    #expect(stream.stderr.contains("warning:") && stream.stderr.contains(state), "the source says its state did not advance: \(stream.stderr)")
  }
}
