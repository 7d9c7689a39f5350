/// cti-misp's settings: the official connector's environment names and config.yml keys.
public enum MISPKeys {
  public static let url = Setting(env: "MISP_FEED_URL", key: "misp_feed.url")
  public static let sourceType = Setting(env: "MISP_FEED_SOURCE_TYPE", key: "misp_feed.source_type")
  public static let sslVerify = Setting(env: "MISP_FEED_SSL_VERIFY", key: "misp_feed.ssl_verify")
  public static let authorizationHeader = Setting(
    env: "MISP_FEED_HTTP_AUTHORIZATION_HEADER", key: "misp_feed.http_authorization_header", secret: true)
  public static let importFromDate = Setting(env: "MISP_FEED_IMPORT_FROM_DATE", key: "misp_feed.import_from_date")
  public static let createReports = Setting(env: "MISP_FEED_CREATE_REPORTS", key: "misp_feed.create_reports")
  public static let reportType = Setting(env: "MISP_FEED_REPORT_TYPE", key: "misp_feed.report_type")
  public static let createIndicators = Setting(env: "MISP_FEED_CREATE_INDICATORS", key: "misp_feed.create_indicators")
  public static let createObservables = Setting(env: "MISP_FEED_CREATE_OBSERVABLES", key: "misp_feed.create_observables")
  public static let createObjectObservables = Setting(
    env: "MISP_FEED_CREATE_OBJECT_OBSERVABLES", key: "misp_feed.create_object_observables")
  public static let createTagsAsLabels = Setting(
    env: "MISP_FEED_CREATE_TAGS_AS_LABELS", key: "misp_feed.create_tags_as_labels")
  /// The official docker-compose.yml spells it GUESS_THREAT_FROM_TAGS, which the connector
  /// still accepts; both work, so that block can be kept as it is.
  public static let guessThreatsFromTags = Setting(
    env: "MISP_FEED_GUESS_THREATS_FROM_TAGS", "MISP_FEED_GUESS_THREAT_FROM_TAGS", key: "misp_feed.guess_threats_from_tags")
  public static let authorFromTags = Setting(env: "MISP_FEED_AUTHOR_FROM_TAGS", key: "misp_feed.author_from_tags")
  public static let markingsFromTags = Setting(env: "MISP_FEED_MARKINGS_FROM_TAGS", key: "misp_feed.markings_from_tags")
  public static let importToIdsNoScore = Setting(
    env: "MISP_FEED_IMPORT_TO_IDS_NO_SCORE", key: "misp_feed.import_to_ids_no_score")
  public static let unsupportedAsText = Setting(
    env: "MISP_FEED_IMPORT_UNSUPPORTED_OBSERVABLES_AS_TEXT", key: "misp_feed.import_unsupported_observables_as_text")
  public static let unsupportedAsTextTransparent = Setting(
    env: "MISP_FEED_IMPORT_UNSUPPORTED_OBSERVABLES_AS_TEXT_TRANSPARENT",
    key: "misp_feed.import_unsupported_observables_as_text_transparent")
  public static let withAttachments = Setting(
    env: "MISP_FEED_IMPORT_WITH_ATTACHMENTS", key: "misp_feed.import_with_attachments")
  public static let bucketName = Setting(env: "MISP_FEED_BUCKET_NAME", "MISP_BUCKET_NAME", key: "misp_feed.bucket_name")
  public static let bucketPrefix = Setting(
    env: "MISP_FEED_BUCKET_PREFIX", "MISP_BUCKET_PREFIX", key: "misp_feed.bucket_prefix")
  public static let s3Endpoint = Setting(env: "AWS_ENDPOINT_URL", key: "misp_feed.aws.endpoint_url")
  public static let s3AccessKey = Setting(env: "AWS_ACCESS_KEY_ID", key: "misp_feed.aws.access_key_id")
  public static let s3SecretKey = Setting(env: "AWS_SECRET_ACCESS_KEY", key: "misp_feed.aws.secret_access_key", secret: true)
  public static let s3Region = Setting(env: "AWS_REGION", "AWS_DEFAULT_REGION", key: "misp_feed.aws.region")
  public static let deleteConsumed = Setting(env: "CTI_MISP_DELETE_CONSUMED", key: "cti.misp_delete_consumed")
  public static let compatibility = Setting(env: "CTI_MISP_COMPAT", key: "cti.misp_compat")
  public static let state = Setting(env: "CTI_MISP_STATE", key: "cti.misp_state")
  /// The connector's old schedule setting, in minutes; CONNECTOR_DURATION_PERIOD replaces it.
  public static let interval = Setting(env: "MISP_FEED_INTERVAL", key: "misp_feed.interval")
  /// The official connector's period when none is set (its `duration_period` default, PT5M).
  public static let defaultPeriod = 300.0

