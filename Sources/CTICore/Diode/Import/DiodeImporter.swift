#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What became of a file handed to the importer's `deliver`.
package enum DiodeDelivery: Sendable, Equatable {
  /// Written out or pushed: the file is recorded as imported, and deleted when asked.
  case delivered
  /// Not delivered this time (the platform refused or failed, already reported): the file
  /// stays in place and unrecorded, for a later pass or run.
  case failed
  /// The destination can never take the file as it is: it is quarantined with this reason.
  case refused(String)
}

/// How an import pass treats files.
package struct DiodeImporterSettings: Sendable {
  /// Remove each file once it was delivered (DIODE_IMPORT_DELETE_AFTER_IMPORT).
  package var deleteAfterImport: Bool
  /// Remove imported files older than this many days; 0 turns it off. Unread files are never
  /// removed.
  package var retentionDays: Double
  /// A file whose JSON ends early and that changed less than this many seconds ago is taken as
  /// still being copied in, and left for the next pass instead of being quarantined.
  package var settleSeconds: Double

  package init(deleteAfterImport: Bool = true, retentionDays: Double = 7, settleSeconds: Double = 60) {
    self.deleteAfterImport = deleteAfterImport
    self.retentionDays = retentionDays
    self.settleSeconds = settleSeconds
  }
}

/// What one pass did.
package struct DiodeImportSummary: Sendable, Equatable {
  package var imported = 0
  /// Files already imported earlier (state), left alone or deleted now.
  package var alreadyImported = 0
  package var rejected = 0
  /// Files whose delivery failed (a push refused or failing), left in place for a later run.
  package var failed = 0
  /// Files left for a later pass (still being written, unreadable).
  package var deferred = 0
  /// Files removed by retention.
  package var expired = 0
  /// The pass ended early on a stop signal.
  package var stopped = false

  package init() {}

  package static func += (lhs: inout DiodeImportSummary, rhs: DiodeImportSummary) {
    lhs.imported += rhs.imported
    lhs.alreadyImported += rhs.alreadyImported
    lhs.rejected += rhs.rejected
    lhs.failed += rhs.failed
    lhs.deferred += rhs.deferred
    lhs.expired += rhs.expired
    lhs.stopped = lhs.stopped || rhs.stopped
  }
}

