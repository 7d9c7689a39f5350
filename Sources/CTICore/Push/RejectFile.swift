#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// cti-push's `--reject FILE`: every record that could not be pushed, one NDJSON line each,
/// `{"line":N,"error":"…","record":<the record>}` (or `"text":"…"` for a line that is not JSON,
/// or too long to read), appended so that reruns keep earlier rejects. A line over the line
/// limit is copied as it streams by, so it lands here without ever being held whole.
package final class RejectFile: OverlongLineSink {
  package let path: String
  private let writer: RecordWriter
  /// Lines written.
  package private(set) var count = 0
  private var failure: OutputError?

  package init(path: String) throws(FileSystemError) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw FileSystemError("open", path) }
    self.path = path
    writer = RecordWriter(descriptor: descriptor, flushEachRecord: true, maxRecordBytes: .max)
  }

  /// A record (JSON object) that was read but not pushed.
  package func write(line: Int, error: any Error, record: ArraySlice<UInt8>) throws(OutputError) {
    try write(line: line, error: error, capacity: record.count) { json in
      json.append(",\"record\":")
      json.writeRaw(record)
    }
  }

  /// A line that is not a record, kept as text since it may not be JSON.
  package func write(line: Int, error: any Error, text: [UInt8]) throws(OutputError) {
    try write(line: line, error: error, capacity: text.count) { json in
      json.append(",\"text\":")
      json.writeBytesAsString(text)
    }
  }

  private func write(line: Int, error: any Error, capacity: Int, body: (inout JSONWriter) -> Void) throws(OutputError) {
    var json = head(line: line, error: error, capacity: capacity)
    body(&json)
    json.append("}")
    try writer.writeRecord(json.bytes)
    count += 1
  }

  package func flush() throws(OutputError) { try writer.flush() }

  private func head(line: Int, error: any Error, capacity: Int) -> JSONWriter {
    var json = JSONWriter(capacity: capacity + 160)
    json.append("{\"line\":")
    json.write(.int(line))
    json.append(",\"error\":")
    json.writeString("\(error)")
    return json
  }

  // MARK: Over-long lines, streamed

  package func beginOverlongLine(_ number: Int) {
    var json = head(line: number, error: LineReaderError.lineTooLong(line: number, limit: LineLimit.bytes), capacity: 0)
    json.append(",\"text\":\"")
    record { () throws(OutputError) in try writer.writeFragment(json.bytes) }
  }

  package func overlongLineBytes(_ bytes: UnsafeRawBufferPointer) {
    var json = JSONWriter(capacity: bytes.count + bytes.count / 8 + 16)
    json.writeStringContent(bytes)
    record { () throws(OutputError) in try writer.writeFragment(json.bytes) }
  }

  package func endOverlongLine() {
    record { () throws(OutputError) in try writer.writeRecord(Array("\"}".utf8)) }
    count += 1
  }

  /// The first write error of a streamed line, reported by `checkOverlong()`.
  private func record(_ body: () throws(OutputError) -> Void) {
    guard failure == nil else { return }
    do { try body() } catch { failure = error }
  }

  /// Throws the error that stopped writing an over-long line, if one did.
  package func checkOverlong() throws(OutputError) {
    if let failure { throw failure }
  }
}
