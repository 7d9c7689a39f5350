/// What a push run did, for the summary line.
package struct PushCounts: Sendable, Equatable {
  package var records = 0
  package var bundles = 0
  package var objects = 0
  package var rejected = 0
  package var deletes = 0
  package var merges = 0
  /// Delete and merge events not applied because `--apply-deletes` / `--apply-merges` is off.
  package var deletesSkipped = 0
  package var mergesSkipped = 0
  /// `connected`, `heartbeat` and other events without data.
  package var controlEvents = 0
  package var checkpoints = 0
  package init() {}
}

/// Routes cti-push's NDJSON records to a `PushTarget`: bare objects and stream upserts are
/// collected into bundles pushed as the tool's own connector, bundles are cut to the batch
/// limits in dependency order, diode envelopes are pushed as their connector with the mapped
/// applicant, deletes and merges are applied when asked. A record that cannot be pushed (a
/// `PushError`, or a line that is not a record) is reported, counted and written to the reject
/// output with its line number and the error, so it can be sent again; what `process` throws
/// ends the run (the output failed, or `--strict` stopped at a bad record). Checkpoints in the input are committed
/// once every record before them has been pushed or rejected; objects still collected for a
/// bundle count as not pushed yet.
package final class PushPipeline {
  package struct Settings: Sendable {
    package var batcher: BundleBatcher
    package var applyDeletes: Bool
    package var applyMerges: Bool
    package var applicants: ApplicantMap
    /// Seconds to keep trying while the platform is down (network errors, 429, 5xx after the
    /// HTTP client's own retries): the record waits, and so does the pipeline feeding it,
    /// instead of being rejected. After that the platform is given up on. 0 gives up at once.
    package var outageTolerance: Double

    package init(
      batcher: BundleBatcher = BundleBatcher(), applyDeletes: Bool = false, applyMerges: Bool = false,
      applicants: ApplicantMap = ApplicantMap(), outageTolerance: Double = 0
    ) {
      self.batcher = batcher
      self.applyDeletes = applyDeletes
      self.applyMerges = applyMerges
      self.applicants = applicants
      self.outageTolerance = outageTolerance
    }
  }

  package let options: Settings
  /// The tool's own connector: what bare objects, stream events and bundles are pushed as.
  package let connector: ConnectorRegistration
  package var counts: PushCounts {
    var counts = tally
    counts.bundles = pusher.bundles
    counts.objects = pusher.objects
    return counts
  }
  /// Set once the platform failed in a way that does not depend on the record (down after the
  /// retries, token refused): later records are rejected without being sent.
  package var platformFailure: OpenCTIError? { pusher.platformFailure }
  /// Commits the input's checkpoints (`--state`); nil for a caller without checkpoints.
  package let checkpoints: CheckpointCommitter?

  private let pusher: BundlePusher
  private let diagnostics: Diagnostics
  private let rejects: RejectFile?
  private var tally = PushCounts()
  /// Records taken in so far, and how many of the first of them are pushed or rejected.
  private var taken = 0
  private var settled = 0
  /// `taken` when the newest pending object was collected.
  private var pendingThrough = 0
  private var pending: [StagedObject] = []
  private var pendingBytes = 0
  /// The whole input record of each pending object, by line, for the reject output.
  private var pendingRecords: [Int: ArraySlice<UInt8>] = [:]

  package init(
    target: any PushTarget, connector: ConnectorRegistration, options: Settings, diagnostics: Diagnostics,
    rejects: RejectFile? = nil, checkpoints: CheckpointCommitter? = nil
  ) {
    self.connector = connector
    self.options = options
    self.diagnostics = diagnostics
    self.rejects = rejects
    self.checkpoints = checkpoints
    pusher = BundlePusher(target: target, options: options, diagnostics: diagnostics)
    pusher.onPlatformFailure = { error in checkpoints?.block("the platform failed: \(error)") }
  }

  /// Handles one input line.
  package func process(_ line: Line) throws {
    let record: Record
    do {
      record = try Record(line)
    } catch {
      tally.records += 1
      try reject(line: line.number, text: line.bytes, error)
      return
    }
    switch record.kind {
    case .checkpoint:
      tally.checkpoints += 1
      checkpoints?.receive(record, position: taken)
      try commitCheckpoints()
      return
    case .controlEvent:
      tally.controlEvents += 1
      return
    default:
      tally.records += 1
    }
    taken += 1
    defer { if pending.isEmpty { settled = taken } }
    if let platformFailure {
      try reject(line: record.line, record: record.object.bytes, PushError.notSent(cause: platformFailure))
      return
    }
    do {
      switch record.kind {
      case .stixObject:
        try stage(record.object, line: record.line, record: record.object.bytes)
      case .bundle:
        try flushPending()
        try rejectLeftOut(try pusher.pushBundle(record.object, line: record.line, as: connector, applicant: nil), line: record.line)
      case .diodeEnvelope:
        try flushPending()
        let envelope: DiodeFile
        do {
          envelope = try DiodeFile(record.object.source)
        } catch {
          throw PushError.unpushable(RecordError("invalid diode envelope: \(error)"))
        }
        try rejectLeftOut(try pusher.pushEnvelope(envelope, line: record.line), line: record.line)
      case .streamEvent:
        let action: StreamEventAction
        do {
          action = try StreamEventAction(StreamEvent(record.object))
        } catch {
          throw PushError.unpushable(error)
        }
        try handleEvent(action, record: record)
      case .checkpoint, .controlEvent:
        break
      }
    } catch let error as PushError {
      try reject(line: record.line, record: record.object.bytes, error)
    }
  }

  /// Gives up on the platform (it failed before anything could be sent): every record from now
  /// on is rejected without being sent, and no checkpoint is committed.
  package func abandon(because error: OpenCTIError) {
    pusher.platformFailure = pusher.platformFailure ?? error
    checkpoints?.block("the platform failed: \(error)")
  }

  /// Pushes what is collected when the input pauses, so that records never wait for more input
  /// (or for its end) to be sent, and their checkpoints get committed.
  package func flushIdle() throws {
    guard !pending.isEmpty else { return }
    try flushPending()
    settled = taken
    try commitCheckpoints()
  }

  /// Pushes what is still collected and commits the last checkpoint. Call at the end of the
  /// input.
  package func finish() throws {
    try flushPending()
    settled = taken
    try commitCheckpoints()
    try rejects?.flush()
  }

  /// Commits the newest checkpoint all of whose records are pushed (and settled) or rejected.
  private func commitCheckpoints() throws {
    guard let checkpoints, checkpoints.hasWaiting else { return }
    do {
      try pusher.target.settle()
    } catch {
      pusher.platformFailure = pusher.platformFailure ?? error
      checkpoints.block("the platform failed: \(error)")
      diagnostics.error("\(error); the records pushed since the last checkpoint may not have arrived")
      return
    }
    try checkpoints.commit(appliedThrough: settled)
  }

  // MARK: Routing

  private func handleEvent(_ action: StreamEventAction, record: Record) throws {
    let target = pusher.target
    switch action {
    case .upsert(let object):
      try stage(object, line: record.line, record: record.object.bytes)
    case .delete(let id):
      try flushPending()
      guard options.applyDeletes else {
        tally.deletesSkipped += 1
        return
      }
      try pusher.send { () throws(OpenCTIError) in try target.deleteObject(id: id) }
      tally.deletes += 1
    case .merge(let merged, let sourceIds):
      // The target's new state is pushed either way; only the merge itself is optional.
      if options.applyMerges {
        try flushPending()
        let targetId = merged.string("id") ?? ""
        try pusher.send { () throws(OpenCTIError) in try target.mergeObjects(targetId: targetId, sourceIds: sourceIds) }
        tally.merges += 1
      } else {
        tally.mergesSkipped += 1
      }
      try stage(merged, line: record.line, record: record.object.bytes)
    }
  }

  // MARK: Bare objects

  private func stage(_ object: RawObject, line: Int, record: ArraySlice<UInt8>) throws {
    let staged: StagedObject
    do {
      staged = try StagedObject(object, line: line)
    } catch {
      throw PushError.unpushable(error)
    }
    let limit = options.batcher.maxBytes - BundleBatcher.freshBundleOverhead
    if staged.bytes.count > limit {
      throw PushError.unpushable(RecordError(pusher.oversizeMessage(staged)))
    }
    if !pending.isEmpty, pendingBytes + staged.bytes.count + 1 > limit { try flushPending() }
    pending.append(staged)
    pendingThrough = taken
    pendingBytes += staged.bytes.count + 1
    pendingRecords[line] = record
    if pending.count >= options.batcher.maxObjects { try flushPending() }
  }

  private func flushPending() throws {
    guard !pending.isEmpty else { return }
    let through = pendingThrough
    let objects = pending
    let records = pendingRecords
    pending = []
    pendingBytes = 0
    pendingRecords = [:]
    let bundleId = BundleBatcher.newBundleId()
    let (batches, oversized) = options.batcher.batches(DependencyOrder.sorted(objects), bundleId: bundleId)
    for object in oversized {
      try reject(
        line: object.line, record: records[object.line] ?? object.bytes,
        PushError.unpushable(RecordError(pusher.oversizeMessage(object))))
    }
    var rejectedLines = Set<Int>()
    for batch in batches {
      if let platformFailure {
        for object in batch where rejectedLines.insert(object.line).inserted {
          try reject(line: object.line, record: records[object.line] ?? object.bytes, PushError.notSent(cause: platformFailure))
        }
        continue
      }
      do {
        try pusher.pushBatch(batch, bundleId: bundleId, as: connector, applicant: nil)
      } catch {
        let incompatible = pusher.takeLeftOut(batch)
        for object in batch where rejectedLines.insert(object.line).inserted {
          let reason = incompatible[object.id].map(PushError.leftOut) ?? error
          try reject(line: object.line, record: records[object.line] ?? object.bytes, reason)
        }
        continue
      }
      // The objects OpenCTI would not import were not sent: their records go to the rejects.
      for (id, reason) in pusher.takeLeftOut(batch) {
        guard let object = batch.first(where: { $0.id == id }), rejectedLines.insert(object.line).inserted else { continue }
        try reject(line: object.line, record: records[object.line] ?? object.bytes, PushError.leftOut(reason))
      }
    }
    settled = max(settled, through)
  }

  /// The objects of a bundle that went without them: each is rejected on its own, with the
  /// bundle's line, as a bare object that can be sent again once fixed.
  private func rejectLeftOut(_ leftOut: [(object: IncompatibleObject, staged: StagedObject)], line: Int) throws {
    for (object, staged) in leftOut {
      try reject(line: line, record: staged.bytes, PushError.leftOut(object))
    }
  }

  // MARK: Rejects

  private func reject(line: Int, record: ArraySlice<UInt8>, _ error: PushError) throws {
    tally.rejected += 1
    try rejects?.write(line: line, error: error, record: record)
    try diagnostics.reject(error, line: line)
  }

  /// A line that is not a record: kept as text, since it may not be JSON.
  private func reject(line: Int, text: [UInt8], _ error: RecordError) throws {
    tally.rejected += 1
    try rejects?.write(line: line, error: error, text: text)
    try diagnostics.reject(error, line: line)
  }
}
