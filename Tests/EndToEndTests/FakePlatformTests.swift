import CTITestSupport
import Foundation
import Testing

@testable import CTICore

/// The fake platform itself behaves as the reference describes, so tests built on it mean
/// something: framing, resume positions, recovery, auth, faults, files.
@Suite struct FakePlatformTests {
  let platform = FakePlatform.shared

  /// Reads one connection of `stream` and returns its events.
  func read(_ stream: FakePlatform.Stream, headers: HTTPHeaders = [:], query: String = "") throws -> [SSEEvent] {
    var options = HTTPClientSettings()
    options.stallTimeout = 5
    let client = HTTPClient(options: options)
    var parser = SSEParser()
    var events: [SSEEvent] = []
    try client.stream(
      HTTPRequest(.get, platform.baseURL + "/stream/\(stream.name)" + query, headers: headers, bearerToken: stream.token)
    ) { chunk in try parser.feed(chunk) { events.append($0) } }
    return events
  }

  func events(_ ids: [String]) -> [FakePlatform.Event] {
    ids.map { FakePlatform.Event(id: $0, data: #"{"version":"4","type":"create","data":{"id":"x--\#($0)"}}"#) }
  }

  @Test func connected_comes_first_then_events_after_the_resume_position() throws {
    var stream = FakePlatform.Stream()
    stream.events = events(["100-0", "100-1", "200-0"])
    stream.hold = false
    stream.heartbeat = 0
    try platform.install(stream)
    let all = try read(stream, headers: ["Last-Event-ID": "0-0"])
    #expect(all.map(\.type) == ["connected", "create", "create", "create"])
    #expect(all.first?.id == nil)
    #expect(all.dropFirst().map(\.id) == ["100-0", "100-1", "200-0"])
    #expect(try read(stream, headers: ["Last-Event-ID": "100-0"]).compactMap(\.id) == ["100-1", "200-0"])
    #expect(try read(stream, query: "?from=100-1").compactMap(\.id) == ["200-0"])
    // No position at all: live only, nothing old.
    #expect(try read(stream).compactMap(\.id).isEmpty)
    let seen = try platform.requests(of: stream.name)
    #expect(seen.count == 4)
    #expect(seen.first?["headers"]?["authorization"]?.stringValue == "Bearer \(stream.token!)")
  }

  @Test func recover_sends_the_snapshot_first_and_heartbeats_carry_the_position() throws {
    var stream = FakePlatform.Stream()
    stream.snapshot = [FakePlatform.Event(id: "1705000000000-0", data: #"{"type":"create","data":{"id":"a--1"}}"#)]
    stream.events = events(["1705000000500-0", "1800000000000-0"])
    stream.hold = true
    stream.holdSeconds = 0.5
    stream.heartbeat = 0.1
    try platform.install(stream)
    let got = try read(stream, headers: ["Last-Event-ID": "0-0"], query: "?recover=2024-01-11T20:00:00Z")
    let ids = got.filter { $0.type == "create" }.compactMap(\.id)
    #expect(ids == ["1705000000000-0", "1800000000000-0"])
    let beats = got.filter { $0.type == "heartbeat" }
    #expect(!beats.isEmpty)
    #expect(beats.last?.id == "1800000000000-0")
    // recover without from is a server error, as on the platform.
    #expect(throws: HTTPError.self) { try read(stream, query: "?recover=2024-01-11T20:00:00Z") }
  }

  @Test func wrong_token_is_401_and_stopped_stream_is_410() throws {
    var stream = FakePlatform.Stream()
    try platform.install(stream)
    stream.token = "wrong"
    #expect(throws: HTTPError.status(code: 401, url: platform.baseURL + "/stream/\(stream.name)", excerpt: "Unauthorized")) {
      try read(stream)
    }
    var stopped = FakePlatform.Stream()
    stopped.status = 410
    try platform.install(stopped)
    let error = try #require(throws: HTTPError.self) { try read(stopped) }
    guard case .status(410, _, _) = error else { Issue.record("got \(error)"); return }
  }

  @Test func faults_apply_to_the_chosen_connection_only() throws {
    var stream = FakePlatform.Stream()
    stream.events = events(["1-0", "2-0", "3-0"])
    stream.hold = false
    stream.faults = [1: .drop(after: 1), 2: .status(503)]
    try platform.install(stream)
    var parser = SSEParser()
    var ids: [String] = []
    let error = try #require(throws: HTTPError.self) {
      try HTTPClient().stream(
        HTTPRequest(.get, platform.baseURL + "/stream/\(stream.name)", headers: ["Last-Event-ID": "0"], bearerToken: stream.token)
      ) { try parser.feed($0) { ids.append($0.id ?? "-") } }
    }
    guard case .connectionLost = error else { Issue.record("got \(error)"); return }
    #expect(ids == ["-", "1-0"])
    #expect(parser.hasPartialEvent)
    #expect(throws: HTTPError.self) { try read(stream, headers: ["Last-Event-ID": "1-0"]) }
    #expect(try read(stream, headers: ["Last-Event-ID": "1-0"]).compactMap(\.id) == ["2-0", "3-0"])
  }

  @Test func storage_serves_files_with_token_check_and_404() throws {
    let path = "import/Indicator/\(FakePlatform.unique("id"))/report.pdf"
    try platform.addFile(path: path, bytes: [0x25, 0x50, 0x44, 0x46, 0, 255], token: "file-token")
    let client = HTTPClient()
    let ok = try client.send(HTTPRequest(.get, platform.baseURL + "/storage/get/" + path, bearerToken: "file-token"))
    #expect(ok.status == 200)
    #expect(ok.body == [0x25, 0x50, 0x44, 0x46, 0, 255])
    #expect(try client.send(HTTPRequest(.get, platform.baseURL + "/storage/get/" + path, bearerToken: "other")).status == 401)
    #expect(try client.send(HTTPRequest(.get, platform.baseURL + "/storage/get/import/missing.pdf")).status == 404)
    #expect(try platform.fileRequestCount(path: path) == 2)
  }
}

@Suite struct RunningToolTests {
  @Test func a_started_tool_can_be_watched_signalled_and_collected() throws {
    let tool = try ToolRunner.start("/bin/sh", ["-c", "echo one; echo \"$WORD\" >&2; exec sleep 30"], environment: ["WORD": "two"])
    #expect(tool.waitUntil(timeout: 5) { $0.completedLines == 1 })
    #expect(tool.isRunning)
    tool.signal(SIGTERM)
    let result = tool.wait(timeout: 5)
    #expect(result.status == 128 + SIGTERM)
    #expect(result.stdoutLines == ["one"])
    #expect(result.stderr == "two\n")
    #expect(!result.timedOut)
  }
}
