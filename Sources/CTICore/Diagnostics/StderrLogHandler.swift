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

/// A swift-log handler that writes one line per message to stderr, never stdout.
public struct StderrLogHandler: LogHandler {
  public var logLevel: Logger.Level
  public var metadata: Logger.Metadata = [:]
  public let label: String
  public let format: LogFormat

  public init(label: String, level: Logger.Level, format: LogFormat) {
    self.label = label
    logLevel = level
    self.format = format
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var all = metadata
    if let extra = event.metadata { all.merge(extra) { $1 } }
    var line: [UInt8]
    switch format {
    case .text:
      var text = label + ": " + Self.levelName(event.level) + ": " + event.message.description
      for (key, value) in all.sorted(by: { $0.key < $1.key }) { text += " \(key)=\(value)" }
      line = Array(text.utf8)
    case .json:
      var object = JSONObject()
      object["time"] = .string(ISO8601.format(.now))
      object["level"] = .string(Self.levelName(event.level))
      object["tool"] = .string(label)
      object["message"] = .string(event.message.description)
      for (key, value) in all.sorted(by: { $0.key < $1.key }) { object[key] = .string("\(value)") }
      line = JSONWriter.serialize(.object(object))
    }
    line.append(0x0A)
    _ = FileSystem.writeAll(line, to: 2)
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
