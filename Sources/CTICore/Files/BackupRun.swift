/// The settings cti-backup reads, with the official connector's names.
public enum BackupSettings {
  public static let path = Setting(env: "BACKUP_PATH", key: "backup.path")
  public static let protocolName = Setting(env: "BACKUP_PROTOCOL", key: "backup.protocol")
  public static let bucket = Setting(env: "BACKUP_BUCKET", key: "backup.bucket")
  public static let fsync = Setting(env: "BACKUP_FSYNC", key: "backup.fsync")
}

/// One cti-backup run: reads records, applies them, reports bad lines and counts everything.
public final class BackupRun {
  public let writer: BackupWriter
  public let diagnostics: Diagnostics
  public private(set) var records = 0

  public init(path: String, bucket: BucketSize, durable: Bool, diagnostics: Diagnostics) throws {
    writer = try BackupWriter(path: path, bucket: bucket, durable: durable)
    self.diagnostics = diagnostics
  }

  /// Downloads attachments from the platform at `baseURL` before objects are written; a file
  /// that cannot be fetched is reported as an error (the object is still written).
  public func fetchAttachments(from baseURL: String, token: String?, options: HTTPClientOptions) {
    writer.attachments = AttachmentFetcher(baseURL: baseURL, token: token, options: options)
    let diagnostics = diagnostics
    writer.attachmentProblem = { [unowned self] message in diagnostics.error("line \(self.currentLine): \(message)") }
  }

  private var currentLine = 0

  /// Applies every line of `reader`. Bad lines are rejected through `diagnostics` (skipped and
  /// counted, or fatal with --strict); file-system failures end the run.
  public func consume(_ reader: LineReader) throws {
    while let line = try reader.next(reportingTo: diagnostics) {
      records += 1
      currentLine = line.number
      do {
        let record = try Record(line)
        let outcome = try writer.apply(record)
        if case .deleted(found: false) = outcome {
          diagnostics.logger.debug("line \(line.number): deleted object had no file")
        }
      } catch let error as FileSystemError {
        throw error
      } catch let error as RecordError {
        try diagnostics.reject(error)
      } catch {
        try diagnostics.reject(error, line: line.number)
      }
    }
  }

  /// `1200 records: 1100 written, …`.
  public var summary: String {
    let counts = writer.counts
    return "\(records) records: \(counts.written) written, \(counts.deleted) deleted"
      + (counts.deleteMissing > 0 ? " (\(counts.deleteMissing) had no file)" : "")
      + ", \(counts.merged) merged (\(counts.mergeSourcesRemoved) source files removed), \(counts.ignored) ignored, "
      + "\(diagnostics.skipped) bad; \(counts.foldersCreated) folders created, \(counts.foldersRemoved) removed"
      + (writer.attachments.map { "; attachments: \($0.fetched) fetched, \($0.failed) failed" } ?? "")
  }
}

/// One `cti-backup restore` run: a bundle per folder to the output, state after each.
public final class RestoreRun {
  public let restore: BackupRestore
  public let statePath: String?
  public let diagnostics: Diagnostics
  public private(set) var foldersWritten = 0
  public private(set) var objectsWritten = 0
  public private(set) var pulledIn = 0
  public private(set) var unresolved = 0
  private let startPosition: Int

  public init(
    path: String, statePath: String?, diagnostics: Diagnostics, maxFileBytes: Int = FileSystem.defaultMaxFileBytes
  ) throws {
    restore = try BackupRestore(path: path, maxFileBytes: maxFileBytes)
    self.statePath = statePath
    self.diagnostics = diagnostics
    var start = 0
    if let statePath, FileSystem.exists(statePath) {
      let state: RawObject
      do {
        state = try RawObject(try FileSystem.read(statePath))
      } catch {
        throw ConfigError("state file \(statePath) cannot be used: \(error); remove it to restore from the start")
      }
      if let current = state.string("current") {
        start = restore.folders.firstIndex(where: { $0 > current }) ?? restore.folders.count
        diagnostics.logger.info("resuming after folder \(current) (state \(statePath))")
      }
    }
    startPosition = start
  }

  /// Writes the bundles; the state names a folder only once its bundle has been flushed.
  public func restore(to output: RecordWriter) throws {
    let progress = Progress()
    defer { progress.finish() }
    let total = restore.folders.count
    for position in startPosition..<total {
      progress.update("restoring folder \(position + 1)/\(total)")
      let bundle = try restore.bundle(at: position)
      for bad in bundle.badFiles {
        diagnostics.error("\(bundle.folder)/\(bad.name): \(bad.reason); not restored")
      }
      if !bundle.unresolved.isEmpty {
        diagnostics.logger.debug("\(bundle.folder): \(bundle.unresolved.count) references found in no later folder")
      }
      if bundle.objectCount > 0 {
        try output.writeRecord(bundle.bytes)
        try output.flush()
      }
      if let statePath {
        var state = JSONObject()
        state["current"] = .string(bundle.folder)
        try FileSystem.writeAtomically(JSONWriter.serialize(.object(state)), to: statePath, durable: true)
      }
      foldersWritten += 1
      objectsWritten += bundle.objectCount
      pulledIn += bundle.pulledIn
      unresolved += bundle.unresolved.count
    }
  }

  public var summary: String {
    "\(foldersWritten) folders restored as bundles: \(objectsWritten) objects (\(pulledIn) pulled in from later folders), "
      + "\(unresolved) references unresolved, \(diagnostics.errors) files unreadable"
  }
}
