import ArgumentParser
import CTICore

@main
struct CTIPush: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cti-push",
    abstract: "Push STIX bundles, objects, diode envelopes and stream events into OpenCTI.",
    discussion: """
      Reads NDJSON records (from the files given, or stdin) and sends them to OPENCTI_URL with \
      stixBundlePush, registered as the connector CONNECTOR_ID. Bundles and bare objects are cut \
      into bundles of at most --batch-size objects and --max-bytes bytes, referenced objects \
      first. Diode envelopes are pushed as their own connector, impersonating the mapped \
      applicant. Stream events are upserted; deletes and merges only with --apply-deletes and \
      --apply-merges. With --queue-protocol amqp, bundles are split as pycti splits them and \
      published straight into the platform's RabbitMQ (the registration's config.connection, \
      overridden by MQ_HOST, MQ_PORT, MQ_VHOST, MQ_USE_SSL, MQ_USER, MQ_PASS): choose it for \
      volume when the broker is reachable; api needs only HTTPS. Each connector pushed as gets one work per run, closed at the end (in \
      error when something was rejected). Records that cannot be pushed go to --reject.

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

      \(ExitStatus.helpSection)
      """,
    version: CTIVersion.current)

  @OptionGroup var common: CommonOptions

  @OptionGroup(title: "Platform") var platform: OpenCTIOptions

  @Option(help: ArgumentHelp("This connector's UUID, stable between runs (env CONNECTOR_ID).", valueName: "uuid"))
  var connectorId: String?

  @Option(help: ArgumentHelp("Connector name (env CONNECTOR_NAME; default cti-push).", valueName: "name"))
  var connectorName: String?

  @Option(help: ArgumentHelp("Connector type (env CONNECTOR_TYPE; default EXTERNAL_IMPORT).", valueName: "type"))
  var connectorType: String?

  @Option(help: ArgumentHelp("Connector scope, comma-separated (env CONNECTOR_SCOPE).", valueName: "list"))
  var connectorScope: String?

  @Option(help: ArgumentHelp("api (stixBundlePush, default) or amqp (the platform's RabbitMQ) (env CONNECTOR_QUEUE_PROTOCOL).", valueName: "protocol"))
  var queueProtocol: String?

  @Option(help: ArgumentHelp("Map envelope applicants: src:dst,… (env DIODE_IMPORT_APPLICANT_MAPPINGS).", valueName: "map"))
  var applicantMap: String?

  @Option(help: ArgumentHelp("Most objects per bundle (env CTI_PUSH_BATCH_SIZE; default 1000).", valueName: "n"))
  var batchSize: Int?

  @Option(help: ArgumentHelp("Most bytes per bundle (env CTI_PUSH_MAX_BYTES; default 8388608).", valueName: "bytes"))
  var maxBytes: Int?

  @Flag(help: "Apply delete events with stixEdit delete (env CTI_PUSH_APPLY_DELETES).")
  var applyDeletes = false

  @Flag(help: "Apply merge events with stixEdit merge (env CTI_PUSH_APPLY_MERGES).")
  var applyMerges = false

  @Option(help: ArgumentHelp("Append records that could not be pushed to this NDJSON file.", valueName: "file"))
  var reject: String?

  @Option(help: ArgumentHelp("Commit the checkpoints of the input's source into this file (the source's --state file) once the records before them are pushed.", valueName: "file"))
  var state: String?

  @Option(help: ArgumentHelp("Push collected objects once the input pauses this long, in seconds or ISO-8601 (env CTI_PUSH_FLUSH_DELAY; default 1).", valueName: "duration"))
  var flushDelay: String?

  @Option(help: ArgumentHelp("Seconds or ISO-8601 duration between pings (env CTI_PUSH_PING_INTERVAL; default 40).", valueName: "duration"))
  var pingInterval: String?

  @Option(help: ArgumentHelp("Seconds or ISO-8601 duration one request may take (env CTI_PUSH_REQUEST_TIMEOUT; default 300).", valueName: "duration"))
  var requestTimeout: String?

  @Option(help: ArgumentHelp("How long to wait for a platform that is down before giving up on it (env CTI_PUSH_MAX_OUTAGE; default PT15M; 0: at once).", valueName: "duration"))
  var maxOutage: String?

  @Flag(help: "Send nothing: print the GraphQL requests that would be sent, one JSON line each, on stdout.")
  var dryRun = false

  @Flag(help: "Only check URL, token and platform version, then exit.")
  var check = false

  @Argument(help: ArgumentHelp("NDJSON input files ('-' or none: stdin).", valueName: "file"))
  var files: [String] = []

  func run() throws {
    try ToolMain.run(tool: "cti-push") {
      let configuration = try common.configuration()
      let diagnostics = try common.diagnostics(tool: "cti-push", configuration: configuration)
      var warnings: [String] = []
      let settings = try PushSettings.resolve(
        configuration, url: platform.url, token: platform.token, connectorId: check ? (connectorId ?? "check") : connectorId,
        connectorName: connectorName, connectorType: connectorType, connectorScope: connectorScope,
        applicantMap: applicantMap, batchSize: batchSize, maxBytes: maxBytes, applyDeletes: applyDeletes ? true : nil,
        applyMerges: applyMerges ? true : nil, pingInterval: pingInterval, requestTimeout: requestTimeout,
        maxOutage: maxOutage, flushDelay: flushDelay, http: try platform.httpOptions(configuration),
        queueProtocol: queueProtocol, offline: dryRun,
        warnings: &warnings)
      for warning in warnings { diagnostics.warning(warning) }
      return try PushCommand(settings: settings, diagnostics: diagnostics, quiet: common.quiet)
        .run(files: files, rejectPath: reject, statePath: state, dryRun: dryRun, checkOnly: check)
    }
  }
}
