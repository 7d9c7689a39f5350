import Testing

@testable import CTICore

@Suite struct SSEParserTests {
  /// Parses `text` fed in chunks of `chunkSize` bytes (0 = all at once).
  private func events(_ bytes: [UInt8], chunkSize: Int = 0) throws -> [SSEEvent] {
    var parser = SSEParser()
    var result: [SSEEvent] = []
    let size = chunkSize == 0 ? max(bytes.count, 1) : chunkSize
    var start = 0
    while start < bytes.count {
      try parser.feed(Array(bytes[start..<min(start + size, bytes.count)])) { result.append($0) }
      start += size
    }
    return result
  }

  private func events(_ text: String, chunkSize: Int = 0) throws -> [SSEEvent] {
    try events(Array(text.utf8), chunkSize: chunkSize)
  }

  @Test func opencti_framing_gives_id_event_and_data() throws {
    let stream = "event: connected\ndata: {\"connectionId\":\"c1\"}\n\nid: 1705327229123-0\nevent: create\ndata: {\"a\":1}\n\n"
    let parsed = try events(stream)
    #expect(parsed == [
      SSEEvent(id: nil, type: "connected", data: Array("{\"connectionId\":\"c1\"}".utf8)),
      SSEEvent(id: "1705327229123-0", type: "create", data: Array("{\"a\":1}".utf8)),
    ])
  }

  @Test(arguments: ["\n", "\r", "\r\n"])
  func every_line_ending_is_accepted(ending: String) throws {
    let stream = ["id: 1-0", "event: update", "data: x", "", "data: y", ""].map { $0 + ending }.joined()
    for chunkSize in [0, 1, 2, 3, 7] {
      let parsed = try events(stream, chunkSize: chunkSize)
      #expect(parsed.map(\.type) == ["update", "message"], "chunk size \(chunkSize)")
      #expect(parsed.map { String(decoding: $0.data, as: UTF8.self) } == ["x", "y"])
    }
  }

  @Test func crlf_split_across_chunks_is_one_line_end() throws {
    var parser = SSEParser()
    var result: [SSEEvent] = []
    try parser.feed(Array("data: a\r".utf8)) { result.append($0) }
    try parser.feed(Array("\n\r".utf8)) { result.append($0) }
    try parser.feed(Array("\ndata: b\r\n\r\n".utf8)) { result.append($0) }
    #expect(result.map { String(decoding: $0.data, as: UTF8.self) } == ["a", "b"])
  }

  @Test func unicode_line_separators_inside_data_do_not_split() throws {
    let payload = "{\"name\":\"a\u{2028}b\u{2029}c\u{85}d\"}"
    let parsed = try events("id: 5-0\nevent: create\ndata: \(payload)\n\n", chunkSize: 3)
    #expect(parsed.count == 1)
    #expect(parsed.first?.data == Array(payload.utf8))
  }

  @Test func multi_line_data_is_joined_with_lf() throws {
    let parsed = try events("data: first\ndata:second\ndata\ndata:  indented\n\n")
    #expect(parsed.first.map { String(decoding: $0.data, as: UTF8.self) } == "first\nsecond\n\n indented")
  }

  @Test func comments_and_unknown_fields_are_ignored() throws {
    var parser = SSEParser()
    var result: [SSEEvent] = []
    try parser.feed(Array(": keep-alive\nfoo: bar\ndata: x\n: another\n\n".utf8)) { result.append($0) }
    #expect(result.count == 1)
    #expect(parser.commentCount == 2)
  }

  @Test func empty_data_is_not_dispatched_but_id_is_remembered() throws {
    var parser = SSEParser()
    var result: [SSEEvent] = []
    try parser.feed(Array("id: 7-0\nevent: x\n\ndata: y\n\n".utf8)) { result.append($0) }
    #expect(result == [SSEEvent(id: nil, type: "message", data: Array("y".utf8))])
    #expect(parser.lastEventID == "7-0")
  }

  @Test func retry_takes_digits_only() throws {
    var parser = SSEParser()
    try parser.feed(Array("retry: 1500\n\n".utf8)) { _ in }
    #expect(parser.retry == 1500)
    try parser.feed(Array("retry: 2x\n\nretry:\n\n".utf8)) { _ in }
    #expect(parser.retry == 1500)
  }

  @Test func id_with_nul_is_ignored() throws {
    let parsed = try events(Array("id: a".utf8) + [0] + Array("b\ndata: x\n\n".utf8))
    #expect(parsed.first?.id == nil)
  }

  @Test func leading_bom_is_skipped_once() throws {
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    for chunkSize in [0, 1, 2] {
      let parsed = try events(bom + Array("data: x\n\n".utf8), chunkSize: chunkSize)
      #expect(parsed.map(\.data) == [Array("x".utf8)], "chunk size \(chunkSize)")
    }
    // A second BOM is data of the field name, so the line is an unknown field.
    #expect(try events(bom + bom + Array("data: x\n\n".utf8)).isEmpty)
  }

  @Test func unfinished_event_is_dropped_on_reset() throws {
    var parser = SSEParser()
    var result: [SSEEvent] = []
    try parser.feed(Array("id: 1-0\nevent: create\ndata: {\"half".utf8)) { result.append($0) }
    #expect(parser.hasPartialEvent)
    parser.reset()
    #expect(!parser.hasPartialEvent)
    try parser.feed(Array("id: 2-0\nevent: update\ndata: {}\n\n".utf8)) { result.append($0) }
    #expect(result == [SSEEvent(id: "2-0", type: "update", data: Array("{}".utf8))])
    #expect(parser.lastEventID == "2-0")
  }

  @Test func errors_from_the_handler_propagate() throws {
    struct Stop: Error {}
    var parser = SSEParser()
    #expect(throws: Stop.self) {
      try parser.feed(Array("data: a\n\n".utf8)) { _ in throw Stop() }
    }
  }

  @Test func anEventOverTheLimitIsDroppedAtOnceAndTheNextConnectionStartsClean() throws {
    var parser = SSEParser(maxEventBytes: 64)
    var result: [SSEEvent] = []
    let manyLines = Array(("id: 5-0\n" + String(repeating: "data: 0123456789\n", count: 10)).utf8)
    #expect(throws: SSEEventTooLarge.self) { try parser.feed(manyLines) { result.append($0) } }
    #expect(!parser.hasPartialEvent, "nothing of it is kept")
    let endless = Array(("data: " + String(repeating: "x", count: 100)).utf8)
    #expect(throws: SSEEventTooLarge.self) { try parser.feed(endless) { result.append($0) } }
    parser.reset()
    try parser.feed(Array("id: 6-0\ndata: {}\n\n".utf8)) { result.append($0) }
    #expect(result.map(\.id) == ["6-0"])
  }
}
