import Foundation
import Testing

@testable import CTICore

@Suite struct ConfigurationTests {
  let path = Setting(env: "BACKUP_PATH", key: "backup.path")

  @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() {
    let both = Configuration(environment: ["BACKUP_PATH": "/env"], file: ["backup.path": "/file"])
    #expect(both.string(path, flag: "/flag") == "/flag")
    #expect(both.string(path) == "/env")
    #expect(Configuration(environment: [:], file: ["backup.path": "/file"]).string(path) == "/file")
    #expect(Configuration(environment: [:]).string(path, default: "/default") == "/default")
    // An empty variable (as docker-compose leaves unset ones) does not hide the file's value.
    #expect(Configuration(environment: ["BACKUP_PATH": ""], file: ["backup.path": "/file"]).string(path) == "/file")
  }

  @Test func aConfigFileOverTheLimitIsRefusedNotRead() throws {
    let path = NSTemporaryDirectory() + "config-\(UUID().uuidString).yml"
    try FileSystem.writeAtomically([UInt8](repeating: 0x23, count: Configuration.maxFileBytes + 1), to: path)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let error = #expect(throws: ConfigError.self) { try Configuration(configFile: path, environment: [:]) }
    #expect(error?.description == "cannot read config file \(path): File too large")
  }

  @Test func readsOfficialConfigYAML() throws {
    let yaml = """
      opencti:
        url: 'http://localhost:8080'
        token: 'ChangeMe'
      connector:
        id: 'abc'
        scope: ['backup', 'other']
        live_stream_listen_delete: true
        confidence_level: 80
        empty:
      backup:
        protocol: 'local'
        path: '/tmp'
      """
    let file = try Configuration.flatten(yaml: yaml)
    #expect(file["opencti.url"] == "http://localhost:8080")
    #expect(file["connector.scope"] == "backup,other")
    #expect(file["connector.live_stream_listen_delete"] == "true")
    #expect(file["connector.confidence_level"] == "80")
    #expect(file["connector.empty"] == nil)
    #expect(file["backup.path"] == "/tmp")
    #expect(throws: ConfigError.self) { try Configuration.flatten(yaml: "a: [1,\n") }
  }

  @Test(arguments: [("true", true), ("Yes", true), ("1", true), ("on", true), ("false", false), ("NO", false), ("0", false)])
  func booleans(text: String, expected: Bool) throws {
    let setting = Setting(env: "X")
    #expect(try Configuration(environment: ["X": text]).bool(setting, default: !expected) == expected)
  }

  @Test func badValuesNameTheirSource() {
    let setting = Setting(env: "CONNECTOR_LIVE_STREAM_LISTEN_DELETE")
    let configuration = Configuration(environment: ["CONNECTOR_LIVE_STREAM_LISTEN_DELETE": "maybe"])
    #expect(throws: ConfigError("environment CONNECTOR_LIVE_STREAM_LISTEN_DELETE: 'maybe' is not a boolean (true/false, yes/no, 1/0)")) {
      try configuration.bool(setting, default: true)
    }
    #expect(throws: ConfigError.self) { try Configuration(environment: ["X": "soon"]).duration(Setting(env: "X"), default: nil) }
    #expect(throws: ConfigError.self) {
      try Configuration(environment: ["X": "ftp"]).choice(Setting(env: "X"), choices: ["local"], default: "local")
    }
  }

  @Test func secretsAreNeverDisplayed() {
    let token = Setting(env: "OPENCTI_TOKEN", key: "opencti.token", secret: true)
    var configuration = Configuration(environment: ["OPENCTI_TOKEN": "s3cr3t"])
    let record = SettingsRecord()
    configuration.record = record
    _ = configuration.string(token)
    let shown = record.lines.joined(separator: "\n")
    #expect(!shown.contains("s3cr3t"))
    #expect(shown == "OPENCTI_TOKEN=*** (from environment OPENCTI_TOKEN)")
  }

  @Test func listsAndDurations() throws {
    let configuration = Configuration(environment: ["L": " a, b,,c ", "D": "PT5M"])
    #expect(configuration.list(Setting(env: "L")) == ["a", "b", "c"])
    #expect(try configuration.duration(Setting(env: "D"), default: nil) == 300)
    #expect(try configuration.duration(Setting(env: "none"), default: 60) == 60)
  }
}

@Suite struct ISO8601Tests {
  @Test(arguments: [
    ("2024-01-15T14:00:29.412Z", 1_705_327_229, 412_000_000),
    ("2024-01-15T14:00:29Z", 1_705_327_229, 0),
    ("2024-01-15T16:00:29+02:00", 1_705_327_229, 0),
    ("2024-01-15T09:00:29-0500", 1_705_327_229, 0),
    ("2024-01-15 14:00:29.123456789", 1_705_327_229, 123_456_789),
    ("2024-01-15", 1_705_276_800, 0),
    ("1969-12-31T23:59:59Z", -1, 0),
    ("2000-02-29T00:00:00Z", 951_782_400, 0),
  ])
  func parsesDates(text: String, seconds: Int64, nanos: Int32) {
    #expect(ISO8601.parse(text) == ISO8601.Instant(seconds: seconds, nanoseconds: nanos))
  }

