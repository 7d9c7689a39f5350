/// The exit codes every cti tool uses (sysexits values where one fits). Documented in the README.
public enum ExitStatus: Int32, Sendable, CaseIterable {
  /// Success, also when the reader of stdout went away (EPIPE).
  case ok = 0
  /// The run finished, but some records were bad or could not be handled (counted, reported).
  case partial = 1
  /// Wrong flags or arguments.
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
  public var meaning: String {
    switch self {
    case .ok: "success (also when stdout was closed by the reader)"
    case .partial: "finished, but some records were rejected or skipped (see stderr)"
    case .usage: "wrong command-line usage"
    case .dataError: "a bad input record with --strict"
    case .noInput: "an input file or folder is missing or unreadable"
    case .unavailable: "OpenCTI or S3 unreachable, or failing after retries"
    case .software: "internal error"
    case .ioError: "writing a file or stdout failed"
    case .tempFail: "temporary failure, try again later"
    case .protocolError: "unexpected answer from the remote side"
    case .noPermission: "credentials refused (HTTP 401/403)"
    case .config: "bad or missing configuration"
    }
  }
}

/// An error that knows which exit code it stands for.
public protocol ExitCoded: Error {
  var exitStatus: ExitStatus { get }
}
