package import Foundation

/// The exit codes every cti tool uses (sysexits values where one fits). This table is the one
/// source of the codes' meanings: every --help, man page and the README render `table`.
package enum ExitStatus: Int32, Sendable, CaseIterable {
  /// Success, also when the reader of stdout went away (EPIPE) or a signal stopped the run.
  case ok = 0
  /// The run finished, but some records were bad or could not be handled (counted, reported).
  case partial = 1
  /// Wrong flags or arguments, bad option values included.
  case usage = 64
  /// A bad record in `--strict` mode.
  case dataError = 65
  /// An input file or folder does not exist or cannot be read.
  case noInput = 66
  /// A remote service (OpenCTI, S3) could not be reached or kept failing.
  case unavailable = 69
  /// A bug: something that should not happen.
  case software = 70
  /// Writing a local file or stdout failed.
  case ioError = 74
  /// A temporary failure: running again later may succeed.
  case tempFail = 75
  /// The remote side answered something the protocol does not allow.
  case protocolError = 76
  /// The remote side refused the credentials (401/403).
  case noPermission = 77
  /// The configuration is wrong or incomplete.
  case config = 78

  /// What the code means, for help texts and the README.
  package var meaning: String {
    switch self {
    case .ok: "success (also: stdout closed by its reader, or stopped by a signal)"
    case .partial: "finished, but some records were rejected or skipped (see stderr)"
    case .usage: "wrong command-line usage, a bad option value included"
    case .dataError: "a bad input record with --strict"
    case .noInput: "an input file or folder is missing or unreadable"
    case .unavailable: "OpenCTI, S3 or the broker unreachable, or failing after retries"
    case .software: "internal error (a bug: please report it)"
    case .ioError: "writing a file or stdout failed"
    case .tempFail: "a request timed out or stalled; try again later"
    case .protocolError: "unexpected answer from the remote side, or OpenCTI before 6.3"
    case .noPermission: "credentials refused (HTTP 401/403)"
    case .config: "bad or missing configuration (environment or config.yml)"
    }
  }

  /// The table of codes, one per line, as help texts and the README show it.
  package static var table: String {
    allCases.map { status in
      let code = String(status.rawValue)
      return "  " + code + String(repeating: " ", count: 4 - code.count) + status.meaning
    }.joined(separator: "\n")
  }

  /// The table as the README shows it (between `<!-- exit-codes:begin -->` and
  /// `<!-- exit-codes:end -->`, checked by a test).
  package static var markdownTable: String {
    (["| code | meaning |", "|---|---|"] + allCases.map { "| \($0.rawValue) | \($0.meaning) |" }).joined(separator: "\n")
  }

  /// `--help`'s closing paragraph.
  package static var helpSection: String { "Exit status:\n" + table }
}

/// What every error of the toolkit is: one message and one exit status. The message is the
/// `description` (what `"\(error)"` prints on stderr and in reject files), and it is also the
/// `LocalizedError` text, so `localizedDescription` says the same thing. A tool that ends on
/// such an error prints the message and exits with `exitStatus`.
package protocol ToolError: LocalizedError, CustomStringConvertible {
  var exitStatus: ExitStatus { get }
}

extension ToolError {
  package var errorDescription: String? { description }
}
