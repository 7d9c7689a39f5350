/// A problem fetching one feed file (missing, unreadable, HTTP error after retries).
public struct MISPFetchError: Error, CustomStringConvertible, ExitCoded {
  public var message: String
  public var exitStatus: ExitStatus
  public init(_ message: String, exitStatus: ExitStatus = .noInput) {
    self.message = message
    self.exitStatus = exitStatus
  }
  public var description: String { message }
}

/// Where a MISP feed's files come from: a folder on disk, or a URL.
public protocol MISPFeedSource {
  /// A short description for messages (the folder or URL).
  var location: String { get }
  /// The bytes of `manifest.json` or `<uuid>.json`.
  func file(_ name: String) throws(MISPFetchError) -> [UInt8]
}

/// A feed laid out in a local folder.
public struct MISPDirectorySource: MISPFeedSource {
  public let path: String
  public init(path: String) { self.path = path }
  public var location: String { path }

  public func file(_ name: String) throws(MISPFetchError) -> [UInt8] {
    let full: String
    do { full = try SafeName.join(path, name) } catch { throw MISPFetchError("\(error)", exitStatus: .dataError) }
    do { return try FileSystem.read(full) } catch { throw MISPFetchError("\(error)", exitStatus: error.exitStatus) }
  }
}

/// One event listed in `manifest.json`.
public struct MISPManifestEntry: Sendable, Equatable {
  public var uuid: String
  /// The event's last change (Unix seconds); integers and strings are both accepted.
  public var timestamp: Int64
  public var info: String
  /// Why the entry cannot be imported: its timestamp is missing, not a whole number, or outside
  /// the years 0001 to 9999. Such an entry has no place in the timestamp order; it sorts last,
  /// is reported as failed by every run, and the state never passes it.
  public var problem: String?

  public init(uuid: String, timestamp: Int64, info: String, problem: String? = nil) {
    self.uuid = uuid
    self.timestamp = timestamp
    self.info = info
    self.problem = problem
  }

  /// The entries of a manifest, oldest first (ties by uuid, so runs are repeatable), entries
  /// with a `problem` last. Only a manifest that is not a JSON object fails as a whole.
  public static func parse(_ bytes: [UInt8]) throws(MISPEventError) -> [MISPManifestEntry] {
    let root: JSONValue
    do { root = try JSONParser.parse(bytes) } catch { throw MISPEventError("manifest.json: \(error)") }
    guard let object = root.objectValue else { throw MISPEventError("manifest.json is not a JSON object") }
    var entries: [MISPManifestEntry] = []
    for (uuid, value) in object {
      let info = value["info"]?.stringValue ?? ""
      if let timestamp = value["timestamp"]?.intValue, ISO8601.Instant.supportedSeconds.contains(Int64(timestamp)) {
        entries.append(MISPManifestEntry(uuid: uuid, timestamp: Int64(timestamp), info: info))
        continue
      }
      let problem: String
      if let text = value["timestamp"]?.numberText ?? value["timestamp"]?.stringValue {
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        problem =
          value["timestamp"]?.intValue != nil || MISPTimestamps.isWholeNumber(text.trimmingSpaces)
          ? "timestamp \(shown) is outside the years 0001 to 9999" : "timestamp '\(shown)' is not a whole number"
      } else {
        problem = "no numeric timestamp"
      }
      entries.append(MISPManifestEntry(uuid: uuid, timestamp: .max, info: info, problem: problem))
    }
    return entries.sorted {
      ($0.problem == nil ? 0 : 1, $0.timestamp, $0.uuid) < ($1.problem == nil ? 0 : 1, $1.timestamp, $1.uuid)
    }
  }
}

/// The connector state file: `last_run`, `last_event` (ISO-8601) and `last_event_timestamp`.
public struct MISPFeedState: Sendable, Equatable {
  public var lastRun: String?
  public var lastEvent: String?
  public var lastEventTimestamp: Int64?