  @Test(arguments: ["2024-13-01", "2023-02-29", "2024-01-15T25:00:00Z", "2024-01-15T14:00:29.Z", "yesterday", "2024-01-15T14:00:29Zjunk"])
  func rejectsBadDates(text: String) {
    #expect(ISO8601.parse(text) == nil)
  }

  @Test func formatsUTC() {
    let instant = ISO8601.Instant(seconds: 1_705_327_229, nanoseconds: 412_000_000)
    #expect(ISO8601.format(instant) == "2024-01-15T14:00:29.412Z")
    #expect(ISO8601.format(instant, fractionDigits: 0) == "2024-01-15T14:00:29Z")
    #expect(ISO8601.compact(instant) == "20240115T140029Z")
    #expect(ISO8601.format(ISO8601.Instant(seconds: -1)) == "1969-12-31T23:59:59.000Z")
  }

  @Test(arguments: [("PT5M", 300.0), ("P30D", 2_592_000.0), ("PT60S", 60.0), ("P1DT1H", 90_000.0), ("PT0.5S", 0.5), ("P2W", 1_209_600.0)])
  func durations(text: String, seconds: Double) {
    #expect(ISO8601.duration(text) == seconds)
  }

  @Test(arguments: ["", "P", "PT", "5M", "P5H", "PT5D", "P1M2"])
  func badDurations(text: String) {
    #expect(ISO8601.duration(text) == nil)
  }
}

/// A config.yml that does not parse must not print the secret on the line it stumbles on
/// (issue 11, item 10): Yams' own messages quote that line.
@Suite struct ConfigurationSecretTests {
  static let secret = "tok-5f1d2c9a-SECRET-e8b7"

  static let documents: [String] = [
    "opencti:\n  url: http://x\n  token: \"\(secret)\n  other: 1\n",
    "opencti:\n  token: \(secret): more\n",
    "opencti:\n\ttoken: \(secret)\n",
    "opencti:\n  token: \(secret)\n   - item\n",
    "opencti:\n  token: '\(secret)\n",
    "s3:\n  secret_key: *\(secret)\n",
    "opencti:\n  token: \(secret)\n  token: \(secret)2\n",
    "misp_feed:\n  http_authorization_header: Basic \(secret)\n - x\n",
    "opencti:\n  token: [\(secret)\n",
    "opencti:\n  token: \(secret)\u{1}\n",
    "opencti: {token: \(secret)\n",
    "opencti:\n  token: !!binary \(secret)%\n",
    "amqp:\n  MQ_PASS: \(secret)\n   bad: indent\n",
  ]

  @Test(arguments: documents)
  func parseErrorsNeverShowTheLine(_ yaml: String) throws {
    do {
      let settings = try Configuration.flatten(yaml: yaml)
      // A document that parses has nothing to report; its secret stays a value.
      #expect(settings.values.contains { $0.contains(Self.secret) } || settings.isEmpty)
    } catch {
      #expect(!error.message.contains("SECRET"), "\(error.message)")
      #expect(error.message.contains("line") || error.message.contains("character"), "\(error.message)")
    }
  }

  @Test func bytesGivenForASecretAreMaskedInMessages() {
    let configuration = Configuration(environment: [:], file: ["opencti.token": Self.secret])
    #expect(throws: ConfigError("config.yml opencti.token: *** is not a whole number")) {
      try configuration.int(OpenCTIKeys.token, default: 0)
    }
  }

  @Test func aliasesThatMultiplyAreRefused() {
    var yaml = "a0: &a0 {x: 1, y: 2}\n"
    for level in 1...30 { yaml += "a\(level): &a\(level) {x: *a\(level - 1), y: *a\(level - 1)}\n" }
    #expect(throws: ConfigError.self) { try Configuration.flatten(yaml: yaml) }
  }

  /// Found by the config fuzzer: with null leaves no setting is ever added, so counting settings
  /// did not stop the walk over 2^24 paths (a minute per load).
  @Test func aliasesThatMultiplyNullsAreRefusedAtOnce() {
    var yaml = "a0: &a0 {x: , y: ~}\n"
    for level in 1...24 { yaml += "a\(level): &a\(level) {x: *a\(level - 1), y: *a\(level - 1)}\n" }
    let started = MonotonicClock.now()
    #expect(throws: ConfigError.self) { try Configuration.flatten(yaml: yaml) }
    #expect(MonotonicClock.now() - started < 2)
  }
}
