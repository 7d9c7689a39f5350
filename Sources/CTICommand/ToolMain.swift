package import ArgumentParser
package import CTICore
import Foundation
import Logging
import Synchronization

/// A tool's root command. Its `main()` is the toolkit's one entry point: SIGPIPE ignored (a
/// closed stdout shows up as EPIPE), SIGINT/SIGTERM turned into a request to stop
/// (`StopSignals`), older spellings rewritten (`legacyBooleans`), then ArgumentParser's parse;
/// a bad flag is reported as a JSON line with `--log-format json`.
package protocol Tool: ParsableCommand {
  /// Options that took `true`/`false` as a value and are now `--[no-]` flags.
  static var legacyBooleans: [LegacyBoolean] { get }
}

extension Tool {
  package static var legacyBooleans: [LegacyBoolean] { [] }

  package static func main() {
    ToolMain.main(Self.self, arguments: Array(CommandLine.arguments.dropFirst()))
  }
}

/// A command that does a tool's work, in three steps: the flags (this type), the settings they
/// resolve to with the environment and config.yml (`settings`, pure and unit-tested in
/// CTICore), and the run (`run`). The entry point does the rest: logging, `--print-config`,
/// the settings' warnings, the summary, exit codes.
package protocol ToolCommand: ParsableCommand {
  associatedtype Settings: ToolSettings
  var common: CommonOptions { get }
  /// Resolves every setting: flag, then environment, then config.yml, then the default.
  func settings(_ configuration: Configuration) throws -> Settings
  /// Does the work and returns the exit status (`diagnostics.finalStatus` when nothing failed).
  func run(_ settings: Settings, _ tool: ToolContext) throws -> ExitStatus
}

extension ToolCommand {
  package func run() throws {
    ToolMain.run(self)
  }
}

/// What a run gets from the entry point, and where it leaves its summary.
package final class ToolContext {
  /// `cti-backup`, also in `cti-backup restore`: the label of every log line.
  package let name: String
  package let configuration: Configuration
  package let diagnostics: Diagnostics
  package let logFormat: LogFormat
  private var summary: (() -> RunSummary?)?
  private var summaryAlsoOnFailure = false

  init(name: String, configuration: Configuration, diagnostics: Diagnostics, logFormat: LogFormat) {
    self.name = name
    self.configuration = configuration
    self.diagnostics = diagnostics
    self.logFormat = logFormat
  }

  /// Sets the summary told when the run ends (`alsoOnFailure`: also when it throws, before the
  /// error). The entry point logs it at its level (so `--quiet` leaves it out), with its counts
  /// as fields in JSON lines. A run that ended before it had anything to tell gives nil.
  package func summarize(alsoOnFailure: Bool = false, _ summary: @escaping () -> RunSummary?) {
    self.summary = summary
    summaryAlsoOnFailure = alsoOnFailure
  }

  func tellSummary(failed: Bool) {
    guard let summary, !failed || summaryAlsoOnFailure, let told = summary() else { return }
    diagnostics.logger.log(level: told.level, "\(told.text)", metadata: logFormat == .json ? told.metadata : nil)
  }
}

