import ArgumentParser
import Logging

/// Options every tool has: config file, logging and strictness.
public struct CommonOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("Read settings from this config.yml (default: ./config.yml if present).", valueName: "file"))
  public var config: String?

  @Option(name: .long, help: ArgumentHelp("debug, info, warn or error (env CONNECTOR_LOG_LEVEL; default info).", valueName: "level"))
  public var logLevel: String?

  @Option(name: .long, help: ArgumentHelp("text or json lines on stderr (env CTI_LOG_FORMAT; default text).", valueName: "format"))
  public var logFormat: String?

  @Flag(name: .long, help: "Stop at the first bad record instead of skipping and counting it.")
  public var strict = false

  @Flag(name: [.short, .long], help: "Only print warnings and errors on stderr (no summary).")
  public var quiet = false

  @Option(name: .long, help: ArgumentHelp("The longest NDJSON line read or written, in bytes or with K/M/G (env CTI_MAX_LINE_BYTES; default 64M). Give every tool of a pipeline the same value.", valueName: "size"))
  public var maxLineBytes: String?

  public init() {}

  /// Loads the configuration (environment and config.yml) these options point at, and installs
  /// the toolkit's line limit from it.
  public func configuration() throws(ConfigError) -> Configuration {
    let configuration = try Configuration(configFile: config)
    try LineLimit.configure(configuration, flag: maxLineBytes)
    return configuration
  }

  /// Sets up logging to stderr and returns the tool's logger and diagnostics collector.
  public func diagnostics(tool: String, configuration: Configuration) throws(ConfigError) -> Diagnostics {
    let levelText = configuration.string(Setting(env: "CONNECTOR_LOG_LEVEL", key: "connector.log_level"), flag: logLevel)
    var level = Logger.Level.info
    if let levelText {
      guard let parsed = StderrLogHandler.parseLevel(levelText) else {
        throw ConfigError(
          "log level '\(levelText)' is not one of debug, info, warn, error", fromCommandLine: logLevel != nil)
      }
      level = parsed
    }
    if quiet, level < .warning { level = .warning }
    let formatText = try configuration.choice(
      Setting(env: "CTI_LOG_FORMAT", key: "cti.log_format"), flag: logFormat, choices: LogFormat.allCases.map(\.rawValue),
      default: "text")
    let format = LogFormat(rawValue: formatText) ?? .text
    let finalLevel = level
    LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: finalLevel, format: format) }
    return Diagnostics(logger: Logger(label: tool), strict: strict)
  }
}

/// The switch every source with a `--state` file has: how the state is committed when the
/// output goes down a pipe.
public struct SourceStateOptions: ParsableArguments {
  @Flag(name: .long, help: "With --state and stdout a pipe: write the state file as soon as the output is flushed, as before checkpoints, instead of leaving it to the last tool of the pipeline (which may then lose records a later stage never applied).")
  public var commitOnWrite = false

  public init() {}
}

/// Limits on what the tools read from files they do not control.
public enum InputLimitKeys {
  /// The largest diode file or backup file read (`--max-file-bytes`); default
  /// `FileSystem.defaultMaxFileBytes`.
  public static let maxFileBytes = Setting(env: "CTI_MAX_FILE_BYTES", key: "cti.max_file_bytes")
}