  public init(lastRun: String? = nil, lastEvent: String? = nil, lastEventTimestamp: Int64? = nil) {
    self.lastRun = lastRun
    self.lastEvent = lastEvent
    self.lastEventTimestamp = lastEventTimestamp
  }

  /// The state in `path`, or an empty state when the file does not exist.
  public static func load(_ path: String) throws(ConfigError) -> MISPFeedState {
    guard FileSystem.exists(path) else { return MISPFeedState() }
    guard let bytes = try? FileSystem.read(path), let root = try? JSONParser.parse(bytes), root.objectValue != nil else {
      throw ConfigError("state file \(path) is not readable JSON")
    }
    return MISPFeedState(
      lastRun: root["last_run"]?.stringValue, lastEvent: root["last_event"]?.stringValue,
      lastEventTimestamp: root["last_event_timestamp"]?.intValue.map(Int64.init))
  }

  /// The high-water mark this state gives: `last_event_timestamp`, else `last_run`.
  public var mark: Int64? {
    if let lastEventTimestamp { return lastEventTimestamp }
    return lastRun.flatMap(ISO8601.parse)?.seconds
  }

  /// The state as the connector stores it, one JSON object.
  public var bytes: [UInt8] {
    var object = JSONObject()
    object["last_run"] = lastRun.map(JSONValue.string)
    object["last_event"] = lastEvent.map(JSONValue.string)
    object["last_event_timestamp"] = lastEventTimestamp.map { .int($0) }
    return JSONWriter.serialize(.object(object))
  }

  /// Python's `isoformat()` of a UTC instant, as the connector stores it.
  public static func isoformat(_ instant: ISO8601.Instant) -> String {
    IDTime.isoformat(unixSeconds: instant.seconds, microseconds: Int(instant.nanoseconds / 1000)).text
  }
}

/// Counts for the summary line.
public struct MISPRunSummary: Sendable {
  public var listed = 0
  public var read = 0
  public var converted = 0
  public var skipped = 0
  public var failed: [String] = []
  /// Records of other kinds passed through from standard input (checkpoints, bundles…).
  public var passedThrough = 0
  /// Why the run ended before its input did.
  public var stopReason: String?
  public var objects: [String: Int] = [:]
  public var bytes = 0
  /// Values kept verbatim that STIX validators may reject (a domain like `_dmarc.example.com`).
  public var keptValues = 0

  public var description: String {
    let types = objects.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    var text = "\(read) events read, \(converted) converted, \(failed.count) failed"
    if listed > 0 { text = "\(listed) listed, \(skipped) already imported, " + text }
    if passedThrough > 0 { text += ", \(passedThrough) other records passed through" }
    if keptValues > 0 { text += ", \(keptValues) values kept verbatim that may not be valid STIX syntax" }
    text += "; objects: " + (types.isEmpty ? "none" : types)
    if let stopReason { text += "; " + stopReason }
    return text
  }

  mutating func add(_ conversion: MISPConversion) {
    converted += 1
    bytes += conversion.bundle.count
    keptValues += conversion.notes.count
    for (type, count) in conversion.objectCounts { objects[type, default: 0] += count }
  }
}

/// Converts events and writes one bundle per line, in order. Feed and S3 events are converted
/// on up to `jobs` threads (`MISPEventPipeline`); memory stays bounded by a few events. The
/// position is committed through `state` (the state file, or checkpoints down a pipe) only past
/// events whose bundles are out; a stop signal ends the run between events.
public final class MISPRun {
  public let converter: MISPConverter
  public let writer: RecordWriter
  public let diagnostics: Diagnostics
  public let state: SourceState
  public private(set) var summary = MISPRunSummary()
  /// Threads converting feed or S3 events at once; 1 converts them one at a time.
  public var jobs = MISPEventPipeline.defaultJobs
  let now: ISO8601.Instant
  /// "event 12/46" on stderr when it is a terminal.
  let progress = Progress()