  /// Flag values as parsed (nil: not given on the command line).
  public struct Flags: Sendable {
    public var compatibility: String?
    public var createReports: Bool?
    public var reportType: String?
    public var createIndicators: Bool?
    public var createObservables: Bool?
    public var createObjectObservables: Bool?
    public var createTagsAsLabels: Bool?
    public var guessThreatsFromTags: Bool?
    public var authorFromTags: Bool?
    public var markingsFromTags: Bool?
    public var importToIdsNoScore: Int?
    public var unsupportedAsText: Bool?
    public var unsupportedAsTextTransparent: Bool?
    public var withAttachments: Bool?
    public init() {}
  }

  /// The conversion options: flags, then environment, then config.yml, then the defaults.
  public static func options(_ configuration: Configuration, flags: Flags) throws(ConfigError) -> MISPConversionSettings {
    var options = MISPConversionSettings()
    let compat = try configuration.choice(
      compatibility, flag: flags.compatibility, choices: MISPConversionSettings.Compatibility.allCases.map(\.rawValue), default: "fixed")
    options.compatibility = MISPConversionSettings.Compatibility(rawValue: compat) ?? .fixed
    options.createReports = try configuration.bool(createReports, flag: flags.createReports, default: true)
    options.reportType = configuration.string(reportType, flag: flags.reportType, default: "misp-event")
    options.createIndicators = try configuration.bool(createIndicators, flag: flags.createIndicators, default: false)
    options.createObservables = try configuration.bool(createObservables, flag: flags.createObservables, default: false)
    options.createObjectObservables = try configuration.bool(
      createObjectObservables, flag: flags.createObjectObservables, default: false)
    options.createTagsAsLabels = try configuration.bool(createTagsAsLabels, flag: flags.createTagsAsLabels, default: true)
    options.guessThreatsFromTags = try configuration.bool(
      guessThreatsFromTags, flag: flags.guessThreatsFromTags, default: false)
    options.authorFromTags = try configuration.bool(authorFromTags, flag: flags.authorFromTags, default: false)
    options.markingsFromTags = try configuration.bool(markingsFromTags, flag: flags.markingsFromTags, default: false)
    if let flag = flags.importToIdsNoScore {
      options.importToIdsNoScore = flag
    } else if let (text, source) = configuration.lookup(importToIdsNoScore) {
      guard let value = Int(text.trimmingSpaces) else { throw ConfigError("\(source): '\(text)' is not a whole number") }
      options.importToIdsNoScore = value
    }
    options.importUnsupportedObservablesAsText = try configuration.bool(
      unsupportedAsText, flag: flags.unsupportedAsText, default: false)
    options.importUnsupportedObservablesAsTextTransparent = try configuration.bool(
      unsupportedAsTextTransparent, flag: flags.unsupportedAsTextTransparent, default: true)
    options.importWithAttachments = try configuration.bool(withAttachments, flag: flags.withAttachments, default: false)
    return options
  }

  /// MISP_FEED_IMPORT_FROM_DATE as a Unix time: an ISO date or date-time, or an ISO-8601
  /// duration counted back from `now` (`P30D`).
  public static func importFrom(_ configuration: Configuration, flag: String?, now: ISO8601.Instant) throws(ConfigError)
    -> Int64?
  {
    guard let (text, source) = configuration.lookup(importFromDate, flag: flag) else { return nil }
    if let instant = ISO8601.parse(text.trimmingSpaces) { return instant.seconds }
    if let seconds = ISO8601.duration(text) { return now.seconds - Int64(seconds) }
    throw ConfigError("\(source): '\(text)' is neither an ISO-8601 date nor a duration such as P30D")
  }

  /// The S3 endpoint: AWS_ENDPOINT_URL (`http[s]://host[:port]`, boto3's form) and the AWS keys.
  public static func s3Endpoint(_ configuration: Configuration, flag: String?) throws(ConfigError) -> S3Endpoint {
    guard let url = configuration.string(s3Endpoint, flag: flag) else {
      throw ConfigError("S3 mode needs an endpoint: --s3-endpoint or AWS_ENDPOINT_URL (http[s]://host[:port])")
    }
    var host = Substring(url)
    var ssl = true
    if host.hasPrefix("http://") {
      ssl = false
      host = host.dropFirst(7)
    } else if host.hasPrefix("https://") {
      host = host.dropFirst(8)
    }
    while host.hasSuffix("/") { host = host.dropLast() }
    var port: Int?
    if let colon = host.lastIndex(of: ":"), let number = Int(host[host.index(after: colon)...]) {
      port = number
      host = host[..<colon]
    }
    guard let access = configuration.string(s3AccessKey), let secret = configuration.string(s3SecretKey) else {
      throw ConfigError("S3 mode needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    }
    return S3Endpoint(
      host: String(host), port: port, useSSL: ssl, region: configuration.string(s3Region, default: "us-east-1"),
      accessKey: access, secretKey: secret, sessionToken: configuration.string(Setting(env: "AWS_SESSION_TOKEN")))
  }
}
