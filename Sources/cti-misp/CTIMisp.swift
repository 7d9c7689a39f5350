import ArgumentParser
import CTICore

@main
struct CTIMisp: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cti-misp",
    abstract: "Convert MISP feeds and events to STIX 2.1 bundles, one per line, as OpenCTI's misp-feed connector would.",
    discussion: """
      With --feed URL or DIR, reads manifest.json and converts every event newer than the \
      state's high-water mark (else MISP_FEED_IMPORT_FROM_DATE, else now), oldest first. With \
      --source s3, converts every object under a bucket prefix. Otherwise reads MISP events \
      ({"Event": …} or bare) from standard input, one per line. Ids equal the official \
      connector's; --compat official also reproduces its quirks.

      Settings: flags, then the official MISP_FEED_* environment variables, then config.yml \
      (misp_feed.*), then the official defaults.

      --guess-threats-from-tags asks the OpenCTI at OPENCTI_URL (token OPENCTI_TOKEN) for each \
      distinct tag value once per run; without OPENCTI_URL it warns and is ignored. A platform \
      that is down at start ends the run before any event (exit 69; 77 if the token is refused); \
      a lookup failing later skips that event without advancing the state (exit 1).

      Examples:
        cti-misp --feed https://feed.example.org/misp --state s.json | cti-push
        cti-misp --feed ./feed --import-from-date 2000-01-01 --create-indicators
        MISP_FEED_IMPORT_FROM_DATE=P30D cti-misp --feed /srv/feed --state s.json
        jq -c . events/*.json | cti-misp --create-indicators > bundles.ndjson
        cti-misp --source s3 --bucket misp --prefix events/ --delete-consumed
        cti-misp --compat official --feed ./feed --import-from-date 2024-01-01
        cti-misp --feed ./feed --jobs 1 --create-indicators   # one event at a time
        OPENCTI_URL=http://octi cti-misp --feed ./feed --guess-threats-from-tags

      With --state and stdout a pipe, the high-water mark goes down the pipe as checkpoint \
      records; give the last tool the same --state and it saves the mark once the bundles \
      before it are applied (cti-misp --feed F --state s.json | cti-push --state s.json). \
      Reading standard input, cti-misp passes checkpoints and other records through unchanged.

      A feed or bucket is read once by default. --interval (or CONNECTOR_DURATION_PERIOD, as \
      the official connector's schedule; MISP_FEED_INTERVAL in minutes is still read) runs \
      again that long after each run ends, each run ending with a checkpoint, until SIGTERM \
      (at once between runs): cti-misp --feed F --interval PT5M --state s.json | cti-push \
      --state s.json keeps a feed in sync. CONNECTOR_RUN_AND_TERMINATE=true runs once.

      \(ExitStatus.helpSection)
      """,
    version: CTIVersion.current
  )

  @Option(name: .long, help: ArgumentHelp("The feed: an http(s) URL or a folder holding manifest.json (env MISP_FEED_URL, config misp_feed.url).", valueName: "url|dir"))
  var feed: String?

  @Flag(inversion: .prefixedNo, help: "Check the feed server's TLS certificate (env MISP_FEED_SSL_VERIFY; default on).")
  var sslVerify: Bool?

  @Option(help: ArgumentHelp("Trust this CA bundle (PEM) for the feed server.", valueName: "file"))
  var caBundle: String?

  @Option(help: ArgumentHelp("Authorization header value sent to the feed server, e.g. 'Basic …' (env MISP_FEED_HTTP_AUTHORIZATION_HEADER).", valueName: "value"))
  var httpAuthorizationHeader: String?

  @Option(name: .long, help: ArgumentHelp("url (default: --feed or stdin) or s3 (env MISP_FEED_SOURCE_TYPE).", valueName: "type"))
  var source: String?

  @Option(help: ArgumentHelp("S3 mode: the bucket (env MISP_FEED_BUCKET_NAME or MISP_BUCKET_NAME).", valueName: "name"))
  var bucket: String?

  @Option(help: ArgumentHelp("S3 mode: only keys under this prefix (env MISP_FEED_BUCKET_PREFIX or MISP_BUCKET_PREFIX).", valueName: "prefix"))
  var prefix: String?

  @Option(help: ArgumentHelp("S3 mode: the endpoint, http[s]://host[:port] (env AWS_ENDPOINT_URL).", valueName: "url"))
  var s3Endpoint: String?

  @Flag(inversion: .prefixedNo, help: "S3 mode: delete each object once its bundle is written and flushed, as the official connector always does (default off).")
  var deleteConsumed: Bool?

  @Option(name: .long, help: ArgumentHelp("Keep the high-water mark here (official keys last_run, last_event, last_event_timestamp).", valueName: "file"))
  var state: String?

  @Option(help: ArgumentHelp("Feed and S3 modes: run again this long after each run ends, ISO-8601 or seconds, e.g. PT5M; 0: one run (env CONNECTOR_DURATION_PERIOD; default: one run, or every PT5M with CONNECTOR_RUN_AND_TERMINATE=false).", valueName: "duration"))
  var interval: String?

  @Option(name: .long, help: ArgumentHelp("First-run start: an ISO date/date-time or a duration such as P30D (env MISP_FEED_IMPORT_FROM_DATE).", valueName: "date"))
  var importFromDate: String?

  @Option(name: .long, help: ArgumentHelp("fixed (default) or official: reproduce the official connector's output, quirks included.", valueName: "mode"))
  var compat: String?

  @Flag(inversion: .prefixedNo, help: "Wrap each event in a report (env MISP_FEED_CREATE_REPORTS; default on).")
  var createReports: Bool?

  @Option(help: ArgumentHelp("report_types of the reports (env MISP_FEED_REPORT_TYPE; default misp-event).", valueName: "type"))
  var reportType: String?

  @Flag(inversion: .prefixedNo, help: "Create indicators (env MISP_FEED_CREATE_INDICATORS; default off).")
  var createIndicators: Bool?

  @Flag(inversion: .prefixedNo, help: "Create observables (env MISP_FEED_CREATE_OBSERVABLES; default off).")
  var createObservables: Bool?

  @Flag(inversion: .prefixedNo, help: "A Text observable per MISP object (env MISP_FEED_CREATE_OBJECT_OBSERVABLES; default off).")
  var createObjectObservables: Bool?

  @Flag(inversion: .prefixedNo, help: "Tags become labels (env MISP_FEED_CREATE_TAGS_AS_LABELS; default on).")
  var createTagsAsLabels: Bool?

  @Flag(inversion: .prefixedNo, help: "Look tag values up in the OpenCTI at OPENCTI_URL (with OPENCTI_TOKEN) and add the intrusion sets, malware, tools and attack patterns found (env MISP_FEED_GUESS_THREATS_FROM_TAGS; default off).")
  var guessThreatsFromTags: Bool?

  @Flag(inversion: .prefixedNo, help: "A creator=<name> tag names the author (env MISP_FEED_AUTHOR_FROM_TAGS; default off).")
  var authorFromTags: Bool?

  @Flag(inversion: .prefixedNo, help: "marking:<type>=<name> tags become markings (env MISP_FEED_MARKINGS_FROM_TAGS; default off).")
  var markingsFromTags: Bool?

  @Option(help: ArgumentHelp("Score of attributes with to_ids false (env MISP_FEED_IMPORT_TO_IDS_NO_SCORE).", valueName: "score"))
  var importToIdsNoScore: Int?

  @Flag(inversion: .prefixedNo, help: "Unsupported attribute types become Text observables (env MISP_FEED_IMPORT_UNSUPPORTED_OBSERVABLES_AS_TEXT; default off).")
  var importUnsupportedObservablesAsText: Bool?

  @Flag(inversion: .prefixedNo, help: "Object Text value is the first attribute's value (env MISP_FEED_IMPORT_UNSUPPORTED_OBSERVABLES_AS_TEXT_TRANSPARENT; default on).")
  var importUnsupportedObservablesAsTextTransparent: Bool?

  @Flag(inversion: .prefixedNo, help: "PDF attachments go into the report's x_opencti_files (env MISP_FEED_IMPORT_WITH_ATTACHMENTS; default off).")
  var importWithAttachments: Bool?

  @Option(help: ArgumentHelp("Events converted at once in feed and S3 modes (default: the processors available, at most 4); 1 converts one at a time. Output order is the same.", valueName: "n"))
  var jobs: Int?

  @OptionGroup var sourceState: SourceStateOptions

  @OptionGroup var common: CommonOptions

  func validate() throws {
    if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
  }

  func run() throws {
    try ToolMain.run(tool: "cti-misp") {
      let configuration = try common.configuration()
      let diagnostics = try common.diagnostics(tool: "cti-misp", configuration: configuration)
      var flags = MISPKeys.Flags()
      flags.compatibility = compat
      flags.createReports = createReports
      flags.reportType = reportType
      flags.createIndicators = createIndicators
      flags.createObservables = createObservables
      flags.createObjectObservables = createObjectObservables
      flags.createTagsAsLabels = createTagsAsLabels
      flags.guessThreatsFromTags = guessThreatsFromTags
      flags.authorFromTags = authorFromTags
      flags.markingsFromTags = markingsFromTags
      flags.importToIdsNoScore = importToIdsNoScore
      flags.unsupportedAsText = importUnsupportedObservablesAsText
      flags.unsupportedAsTextTransparent = importUnsupportedObservablesAsTextTransparent
      flags.withAttachments = importWithAttachments
      let options = try MISPKeys.options(configuration, flags: flags)
      var threatGuesser: MISPThreatGuesser?
      if options.guessThreatsFromTags {
        threatGuesser = try MISPThreatGuesser.connect(configuration, logger: diagnostics.logger)
        if threatGuesser == nil {
          diagnostics.warning("guess_threats_from_tags is unavailable: it looks tag values up in OpenCTI and OPENCTI_URL (config opencti.url) is not set; ignored")
        }
      }
      let sourceType = try configuration.choice(MISPKeys.sourceType, flag: source, choices: ["url", "s3"], default: "url")
      var warnings: [String] = []
      let schedule = try Schedule.resolve(
        configuration, interval: interval, loopingDefault: MISPKeys.defaultPeriod, legacy: MISPKeys.interval,
        legacyUnit: 60, warnings: &warnings)
      for warning in warnings { diagnostics.warning(warning) }
      let now = ISO8601.Instant.now
      let writer = RecordWriter()
      let state = try SourceState(
        path: configuration.string(MISPKeys.state, flag: self.state), tool: "cti-misp", output: writer,
        commitOnWrite: sourceState.commitOnWrite)
      let run = try MISPRun(
        converter: MISPConverter(options: options, threatGuesser: threatGuesser), writer: writer, diagnostics: diagnostics,
        state: state, now: now)
      if let jobs { run.jobs = jobs }
      let convert: () throws -> Void
      if sourceType == "s3" {
        guard let bucketName = configuration.string(MISPKeys.bucketName, flag: bucket) else {
          throw ConfigError("S3 mode needs a bucket: --bucket or MISP_FEED_BUCKET_NAME")
        }
        let endpoint = try MISPKeys.s3Endpoint(configuration, flag: s3Endpoint)
        let client = S3Client(endpoint: endpoint, http: HTTPClient(logger: diagnostics.logger))
        let bucketPrefix = configuration.string(MISPKeys.bucketPrefix, flag: prefix) ?? ""
        let delete = try configuration.bool(MISPKeys.deleteConsumed, flag: deleteConsumed, default: false)
        convert = { try run.convertS3(client: client, bucket: bucketName, prefix: bucketPrefix, deleteConsumed: delete) }
      } else if let location = configuration.string(MISPKeys.url, flag: feed) {
        let feedSource: MISPFeedSource
        if location.hasPrefix("http://") || location.hasPrefix("https://") {
          var httpOptions = HTTPClientSettings()
          httpOptions.insecure = !(try configuration.bool(MISPKeys.sslVerify, flag: sslVerify, default: true))
          httpOptions.caBundle = caBundle
          feedSource = MISPHTTPSource(
            url: location,
            authorization: configuration.string(MISPKeys.authorizationHeader, flag: httpAuthorizationHeader),
            client: HTTPClient(options: httpOptions, logger: diagnostics.logger))
        } else {
          var path = location
          if path.hasPrefix("file://") { path.removeFirst("file://".count) }
          while path.count > 1, path.hasSuffix("/") { path.removeLast() }
          switch FileSystem.kind(of: path) {
          case .folder: break
          case .missing: throw MISPFetchError("feed folder \(path) does not exist")
          case .other: throw NotAFolderError(path, expected: "a MISP feed folder: manifest.json and <uuid>.json files")
          }
          feedSource = MISPDirectorySource(path: path)
        }
        let importFrom = try MISPKeys.importFrom(configuration, flag: importFromDate, now: now)
        convert = { try run.convertFeed(feedSource, importFrom: importFrom) }
      } else {
        if interval != nil { throw ConfigError("--interval needs a feed (--feed) or --source s3", fromCommandLine: true) }
        diagnostics.noteTerminalInput("MISP events, one JSON event per line ({\"Event\": …}; --feed URL|DIR reads a feed)")
        try run.convertLines(LineReader())
        if !common.quiet { diagnostics.logger.info("\(run.summary.description)") }
        return diagnostics.finalStatus
      }
      let scheduler = Scheduler(schedule: schedule, logger: diagnostics.logger)
      run.checkpointEachRun = schedule.isPeriodic
      try scheduler.run { number in
        guard schedule.isPeriodic else {
          try convert()
          return .stop
        }
        if number > 1 { run.beginRun() }
        let before = run.summary
        do {
          try convert()
        } catch where MISPRun.mayPassOnError(error) {
          // A feed that cannot be read now may be readable at the next run.
          diagnostics.error("run \(number): \(error); trying again at the next run")
        }
        let after = run.summary
        diagnostics.logger.info(
          "run \(number): \(after.converted - before.converted) events converted, \(after.failed.count - before.failed.count) failed, \(after.skipped - before.skipped) already imported")
        return after.stopReason == nil ? .again : .stop
      }
      try run.finish()
      if !common.quiet {
        var text = run.summary.description
        if let runs = scheduler.summary { text += "; " + runs }
        if scheduler.stoppedWaiting {
          text += "; stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal") between runs"
        }
        diagnostics.logger.info("\(text)")
      }
      return diagnostics.finalStatus
    }
  }
}
