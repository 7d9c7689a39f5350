package import Logging

/// The logging settings every tool reads.
package enum LogKeys {
  package static let level = Setting(env: "CONNECTOR_LOG_LEVEL", key: "connector.log_level")
  package static let format = Setting(env: "CTI_LOG_FORMAT", key: "cti.log_format")
}

/// How a tool logs on stderr: the lowest level shown and the line format.
package struct LogSettings: Sendable, Equatable {
  /// What the command line said (nil: not given).
  package struct Flags: Sendable, Equatable {
    package var level: String?
    package var format: String?
    /// `--quiet`: warnings and errors only, so no summary either.
    package var quiet: Bool

    package init(level: String? = nil, format: String? = nil, quiet: Bool = false) {
      self.level = level
      self.format = format
      self.quiet = quiet
    }
  }

  package var level = Logger.Level.info
  package var format = LogFormat.text

  package init(level: Logger.Level = .info, format: LogFormat = .text) {
    self.level = level
    self.format = format
  }

  /// `warn` and `warning` are the same level, as in pycti's connectors.
  package init(flags: Flags, configuration: Configuration) throws(ConfigError) {
    if let (text, source) = configuration.lookup(LogKeys.level, flag: flags.level) {
      guard let parsed = StderrLogHandler.parseLevel(text) else {
        throw ConfigError(
          "\(source): log level '\(text)' is not one of debug, info, warn (or warning), error",
          fromCommandLine: source == Configuration.commandLine)
      }
      level = parsed
    }
    if flags.quiet, level < .warning { level = .warning }
    format = try Self.format(flags.format, configuration)
  }

  /// The format alone: what start-up errors need before anything else is resolved.
  package static func format(_ flag: String?, _ configuration: Configuration) throws(ConfigError) -> LogFormat {
    let text = try configuration.choice(
      LogKeys.format, flag: flag, choices: LogFormat.allCases.map(\.rawValue), default: LogFormat.text.rawValue)
    return LogFormat(rawValue: text) ?? .text
  }
}
