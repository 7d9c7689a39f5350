/// Where each cti-push setting comes from (flag > environment > config.yml > default). The
/// names are the official connectors': `CONNECTOR_*` (`ConnectorKeys`) and the diode importer's
/// `DIODE_IMPORT_APPLICANT_MAPPINGS`; the platform's are `OpenCTIKeys`.
package enum PushKeys {
  package static let applicantMappings = Setting(env: "DIODE_IMPORT_APPLICANT_MAPPINGS", key: "diode_import.applicant_mappings")
  package static let batchSize = Setting(env: "CTI_PUSH_BATCH_SIZE", key: "cti_push.batch_size")
  package static let maxBytes = Setting(env: "CTI_PUSH_MAX_BYTES", key: "cti_push.max_bytes")
  package static let applyDeletes = Setting(env: "CTI_PUSH_APPLY_DELETES", key: "cti_push.apply_deletes")
  package static let applyMerges = Setting(env: "CTI_PUSH_APPLY_MERGES", key: "cti_push.apply_merges")
  package static let pingInterval = Setting(env: "CTI_PUSH_PING_INTERVAL", key: "cti_push.ping_interval")
  package static let requestTimeout = Setting(env: "CTI_PUSH_REQUEST_TIMEOUT", key: "cti_push.request_timeout")
  package static let maxOutage = Setting(env: "CTI_PUSH_MAX_OUTAGE", key: "cti_push.max_outage")
  package static let flushDelay = Setting(env: "CTI_PUSH_FLUSH_DELAY", key: "cti_push.flush_delay")
  /// pycti's name and key; MB.
  package static let queueThreshold = Setting(env: "CONNECTOR_QUEUE_THRESHOLD", key: "connector.queue_threshold")
  package static let queueCheckInterval = Setting(env: "CTI_PUSH_QUEUE_CHECK_INTERVAL", key: "cti_push.queue_check_interval")
}

