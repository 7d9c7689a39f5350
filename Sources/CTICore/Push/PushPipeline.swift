/// Where a push pipeline sends its work: a `PushSession` talking to OpenCTI, or a test double.
public protocol PushTarget: AnyObject {
  /// Pushes one bundle (its JSON text). `connector` is the connector to push as (nil: the
  /// tool's own), `applicant` the user to impersonate (nil: the token's user).
  func pushBundle(_ bundle: [UInt8], objectCount: Int, as connector: ConnectorRegistration?, applicant: String?)
    throws(OpenCTIError)
  func deleteObject(id: String) throws(OpenCTIError)
  func mergeObjects(targetId: String, sourceIds: [String]) throws(OpenCTIError)
  /// Returns once everything pushed so far is applied where it went (a broker has confirmed
  /// it): what is pushed before a checkpoint counts as applied only after this.
  func settle() throws(OpenCTIError)
}

extension PushTarget {
  /// A target whose pushes return once they are accepted has nothing to wait for.
  public func settle() throws(OpenCTIError) {}
}

/// What a push run did, for the summary line.
public struct PushCounts: Sendable, Equatable {
  public var records = 0
  public var bundles = 0
  public var objects = 0
  public var rejected = 0
  public var deletes = 0
  public var merges = 0
  /// Delete and merge events not applied because `--apply-deletes` / `--apply-merges` is off.
  public var deletesSkipped = 0
  public var mergesSkipped = 0
  /// `connected`, `heartbeat` and other events without data.
  public var controlEvents = 0
  public var checkpoints = 0
  public init() {}
}

/// Routes NDJSON records to a `PushTarget`: bare objects and stream upserts are collected into
/// bundles, bundles are cut to the batch limits in dependency order, diode envelopes are pushed
/// as their connector with the mapped applicant, deletes and merges are applied when asked.
/// A record that cannot be pushed is reported, counted and written to the reject output with
/// its line number and the error, so it can be sent again. Checkpoints in the input are committed
/// once every record before them has been pushed or rejected; objects still collected for a
/// bundle count as not pushed yet.
public final class PushPipeline {
  public struct Settings: Sendable {
    public var batcher: BundleBatcher
    public var applyDeletes: Bool
    public var applyMerges: Bool
    public var applicants: ApplicantMap
    /// Seconds to keep trying while the platform is down (network errors, 429, 5xx after the
    /// HTTP client's own retries): the record waits, and so does the pipeline feeding it,
    /// instead of being rejected. After that the platform is given up on. 0 gives up at once.
    public var outageTolerance: Double