/// The entry point's work: process setup, parsing, and turning what a run throws into the
/// documented exit codes. A closed stdout is a clean exit; `ToolError`s print their
/// message and exit with their code; malformed JSON that reached the top (a state file) exits
/// 65; anything else is a bug: exit 70 with its message.
package enum ToolMain {
  private static let toolName = Mutex<String?>(nil)

  /// Parses `arguments` for `root` and runs the command they name; never returns.
  package static func main(_ root: any ParsableCommand.Type, arguments: [String]) -> Never {
    ProcessSetup.ignoreBrokenPipe()
    ProcessSetup.installStopHandlers()
    toolName.withLock { $0 = root.configuration.commandName }
    if arguments.count == 1, ["-h", "--help", "help"].contains(arguments[0]),
      let defaultCommand = root.configuration.defaultSubcommand
    {
      print(helpWithDefaultSubcommand(root, defaultCommand))
      exit(0)
    }
    let legacy = (root as? any Tool.Type)?.legacyBooleans ?? []
    let arguments = LegacyBoolean.rewrite(arguments, legacy)
    var command: any ParsableCommand
    do {
      command = try root.parseAsRoot(arguments)
      try command.run()
    } catch {
      fail(root, error, arguments: arguments)
    }
    exit(0)
  }

  /// A tool whose plain form runs a default subcommand (`cti-backup PATH` is `cti-backup backup
  /// PATH`) shows that subcommand's options in its own help, which ArgumentParser would reduce
  /// to the subcommands' names: the root's overview and discussion, then the default
  /// subcommand's usage and options, then the list of subcommands, each part as ArgumentParser
  /// renders it.
  static func helpWithDefaultSubcommand(
    _ root: any ParsableCommand.Type, _ defaultCommand: any ParsableCommand.Type, columns: Int? = nil
  ) -> String {
    let rootHelp = root.helpMessage(columns: columns)
    let commandHelp = root.helpMessage(for: defaultCommand, columns: columns)
    guard let rootUsage = rootHelp.range(of: "\nUSAGE: "), let usage = commandHelp.range(of: "\nUSAGE: "),
      let list = rootHelp.range(of: "\nSUBCOMMANDS:")
    else { return rootHelp }
    var options = commandHelp[usage.lowerBound...]
    while options.last == "\n" { options.removeLast() }
    return String(rootHelp[..<rootUsage.lowerBound]) + "\n" + options + "\n" + rootHelp[list.lowerBound...]
  }

  /// A parse error (or one thrown by a command that is not a `ToolCommand`): ArgumentParser's
  /// message and usage in text, one JSON line with `--log-format json`.
  static func fail(_ root: any ParsableCommand.Type, _ error: any Error, arguments: [String]) -> Never {
    let code = root.exitCode(for: error)
    guard code != .success, startupFormat(arguments) == .json else { root.exit(withError: error) }
    let name = root.configuration.commandName ?? "cti"
    StderrChannel.standard.raw(
      StderrLogHandler.startupLine(
        tool: name, format: .json, message: root.message(for: error),
        metadata: ["exit_status": .stringConvertible(Int(code.rawValue))]))
    exit(code.rawValue)
  }

  /// The log format asked for, read before anything is parsed: `--log-format`, then
  /// CTI_LOG_FORMAT, then config.yml's `cti.log_format` (from `--config` or ./config.yml).
  static func startupFormat(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment)
    -> LogFormat
  {
    var flag: String?
    var configFile: String?
    var index = 0
    while index < arguments.count, arguments[index] != "--" {
      let argument = arguments[index]
      for (name, apply) in [("--log-format", { flag = $0 }), ("--config", { configFile = $0 })] as [(String, (String) -> Void)] {
        if argument == name, index + 1 < arguments.count {
          apply(arguments[index + 1])
        } else if argument.hasPrefix(name + "=") {
          apply(String(argument.dropFirst(name.count + 1)))
        }
      }
      index += 1
    }
    let configuration =
      (try? Configuration(configFile: configFile, environment: environment)) ?? Configuration(environment: environment)
    return (try? LogSettings.format(flag, configuration)) ?? .text
  }

  /// Runs a command: configuration, logging, settings, then the run; never returns.
  static func run<Command: ToolCommand>(_ command: Command) -> Never {
    let common = command.common
    let name = toolName.withLock { $0 } ?? Command._commandName
    let environment = ProcessInfo.processInfo.environment
    // Until the configuration is read, errors follow the flag and the environment.
    var format = (try? LogSettings.format(common.logFormat, Configuration(environment: environment))) ?? .text
    var context: ToolContext?
    var record: SettingsRecord?
    let status: ExitStatus
    do {
      var configuration = try Configuration(configFile: common.config, environment: environment)
      if common.printConfig {
        record = SettingsRecord()
        configuration.record = record
      }
      format = try LogSettings.format(common.logFormat, configuration)
      let log = try LogSettings(flags: common.logFlags, configuration: configuration)
      try LineLimit.configure(configuration, flag: common.maxLineBytes)
      LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: log.level, format: log.format) }
      let diagnostics = Diagnostics(logger: Logger(label: name), strict: common.strict)
      let settings = try command.settings(configuration)
      if let record {
        printSettings(record)
        exit(ExitStatus.ok.rawValue)
      }
      for warning in settings.warnings { diagnostics.warning(warning) }
      let tool = ToolContext(name: name, configuration: configuration, diagnostics: diagnostics, logFormat: format)
      context = tool
      status = try command.run(settings, tool)
      tool.tellSummary(failed: false)
    } catch {
      // With --print-config, what was resolved before the failure is still shown.
      if let record { printSettings(record) }
      context?.tellSummary(failed: true)
      status = exitStatus(for: error, tool: name, format: format)
    }
    StderrChannel.standard.finish()
    exit(status.rawValue)
  }

  /// Prints what the error means on stderr and returns its exit status.
  static func exitStatus(for error: any Error, tool: String, format: LogFormat) -> ExitStatus {
    let status: ExitStatus
    let message: String
    switch error {
    case let error as OutputError where error == .closed:
      return .ok
    case let error as JSONError:
      (status, message) = (.dataError, "not valid JSON: \(error)")
    case let error as any ToolError:
      (status, message) = (error.exitStatus, "\(error)")
    case let error as ValidationError:
      (status, message) = (.usage, error.message)
    default:
      (status, message) = (.software, "\(error)")
    }
    printError(tool: tool, format: format, message, status: status)
    return status
  }

  /// `tool: error: message` on stderr, or a JSON line with the exit status as a field.
  package static func printError(tool: String, format: LogFormat, _ message: String, status: ExitStatus) {
    let metadata: Logger.Metadata = format == .json ? ["exit_status": .stringConvertible(Int(status.rawValue))] : [:]
    StderrChannel.standard.raw(StderrLogHandler.startupLine(tool: tool, format: format, message: message, metadata: metadata))
  }

  static func printSettings(_ record: SettingsRecord) {
    let text = record.lines.map { $0 + "\n" }.joined()
    _ = FileSystem.writeAll(Array(text.utf8), to: 1)
  }
}

