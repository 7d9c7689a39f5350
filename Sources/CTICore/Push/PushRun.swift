import Logging

/// Where each cti-push setting comes from (flag > environment > config.yml > default). The
/// names are the official connectors': `CONNECTOR_*` and the diode importer's
/// `DIODE_IMPORT_APPLICANT_MAPPINGS`; the platform's are `OpenCTISettings`.
public enum PushSettingKeys {
  public static let connectorId = Setting(env: "CONNECTOR_ID", key: "connector.id")
  public static let connectorName = Setting(env: "CONNECTOR_NAME", key: "connector.name")
  public static let connectorType = Setting(env: "CONNECTOR_TYPE", key: "connector.type")
  public static let connectorScope = Setting(env: "CONNECTOR_SCOPE", key: "connector.scope")
  public static let applicantMappings = Setting(env: "DIODE_IMPORT_APPLICANT_MAPPINGS", key: "diode_import.applicant_mappings")
  public static let batchSize = Setting(env: "CTI_PUSH_BATCH_SIZE", key: "cti_push.batch_size")
  public static let maxBytes = Setting(env: "CTI_PUSH_MAX_BYTES", key: "cti_push.max_bytes")
  public static let applyDeletes = Setting(env: "CTI_PUSH_APPLY_DELETES", key: "cti_push.apply_deletes")
  public static let applyMerges = Setting(env: "CTI_PUSH_APPLY_MERGES", key: "cti_push.apply_merges")
  public static let pingInterval = Setting(env: "CTI_PUSH_PING_INTERVAL", key: "cti_push.ping_interval")
  public static let requestTimeout = Setting(env: "CTI_PUSH_REQUEST_TIMEOUT", key: "cti_push.request_timeout")
  public static let maxOutage = Setting(env: "CTI_PUSH_MAX_OUTAGE", key: "cti_push.max_outage")
  public static let flushDelay = Setting(env: "CTI_PUSH_FLUSH_DELAY", key: "cti_push.flush_delay")
  /// pycti's name and key; MB.
  public static let queueThreshold = Setting(env: "CONNECTOR_QUEUE_THRESHOLD", key: "connector.queue_threshold")
  public static let queueCheckInterval = Setting(env: "CTI_PUSH_QUEUE_CHECK_INTERVAL", key: "cti_push.queue_check_interval")
}

/// The settings of one push run, resolved.
public struct PushSettings: Sendable {
  public var url: String
  public var token: String
  public var connector: ConnectorRegistration
  public var pipeline: PushPipeline.Options
  public var pingInterval: Double
  /// Seconds one GraphQL request may take (pycti uses 300).
  public var requestTimeout: Double
  /// TLS and timeouts for the platform's connections.
  public var http: HTTPClientOptions
  /// Seconds the input may pause before collected objects are pushed anyway.
  public var flushDelay = 1.0
  /// `api` (stixBundlePush, the default) or `amqp` (publish into the platform's RabbitMQ).
  public var queueProtocol: QueueProtocol = .api
  /// The MQ_* overrides and TLS settings for `amqp`.
  public var amqp = AMQPSettings()
  /// Input pauses while the connector's queue holds this many MB or more
  /// (CONNECTOR_QUEUE_THRESHOLD, 500 as in pycti).
  public var queueThreshold = QueueBackPressure.defaultThreshold
  /// Seconds between two reads of the queue's size.
  public var queueCheckInterval = QueueBackPressure.defaultCheckInterval
  /// CONNECTOR_RUN_AND_TERMINATE, reported in the pings' connector info.
  public var runAndTerminate = false

