import Foundation
import Logging
import Synchronization
import Testing

@testable import CTICore

/// A channel whose output is kept in memory.
final class CapturedStderr: Sendable {
  final class Buffer: Sendable {
    let bytes = Mutex<[UInt8]>([])
  }
  private let buffer: Buffer
  let channel: StderrChannel

  init() {
    let buffer = Buffer()
    self.buffer = buffer
    channel = StderrChannel { written in buffer.bytes.withLock { $0 += written } }
  }

  var text: String { String(decoding: buffer.bytes.withLock { $0 }, as: UTF8.self) }
  /// The output's lines, without the newlines.
  var lines: [String] { text.split(separator: "\n").map(String.init) }

  func diagnostics(label: String = "cti-test", strict: Bool = false) -> Diagnostics {
    let channel = channel
    return Diagnostics(
      logger: Logger(label: label, factory: { StderrLogHandler(label: $0, level: .info, format: .text, channel: channel) }),
      strict: strict)
  }
}

/// Malformed JSON, as each line of a pretty-printed document is (the offset varies, as it does
/// there, so that the lines are not identical repeats).
private func notJSON(_ line: Int = 1) -> JSONError { JSONError("unexpected character '}'", at: line - 1) }

@Suite struct StderrChannelTests {
  @Test func theProgressLineIsErasedBeforeAMessage() {
    let stderr = CapturedStderr()
    let progress = Progress(enabled: true, channel: stderr.channel)
    progress.update("cti-misp: event 1/4")
    stderr.diagnostics(label: "cti-misp").error("event 2: HTTP 404")
    #expect(stderr.text == "\r\u{1B}[Kcti-misp: event 1/4" + "\r\u{1B}[K" + "cti-misp: error: event 2: HTTP 404\n")
    // Erased once: finishing afterwards writes nothing more.
    progress.finish()
    stderr.channel.finish()
    #expect(stderr.text.hasSuffix("HTTP 404\n"))
  }

  @Test func identicalErrorsAreCountedNotRepeated() throws {
    let stderr = CapturedStderr()
    let diagnostics = stderr.diagnostics(label: "cti-push")
    for line in 1...50 {
      try diagnostics.reject(TestFailure("StixBundlePush: HTTP 502 Bad Gateway"), line: line)
    }
    diagnostics.warning("a different message")
    try diagnostics.reject(TestFailure("StixBundlePush: HTTP 502 Bad Gateway"), line: 51)
    stderr.channel.finish()
    #expect(stderr.lines == [
      "cti-push: error: line 1: StixBundlePush: HTTP 502 Bad Gateway",
      "cti-push: error: the same error 49 more times, for lines 2–50",
      "cti-push: warning: a different message",
      "cti-push: error: line 51: StixBundlePush: HTTP 502 Bad Gateway",
    ])
    #expect(diagnostics.skipped == 51)
    #expect(diagnostics.finalStatus == .partial)
  }

  @Test func aRepeatIsPrintedBeforeTheNextDifferentMessage() {
    let stderr = CapturedStderr()
    let logger = stderr.diagnostics().logger
    logger.error("platform down")
    logger.error("platform down")
    logger.info("summary")
    #expect(stderr.lines == ["cti-test: error: platform down", "cti-test: error: the same error once more", "cti-test: info: summary"])
  }

  @Test func prettyPrintedInputGetsOneHintThenACount() throws {
    let stderr = CapturedStderr()
    let diagnostics = stderr.diagnostics(label: "cti-backup")
    for line in 1...4000 { try diagnostics.reject(RecordError(line: line, "not JSON: \(notJSON(line))")) }
    stderr.channel.finish()
    let lines = stderr.lines
    #expect(lines.count == 12)
    #expect(lines[0] == "cti-backup: error: line 1: not JSON: unexpected character '}' at byte 1")
    #expect(lines[9].hasPrefix("cti-backup: error: line 10: "))
    #expect(lines[10].hasPrefix("cti-backup: warning: the first 10 lines are not JSON records: is the input pretty-printed?"))
    #expect(lines[10].contains("jq -c . FILE | cti-backup"))
    #expect(lines[11] == "cti-backup: error: lines 11–4000: 3990 more bad lines in a row, not shown (counted in the summary)")
    #expect(diagnostics.skipped == 4000)
  }

  @Test func theCountIsPrintedBeforeTheSummary() throws {
    let stderr = CapturedStderr()
    let diagnostics = stderr.diagnostics()
    for line in 1...12 { try diagnostics.reject(notJSON(line), line: line) }
    diagnostics.logger.info("12 records: 0 written, 12 bad")
    #expect(stderr.lines.suffix(2) == [
      "cti-test: error: lines 11–12: 2 more bad lines in a row, not shown (counted in the summary)",
      "cti-test: info: 12 records: 0 written, 12 bad",
    ])
  }

  @Test func badLinesLaterInTheInputAreEachReported() throws {
    let stderr = CapturedStderr()
    let diagnostics = stderr.diagnostics()
    // Line 1 was a good record: the bad lines after it do not start the input.
    for line in 2...30 { try diagnostics.reject(notJSON(line), line: line) }
    #expect(stderr.lines.count == 29)
    #expect(!stderr.text.contains("pretty-printed"))
  }

  @Test func otherRejectionsAtTheStartGetNoJSONHint() throws {
    let stderr = CapturedStderr()
    let diagnostics = stderr.diagnostics()
    for line in 1...20 { try diagnostics.reject(RecordError(line: line, "not a stream event, bundle, diode envelope or STIX object (keys: a)")) }
    #expect(!stderr.text.contains("pretty-printed"))
    // Identical, so collapsed all the same.
    stderr.channel.finish()
    #expect(stderr.lines.count == 2)
  }

  @Test func strictStillStopsAtTheFirstBadLine() {
    let stderr = CapturedStderr()
    let diagnostics = stderr.diagnostics(strict: true)
    #expect(throws: StrictStop.self) { try diagnostics.reject(notJSON(), line: 1) }
    #expect(stderr.lines == ["cti-test: error: line 1: unexpected character '}' at byte 1"])
  }

  @Test func aTerminalOnStdinIsExplained() {
    let stderr = CapturedStderr()
    let diagnostics = stderr.diagnostics(label: "cti-misp")
    diagnostics.noteTerminalInput("MISP events", isTerminal: false)
    #expect(stderr.text.isEmpty)
    diagnostics.noteTerminalInput("MISP events", isTerminal: true)
    #expect(stderr.text == "cti-misp: notice: reading MISP events from standard input (a terminal); end with Ctrl-D\n")
  }
}

struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
