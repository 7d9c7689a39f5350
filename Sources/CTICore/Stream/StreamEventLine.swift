#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why an SSE event cannot become an output line.
package struct StreamEventError: ToolError, Equatable {
  package var id: String?
  package var message: String
  package var exitStatus: ExitStatus { .dataError }
  package var description: String { "event \(id ?? "(no id)"): \(message)" }
}

/// Builds cti-stream's NDJSON line for one SSE event without re-serialising the payload:
/// `{"id":"<id>","event":"<name>",` followed by the payload object's members as they arrived.
/// A payload that is not an object (heartbeat dates) becomes `"data":<payload>`.
package enum StreamEventLine {
  /// The line for `event`, appended to `line`. The payload is checked to be one valid JSON value
  /// (so a broken event never becomes a broken line); LFs from multi-line `data:` become spaces.
  package static func append(_ event: SSEEvent, to line: inout [UInt8], validate: Bool = true) throws(StreamEventError) {
    var payload = event.data
    if payload.withUnsafeBytes({ $0.isEmpty ? nil : memchr($0.baseAddress!, 0x0A, $0.count) }) != nil {
      for index in payload.indices where payload[index] == 0x0A { payload[index] = 0x20 }
    }
    if validate {
      do { try JSONParser.validate(payload) } catch {
        throw StreamEventError(id: event.id, message: "payload is not valid JSON (\(error))")
      }
    }
    guard let first = payload.firstIndex(where: { !isSpace($0) }) else {
      throw StreamEventError(id: event.id, message: "empty payload")
    }
    line.append(UInt8(ascii: "{"))
    if let id = event.id {
      appendKey("id", to: &line)
      appendString(id, to: &line)
      line.append(UInt8(ascii: ","))
    }
    appendKey("event", to: &line)
    appendString(event.type, to: &line)
    if payload[first] == UInt8(ascii: "{") {
      let rest = payload[(first + 1)...]
      if let next = rest.firstIndex(where: { !isSpace($0) }), payload[next] != UInt8(ascii: "}") {
        line.append(UInt8(ascii: ","))
      }
      line.append(contentsOf: rest)
      while let last = line.last, isSpace(last) { line.removeLast() }
    } else {
      line.append(contentsOf: #","data":"#.utf8)
      line.append(contentsOf: payload[first...])
      while let last = line.last, isSpace(last) { line.removeLast() }
      line.append(UInt8(ascii: "}"))
    }
  }

  private static func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
  }

  private static func appendKey(_ key: StaticString, to line: inout [UInt8]) {
    line.append(UInt8(ascii: "\""))
    key.withUTF8Buffer { line.append(contentsOf: $0) }
    line.append(contentsOf: "\":".utf8)
  }

  private static func appendString(_ text: String, to line: inout [UInt8]) {
    var writer = JSONWriter(capacity: text.utf8.count + 2)
    writer.writeString(text)
    line.append(contentsOf: writer.bytes)
  }
}
