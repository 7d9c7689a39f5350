#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One input line: its bytes (without the line ending) and its 1-based number in the input.
package struct Line: Sendable {
  package var number: Int
  package var bytes: [UInt8]

  package init(number: Int, bytes: [UInt8]) {
    self.number = number
    self.bytes = bytes
  }
}

/// Errors from reading NDJSON input.
package enum LineReaderError: ToolError, Equatable {
  /// The line was longer than the limit; it was skipped up to its end.
  case lineTooLong(line: Int, limit: Int)
  /// The input could not be opened or read.
  case readFailed(path: String, errno: Int32)

  package var exitStatus: ExitStatus {
    switch self {
    case .lineTooLong: .dataError
    case .readFailed: .noInput
    }
  }

  package var description: String {
    switch self {
    case .lineTooLong(let line, let limit):
      "line \(line): longer than the line limit of \(limit) bytes, skipped (raise it with --max-line-bytes or CTI_MAX_LINE_BYTES)"
    case .readFailed(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
    }
  }
}

/// Told the bytes of a line over the limit as they are skipped, so that a tool can keep it
/// somewhere (cti-push's `--reject`) without ever holding it whole.
package protocol OverlongLineSink: AnyObject {
  func beginOverlongLine(_ number: Int)
  func overlongLineBytes(_ bytes: UnsafeRawBufferPointer)
  func endOverlongLine()
}

/// Reads newline-delimited records from a file descriptor, byte for byte. CRLF endings are
/// accepted, blank lines are skipped (but counted), and a line over `maxLineBytes` (the
/// toolkit's `LineLimit`) is reported as an error and skipped, never held in memory whole.
///
/// A stop signal (SIGINT/SIGTERM, `StopSignals`) ends the input as if it had ended there: the
/// line being read is dropped, `next()` returns nil and `stoppedBySignal` is set. While it waits
/// for input, `idle` is called every `idleInterval` seconds (a batching tool sends what it
/// holds instead of waiting for more).
package final class LineReader {
  /// The toolkit's line limit in force (`LineLimit.bytes`, 64 MiB unless configured).
  package static var defaultMaxLineBytes: Int { LineLimit.bytes }

  package let maxLineBytes: Int
  package let name: String
  /// Called while no input arrives, every `idleInterval` seconds.
  package var idle: (() throws -> Void)?
  package var idleInterval = 1.0
  /// Receives the bytes of lines over the limit.
  package weak var overlongLines: (any OverlongLineSink)?
  /// The input was cut short by a stop signal.
  package private(set) var stoppedBySignal = false
  private let descriptor: Int32
  private let ownsDescriptor: Bool
  private var buffer: [UInt8]
  private var start = 0
  private var end = 0
  private var atEOF = false
  private var lineNumber = 0

  /// Reads from standard input.
  package convenience init(maxLineBytes: Int = LineReader.defaultMaxLineBytes) {
    self.init(descriptor: 0, name: "<stdin>", owns: false, maxLineBytes: maxLineBytes)
  }

  /// Reads from the file at `path`.
  package convenience init(path: String, maxLineBytes: Int = LineReader.defaultMaxLineBytes) throws(LineReaderError) {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw .readFailed(path: path, errno: errno) }
    self.init(descriptor: descriptor, name: path, owns: true, maxLineBytes: maxLineBytes)
  }

  init(descriptor: Int32, name: String, owns: Bool, maxLineBytes: Int) {
    self.descriptor = descriptor
    self.name = name
    ownsDescriptor = owns
    self.maxLineBytes = maxLineBytes
    buffer = [UInt8](repeating: 0, count: min(1 << 20, max(maxLineBytes + 1, 4096)))
  }

  deinit {
    if ownsDescriptor { close(descriptor) }
  }

  /// The number of the last line returned (or skipped).
  package var currentLine: Int { lineNumber }

  /// The next non-blank line, or nil at the end of the input (or on a stop signal). Throws
  /// `lineTooLong` for an oversized line (already skipped: call again to go on).
  package func next() throws -> Line? {
    while true {
      guard let line = try nextRaw() else { return nil }
      if !line.bytes.isEmpty { return line }
    }
  }

  private func nextRaw() throws -> Line? {
    var scanned = 0
    while true {
      if stoppedBySignal { return nil }
      let searchFrom = start + scanned
      if let newline = findNewline(from: searchFrom) {
        lineNumber += 1
        var lineEnd = newline
        if lineEnd > start, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        if lineEnd - start > maxLineBytes {
          if let sink = overlongLines {
            sink.beginOverlongLine(lineNumber)
            buffer.withUnsafeBytes { sink.overlongLineBytes(UnsafeRawBufferPointer(rebasing: $0[start..<lineEnd])) }
            sink.endOverlongLine()
          }
          start = newline + 1
          throw LineReaderError.lineTooLong(line: lineNumber, limit: maxLineBytes)
        }
        let line = Line(number: lineNumber, bytes: Array(buffer[start..<lineEnd]))
        start = newline + 1
        return line
      }
      if atEOF {
        guard start < end else { return nil }
        lineNumber += 1
        var lineEnd = end
        if buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        let line = Line(number: lineNumber, bytes: Array(buffer[start..<lineEnd]))
        start = end
        return line
      }
      scanned = end - start
      // One byte more may be the CR of a CRLF (or of the input's last line): not part of the line.
      if scanned > maxLineBytes + 1 || (scanned == maxLineBytes + 1 && buffer[end - 1] != 0x0D) {
        lineNumber += 1
        try skipRestOfLine()
        throw LineReaderError.lineTooLong(line: lineNumber, limit: maxLineBytes)
      }
      try fill()
    }
  }

  private func findNewline(from index: Int) -> Int? {
    guard index < end else { return nil }
    return buffer.withUnsafeBufferPointer { pointer in
      guard let found = memchr(pointer.baseAddress! + index, 0x0A, end - index) else { return nil }
      return pointer.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }
  }

  /// Makes room and reads more bytes after `end`; sets `atEOF` at the end of the input, and
  /// `stoppedBySignal` when a stop signal came first.
  private func fill() throws {
    if start > 0 {
      let pending = end - start
      if pending > 0 {
        buffer.withUnsafeMutableBufferPointer { pointer in
          _ = memmove(pointer.baseAddress!, pointer.baseAddress! + start, pending)
        }
      }
      start = 0
      end = pending
    }
    if end == buffer.count {
      buffer.append(contentsOf: repeatElement(0, count: buffer.count))
    }
    guard try waitForInput() else { return }
    let count = buffer.withUnsafeMutableBufferPointer { pointer in
      read(descriptor, pointer.baseAddress! + end, pointer.count - end)
    }
    if count < 0 {
      if errno == EINTR {
        if StopSignals.requested { stoppedBySignal = true }
        return
      }
      throw LineReaderError.readFailed(path: name, errno: errno)
    }
    if count == 0 { atEOF = true }
    end += count
  }

  /// Waits until the descriptor has input (or its end), calling `idle` on the way; false when a
  /// stop signal came first.
  private func waitForInput() throws -> Bool {
    var waited = 0.0
    while true {
      if StopSignals.requested {
        stoppedBySignal = true
        return false
      }
      var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
      let ready = poll(&poller, 1, 250)
      if ready > 0 { return true }
      if ready < 0, errno != EINTR { return true }  // let read() report it
      if ready == 0, let idle {
        waited += 0.25
        if waited >= idleInterval {
          waited = 0
          try idle()
        }
      }
    }
  }

  /// Drops bytes up to and including the next newline (or the end of input), handing them to
  /// `overlongLines` if set.
  private func skipRestOfLine() throws {
    let sink = overlongLines
    sink?.beginOverlongLine(lineNumber)
    defer { sink?.endOverlongLine() }
    while true {
      if let newline = findNewline(from: start) {
        if let sink { buffer.withUnsafeBytes { sink.overlongLineBytes(UnsafeRawBufferPointer(rebasing: $0[start..<newline])) } }
        start = newline + 1
        return
      }
      if let sink, end > start { buffer.withUnsafeBytes { sink.overlongLineBytes(UnsafeRawBufferPointer(rebasing: $0[start..<end])) } }
      start = 0
      end = 0
      try fill()
      if stoppedBySignal || (atEOF && end == 0) { return }
    }
  }
}

extension LineReader {
  /// The next line, like `next()`, but an over-long line is reported through `diagnostics`
  /// (counted and skipped, or the end of the run with --strict) and reading goes on.
  package func next(reportingTo diagnostics: Diagnostics) throws -> Line? {
    while true {
      do {
        return try next()
      } catch let error as LineReaderError {
        guard case .lineTooLong = error else { throw error }
        try diagnostics.reject(error)
      }
    }
  }
}
