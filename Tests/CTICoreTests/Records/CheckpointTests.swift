import Foundation
import Logging
import Testing

@testable import CTICore

private let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

@Suite struct RecordContractTests {
  func kind(_ text: String) throws -> RecordKind {
    try Record(Line(number: 3, bytes: Array(text.utf8))).kind
  }

  @Test func controlEventsAreRecognisedWhateverTheirData() throws {
    #expect(try kind(#"{"event":"connected","connectionId":"c1"}"#) == .controlEvent)
    #expect(try kind(#"{"id":"4-0","event":"heartbeat","data":"2024-01-15T15:16:08Z"}"#) == .controlEvent)
    #expect(try kind(#"{"id":"4-0","event":"heartbeat","data":{}}"#) == .controlEvent)
    #expect(try kind(#"{"event":"no-recover","data":"1-0"}"#) == .controlEvent)
  }

  @Test func checkpointsAreRecognisedAndNeedAState() throws {
    #expect(try kind(#"{"type":"cti-checkpoint","tool":"cti-stream","state":{"start_from":"1-0"}}"#) == .checkpoint)
    #expect(throws: RecordError.self) { try kind(#"{"type":"cti-checkpoint","tool":"cti-stream"}"#) }
  }

  @Test func aDataEventNeedsAnObject() {
    #expect(throws: RecordError(line: 3, "stream event 'create' has no data object")) {
      try kind(#"{"id":"1-0","event":"create","data":"x"}"#)
    }
  }

