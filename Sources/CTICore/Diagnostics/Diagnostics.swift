#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
package import Logging

/// Collects what went wrong with individual records while a tool runs: each problem is logged
/// at once (with its input line number) and counted, so the summary and the exit status can say
/// that something was skipped. With `strict`, the first bad record stops the run.
///
/// When the input starts with `malformedStartLimit` lines in a row that are not JSON records
/// (pretty-printed JSON, usually), one hint says how to fix it and further bad lines in that run
/// are counted by the log channel instead of printed one by one. They are still counted here,
/// so the summary and the exit status are unchanged.
package final class Diagnostics {
  package let logger: Logger
  package let strict: Bool
  /// Bad records skipped, by reason (the first words of the message).
  package private(set) var skipped = 0
  package private(set) var warnings = 0
  package private(set) var errors = 0
  /// The lines 1…n, all malformed so far (nil once a line broke the run).
  private var malformedStart: Int? = 0

  /// Malformed lines at the start of the input after which the hint is printed.
  package static let malformedStartLimit = 10

  package init(logger: Logger, strict: Bool = false) {
    self.logger = logger
    self.strict = strict
  }

  /// Reports a record that cannot be used. It is counted and skipped; in strict mode it is
  /// thrown, which ends the run with the error's exit code.
  package func reject(_ error: any Error, line: Int? = nil) throws {
    let text = line.map { "line \($0): " } ?? ""
    let message = "\(error)"
    let full = message.hasPrefix("line ") ? message : text + message
    skipped += 1
    errors += 1
    let streak = strict ? 0 : malformedStreak(error, line: line ?? StderrChannel.splitLineNumber(message).0)
    if streak > Self.malformedStartLimit {
      logger.error("\(full)", metadata: [StderrLogHandler.heldBadLineKey: "true"])
    } else {
      logger.error("\(full)")
    }
    if streak == Self.malformedStartLimit {
      let hint =
        "the first \(streak) lines are not JSON records: is the input pretty-printed? Each record must be on "
        + "one line; jq -c makes it so (jq -c . FILE | \(logger.label)). Further bad lines in a row are "
        + "counted, not shown"
      logger.warning("\(hint)")
    }
    if strict { throw StrictStop(underlying: error) }
  }

  /// How many lines from the first one are malformed, this one included; 0 once a line that is
  /// not malformed, or a gap in the numbering, has broken the run.
  private func malformedStreak(_ error: any Error, line: Int?) -> Int {
    guard let streak = malformedStart else { return 0 }
    guard let line, line == streak + 1, Self.isMalformedLine(error) else {
      malformedStart = nil
      return 0
    }
    malformedStart = line
    return line
  }

  /// Whether `error` says a line is not a JSON object at all (as each line of pretty-printed
  /// JSON is), rather than a record the tool could not use.
  static func isMalformedLine(_ error: any Error) -> Bool {
    if error is JSONError { return true }
    if let error = error as? RecordError {
      return error.message.hasPrefix("not JSON") || error.message.hasPrefix("not a JSON object")
    }
    return false
  }

  /// Says what the tool expects on standard input when that is a terminal, where it would
  /// otherwise wait in silence for input that a newcomer does not know to type.
  package func noteTerminalInput(_ what: String, isTerminal: Bool = isatty(0) == 1) {
    guard isTerminal else { return }
    logger.notice("reading \(what) from standard input (a terminal); end with Ctrl-D")
  }

  package func warning(_ message: String, line: Int? = nil) {
    warnings += 1
    logger.warning("\(line.map { "line \($0): " } ?? "")\(message)")
  }

  package func error(_ message: String, line: Int? = nil) {
    errors += 1
    logger.error("\(line.map { "line \($0): " } ?? "")\(message)")
  }

  /// The exit status the run ends with when nothing fatal happened.
  package var finalStatus: ExitStatus { errors > 0 ? .partial : .ok }
}

/// The first bad record under `--strict`.
package struct StrictStop: ToolError {
  package var underlying: any Error
  package var exitStatus: ExitStatus { .dataError }
  package var description: String { "stopped at the first bad record (--strict): \(underlying)" }
}
