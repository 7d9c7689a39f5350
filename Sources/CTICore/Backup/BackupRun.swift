/// One cti-backup run: reads records, applies them, reports bad lines and counts everything.
package final class BackupRun {
  package let writer: BackupWriter
  package let diagnostics: Diagnostics
  package private(set) var records = 0

  package init(path: String, bucket: BucketSize, durable: Bool, diagnostics: Diagnostics) throws {
    writer = try BackupWriter(path: path, bucket: bucket, durable: durable)
    self.diagnostics = diagnostics
    let opening = writer.opening
    if opening.createdRoot {
      diagnostics.logger.notice("created the backup folder \(path), which did not exist")
    }
    if opening.temporariesRemoved > 0 {
      diagnostics.logger.notice("removed \(opening.temporariesRemoved) temporary files left by an interrupted run")
    }
    if opening.duplicatesRemoved > 0 {
      diagnostics.logger.notice(
        "removed \(opening.duplicatesRemoved) older copies of objects stored in several folders (the last folder's copy is kept)")
    }
    diagnostics.logger.debug("opened \(opening.files) files in \(opening.buckets) folders")
    writer.objectProblem = { [unowned self] error in try diagnostics.reject(error, line: self.currentLine) }
  }

  /// The run the settings describe, fetching attachments when a platform is set.
  package convenience init(settings: BackupSettings, diagnostics: Diagnostics) throws {
    try self.init(path: settings.path, bucket: settings.bucket, durable: settings.durable, diagnostics: diagnostics)
    if let platform = settings.attachments {
      fetchAttachments(from: platform.url, token: platform.token, options: platform.http)
    }
  }

  /// Applies the settings' input (a file, or standard input), committing its checkpoints into
  /// the settings' state file; returns the exit status.
  package func run(_ settings: BackupSettings) throws -> ExitStatus {
    let checkpoints = try CheckpointCommitter(path: settings.statePath, diagnostics: diagnostics)
    let reader = try settings.input.map { path throws in try LineReader(path: path) } ?? LineReader()
    try consume(reader, checkpoints: checkpoints)
    return diagnostics.finalStatus
  }

  /// Downloads attachments from the platform at `baseURL` before objects are written; a file
  /// that cannot be fetched is reported as an error (the object is still written).
  package func fetchAttachments(from baseURL: String, token: String?, options: HTTPClientSettings) {
    writer.attachments = AttachmentFetcher(baseURL: baseURL, token: token, options: options)
    let diagnostics = diagnostics
    writer.attachmentProblem = { [unowned self] message in diagnostics.error("line \(self.currentLine): \(message)") }
  }

  private var currentLine = 0
  /// Why the input ended early, for the summary.
  package private(set) var stopReason: String?

  /// Applies every line of `reader`. Bad lines are rejected through `diagnostics` (skipped and
  /// counted, or fatal with --strict); file-system failures end the run. Checkpoints are
  /// committed through `checkpoints` as soon as they are read: every record before them is
  /// applied by then. A stop signal ends the input after the current record.
  package func consume(_ reader: LineReader, checkpoints: CheckpointCommitter? = nil) throws {
    while let line = try reader.next(reportingTo: diagnostics) {
      currentLine = line.number
      do {
        let record = try Record(line)
        if record.kind == .checkpoint {
          checkpoints?.receive(record, position: records)
          try checkpoints?.commit(appliedThrough: records)
          continue
        }
        records += 1
        let outcome = try writer.apply(record)
        if case .deleted(found: false) = outcome {
          diagnostics.logger.debug("line \(line.number): deleted object had no file")
        }
      } catch let error as FileSystemError {
        throw error
      } catch let error as StrictStop {
        // An object of a bundle under --strict, already reported.
        throw error
      } catch let error as RecordError {
        records += 1
        try diagnostics.reject(error)
      } catch {
        try diagnostics.reject(error, line: line.number)
      }
    }
    if reader.stoppedBySignal { stopReason = "stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal")" }
    self.checkpoints = checkpoints
  }

  private var checkpoints: CheckpointCommitter?

  /// The summary with its counts.
  package var runSummary: RunSummary {
    let counts = writer.counts
    var told = RunSummary(summary)
    told.count("records", records)
    told.count("written", counts.written)
    told.count("undated", counts.undated)
    told.count("moved", counts.moved)
    told.count("deleted", counts.deleted)
    told.count("delete_missing", counts.deleteMissing)
    told.count("merged", counts.merged)
    told.count("merge_sources_removed", counts.mergeSourcesRemoved)
    told.count("ignored", counts.ignored)
    told.count("bad_lines", diagnostics.skipped - counts.objectsFailed)
    told.count("objects_failed", counts.objectsFailed)
    told.count("folders_created", counts.foldersCreated)
    told.count("folders_removed", counts.foldersRemoved)
    if let attachments = writer.attachments {
      told.count("attachments_fetched", attachments.fetched)
      told.count("attachments_failed", attachments.failed)
    }
    told.detail("checkpoints", checkpoints?.summary)
    told.detail("stop_reason", stopReason)
    return told
  }

  /// `1200 records: 1100 written, …`.
  package var summary: String {
    let counts = writer.counts
    return "\(records) records: \(counts.written) written"
      + (counts.undated > 0 ? " (\(counts.undated) without a date)" : "")
      + (counts.moved > 0 ? ", \(counts.moved) moved to another folder" : "")
      + ", \(counts.deleted) deleted"
      + (counts.deleteMissing > 0 ? " (\(counts.deleteMissing) had no file)" : "")
      + ", \(counts.merged) merged (\(counts.mergeSourcesRemoved) source files removed), \(counts.ignored) ignored, "
      + "\(diagnostics.skipped - counts.objectsFailed) bad lines"
      + (counts.objectsFailed > 0 ? ", \(counts.objectsFailed) objects of bundles not written" : "")
      + "; \(counts.foldersCreated) folders created, \(counts.foldersRemoved) removed"
      + (writer.attachments.map { "; attachments: \($0.fetched) fetched, \($0.failed) failed" } ?? "")
      + (checkpoints?.summary.map { "; " + $0 } ?? "") + (stopReason.map { "; " + $0 } ?? "")
  }
}