  @Test func bothStreamEventFormsGiveTheSameObject() throws {
    let object = #"{"id":"indicator--c2ec1f5e-0000-4000-8000-000000000001","type":"indicator"}"#
    let flat = try StreamEvent(RawObject(Array(#"{"id":"1-0","event":"update","data":\#(object),"context":{"patch":[]}}"#.utf8)))
    let nested = try StreamEvent(
      RawObject(Array(#"{"id":"1-0","event":"update","data":{"version":"4","data":\#(object),"context":{"patch":[]}}}"#.utf8)))
    for event in [flat, nested] {
      #expect(event.name == "update")
      #expect(event.eventID == "1-0")
      #expect(String(decoding: event.data.bytes, as: UTF8.self) == object)
      #expect(event.context?.arrayElements("patch") == [])
    }
  }
}

@Suite struct LineLimitTests {
  @Test func sizesReadWithOrWithoutAUnit() {
    #expect(LineLimit.parse("67108864") == 64 << 20)
    #expect(LineLimit.parse("64M") == 64 << 20)
    #expect(LineLimit.parse("64 MiB") == 64 << 20)
    #expect(LineLimit.parse("2g") == 2 << 30)
    #expect(LineLimit.parse("10k") == 10 << 10)
    #expect(LineLimit.parse("-1") == nil)
    #expect(LineLimit.parse("64X") == nil)
    #expect(LineLimit.parse("99999999999999999999G") == nil)
  }

  @Test func aBadValueOnTheCommandLineIsAUsageError() {
    let configuration = Configuration(environment: ["CTI_MAX_LINE_BYTES": "lots"])
    #expect(throws: ConfigError.self) { try LineLimit.configure(configuration, flag: nil) }
    do {
      try LineLimit.configure(Configuration(environment: [:]), flag: "12")
      Issue.record("accepted 12 bytes")
    } catch {
      #expect(error.exitStatus == .usage)
    }
    do {
      try LineLimit.configure(configuration, flag: nil)
    } catch {
      #expect(error.exitStatus == .config)
    }
  }

  @Test func aWriterRefusesARecordOverItsLimitAndGoesOn() throws {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    defer { close(fds[0]) }
    let writer = RecordWriter(descriptor: fds[1], maxRecordBytes: 8)
    #expect(throws: OutputError.tooLarge(size: 9, limit: 8)) { try writer.writeRecord(Array("123456789".utf8)) }
    try writer.writeRecord(Array("12345678".utf8))
    close(fds[1])
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = read(fds[0], &buffer, 64)
    #expect(String(decoding: buffer[..<count], as: UTF8.self) == "12345678\n")
    #expect(OutputError.tooLarge(size: 9, limit: 8).isWriteFailure == false)
  }
}

/// Collects what a reader hands over of an over-long line.
private final class CollectingSink: OverlongLineSink {
  var lines: [(Int, [UInt8])] = []
  func beginOverlongLine(_ number: Int) { lines.append((number, [])) }
  func overlongLineBytes(_ bytes: UnsafeRawBufferPointer) { lines[lines.count - 1].1.append(contentsOf: bytes) }
  func endOverlongLine() {}
}

@Suite struct LineReaderHookTests {
  @Test func anOverlongLineIsHandedOverWholeInPieces() throws {
    let long = String(repeating: "y", count: 5000)
    let path = try temporaryFile(Array("a\n\(long)\nb\n\(long)z".utf8))
    defer { unlink(path) }
    let reader = try LineReader(path: path, maxLineBytes: 100)
    let sink = CollectingSink()
    reader.overlongLines = sink
    var got: [String] = []
    while true {
      do {
        guard let line = try reader.next() else { break }
        got.append(String(decoding: line.bytes, as: UTF8.self))
      } catch LineReaderError.lineTooLong {
        got.append("<too long>")
      }
    }
    #expect(got == ["a", "<too long>", "b", "<too long>"])
    #expect(sink.lines.map(\.0) == [2, 4])
    #expect(sink.lines.map { String(decoding: $0.1, as: UTF8.self) } == [long, long + "z"])
  }

  @Test func theIdleHookRunsWhileNoInputComes() throws {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    let reader = LineReader(descriptor: fds[0], name: "pipe", owns: true, maxLineBytes: 1024)
    reader.idleInterval = 0.25
    let writer = fds[1]
    var idleCalls = 0
    reader.idle = {
      idleCalls += 1
      if idleCalls == 2 {
        _ = "late\n".withCString { write(writer, $0, 5) }
        close(writer)
      }
    }
    let line = try reader.next()
    #expect(line.map { String(decoding: $0.bytes, as: UTF8.self) } == "late")
    #expect(idleCalls == 2)
    #expect(try reader.next() == nil)
    #expect(!reader.stoppedBySignal)
  }
}

@Suite(.serialized) struct SourceStateTests {
  func folder() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("cti-state-" + UUID().uuidString).path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  @Test func aStateFileInAMissingFolderIsRefusedBeforeAnyWork() throws {
    let writer = RecordWriter(descriptor: 2)
    #expect(throws: StatePathError.self) {
      try SourceState(path: "/nonexistent-cti/state.json", tool: "t", output: writer)
    }
    #expect(StatePathError(path: "a", folder: "b").exitStatus == .noInput)
  }

  @Test func intoAFileTheSourceWritesItsStateAfterFlushing() throws {
    let dir = try folder()
    let output = open(dir + "/out", O_WRONLY | O_CREAT, 0o644)
    defer { close(output) }
    let writer = RecordWriter(descriptor: output, flushEachRecord: false)
    let state = try SourceState(path: dir + "/s.json", tool: "t", output: writer, outputDescriptor: output)
    #expect(state.mode == .direct)
    try writer.writeRecord(Array("{\"a\":1}".utf8))
    try state.commit(Array("{\"n\":1}".utf8))
    #expect(try FileSystem.read(dir + "/out") == Array("{\"a\":1}\n".utf8), "the record is out before the state")
    #expect(try FileSystem.read(dir + "/s.json") == Array("{\"n\":1}\n".utf8))
  }

  @Test func intoAPipeTheStateTravelsAsACheckpointUntilTheSinkCommitsIt() throws {
    let dir = try folder()
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    defer { close(fds[0]) }
    let writer = RecordWriter(descriptor: fds[1])
    let state = try SourceState(path: dir + "/s.json", tool: "cti-test", output: writer, outputDescriptor: fds[1])
    #expect(state.mode == .downstream)
    try state.commit(Array("{\"n\":1}".utf8))
    try state.commit(Array("{\"n\":1}".utf8))
    try state.commit(Array("{\"n\":2}".utf8))
    #expect(state.sent == 2, "an unchanged state is not sent twice")
    #expect(!FileManager.default.fileExists(atPath: dir + "/s.json"), "the source never writes the file itself")
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = read(fds[0], &buffer, 4096)
    let lines = buffer[..<count].split(separator: 0x0A).map { Array($0) }
    #expect(lines.count == 2)
    let record = try Record(Line(number: 1, bytes: lines[0]))
    #expect(record.kind == .checkpoint)
    #expect(record.object.string("tool") == "cti-test")

    // The sink commits the first checkpoint: the source sees it, then the second.
    let sink = try CheckpointCommitter.forTest(dir + "/s.json")
    sink.receive(record, position: 0)
    try sink.commit(appliedThrough: 0)
    #expect(state.checkCommitted() == 1)
    sink.receive(try Record(Line(number: 2, bytes: lines[1])), position: 0)
    try sink.commit(appliedThrough: 0)
    #expect(state.checkCommitted() == 2)
    #expect(try FileSystem.read(dir + "/s.json") == Array("{\"n\":2}\n".utf8))
    state.finish(logger: quietLogger, wait: 0)
  }
}

extension CheckpointCommitter {
  static func forTest(_ path: String) throws -> CheckpointCommitter {
    try CheckpointCommitter(path: path, diagnostics: Diagnostics(logger: quietLogger))
  }
}

@Suite struct CheckpointCommitterTests {
  func checkpoint(_ n: Int) throws -> Record {
    try Record(Line(number: n, bytes: Array(#"{"type":"cti-checkpoint","tool":"t","state":{"n":\#(n)}}"#.utf8)))
  }

  @Test func theNewestCheckpointWhoseRecordsAreAppliedIsCommitted() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("cti-commit-" + UUID().uuidString).path
    defer { unlink(path) }
    let committer = try CheckpointCommitter.forTest(path)
    committer.receive(try checkpoint(1), position: 3)
    committer.receive(try checkpoint(2), position: 5)
    try committer.commit(appliedThrough: 2)
    #expect(!FileManager.default.fileExists(atPath: path), "records before the first checkpoint are not applied yet")
    try committer.commit(appliedThrough: 4)
    #expect(try FileSystem.read(path) == Array("{\"n\":1}\n".utf8))
    try committer.commit(appliedThrough: 9)
    #expect(try FileSystem.read(path) == Array("{\"n\":2}\n".utf8))
    #expect(committer.committed == 2)
  }

  @Test func onceBlockedNothingMoreIsCommitted() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("cti-commit-" + UUID().uuidString).path
    defer { unlink(path) }
    let committer = try CheckpointCommitter.forTest(path)
    committer.receive(try checkpoint(1), position: 1)
    committer.block("the platform failed")
    committer.receive(try checkpoint(2), position: 1)
    try committer.commit(appliedThrough: 10)
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(committer.summary == "0 of 2 checkpoints committed (stopped: the platform failed)")
  }
}