/// An option that took a boolean value (`--listen-delete false`) and is now a `--[no-]` flag:
/// the old form is rewritten before parsing, so scripts that use it keep working.
package struct LegacyBoolean: Sendable, Equatable {
  /// The old spelling, `--listen-delete`.
  package var name: String
  /// What `name true` and `name false` become.
  package var whenTrue: String
  package var whenFalse: String

  package init(_ name: String, whenTrue: String, whenFalse: String) {
    self.name = name
    self.whenTrue = whenTrue
    self.whenFalse = whenFalse
  }

  /// `--x` that was `--x <bool>` and is now `--[no-]x`.
  package static func inverted(_ name: String) -> LegacyBoolean {
    LegacyBoolean("--" + name, whenTrue: "--" + name, whenFalse: "--no-" + name)
  }

  /// Rewrites `name true|false` and `name=true|false` (any spelling `Configuration.parseBool`
  /// reads) into the flag; a `name` not followed by a boolean is the new flag and stays.
  package static func rewrite(_ arguments: [String], _ legacy: [LegacyBoolean]) -> [String] {
    guard !legacy.isEmpty else { return arguments }
    var out: [String] = []
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      if argument == "--" {
        out += arguments[index...]
        break
      }
      index += 1
      guard let option = legacy.first(where: { argument == $0.name || argument.hasPrefix($0.name + "=") }) else {
        out.append(argument)
        continue
      }
      var value: Bool?
      if argument.hasPrefix(option.name + "=") {
        value = Configuration.parseBool(String(argument.dropFirst(option.name.count + 1)))
      } else if index < arguments.count, let next = Configuration.parseBool(arguments[index]) {
        value = next
        index += 1
      }
      if let value {
        out.append(value ? option.whenTrue : option.whenFalse)
      } else {
        out.append(argument)
      }
    }
    return out
  }
}
