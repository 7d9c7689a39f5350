package import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A checkpoint record: `{"type":"cti-checkpoint","tool":"<source>","state":<state>}`. A source
/// whose output goes down a pipe writes one after the records its state covers, instead of
/// writing its state file; the last stage writes `state` into its own `--state` file once every
/// record before the checkpoint has been applied. So a state file never runs ahead of what the
/// end of the pipeline did, and a pipeline stopped anywhere repeats work instead of losing it.
package enum Checkpoint {
  /// The record's `type`.
  package static let type = "cti-checkpoint"

  /// The line for a checkpoint carrying `state` (one JSON value, the state file's content).
  package static func line(tool: String, state: [UInt8]) -> [UInt8] {
    var writer = JSONWriter(capacity: state.count + 64)
    writer.append("{\"type\":")
    writer.writeString(type)
    writer.append(",\"tool\":")
    writer.writeString(tool)
    writer.append(",\"state\":")
    writer.writeRaw(state)
    writer.append("}")
    return writer.bytes
  }

  /// What a state file holds for `state`: the state's bytes and a newline. Sources and sinks both
  /// write exactly this, so a source can recognise its own checkpoints in the file.
  package static func fileBytes<Bytes: Collection>(_ state: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
    var bytes = Array(state)
    bytes.append(0x0A)
    return bytes
  }

  /// Fails early, before any work, when a state file could not be written where it is asked for.
  package static func checkStatePath(_ path: String) throws(StatePathError) {
    let folder = FileSystem.parent(of: path)
    guard FileSystem.isDirectory(folder) else { throw StatePathError(path: path, folder: folder) }
  }
}

/// A `--state` file in a folder that does not exist.
package struct StatePathError: ToolError {
  package var path: String
  package var folder: String
  package var exitStatus: ExitStatus { .noInput }
  package var description: String { "state file \(path): the folder \(folder) does not exist (create it first)" }
}

/// Where a source's state goes (`--state FILE`). With its output going down a pipe or a socket,
/// the source writes checkpoint records and leaves FILE to the last stage; otherwise (a regular
/// file, a terminal, /dev/null, or `--commit-on-write`) it writes FILE itself once the records
/// the state covers are flushed.
package final class SourceState {
  package enum Mode: Sendable, Equatable {
    /// No state file.
    case none
    /// The source writes the state file after flushing its output.
    case direct
    /// Checkpoint records go downstream; the last stage commits them into the state file.
    case downstream
  }

  package let path: String?
  package let mode: Mode
  private let tool: String
  private let output: RecordWriter
  private let outputDescriptor: Int32
  private let durableOutput: Bool
  /// The last state committed or sent, so that an unchanged state is not sent again.
  private var lastState: [UInt8]?
  /// Checkpoints sent and not yet seen in the state file, oldest first (at most `keep`).
  private var outstanding: [(sequence: Int, file: [UInt8])] = []
  private static let keep = 512
  private var fileStamp: FileStamp?
  /// Checkpoints sent downstream, or states written directly.
  package private(set) var sent = 0
  /// The newest of them seen committed in the state file.
  package private(set) var committed = 0

  /// `commitOnWrite` writes the state file directly even into a pipe (the behaviour before
  /// checkpoints); `durableOutput` fsyncs a regular-file output before its state is written.
  package init(
    path: String?, tool: String, output: RecordWriter, outputDescriptor: Int32 = 1, commitOnWrite: Bool = false,
    durableOutput: Bool = false
  ) throws(StatePathError) {
    self.path = path
    self.tool = tool
    self.output = output
    self.outputDescriptor = outputDescriptor
    self.durableOutput = durableOutput
    if let path {
      try Checkpoint.checkStatePath(path)
      mode = !commitOnWrite && Self.isPipe(outputDescriptor) ? .downstream : .direct
    } else {
      mode = .none
    }
  }

  /// Whether `descriptor` is a pipe or a socket: another program reads what is written there.
  package static func isPipe(_ descriptor: Int32) -> Bool {
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { return false }
    let type = status.st_mode & S_IFMT
    return type == S_IFIFO || type == S_IFSOCK
  }

  /// Commits `state` (one JSON value) as covering every record written to the output so far:
  /// after flushing the output, either the state file is written or a checkpoint record goes
  /// out. A state equal to the last one is not sent again unless `force`. Once the output has
  /// failed, a state file can still be written directly (for a state that covers only what did
  /// get out); nothing more can go downstream.
  package func commit(_ state: [UInt8], force: Bool = false) throws {
    guard let path, force || state != lastState else { return }
    switch mode {
    case .none: return
    case .direct:
      if output.failure == nil { try output.flush() }
      if durableOutput, !Self.isPipe(outputDescriptor), isRegularFile(outputDescriptor) {
        if fsync(outputDescriptor) != 0 { throw OutputError.writeFailed(errno: errno) }
      }
      try FileSystem.writeAtomically(Checkpoint.fileBytes(state), to: path, durable: true)
      sent += 1
      committed = sent
    case .downstream:
      try output.writeRecord(Checkpoint.line(tool: tool, state: state))
      try output.flush()
      sent += 1
      outstanding.append((sent, Checkpoint.fileBytes(state)))
      if outstanding.count > Self.keep { outstanding.removeFirst(outstanding.count - Self.keep) }
    }
    lastState = state
  }

  /// Looks at the state file for the newest checkpoint of this run that the last stage has
  /// committed; returns its sequence number (1 for the first sent; 0 for none yet).
  @discardableResult
  package func checkCommitted() -> Int {
    guard mode == .downstream, let path, !outstanding.isEmpty else { return committed }
    let stamp = FileStamp(path)
    guard let stamp, stamp != fileStamp else { return committed }
    fileStamp = stamp
    guard let bytes = try? FileSystem.read(path) else { return committed }
    if let match = outstanding.lastIndex(where: { $0.file == bytes }) {
      committed = outstanding[match].sequence
      outstanding.removeFirst(match + 1)
    }
    return committed
  }

  /// Ends the run's part in the pipeline. Downstream, the output is closed (so the next stage
  /// sees its end) and the state file is watched for up to `wait` seconds until the last
  /// checkpoint comes back committed; a run none of whose checkpoints came back gets a warning
  /// that names the fix.
  package func finish(logger: Logger, wait: Double = 5) {
    guard mode == .downstream, let path else { return }
    guard sent > 0 else {
      // The reader went away before the first checkpoint could follow the records.
      if output.failure != nil {
        logger.warning(
          "the output was closed before a checkpoint could be sent: \(path) does not advance, and the next run starts again from it")
      }
      return
    }
    try? output.flush()
    let readerGone = output.failure != nil
    close(outputDescriptor)
    let deadline = MonotonicClock.now() + (readerGone ? 0 : wait)
    while checkCommitted() < sent, MonotonicClock.now() < deadline {
      usleep(20_000)
    }
    if committed == 0 {
      logger.warning(
        "no checkpoint written to stdout came back committed in \(path): give the last tool of the pipeline --state \(path) (or use --commit-on-write); until then every run starts again from the same state")
    } else if committed < sent {
      logger.info(
        "the last checkpoint is not committed in \(path) yet (the pipeline's last stage is still working); a new run may repeat the records after the last one committed")
    }
  }

  private func isRegularFile(_ descriptor: Int32) -> Bool {
    var status = stat()
    return fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
  }
}

