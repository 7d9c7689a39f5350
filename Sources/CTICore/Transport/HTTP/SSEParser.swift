#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One server-sent event.
package struct SSEEvent: Sendable, Equatable {
  /// The `id:` given in this event's own block, or nil when it had none. (The WHATWG "last
  /// event ID", which carries over from earlier events, is `SSEParser.lastEventID`.) OpenCTI
  /// gives every event except `connected` an id, and only those with one are resume points.
  package var id: String?
  /// The `event:` name, `message` when none was given.
  package var type: String
  /// The `data:` lines joined with LF, as raw bytes.
  package var data: [UInt8]

  package init(id: String?, type: String, data: [UInt8]) {
    self.id = id
    self.type = type
    self.data = data
  }
}

/// An incremental parser of `text/event-stream` bytes following the WHATWG HTML "event stream
/// interpretation" rules. Bytes can arrive in chunks of any size, split anywhere.
///
/// - Lines end only at CR, LF or CRLF (a CR at the end of one chunk and an LF at the start of the
///   next are one line end). U+2028, U+2029 and U+0085 inside data are ordinary bytes.
/// - A leading U+FEFF BOM is ignored; lines starting with `:` are comments.
/// - `data:` lines are joined with LF; `event:`, `id:` (ignored if it holds NUL) and `retry:`
///   (digits only) are recognised; other fields are ignored; one space after the colon is dropped.
/// - A blank line dispatches the event unless its data is empty. An unfinished event at the end
///   of a connection is never dispatched (`reset()`).
/// - A line or an event's data longer than `maxEventBytes` (the toolkit's line limit) throws
///   `SSEEventTooLarge` at once and the event is dropped, so a malformed stream (an endless line,
///   data lines that never end in a blank line) cannot take memory without bound.
package struct SSEParser {
  /// The most bytes one line or one event's data may hold.
  package let maxEventBytes: Int
  /// The last `id:` seen on this stream (kept across events and reconnections).
  package private(set) var lastEventID = ""
  /// The reconnection time in milliseconds last given by `retry:`.
  package private(set) var retry: Int?
  /// Comment lines seen (OpenCTI sends none; some proxies send them as keep-alives).
  package private(set) var commentCount = 0

  private var partialLine: [UInt8] = []
  private var afterCR = false
  private var atStreamStart = true
  private var data: [UInt8] = []
  private var dataLines = 0
  private var eventType: String?
  private var blockID: String?

  package init(maxEventBytes: Int = LineLimit.bytes) {
    self.maxEventBytes = maxEventBytes
  }

  /// Forgets an unfinished line and event, as at the start of a new connection. `lastEventID` and
  /// `retry` are kept.
  package mutating func reset() {
    partialLine.removeAll(keepingCapacity: true)
    afterCR = false
    atStreamStart = true
    clearEvent()
  }

  /// Whether bytes of an unfinished line or event are pending (an event cut by the connection).
  package var hasPartialEvent: Bool { !partialLine.isEmpty || dataLines > 0 || eventType != nil || blockID != nil }

  package mutating func feed(_ bytes: [UInt8], onEvent: (SSEEvent) throws -> Void) throws {
    try bytes.withUnsafeBytes { try feed($0, onEvent: onEvent) }
  }

  /// Parses a chunk, calling `onEvent` for every event it completes, in order. Throws what
  /// `onEvent` throws, or `SSEEventTooLarge` (the event is dropped; call `reset()` before
  /// feeding the next connection's bytes).
  package mutating func feed(_ chunk: UnsafeRawBufferPointer, onEvent: (SSEEvent) throws -> Void) throws {
    guard let base = chunk.baseAddress?.assumingMemoryBound(to: UInt8.self), chunk.count > 0 else { return }
    let count = chunk.count
    var index = 0
    if afterCR {
      afterCR = false
      if base[0] == 0x0A { index = 1 }
    }
    while index < count {
      let remaining = count - index
      let lf = memchr(base + index, 0x0A, remaining).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) }
      let crLimit = (lf ?? count) - index
      let cr = crLimit > 0 ? memchr(base + index, 0x0D, crLimit).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } : nil
      guard let end = cr ?? lf else {
        if partialLine.count + remaining > maxEventBytes { try overflow(partialLine.count + remaining) }
        partialLine.append(contentsOf: UnsafeBufferPointer(start: base + index, count: remaining))
        return
      }
      if partialLine.count + (end - index) > maxEventBytes { try overflow(partialLine.count + end - index) }
      if partialLine.isEmpty {
        try processLine(UnsafeBufferPointer(start: base + index, count: end - index), onEvent)
      } else {
        partialLine.append(contentsOf: UnsafeBufferPointer(start: base + index, count: end - index))
        let line = partialLine
        partialLine.removeAll(keepingCapacity: true)
        try line.withUnsafeBufferPointer { try processLine($0, onEvent) }
      }
      if base[end] == 0x0D {
        if end + 1 == count {
          afterCR = true
          index = count
        } else {
          index = base[end + 1] == 0x0A ? end + 2 : end + 1
        }
      } else {
        index = end + 1
      }
    }
  }

  /// Drops the event being read and says why.
  private mutating func overflow(_ size: Int) throws -> Never {
    let id = blockID
    reset()
    throw SSEEventTooLarge(id: id, size: size, limit: maxEventBytes)
  }

  private mutating func processLine(_ input: UnsafeBufferPointer<UInt8>, _ onEvent: (SSEEvent) throws -> Void) throws {
    var line = input
    if atStreamStart {
      atStreamStart = false
      if line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
        line = UnsafeBufferPointer(rebasing: line[3...])
      }
    }
    if line.isEmpty {
      try dispatch(onEvent)
      return
    }
    if line[0] == UInt8(ascii: ":") {
      commentCount += 1
      return
    }
    let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.count
    let field = UnsafeBufferPointer(rebasing: line[..<colon])
    var valueStart = min(colon + 1, line.count)
    if valueStart < line.count, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
    let value = UnsafeBufferPointer(rebasing: line[valueStart...])
    switch field.count {
    case 4 where Self.equals(field, "data"):
      if data.count + value.count + 1 > maxEventBytes { try overflow(data.count + value.count + 1) }
      if dataLines > 0 { data.append(0x0A) }
      data.append(contentsOf: value)
      dataLines += 1
    case 5 where Self.equals(field, "event"):
      eventType = String(decoding: value, as: UTF8.self)
    case 2 where Self.equals(field, "id"):
      if !value.contains(0) {
        let id = String(decoding: value, as: UTF8.self)
        lastEventID = id
        blockID = id
      }
    case 5 where Self.equals(field, "retry"):
      if !value.isEmpty, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
        retry = Int(String(decoding: value, as: UTF8.self))
      }
    default:
      break
    }
  }

  private mutating func dispatch(_ onEvent: (SSEEvent) throws -> Void) throws {
    defer { clearEvent() }
    guard dataLines > 0 else { return }
    let event = SSEEvent(id: blockID, type: eventType.flatMap { $0.isEmpty ? nil : $0 } ?? "message", data: data)
    data = []
    try onEvent(event)
  }

  private mutating func clearEvent() {
    if !data.isEmpty { data.removeAll(keepingCapacity: true) }
    dataLines = 0
    eventType = nil
    blockID = nil
  }

  private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
    text.withUTF8Buffer { $0.elementsEqual(bytes) }
  }
}

/// An SSE event too big for one output line: either the parser dropped it unread when a line
/// or the event passed its limit, or it was read whole and the line it makes is over the line
/// limit (`whole`). It is not written either way, and the stream position stays before it.
package struct SSEEventTooLarge: ToolError {
  /// The event's id, when its `id:` line came before the overflow.
  package var id: String?
  /// How many bytes it had reached when it was dropped, or the size of its whole line.
  package var size: Int
  package var limit: Int
  /// Read whole: `size` is its line's.
  package var whole = false
  package var exitStatus: ExitStatus { .dataError }
  package var description: String {
    whole
      ? "event \(id ?? "(no id)") makes a line of \(size) bytes, over the line limit of \(limit) bytes; not written, and the position stays before it (raise --max-line-bytes / CTI_MAX_LINE_BYTES on every tool of the pipeline)"
      : "an event\(id.map { " (id \($0))" } ?? "") passed the line limit of \(limit) bytes (\(size) bytes so far) and was dropped (raise --max-line-bytes / CTI_MAX_LINE_BYTES on every tool of the pipeline)"
  }
}
