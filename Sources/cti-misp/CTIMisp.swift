import ArgumentParser
import CTICommand
import CTICore

@main
struct CTIMisp: Tool, ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "cti-misp",
    abstract: "Convert MISP feeds and events to STIX 2.1 bundles, one per line, as OpenCTI's misp-feed connector would.",
    discussion: MISPHelp.discussion,
    version: CTIVersion.current
  )

  @Option(name: .long, help: ArgumentHelp("The feed: an http(s) URL or a folder holding manifest.json (env MISP_FEED_URL, config misp_feed.url).", valueName: "url|dir"))
  var feed: String?

  @OptionGroup(title: "TLS (the feed server, and OpenCTI for --guess-threats-from-tags)") var tls: TLSOptions

  /// The older spelling of MISP_FEED_SSL_VERIFY, which only ever concerned the feed.
  @Flag(name: .customLong("ssl-verify"), inversion: .prefixedNo, help: .hidden)
  var sslVerify: Bool?

  @Option(help: ArgumentHelp("Authorization header value sent to the feed server, e.g. 'Basic …' (env MISP_FEED_HTTP_AUTHORIZATION_HEADER).", valueName: "value"))
  var httpAuthorizationHeader: String?

  @Option(name: .long, help: ArgumentHelp("url (default: --feed or stdin) or s3 (env MISP_FEED_SOURCE_TYPE).", valueName: "type"))
  var source: String?

  @Option(help: ArgumentHelp("S3 mode: the bucket (env MISP_FEED_BUCKET_NAME or MISP_BUCKET_NAME).", valueName: "name"))
  var bucket: String?

  @Option(help: ArgumentHelp("S3 mode: only keys under this prefix (env MISP_FEED_BUCKET_PREFIX or MISP_BUCKET_PREFIX).", valueName: "prefix"))
  var prefix: String?

  @OptionGroup(title: "S3 mode") var s3: S3Options<MISPS3Names>

  @Flag(inversion: .prefixedNo, help: "S3 mode: delete each object once its bundle is written and flushed, as the official connector always does (env CTI_MISP_DELETE_CONSUMED; default off).")
  var deleteConsumed: Bool?

  @Option(name: .long, help: ArgumentHelp("Keep the high-water mark here (official keys last_run, last_event, last_event_timestamp; env CTI_MISP_STATE).", valueName: "file"))
  var state: String?

  @OptionGroup var schedule: ScheduleOptions

  @Option(name: .long, help: ArgumentHelp("First-run start: an ISO date/date-time or a duration such as P30D (env MISP_FEED_IMPORT_FROM_DATE).", valueName: "date"))
  var importFromDate: String?

  @OptionGroup(title: "Conversion") var conversion: MISPConversionOptions

  @Option(help: ArgumentHelp("Events converted at once in feed and S3 modes (default: the processors available, at most \(MISPRun.maxDefaultJobs)); 1 converts one at a time. Output order is the same.", valueName: "n"))
  var jobs: Int?

  @OptionGroup var input: InputOptions

  @OptionGroup var limits: FileLimitOptions

  @OptionGroup var sourceState: SourceStateOptions

  @OptionGroup var common: CommonOptions

  func validate() throws {
    if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
  }

  func settings(_ configuration: Configuration) throws -> MISPSettings {
    var flags = MISPSettings.Flags()
    flags.feed = feed
    flags.tls = tls.flags
    flags.feedSSLVerify = sslVerify
    flags.authorizationHeader = httpAuthorizationHeader
    flags.sourceType = source
    flags.bucket = bucket
    flags.prefix = prefix
    flags.s3 = s3.flags
    flags.deleteConsumed = deleteConsumed
    flags.state = state
    flags.commitOnWrite = sourceState.commitOnWrite
    flags.interval = schedule.interval
    flags.importFromDate = importFromDate
    flags.conversion = conversion.flags
    flags.jobs = jobs
    flags.input = input.path
    flags.maxFileBytes = limits.maxFileBytes
    return try MISPSettings(flags: flags, configuration: configuration)
  }

  func run(_ settings: MISPSettings, _ tool: ToolContext) throws -> ExitStatus {
    let run = try MISPRun.make(settings: settings, configuration: tool.configuration, diagnostics: tool.diagnostics)
    tool.summarize { run.runSummary }
    return try run.run(settings)
  }
}

enum MISPS3Names: S3SettingNames { static let keys = MISPKeys.s3 }