/// The settings of one push run, resolved.
package struct PushSettings: ToolSettings {
  /// What the command line said (nil or false: not given).
  package struct Flags: Sendable, Equatable {
    package var platform = OpenCTIFlags()
    package var connector = ConnectorFlags()
    package var queueProtocol: String?
    package var queueThreshold: String?
    package var queueCheckInterval: String?
    package var applicantMappings: String?
    package var batchSize: Int?
    package var maxBytes: Int?
    package var applyDeletes: Bool?
    package var applyMerges: Bool?
    package var reject: String?
    package var state: String?
    package var flushDelay: String?
    package var pingInterval: String?
    package var requestTimeout: String?
    package var maxOutage: String?
    package var dryRun = false
    package var check = false
    /// The NDJSON files to read (`-`: stdin); none reads stdin.
    package var inputs: [String] = []

    package init() {}
  }

  /// The defaults, each stated here once (help texts show these values).
  package enum Defaults {
    package static let connectorName = "cti-push"
    /// pycti's request timeout.
    package static let requestTimeout = 300.0
    package static let maxOutage = 900.0
    package static let flushDelay = 1.0
  }

  package var url: String
  package var token: String
  package var connector: ConnectorRegistration
  package var pipeline: PushPipeline.Settings
  package var pingInterval: Double
  /// Seconds one GraphQL request may take (pycti uses 300).
  package var requestTimeout: Double
  /// TLS and timeouts for the platform's connections.
  package var http: HTTPClientSettings
  /// Seconds the input may pause before collected objects are pushed anyway.
  package var flushDelay = Defaults.flushDelay
  /// `api` (stixBundlePush, the default) or `amqp` (publish into the platform's RabbitMQ).
  package var queueProtocol: QueueProtocol = .api
  /// The MQ_* overrides and TLS settings for `amqp`.
  package var amqp = AMQPSettings()
  /// Input pauses while the connector's queue holds this many MB or more
  /// (CONNECTOR_QUEUE_THRESHOLD, 500 as in pycti).
  package var queueThreshold = QueueBackPressure.defaultThreshold
  /// Seconds between two reads of the queue's size.
  package var queueCheckInterval = QueueBackPressure.defaultCheckInterval
  /// CONNECTOR_RUN_AND_TERMINATE, reported in the pings' connector info.
  package var runAndTerminate = false
  /// The input files (`-`: stdin); never empty.
  package var inputs = ["-"]
  /// Records that cannot be pushed are appended here.
  package var rejectPath: String?
  /// Where the input's checkpoints are committed.
  package var statePath: String?
  /// Print the requests instead of sending them.
  package var dryRun = false
  /// Only check URL, token and platform version.
  package var checkOnly = false
  /// Deprecations and unreadable applicant mappings met while resolving.
  package var warnings: [String] = []

  package init(
    url: String, token: String, connector: ConnectorRegistration, pipeline: PushPipeline.Settings, pingInterval: Double,
    requestTimeout: Double, http: HTTPClientSettings
  ) {
    self.url = url
    self.token = token
    self.connector = connector
    self.pipeline = pipeline
    self.pingInterval = pingInterval
    self.requestTimeout = requestTimeout
    self.http = http
  }

  /// Resolves the connector and push settings. URL, token and connector id are required
  /// unless it is a dry run (`--check` needs no connector id).
  package init(flags: Flags, configuration: Configuration) throws(ConfigError) {
    let offline = flags.dryRun
    var warnings: [String] = []
    let url = try Self.required(configuration, OpenCTIKeys.url, flags.platform.url, flag: "url", offline: offline)
    let token = try Self.required(configuration, OpenCTIKeys.token, flags.platform.token, flag: "token", offline: offline)
    let idFlag = flags.check ? (flags.connector.id ?? "check") : flags.connector.id
    let id = try Self.required(configuration, ConnectorKeys.id, idFlag, flag: "connector-id", offline: offline)
    let typeText = configuration.string(
      ConnectorKeys.type, flag: flags.connector.type, default: ConnectorType.externalImport.rawValue)
    guard let type = ConnectorType(parsing: typeText) else {
      throw ConfigError("connector type '\(typeText)' is not one of \(ConnectorType.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    let name = configuration.string(ConnectorKeys.name, flag: flags.connector.name, default: Defaults.connectorName)
    guard name.count >= 2 else { throw ConfigError("connector name '\(name)' is too short (OpenCTI wants 2 characters or more)") }
    let connector = ConnectorRegistration(
      id: id.isEmpty ? "dry-run" : id, name: name, type: type,
      scope: configuration.list(ConnectorKeys.scope, flag: flags.connector.scope))
    var chosenProtocol = try QueueProtocol.resolve(configuration, flag: flags.queueProtocol, warnings: &warnings)
    if chosenProtocol == .amqp, offline {
      warnings.append("--dry-run shows the stixBundlePush requests: AMQP messages are not rehearsed")
      chosenProtocol = .api
    }
    // Over AMQP each bundle is split by pycti's splitter as a whole (as pycti does), so by
    // default bundles are not cut into batches first.
    let wholeBundles = chosenProtocol == .amqp
    let objects = try configuration.int(
      PushKeys.batchSize, flag: flags.batchSize, default: wholeBundles ? Int(Int32.max) : BundleBatcher.defaultMaxObjects)
    let bytes = try configuration.int(
      PushKeys.maxBytes, flag: flags.maxBytes, default: wholeBundles ? LineReader.defaultMaxLineBytes : BundleBatcher.defaultMaxBytes)
    guard objects >= 1 else { throw ConfigError("--batch-size must be 1 or more", fromCommandLine: flags.batchSize != nil) }
    guard bytes >= 1024 else { throw ConfigError("--max-bytes must be at least 1024", fromCommandLine: flags.maxBytes != nil) }
    var applicants = ApplicantMap()
    if let text = configuration.string(PushKeys.applicantMappings, flag: flags.applicantMappings) {
      applicants = ApplicantMap(parsing: text, warnings: &warnings)
    }
    let pipeline = PushPipeline.Settings(
      batcher: BundleBatcher(maxObjects: objects, maxBytes: bytes),
      applyDeletes: try configuration.bool(PushKeys.applyDeletes, flag: flags.applyDeletes, default: false),
      applyMerges: try configuration.bool(PushKeys.applyMerges, flag: flags.applyMerges, default: false),
      applicants: applicants,
      outageTolerance: try configuration.duration(PushKeys.maxOutage, flag: flags.maxOutage, default: Defaults.maxOutage)
        ?? Defaults.maxOutage)
    let interval = try configuration.duration(
      PushKeys.pingInterval, flag: flags.pingInterval, default: ConnectorPinger.defaultInterval) ?? ConnectorPinger.defaultInterval
    guard interval > 0 else { throw ConfigError("the ping interval must be more than 0 seconds") }
    let timeout = try configuration.duration(
      PushKeys.requestTimeout, flag: flags.requestTimeout, default: Defaults.requestTimeout) ?? Defaults.requestTimeout
    guard timeout > 0 else { throw ConfigError("the request timeout must be more than 0 seconds") }
    let delay = try configuration.duration(PushKeys.flushDelay, flag: flags.flushDelay, default: Defaults.flushDelay)
      ?? Defaults.flushDelay
    guard delay > 0 else {
      throw ConfigError("the flush delay must be more than 0 seconds", fromCommandLine: flags.flushDelay != nil)
    }
    var threshold = QueueBackPressure.defaultThreshold
    if let (text, source) = configuration.lookup(PushKeys.queueThreshold, flag: flags.queueThreshold) {
      guard let value = Double(text.trimmingSpaces), value > 0, value.isFinite else {
        throw ConfigError(
          "\(source): the queue threshold must be a number of MB above 0, not '\(text)'",
          fromCommandLine: source == Configuration.commandLine)
      }
      threshold = value
    }
    let check = try configuration.duration(
      PushKeys.queueCheckInterval, flag: flags.queueCheckInterval, default: QueueBackPressure.defaultCheckInterval)
      ?? QueueBackPressure.defaultCheckInterval
    guard check > 0 else {
      throw ConfigError(
        "the queue check interval must be more than 0 seconds", fromCommandLine: flags.queueCheckInterval != nil)
    }
    var http = try OpenCTISettings.http(flags.platform.tls, configuration)
    http.requestTimeout = timeout
    http.userAgent = "cti-push/0.1 (libcurl)"
    self.init(
      url: url, token: token, connector: connector, pipeline: pipeline, pingInterval: interval, requestTimeout: timeout,
      http: http)
    flushDelay = delay
    queueProtocol = chosenProtocol
    amqp = chosenProtocol == .amqp ? try AMQPSettings.resolve(configuration) : AMQPSettings()
    queueThreshold = threshold
    queueCheckInterval = check
    runAndTerminate = try configuration.bool(ScheduleKeys.runAndTerminate, default: false)
    inputs = flags.inputs.isEmpty ? ["-"] : flags.inputs
    rejectPath = flags.reject
    statePath = flags.state
    dryRun = flags.dryRun
    checkOnly = flags.check
    self.warnings = warnings
  }

  fileprivate static func required(
    _ configuration: Configuration, _ setting: Setting, _ value: String?, flag: String, offline: Bool
  ) throws(ConfigError) -> String {
    if let text = configuration.string(setting, flag: value), !text.trimmingSpaces.isEmpty { return text.trimmingSpaces }
    if offline { return "" }
    throw ConfigError("\(setting.environment[0]) is required (--\(flag) or the environment variable)")
  }
}
