import ArgumentParser
import CTICore

@main
struct CTIStream: ParsableCommand {
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
      for --stall-timeout seconds) and server errors are followed by a reconnection with \
      backoff; 401/403 end the run with status 77, 404/410 with 78. SIGINT/SIGTERM finish the \
      current line, save the state and exit 0.

      Examples:
        OPENCTI_URL=https://octi OPENCTI_TOKEN=… CONNECTOR_LIVE_STREAM_ID=<id> \\
          cti-stream --state s.json | cti-backup --state s.json /backup
        cti-stream --stream-id live --events create --max-events 100 > s.ndjson
        cti-stream --replay examples/stream-capture.sse | cti-backup /tmp/backup
        cti-stream --raw --from 2024-01-15T00:00:00Z --recover false --idle-exit 30

      \(ExitStatus.helpSection)
      """,
    version: CTIVersion.current
  )

  @OptionGroup var platform: OpenCTIOptions

  @Option(name: .long, help: ArgumentHelp("Live stream collection id; 'live' is the global stream (env CONNECTOR_LIVE_STREAM_ID).", valueName: "id"))
  var streamID: String?

  @Flag(name: .long, help: "Read the raw stream /stream (every event; needs the BYPASS capability) instead of a collection.")
  var raw = false

  @Option(name: .long, help: ArgumentHelp("Send delete events: true or false (env CONNECTOR_LIVE_STREAM_LISTEN_DELETE; default true).", valueName: "bool"))
  var listenDelete: Bool?

  @Option(name: .long, help: ArgumentHelp("Skip the platform's relationship dependencies: true or false (env CONNECTOR_LIVE_STREAM_NO_DEPENDENCIES; default true).", valueName: "bool"))
  var noDependencies: Bool?

  @Option(name: .long, help: ArgumentHelp("Include inferred data: true or false (env CONNECTOR_LIVE_STREAM_WITH_INFERENCES; default false).", valueName: "bool"))
  var withInferences: Bool?

  @Option(name: .long, help: ArgumentHelp("Start after this event id (<ms>-<seq>, 0-0) or ISO date; overrides the state. First-run default: CONNECTOR_LIVE_STREAM_START_TIMESTAMP-0 or 0-0.", valueName: "position"))
  var from: String?

  @Option(name: .long, help: ArgumentHelp("Recover from the database up to this ISO date, 'now', or 'false' for none; overrides the state. First-run default: CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE or now.", valueName: "date"))
  var recover: String?

  @Option(name: .long, help: ArgumentHelp("Keep the resume position in this JSON file (env CTI_STREAM_STATE).", valueName: "file"))
  var state: String?

  @Option(name: .long, help: ArgumentHelp("Only write these events (comma-separated: create,update,delete,merge). The position still advances past the others.", valueName: "names"))
  var events: String?

  @Flag(name: .long, help: "Also write connected and heartbeat events.")
  var heartbeats = false

  @Option(name: .long, help: ArgumentHelp("Stop after writing this many events.", valueName: "n"))
  var maxEvents: Int?

  @Option(name: .long, help: ArgumentHelp("Stop when no event has been written for this many seconds.", valueName: "seconds"))
  var idleExit: Double?

  @Option(name: .long, help: ArgumentHelp("Read a recorded SSE capture instead of a platform ('-' for stdin); also a file:// --url.", valueName: "file"))
  var replay: String?

  @Option(name: .long, help: ArgumentHelp("Seconds without a byte before the connection counts as dead (default 45; the platform sends a heartbeat every 5 s).", valueName: "seconds"))
  var stallTimeout: Double?

  @Option(name: .long, help: ArgumentHelp("First reconnection delay in seconds, doubled up to --max-reconnect-delay (default 1).", valueName: "seconds"))
  var reconnectDelay: Double?

  @Option(name: .long, help: ArgumentHelp("Longest reconnection delay in seconds (default 60).", valueName: "seconds"))
  var maxReconnectDelay: Double?

  @Option(name: .long, help: ArgumentHelp("Give up (status 69) after this many failed connections in a row (default: never).", valueName: "n"))
  var maxReconnects: Int?

  @OptionGroup var sourceState: SourceStateOptions

  @OptionGroup var common: CommonOptions

  static let eventNames: Set<String> = ["create", "update", "delete", "merge"]

  func validate() throws {
    if let maxEvents, maxEvents < 1 { throw ValidationError("--max-events must be at least 1") }
    if let idleExit, idleExit <= 0 { throw ValidationError("--idle-exit must be positive") }
    if let stallTimeout, stallTimeout <= 0 { throw ValidationError("--stall-timeout must be positive") }
    if raw && streamID != nil { throw ValidationError("--raw and --stream-id exclude each other") }
  }

  func run() throws {
    try ToolMain.run(tool: "cti-stream") {
      let configuration = try common.configuration()
      let diagnostics = try common.diagnostics(tool: "cti-stream", configuration: configuration)
      StopSignals.install()
      let replayPath = try replaySource(configuration)
      var options = LiveStreamSettings(baseURL: replayPath == nil ? try platform.baseURL(configuration) : "")
      try resolve(&options, configuration)
      let session = try LiveStreamSession(options: options, writer: RecordWriter(), diagnostics: diagnostics)
      defer { if !common.quiet { diagnostics.logger.info("\(session.summary)") } }
      if let replayPath {
        try session.replay(path: replayPath)
      } else {
        try session.run()
      }
      return diagnostics.finalStatus
    }
  }

  /// The capture to read: --replay, or a file:// URL given as the platform URL.
  func replaySource(_ configuration: Configuration) throws -> String? {
    if let replay { return replay }
    guard let url = configuration.string(OpenCTIKeys.url, flag: platform.url), url.hasPrefix("file://") else { return nil }
    return String(url.dropFirst("file://".count))
  }

  /// Flags > environment > config.yml > pycti's defaults, in one place.
  func resolve(_ options: inout LiveStreamSettings, _ configuration: Configuration) throws {
    options.token = platform.token(configuration)
    options.http = try platform.httpOptions(configuration)
    if let stallTimeout { options.http.stallTimeout = stallTimeout }
    if !raw, !options.baseURL.isEmpty {
      guard let id = configuration.string(LiveStreamKeys.streamID, flag: streamID), !id.isEmpty, id != "ChangeMe" else {
        throw ConfigError("no live stream id: give --stream-id (or --raw), or set CONNECTOR_LIVE_STREAM_ID")
      }
      options.streamID = id
    }
    options.listenDelete = try configuration.bool(LiveStreamKeys.listenDelete, flag: listenDelete, default: true)
    options.noDependencies = try configuration.bool(LiveStreamKeys.noDependencies, flag: noDependencies, default: true)
    options.withInferences = try configuration.bool(LiveStreamKeys.withInferences, flag: withInferences, default: false)
    if let start = configuration.string(LiveStreamKeys.startTimestamp) {
      options.firstFrom = start.contains("-") ? start : start + "-0"
    }
    options.firstRecover = configuration.string(LiveStreamKeys.recoverISODate).flatMap(recoverValue)
    if let from { options.overrideFrom = from }
    if let recover { options.overrideRecover = .some(recoverValue(recover)) }
    options.statePath = configuration.string(LiveStreamKeys.state, flag: state)
    options.commitOnWrite = sourceState.commitOnWrite
    if let events {
      let names = Set(events.split(separator: ",").map { $0.filter { $0 != " " }.lowercased() }.filter { !$0.isEmpty })
      let unknown = names.subtracting(Self.eventNames)
      guard unknown.isEmpty else {
        throw ConfigError(
          "--events: unknown event name(s) \(unknown.sorted().joined(separator: ", ")); use create, update, delete, merge",
          fromCommandLine: true)
      }
      options.events = names
    }
    options.heartbeats = heartbeats
    options.maxEvents = maxEvents
    options.idleExit = idleExit
    if let reconnectDelay { options.reconnectDelay = reconnectDelay }
    if let maxReconnectDelay { options.maxReconnectDelay = maxReconnectDelay }
    options.maxReconnectDelay = max(options.maxReconnectDelay, options.reconnectDelay)
    options.maxReconnects = maxReconnects
  }

  /// `now` is today's date; false/no/none mean no recovery (pycti's spellings).
  func recoverValue(_ text: String) -> String? {
    if text.lowercased() == "now" { return ISO8601.format(.now, fractionDigits: 0) }
    return ["no", "none", "false", ""].contains(text.lowercased()) ? nil : text
  }
}
