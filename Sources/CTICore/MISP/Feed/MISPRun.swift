/// Counts for the summary line.
package struct MISPRunSummary: Sendable {
  package var listed = 0
  package var read = 0
  package var converted = 0
  package var skipped = 0
  package var failed: [String] = []
  /// Records of other kinds passed through from standard input (checkpoints, bundles…).
  package var passedThrough = 0
  /// Why the run ended before its input did.
  package var stopReason: String?
  package var objects: [String: Int] = [:]
  package var bytes = 0
  /// Values kept verbatim that STIX validators may reject (a domain like `_dmarc.example.com`).
  package var keptValues = 0

  package var description: String {
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
package final class MISPRun {
  package let converter: MISPConverter
  package let writer: RecordWriter
  package let diagnostics: Diagnostics
  package let state: SourceState
  package private(set) var summary = MISPRunSummary()
  /// The most threads converting at once when `jobs` is not set.
  package static let maxDefaultJobs = 4
  /// Threads converting feed or S3 events at once; 1 converts them one at a time.
  package var jobs = MISPEventPipeline.defaultJobs
  /// The current run's time (`last_run`, and the `created` of objects made now); a scheduled
  /// run sets it anew with `beginRun`.
  package private(set) var now: ISO8601.Instant
  /// Every run ends with a checkpoint of its final state, even an unchanged one (set for
  /// scheduled runs: the last stage then records each run's end).
  package var checkpointEachRun = false
  /// The feed's state as this process last committed it. Loaded from the state file by the
  /// first run only: in a pipeline the file lags behind (the last stage writes it), so later
  /// runs carry on from memory.
  private var feedState: MISPFeedState?
  /// S3 objects consumed but kept until the checkpoint after them comes back committed.
  private var consumed: [(checkpoint: Int, key: String, delete: () throws -> Void)] = []
  private var warnedS3Repeats = false
  /// The schedule's runs and a stop between them, for the summary.
  var scheduleSummary: String?
  /// "event 12/46" on stderr when it is a terminal.
  let progress = Progress()

  package init(
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
  package func convertLines(_ reader: LineReader) throws {
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

  /// Starts another run of a schedule at `now`.
  package func beginRun(now: ISO8601.Instant = .now) {
    self.now = now
  }

  /// A feed: the manifest's events newer than the state's mark (else `importFrom`, else now),
  /// oldest first. The state advances after each bundle is flushed, never past an event that
  /// failed, so the next run retries it. Call `finish()` after the last run.
  package func convertFeed(_ source: any MISPFeedSource, importFrom: Int64?) throws {
    var feedState = try self.feedState ?? state.path.map(MISPFeedState.load) ?? MISPFeedState()
    defer { self.feedState = feedState }
    let start = feedState.mark ?? importFrom ?? now.seconds
    let manifestBytes = try source.file("manifest.json")
    let entries = try MISPManifestEntry.parse(manifestBytes)
    // Entries with a problem (sorted last) are always pending: each run reports them again.
    let pending = entries.filter { $0.problem == nil && $0.timestamp > start }
    let unusable = entries.filter { $0.problem != nil }
    summary.listed += entries.count
    summary.skipped += entries.count - pending.count - unusable.count
    if feedState.mark == nil, pending.isEmpty, entries.count > unusable.count {
      explainEmptyFirstRun(
        skipped: entries.count - unusable.count, start: start, importFrom: importFrom, statePath: state.path)
    }
    var blocked = false
    var advanced = false
    defer { progress.finish() }
    let events = pipeline(count: pending.count) { try source.file(pending[$0].uuid + ".json") }
    do {
      for (index, entry) in pending.enumerated() {
        if stopRequested() { break }
        progress.update("cti-misp: event \(index + 1)/\(pending.count + unusable.count)")
        guard try writeNext(events, name: entry.uuid, failure: { MISPEventFailure(uuid: entry.uuid, underlying: $0) }) else {
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
        try diagnostics.reject(MISPEventFailure(uuid: entry.uuid, underlying: MISPEventError("manifest.json: \(entry.problem ?? "")")))
      }
      if !advanced, feedState.lastEventTimestamp == nil, !blocked {
        // Nothing new: remember the starting point so a first run without import_from_date
        // does not move with the clock.
        feedState.lastRun = MISPFeedState.isoformat(now)
        feedState.lastEventTimestamp = start
        feedState.lastEvent = MISPFeedState.isoformat(ISO8601.Instant(seconds: start))
        try state.commit(feedState.bytes)
      }
      if checkpointEachRun { try state.commit(feedState.bytes, force: true) }
    } catch OutputError.closed {
      summary.stopReason = "output closed by the reader (EPIPE)"
    }
  }

  /// Ends the last run: in a pipeline, closes the output and waits a little for the last
  /// checkpoint to come back committed (deleting the S3 objects it covers).
  package func finish() throws {
    state.finish(logger: diagnostics.logger)
    try deleteCommitted()
    if !consumed.isEmpty {
      diagnostics.logger.notice(
        "\(consumed.count) S3 object\(consumed.count == 1 ? "" : "s") kept: the pipeline has not committed \(consumed.count == 1 ? "its" : "their") bundles yet")
    }
  }

  /// Deletes the consumed S3 objects whose checkpoint has come back committed.
  func deleteCommitted() throws {
    guard !consumed.isEmpty else { return }
    let committed = state.checkCommitted()
    while let first = consumed.first, first.checkpoint <= committed {
      try first.delete()
      consumed.removeFirst()
    }
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

  /// Whether a scheduled run that failed with `error` (a feed or bucket that cannot be read
  /// now) leaves the schedule going; a failed output, a `--strict` stop or bad settings end it.
  package static func mayPassOnError(_ error: any Error) -> Bool {
    !(error is OutputError || error is StrictStop || error is ConfigError)
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
  func explainEmptyFirstRun(skipped: Int, start: Int64, importFrom: Int64?, statePath: String?) {
    let since = ISO8601.format(ISO8601.Instant(seconds: start), fractionDigits: 0)
    var text = "first run: all \(skipped) events of the feed are older than "
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

/// An event that could not be fetched, parsed or converted, named by where it came from: a
/// feed's event (`event <uuid>`) or an S3 object (`s3://bucket/key`).
package struct MISPEventFailure: ToolError {
  package var source: String
  package var underlying: any Error

  package init(uuid: String, underlying: any Error) {
    source = "event \(uuid)"
    self.underlying = underlying
  }

  package init(bucket: String, key: String, underlying: any Error) {
    source = "s3://\(bucket)/\(key)"
    self.underlying = underlying
  }

  package var exitStatus: ExitStatus { (underlying as? any ToolError)?.exitStatus ?? .dataError }
  package var description: String { "\(source): \(underlying)" }
}

extension MISPRun {
  /// S3 mode (`source_type: s3`): every object under `prefix`, in key order, each holding one
  /// event. As in the official connector there is no manifest and no timestamp filter; the state
  /// records `{"last_file": <basename>}`. A consumed object is deleted only with
  /// `deleteConsumed`, and only after its bundle was written and flushed; an object that fails is
  /// reported with its key and left in the bucket.
  package func convertS3(
    client: S3Client, bucket: String, prefix: String, deleteConsumed: Bool, maxFileBytes: Int = FileSystem.defaultMaxFileBytes
  ) throws {
    try deleteCommitted()
    // Objects already converted and waiting for their deletion are not converted again.
    let waiting = Set(consumed.map(\.key))
    let listed = try client.listObjects(bucket: bucket, prefix: prefix).filter { !$0.key.hasSuffix("/") }
    let objects = listed.filter { !waiting.contains($0.key) }.sorted { $0.key < $1.key }
    summary.listed += listed.count
    summary.skipped += listed.count - objects.count
    if checkpointEachRun, !deleteConsumed, !warnedS3Repeats {
      warnedS3Repeats = true
      diagnostics.warning(
        "S3 objects are kept (no --delete-consumed), so each run converts all of them again; the official connector deletes them")
    }
    defer { progress.finish() }
    let events = pipeline(count: objects.count) { try client.getObject(bucket: bucket, key: objects[$0].key, maxBytes: maxFileBytes) }
    do {
      for (index, object) in objects.enumerated() {
        if stopRequested() { break }
        progress.update("cti-misp: object \(index + 1)/\(objects.count)")
        let failure = { MISPEventFailure(bucket: bucket, key: object.key, underlying: $0) }
        guard try writeNext(events, name: object.key, failure: failure) else { continue }
        let name = String(object.key.split(separator: "/").last ?? Substring(object.key))
        try state.commit(JSONWriter.serialize(["last_file": .string(name)]), force: true)
        if deleteConsumed {
          if state.mode == .downstream {
            let key = object.key
            consumed.append((state.sent, key, { try client.deleteObject(bucket: bucket, key: key) }))
            try deleteCommitted()
          } else {
            try client.deleteObject(bucket: bucket, key: object.key)
          }
        }
      }
    } catch OutputError.closed {
      summary.stopReason = "output closed by the reader (EPIPE)"
    }
  }
}

extension MISPRun {
  /// The run cti-misp's settings describe: the threat guesser connected first (a platform that
  /// is down stops the run before any event), then standard input once, or the feed or bucket
  /// once or on the schedule; each scheduled run that fails to read its source is reported and
  /// tried again at the next one.
  package static func make(settings: MISPSettings, configuration: Configuration, diagnostics: Diagnostics) throws -> MISPRun {
    var threatGuesser: MISPThreatGuesser?
    if settings.conversion.guessThreatsFromTags {
      threatGuesser = try MISPThreatGuesser.connect(configuration, tls: settings.tls, logger: diagnostics.logger)
    }
    let writer = RecordWriter()
    let state = try SourceState(
      path: settings.statePath, tool: "cti-misp", output: writer, commitOnWrite: settings.commitOnWrite)
    let run = try MISPRun(
      converter: MISPConverter(options: settings.conversion, threatGuesser: threatGuesser), writer: writer,
      diagnostics: diagnostics, state: state, now: settings.now)
    if let jobs = settings.jobs { run.jobs = jobs }
    return run
  }

  /// Runs to the end; the summary is then in `runSummary`.
  package func run(_ settings: MISPSettings) throws -> ExitStatus {
    let convert: () throws -> Void
    switch settings.source {
    case .lines(let path):
      let input: LineReader
      if let path {
        input = try LineReader(path: path)
      } else {
        diagnostics.noteTerminalInput("MISP events, one JSON event per line ({\"Event\": …}; --feed URL|DIR reads a feed)")
        input = LineReader()
      }
      try convertLines(input)
      scheduleSummary = nil
      return diagnostics.finalStatus
    case .s3(let bucket, let prefix, let endpoint, let deleteConsumed):
      let client = S3Client(endpoint: endpoint, http: HTTPClient(options: endpoint.httpSettings, logger: diagnostics.logger))
      convert = {
        try self.convertS3(
          client: client, bucket: bucket, prefix: prefix, deleteConsumed: deleteConsumed, maxFileBytes: settings.maxFileBytes)
      }
    case .folder(let path):
      switch FileSystem.kind(of: path) {
      case .folder: break
      case .missing: throw MISPFetchError("feed folder \(path) does not exist")
      case .other: throw NotAFolderError(path, expected: "a MISP feed folder: manifest.json and <uuid>.json files")
      }
      let source = MISPDirectorySource(path: path, maxFileBytes: settings.maxFileBytes)
      convert = { try self.convertFeed(source, importFrom: settings.importFrom) }
    case .http(let url, let authorization, let client):
      let source = MISPHTTPSource(
        url: url, authorization: authorization, client: HTTPClient(options: client, logger: diagnostics.logger))
      convert = { try self.convertFeed(source, importFrom: settings.importFrom) }
    }
    let schedule = settings.schedule
    let scheduler = Scheduler(schedule: schedule, logger: diagnostics.logger)
    checkpointEachRun = schedule.isPeriodic
    try scheduler.run { number in
      guard schedule.isPeriodic else {
        try convert()
        return .stop
      }
      if number > 1 { beginRun() }
      let before = summary
      do {
        try convert()
      } catch where MISPRun.mayPassOnError(error) {
        // A feed that cannot be read now may be readable at the next run.
        diagnostics.error("run \(number): \(error); trying again at the next run")
      }
      let after = summary
      diagnostics.logger.info(
        "run \(number): \(after.converted - before.converted) events converted, \(after.failed.count - before.failed.count) failed, \(after.skipped - before.skipped) already imported")
      return after.stopReason == nil ? .again : .stop
    }
    try finish()
    var text = scheduler.summary ?? ""
    if scheduler.stoppedWaiting {
      text += (text.isEmpty ? "" : "; ") + "stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal") between runs"
    }
    scheduleSummary = text.isEmpty ? nil : text
    return diagnostics.finalStatus
  }

  /// The summary line, with its counts as fields.
  package var runSummary: RunSummary {
    var told = RunSummary(summary.description + (scheduleSummary.map { "; " + $0 } ?? ""))
    told.count("listed", summary.listed)
    told.count("already_imported", summary.skipped)
    told.count("events_read", summary.read)
    told.count("converted", summary.converted)
    told.count("failed", summary.failed.count)
    told.count("passed_through", summary.passedThrough)
    told.count("bytes", summary.bytes)
    for (type, count) in summary.objects.sorted(by: { $0.key < $1.key }) { told.count("objects_" + String(type.map { $0 == "-" ? "_" : $0 }), count) }
    told.detail("stop_reason", summary.stopReason)
    told.detail("schedule", scheduleSummary)
    return told
  }
}
