import Testing

@testable import CTICore

/// cti-stream's settings with pycti's CONNECTOR_LIVE_STREAM_* names.
@Suite struct LiveStreamSettingsTests {
  let platform = ["OPENCTI_URL": "http://octi/", "OPENCTI_TOKEN": "t", "CONNECTOR_LIVE_STREAM_ID": "live"]

  @Test func pyctisDefaults() throws {
    let settings = try LiveStreamSettings(flags: LiveStreamSettings.Flags(), configuration: Configuration(environment: platform))
    #expect(settings.streamURL == "http://octi/stream/live")
    #expect(settings.listenDelete && settings.noDependencies && !settings.withInferences)
    #expect(settings.firstFrom == "0-0" && settings.http.stallTimeout == 45 && settings.reconnectDelay == 1)
  }

  @Test func everyDurationTakesISO8601OrSeconds() throws {
    var flags = LiveStreamSettings.Flags()
    flags.idleExit = "PT30S"
    flags.stallTimeout = "PT1M"
    flags.reconnectDelay = "2"
    flags.maxReconnectDelay = "PT1S"
    let settings = try LiveStreamSettings(flags: flags, configuration: Configuration(environment: platform))
    #expect(settings.idleExit == 30 && settings.http.stallTimeout == 60)
    // The longest delay is never below the first.
    #expect(settings.reconnectDelay == 2 && settings.maxReconnectDelay == 2)
    flags.idleExit = "0"
    #expect(throws: ConfigError.self) { try LiveStreamSettings(flags: flags, configuration: Configuration(environment: platform)) }
  }

  @Test func reconnectDelaysMayBeZeroButNotNegative() throws {
    var flags = LiveStreamSettings.Flags()
    flags.reconnectDelay = "0"
    flags.maxReconnectDelay = "PT0S"
    let settings = try LiveStreamSettings(flags: flags, configuration: Configuration(environment: platform))
    #expect(settings.reconnectDelay == 0 && settings.maxReconnectDelay == 0)
    flags.reconnectDelay = "-1"
    #expect(throws: ConfigError.self) { try LiveStreamSettings(flags: flags, configuration: Configuration(environment: platform)) }
  }

  @Test func aCaptureNeedsNoPlatform() throws {
    var flags = LiveStreamSettings.Flags()
    flags.input = "capture.sse"
    let settings = try LiveStreamSettings(flags: flags, configuration: Configuration(environment: [:]))
    #expect(settings.replay == "capture.sse")
    #expect(throws: ConfigError.self) {
      try LiveStreamSettings(flags: LiveStreamSettings.Flags(), configuration: Configuration(environment: ["OPENCTI_URL": "http://o"]))
    }
  }

  @Test func unknownEventNamesAreRefused() {
    var flags = LiveStreamSettings.Flags()
    flags.events = "create,remove"
    #expect(throws: ConfigError.self) { try LiveStreamSettings(flags: flags, configuration: Configuration(environment: platform)) }
  }
}