  public init(
    converter: MISPConverter, writer: RecordWriter, diagnostics: Diagnostics, state: SourceState? = nil,
    now: ISO8601.Instant = .now
  ) throws {
    self.converter = converter
    self.writer = writer
    self.diagnostics = diagnostics
    self.state = try state ?? SourceState(path: nil, tool: "cti-misp", output: writer)
    self.now = now
  }

  /// Lines of `{"Event": …}` or bare events (a whole file as one line works too). Lines that are
  /// already records of the NDJSON contract pass through unchanged, in order (checkpoints of an
  /// upstream source among them); control events are dropped.
  public func convertLines(_ reader: LineReader) throws {
    do {
      while let line = try reader.next(reportingTo: diagnostics) {
        if line.bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
        if let kind = Self.recordKind(line.bytes) {
          if kind != .controlEvent {
            try writer.writeRecord(line.bytes)
            summary.passedThrough += 1
          }
          continue
        }
        summary.read += 1
        do {
          let value = try JSONParser.parse(line.bytes)
          let conversion = try converter.convert(value, now: now)
          try writer.writeRecord(conversion.bundle)
          summary.add(conversion)
        } catch let error as OutputError where error.isWriteFailure {
          throw error
        } catch {
          summary.failed.append("line \(line.number)")
          try diagnostics.reject(error, line: line.number)
        }
      }
      try writer.flush()
    } catch OutputError.closed {
      summary.stopReason = "output closed by the reader (EPIPE)"
    }
    if reader.stoppedBySignal { summary.stopReason = "stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal")" }
  }

  /// The kind of a line that is a record of the NDJSON contract rather than a MISP event.
  static func recordKind(_ bytes: [UInt8]) -> RecordKind? {
    guard let object = try? RawObject(bytes) else { return nil }
    return try? Record.kind(of: object)
  }

  /// A feed: the manifest's events newer than the state's mark (else `importFrom`, else now),
  /// oldest first. The state advances after each bundle is flushed, never past an event that
  /// failed, so the next run retries it.
  public func convertFeed(_ source: MISPFeedSource, importFrom: Int64?) throws {
    var feedState = try state.path.map(MISPFeedState.load) ?? MISPFeedState()
    let start = feedState.mark ?? importFrom ?? now.seconds
    let manifestBytes = try source.file("manifest.json")
    let entries = try MISPManifestEntry.parse(manifestBytes)
    summary.listed = entries.count
    // Entries with a problem (sorted last) are always pending: each run reports them again.
    let pending = entries.filter { $0.problem == nil && $0.timestamp > start }
    let unusable = entries.filter { $0.problem != nil }
    summary.skipped = entries.count - pending.count - unusable.count
    if feedState.mark == nil, pending.isEmpty, summary.skipped > 0 {
      explainEmptyFirstRun(start: start, importFrom: importFrom, statePath: state.path)
    }
    var blocked = false
    var advanced = false
    defer { progress.finish() }
    let events = pipeline(count: pending.count) { try source.file(pending[$0].uuid + ".json") }
    do {
      for (index, entry) in pending.enumerated() {
        if stopRequested() { break }
        progress.update("cti-misp: event \(index + 1)/\(pending.count + unusable.count)")
        guard try writeNext(events, name: entry.uuid, failure: { EventFailure(uuid: entry.uuid, underlying: $0) }) else {
          blocked = true
          continue
        }
        // Advance only past whole timestamp groups, and never beyond a failed event.
        let nextTimestamp = index + 1 < pending.count ? pending[index + 1].timestamp : Int64.max
        if !blocked, nextTimestamp > entry.timestamp {
          feedState.lastRun = MISPFeedState.isoformat(now)
          feedState.lastEvent = MISPFeedState.isoformat(ISO8601.Instant(seconds: entry.timestamp))
          feedState.lastEventTimestamp = entry.timestamp
          try state.commit(feedState.bytes)
          advanced = true
        }
      }
      for entry in unusable {
        summary.read += 1
        blocked = true
        summary.failed.append(entry.uuid)
        try diagnostics.reject(EventFailure(uuid: entry.uuid, underlying: MISPEventError("manifest.json: \(entry.problem ?? "")")))
      }
      if !advanced, feedState.lastEventTimestamp == nil, !blocked {
        // Nothing new: remember the starting point so a first run without import_from_date
        // does not move with the clock.
        feedState.lastRun = MISPFeedState.isoformat(now)
        feedState.lastEventTimestamp = start
        feedState.lastEvent = MISPFeedState.isoformat(ISO8601.Instant(seconds: start))
        try state.commit(feedState.bytes)
      }
    } catch OutputError.closed {
      summary.stopReason = "output closed by the reader (EPIPE)"
    }
    state.finish(logger: diagnostics.logger)
  }

