/// cti-diode import's part in a pipeline whose last stage commits the state (`SourceState` in
/// downstream mode): the import journal goes down the pipe as checkpoints, and a file is deleted
/// (after import, or by retention) only once a checkpoint recording it has come back committed,
/// so a file is never gone before the end of the pipeline has its data.
package final class ImportCheckpoints {
  private let sourceState: SourceState
  private let state: ImportState
  private let interval: Double
  private var lastSent = -Double.infinity
  /// Files delivered in this run and not yet covered by a committed checkpoint, with the
  /// checkpoint that first recorded them (nil: none sent yet).
  private var uncommitted: [String: Int?] = [:]
  /// Deletions waiting for their checkpoint.
  private var deletions: [(key: String, delete: () throws -> Void)] = []
  package private(set) var deleted = 0

  /// `interval` bounds how often the journal is sent while files flow (it is sent whole).
  package init(sourceState: SourceState, state: ImportState, interval: Double = 1) {
    self.sourceState = sourceState
    self.state = state
    self.interval = interval
  }

  /// A file's envelope went out and the journal records it; `delete` removes it once that is
  /// committed (nil: keep it).
  package func delivered(key: String, delete: (() throws -> Void)?) throws {
    uncommitted[key] = .some(nil)
    if let delete { deletions.append((key, delete)) }
    try send(force: false)
  }

  /// Whether `key` was delivered in this run and is not committed yet (so not to be deleted).
  package func isUncommitted(_ key: String) -> Bool { uncommitted[key] != nil }

  /// Journals of up to this many files go out after every file: a few tens of KiB, so a stage
  /// stopped in the middle repeats little. Bigger ones go out at most every `interval`.
  static let smallJournal = 256

  /// Sends the journal as a checkpoint (after each file while it is small, else at most every
  /// `interval` seconds, unless `force`), then deletes what committed checkpoints cover.
  package func send(force: Bool) throws {
    let now = MonotonicClock.now()
    if force || state.entries.count <= Self.smallJournal || now - lastSent >= interval {
      try sourceState.commit(state.snapshot)
      lastSent = now
      for (key, sequence) in uncommitted where sequence == nil { uncommitted[key] = sourceState.sent }
    }
    try deleteCommitted()
  }

  /// Deletes the files whose checkpoint has come back committed.
  package func deleteCommitted() throws {
    let committed = sourceState.checkCommitted()
    guard committed > 0 else { return }
    let done = Set(uncommitted.compactMap { key, sequence in sequence.flatMap { $0 <= committed ? key : nil } })
    guard !done.isEmpty else { return }
    for key in done { uncommitted[key] = nil }
    var kept: [(key: String, delete: () throws -> Void)] = []
    for deletion in deletions {
      if done.contains(deletion.key) {
        try deletion.delete()
        deleted += 1
      } else {
        kept.append(deletion)
      }
    }
    deletions = kept
  }

  /// Files delivered whose deletion still waits for the pipeline.
  package var waitingDeletions: Int { deletions.count }
}
