import Logging
import Testing

@testable import CTICore

/// The logging settings every tool reads.
@Suite struct LogSettingsTests {
  @Test func warnAndWarningAreOneLevel() throws {
    for text in ["warn", "warning", "WARN", "Warning"] {
      let settings = try LogSettings(flags: LogSettings.Flags(level: text), configuration: Configuration(environment: [:]))
      #expect(settings.level == .warning, "\(text)")
    }
    let fromEnvironment = try LogSettings(flags: LogSettings.Flags(), configuration: Configuration(environment: ["CONNECTOR_LOG_LEVEL": "warn"]))
    #expect(fromEnvironment.level == .warning)
    #expect(throws: ConfigError.self) {
      try LogSettings(flags: LogSettings.Flags(level: "loud"), configuration: Configuration(environment: [:]))
    }
  }

  @Test func quietRaisesTheLevelAndTheFormatIsChecked() throws {
    let quiet = try LogSettings(flags: LogSettings.Flags(level: "debug", quiet: true), configuration: Configuration(environment: [:]))
    #expect(quiet.level == .warning)
    let json = try LogSettings(flags: LogSettings.Flags(), configuration: Configuration(environment: ["CTI_LOG_FORMAT": "json"]))
    #expect(json.format == .json && json.level == .info)
    #expect(throws: ConfigError.self) {
      try LogSettings(flags: LogSettings.Flags(format: "xml"), configuration: Configuration(environment: [:]))
    }
  }
}