  /// Resolves the connector and push settings; `flags` are the command-line values (nil when
  /// not given). URL, token and connector id are required unless `offline` (a dry run).
  public static func resolve(
    _ configuration: Configuration, url: String?, token: String?, connectorId: String?, connectorName: String?,
    connectorType: String?, connectorScope: String?, applicantMap: String?, batchSize: Int?, maxBytes: Int?,
    applyDeletes: Bool?, applyMerges: Bool?, pingInterval: String?, requestTimeout: String? = nil,
    maxOutage: String? = nil, flushDelay: String? = nil, http: HTTPClientOptions = HTTPClientOptions(),
    queueProtocol: String? = nil, queueThreshold: String? = nil, queueCheckInterval: String? = nil, offline: Bool,
    warnings: inout [String]
  ) throws(ConfigError) -> PushSettings {
    let url = try required(configuration, OpenCTISettings.url, url, flag: "url", offline: offline)
    let token = try required(configuration, OpenCTISettings.token, token, flag: "token", offline: offline)
    let id = try required(configuration, PushSettingKeys.connectorId, connectorId, flag: "connector-id", offline: offline)
    let typeText = configuration.string(PushSettingKeys.connectorType, flag: connectorType, default: ConnectorType.externalImport.rawValue)
    guard let type = ConnectorType(parsing: typeText) else {
      throw ConfigError("connector type '\(typeText)' is not one of \(ConnectorType.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    let name = configuration.string(PushSettingKeys.connectorName, flag: connectorName, default: "cti-push")
    guard name.count >= 2 else { throw ConfigError("connector name '\(name)' is too short (OpenCTI wants 2 characters or more)") }
    let connector = ConnectorRegistration(
      id: id.isEmpty ? "dry-run" : id, name: name, type: type,
      scope: configuration.list(PushSettingKeys.connectorScope, flag: connectorScope))
    var chosenProtocol = try QueueProtocol.resolve(configuration, flag: queueProtocol, warnings: &warnings)
    if chosenProtocol == .amqp, offline {
      warnings.append("--dry-run shows the stixBundlePush requests: AMQP messages are not rehearsed")
      chosenProtocol = .api
    }
    // Over AMQP each bundle is split by pycti's splitter as a whole (as pycti does), so by
    // default bundles are not cut into batches first.
    let wholeBundles = chosenProtocol == .amqp
    let objects = try configuration.int(
      PushSettingKeys.batchSize, flag: batchSize, default: wholeBundles ? Int(Int32.max) : BundleBatcher.defaultMaxObjects)
    let bytes = try configuration.int(
      PushSettingKeys.maxBytes, flag: maxBytes, default: wholeBundles ? LineReader.defaultMaxLineBytes : BundleBatcher.defaultMaxBytes)
    guard objects >= 1 else { throw ConfigError("--batch-size must be 1 or more", fromCommandLine: batchSize != nil) }
    guard bytes >= 1024 else { throw ConfigError("--max-bytes must be at least 1024", fromCommandLine: maxBytes != nil) }
    var applicants = ApplicantMap()
    if let text = configuration.string(PushSettingKeys.applicantMappings, flag: applicantMap) {
      applicants = ApplicantMap(parsing: text, warnings: &warnings)
    }
    let options = PushPipeline.Options(
      batcher: BundleBatcher(maxObjects: objects, maxBytes: bytes),
      applyDeletes: try configuration.bool(PushSettingKeys.applyDeletes, flag: applyDeletes, default: false),
      applyMerges: try configuration.bool(PushSettingKeys.applyMerges, flag: applyMerges, default: false),
      applicants: applicants,
      outageTolerance: try configuration.duration(PushSettingKeys.maxOutage, flag: maxOutage, default: 900) ?? 900)
    let interval = try configuration.duration(PushSettingKeys.pingInterval, flag: pingInterval, default: ConnectorPinger.defaultInterval)
      ?? ConnectorPinger.defaultInterval
    guard interval > 0 else { throw ConfigError("the ping interval must be more than 0 seconds") }
    let timeout = try configuration.duration(PushSettingKeys.requestTimeout, flag: requestTimeout, default: 300) ?? 300
    guard timeout > 0 else { throw ConfigError("the request timeout must be more than 0 seconds") }
    let delay = try configuration.duration(PushSettingKeys.flushDelay, flag: flushDelay, default: 1) ?? 1
    guard delay > 0 else { throw ConfigError("the flush delay must be more than 0 seconds", fromCommandLine: flushDelay != nil) }
    var threshold = QueueBackPressure.defaultThreshold
    if let (text, source) = configuration.lookup(PushSettingKeys.queueThreshold, flag: queueThreshold) {
      guard let value = Double(text.trimmingSpaces), value > 0, value.isFinite else {
        throw ConfigError("\(source): the queue threshold must be a number of MB above 0, not '\(text)'", fromCommandLine: source == Configuration.commandLine)
      }
      threshold = value
    }
    let check = try configuration.duration(
      PushSettingKeys.queueCheckInterval, flag: queueCheckInterval, default: QueueBackPressure.defaultCheckInterval)
      ?? QueueBackPressure.defaultCheckInterval
    guard check > 0 else { throw ConfigError("the queue check interval must be more than 0 seconds", fromCommandLine: queueCheckInterval != nil) }
    var http = http
    http.requestTimeout = timeout
    http.userAgent = "cti-push/0.1 (libcurl)"
    return PushSettings(
      url: url, token: token, connector: connector, pipeline: options, pingInterval: interval, requestTimeout: timeout,
      http: http, flushDelay: delay, queueProtocol: chosenProtocol,
      amqp: chosenProtocol == .amqp ? try AMQPSettings.resolve(configuration) : AMQPSettings(),
      queueThreshold: threshold, queueCheckInterval: check,
      runAndTerminate: try configuration.bool(Schedule.runAndTerminate, default: false))
  }
}

extension PushSettings {
  fileprivate static func required(
    _ configuration: Configuration, _ setting: Setting, _ value: String?, flag: String, offline: Bool
  ) throws(ConfigError) -> String {
    if let text = configuration.string(setting, flag: value), !text.trimmingSpaces.isEmpty { return text.trimmingSpaces }
    if offline { return "" }
    throw ConfigError("\(setting.environment[0]) is required (--\(flag) or the environment variable)")
  }
}

/// One cti-push run: start the session, ping in the background, feed every input line to the
/// pipeline, close the works (in error when something was rejected) and report.
public final class PushRun {
  public let settings: PushSettings
  public let session: PushSession
  /// The AMQP target when the queue protocol is `amqp` (nil: stixBundlePush through `session`).
  public let amqp: AMQPPushTarget?
  public let pipeline: PushPipeline
  public let pinger: ConnectorPinger?
  /// Pauses the input while the connector's queue is full (nil in a dry run).
  public let backPressure: QueueBackPressure?
  private let diagnostics: Diagnostics
  private let rejects: RejectFile?
  /// Why reading stopped early, for the summary.
  public private(set) var stopReason: String?
  /// Records taken in when the input last went idle with everything pushed: a burst of input
  /// after it is a new run in the pings' `last_run_datetime`.
  private var recordsAtLastRun = 0
  /// The transport only prints the requests (`--dry-run`): the messages say what would be done,
  /// and the platform version, which the transport makes up, is not shown.
  public let dryRun: Bool

  /// `transport` carries the run's requests; `pingTransport`, when given, carries the pings
  /// from their own thread.
  public init(
    settings: PushSettings, transport: GraphQLTransport, pingTransport: GraphQLTransport?, diagnostics: Diagnostics,
    rejects: RejectFile?, checkpoints: CheckpointCommitter? = nil, dryRun: Bool = false
  ) {
    self.settings = settings
    self.dryRun = dryRun
    self.diagnostics = diagnostics
    self.rejects = rejects
    session = PushSession(client: OpenCTIClient(transport: transport), connector: settings.connector)
    amqp = settings.queueProtocol == .amqp ? AMQPPushTarget(session: session, settings: settings.amqp, logger: diagnostics.logger) : nil
    pipeline = PushPipeline(
      target: amqp ?? session, connector: settings.connector, options: settings.pipeline, diagnostics: diagnostics,
      rejects: rejects, checkpoints: checkpoints)
    let info = ConnectorInfo(runAndTerminate: settings.runAndTerminate, queueThreshold: settings.queueThreshold)
    let pinger = pingTransport.map {
      ConnectorPinger(
        client: OpenCTIClient(transport: $0), connectorId: settings.connector.id, interval: settings.pingInterval, info: info,
        logger: diagnostics.logger)
    }
    self.pinger = pinger
    // The queue is read over the run's own transport, between records, on the reading thread.
    backPressure = pingTransport == nil ? nil : QueueBackPressure(
      threshold: settings.queueThreshold, checkInterval: settings.queueCheckInterval, client: session.client,
      connectorIds: { [session] in Array(session.registrations.keys).sorted() }, pinger: pinger, logger: diagnostics.logger)
  }

  /// Runs over the input files in turn (`-` is stdin) and returns the exit status.
  public func run(readers paths: [String]) throws -> ExitStatus {
    do {
      if let amqp { try amqp.start() } else { try session.start() }
    } catch {
      // Nothing can be sent. With a reject file every record read goes there; without one,
      // nothing is read. Either way no checkpoint is committed.
      guard rejects != nil else { throw error }
      diagnostics.error("\(error); every record goes to the reject file")
      pipeline.abandon(because: error)
      try readAll(paths)
      try pipeline.finish()
      return error.exitStatus
    }
    if dryRun {
      diagnostics.logger.info(
        "dry run: nothing is sent; the requests that would be sent as connector \(settings.connector.name) (\(settings.connector.id)) go to stdout")
    } else {
      diagnostics.logger.info(
        "pushing to OpenCTI \(session.platformVersion ?? "?") as connector \(settings.connector.name) (\(settings.connector.id))")
    }
    // The first ping, right after registering, already tells the queue's size.
    backPressure?.check()
    pinger?.start()
    defer { pinger?.stop() }
    do {
      try readAll(paths)
      try pipeline.finish()
    } catch {
      // --strict stopped the run, or the output failed. Objects collected from the good lines
      // before the bad one are still pushed (or rejected); the works get closed, in error.
      if error is StrictStop {
        do { try pipeline.finish() } catch { diagnostics.error("pushing the objects read before the stop failed: \(error)") }
      }
      closeWorks(rejected: max(diagnostics.skipped, 1))
      throw error
    }
    if pipeline.platformFailure == nil || !session.works.isEmpty {
      closeWorks(rejected: diagnostics.skipped)
    }
    if let pinger, pipeline.platformFailure == nil {
      // As pycti's force_ping at the end of a run: the platform shows this run as the last one.
      pinger.stop()
      pinger.update { $0.lastRun = .now }
      pinger.pingNow()
    }
    return pipeline.platformFailure?.exitStatus ?? diagnostics.finalStatus
  }

  private func closeWorks(rejected: Int) {
    let message = rejected > 0 ? "\(rejected) record(s) could not be pushed" : "Connector successfully run"
    do {
      // Over AMQP the works close only once the broker has confirmed every message.
      if let amqp {
        try amqp.finish(inError: rejected > 0, message: message)
      } else {
        try session.finish(inError: rejected > 0, message: message)
      }
    } catch {
      diagnostics.error("closing the works failed: \(error)")
    }
    amqp?.close()
  }

  /// Feeds every line to the pipeline. Collected objects are pushed whenever the input pauses
  /// for `settings.flushDelay`; a stop signal ends the input after the current record.
  private func readAll(_ paths: [String]) throws {
    for path in paths {
      let reader = path == "-" ? LineReader() : try LineReader(path: path)
      reader.idleInterval = settings.flushDelay
      reader.idle = { [self] in
        try pipeline.flushIdle()
        if pipeline.counts.records != recordsAtLastRun {
          // Everything read so far is pushed and nothing more comes: a run of the source ended.
          recordsAtLastRun = pipeline.counts.records
          pinger?.update { $0.lastRun = .now }
        }
      }
      reader.overlongLines = rejects
      while true {
        if let backPressure, !(try backPressure.waitWhileFull(drain: { try pipeline.flushIdle() })) {
          stopReason = "stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal") while the connector queue was full"
          return
        }
        guard let line = try reader.next(reportingTo: diagnostics) else { break }
        try rejects?.checkOverlong()
        try pipeline.process(line)
      }
      try rejects?.checkOverlong()
      if reader.stoppedBySignal {
        stopReason = "stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal")"
        return
      }
    }
  }