/// Reads diode files from a source in mtime-then-name order, validates each, hands the valid ones
/// to `deliver` (stdout or a push), and only once `deliver` says it delivered a file records it
/// in the state and deletes it. A failed delivery leaves the file as it was; invalid files, and
/// files the destination refuses, are quarantined with a reason, never deleted.
package final class DiodeImporter {
  package let source: any DiodeSource
  package let state: ImportState
  package let options: DiodeImporterSettings
  package let diagnostics: Diagnostics
  /// Set when the state is committed by the pipeline's last stage: deletions wait for it.
  package let checkpoints: ImportCheckpoints?
  private let deliver: (DiodeFile, DiodeItem) throws -> DiodeDelivery
  private let clock: () -> Double
  /// Items that could not be moved aside, already reported: later passes try again quietly, so
  /// that a polling run does not repeat the report at every pass.
  private var unmovable: Set<String> = []

  package init(
    source: any DiodeSource, state: ImportState, options: DiodeImporterSettings, diagnostics: Diagnostics,
    checkpoints: ImportCheckpoints? = nil,
    clock: @escaping () -> Double = { let now = ISO8601.Instant.now; return Double(now.seconds) + Double(now.nanoseconds) / 1e9 },
    deliver: @escaping (DiodeFile, DiodeItem) throws -> DiodeDelivery
  ) {
    self.source = source
    self.state = state
    self.options = options
    self.diagnostics = diagnostics
    self.checkpoints = checkpoints
    self.clock = clock
    self.deliver = deliver
  }

  /// One pass over the source. `shouldStop` is checked between files.
  package func runPass(shouldStop: () -> Bool = { StopSignals.requested }) throws -> DiodeImportSummary {
    var summary = DiodeImportSummary()
    let items = try source.list().sorted(by: diodeImportOrder)
    var gone: Set<String> = []
    for item in items {
      if shouldStop() {
        summary.stopped = true
        break
      }
      if try process(item, &summary) { gone.insert(source.stateKey(item)) }
    }
    let now = clock()
    if options.retentionDays > 0, !summary.stopped {
      let limit = now - options.retentionDays * 86400
      for item in items where !gone.contains(source.stateKey(item)) && item.modified < limit {
        let key = source.stateKey(item)
        guard state.isKnown(name: key, size: item.size, modified: item.modified), checkpoints?.isUncommitted(key) != true
        else { continue }
        do {
          try source.delete(item)
          gone.insert(source.stateKey(item))
          summary.expired += 1
        } catch {
          diagnostics.warning("retention: cannot remove \(item.name): \(error)")
        }
      }
    }
    let present = Set(items.map { source.stateKey($0) }.filter { !gone.contains($0) })
    if !summary.stopped { try state.compact(present: present, now: Int64(now)) }
    try checkpoints?.send(force: true)
    return summary
  }

  /// Handles one item; returns whether it is gone from the source afterwards.
  private func process(_ item: DiodeItem, _ summary: inout DiodeImportSummary) throws -> Bool {
    let key = source.stateKey(item)
    if state.isKnown(name: key, size: item.size, modified: item.modified) {
      summary.alreadyImported += 1
      return try finishKnown(item)
    }
    let bytes: [UInt8]
    do {
      bytes = try source.read(item)
    } catch let deferral as DiodeReadDeferral {
      diagnostics.warning("\(deferral), left for the next pass")
      summary.deferred += 1
      return false
    } catch let refused as FileReadError {
      if refused.disqualifies { return try reject(item, content: nil, reason: refused.explanation, &summary) }
      diagnostics.error("cannot read \(item.name): \(refused.explanation)")
      summary.deferred += 1
      return false
    } catch {
      diagnostics.error("cannot read \(item.name): \(error)")
      summary.deferred += 1
      return false
    }
    let hash = Digest.sha256.hex(bytes)
    if state.isKnown(name: key, size: bytes.count, sha256: hash) {
      // Same content, new timestamp (touched, copied again): already imported.
      try state.record(ImportedFile(name: key, size: bytes.count, sha256: hash, modified: item.modified, importedAt: Int64(clock())))
      summary.alreadyImported += 1
      return try finishKnown(item)
    }
    let envelope: DiodeFile
    do {
      envelope = try DiodeFile(bytes)
    } catch {
      if error.truncated, clock() - item.modified < options.settleSeconds {
        diagnostics.warning("\(item.name): JSON ends early and the file is recent (still being written?), left for the next pass")
        summary.deferred += 1
        return false
      }
      return try reject(item, content: bytes, reason: error.reason, &summary)
    }
    switch try deliver(envelope, item) {
    case .delivered: break
    case .failed:
      summary.failed += 1
      return false
    case .refused(let reason):
      return try reject(item, content: bytes, reason: reason, &summary)
    }
    try state.record(ImportedFile(name: key, size: bytes.count, sha256: hash, modified: item.modified, importedAt: Int64(clock())))
    summary.imported += 1
    if let checkpoints {
      try checkpoints.delivered(key: key, delete: options.deleteAfterImport ? { [self] in try deleteImported(item) } : nil)
      return false
    }
    if options.deleteAfterImport {
      try deleteImported(item)
      return true
    }
    return false
  }

  /// Quarantines an item and reports it; returns whether it is gone from the source. An item
  /// that cannot be moved aside (a read-only medium, an S3 object too large to copy) is reported
  /// once with why, stays where it is, and does not stop the other files.
  private func reject(_ item: DiodeItem, content: [UInt8]?, reason: String, _ summary: inout DiodeImportSummary) throws
    -> Bool
  {
    let key = "\(source.stateKey(item))\u{0}\(item.size)\u{0}\(item.modified)"
    let moved: String
    do {
      moved = try source.quarantine(item, content: content, reason: reason)
    } catch {
      guard unmovable.insert(key).inserted else { return false }
      summary.rejected += 1
      try diagnostics.reject(DiodeRejection(name: item.name, reason: reason, movedTo: nil, moveFailure: "\(error)"))
      return false
    }
    unmovable.remove(key)
    summary.rejected += 1
    try diagnostics.reject(DiodeRejection(name: item.name, reason: reason, movedTo: moved))
    return true
  }

  /// A file imported in an earlier run (or pass, once committed): delete it now if that run was
  /// stopped before it could.
  private func finishKnown(_ item: DiodeItem) throws -> Bool {
    guard options.deleteAfterImport, checkpoints?.isUncommitted(source.stateKey(item)) != true else { return false }
    try deleteImported(item)
    return true
  }

  /// Deletes a delivered file. A folder that refuses (mounted read-only, not writable) would
  /// fail the same way at the first file of every run, so the error says how to run there.
  private func deleteImported(_ item: DiodeItem) throws {
    do {
      try source.delete(item)
    } catch let error as FileSystemError where [EROFS, EACCES, EPERM].contains(error.code) {
      throw DiodeReadOnlyFolder(underlying: error)
    }
  }
}

/// Deleting an imported file failed because the folder cannot be changed.
package struct DiodeReadOnlyFolder: ToolError {
  package var underlying: FileSystemError
  package var exitStatus: ExitStatus { underlying.exitStatus }
  package var description: String {
    "\(underlying): the folder cannot be changed, so imported files cannot be deleted; for a read-only "
      + "folder, run with --no-delete-after-import --state FILE (the state remembers what was imported, "
      + "so nothing is imported twice)"
  }
}

/// An invalid diode file, as reported on stderr.
package struct DiodeRejection: ToolError {
  package var name: String
  package var reason: String
  /// Where it went; nil when it could not be moved aside (`moveFailure` says why).
  package var movedTo: String?
  package var moveFailure: String?

  package init(name: String, reason: String, movedTo: String?, moveFailure: String? = nil) {
    self.name = name
    self.reason = reason
    self.movedTo = movedTo
    self.moveFailure = moveFailure
  }

  package var exitStatus: ExitStatus { .dataError }

  package var description: String {
    if let movedTo { return "\(name): \(reason) (moved to \(movedTo))" }
    return "\(name): \(reason); it could not be moved aside (\(moveFailure ?? "?")) and stays in place, reported once"
  }
}
