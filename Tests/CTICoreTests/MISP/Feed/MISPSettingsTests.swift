import Testing

@testable import CTICore

/// cti-misp's settings, resolved once from flags, environment, config.yml and defaults.
@Suite struct MISPSettingsTests {
  @Test func theOfficialDefaultsAndStandardInput() throws {
    let settings = try MISPSettings(flags: MISPSettings.Flags(), configuration: Configuration(environment: [:]))
    guard case .lines(nil) = settings.source else { Issue.record("not stdin: \(settings.source)"); return }
    #expect(settings.conversion.createReports && settings.conversion.createTagsAsLabels)
    #expect(!settings.conversion.createIndicators && settings.conversion.reportType == "misp-event")
    #expect(!settings.schedule.isPeriodic && settings.warnings.isEmpty)
  }

  @Test func theFileLimitComesFromTheFlagOrCTIMaxFileBytes() throws {
    let unset = try MISPSettings(flags: MISPSettings.Flags(), configuration: Configuration(environment: [:]))
    #expect(unset.maxFileBytes == FileSystem.defaultMaxFileBytes)
    let environment = Configuration(environment: ["CTI_MAX_FILE_BYTES": "1M"])
    #expect(try MISPSettings(flags: MISPSettings.Flags(), configuration: environment).maxFileBytes == 1 << 20)
    var flags = MISPSettings.Flags()
    flags.maxFileBytes = "16K"
    #expect(try MISPSettings(flags: flags, configuration: environment).maxFileBytes == 16 << 10)
  }

  @Test func aFeedURLTakesTheTLSFlagsAndTheAuthorizationHeader() throws {
    var flags = MISPSettings.Flags()
    flags.feed = "https://feed.example/misp"
    flags.tls = TLSFlags(verify: false)
    flags.importFromDate = "2024-01-01"
    let configuration = Configuration(environment: ["MISP_FEED_HTTP_AUTHORIZATION_HEADER": "Basic x"])
    let settings = try MISPSettings(flags: flags, configuration: configuration)
    guard case .http(let url, let authorization, let client) = settings.source else {
      Issue.record("not http: \(settings.source)")
      return
    }
    #expect(url == "https://feed.example/misp" && authorization == "Basic x" && client.insecure)
    #expect(settings.importFrom == 1_704_067_200)
  }

  @Test func feedVerificationFollowsMISPFeedSSLVerifyAndFolderURLsArePaths() throws {
    let configuration = Configuration(environment: ["MISP_FEED_SSL_VERIFY": "false", "MISP_FEED_URL": "file:///srv/feed/"])
    let settings = try MISPSettings(flags: MISPSettings.Flags(), configuration: configuration)
    guard case .folder(let path) = settings.source else { Issue.record("not a folder: \(settings.source)"); return }
    #expect(path == "/srv/feed")
    var flags = MISPSettings.Flags()
    flags.feed = "https://f"
    let http = try MISPSettings(flags: flags, configuration: configuration)
    guard case .http(_, _, let client) = http.source else { Issue.record("not http"); return }
    #expect(client.insecure)
  }

  @Test func theOlderSSLVerifyFlagConcernsTheFeedOnly() throws {
    var flags = MISPSettings.Flags()
    flags.feed = "https://feed.example/misp"
    flags.feedSSLVerify = false
    let settings = try MISPSettings(flags: flags, configuration: Configuration(environment: [:]))
    guard case .http(_, _, let client) = settings.source else { Issue.record("not http"); return }
    #expect(client.insecure)
    // The OpenCTI asked by threat guessing keeps its own switch (OPENCTI_SSL_VERIFY).
    #expect(settings.tls.verify == nil)
    flags.feedSSLVerify = true
    let verified = try MISPSettings(
      flags: flags, configuration: Configuration(environment: ["MISP_FEED_SSL_VERIFY": "false"]))
    guard case .http(_, _, let strict) = verified.source else { Issue.record("not http"); return }
    #expect(!strict.insecure)
    flags.tls = TLSFlags(verify: false)
    let insecure = try MISPSettings(flags: flags, configuration: Configuration(environment: [:]))
    guard case .http(_, _, let both) = insecure.source else { Issue.record("not http"); return }
    #expect(both.insecure && insecure.tls.verify == false)
  }

  @Test func s3ModeUsesTheSharedEndpointResolution() throws {
    var flags = MISPSettings.Flags()
    flags.sourceType = "s3"
    flags.bucket = "misp"
    let configuration = Configuration(environment: [
      "AWS_ENDPOINT_URL": "http://minio:9000/", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s",
      "MISP_FEED_BUCKET_PREFIX": "events/",
    ])
    let settings = try MISPSettings(flags: flags, configuration: configuration)
    guard case .s3(let bucket, let prefix, let endpoint, let delete) = settings.source else {
      Issue.record("not s3: \(settings.source)")
      return
    }
    #expect(bucket == "misp" && prefix == "events/" && !delete)
    #expect(endpoint.host == "minio" && endpoint.port == 9000 && !endpoint.useSSL && endpoint.region == "us-east-1")
    flags.bucket = nil
    #expect(throws: ConfigError.self) { try MISPSettings(flags: flags, configuration: configuration) }
  }

  @Test func anIntervalNeedsAFeedAndTheOldMinutesAreRead() throws {
    var flags = MISPSettings.Flags()
    flags.interval = "PT5M"
    #expect(throws: ConfigError.self) { try MISPSettings(flags: flags, configuration: Configuration(environment: [:])) }
    let configuration = Configuration(environment: ["MISP_FEED_URL": "/srv/feed", "MISP_FEED_INTERVAL": "2"])
    let settings = try MISPSettings(flags: MISPSettings.Flags(), configuration: configuration)
    #expect(settings.schedule.period == 120)
  }

  @Test func inputIsAFileOfEventsAndNotWithAFeed() throws {
    var flags = MISPSettings.Flags()
    flags.input = "events.ndjson"
    let settings = try MISPSettings(flags: flags, configuration: Configuration(environment: [:]))
    guard case .lines("events.ndjson") = settings.source else { Issue.record("not the file: \(settings.source)"); return }
    flags.input = "-"
    guard case .lines(nil) = try MISPSettings(flags: flags, configuration: Configuration(environment: [:])).source else {
      Issue.record("'-' is not stdin")
      return
    }
    flags.feed = "/srv/feed"
    #expect(throws: ConfigError.self) { try MISPSettings(flags: flags, configuration: Configuration(environment: [:])) }
  }

  @Test func guessingWithoutAPlatformIsAWarning() throws {
    var flags = MISPSettings.Flags()
    flags.conversion.guessThreatsFromTags = true
    let settings = try MISPSettings(flags: flags, configuration: Configuration(environment: [:]))
    #expect(settings.warnings.count == 1)
  }
}