  /// The summary line: `N records, N bundles, N objects pushed, N rejected, N works opened`;
  /// a dry run says `dry run: …` and what would have been pushed, opened, deleted and merged.
  public var summary: String {
    let counts = pipeline.counts
    let done = dryRun ? "would be " : ""
    var text = dryRun ? "dry run: " : ""
    text += "\(counts.records) records, \(counts.bundles) bundles, \(counts.objects) objects \(done)pushed, "
    text += "\(diagnostics.skipped) rejected"
    if let rejects { text += " (\(rejects.count) in \(rejects.path))" }
    text += ", \(session.works.count) works \(done)opened"
    if let amqp {
      text += ", \(amqp.counts.messages) messages published over AMQP"
      if amqp.counts.incompatible > 0 { text += ", \(amqp.counts.incompatible) objects OpenCTI would not import" }
    }
    if counts.deletes > 0 { text += ", \(counts.deletes) \(done)deleted" }
    if counts.merges > 0 { text += ", \(counts.merges) \(done)merged" }
    if counts.deletesSkipped > 0 { text += ", \(counts.deletesSkipped) deletes skipped (--apply-deletes)" }
    if counts.mergesSkipped > 0 { text += ", \(counts.mergesSkipped) merges skipped (--apply-merges)" }
    if let checkpoints = pipeline.checkpoints?.summary { text += ", " + checkpoints }
    if let paused = backPressure?.summary { text += ", " + paused }
    if let stopReason { text += "; " + stopReason }
    return text
  }
}
