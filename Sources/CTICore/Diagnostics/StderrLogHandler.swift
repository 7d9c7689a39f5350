import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How log lines look on stderr.
public enum LogFormat: String, Sendable, CaseIterable {
  /// `cti-backup: warning: line 3: not JSON` — for people and `grep`.
  case text
  /// One JSON object per line — for log shippers in containers.
  case json
}

/// A swift-log handler that writes one line per message to stderr, never stdout, through a
/// `StderrChannel` (which erases the progress line first and collapses repeats).
public struct StderrLogHandler: LogHandler {
  public var logLevel: Logger.Level
  public var metadata: Logger.Metadata = [:]
  public let label: String
  public let format: LogFormat
  public let channel: StderrChannel

  /// Metadata key `Diagnostics` sets on a bad line it holds back: the channel counts the line
  /// instead of printing it.
  public static let heldBadLineKey = "cti-held-bad-line"

  public init(label: String, level: Logger.Level, format: LogFormat, channel: StderrChannel = .standard) {
    self.label = label
    logLevel = level
    self.format = format
    self.channel = channel
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var all = metadata
    if let extra = event.metadata { all.merge(extra) { $1 } }
    let badLine = all.removeValue(forKey: Self.heldBadLineKey) != nil
    channel.message(
      label: label, level: event.level, format: format, text: event.message.description,
      metadata: all.sorted(by: { $0.key < $1.key }).map { ($0.key, "\($0.value)") }, badLine: badLine)
  }

  /// One message as a line (newline included) in `format`.
  static func render(
    label: String, level: Logger.Level, format: LogFormat, message: String, metadata: [(String, String)]
  ) -> [UInt8] {
    var line: [UInt8]
    switch format {
    case .text:
      var text = label + ": " + Self.levelName(level) + ": " + message
      for (key, value) in metadata { text += " \(key)=\(value)" }
      line = Array(text.utf8)
    case .json:
      var object = JSONObject()
      object["time"] = .string(ISO8601.format(.now))
      object["level"] = .string(Self.levelName(level))
      object["tool"] = .string(label)
      object["message"] = .string(message)
      for (key, value) in metadata { object[key] = .string(value) }
      line = JSONWriter.serialize(.object(object))
    }
    line.append(0x0A)
    return line
  }

  static func levelName(_ level: Logger.Level) -> String {
    switch level {
    case .trace: "trace"
    case .debug: "debug"
    case .info: "info"
    case .notice: "notice"
    case .warning: "warning"
    case .error: "error"
    case .critical: "critical"
    }
  }

  /// Reads a level as the connectors spell it (`debug`, `info`, `warn`/`warning`, `error`).
  public static func parseLevel(_ text: String) -> Logger.Level? {
    switch text.trimmingSpaces.lowercased() {
    case "trace": .trace
    case "debug": .debug
    case "info": .info
    case "notice": .notice
    case "warn", "warning": .warning
    case "error": .error
    case "critical", "fatal": .critical
    default: nil
    }
  }
}