/// One `cti-backup restore` run: a bundle per folder to the output, the position committed after
/// each (`SourceState`: the state file, or a checkpoint for the last stage of the pipeline).
package final class RestoreRun {
  package let restore: BackupRestore
  package let state: SourceState
  package let diagnostics: Diagnostics
  package private(set) var foldersWritten = 0
  package private(set) var bundlesWritten = 0
  package private(set) var objectsWritten = 0
  package private(set) var pulledIn = 0
  package private(set) var unresolved = 0
  /// Why the run ended before the last folder, for the summary.
  package private(set) var stopReason: String?
  /// Older copies left out because the id is stored again in a later folder.
  package private(set) var superseded = 0
  package private(set) var filesNotRestored = 0
  package private(set) var foldersNotRestored = 0
  private let startPosition: Int

  package init(
    path: String, state: SourceState, diagnostics: Diagnostics, maxFileBytes: Int = FileSystem.defaultMaxFileBytes
  ) throws {
    restore = try BackupRestore(path: path, maxFileBytes: maxFileBytes)
    self.state = state
    self.diagnostics = diagnostics
    var start = 0
    if let statePath = state.path, FileSystem.exists(statePath) {
      let saved: RawObject
      do {
        saved = try RawObject(try FileSystem.read(statePath))
      } catch {
        throw ConfigError("state file \(statePath) cannot be used: \(error); remove it to restore from the start")
      }
      if let current = saved.string("current") {
        start = restore.folders.firstIndex(where: { $0 > current }) ?? restore.folders.count
        diagnostics.logger.info("resuming after folder \(current) (state \(statePath))")
      }
    }
    startPosition = start
  }

  /// The run the settings describe, writing to standard output.
  package convenience init(settings: RestoreSettings, diagnostics: Diagnostics) throws {
    let output = RecordWriter()
    let state = try SourceState(
      path: settings.statePath, tool: "cti-backup", output: output, commitOnWrite: settings.commitOnWrite)
    try self.init(path: settings.path, state: state, diagnostics: diagnostics, maxFileBytes: settings.maxFileBytes)
    self.output = output
  }

  /// Where `run()` writes: standard output unless the run was made for another writer.
  private var output = RecordWriter()

  /// Writes every bundle, then settles the state; returns the exit status.
  package func run() throws -> ExitStatus {
    try restore(to: output)
    state.finish(logger: diagnostics.logger)
    return diagnostics.finalStatus
  }

  /// The summary with its counts.
  package var runSummary: RunSummary {
    var told = RunSummary(summary)
    told.count("folders_restored", foldersWritten)
    told.count("bundles", bundlesWritten)
    told.count("objects", objectsWritten)
    told.count("pulled_in", pulledIn)
    told.count("superseded", superseded)
    told.count("unresolved", unresolved)
    told.count("files_not_restored", filesNotRestored)
    told.count("folders_not_restored", foldersNotRestored)
    told.detail("stop_reason", stopReason)
    return told
  }

  /// Writes the bundles; a folder counts as restored (and the position passes it) only once its
  /// bundles are flushed. A folder too big for one line goes out as several bundles, each under
  /// the line limit; a single object over the limit stops the run there.
  package func restore(to output: RecordWriter) throws {
    for entry in restore.unrecognised {
      diagnostics.error("\(restore.tree.dataPath)/\(entry.name): \(entry.reason); not restored")
      if entry.isFolder { foldersNotRestored += 1 } else { filesNotRestored += 1 }
    }
    let progress = Progress()
    defer { progress.finish() }
    let total = restore.folders.count
    do {
      for position in startPosition..<total {
        if let signal = StopSignals.received {
          stopReason = "stopped by \(StopSignals.name(signal))"
          break
        }
        progress.update("restoring folder \(position + 1)/\(total)")
        let bundle = try restore.bundle(at: position)
        for bad in bundle.badFiles {
          if bad.name.isEmpty {
            diagnostics.error("\(restore.tree.dataPath)/\(bundle.folder): \(bad.reason); not restored")
            foldersNotRestored += 1
          } else {
            diagnostics.error("\(restore.tree.dataPath)/\(bundle.folder)/\(bad.name): \(bad.reason); not restored")
            filesNotRestored += 1
          }
        }
        if !bundle.unresolved.isEmpty {
          diagnostics.logger.debug("\(bundle.folder): \(bundle.unresolved.count) references found in no later folder")
        }
        if bundle.objectCount > 0 {
          let lines = try Self.lines(of: bundle, limit: output.maxRecordBytes)
          for line in lines { try output.writeRecord(line) }
          try output.flush()
          bundlesWritten += lines.count
        }
        var current = JSONObject()
        current["current"] = .string(bundle.folder)
        try state.commit(JSONWriter.serialize(.object(current)))
        foldersWritten += 1
        objectsWritten += bundle.objectCount
        pulledIn += bundle.pulledIn
        unresolved += bundle.unresolved.count
        superseded += bundle.superseded
      }
    } catch OutputError.closed {
      stopReason = "output closed by the reader (EPIPE)"
    }
  }

  /// The folder's bundle as one line, or cut into bundles that each fit under `limit` (in
  /// dependency order, so that referenced objects come first).
  static func lines(of bundle: RestoredBundle, limit: Int) throws -> [[UInt8]] {
    if bundle.bytes.count <= limit { return [bundle.bytes] }
    let object = try RawObject(bundle.bytes)
    var staged: [StagedObject] = []
    for range in object.arrayElements("objects") ?? [] {
      staged.append(try StagedObject(try RawObject(bundle.bytes, range: range), line: 0))
    }
    let bundleId = object.string("id") ?? BundleBatcher.newBundleId()
    let batcher = BundleBatcher(maxObjects: .max, maxBytes: limit)
    let (batches, oversized) = batcher.batches(DependencyOrder.sorted(staged), bundleId: bundleId)
    if let first = oversized.first {
      throw OutputError.tooLarge(size: first.bytes.count, limit: limit)
    }
    return batches.map { BundleBatcher.bundle($0, bundleId: bundleId) }
  }

  package var summary: String {
    var text =
      "\(foldersWritten) folders restored as \(bundlesWritten) bundles: \(objectsWritten) objects (\(pulledIn) pulled in from later folders"
      + (superseded > 0 ? ", \(superseded) older copies left out" : "") + "), "
      + "\(unresolved) references unresolved; \(filesNotRestored) files and \(foldersNotRestored) folders not restored"
    if let stopReason { text += "; " + stopReason }
    return text
  }
}
