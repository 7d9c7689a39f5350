/// Sends bundles to a `PushTarget`, each as a named connector: a bundle is cut to the batch
/// limits in dependency order, and every platform call is tried again while the platform is
/// down, up to the outage tolerance. A failure that is the platform's rather than the record's
/// is remembered: after it nothing more is sent (`PushError.notSent`) until `retryPlatform()`.
/// `PushPipeline` (cti-push) and `DiodePusher` (cti-diode import --push) push through it; a
/// bundle that was not pushed is a thrown `PushError`, the objects the target left out are
/// returned, and each caller reports both its own way.
final class BundlePusher {
  let target: any PushTarget
  let options: PushPipeline.Settings
  private let diagnostics: Diagnostics
  /// Bundles sent, and objects in them that the target did not leave out.
  private(set) var bundles = 0
  private(set) var objects = 0
  /// Set once the platform failed in a way that does not depend on the record (down after the
  /// retries, token refused).
  var platformFailure: OpenCTIError?
  /// Told when `platformFailure` is first set by a failed call (cti-push blocks its checkpoints).
  var onPlatformFailure: (OpenCTIError) -> Void = { _ in }
  /// Objects the target left out of the bundle it was given (pycti's splitter's incompatible
  /// objects, over AMQP).
  private var leftOut: [IncompatibleObject] = []
  private var warnedApplicants = Set<String>()

  init(target: any PushTarget, options: PushPipeline.Settings, diagnostics: Diagnostics) {
    self.target = target
    self.options = options
    self.diagnostics = diagnostics
    if let amqp = target as? AMQPPushTarget {
      amqp.onIncompatible = { [weak self] object, _ in self?.leftOut.append(object) }
    }
  }

  /// Forgets an earlier platform failure so that the next bundles are sent again (a tool that
  /// polls tries the platform anew on each pass).
  func retryPlatform() {
    platformFailure = nil
  }

  /// Pushes a diode envelope's bundle as the envelope's connector, impersonating its mapped
  /// applicant. `line`, when given, goes into the warnings.
  func pushEnvelope(_ envelope: DiodeFile, line: Int?) throws(PushError) -> [(object: IncompatibleObject, staged: StagedObject)] {
    let connector: ConnectorRegistration
    do {
      connector = try ConnectorRegistration(envelope.connector)
    } catch {
      throw .unpushable(error)
    }
    return try pushBundle(envelope.bundle, line: line ?? 0, as: connector, applicant: applicant(for: envelope, line: line))
  }

  /// Pushes a whole bundle, keeping its id. Throws the first failure of its batches (the
  /// batches after a platform failure are not sent); returns the objects the target left out.
  func pushBundle(_ bundle: RawObject, line: Int, as connector: ConnectorRegistration, applicant: String?)
    throws(PushError) -> [(object: IncompatibleObject, staged: StagedObject)]
  {
    guard let ranges = bundle.arrayElements("objects") else { throw .unpushable(RecordError("bundle has no objects list")) }
    guard !ranges.isEmpty else { throw .unpushable(RecordError("bundle has no objects")) }
    var objects: [StagedObject] = []
    objects.reserveCapacity(ranges.count)
    for (position, range) in ranges.enumerated() {
      guard bundle.source[range.lowerBound] == UInt8(ascii: "{"), let object = try? RawObject(bundle.source, range: range) else {
        throw .unpushable(RecordError("bundle objects[\(position)] is not a JSON object"))
      }
      do {
        objects.append(try StagedObject(object, line: line))
      } catch {
        throw .unpushable(RecordError("bundle objects[\(position)]: \(error)"))
      }
    }
    let bundleId = bundle.string("id") ?? BundleBatcher.newBundleId()
    let (batches, oversized) = options.batcher.batches(DependencyOrder.sorted(objects), bundleId: bundleId)
    if let first = oversized.first {
      throw .unpushable(RecordError(oversizeMessage(first) + (oversized.count > 1 ? " (and \(oversized.count - 1) more)" : "")))
    }
    var failure: PushError?
    var incompatible: [IncompatibleObject] = []
    for batch in batches {
      if let platformFailure {
        failure = failure ?? .notSent(cause: platformFailure)
        break
      }
      do {
        try pushBatch(batch, bundleId: bundleId, as: connector, applicant: applicant)
        incompatible += takeLeftOut(batch).values.sorted { $0.id < $1.id }
      } catch {
        _ = takeLeftOut(batch)
        failure = failure ?? error
      }
    }
    if let failure { throw failure }
    return incompatible.compactMap { object in objects.first { $0.id == object.id }.map { (object, $0) } }
  }

  /// Sends one batch as a bundle with `bundleId`.
  func pushBatch(_ batch: [StagedObject], bundleId: String, as connector: ConnectorRegistration, applicant: String?)
    throws(PushError)
  {
    let bytes = BundleBatcher.bundle(batch, bundleId: bundleId)
    leftOut = []
    try send { () throws(OpenCTIError) in
      try target.pushBundle(bytes, objectCount: batch.count, as: connector, applicant: applicant)
    }
    bundles += 1
    objects += batch.count - Set(leftOut.map(\.id)).count
  }

  /// The objects of `batch` the target left out, by id, with why; clears the list.
  func takeLeftOut(_ batch: [StagedObject]) -> [String: IncompatibleObject] {
    guard !leftOut.isEmpty else { return [:] }
    let ids = Set(batch.map(\.id))
    var found: [String: IncompatibleObject] = [:]
    for object in leftOut where ids.contains(object.id) && found[object.id] == nil { found[object.id] = object }
    leftOut = []
    return found
  }

  /// Runs one platform call. While the platform looks down the call is tried again, up to the
  /// outage tolerance; a failure that is the platform's rather than the record's is remembered.
  func send(_ call: () throws(OpenCTIError) -> Void) throws(PushError) {
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
          onPlatformFailure(error)
          diagnostics.error("\(error); the remaining records are rejected without being sent")
        }
        throw .failed(error)
      }
    }
  }

  /// Why `object` cannot be pushed: no bundle of `--max-bytes` holds it.
  func oversizeMessage(_ object: StagedObject) -> String {
    "object \(object.id) is \(object.bytes.count) bytes, more than fits a bundle of --max-bytes \(options.batcher.maxBytes)"
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
}
