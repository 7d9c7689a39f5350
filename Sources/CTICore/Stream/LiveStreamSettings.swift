/// pycti's names for the live-stream settings (reference §D).
package enum LiveStreamKeys {
  package static let streamID = Setting(env: "CONNECTOR_LIVE_STREAM_ID", key: "connector.live_stream_id")
  package static let listenDelete = Setting(env: "CONNECTOR_LIVE_STREAM_LISTEN_DELETE", key: "connector.live_stream_listen_delete")
  package static let noDependencies = Setting(env: "CONNECTOR_LIVE_STREAM_NO_DEPENDENCIES", key: "connector.live_stream_no_dependencies")
  package static let withInferences = Setting(env: "CONNECTOR_LIVE_STREAM_WITH_INFERENCES", key: "connector.live_stream_with_inferences")
  package static let recoverISODate = Setting(env: "CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE", key: "connector.live_stream_recover_iso_date")
  package static let startTimestamp = Setting(env: "CONNECTOR_LIVE_STREAM_START_TIMESTAMP", key: "connector.live_stream_start_timestamp")
  package static let state = Setting(env: "CTI_STREAM_STATE", key: "cti.stream_state")
}

/// What a cti-stream run does: where to connect, where to start, what to write, when to stop.
package struct LiveStreamSettings: ToolSettings {
  package var baseURL: String
  package var token: String?
  /// A stream collection id (`live` is the global stream); nil reads the raw `/stream`.
  package var streamID: String?
  package var listenDelete = true
  package var noDependencies = true
  package var withInferences = false
  /// Resume point and recovery date when there is no state (pycti: START_TIMESTAMP or `0-0`, and
  /// RECOVER_ISO_DATE or now).
  package var firstFrom = "0-0"
  package var firstRecover: String?
  /// `--from` / `--recover`: override the state too. `overrideRecover` = .some(nil) means none.
  package var overrideFrom: String?
  package var overrideRecover: String??
  package var statePath: String?
  /// Write the state file even when the output is a pipe (no checkpoints).
  package var commitOnWrite = false
  /// Event names to write; nil writes every data event.
  package var events: Set<String>?
  /// Also write `connected` and `heartbeat` events.
  package var heartbeats = false
  package var maxEvents: Int?
  /// Stop when no data event has been written for this many seconds.
  package var idleExit: Double?
  /// Seconds between state-file writes while events flow (also written on heartbeats and at exit).
  package var stateInterval = 1.0
  /// Seconds before the first reconnection, doubled up to `maxReconnectDelay`.
  package var reconnectDelay = 1.0
  package var maxReconnectDelay = 60.0
  /// Reconnections allowed in a row without receiving an event; nil = forever.
  package var maxReconnects: Int?
  package var http = HTTPClientSettings()
  /// A recorded SSE capture to read instead of a platform (`--input`, a `file://` URL); `-` is
  /// standard input.
  package var replay: String?

  package init(baseURL: String) { self.baseURL = baseURL }

  /// The stream URL as pycti builds it: `<url>/stream[/<id>]`.
  package var streamURL: String { baseURL + "/stream" + (streamID.map { "/" + $0 } ?? "") }
}

extension LiveStreamSettings {
  /// What the command line said (nil or false: not given).
  package struct Flags: Sendable, Equatable {
    package var platform = OpenCTIFlags()
    package var streamID: String?
    package var raw = false
    package var listenDelete: Bool?
    package var noDependencies: Bool?
    package var withInferences: Bool?
    package var from: String?
    package var recover: String?
    package var state: String?
    package var commitOnWrite = false
    package var events: String?
    package var heartbeats = false
    package var maxEvents: Int?
    package var idleExit: String?
    /// `--input`: a recorded capture.
    package var input: String?
    package var stallTimeout: String?
    package var reconnectDelay: String?
    package var maxReconnectDelay: String?
    package var maxReconnects: Int?

    package init() {}
  }

  /// The event names `--events` takes.
  package static let eventNames: Set<String> = ["create", "update", "delete", "merge"]

