#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Errors from writing records.
package enum OutputError: ToolError, Equatable {
  /// The reader of the output went away (EPIPE): a normal end for a filter.
  case closed
  case writeFailed(errno: Int32)
  /// The record is longer than the toolkit's line limit, so the next tool would refuse it; it
  /// was not written (and the writer goes on).
  case tooLarge(size: Int, limit: Int)

  package var exitStatus: ExitStatus {
    switch self {
    case .closed: .ok
    case .writeFailed: .ioError
    case .tooLarge: .dataError
    }
  }

  /// The output itself failed (closed or broken), as opposed to one record refused for its size:
  /// nothing more can be written.
  package var isWriteFailure: Bool {
    if case .tooLarge = self { return false }
    return true
  }

  package var description: String {
    switch self {
    case .closed: "output closed by the reader"
    case .writeFailed(let code): "writing the output failed: \(String(cString: strerror(code)))"
    case .tooLarge(let size, let limit):
      "a record of \(size) bytes is over the line limit of \(limit) bytes and was not written (raise --max-line-bytes / CTI_MAX_LINE_BYTES on every tool of the pipeline)"
    }
  }
}

/// Writes NDJSON records to a file descriptor (stdout by default) with `write(2)`, one record per
/// line. With `flushEachRecord` (the default) every record reaches the reader as soon as it is
/// complete, which is what a filter in a live pipeline needs; state may be advanced once
/// `writeRecord` returns.
package final class RecordWriter {
  package let descriptor: Int32
  private var pending: [UInt8] = []
  package var flushEachRecord: Bool
  /// Records longer than this are refused (`OutputError.tooLarge`): the toolkit's line limit.
  package var maxRecordBytes: Int
  /// Records written so far.
  package private(set) var recordCount = 0
  /// Bytes written so far (line endings included).
  package private(set) var byteCount = 0

  package init(descriptor: Int32 = 1, flushEachRecord: Bool = true, maxRecordBytes: Int = LineLimit.bytes) {
    self.descriptor = descriptor
    self.flushEachRecord = flushEachRecord
    self.maxRecordBytes = maxRecordBytes
    pending.reserveCapacity(Self.bufferSize)
  }

  /// Writes one record followed by a newline. `record` must not contain a raw newline.
  package func writeRecord<Bytes: Collection>(_ record: Bytes) throws(OutputError) where Bytes.Element == UInt8 {
    if let failure { throw failure }
    if record.count > maxRecordBytes { throw .tooLarge(size: record.count, limit: maxRecordBytes) }
    if record.count >= Self.bufferSize {
      // A big record (a whole MISP event's bundle) goes out from its own memory: copying it
      // into `pending` would cost a copy of that size and keep the memory afterwards.
      try flush()
      if let (offset, code) = record.withContiguousStorageIfAvailable({
        FileSystem.writeAll(UnsafeRawBufferPointer($0), to: descriptor)
      }) {
        byteCount += offset
        if let code { throw fail(code) }
        pending.append(0x0A)
        if flushEachRecord { try flush() }
        recordCount += 1
        return
      }
    }
    pending.append(contentsOf: record)
    pending.append(0x0A)
    if flushEachRecord || pending.count >= Self.bufferSize { try flush() }
    recordCount += 1
  }

  /// Writes part of a record, without a line end and without the size limit: for a record too
  /// big to build in memory, streamed in pieces and ended by `writeRecord` of its last piece.
  package func writeFragment<Bytes: Collection>(_ bytes: Bytes) throws(OutputError) where Bytes.Element == UInt8 {
    if let failure { throw failure }
    pending.append(contentsOf: bytes)
    if pending.count >= Self.bufferSize { try flush() }
  }

  /// What `pending` holds before it is sent even without `flushEachRecord`.
  private static let bufferSize = 1 << 16

  private func fail(_ code: Int32) -> OutputError {
    let error: OutputError = code == EPIPE ? .closed : .writeFailed(errno: code)
    failure = error
    return error
  }

  /// Sends everything buffered to the descriptor. Once a write has failed, every later flush
  /// fails the same way: records that did not reach the reader are never reported as written,
  /// so no state can advance past them.
  package func flush() throws(OutputError) {
    if let failure { throw failure }
    guard !pending.isEmpty else { return }
    let (offset, code) = pending.withUnsafeBytes { FileSystem.writeAll($0, to: descriptor) }
    byteCount += offset
    if let code {
      pending.removeFirst(offset)
      throw fail(code)
    }
    pending.removeAll(keepingCapacity: true)
  }

  /// The write error that stopped this writer, if any.
  package private(set) var failure: OutputError?
}
