import Logging

/// Collects what went wrong with individual records while a tool runs: each problem is logged
/// at once (with its input line number) and counted, so the summary and the exit status can say
/// that something was skipped. With `strict`, the first bad record stops the run.
public final class Diagnostics {
  public let logger: Logger
  public let strict: Bool
  /// Bad records skipped, by reason (the first words of the message).
  public private(set) var skipped = 0
  public private(set) var warnings = 0
  public private(set) var errors = 0

  public init(logger: Logger, strict: Bool = false) {
    self.logger = logger
    self.strict = strict
  }

  /// Reports a record that cannot be used. It is counted and skipped; in strict mode it is
  /// thrown, which ends the run with the error's exit code.
  public func reject(_ error: any Error, line: Int? = nil) throws {
    let text = line.map { "line \($0): " } ?? ""
    let message = "\(error)"
    logger.error("\(message.hasPrefix("line ") ? message : text + message)")
    skipped += 1
    errors += 1
    if strict { throw StrictStop(underlying: error) }
  }

  public func warning(_ message: String, line: Int? = nil) {
    warnings += 1
    logger.warning("\(line.map { "line \($0): " } ?? "")\(message)")
  }

  public func error(_ message: String, line: Int? = nil) {
    errors += 1
    logger.error("\(line.map { "line \($0): " } ?? "")\(message)")
  }

  /// The exit status the run ends with when nothing fatal happened.
  public var finalStatus: ExitStatus { errors > 0 ? .partial : .ok }
}

/// The first bad record under `--strict`.
public struct StrictStop: Error, ExitCoded, CustomStringConvertible {
  public var underlying: any Error
  public var exitStatus: ExitStatus { .dataError }
  public var description: String { "stopped at the first bad record (--strict): \(underlying)" }
}
