import ArgumentParser
import CTICommand
import CTICore

@main
struct CTIStream: Tool, ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "cti-stream",
    abstract: "Read an OpenCTI live stream and write one NDJSON line per event.",
    discussion: """
      Each line is {"id":"<event id>","event":"create|update|delete|merge",…} followed by the \
      rest of the platform's payload, byte for byte (version, type, scope, message, origin, \
      data, context). Settings use pycti's names, so a backup-files connector's environment \
      works as it is. The first run asks for everything (Last-Event-ID 0-0, recover=now) as \
      pycti does; with --state the position is saved after each written event (pycti's \
      start_from/recover_until keys) and the next run resumes there. When stdout is a pipe, \
      the position goes down the pipe as checkpoint records instead, and the last tool of the \
      pipeline, given the same --state, saves it once it has applied the events (so a stage \
      that fails never lets the position run ahead). Drops, stalls (no byte \
      for --stall-timeout) and server errors are followed by a reconnection with \
      backoff; 401/403 end the run with status 77, 404/410 with 78. SIGINT/SIGTERM finish the \
      current line, save the state and exit 0.

      Examples:
        OPENCTI_URL=https://octi OPENCTI_TOKEN=… CONNECTOR_LIVE_STREAM_ID=<id> \\
          cti-stream --state s.json | cti-backup --state s.json /backup
        cti-stream --stream-id live --events create --max-events 100 > s.ndjson
        cti-stream --input examples/stream-capture.sse | cti-backup /tmp/backup
        cti-stream --raw --from 2024-01-15T00:00:00Z --no-recover \\
          --idle-exit PT30S

      \(ExitStatus.helpSection)
      """,
    version: CTIVersion.current
  )

  @OptionGroup var platform: OpenCTIOptions

  @Option(name: .long, help: ArgumentHelp("Live stream collection id; 'live' is the global stream (env CONNECTOR_LIVE_STREAM_ID).", valueName: "id"))
  var streamID: String?

  @Flag(name: .long, help: "Read the raw stream /stream (every event; needs the BYPASS capability) instead of a collection.")
  var raw = false

  @Flag(inversion: .prefixedNo, help: "Send delete events (env CONNECTOR_LIVE_STREAM_LISTEN_DELETE; default \(onOff(defaults.listenDelete))).")
  var listenDelete: Bool?

  @Flag(inversion: .prefixedNo, help: "Send the platform's relationship dependencies; --no-dependencies leaves them out (env CONNECTOR_LIVE_STREAM_NO_DEPENDENCIES; default \(defaults.noDependencies ? "left out" : "sent")).")
  var dependencies: Bool?

  @Flag(inversion: .prefixedNo, help: "Include inferred data (env CONNECTOR_LIVE_STREAM_WITH_INFERENCES; default \(onOff(defaults.withInferences))).")
  var withInferences: Bool?

  @Option(name: .long, help: ArgumentHelp("Start after this event id (<ms>-<seq>, 0-0) or ISO date; overrides the state. First-run default: CONNECTOR_LIVE_STREAM_START_TIMESTAMP-0 or 0-0.", valueName: "position"))
  var from: String?

  @Option(name: .long, help: ArgumentHelp("Recover from the database up to this ISO date, 'now', or 'false' for none; overrides the state. First-run default: CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE or now.", valueName: "date"))
  var recover: String?

  @Flag(name: .customLong("no-recover"), help: "Recover nothing from the database (the same as --recover false).")
  var noRecover = false

  @Option(name: .long, help: ArgumentHelp("Keep the resume position in this JSON file (env CTI_STREAM_STATE).", valueName: "file"))
  var state: String?

  @Option(name: .long, help: ArgumentHelp("Only write these events (comma-separated: create,update,delete,merge). The position still advances past the others.", valueName: "names"))
  var events: String?

  @Flag(name: .long, help: "Also write connected and heartbeat events.")
  var heartbeats = false

  @Option(name: .long, help: ArgumentHelp("Stop after writing this many events.", valueName: "n"))
  var maxEvents: Int?

  @Option(name: .long, help: ArgumentHelp("Stop when no event has been written for this long (seconds or ISO-8601, e.g. PT30S).", valueName: "duration"))
  var idleExit: String?

  @Option(name: .customLong("input"), help: ArgumentHelp("Read a recorded SSE capture instead of a platform ('-' for stdin); also a file:// --url.", valueName: "file"))
  var input: String?

  @Option(name: .customLong("replay"), help: .hidden)
  var replay: String?

  @Option(name: .long, help: ArgumentHelp("How long without a byte before the connection counts as dead (default \(seconds(defaults.http.stallTimeout)); the platform sends a heartbeat every 5 s).", valueName: "duration"))
  var stallTimeout: String?

  @Option(name: .long, help: ArgumentHelp("First reconnection delay, doubled up to --max-reconnect-delay (default \(seconds(defaults.reconnectDelay))).", valueName: "duration"))
  var reconnectDelay: String?

  @Option(name: .long, help: ArgumentHelp("Longest reconnection delay (default \(seconds(defaults.maxReconnectDelay))).", valueName: "duration"))
  var maxReconnectDelay: String?

  @Option(name: .long, help: ArgumentHelp("Give up (status 69) after this many failed connections in a row (default: never).", valueName: "n"))
  var maxReconnects: Int?

  @OptionGroup var sourceState: SourceStateOptions

  @OptionGroup var common: CommonOptions

  /// `--listen-delete false` and the like, from before these were `--[no-]` flags.
  static let legacyBooleans = [
    LegacyBoolean.inverted("listen-delete"), .inverted("with-inferences"),
    LegacyBoolean("--no-dependencies", whenTrue: "--no-dependencies", whenFalse: "--dependencies"),
  ]

  func validate() throws {
    if let maxEvents, maxEvents < 1 { throw ValidationError("--max-events must be at least 1") }
    if raw && streamID != nil { throw ValidationError("--raw and --stream-id exclude each other") }
    if noRecover && recover != nil { throw ValidationError("--no-recover and --recover exclude each other") }
  }

  func settings(_ configuration: Configuration) throws -> LiveStreamSettings {
    var flags = LiveStreamSettings.Flags()
    flags.platform = platform.flags
    flags.streamID = streamID
    flags.raw = raw
    flags.listenDelete = listenDelete
    flags.noDependencies = dependencies.map { !$0 }
    flags.withInferences = withInferences
    flags.from = from
    flags.recover = noRecover ? "false" : recover
    flags.state = state
    flags.commitOnWrite = sourceState.commitOnWrite
    flags.events = events
    flags.heartbeats = heartbeats
    flags.maxEvents = maxEvents
    flags.idleExit = idleExit
    flags.input = input ?? replay
    flags.stallTimeout = stallTimeout
    flags.reconnectDelay = reconnectDelay
    flags.maxReconnectDelay = maxReconnectDelay
    flags.maxReconnects = maxReconnects
    return try LiveStreamSettings(flags: flags, configuration: configuration)
  }

  func run(_ settings: LiveStreamSettings, _ tool: ToolContext) throws -> ExitStatus {
    let session = try LiveStreamSession(settings: settings, writer: RecordWriter(), diagnostics: tool.diagnostics)
    tool.summarize(alsoOnFailure: true) { session.runSummary }
    try session.runToEnd()
    return tool.diagnostics.finalStatus
  }
}

private let defaults = LiveStreamSettings(baseURL: "")
