import Synchronization

/// The settings a tool looked up while resolving its configuration, each with the value in force
/// and where it came from: what `--print-config` shows. Secrets are kept as `***` from the start,
/// so their text never reaches the record.
package final class SettingsRecord: Sendable {
  /// One setting: its name (the first environment variable, else the config.yml key), the value
  /// shown and its origin (`environment X`, `config.yml k`, `command line`, `default`), or nil
  /// for both when nothing sets it and there is no default.
  package struct Entry: Sendable, Equatable {
    package var name: String
    package var value: String?
    package var source: String?
  }

  private let entries = Mutex<[Entry]>([])

  package init() {}

  /// The name a setting is shown under; nil for a flag-only setting (no environment name, no key).
  static func name(_ setting: Setting) -> String? {
    setting.environment.first ?? setting.key
  }

  func note(_ setting: Setting, _ found: (value: String, source: String)?) {
    guard let name = Self.name(setting) else { return }
    let shown = found.map { setting.isSecret ? "***" : $0.value }
    update(Entry(name: name, value: shown, source: found?.source))
  }

  func noteDefault(_ setting: Setting, _ value: String) {
    guard let name = Self.name(setting) else { return }
    update(Entry(name: name, value: setting.isSecret ? "***" : value, source: "default"))
  }

  /// The first lookup of a name fixes its place; a later one replaces it only while it is unset
  /// (a default noted after the lookup that found nothing).
  private func update(_ entry: Entry) {
    entries.withLock { entries in
      if let index = entries.firstIndex(where: { $0.name == entry.name }) {
        if entries[index].value == nil || (entries[index].source == "default" && entry.source != "default") {
          entries[index] = entry
        }
      } else {
        entries.append(entry)
      }
    }
  }

  package var all: [Entry] { entries.withLock { $0 } }

  /// One line per setting, in the order they were looked up: `NAME=value (from source)`, or
  /// `NAME (unset)`.
  package var lines: [String] {
    all.map { entry in
      guard let value = entry.value else { return "\(entry.name) (unset)" }
      return "\(entry.name)=\(value) (\(entry.source == "default" ? "default" : "from " + (entry.source ?? "?")))"
    }
  }
}
