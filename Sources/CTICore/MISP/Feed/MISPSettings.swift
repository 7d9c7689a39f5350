/// cti-misp's settings: the official connector's environment names and config.yml keys.
package enum MISPKeys {
  package static let url = Setting(env: "MISP_FEED_URL", key: "misp_feed.url")
  package static let sourceType = Setting(env: "MISP_FEED_SOURCE_TYPE", key: "misp_feed.source_type")
  package static let sslVerify = Setting(env: "MISP_FEED_SSL_VERIFY", key: "misp_feed.ssl_verify")
  package static let authorizationHeader = Setting(
    env: "MISP_FEED_HTTP_AUTHORIZATION_HEADER", key: "misp_feed.http_authorization_header", secret: true)
  package static let importFromDate = Setting(env: "MISP_FEED_IMPORT_FROM_DATE", key: "misp_feed.import_from_date")
  package static let createReports = Setting(env: "MISP_FEED_CREATE_REPORTS", key: "misp_feed.create_reports")
  package static let reportType = Setting(env: "MISP_FEED_REPORT_TYPE", key: "misp_feed.report_type")
  package static let createIndicators = Setting(env: "MISP_FEED_CREATE_INDICATORS", key: "misp_feed.create_indicators")
  package static let createObservables = Setting(env: "MISP_FEED_CREATE_OBSERVABLES", key: "misp_feed.create_observables")
  package static let createObjectObservables = Setting(
    env: "MISP_FEED_CREATE_OBJECT_OBSERVABLES", key: "misp_feed.create_object_observables")
  package static let createTagsAsLabels = Setting(
    env: "MISP_FEED_CREATE_TAGS_AS_LABELS", key: "misp_feed.create_tags_as_labels")
  /// The official docker-compose.yml spells it GUESS_THREAT_FROM_TAGS, which the connector
  /// still accepts; both work, so that block can be kept as it is.
  package static let guessThreatsFromTags = Setting(
    env: "MISP_FEED_GUESS_THREATS_FROM_TAGS", "MISP_FEED_GUESS_THREAT_FROM_TAGS", key: "misp_feed.guess_threats_from_tags")
  package static let authorFromTags = Setting(env: "MISP_FEED_AUTHOR_FROM_TAGS", key: "misp_feed.author_from_tags")
  package static let markingsFromTags = Setting(env: "MISP_FEED_MARKINGS_FROM_TAGS", key: "misp_feed.markings_from_tags")
  package static let importToIdsNoScore = Setting(
    env: "MISP_FEED_IMPORT_TO_IDS_NO_SCORE", key: "misp_feed.import_to_ids_no_score")
  package static let unsupportedAsText = Setting(
    env: "MISP_FEED_IMPORT_UNSUPPORTED_OBSERVABLES_AS_TEXT", key: "misp_feed.import_unsupported_observables_as_text")
  package static let unsupportedAsTextTransparent = Setting(
    env: "MISP_FEED_IMPORT_UNSUPPORTED_OBSERVABLES_AS_TEXT_TRANSPARENT",
    key: "misp_feed.import_unsupported_observables_as_text_transparent")
  package static let withAttachments = Setting(
    env: "MISP_FEED_IMPORT_WITH_ATTACHMENTS", key: "misp_feed.import_with_attachments")
  package static let bucketName = Setting(env: "MISP_FEED_BUCKET_NAME", "MISP_BUCKET_NAME", key: "misp_feed.bucket_name")
  package static let bucketPrefix = Setting(
    env: "MISP_FEED_BUCKET_PREFIX", "MISP_BUCKET_PREFIX", key: "misp_feed.bucket_prefix")
  static let s3Endpoint = Setting(env: "AWS_ENDPOINT_URL", key: "misp_feed.aws.endpoint_url")
  static let s3AccessKey = Setting(env: "AWS_ACCESS_KEY_ID", key: "misp_feed.aws.access_key_id")
  static let s3SecretKey = Setting(env: "AWS_SECRET_ACCESS_KEY", key: "misp_feed.aws.secret_access_key", secret: true)
  static let s3Region = Setting(env: "AWS_REGION", "AWS_DEFAULT_REGION", key: "misp_feed.aws.region")
  package static let deleteConsumed = Setting(env: "CTI_MISP_DELETE_CONSUMED", key: "cti.misp_delete_consumed")
  package static let compatibility = Setting(env: "CTI_MISP_COMPAT", key: "cti.misp_compat")
  package static let state = Setting(env: "CTI_MISP_STATE", key: "cti.misp_state")
  /// The connector's old schedule setting, in minutes; CONNECTOR_DURATION_PERIOD replaces it.
  package static let interval = Setting(env: "MISP_FEED_INTERVAL", key: "misp_feed.interval")
  /// The official connector's period when none is set (its `duration_period` default, PT5M).
  package static let defaultPeriod = 300.0

  /// Flag values as parsed (nil: not given on the command line).
  package struct Flags: Sendable {
    package var compatibility: String?
    package var createReports: Bool?
    package var reportType: String?
    package var createIndicators: Bool?
    package var createObservables: Bool?
    package var createObjectObservables: Bool?
    package var createTagsAsLabels: Bool?
    package var guessThreatsFromTags: Bool?
    package var authorFromTags: Bool?
    package var markingsFromTags: Bool?
    package var importToIdsNoScore: Int?
    package var unsupportedAsText: Bool?
    package var unsupportedAsTextTransparent: Bool?
    package var withAttachments: Bool?
    package init() {}
  }

  /// The conversion options: flags, then environment, then config.yml, then the defaults.
  package static func options(_ configuration: Configuration, flags: Flags) throws(ConfigError) -> MISPConversionSettings {
    // The official defaults are MISPConversionSettings()'s, stated there once.
    var options = MISPConversionSettings()
    let defaults = options
    let compat = try configuration.choice(
      compatibility, flag: flags.compatibility, choices: MISPConversionSettings.Compatibility.allCases.map(\.rawValue), default: defaults.compatibility.rawValue)
    options.compatibility = MISPConversionSettings.Compatibility(rawValue: compat) ?? .fixed
    options.createReports = try configuration.bool(createReports, flag: flags.createReports, default: defaults.createReports)
    options.reportType = configuration.string(reportType, flag: flags.reportType, default: defaults.reportType)
    options.createIndicators = try configuration.bool(createIndicators, flag: flags.createIndicators, default: defaults.createIndicators)
    options.createObservables = try configuration.bool(createObservables, flag: flags.createObservables, default: defaults.createObservables)
    options.createObjectObservables = try configuration.bool(
      createObjectObservables, flag: flags.createObjectObservables, default: defaults.createObjectObservables)
    options.createTagsAsLabels = try configuration.bool(createTagsAsLabels, flag: flags.createTagsAsLabels, default: defaults.createTagsAsLabels)
    options.guessThreatsFromTags = try configuration.bool(
      guessThreatsFromTags, flag: flags.guessThreatsFromTags, default: defaults.guessThreatsFromTags)
    options.authorFromTags = try configuration.bool(authorFromTags, flag: flags.authorFromTags, default: defaults.authorFromTags)
    options.markingsFromTags = try configuration.bool(markingsFromTags, flag: flags.markingsFromTags, default: defaults.markingsFromTags)
    if let flag = flags.importToIdsNoScore {
      options.importToIdsNoScore = flag
    } else if let (text, source) = configuration.lookup(importToIdsNoScore) {
      guard let value = Int(text.trimmingSpaces) else { throw ConfigError("\(source): '\(text)' is not a whole number") }
      options.importToIdsNoScore = value
    }
    options.importUnsupportedObservablesAsText = try configuration.bool(
      unsupportedAsText, flag: flags.unsupportedAsText, default: defaults.importUnsupportedObservablesAsText)
    options.importUnsupportedObservablesAsTextTransparent = try configuration.bool(
      unsupportedAsTextTransparent, flag: flags.unsupportedAsTextTransparent, default: defaults.importUnsupportedObservablesAsTextTransparent)
    options.importWithAttachments = try configuration.bool(withAttachments, flag: flags.withAttachments, default: defaults.importWithAttachments)
    return options
  }

  /// MISP_FEED_IMPORT_FROM_DATE as a Unix time: an ISO date or date-time, or an ISO-8601
  /// duration counted back from `now` (`P30D`).
  package static func importFrom(_ configuration: Configuration, flag: String?, now: ISO8601.Instant) throws(ConfigError)
    -> Int64?
  {
    guard let (text, source) = configuration.lookup(importFromDate, flag: flag) else { return nil }
    if let instant = ISO8601.parse(text.trimmingSpaces) { return instant.seconds }
    if let seconds = ISO8601.duration(text) { return now.seconds - Int64(seconds) }
    throw ConfigError("\(source): '\(text)' is neither an ISO-8601 date nor a duration such as P30D")
  }

  /// The misp-feed connector's S3 names: boto3's AWS_* variables, config.yml `misp_feed.aws.*`.
  package static let s3 = S3Keys(
    endpoint: s3Endpoint, region: s3Region, accessKey: s3AccessKey, secretKey: s3SecretKey)
}

