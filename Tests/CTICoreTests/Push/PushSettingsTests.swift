import Testing

@testable import CTICore

/// cti-push's settings, resolved once.
@Suite struct PushSettingsTests {
  let platform = ["OPENCTI_URL": "http://o", "OPENCTI_TOKEN": "t", "CONNECTOR_ID": "id-1"]

  @Test func theDefaultsAreStatedOnce() throws {
    let settings = try PushSettings(flags: PushSettings.Flags(), configuration: Configuration(environment: platform))
    #expect(settings.connector.name == PushSettings.Defaults.connectorName)
    #expect(settings.requestTimeout == PushSettings.Defaults.requestTimeout)
    #expect(settings.flushDelay == PushSettings.Defaults.flushDelay)
    #expect(settings.inputs == ["-"] && settings.queueProtocol == .api && !settings.http.insecure)
  }

  @Test func tlsAndDurationsFromTheEnvironment() throws {
    var environment = platform
    environment["OPENCTI_SSL_VERIFY"] = "false"
    environment["CTI_PUSH_FLUSH_DELAY"] = "PT2S"
    let settings = try PushSettings(flags: PushSettings.Flags(), configuration: Configuration(environment: environment))
    #expect(settings.http.insecure && settings.flushDelay == 2)
  }

  @Test func aMissingCABundleIsRefused() {
    var flags = PushSettings.Flags()
    flags.platform.tls.caBundle = "/nonexistent/ca.pem"
    #expect(throws: ConfigError.self) { try PushSettings(flags: flags, configuration: Configuration(environment: platform)) }
    var environment = platform
    environment["CTI_CA_BUNDLE"] = "/nonexistent/ca.pem"
    #expect(throws: ConfigError.self) { try PushSettings(flags: PushSettings.Flags(), configuration: Configuration(environment: environment)) }
  }

  @Test func aConnectorIDIsNeededUnlessDryRun() throws {
    #expect(throws: ConfigError.self) {
      try PushSettings(flags: PushSettings.Flags(), configuration: Configuration(environment: ["OPENCTI_URL": "http://o", "OPENCTI_TOKEN": "t"]))
    }
    var flags = PushSettings.Flags()
    flags.dryRun = true
    #expect(try PushSettings(flags: flags, configuration: Configuration(environment: [:])).dryRun)
  }
}
