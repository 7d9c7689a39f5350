import Foundation
import Yams

/// A configuration problem: a bad value, an unreadable config.yml, a missing required setting.
/// A bad value given on the command line is a usage error (64); anything else is 78.
package struct ConfigError: ToolError, Equatable {
  package var message: String
  package var exitStatus: ExitStatus
  package init(_ message: String, fromCommandLine: Bool = false) {
    self.message = message
    exitStatus = fromCommandLine ? .usage : .config
  }
  package var description: String { message }
}

/// Where one setting can be given: a flag value (already parsed by ArgumentParser), environment
/// variables (the official connectors' names, first match wins) and a dotted config.yml key.
package struct Setting: Sendable, Equatable {
  package var environment: [String]
  package var key: String?
  /// Secrets are never shown, in messages or in `--print-config`.
  package var isSecret: Bool

  package init(env: String..., key: String? = nil, secret: Bool = false) {
    environment = env
    self.key = key
    isSecret = secret
  }
}

/// Resolves settings with the precedence every tool follows: command-line flag, then
/// environment, then config.yml, then the default.
package struct Configuration: Sendable {
  package var environment: [String: String]
  /// config.yml flattened to dotted keys (`opencti.url`); lists are joined with commas.
  package var file: [String: String]
  /// The config.yml that was read, if any.
  package var filePath: String?
  /// When set, every setting looked up is noted here, with what it resolved to: `--print-config`
  /// shows them.
  package var record: SettingsRecord?

  /// Reads the environment and a config.yml: `path` when given (it must exist), else
  /// `./config.yml` when present.
  package init(configFile path: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
    throws(ConfigError)
  {
    self.environment = environment
    let chosen = path ?? (FileSystem.exists("config.yml") ? "config.yml" : nil)
    filePath = chosen
    file = [:]
    if let chosen {
      let bytes: [UInt8]
      do { bytes = try FileSystem.read(chosen, maxBytes: Configuration.maxFileBytes) } catch {
        throw ConfigError("cannot read config file \(chosen): \(String(cString: strerror(error.code)))")
      }
      file = try Configuration.flatten(yaml: String(decoding: bytes, as: UTF8.self), path: chosen)
    }
  }

  /// A configuration from given values, for tests and embedding.
  package init(environment: [String: String], file: [String: String] = [:]) {
    self.environment = environment
    self.file = file
    filePath = nil
  }

  /// Where a value given as a flag comes from, in messages.
  package static let commandLine = "command line"

  /// The raw text of a setting and where it came from, or nil when nothing sets it.
  package func lookup(_ setting: Setting, flag: String? = nil) -> (value: String, source: String)? {
    let found = find(setting, flag: flag)
    record?.note(setting, found)
    return found
  }

  private func find(_ setting: Setting, flag: String?) -> (value: String, source: String)? {
    if let flag { return (flag, Configuration.commandLine) }
    for name in setting.environment {
      if let value = environment[name], !value.isEmpty { return (value, "environment \(name)") }
    }
    if let key = setting.key, let value = file[key] { return (value, "\(filePath ?? "config.yml") \(key)") }
    return nil
  }

  /// `lookup`, noting `fallback` as the value in force when nothing sets the setting.
  private func lookup(_ setting: Setting, flag: String?, default fallback: String?) -> (value: String, source: String)? {
    let found = lookup(setting, flag: flag)
    if found == nil, let fallback { record?.noteDefault(setting, fallback) }
    return found
  }

  package func string(_ setting: Setting, flag: String? = nil) -> String? {
    lookup(setting, flag: flag)?.value
  }

  package func string(_ setting: Setting, flag: String? = nil, default fallback: String) -> String {
    lookup(setting, flag: flag, default: fallback)?.value ?? fallback
  }

  /// A boolean: true/false, yes/no, on/off, 1/0 in any case.
  package func bool(_ setting: Setting, flag: Bool? = nil, default fallback: Bool) throws(ConfigError) -> Bool {
    if let flag {
      record?.note(setting, (String(flag), Configuration.commandLine))
      return flag
    }
    guard let (text, source) = lookup(setting, flag: nil, default: String(fallback)) else { return fallback }
    guard let value = Configuration.parseBool(text) else {
      throw ConfigError("\(source): \(Self.quoted(text, setting)) is not a boolean (true/false, yes/no, 1/0)")
    }
    return value
  }

  package func int(_ setting: Setting, flag: Int? = nil, default fallback: Int) throws(ConfigError) -> Int {
    if let flag {
      record?.note(setting, (String(flag), Configuration.commandLine))
      return flag
    }
    guard let (text, source) = lookup(setting, flag: nil, default: String(fallback)) else { return fallback }
    guard let value = Int(text.trimmingSpaces) else {
      throw ConfigError("\(source): \(Self.quoted(text, setting)) is not a whole number")
    }
    return value
  }

  /// A size in bytes: a whole number, or one with K, M or G (powers of 1024), read as the
  /// toolkit's line limit is (`LineLimit.parse`).
  package func byteCount(_ setting: Setting, flag: String? = nil, default fallback: Int) throws(ConfigError) -> Int {
    guard let (text, source) = lookup(setting, flag: flag, default: String(fallback)) else { return fallback }
    guard let value = LineLimit.parse(text) else {
      throw ConfigError(
        "\(source): \(Self.quoted(text, setting)) is not a size in bytes such as 268435456, 256M or 1G",
        fromCommandLine: source == Configuration.commandLine)
    }
    return value
  }

  /// A duration in seconds: ISO-8601 (`PT5M`, `P30D`) or a plain number of seconds.
  package func duration(_ setting: Setting, flag: String? = nil, default fallback: Double?) throws(ConfigError) -> Double? {
    guard let (text, source) = lookup(setting, flag: flag, default: fallback.map { Self.seconds($0) }) else { return fallback }
    guard let value = Self.parseDuration(text, unit: 1) else {
      throw ConfigError(
        "\(source): \(Self.quoted(text, setting)) is not a duration in seconds or ISO-8601 such as PT60S or P30D",
        fromCommandLine: source == Configuration.commandLine)
    }
    return value
  }

  /// A duration in days, as the official connectors' retention settings are: a plain number of
  /// days (`7`, `0.5`), or ISO-8601 (`P7D`, `PT12H`). Never negative.
  package func days(_ setting: Setting, flag: String? = nil, default fallback: Double) throws(ConfigError) -> Double {
    guard let (text, source) = lookup(setting, flag: flag, default: Self.seconds(fallback)) else { return fallback }
    guard let seconds = Self.parseDuration(text, unit: 86400), seconds >= 0 else {
      throw ConfigError(
        "\(source): \(Self.quoted(text, setting)) is not a number of days or an ISO-8601 duration such as P7D (0: never)",
        fromCommandLine: source == Configuration.commandLine)
    }
    return seconds / 86400
  }

  /// ISO-8601 (`PT5M`), or a plain non-negative number counted in `unit` seconds; in seconds.
  package static func parseDuration(_ text: String, unit: Double) -> Double? {
    if let seconds = ISO8601.duration(text) { return seconds }
    guard let number = Double(text.trimmingSpaces), number.isFinite else { return nil }
    return number * unit
  }

  /// `45`, `0.5`: a number as the settings write it.
  static func seconds(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
  }

  /// A comma-separated list (or a YAML list), items trimmed, empty items dropped.
  package func list(_ setting: Setting, flag: String? = nil) -> [String] {
    guard let text = string(setting, flag: flag) else { return [] }
    return text.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
  }

  /// A value that must be one of `choices`.
  package func choice(_ setting: Setting, flag: String? = nil, choices: [String], default fallback: String) throws(ConfigError)
    -> String
  {
    guard let (text, source) = lookup(setting, flag: flag, default: fallback) else { return fallback }
    let lowered = text.lowercased()
    guard choices.contains(lowered) else {
      throw ConfigError(
        "\(source): \(Self.quoted(text, setting)) is not one of \(choices.joined(separator: ", "))",
        fromCommandLine: source == Configuration.commandLine)
    }
    return lowered
  }

  /// A value quoted for a message: a secret's as `***`.
  package static func quoted(_ text: String, _ setting: Setting) -> String {
    setting.isSecret ? "***" : "'\(text)'"
  }

  package static func parseBool(_ text: String) -> Bool? {
    switch text.trimmingSpaces.lowercased() {
    case "true", "yes", "y", "on", "1": true
    case "false", "no", "n", "off", "0": false
    default: nil
    }
  }

  /// The largest config.yml read (official ones are a few kilobytes): a bound on what a wrong
  /// path, say a device or a huge file, can make the tool hold.
  package static let maxFileBytes = 4 << 20

  /// Most nodes a config.yml may flatten: far more than any real one holds, and a bound on what
  /// aliases can multiply (`a: &a {…}`, `b: {x: *a, y: *a}`, … doubles at each level).
  package static let maxNodes = 100_000
  /// Deepest nesting walked.
  package static let maxDepth = 64

  /// Flattens a YAML document into dotted keys with scalar text values. A document that does
  /// not parse is reported by position and libyaml's description only: never with the text
  /// around it, which may be a token or a secret key.
  package static func flatten(yaml: String, path: String = "config.yml") throws(ConfigError) -> [String: String] {
    let node: Node?
    do {
      node = try Yams.compose(yaml: yaml)
    } catch let error as YamlError {
      throw ConfigError("\(path): not valid YAML: \(describe(error))")
    } catch {
      throw ConfigError("\(path): not valid YAML")
    }
    var result: [String: String] = [:]
    var tooBig = false
    var visited = 0
    func walk(_ node: Node, _ prefix: String, depth: Int) {
      guard !tooBig else { return }
      visited += 1
      guard depth <= maxDepth, visited <= maxNodes else {
        tooBig = true
        return
      }
      switch node {
      case .mapping(let mapping):
        for (key, value) in mapping {
          guard let name = key.string else { continue }
          walk(value, prefix.isEmpty ? name : prefix + "." + name, depth: depth + 1)
        }
      case .sequence(let sequence):
        result[prefix] = sequence.compactMap { $0.string }.joined(separator: ",")
      case .scalar(let scalar):
        if !prefix.isEmpty, !(scalar.string == "~" || scalar.string == "null" || scalar.string.isEmpty && scalar.style == .plain) {
          result[prefix] = scalar.string
        }
      case .alias: break
      }
    }
    if let node { walk(node, "", depth: 0) }
    if tooBig {
      throw ConfigError("\(path): more than \(maxNodes) values or \(maxDepth) levels (aliases that multiply?)")
    }
    return result
  }

  /// A YAML error as position and libyaml's fixed wording. Yams' own description quotes the
  /// offending line, and the duplicate-key error the keys: both left out.
  static func describe(_ error: YamlError) -> String {
    func at(_ mark: Mark) -> String { "line \(mark.line), column \(mark.column)" }
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let while_ = context.map { "\($0.text) (\(at($0.mark))): " } ?? ""
      return "\(at(mark)): \(while_)\(problem)"
    case .reader(let problem, let offset, _, _):
      return offset.map { "character \($0 + 1): \(problem)" } ?? problem
    case .duplicatedKeysInMapping(let duplicates, let context):
      return "\(at(context.mark)): \(duplicates.count == 1 ? "a key appears" : "keys appear") twice in one mapping"
    case .memory: return "out of memory"
    case .dataCouldNotBeDecoded: return "not UTF-8 text"
    default: return "unreadable"
    }
  }
}