/// What identifies a version of a file without reading it.
struct FileStamp: Equatable {
  var inode: UInt64
  var size: Int64
  var seconds: Int
  var nanoseconds: Int

  init?(_ path: String) {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    inode = UInt64(status.st_ino)
    size = Int64(status.st_size)
    seconds = status.st_mtim.tv_sec
    nanoseconds = status.st_mtim.tv_nsec
  }
}

/// A sink's side of checkpoints (`--state FILE` on the last stage). Each checkpoint read is held
/// with its position in the input (how many records came before it) until the sink says every
/// record up to there has been applied; then the newest such state is written into FILE,
/// atomically and durably. Once something was not applied and went nowhere (the platform failed,
/// a signal cut a wait short), nothing more is committed in this run.
package final class CheckpointCommitter {
  package let path: String?
  private let diagnostics: Diagnostics
  /// Checkpoints waiting for their records, oldest first.
  private var waiting: [(position: Int, state: [UInt8])] = []
  private var warnedWithoutPath = false
  /// Checkpoints read, and states written to the state file.
  package private(set) var received = 0
  package private(set) var committed = 0
  /// Why commits stopped for this run, if they did.
  package private(set) var blockedBy: String?

  package init(path: String?, diagnostics: Diagnostics) throws(StatePathError) {
    if let path { try Checkpoint.checkStatePath(path) }
    self.path = path
    self.diagnostics = diagnostics
  }

  /// Holds a checkpoint record's state; `position` counts the records the sink took in before it.
  package func receive(_ record: Record, position: Int) {
    received += 1
    guard path != nil else {
      if !warnedWithoutPath {
        warnedWithoutPath = true
        diagnostics.warning(
          "the input carries checkpoints from \(record.object.string("tool") ?? "the source")'s --state and they are not committed: give this tool --state with the source's state file",
          line: record.line)
      }
      return
    }
    guard blockedBy == nil, let state = record.object.rawValue("state") else { return }
    waiting.append((position, Array(state)))
  }

  /// Whether a checkpoint waits for its records to be applied.
  package var hasWaiting: Bool { !waiting.isEmpty }

  /// Commits the newest checkpoint whose records, all those before `position`, are applied.
  package func commit(appliedThrough position: Int) throws {
    guard let path, blockedBy == nil, let newest = waiting.lastIndex(where: { $0.position <= position }) else { return }
    try FileSystem.writeAtomically(Checkpoint.fileBytes(waiting[newest].state), to: path, durable: true)
    waiting.removeFirst(newest + 1)
    committed += 1
  }

  /// Stops committing for the rest of the run: a record was not applied and went nowhere, so no
  /// later checkpoint may be committed.
  package func block(_ reason: String) {
    guard blockedBy == nil else { return }
    blockedBy = reason
    waiting = []
    if path != nil {
      diagnostics.logger.notice("the state file is not advanced any more in this run: \(reason)")
    }
  }

  /// A few words for the summary: `3 checkpoints committed` and why the rest were not.
  package var summary: String? {
    guard received > 0 else { return nil }
    var text = "\(committed) of \(received) checkpoint\(received == 1 ? "" : "s") committed"
    if path == nil { text += " (no --state)" } else if let blockedBy { text += " (stopped: \(blockedBy))" }
    return text
  }
}
