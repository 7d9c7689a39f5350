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

  public func save(_ path: String) throws(FileSystemError) {
    var object = JSONObject()
    object["last_run"] = lastRun.map(JSONValue.string)
    object["last_event"] = lastEvent.map(JSONValue.string)
    object["last_event_timestamp"] = lastEventTimestamp.map { .int($0) }
    var bytes = JSONWriter.serialize(.object(object))
    bytes.append(0x0A)
    try FileSystem.writeAtomically(bytes, to: path, durable: true)
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
  public var objects: [String: Int] = [:]
  public var bytes = 0
  /// Values kept verbatim that STIX validators may reject (a domain like `_dmarc.example.com`).
  public var keptValues = 0

  public var description: String {
    let types = objects.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    var text = "\(read) events read, \(converted) converted, \(failed.count) failed"
    if listed > 0 { text = "\(listed) listed, \(skipped) already imported, " + text }
    if keptValues > 0 { text += ", \(keptValues) values kept verbatim that may not be valid STIX syntax" }
    return text + "; objects: " + (types.isEmpty ? "none" : types)
  }

  mutating func add(_ conversion: MISPConversion) {
    converted += 1
    bytes += conversion.bundle.count
    keptValues += conversion.notes.count
    for (type, count) in conversion.objectCounts { objects[type, default: 0] += count }
  }
}

/// Converts events and writes one bundle per line, in order. Feed and S3 events are converted
/// on up to `jobs` threads (`MISPEventPipeline`); memory stays bounded by a few events.
public final class MISPRun {
  public let converter: MISPConverter
  public let writer: RecordWriter
  public let diagnostics: Diagnostics
  public private(set) var summary = MISPRunSummary()
  /// Threads converting feed or S3 events at once; 1 converts them one at a time.
  public var jobs = MISPEventPipeline.defaultJobs
  let now: ISO8601.Instant
  /// "event 12/46" on stderr when it is a terminal.
  let progress = Progress()

  public init(converter: MISPConverter, writer: RecordWriter, diagnostics: Diagnostics, now: ISO8601.Instant = .now) {
    self.converter = converter
    self.writer = writer
    self.diagnostics = diagnostics
    self.now = now
  }

  /// Lines of `{"Event": …}` or bare events (a whole file as one line works too).
  public func convertLines(_ reader: LineReader) throws {
    while let line = try reader.next() {
      if line.bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
      summary.read += 1
      do {
        let value = try JSONParser.parse(line.bytes)
        let conversion = try converter.convert(value, now: now)
        try writer.writeRecord(conversion.bundle)
        summary.add(conversion)
      } catch let error as OutputError {
        throw error
      } catch {
        summary.failed.append("line \(line.number)")
        try diagnostics.reject(error, line: line.number)
      }
    }
    try writer.flush()
  }

  /// A feed: the manifest's events newer than the state's mark (else `importFrom`, else now),
  /// oldest first. The state advances after each bundle is flushed, never past an event that
  /// failed, so the next run retries it.
  public func convertFeed(_ source: MISPFeedSource, statePath: String?, importFrom: Int64?) throws {
    var state = try statePath.map(MISPFeedState.load) ?? MISPFeedState()
    let start = state.mark ?? importFrom ?? now.seconds
    let manifestBytes = try source.file("manifest.json")
    let entries = try MISPManifestEntry.parse(manifestBytes)
    summary.listed = entries.count
    // Entries with a problem (sorted last) are always pending: each run reports them again.
    let pending = entries.filter { $0.problem == nil && $0.timestamp > start }
    let unusable = entries.filter { $0.problem != nil }
    summary.skipped = entries.count - pending.count - unusable.count
    var blocked = false
    defer { progress.finish() }
    let events = pipeline(count: pending.count) { try source.file(pending[$0].uuid + ".json") }
    for (index, entry) in pending.enumerated() {
      progress.update("cti-misp: event \(index + 1)/\(pending.count + unusable.count)")
      summary.read += 1
      do {
        let conversion = try events.next().get()
        try writer.writeRecord(conversion.bundle)
        try writer.flush()
        summary.add(conversion)
      } catch let error as OutputError {
        throw error
      } catch {
        blocked = true
        summary.failed.append(entry.uuid)
        try diagnostics.reject(EventFailure(uuid: entry.uuid, underlying: error))
        continue
      }
      // Advance only past whole timestamp groups, and never beyond a failed event.
      let nextTimestamp = index + 1 < pending.count ? pending[index + 1].timestamp : Int64.max
      if !blocked, nextTimestamp > entry.timestamp, let statePath {
        state.lastRun = MISPFeedState.isoformat(now)
        state.lastEvent = MISPFeedState.isoformat(ISO8601.Instant(seconds: entry.timestamp))
        state.lastEventTimestamp = entry.timestamp
        try state.save(statePath)
      }
    }
    for entry in unusable {
      summary.read += 1
      blocked = true
      summary.failed.append(entry.uuid)
      try diagnostics.reject(EventFailure(uuid: entry.uuid, underlying: MISPEventError("manifest.json: \(entry.problem ?? "")")))
    }
    if let statePath, state.lastEventTimestamp == nil, !blocked {
      // Nothing new: remember the starting point so a first run without import_from_date
      // does not move with the clock.
      state.lastRun = MISPFeedState.isoformat(now)
      state.lastEventTimestamp = start
      state.lastEvent = MISPFeedState.isoformat(ISO8601.Instant(seconds: start))
      try state.save(statePath)
    }
  }
}

extension MISPRun {
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
  public func convertS3(client: S3Client, bucket: String, prefix: String, deleteConsumed: Bool, statePath: String?) throws {
    let objects = try client.listObjects(bucket: bucket, prefix: prefix).filter { !$0.key.hasSuffix("/") }
      .sorted { $0.key < $1.key }
    summary.listed = objects.count
    defer { progress.finish() }
    let events = pipeline(count: objects.count) { try client.getObject(bucket: bucket, key: objects[$0].key) }
    for (index, object) in objects.enumerated() {
      progress.update("cti-misp: object \(index + 1)/\(objects.count)")
      summary.read += 1
      do {
        let conversion = try events.next().get()
        try writer.writeRecord(conversion.bundle)
        try writer.flush()
        summary.add(conversion)
      } catch let error as OutputError {
        throw error
      } catch {
        summary.failed.append(object.key)
        try diagnostics.reject(S3ObjectFailure(bucket: bucket, key: object.key, underlying: error))
        continue
      }
      if deleteConsumed { try client.deleteObject(bucket: bucket, key: object.key) }
      if let statePath {
        let name = String(object.key.split(separator: "/").last ?? Substring(object.key))
        var bytes = JSONWriter.serialize(["last_file": .string(name)])
        bytes.append(0x0A)
        try FileSystem.writeAtomically(bytes, to: statePath, durable: true)
      }
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