  /// Writes the next event's bundle and flushes it; false when the event could not be fetched,
  /// converted or written (a bundle over the line limit is not written), reported through
  /// `failure`. A failed output ends the run.
  func writeNext(_ events: MISPEventPipeline, name: String, failure: (any Error) -> any Error) throws -> Bool {
    summary.read += 1
    do {
      let conversion = try events.next().get()
      try writer.writeRecord(conversion.bundle)
      try writer.flush()
      summary.add(conversion)
      return true
    } catch let error as OutputError where error.isWriteFailure {
      throw error
    } catch {
      summary.failed.append(name)
      try diagnostics.reject(failure(error))
      return false
    }
  }

  /// Whether a stop signal asks the run to end before the next event.
  func stopRequested() -> Bool {
    guard let signal = StopSignals.received else { return false }
    summary.stopReason = "stopped by \(StopSignals.name(signal))"
    return true
  }
}

extension MISPRun {
  /// A first run that converts nothing because every event is older than its start looks like
  /// a broken feed ("46 already imported"): say why, and how to import them.
  func explainEmptyFirstRun(start: Int64, importFrom: Int64?, statePath: String?) {
    let since = ISO8601.format(ISO8601.Instant(seconds: start), fractionDigits: 0)
    var text = "first run: all \(summary.skipped) events of the feed are older than "
    if importFrom == nil {
      text += "its start, now (\(since)), so none was converted; give --import-from-date "
        + "(MISP_FEED_IMPORT_FROM_DATE), e.g. 2000-01-01 or P30D, to import older events"
    } else {
      text += "--import-from-date (\(since)), so none was converted; give an earlier date to import them"
    }
    if let statePath {
      text += " (and remove \(statePath), which now starts at \(since))"
    }
    diagnostics.logger.warning("\(text)")
  }

  /// Event files fetched in order by `fetch`, parsed and converted on `jobs` threads.
  func pipeline(count: Int, fetch: @escaping (Int) throws -> [UInt8]) -> MISPEventPipeline {
    let converter = converter
    let now = now
    return MISPEventPipeline(count: count, jobs: jobs, fetch: fetch) { bytes in
      let value: JSONValue
      do { value = try JSONParser.parse(bytes) } catch { throw MISPEventError("not valid JSON: \(error)") }
      return try converter.convert(value, now: now)
    }
  }
}

/// An event of a feed that could not be fetched, parsed or converted.
public struct EventFailure: Error, CustomStringConvertible {
  public var uuid: String
  public var underlying: any Error
  public var description: String { "event \(uuid): \(underlying)" }
}

/// A feed served over HTTP(S): `<url>/manifest.json` and `<url>/<uuid>.json`, fetched with the
/// libcurl client (transient failures and 5xx retried with backoff by the client).
public final class MISPHTTPSource: MISPFeedSource {
  public let url: String
  let client: HTTPClient
  let authorization: String?