    public init(
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

  public let options: Settings
  public private(set) var counts = PushCounts()
  /// Set once the platform failed in a way that does not depend on the record (down after the
  /// retries, token refused): later records are rejected without being sent.
  public private(set) var platformFailure: OpenCTIError?

  private let target: PushTarget
  private let diagnostics: Diagnostics
  private let rejects: RejectFile?
  /// Commits the input's checkpoints (`--state`); nil for a caller without checkpoints.
  public let checkpoints: CheckpointCommitter?
  /// Records taken in so far, and how many of the first of them are pushed or rejected.
  private var taken = 0
  private var settled = 0
  /// `taken` when the newest pending object was collected.
  private var pendingThrough = 0
  private var pending: [StagedObject] = []
  private var pendingBytes = 0
  /// The whole input record of each pending object, by line, for the reject output.
  private var pendingRecords: [Int: ArraySlice<UInt8>] = [:]
  private var warnedApplicants = Set<String>()
  /// Objects the target left out of the bundle it was given (pycti's splitter's incompatible
  /// objects, over AMQP): rejected once the push returns.
  private var leftOut: [IncompatibleObject] = []

  public init(
    target: PushTarget, options: Settings, diagnostics: Diagnostics, rejects: RejectFile? = nil,
    checkpoints: CheckpointCommitter? = nil
  ) {
    self.target = target
    self.options = options
    self.diagnostics = diagnostics
    self.rejects = rejects
    self.checkpoints = checkpoints
    if let amqp = target as? AMQPPushTarget {
      amqp.onIncompatible = { [weak self] object, _ in self?.leftOut.append(object) }
    }
  }

  /// Handles one input line.
  public func process(_ line: Line) throws {
    let record: Record
    do {
      record = try Record(line)
    } catch {
      counts.records += 1
      try reject(line: line.number, text: line.bytes, error)
      return
    }
    switch record.kind {
    case .checkpoint:
      counts.checkpoints += 1
      checkpoints?.receive(record, position: taken)
      try commitCheckpoints()
      return
    case .controlEvent:
      counts.controlEvents += 1
      return
    default:
      counts.records += 1
    }
    taken += 1
    defer { if pending.isEmpty { settled = taken } }
    if let platformFailure {
      try reject(line: record.line, record: record.object.bytes, NotSent(cause: platformFailure))
      return
    }
    do {
      switch record.kind {
      case .stixObject:
        try stage(record.object, line: record.line, record: record.object.bytes)
      case .bundle:
        try flushPending()
        try pushBundle(record.object, line: record.line, as: nil, applicant: nil)
      case .diodeEnvelope:
        try flushPending()
        let envelope: DiodeFile
        do {
          envelope = try DiodeFile(record.object.source)
        } catch {
          throw RecordProblem("invalid diode envelope: \(error)")
        }
        try pushContent(of: envelope, line: record.line)
      case .streamEvent:
        try handleEvent(StreamEventAction(StreamEvent(record.object)), record: record)
      case .checkpoint, .controlEvent:
        break
      }
    } catch let problem as RecordProblem {
      try reject(line: record.line, record: record.object.bytes, problem)
    } catch let failure as RecordFailure {
      try reject(line: record.line, record: record.object.bytes, failure.error)
    }
  }

  /// Pushes one diode envelope's bundle as the envelope's connector, impersonating its mapped
  /// applicant, for a tool that reports failures itself (cti-diode import --push): nothing is
  /// counted as rejected or written to the reject output. `line`, when given, goes into the
  /// warnings. Throws `EnvelopePushError` when any part of the bundle was not pushed.
  public func push(_ envelope: DiodeFile, line: Int? = nil) throws(EnvelopePushError) {
    if let platformFailure { throw .notSent(NotSent(cause: platformFailure)) }
    do {
      try pushContent(of: envelope, line: line)
    } catch let problem as RecordProblem {
      throw .unpushable(problem)
    } catch let failure as RecordFailure {
      throw .failed(failure.error)
    } catch {
      throw .failed(error)
    }
  }

  /// Forgets an earlier platform failure so that the next records are sent again (a tool that
  /// polls tries the platform anew on each pass).
  public func retryPlatform() {
    platformFailure = nil
  }

  /// Gives up on the platform (it failed before anything could be sent): every record from now
  /// on is rejected without being sent, and no checkpoint is committed.
  public func abandon(because error: OpenCTIError) {
    platformFailure = platformFailure ?? error
    checkpoints?.block("the platform failed: \(error)")
  }

  /// Pushes what is collected when the input pauses, so that records never wait for more input
  /// (or for its end) to be sent, and their checkpoints get committed.
  public func flushIdle() throws {
    guard !pending.isEmpty else { return }
    try flushPending()
    settled = taken
    try commitCheckpoints()
  }

  /// Pushes what is still collected and commits the last checkpoint. Call at the end of the
  /// input.
  public func finish() throws {
    try flushPending()
    settled = taken
    try commitCheckpoints()
    try rejects?.flush()
  }

  /// Commits the newest checkpoint all of whose records are pushed (and settled) or rejected.
  private func commitCheckpoints() throws {
    guard let checkpoints, checkpoints.hasWaiting else { return }
    do {
      try target.settle()
    } catch {
      platformFailure = platformFailure ?? error
      checkpoints.block("the platform failed: \(error)")
      diagnostics.error("\(error); the records pushed since the last checkpoint may not have arrived")
      return
    }
    try checkpoints.commit(appliedThrough: settled)
  }

  // MARK: Routing

  private func handleEvent(_ action: StreamEventAction, record: Record) throws {
    switch action {
    case .upsert(let object):
      try stage(object, line: record.line, record: record.object.bytes)
    case .delete(let id):
      try flushPending()
      guard options.applyDeletes else {
        counts.deletesSkipped += 1
        return
      }
      try send { () throws(OpenCTIError) in try target.deleteObject(id: id) }
      counts.deletes += 1
    case .merge(let merged, let sourceIds):
      // The target's new state is pushed either way; only the merge itself is optional.
      if options.applyMerges {
        try flushPending()
        let targetId = merged.string("id") ?? ""
        try send { () throws(OpenCTIError) in try target.mergeObjects(targetId: targetId, sourceIds: sourceIds) }
        counts.merges += 1
      } else {
        counts.mergesSkipped += 1
      }
      try stage(merged, line: record.line, record: record.object.bytes)
    }
  }

  private func pushContent(of envelope: DiodeFile, line: Int?) throws {
    try pushBundle(
      envelope.bundle, line: line ?? 0, as: try ConnectorRegistration(envelope.connector),
      applicant: applicant(for: envelope, line: line))
  }

  /// The impersonated user for an envelope: its applicant through the mapping, or nil (the
  /// token's user) with a warning once per unmapped applicant.
  private func applicant(for envelope: DiodeFile, line: Int?) -> String? {
    guard let source = envelope.applicantID else {
      if warnedApplicants.insert("").inserted {
        diagnostics.warning("envelope of connector \(envelope.connector.name) has no applicant_id: pushing as the token's user", line: line)
      }
      return nil
    }
    if let mapped = options.applicants[source] { return mapped }
    if warnedApplicants.insert(source).inserted {
      diagnostics.warning("applicant \(source) is not in the applicant mapping: pushing as the token's user", line: line)
    }
    return nil
  }

  // MARK: Bare objects

  private func stage(_ object: RawObject, line: Int, record: ArraySlice<UInt8>) throws {
    let staged = try StagedObject(object, line: line)
    let limit = options.batcher.maxBytes - BundleBatcher.freshBundleOverhead
    if staged.bytes.count > limit {
      throw RecordProblem(oversizeMessage(staged))
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
      try reject(line: object.line, record: records[object.line] ?? object.bytes, RecordProblem(oversizeMessage(object)))
    }
    var rejectedLines = Set<Int>()
    for batch in batches {
      if let platformFailure {
        for object in batch where rejectedLines.insert(object.line).inserted {
          try reject(line: object.line, record: records[object.line] ?? object.bytes, NotSent(cause: platformFailure))
        }
        continue
      }
      do {
        try pushBatch(batch, bundleId: bundleId, as: nil, applicant: nil)
      } catch let failure as RecordFailure {
        let incompatible = takeLeftOut(batch)
        for object in batch where rejectedLines.insert(object.line).inserted {
          if let reason = incompatible[object.id] {
            try reject(line: object.line, record: records[object.line] ?? object.bytes, reason)
          } else {
            try reject(line: object.line, record: records[object.line] ?? object.bytes, failure.error)
          }
        }
        continue
      }
      // The objects OpenCTI would not import were not sent: their records go to the rejects.
      for (id, reason) in takeLeftOut(batch) {
        guard let object = batch.first(where: { $0.id == id }), rejectedLines.insert(object.line).inserted else { continue }
        try reject(line: object.line, record: records[object.line] ?? object.bytes, reason)
      }
    }
    settled = max(settled, through)
  }

  /// The objects of `batch` the target left out, by id, with why; clears the list.
  private func takeLeftOut(_ batch: [StagedObject]) -> [String: IncompatibleObject] {
    guard !leftOut.isEmpty else { return [:] }
    let ids = Set(batch.map(\.id))
    var found: [String: IncompatibleObject] = [:]
    for object in leftOut where ids.contains(object.id) && found[object.id] == nil { found[object.id] = object }
    leftOut = []
    return found
  }

  // MARK: Bundles

  private func pushBundle(_ bundle: RawObject, line: Int, as connector: ConnectorRegistration?, applicant: String?) throws {
    guard let ranges = bundle.arrayElements("objects") else { throw RecordProblem("bundle has no objects list") }
    guard !ranges.isEmpty else { throw RecordProblem("bundle has no objects") }
    var objects: [StagedObject] = []
    objects.reserveCapacity(ranges.count)
    for (position, range) in ranges.enumerated() {
      guard bundle.source[range.lowerBound] == UInt8(ascii: "{"), let object = try? RawObject(bundle.source, range: range) else {
        throw RecordProblem("bundle objects[\(position)] is not a JSON object")
      }
      do {
        objects.append(try StagedObject(object, line: line))
      } catch {
        throw RecordProblem("bundle objects[\(position)]: \(error)")
      }
    }
    let bundleId = bundle.string("id") ?? BundleBatcher.newBundleId()
    let (batches, oversized) = options.batcher.batches(DependencyOrder.sorted(objects), bundleId: bundleId)
    if let first = oversized.first {
      throw RecordProblem(oversizeMessage(first) + (oversized.count > 1 ? " (and \(oversized.count - 1) more)" : ""))
    }
    var failure: RecordFailure?
    var incompatible: [IncompatibleObject] = []
    for batch in batches {
      if let platformFailure {
        failure = failure ?? RecordFailure(error: NotSent(cause: platformFailure))
        break
      }
      do {
        try pushBatch(batch, bundleId: bundleId, as: connector, applicant: applicant)
        incompatible += takeLeftOut(batch).values.sorted { $0.id < $1.id }
      } catch let error as RecordFailure {
        _ = takeLeftOut(batch)
        failure = failure ?? error
      }
    }
    if let failure { throw failure }
    // The bundle went, but without the objects OpenCTI would not import: each is rejected on
    // its own, with the bundle's line, as a bare object that can be sent again once fixed.
    for object in incompatible {
      guard let staged = objects.first(where: { $0.id == object.id }) else { continue }
      try reject(line: line, record: staged.bytes, object)
    }
  }

  private func pushBatch(_ batch: [StagedObject], bundleId: String, as connector: ConnectorRegistration?, applicant: String?)
    throws
  {
    let bytes = BundleBatcher.bundle(batch, bundleId: bundleId)
    leftOut = []
    try send { () throws(OpenCTIError) in
      try target.pushBundle(bytes, objectCount: batch.count, as: connector, applicant: applicant)
    }
    counts.bundles += 1
    counts.objects += batch.count - Set(leftOut.map(\.id)).count
  }

  /// Runs one platform call; a failure is wrapped for the record at hand, and remembered when
  /// it is the platform's rather than the record's.
  private func send(_ call: () throws(OpenCTIError) -> Void) throws {
    let started = MonotonicClock.now()
    var backoff = Backoff(initialDelay: 2, maxDelay: 60)
    while true {
      do {
        try call()
        if backoff.failures > 0 { diagnostics.logger.notice("the platform answers again") }
        return
      } catch {
        let waited = MonotonicClock.now() - started
        if error.isOutage, waited < options.outageTolerance, !StopSignals.requested {
          let delay = min(backoff.nextDelay(), options.outageTolerance - waited)
          diagnostics.warning("\(error); the platform looks down, trying again in \(Int(delay.rounded(.up))) s")
          if MonotonicClock.sleep(delay, shouldStop: { StopSignals.requested }) { continue }
        }
        if error.isPlatformFailure || error.isOutage, platformFailure == nil {
          platformFailure = error
          checkpoints?.block("the platform failed: \(error)")
          diagnostics.error("\(error); the remaining records are rejected without being sent")
        }
        throw RecordFailure(error: error)
      }
    }
  }

  private func oversizeMessage(_ object: StagedObject) -> String {
    "object \(object.id) is \(object.bytes.count) bytes, more than fits a bundle of --max-bytes \(options.batcher.maxBytes)"
  }

  // MARK: Rejects

  private func reject(line: Int, record: ArraySlice<UInt8>, _ error: any Error) throws {
    counts.rejected += 1
    try rejects?.write(line: line, error: error, record: record)
    try diagnostics.reject(error, line: line)
  }

  /// A line that is not a record: kept as text, since it may not be JSON.
  private func reject(line: Int, text: [UInt8], _ error: any Error) throws {
    counts.rejected += 1
    try rejects?.write(line: line, error: error, text: text)
    try diagnostics.reject(error, line: line)
  }
}

/// A platform call failed for the record being handled.
struct RecordFailure: Error {
  var error: any Error
}

/// Why `PushPipeline.push(_:)` did not push a diode envelope.
public enum EnvelopePushError: Error, CustomStringConvertible {
  /// The envelope cannot be pushed as it is (unknown connector type, an object too big for a
  /// bundle, an objects entry that is not an object): sending it again will not help.
  case unpushable(RecordProblem)
  /// The platform refused or failed a request (after the transport's retries).
  case failed(any Error)
  /// Not sent: the platform had already failed.
  case notSent(NotSent)

  public var description: String {
    switch self {
    case .unpushable(let problem): problem.description
    case .failed(let error): "\(error)"
    case .notSent(let notSent): notSent.description
    }
  }
}

/// A record left unsent because the platform had already failed.
public struct NotSent: Error, CustomStringConvertible {
  public var cause: OpenCTIError
  public var description: String { "not sent, the platform failed earlier: \(cause)" }
}
