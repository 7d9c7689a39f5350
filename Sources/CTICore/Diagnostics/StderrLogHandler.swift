package import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How log lines look on stderr.
package enum LogFormat: String, Sendable, CaseIterable {
  /// `cti-backup: warning: line 3: not JSON` — for people and `grep`.
  case text
  /// One JSON object per line — for log shippers in containers.
  case json
}

/// A swift-log handler that writes one line per message to stderr, never stdout, through a
/// `StderrChannel` (which erases the progress line first and collapses repeats).
package struct StderrLogHandler: LogHandler {
  package var logLevel: Logger.Level
  package var metadata: Logger.Metadata = [:]
  package let label: String
  package let format: LogFormat
  package let channel: StderrChannel

  /// Metadata key `Diagnostics` sets on a bad line it holds back: the channel counts the line
  /// instead of printing it.
  package static let heldBadLineKey = "cti-held-bad-line"

  package init(label: String, level: Logger.Level, format: LogFormat, channel: StderrChannel = .standard) {
    self.label = label
    logLevel = level
    self.format = format
    self.channel = channel
  }

  package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  package func log(event: LogEvent) {
    var all = metadata
    if let extra = event.metadata { all.merge(extra) { $1 } }
    let badLine = all.removeValue(forKey: Self.heldBadLineKey) != nil
    channel.message(
      label: label, level: event.level, format: format, text: event.message.description,
      metadata: all.sorted(by: { $0.key < $1.key }).map { ($0.key, Self.json($0.value)) }, badLine: badLine)
  }

  /// A metadata value as JSON: whole numbers, finite doubles and booleans keep their type (a
  /// run summary's counts are numbers in JSON lines), anything else is its text.
  static func json(_ value: Logger.MetadataValue) -> JSONValue {
    switch value {
    case .string(let text): return .string(text)
    case .stringConvertible(let convertible):
      if let number = convertible as? Int { return .int(number) }
      if let number = convertible as? Double, number.isFinite { return .number(String(number)) }
      if let flag = convertible as? Bool { return .bool(flag) }
      return .string(convertible.description)
    case .array(let values): return .array(values.map(json))
    case .dictionary(let values):
      var object = JSONObject()
      for (key, value) in values.sorted(by: { $0.key < $1.key }) { object[key] = json(value) }
      return .object(object)
    }
  }

  /// A metadata value as the text format shows it.
  static func text(_ value: JSONValue) -> String {
    switch value {
    case .string(let text): text
    case .number(let text): text
    default: String(decoding: JSONWriter.serialize(value), as: UTF8.self)
    }
  }

  /// One message as a line (newline included) in `format`. Metadata keys come after the
  /// message; in JSON they cannot replace `time`, `level`, `tool` or `message`.
  static func render(
    label: String, level: Logger.Level, format: LogFormat, message: String, metadata: [(String, JSONValue)]
  ) -> [UInt8] {
    var line: [UInt8]
    switch format {
    case .text:
      var text = label + ": " + Self.levelName(level) + ": " + message
      for (key, value) in metadata { text += " \(key)=\(Self.text(value))" }
      line = Array(text.utf8)
    case .json:
      var object = JSONObject()
      object["time"] = .string(ISO8601.format(.now))
      object["level"] = .string(Self.levelName(level))
      object["tool"] = .string(label)
      object["message"] = .string(message)
      for (key, value) in metadata where object[key] == nil { object[key] = value }
      line = JSONWriter.serialize(.object(object))
    }
    line.append(0x0A)
    return line
  }

  /// A line written without a logger: what a tool prints when it fails before logging is set
  /// up (a bad flag, an unreadable config.yml), in the format the run asked for.
  package static func startupLine(tool: String, level: Logger.Level = .error, format: LogFormat, message: String, metadata: Logger.Metadata = [:]) -> [UInt8] {
    render(
      label: tool, level: level, format: format, message: message,
      metadata: metadata.sorted(by: { $0.key < $1.key }).map { ($0.key, json($0.value)) })
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
  package static func parseLevel(_ text: String) -> Logger.Level? {
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
