import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A live stream failure that ends the run.
package enum LiveStreamError: ToolError {
  /// 401/403: the token is wrong or lacks the rights for this stream.
  case refused(status: Int, url: String)
  /// 404/410: no such stream, or it is not live (stopped).
  case unavailableStream(status: Int, url: String)
  /// The reconnection limit was reached.
  case gaveUp(reconnects: Int, lastError: String)
  case replayUnreadable(path: String, detail: String)
  /// An event in a capture is over the line limit: the replay stops before it.
  case replayEventTooLarge(String)

  package var exitStatus: ExitStatus {
    switch self {
    case .refused: .noPermission
    case .unavailableStream: .config
    case .gaveUp: .unavailable
    case .replayUnreadable: .noInput
    case .replayEventTooLarge: .dataError
    }
  }

  package var description: String {
    switch self {
    case .refused(let status, let url):
      "HTTP \(status) from \(url): the token was refused or may not read this stream (check OPENCTI_TOKEN; the global stream 'live' and /stream need the BYPASS capability)"
    case .unavailableStream(let status, let url):
      status == 410
        ? "HTTP 410 from \(url): the stream exists but is not live (start it in OpenCTI, Data sharing > Live streams)"
        : "HTTP \(status) from \(url): no such stream (check CONNECTOR_LIVE_STREAM_ID / --stream-id and OPENCTI_URL)"
    case .gaveUp(let reconnects, let lastError): "giving up after \(reconnects) reconnections; last error: \(lastError)"
    case .replayUnreadable(let path, let detail): "cannot read capture \(path): \(detail)"
    case .replayEventTooLarge(let detail): "\(detail); the replay stops before it"
    }
  }
}

