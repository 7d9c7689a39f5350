import Foundation
import Logging
import Testing

@testable import CTICore

/// A file with the given bytes, removed afterwards.
func temporaryFile(_ bytes: [UInt8]) throws -> String {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("cti-unit-" + UUID().uuidString).path
  try Data(bytes).write(to: URL(fileURLWithPath: path))
  return path
}

@Suite struct LineReaderTests {
  func lines(_ text: String, max: Int = LineReader.defaultMaxLineBytes) throws -> [(Int, String)] {
    let path = try temporaryFile(Array(text.utf8))
    defer { unlink(path) }
    let reader = try LineReader(path: path, maxLineBytes: max)
    var result: [(Int, String)] = []
    while true {
      do {
        guard let line = try reader.next() else { break }
        result.append((line.number, String(decoding: line.bytes, as: UTF8.self)))
      } catch LineReaderError.lineTooLong(let number, _) {
        result.append((number, "<too long>"))
      }
    }
    return result
  }

  @Test func splitsOnLFAndCRLFSkipsBlankLinesAndKeepsNumbers() throws {
    let got = try lines("a\r\n\nb\n\r\n  c\u{2028}d\nlast")
    #expect(got.map(\.0) == [1, 3, 5, 6])
    #expect(got.map(\.1) == ["a", "b", "  c\u{2028}d", "last"])
  }

  @Test func reportsOverlongLinesAndGoesOn() throws {
    let long = String(repeating: "x", count: 100)
    let got = try lines("ok\n\(long)\nafter\n\(long)", max: 50)
    #expect(got.map(\.1) == ["ok", "<too long>", "after", "<too long>"])
    #expect(got.map(\.0) == [1, 2, 3, 4])
  }

  /// Found by the lines fuzzer: a line of exactly the limit whose CR was the last byte read was
  /// counted one byte too long.
  @Test func aLineOfTheLimitWithItsCRIsNotTooLong() throws {
    #expect(try lines("*\r\n" + String(repeating: "~", count: 32) + "\r", max: 32).map(\.1) == ["*", String(repeating: "~", count: 32)])
    #expect(try lines("abcd\r", max: 4).map(\.1) == ["abcd"])
    #expect(try lines("abcd\rx", max: 4).map(\.1) == ["<too long>"])
    #expect(try lines("abcde", max: 4).map(\.1) == ["<too long>"])
  }

  @Test func overlongLinesAreReportedThroughDiagnosticsAndSkipped() throws {
    let path = try temporaryFile(Array(("a\n" + String(repeating: "x", count: 100) + "\nb\n").utf8))
    defer { unlink(path) }
    let diagnostics = Diagnostics(logger: Logger(label: "test"))
    let reader = try LineReader(path: path, maxLineBytes: 50)
    var got: [String] = []
    while let line = try reader.next(reportingTo: diagnostics) { got.append(String(decoding: line.bytes, as: UTF8.self)) }
    #expect(got == ["a", "b"])
    #expect(diagnostics.skipped == 1)
    let strict = try LineReader(path: path, maxLineBytes: 50)
    let stopping = Diagnostics(logger: Logger(label: "test"), strict: true)
    _ = try strict.next(reportingTo: stopping)
    #expect(throws: StrictStop.self) { try strict.next(reportingTo: stopping) }
  }

  @Test func readsLinesLargerThanItsBuffer() throws {
    let big = String(repeating: "y", count: 3 << 20)
    let got = try lines("\(big)\nz\n")
    #expect(got.count == 2)
    #expect(got[0].1.count == 3 << 20)
    #expect(got[1].1 == "z")
  }

  @Test func linesSplitAcrossPipeReadsComeBackWhole() throws {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    let expected = (0..<500).map { "line \($0) " + String(repeating: "z", count: $0 % 97) }
    let text = Array((expected.joined(separator: "\n") + "\n").utf8)
    let writerEnd = fds[1]
    let feeder = Thread {
      var offset = 0
      while offset < text.count {
        let chunk = min(7 + offset % 13, text.count - offset)
        _ = text.withUnsafeBytes { write(writerEnd, $0.baseAddress! + offset, chunk) }
        offset += chunk
      }
      close(writerEnd)
    }
    feeder.start()
    let reader = LineReader(descriptor: fds[0], name: "pipe", owns: true, maxLineBytes: 1 << 20)
    var got: [String] = []
    while let line = try reader.next() { got.append(String(decoding: line.bytes, as: UTF8.self)) }
    #expect(got == expected)
  }

