import Testing
@testable import CTICore

/// cti-stream's output line for one SSE event: the payload's members follow `id` and `event`
/// as they arrived, never re-serialised.
@Suite struct StreamEventLineTests {
  func line(_ id: String?, _ type: String, _ data: String, validate: Bool = true) throws(StreamEventError) -> String {
    var line: [UInt8] = []
    try StreamEventLine.append(SSEEvent(id: id, type: type, data: Array(data.utf8)), to: &line, validate: validate)
    return String(decoding: line, as: UTF8.self)
  }

  @Test func anObjectPayloadKeepsItsMembersAsTheyArrived() throws {
    #expect(try line("1-0", "create", #"{ "data":{"id":"x"},"origin" : {}}"#) == #"{"id":"1-0","event":"create", "data":{"id":"x"},"origin" : {}}"#)
    #expect(try line("1-0", "create", "{ }") == #"{"id":"1-0","event":"create" }"#)
  }

  @Test func otherPayloadsBecomeData() throws {
    #expect(try line("2-0", "heartbeat", "\"2024-01-01T00:00:00Z\"") == #"{"id":"2-0","event":"heartbeat","data":"2024-01-01T00:00:00Z"}"#)
    #expect(try line(nil, "connected", "{\n\"a\":1}") == #"{"event":"connected", "a":1}"#)
  }

  @Test func aBrokenPayloadIsAnErrorNamingTheEvent() {
    #expect(throws: StreamEventError.self) { try line("3-0", "update", #"{"data":"#) }
    do {
      _ = try line(nil, "update", "  ", validate: false)
      Issue.record("an empty payload made a line")
    } catch {
      #expect("\(error)" == "event (no id): empty payload")
      #expect(error.exitStatus == .dataError)
    }
  }
}