/// cti-misp's settings, resolved once: where the events come from, how they are converted,
/// where the position is kept and how often the feed is read.
package struct MISPSettings: ToolSettings {
  /// What the command line said (nil: not given).
  package struct Flags: Sendable {
    package var feed: String?
    package var tls = TLSFlags()
    /// cti-misp's older `--[no-]ssl-verify`: the feed server's verification only (as
    /// MISP_FEED_SSL_VERIFY), never the OpenCTI that threat guessing asks.
    package var feedSSLVerify: Bool?
    package var authorizationHeader: String?
    /// `url` or `s3`.
    package var sourceType: String?
    package var bucket: String?
    package var prefix: String?
    package var s3 = S3Flags()
    package var deleteConsumed: Bool?
    package var state: String?
    package var commitOnWrite = false
    package var interval: String?
    package var importFromDate: String?
    package var conversion = MISPKeys.Flags()
    package var jobs: Int?
    /// `--max-file-bytes`, as given.
    package var maxFileBytes: String?
    /// `--input`: a file of MISP events instead of standard input.
    package var input: String?

    package init() {}
  }

  /// Where the events come from.
  package enum Source: Sendable {
    /// MISP events, one per line, from this file, or standard input (nil or `-`).
    case lines(input: String?)
    /// A feed folder (`manifest.json` and `<uuid>.json`).
    case folder(String)
    /// A feed on an http(s) server.
    case http(url: String, authorization: String?, client: HTTPClientSettings)
    /// Every object under a bucket prefix.
    case s3(bucket: String, prefix: String, endpoint: S3Endpoint, deleteConsumed: Bool)
  }

  package var conversion: MISPConversionSettings
  package var source: Source
  /// The first run's start in feed mode (Unix time), nil: the state's or now.
  package var importFrom: Int64?
  package var statePath: String?
  package var commitOnWrite: Bool
  package var schedule: Schedule
  /// Threads converting at once; nil: the pipeline's default.
  package var jobs: Int?
  /// Feed files and S3 objects over this size fail their event instead of being read whole.
  package var maxFileBytes: Int
  /// The TLS flags, also used for the OpenCTI asked by guess_threats_from_tags.
  package var tls: TLSFlags
  /// The time of the first run.
  package var now: ISO8601.Instant
  package var warnings: [String] = []

  package init(flags: Flags, configuration: Configuration, now: ISO8601.Instant = .now) throws(ConfigError) {
    self.now = now
    tls = flags.tls
    conversion = try MISPKeys.options(configuration, flags: flags.conversion)
    if conversion.guessThreatsFromTags, configuration.string(OpenCTIKeys.url) == nil {
      warnings.append(
        "guess_threats_from_tags is unavailable: it looks tag values up in OpenCTI and OPENCTI_URL (config opencti.url) is not set; ignored")
    }
    let sourceType = try configuration.choice(MISPKeys.sourceType, flag: flags.sourceType, choices: ["url", "s3"], default: "url")
    schedule = try Schedule.resolve(
      configuration, interval: flags.interval, loopingDefault: MISPKeys.defaultPeriod, legacy: MISPKeys.interval,
      legacyUnit: 60, warnings: &warnings)
    statePath = configuration.string(MISPKeys.state, flag: flags.state)
    commitOnWrite = flags.commitOnWrite
    jobs = flags.jobs
    maxFileBytes = try configuration.byteCount(
      InputLimitKeys.maxFileBytes, flag: flags.maxFileBytes, default: FileSystem.defaultMaxFileBytes)
    if let jobs, jobs < 1 { throw ConfigError("--jobs must be at least 1", fromCommandLine: true) }
    if flags.input != nil, sourceType == "s3" || configuration.string(MISPKeys.url, flag: flags.feed) != nil {
      throw ConfigError("--input reads MISP events from a file; a feed or a bucket is read instead", fromCommandLine: true)
    }
    if sourceType == "s3" {
      guard let bucket = configuration.string(MISPKeys.bucketName, flag: flags.bucket) else {
        throw ConfigError("S3 mode needs a bucket: --bucket or MISP_FEED_BUCKET_NAME")
      }
      source = .s3(
        bucket: bucket, prefix: configuration.string(MISPKeys.bucketPrefix, flag: flags.prefix) ?? "",
        endpoint: try S3Endpoint(keys: MISPKeys.s3, flags: flags.s3, configuration: configuration),
        deleteConsumed: try configuration.bool(MISPKeys.deleteConsumed, flag: flags.deleteConsumed, default: false))
    } else if let text = configuration.string(MISPKeys.url, flag: flags.feed) {
      switch try Location(text) {
      case .http(let url):
        var client = HTTPClientSettings()
        var feedTLS = flags.tls
        feedTLS.verify = feedTLS.verify ?? flags.feedSSLVerify
        try client.applyTLS(feedTLS, verify: MISPKeys.sslVerify, configuration)
        source = .http(
          url: url, authorization: configuration.string(MISPKeys.authorizationHeader, flag: flags.authorizationHeader),
          client: client)
      case .path(var path):
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        source = .folder(path)
      case .s3:
        throw ConfigError("a feed is an http(s) URL or a folder; for a bucket give --source s3 --bucket", fromCommandLine: true)
      }
      importFrom = try MISPKeys.importFrom(configuration, flag: flags.importFromDate, now: now)
    } else {
      if flags.interval != nil { throw ConfigError("--interval needs a feed (--feed) or --source s3", fromCommandLine: true) }
      source = .lines(input: flags.input == "-" ? nil : flags.input)
    }
  }
}