  @Test func keepsInvalidUTF8BytesUntouched() throws {
    let path = try temporaryFile([0x61, 0xFF, 0xFE, 0x0A])
    defer { unlink(path) }
    let line = try #require(try LineReader(path: path).next())
    #expect(line.bytes == [0x61, 0xFF, 0xFE])
  }

  @Test func missingFileIsNoInput() {
    #expect(throws: LineReaderError.self) { try LineReader(path: "/nonexistent/cti") }
  }
}

@Suite struct RecordWriterTests {
  @Test func writesLinesAndCountsThem() throws {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    let writer = RecordWriter(descriptor: fds[1])
    try writer.writeRecord(Array("{}".utf8))
    try writer.writeRecord(Array("[1]".utf8))
    close(fds[1])
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = read(fds[0], &buffer, 64)
    close(fds[0])
    #expect(String(decoding: buffer[..<count], as: UTF8.self) == "{}\n[1]\n")
    #expect(writer.recordCount == 2)
    #expect(writer.byteCount == 7)
  }

  /// Everything read from a pipe until it closes, on a thread of its own.
  final class PipeDrain: @unchecked Sendable {
    private(set) var received: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)

    init(_ descriptor: Int32) {
      Thread { [self] in
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while case let count = read(descriptor, &buffer, buffer.count), count > 0 { received += buffer[..<count] }
        done.signal()
      }.start()
    }

    func wait() -> [UInt8] {
      done.wait()
      return received
    }
  }

  @Test func bigRecordsGoOutWholeAndInOrder() throws {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    // Drained as it is written: 200 KB is more than a pipe holds.
    let drain = PipeDrain(fds[0])
    let big = [UInt8](repeating: UInt8(ascii: "x"), count: 200_000)
    let writer = RecordWriter(descriptor: fds[1], flushEachRecord: false)
    try writer.writeRecord(Array("{}".utf8))
    try writer.writeRecord(big)
    try writer.writeRecord(Array("[1]".utf8))
    try writer.flush()
    close(fds[1])
    let received = drain.wait()
    close(fds[0])
    #expect(received == Array("{}\n".utf8) + big + Array("\n[1]\n".utf8))
    #expect(writer.recordCount == 3)
    #expect(writer.byteCount == received.count)
  }

  @Test func aBigRecordToAClosedReaderFailsForGood() throws {
    _ = signal(SIGPIPE, SIG_IGN)
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    close(fds[0])
    let writer = RecordWriter(descriptor: fds[1])
    #expect(throws: OutputError.closed) { try writer.writeRecord([UInt8](repeating: 0x20, count: 100_000)) }
    #expect(throws: OutputError.closed) { try writer.writeRecord(Array("{}".utf8)) }
    #expect(writer.recordCount == 0)
    close(fds[1])
  }

  @Test func closedReaderIsReportedAsClosed() throws {
    _ = signal(SIGPIPE, SIG_IGN)
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    close(fds[0])
    let writer = RecordWriter(descriptor: fds[1])
    #expect(throws: OutputError.closed) { try writer.writeRecord(Array("{}".utf8)) }
    // Later flushes keep failing: nothing unwritten is ever reported as delivered.
    #expect(throws: OutputError.closed) { try writer.flush() }
    #expect(writer.byteCount == 0)
    close(fds[1])
    #expect(OutputError.closed.exitStatus == .ok)
  }
}

@Suite struct RecordKindTests {
  func kind(_ text: String) throws -> RecordKind {
    try Record(Line(number: 7, bytes: Array(text.utf8))).kind
  }

  @Test func recognisesTheFourKinds() throws {
    #expect(try kind(#"{"id":"1-0","event":"create","data":{"id":"x--1"}}"#) == .streamEvent)
    #expect(try kind(#"{"type":"bundle","id":"bundle--1","objects":[]}"#) == .bundle)
    #expect(try kind(#"{"connector":{"id":"c"},"applicant_id":null,"bundle":{"type":"bundle","objects":[]}}"#) == .diodeEnvelope)
    #expect(try kind(#"{"type":"indicator","id":"indicator--c2ec1f5e-0000-4000-8000-000000000001"}"#) == .stixObject)
  }

  @Test func rejectsOtherLinesNamingTheLine() {
    #expect(throws: RecordError.self) { try kind("[1,2]") }
    #expect(throws: RecordError.self) { try kind(#"{"type":"indicator","id":"bad"}"#) }
    #expect(throws: RecordError.self) { try kind(#"{"event":"create"}"#) }
    do {
      _ = try kind("{oops")
      Issue.record("accepted broken JSON")
    } catch let error as RecordError {
      #expect(error.line == 7)
      #expect(error.description.hasPrefix("line 7: not JSON"))
    } catch {
      Issue.record("unexpected \(error)")
    }
  }
}
