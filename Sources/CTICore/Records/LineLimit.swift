import Synchronization

private let currentLineLimit = Atomic<Int>(LineLimit.defaultBytes)

/// The one limit on the size of an NDJSON line for the whole toolkit (`--max-line-bytes`, env
/// CTI_MAX_LINE_BYTES). Readers skip and report a longer line; writers refuse to write one, so a
/// producer never hands the next tool a line it would refuse. Set once at start-up; every
/// `LineReader` and `RecordWriter` made afterwards uses it.
package enum LineLimit {
  /// 64 MiB.
  package static let defaultBytes = 64 << 20
  package static let setting = Setting(env: "CTI_MAX_LINE_BYTES", key: "cti.max_line_bytes")

  /// The limit in force.
  package static var bytes: Int {
    get { currentLineLimit.load(ordering: .relaxed) }
    set { currentLineLimit.store(newValue, ordering: .relaxed) }
  }

  /// Reads a size: bytes, or a number with K, M or G (powers of 1024; `KiB`, `MB`… accepted).
  package static func parse(_ text: String) -> Int? {
    let trimmed = text.trimmingSpaces.uppercased()
    let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
    guard let number = Int(digits), number > 0 else { return nil }
    let unit = String(trimmed.dropFirst(digits.count)).trimmingSpaces
    let shift: Int
    switch unit {
    case "", "B": shift = 0
    case "K", "KB", "KIB": shift = 10
    case "M", "MB", "MIB": shift = 20
    case "G", "GB", "GIB": shift = 30
    default: return nil
    }
    guard number <= Int.max >> shift else { return nil }
    return number << shift
  }

  /// Resolves and installs the limit: flag, environment, config.yml, default. At least 1 KiB.
  package static func configure(_ configuration: Configuration, flag: String?) throws(ConfigError) {
    guard let (text, source) = configuration.lookup(setting, flag: flag) else { return }
    guard let value = parse(text), value >= 1024 else {
      throw ConfigError(
        "\(source): '\(text)' is not a line size of at least 1024 bytes (e.g. 67108864 or 64M)",
        fromCommandLine: flag != nil)
    }
    bytes = value
  }
}