  /// Flags > environment > config.yml > pycti's defaults (this type's initial values). A
  /// capture (`--input`, or a `file://` URL) needs no platform: no URL, token or stream id.
  package init(flags: Flags, configuration: Configuration) throws(ConfigError) {
    var replay = flags.input
    if replay == nil, let url = configuration.string(OpenCTIKeys.url, flag: flags.platform.url) {
      replay = Location.path(ofFileURL: url)
    }
    if let replay {
      self.init(baseURL: "")
      self.replay = replay
    } else {
      self.init(baseURL: try OpenCTISettings(flags: flags.platform, configuration: configuration).url)
    }
    token = configuration.string(OpenCTIKeys.token, flag: flags.platform.token)
    http = try OpenCTISettings.http(flags.platform.tls, configuration)
    if let stall = try Self.positive(flags.stallTimeout, "--stall-timeout") { http.stallTimeout = stall }
    if !flags.raw, replay == nil {
      guard let id = configuration.string(LiveStreamKeys.streamID, flag: flags.streamID), !id.isEmpty, id != "ChangeMe"
      else {
        throw ConfigError("no live stream id: give --stream-id (or --raw), or set CONNECTOR_LIVE_STREAM_ID")
      }
      streamID = id
    }
    listenDelete = try configuration.bool(LiveStreamKeys.listenDelete, flag: flags.listenDelete, default: listenDelete)
    noDependencies = try configuration.bool(LiveStreamKeys.noDependencies, flag: flags.noDependencies, default: noDependencies)
    withInferences = try configuration.bool(LiveStreamKeys.withInferences, flag: flags.withInferences, default: withInferences)
    if let start = configuration.string(LiveStreamKeys.startTimestamp) {
      firstFrom = start.contains("-") ? start : start + "-0"
    }
    firstRecover = configuration.string(LiveStreamKeys.recoverISODate).flatMap(Self.recoverValue)
    if let from = flags.from { overrideFrom = from }
    if let recover = flags.recover { overrideRecover = .some(Self.recoverValue(recover)) }
    statePath = configuration.string(LiveStreamKeys.state, flag: flags.state)
    commitOnWrite = flags.commitOnWrite
    if let text = flags.events {
      let names = Set(text.split(separator: ",").map { $0.filter { $0 != " " }.lowercased() }.filter { !$0.isEmpty })
      let unknown = names.subtracting(Self.eventNames)
      guard unknown.isEmpty else {
        throw ConfigError(
          "--events: unknown event name(s) \(unknown.sorted().joined(separator: ", ")); use create, update, delete, merge",
          fromCommandLine: true)
      }
      events = names
    }
    heartbeats = flags.heartbeats
    maxEvents = flags.maxEvents
    idleExit = try Self.positive(flags.idleExit, "--idle-exit")
    // A delay of 0 (reconnect at once) has always been accepted.
    if let delay = try Self.positive(flags.reconnectDelay, "--reconnect-delay", orZero: true) { reconnectDelay = delay }
    if let delay = try Self.positive(flags.maxReconnectDelay, "--max-reconnect-delay", orZero: true) { maxReconnectDelay = delay }
    maxReconnectDelay = max(maxReconnectDelay, reconnectDelay)
    maxReconnects = flags.maxReconnects
  }

  /// A duration flag (ISO-8601 or seconds) that must be more than 0 (`orZero`: at least 0).
  static func positive(_ text: String?, _ name: String, orZero: Bool = false) throws(ConfigError) -> Double? {
    guard let text else { return nil }
    guard let seconds = Configuration.parseDuration(text, unit: 1), seconds > 0 || (orZero && seconds == 0) else {
      let wanted = orZero ? "a duration of 0 or more" : "a positive duration"
      throw ConfigError("\(name) must be \(wanted) in seconds or ISO-8601 (PT30S), not '\(text)'", fromCommandLine: true)
    }
    return seconds
  }

  /// `now` is today's date; false/no/none mean no recovery (pycti's spellings).
  static func recoverValue(_ text: String) -> String? {
    if text.lowercased() == "now" { return ISO8601.format(.now, fractionDigits: 0) }
    return ["no", "none", "false", ""].contains(text.lowercased()) ? nil : text
  }
}