  /// `authorization` is sent verbatim as the `Authorization` header
  /// (MISP_FEED_HTTP_AUTHORIZATION_HEADER, e.g. `Basic …` or `Bearer …`).
  public init(url: String, authorization: String?, client: HTTPClient) {
    var base = url
    while base.hasSuffix("/") { base.removeLast() }
    self.url = base
    self.authorization = authorization
    self.client = client
  }

  public var location: String { HTTPError.displayURL(url) }

  public func file(_ name: String) throws(MISPFetchError) -> [UInt8] {
    // Names come from the manifest: one plain path component, never `..` or a query.
    do { try SafeName.check(name) } catch { throw MISPFetchError("\(error)", exitStatus: .dataError) }
    guard !name.contains(where: { $0 == "?" || $0 == "#" || $0 == "%" || $0 == " " }) else {
      throw MISPFetchError("unsafe file name '\(name)' in the manifest", exitStatus: .dataError)
    }
    var headers = HTTPHeaders()
    if let authorization, !authorization.isEmpty { headers.set("Authorization", authorization) }
    do {
      return try client.send(HTTPRequest(.get, url + "/" + name, headers: headers)).requireSuccess().body
    } catch {
      throw MISPFetchError("\(error)", exitStatus: error.exitStatus)
    }
  }
}

extension MISPRun {
  /// S3 mode (`source_type: s3`): every object under `prefix`, in key order, each holding one
  /// event. As in the official connector there is no manifest and no timestamp filter; the state
  /// records `{"last_file": <basename>}`. A consumed object is deleted only with
  /// `deleteConsumed`, and only after its bundle was written and flushed; an object that fails is
  /// reported with its key and left in the bucket.
  public func convertS3(client: S3Client, bucket: String, prefix: String, deleteConsumed: Bool) throws {
    let objects = try client.listObjects(bucket: bucket, prefix: prefix).filter { !$0.key.hasSuffix("/") }
      .sorted { $0.key < $1.key }
    summary.listed = objects.count
    defer { progress.finish() }
    // Keys to delete once the checkpoint after them is committed downstream.
    var consumed: [(checkpoint: Int, key: String)] = []
    func deleteCommitted() throws {
      let committed = state.checkCommitted()
      while let first = consumed.first, first.checkpoint <= committed {
        try client.deleteObject(bucket: bucket, key: first.key)
        consumed.removeFirst()
      }
    }
    let events = pipeline(count: objects.count) { try client.getObject(bucket: bucket, key: objects[$0].key) }
    do {
      for (index, object) in objects.enumerated() {
        if stopRequested() { break }
        progress.update("cti-misp: object \(index + 1)/\(objects.count)")
        let failure = { S3ObjectFailure(bucket: bucket, key: object.key, underlying: $0) }
        guard try writeNext(events, name: object.key, failure: failure) else { continue }
        let name = String(object.key.split(separator: "/").last ?? Substring(object.key))
        try state.commit(JSONWriter.serialize(["last_file": .string(name)]), force: true)
        if deleteConsumed {
          if state.mode == .downstream {
            consumed.append((state.sent, object.key))
            try deleteCommitted()
          } else {
            try client.deleteObject(bucket: bucket, key: object.key)
          }
        }
      }
    } catch OutputError.closed {
      summary.stopReason = "output closed by the reader (EPIPE)"
    }
    state.finish(logger: diagnostics.logger)
    try deleteCommitted()
    if !consumed.isEmpty {
      diagnostics.logger.notice(
        "\(consumed.count) S3 object\(consumed.count == 1 ? "" : "s") kept: the pipeline has not committed \(consumed.count == 1 ? "its" : "their") bundles yet")
    }
  }
}

/// An S3 object that could not be fetched, parsed or converted.
public struct S3ObjectFailure: Error, CustomStringConvertible {
  public var bucket: String
  public var key: String
  public var underlying: any Error
  public var description: String { "s3://\(bucket)/\(key): \(underlying)" }
}
