import ArgumentParser
import CTICommand
import CTICore

@main
struct CTIPush: Tool, ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "cti-push",
    abstract: "Push STIX bundles, objects, diode envelopes and stream events into OpenCTI.",
    discussion: """
      Reads NDJSON records (from the --input files, or stdin) and sends them to OPENCTI_URL \
      with stixBundlePush, registered as the connector CONNECTOR_ID (named CONNECTOR_NAME, \
      default \(PushSettings.Defaults.connectorName)). Bundles and bare objects are cut into \
      bundles of at most --batch-size objects and --max-bytes bytes, referenced objects first. Diode envelopes are pushed as their own connector, impersonating the mapped \
      applicant. Stream events are upserted; deletes and merges only with --apply-deletes and \
      --apply-merges. With --queue-protocol amqp, bundles are split as pycti splits them and \
      published straight into the platform's RabbitMQ (the registration's config.connection, \
      overridden by MQ_HOST, MQ_PORT, MQ_VHOST, MQ_USE_SSL, MQ_USER, MQ_PASS): choose it for \
      volume when the broker is reachable; api needs only HTTPS. Each connector pushed as gets \
      one work per run, closed at the end (in error when something was rejected). Records \
      that cannot be pushed go to --reject.

      Examples:
        cti-misp --feed https://feed.example | cti-push
        cti-diode import /mnt/usb | cti-push --reject rejects.ndjson
        cti-stream | cti-push --url https://b --apply-deletes
        cti-push --check
        cti-push --dry-run < bundles.ndjson | jq .operation

      With --state FILE (the source's state file), the checkpoints the source writes into the \
      pipeline are committed into FILE once every record before them is pushed or rejected, so \
      the source's state never runs ahead of the platform. SIGINT/SIGTERM push what is \
      collected, commit, close the works and exit 0.

      The connector pings the platform right after registering and every --ping-interval, \
      with pycti's connector info where the platform takes it. While its queue holds \
      --queue-threshold MB or more (read every --queue-check-interval), cti-push pushes what \
      it holds and stops reading its input, so the tools before it wait, until the platform's \
      workers have drained the queue.

      \(ExitStatus.helpSection)
      """,
    version: CTIVersion.current)

  @OptionGroup var common: CommonOptions

  @OptionGroup(title: "Platform") var platform: OpenCTIOptions

  @OptionGroup(title: "Connector") var connector: ConnectorOptions

  @Option(help: ArgumentHelp("api (stixBundlePush, default) or amqp (the platform's RabbitMQ) (env CONNECTOR_QUEUE_PROTOCOL).", valueName: "protocol"))
  var queueProtocol: String?

  @Option(help: ArgumentHelp("Stop reading the input while the connector's queue holds this many MB or more (env CONNECTOR_QUEUE_THRESHOLD; default \(seconds(QueueBackPressure.defaultThreshold))).", valueName: "MB"))
  var queueThreshold: String?

  @Option(help: ArgumentHelp("Seconds or ISO-8601 duration between two reads of the queue's size (env CTI_PUSH_QUEUE_CHECK_INTERVAL; default \(seconds(QueueBackPressure.defaultCheckInterval))).", valueName: "duration"))
  var queueCheckInterval: String?

  @OptionGroup var applicants: ApplicantMappingsOptions

  @Option(help: ArgumentHelp("Most objects per bundle (env CTI_PUSH_BATCH_SIZE; default \(BundleBatcher.defaultMaxObjects)).", valueName: "n"))
  var batchSize: Int?

  @Option(help: ArgumentHelp("Most bytes per bundle (env CTI_PUSH_MAX_BYTES; default \(BundleBatcher.defaultMaxBytes)).", valueName: "bytes"))
  var maxBytes: Int?

  @Flag(inversion: .prefixedNo, help: "Apply delete events with stixEdit delete (env CTI_PUSH_APPLY_DELETES; default off).")
  var applyDeletes: Bool?

  @Flag(inversion: .prefixedNo, help: "Apply merge events with stixEdit merge (env CTI_PUSH_APPLY_MERGES; default off).")
  var applyMerges: Bool?

  @Option(help: ArgumentHelp("Append records that could not be pushed to this NDJSON file.", valueName: "file"))
  var reject: String?

  @OptionGroup var checkpoints: CheckpointOptions

  @Option(help: ArgumentHelp("Push collected objects once the input pauses this long, in seconds or ISO-8601 (env CTI_PUSH_FLUSH_DELAY; default \(seconds(PushSettings.Defaults.flushDelay))).", valueName: "duration"))
  var flushDelay: String?

  @Option(help: ArgumentHelp("Seconds or ISO-8601 duration between pings (env CTI_PUSH_PING_INTERVAL; default \(seconds(ConnectorPinger.defaultInterval))).", valueName: "duration"))
  var pingInterval: String?

  @Option(help: ArgumentHelp("Seconds or ISO-8601 duration one request may take (env CTI_PUSH_REQUEST_TIMEOUT; default \(seconds(PushSettings.Defaults.requestTimeout))).", valueName: "duration"))
  var requestTimeout: String?

  @Option(help: ArgumentHelp("How long to wait for a platform that is down before giving up on it (env CTI_PUSH_MAX_OUTAGE; default \(seconds(PushSettings.Defaults.maxOutage)); 0: at once).", valueName: "duration"))
  var maxOutage: String?

  @Flag(help: "Send nothing: print the GraphQL requests that would be sent, one JSON line each, on stdout.")
  var dryRun = false

  @Flag(help: "Only check URL, token and platform version, then exit.")
  var check = false

  @Option(name: .customLong("input"), help: ArgumentHelp("Read NDJSON records from this file instead of stdin; repeat for several ('-': stdin).", valueName: "file"))
  var inputs: [String] = []

  @Argument(help: .hidden)
  var files: [String] = []

  func settings(_ configuration: Configuration) throws -> PushSettings {
    var flags = PushSettings.Flags()
    flags.platform = platform.flags
    flags.connector = connector.flags
    flags.queueProtocol = queueProtocol
    flags.queueThreshold = queueThreshold
    flags.queueCheckInterval = queueCheckInterval
    flags.applicantMappings = applicants.value
    flags.batchSize = batchSize
    flags.maxBytes = maxBytes
    flags.applyDeletes = applyDeletes
    flags.applyMerges = applyMerges
    flags.reject = reject
    flags.state = checkpoints.path
    flags.flushDelay = flushDelay
    flags.pingInterval = pingInterval
    flags.requestTimeout = requestTimeout
    flags.maxOutage = maxOutage
    flags.dryRun = dryRun
    flags.check = check
    flags.inputs = inputs + files
    return try PushSettings(flags: flags, configuration: configuration)
  }

  func run(_ settings: PushSettings, _ tool: ToolContext) throws -> ExitStatus {
    if settings.checkOnly { return try PushRun.check(settings: settings, diagnostics: tool.diagnostics) }
    let run = try PushRun(settings: settings, diagnostics: tool.diagnostics)
    tool.summarize(alsoOnFailure: true) { run.runSummary }
    return try run.run()
  }
}