/// Reads an OpenCTI live stream (or a recorded capture) and writes one NDJSON line per event,
/// keeping the resume point in a pycti-style state file. The state only advances past an event
/// once its line has been written out, so a crash or kill can repeat events but never lose one;
/// into a pipe, the state travels as checkpoints that the pipeline's last stage commits
/// (`SourceState`).
package final class LiveStreamSession {
  package let settings: LiveStreamSettings
  package let diagnostics: Diagnostics
  private let writer: RecordWriter
  private let sourceState: SourceState
  private var logger: Logger { diagnostics.logger }

  private var parser = SSEParser()
  private var state: LiveStreamState
  /// The id of the last event handled in the current chunk (written, not yet flushed).
  private var pendingPosition: String?
  /// The state last committed (written, or sent as a checkpoint).
  private var committedState: LiveStreamState?
  private var lastSave = 0.0
  private var lastDataEvent = MonotonicClock.now()
  private var line: [UInt8] = []
  /// Events written since the last flush, by type: they count once they are out.
  private var unflushed: [String: Int] = [:]
  private var unflushedTotal = 0

  /// Events written and flushed.
  package private(set) var written = 0
  package private(set) var countsByType: [String: Int] = [:]
  package private(set) var heartbeatCount = 0
  package private(set) var connections = 0
  package private(set) var reconnects = 0
  package private(set) var stopReason: String?

  /// Prepares a run: loads the state file (if any) and works out the start position.
  package init(settings: LiveStreamSettings, writer: RecordWriter, diagnostics: Diagnostics) throws {
    self.settings = settings
    self.writer = writer
    self.diagnostics = diagnostics
    writer.flushEachRecord = false
    sourceState = try SourceState(
      path: settings.statePath, tool: "cti-stream", output: writer, outputDescriptor: writer.descriptor,
      commitOnWrite: settings.commitOnWrite)
    let loaded = try settings.statePath.flatMap { path in try LiveStreamState.load(path) }
    var state =
      loaded ?? LiveStreamState(startFrom: settings.firstFrom, recoverUntil: settings.firstRecover ?? Self.nowISO())
    if let from = settings.overrideFrom { state.startFrom = from }
    if let recover = settings.overrideRecover { state.recoverUntil = recover }
    self.state = state
    committedState = loaded
    line.reserveCapacity(4096)
  }

  /// The current resume point.
  package var position: LiveStreamState { state }

  /// pycti's `date_now_z`: now in UTC, whole seconds.
  static func nowISO() -> String { ISO8601.format(.now, fractionDigits: 0) }

  // MARK: Running

  /// Streams until stopped (signal, `maxEvents`, `idleExit`) or a fatal error; reconnects after
  /// drops, stalls and server errors with jittered exponential backoff.
  package func run() throws {
    let client = HTTPClient(options: settings.http, logger: logger)
    var backoff = Backoff(initialDelay: settings.reconnectDelay, maxDelay: settings.maxReconnectDelay)
    defer { finish() }
    try saveState(force: true)
    while stopReason == nil {
      connections += 1
      parser.reset()
      let before = written + heartbeatCount
      let request = makeRequest()
      logger.debug("connecting to \(request) from \(state.startFrom ?? "live")")
      let failure: String
      do {
        try client.stream(
          request, shouldStop: { [unowned self] in checkStop() },
          onResponse: { [unowned self] head in
            logger.info("connected to \(HTTPError.displayURL(head.url)) (from \(state.startFrom ?? "live"))")
          },
          onData: { [unowned self] chunk in try consume(chunk) })
        failure = "the server ended the stream"
      } catch HTTPError.cancelled {
        break
      } catch is StopRequest {
        break
      } catch let error as HTTPError {
        if case .status(let code, let url, _) = error {
          switch code {
          case 401, 403: throw LiveStreamError.refused(status: code, url: url)
          case 404, 410: throw LiveStreamError.unavailableStream(status: code, url: url)
          default: break
          }
        }
        guard error.isTransient else { throw error }
        failure = error.description
      } catch let error as SSEEventTooLarge {
        // Not written; the position stays before it and the platform sends it again.
        diagnostics.error("\(error); reconnecting from \(state.startFrom ?? "live")")
        failure = "an event over the line limit"
      }
      if parser.hasPartialEvent { logger.debug("dropped an event cut by the connection end; it is asked for again") }
      try commit()
      if written + heartbeatCount > before { backoff.reset() }
      if let limit = settings.maxReconnects, backoff.failures >= limit {
        throw LiveStreamError.gaveUp(reconnects: reconnects, lastError: failure)
      }
      let delay = backoff.nextDelay()
      logger.warning(
        "\(failure); reconnecting in \(Self.format(delay)) s from \(state.startFrom ?? "live")")
      reconnects += 1
      if !MonotonicClock.sleep(delay, shouldStop: { checkStop() }) { break }
    }
  }

  /// Plays back a recorded SSE capture (`-` = stdin) through the same event handling, once.
  package func replay(path: String) throws {
    defer { finish() }
    let descriptor = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw LiveStreamError.replayUnreadable(path: path, detail: String(cString: strerror(errno)))
    }
    defer { if descriptor != 0 { close(descriptor) } }
    connections = 1
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    do {
      while !checkStop() {
        let count = buffer.withUnsafeMutableBytes { readRetrying(descriptor, $0.baseAddress!, $0.count) }
        if count < 0 { throw LiveStreamError.replayUnreadable(path: path, detail: String(cString: strerror(errno))) }
        if count == 0 { break }
        try buffer.withUnsafeBytes { try consume(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
      }
    } catch is StopRequest {
    } catch let error as SSEEventTooLarge {
      throw LiveStreamError.replayEventTooLarge("\(error)")
    }
    if parser.hasPartialEvent { diagnostics.warning("the capture ends inside an event; that event was not written") }
    if stopReason == nil { stopReason = "end of capture" }
  }

  /// Flushes output and commits the state one last time. An output that failed was reported
  /// by whoever met the failure; the position of what did reach the reader is still saved.
  private func finish() {
    do { try commit(force: true) } catch {
      if writer.failure == nil { diagnostics.error("\(error)") }
      if sourceState.mode == .direct {
        do { try saveState(force: true) } catch { diagnostics.error("\(error)") }
      }
    }
    sourceState.finish(logger: logger)
  }

  // MARK: Events

  private struct StopRequest: Error {}

  /// Handles one chunk of the body: every complete event in it, then one flush, then the state.
  private func consume(_ chunk: UnsafeRawBufferPointer) throws {
    defer { _ = try? flushOnly() }
    try parser.feed(chunk) { event in try handle(event) }
    try commit()
  }

  private func handle(_ event: SSEEvent) throws {
    switch event.type {
    case "connected":
      if settings.heartbeats { try writeReporting(event) }
      return
    case "heartbeat":
      heartbeatCount += 1
      if settings.heartbeats { try writeReporting(event) }
      if let id = event.id { pendingPosition = id }
      try commit(force: true)
      return
    case "no-recover":
      logger.warning(
        "the platform skipped recovery for this stream (no-recover; resuming from \(String(decoding: event.data, as: UTF8.self)))")
      state.recoverUntil = nil
      return
    default:
      break
    }
    guard let id = event.id else {
      diagnostics.warning("ignored a '\(event.type)' event without an id")
      return
    }
    if settings.events?.contains(event.type) ?? true {
      if try writeReporting(event) {
        unflushedTotal += 1
        unflushed[event.type, default: 0] += 1
        lastDataEvent = MonotonicClock.now()
      }
    }
    pendingPosition = id
    if let limit = settings.maxEvents, written + unflushedTotal >= limit {
      stopReason = "--max-events \(limit) reached"
      throw StopRequest()
    }
  }

  /// Writes an event's line. A payload that is not JSON is reported and skipped (the position
  /// moves past it; with --strict the run stops); a line over the limit stops the position
  /// before the event (`SSEEventTooLarge`, `whole`). Says whether the line was written.
  @discardableResult
  private func writeReporting(_ event: SSEEvent) throws -> Bool {
    line.removeAll(keepingCapacity: true)
    do {
      try StreamEventLine.append(event, to: &line)
      try writer.writeRecord(line)
      return true
    } catch let error as StreamEventError {
      try diagnostics.reject(error)
      return false
    } catch OutputError.tooLarge(let size, let limit) {
      throw SSEEventTooLarge(id: event.id, size: size, limit: limit, whole: true)
    }
  }

  private func flushOnly() throws {
    try writer.flush()
  }

  /// Flushes what was written, then lets the state advance to the last handled event and saves
  /// it when due.
  private func commit(force: Bool = false) throws {
    try writer.flush()
    written += unflushedTotal
    for (type, count) in unflushed { countsByType[type, default: 0] += count }
    unflushed.removeAll(keepingCapacity: true)
    unflushedTotal = 0
    if let pending = pendingPosition {
      state.startFrom = pending
      pendingPosition = nil
    }
    try saveState(force: force)
  }

  private func saveState(force: Bool) throws {
    guard sourceState.mode != .none, state != committedState else { return }
    let now = MonotonicClock.now()
    guard force || now - lastSave >= settings.stateInterval else { return }
    try sourceState.commit(state.bytes)
    committedState = state
    lastSave = now
  }

  /// Asked between chunks and at least once a second.
  private func checkStop() -> Bool {
    if stopReason != nil { return true }
    if let number = StopSignals.received {
      stopReason = "stopped by \(StopSignals.name(number))"
    } else if let idle = settings.idleExit, MonotonicClock.now() - lastDataEvent >= idle {
      stopReason = "no event for \(Self.format(idle)) s (--idle-exit)"
    }
    return stopReason != nil
  }

  // MARK: Request

  /// The request pycti's ListenStream sends: `recover` in the query, the position as
  /// `Last-Event-ID`, and the three switches as lower-case headers.
  func makeRequest() -> HTTPRequest {
    var url = settings.streamURL
    if let recover = state.recoverUntil { url += "?recover=" + PercentEncoding.encode(recover, keeping: ":") }
    var headers: HTTPHeaders = ["Accept": "text/event-stream"]
    if let from = state.startFrom { headers.add("Last-Event-ID", from) }
    headers.add("listen-delete", settings.listenDelete ? "true" : "false")
    headers.add("no-dependencies", settings.noDependencies ? "true" : "false")
    headers.add("with-inferences", settings.withInferences ? "true" : "false")
    return HTTPRequest(.get, url, headers: headers, bearerToken: settings.token)
  }

  // MARK: Summary

  /// Reads the capture the settings name, else the platform, until the stream ends or a stop.
  package func runToEnd() throws {
    if let path = settings.replay {
      try replay(path: path)
    } else {
      try run()
    }
  }

  /// The summary with its counts.
  package var runSummary: RunSummary {
    var told = RunSummary(summary)
    told.count("events_written", written)
    for (type, count) in countsByType.sorted(by: { $0.key < $1.key }) { told.count("events_\(type)", count) }
    told.count("heartbeats", heartbeatCount)
    told.count("reconnects", reconnects)
    told.count("bad_events", diagnostics.skipped)
    told.detail("last_id", state.startFrom)
    told.detail("stop_reason", stopReason)
    if writer.failure == .closed { told.detail("output", "closed by the reader (EPIPE)") }
    return told
  }

  /// One line for stderr at the end of a run.
  package var summary: String {
    let types = ["create", "update", "delete", "merge"] + countsByType.keys.filter {
      !["create", "update", "delete", "merge"].contains($0)
    }.sorted()
    let byType = types.compactMap { type in countsByType[type].map { "\(type) \($0)" } }.joined(separator: ", ")
    var text = "\(written) event\(written == 1 ? "" : "s") written"
    if !byType.isEmpty { text += " (\(byType))" }
    text += ", \(heartbeatCount) heartbeat\(heartbeatCount == 1 ? "" : "s"), \(reconnects) reconnect\(reconnects == 1 ? "" : "s")"
    if diagnostics.skipped > 0 { text += ", \(diagnostics.skipped) bad event\(diagnostics.skipped == 1 ? "" : "s") skipped" }
    text += ", last id written \(state.startFrom ?? "none")"
    if let stopReason { text += "; \(stopReason)" }
    if writer.failure == .closed { text += "; output closed by the reader (EPIPE)" }
    return text
  }

  static func format(_ seconds: Double) -> String {
    let tenths = Int((seconds * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
  }
}
