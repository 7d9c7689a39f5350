import CTITestSupport
import Foundation
import Testing

@testable import CTICore

/// cti-stream against the fake platform: output lines, pycti's request, state, resume, faults.
@Suite struct StreamEndToEndTests {
  let platform = FakePlatform.shared

  static let octi = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"

  /// A realistic OpenCTI event payload for an indicator numbered `number`.
  static func payload(_ number: Int, type: String = "create", name: String? = nil) -> String {
    let uuid = String(format: "c2ec1f5e-0000-4000-8000-%012d", number)
    let name = name ?? "evil-\(number).example"
    return #"{"version":"4","type":"\#(type)","scope":"external","message":"creates a Indicator `\#(name)`","origin":{"socket":"query","user_id":"88ec0c6a-1d2e-4b6f-9a0e-1f2e3d4c5b6a"},"data":{"id":"indicator--\#(uuid)","spec_version":"2.1","type":"indicator","name":"\#(name)","pattern":"[domain-name:value = '\#(name)']","pattern_type":"stix","extensions":{"\#(octi)":{"extension_type":"property-extension","id":"\#(uuid)","type":"Indicator","created_at":"2024-01-15T14:00:29.412Z"}}}}"#
  }

  static func events(_ count: Int, start: Int = 1) -> [FakePlatform.Event] {
    (start..<(start + count)).map { FakePlatform.Event(id: "17053272\($0 + 10000)-0", data: payload($0)) }
  }

  func environment(_ stream: FakePlatform.Stream) -> [String: String] { platform.environment(for: stream) }

  func ids(_ result: ToolResult) throws -> [String] {
    try result.stdoutLines.map { line in
      try #require(RawObject(Array(line.utf8)).string("id"))
    }
  }

  /// `--no-recover` is `--recover false` as a flag, in the one boolean style; the default asks
  /// for recovery up to now.
  @Test func noRecoverIsTheFlagFormOfRecoverFalse() throws {
    var stream = FakePlatform.Stream()
    stream.events = [FakePlatform.Event(id: "1705327229123-0", data: Self.payload(1))]
    stream.heartbeat = 0.2
    try platform.install(stream)
    let flag = try ToolRunner.run("cti-stream", ["--no-recover", "--idle-exit", "PT1S"], environment: environment(stream), timeout: 20)
    #expect(flag.status == 0 && flag.stdoutLines.count == 1, "\(flag.stderr)")
    #expect(try platform.requests(of: stream.name).last?["query"]?["recover"] == nil)
    let plain = try ToolRunner.run("cti-stream", ["--idle-exit", "PT1S"], environment: environment(stream), timeout: 20)
    #expect(plain.status == 0, "\(plain.stderr)")
    #expect(try platform.requests(of: stream.name).last?["query"]?["recover"] != nil)
    let both = try ToolRunner.run("cti-stream", ["--no-recover", "--recover", "now"], environment: environment(stream))
    #expect(both.status == 64)
  }

  @Test func lines_are_id_and_event_prepended_to_the_raw_payload_and_the_request_is_pyctis() throws {
    var stream = FakePlatform.Stream()
    let tricky = Self.payload(2, type: "update", name: "line\u{2028}sep\u{2029}para\u{85}next")
    stream.events = [
      FakePlatform.Event(id: "1705327229123-0", data: Self.payload(1)),
      FakePlatform.Event(id: "1705327229123-1", event: "update", data: tricky),
      FakePlatform.Event(id: "1705327300000-0", event: "delete", data: "{}"),
    ]
    stream.heartbeat = 0.2
    try platform.install(stream)
    let result = try ToolRunner.run("cti-stream", ["--recover", "false", "--idle-exit", "1"], environment: environment(stream), timeout: 20)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdoutLines == [
      #"{"id":"1705327229123-0","event":"create","# + Self.payload(1).dropFirst(),
      #"{"id":"1705327229123-1","event":"update","# + tricky.dropFirst(),
      #"{"id":"1705327300000-0","event":"delete"}"#,
    ])
    #expect(result.stdoutText.utf8.contains(0xE2))  // U+2028 stays raw, not escaped
    #expect(result.stderr.contains("3 events written (create 1, update 1, delete 1)"))
    let request = try #require(try platform.requests(of: stream.name).first)
    #expect(request["headers"]?["last-event-id"] == "0-0")
    #expect(request["headers"]?["listen-delete"] == "true")
    #expect(request["headers"]?["no-dependencies"] == "true")
    #expect(request["headers"]?["with-inferences"] == "false")
    #expect(request["headers"]?["authorization"]?.stringValue == "Bearer \(stream.token!)")
    #expect(request["query"]?["recover"] == nil)
  }

  @Test func first_run_recovers_until_now_and_the_state_file_drives_the_next_run() throws {
    var stream = FakePlatform.Stream()
    stream.snapshot = [
      FakePlatform.Event(id: "1705000000000-0", data: Self.payload(1)), FakePlatform.Event(id: "1705000000000-0", data: Self.payload(2)),
    ]
    stream.heartbeat = 0.2
    try platform.install(stream)
    let folder = try TemporaryFolder()
    let state = folder.path + "/state.json"
    let first = try ToolRunner.run("cti-stream", ["--state", state, "--idle-exit", "1"], environment: environment(stream), timeout: 20)
    #expect(first.status == 0, "\(first.stderr)")
    #expect(first.stdoutLines.count == 2)
    let request = try #require(try platform.requests(of: stream.name).first)
    let recover = try #require(request["query"]?["recover"]?.stringValue)
    let sent = try #require(ISO8601.parse(recover))
    #expect(abs(Double(sent.seconds - ISO8601.Instant.now.seconds)) < 30)
    #expect(request["headers"]?["last-event-id"] == "0-0")
    let saved = try #require(try LiveStreamState.load(state))
    #expect(saved.recoverUntil == recover)
    // Heartbeats after the snapshot carry the recover position, which is saved.
    let position = try #require(saved.startFrom)
    #expect(position != "0-0")

    try platform.append([FakePlatform.Event(id: "1900000000000-0", event: "update", data: Self.payload(1, type: "update"))], to: stream.name)
    let second = try ToolRunner.run("cti-stream", ["--state", state, "--idle-exit", "1"], environment: environment(stream), timeout: 20)
    #expect(second.status == 0, "\(second.stderr)")
    #expect(try ids(second) == ["1900000000000-0"])
    let again = try #require(try platform.requests(of: stream.name).last)
    #expect(again["headers"]?["last-event-id"]?.stringValue == position)
    #expect(again["query"]?["recover"]?.stringValue == recover)
    #expect(try LiveStreamState.load(state)?.startFrom == "1900000000000-0")
  }

  @Test func resume_after_kill_has_no_gaps() throws {
    var stream = FakePlatform.Stream()
    stream.events = Self.events(300)
    stream.delay = 0.004
    stream.heartbeat = 0.2
    try platform.install(stream)
    let folder = try TemporaryFolder()
    let arguments = ["--state", folder.path + "/state.json", "--recover", "false", "--idle-exit", "1"]
    var seen: [String] = []
    for _ in 0..<2 {
      let tool = try ToolRunner.start("cti-stream", arguments, environment: environment(stream))
      #expect(tool.waitUntil(timeout: 20) { $0.completedLines >= 60 }, "\(tool.stderrSoFar)")
      tool.signal(SIGKILL)
      let killed = tool.wait(timeout: 10)
      #expect(killed.status == 128 + SIGKILL)
      let got = try ids(killed)
      // Each run starts at or before the end of the previous one: repeats are allowed, gaps not.
      if let first = got.first, let last = seen.last {
        let expectedNext = stream.events.firstIndex { $0.id == last }! + 1
        let actualFirst = stream.events.firstIndex { $0.id == first }!
        #expect(actualFirst <= expectedNext, "gap: \(last) then \(first)")
      }
      seen += got
    }
    let last = try ToolRunner.run("cti-stream", arguments, environment: environment(stream), timeout: 30)
    #expect(last.status == 0, "\(last.stderr)")
    seen += try ids(last)
    #expect(Set(seen) == Set(stream.events.map(\.id)))
    #expect(seen.last == stream.events.last?.id)
  }

  @Test func no_recover_is_logged_not_written_and_ends_recovery_in_the_state() throws {
    var stream = FakePlatform.Stream()
    stream.noRecover = true
    stream.snapshot = [FakePlatform.Event(id: "1705000000000-0", data: Self.payload(99))]
    stream.events = Self.events(3)
    stream.hold = false
    stream.heartbeat = 0
    try platform.install(stream)
    let folder = try TemporaryFolder()
    let result = try ToolRunner.run(
      "cti-stream", ["--state", folder.path + "/state.json", "--max-events", "3"], environment: environment(stream), timeout: 30)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try ids(result) == stream.events.map(\.id), "no snapshot, no no-recover line")
    #expect(result.stderr.contains("no-recover"))
    let saved = try JSONSerialization.jsonObject(with: Data((folder.read("state.json") ?? "{}").utf8)) as? [String: Any]
    #expect(saved?["recover_until"] as? Bool == false, "as pycti: recover_until becomes false")
  }

  /// `cti-stream --state s --commit-on-write | head -n 3`: once the reader is gone, the state
  /// names the last event that reached it, never one that could not be written. (Without
  /// --commit-on-write the state would travel as checkpoints that `head` never commits.)
  @Test func a_closed_pipe_never_advances_the_state_past_what_was_written() throws {
    var stream = FakePlatform.Stream()
    stream.events = Self.events(8)
    stream.delay = 0.4
    stream.heartbeat = 100
    try platform.install(stream)
    let folder = try TemporaryFolder()
    let state = folder.path + "/state.json"
    let tool = ToolRunner.binDirectory.appendingPathComponent("cti-stream").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", "'\(tool)' --state '\(state)' --commit-on-write --recover false --idle-exit 20 | head -n 3 > '\(folder.path)/got'; echo ${PIPESTATUS[0]} > '\(folder.path)/status'"]
    process.environment = environment(stream).merging(["PATH": "/usr/bin:/bin"]) { $1 }
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    #expect(folder.read("status")?.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "EPIPE is a clean exit")
    let lines = (folder.read("got") ?? "").split(separator: "\n")
    #expect(lines.count == 3)
    let saved = try JSONSerialization.jsonObject(with: Data((folder.read("state.json") ?? "{}").utf8)) as? [String: Any]
    // The fourth event met the closed pipe; the state stays on the third.
    #expect(saved?["start_from"] as? String == stream.events[2].id)
  }

  @Test func reconnects_after_a_drop_a_stall_a_500_and_a_clean_close() throws {
    var stream = FakePlatform.Stream()
    stream.events = Self.events(6)
    stream.heartbeat = 0.2
    stream.faults = [1: .drop(after: 2), 2: .stall(after: 1, seconds: 30), 3: .status(500), 4: .close(after: 1)]
    try platform.install(stream)
    let result = try ToolRunner.run(
      "cti-stream", ["--recover", "false", "--stall-timeout", "1", "--reconnect-delay", "0.05", "--idle-exit", "6"],
      environment: environment(stream), timeout: 40)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try ids(result) == stream.events.map(\.id))
    let positions = try platform.requests(of: stream.name).map { $0["headers"]?["last-event-id"]?.stringValue }
    let event = stream.events.map(\.id)
    #expect(positions == ["0-0", event[1], event[2], event[2], event[3]])
    #expect(result.stderr.contains("4 reconnects"))
    #expect(result.stderr.contains("no data from"))
    #expect(result.stderr.contains("HTTP 500"))
  }

  @Test(arguments: [(401, CTICore.ExitStatus.noPermission), (403, .noPermission), (404, .config), (410, .config)])
  func refused_or_missing_streams_end_the_run(status: Int, exit: CTICore.ExitStatus) throws {
    var stream = FakePlatform.Stream()
    stream.status = status
    try platform.install(stream)
    let result = try ToolRunner.run("cti-stream", ["--reconnect-delay", "0.05"], environment: environment(stream), timeout: 20)
    #expect(result.status == exit.rawValue)
    #expect(result.stderr.contains("HTTP \(status)"))
    #expect(result.stdout.isEmpty)
    #expect(try platform.requests(of: stream.name).count == 1)
  }

  @Test func an_invalid_payload_is_reported_and_skipped_or_stops_with_strict() throws {
    var stream = FakePlatform.Stream()
    stream.events = [
      FakePlatform.Event(id: "1-0", data: Self.payload(1)), FakePlatform.Event(id: "2-0", data: #"{"version":"4","data":{"id":"#),
      FakePlatform.Event(id: "3-0", data: Self.payload(3)),
    ]
    stream.heartbeat = 0.1
    try platform.install(stream)
    let skipping = try ToolRunner.run("cti-stream", ["--recover", "false", "--idle-exit", "0.5"], environment: environment(stream), timeout: 20)
    #expect(skipping.status == 1)
    #expect(try ids(skipping) == ["1-0", "3-0"])
    #expect(skipping.stderr.contains("event 2-0: payload is not valid JSON"))
    let strict = try ToolRunner.run("cti-stream", ["--recover", "false", "--strict"], environment: environment(stream), timeout: 20)
    #expect(strict.status == 65)
    #expect(try ids(strict) == ["1-0"])
  }

  @Test func sigterm_finishes_saves_the_state_and_exits_zero() throws {
    var stream = FakePlatform.Stream()
    stream.events = Self.events(5)
    stream.heartbeat = 0.2
    try platform.install(stream)
    let folder = try TemporaryFolder()
    let state = folder.path + "/state.json"
    let tool = try ToolRunner.start("cti-stream", ["--state", state, "--recover", "false"], environment: environment(stream))
    #expect(tool.waitUntil(timeout: 20) { $0.completedLines == 5 })
    tool.signal(SIGTERM)
    let result = tool.wait(timeout: 10)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("stopped by SIGTERM"))
    #expect(try LiveStreamState.load(state)?.startFrom == stream.events.last?.id)
  }

  @Test func events_filter_max_events_and_heartbeats() throws {
    var stream = FakePlatform.Stream()
    stream.events = [
      FakePlatform.Event(id: "1-0", data: Self.payload(1)), FakePlatform.Event(id: "2-0", event: "update", data: Self.payload(1)),
      FakePlatform.Event(id: "3-0", event: "delete", data: Self.payload(1)), FakePlatform.Event(id: "4-0", data: Self.payload(4)),
    ]
    stream.heartbeat = 0.1
    try platform.install(stream)
    let filtered = try ToolRunner.run(
      "cti-stream", ["--recover", "false", "--events", "create,delete", "--max-events", "2"], environment: environment(stream), timeout: 20)
    #expect(filtered.status == 0)
    #expect(try ids(filtered) == ["1-0", "3-0"])
    #expect(filtered.stderr.contains("--max-events 2 reached"))

    let withBeats = try ToolRunner.run(
      "cti-stream", ["--recover", "false", "--heartbeats", "--idle-exit", "0.5"], environment: environment(stream), timeout: 20)
    let kinds = try withBeats.stdoutLines.map { try #require(RawObject(Array($0.utf8)).string("event")) }
    #expect(kinds.first == "connected")
    #expect(kinds.contains("heartbeat"))
    #expect(withBeats.stdoutLines.contains { $0.hasPrefix(#"{"id":"4-0","event":"heartbeat","data":""#) })

    let bad = try ToolRunner.run("cti-stream", ["--events", "create,sync"], environment: environment(stream), timeout: 20)
    #expect(bad.status == CTICore.ExitStatus.usage.rawValue, "a bad option value is a usage error")
  }

  @Test func proxy_from_the_environment_is_used() throws {
    var stream = FakePlatform.Stream()
    stream.events = Self.events(1)
    stream.heartbeat = 0.1
    try platform.install(stream)
    var env = environment(stream)
    env["OPENCTI_URL"] = "http://opencti.invalid:8080"
    env["http_proxy"] = platform.baseURL
    let result = try ToolRunner.run("cti-stream", ["--recover", "false", "--idle-exit", "0.5"], environment: env, timeout: 20)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try ids(result) == [stream.events[0].id])
    #expect(try platform.requests(of: stream.name).first?["path"]?.stringValue?.hasPrefix("http://opencti.invalid:8080/stream/") == true)
  }

  @Test func replay_reads_a_capture_with_any_line_endings() throws {
    let folder = try TemporaryFolder()
    let payload = Self.payload(7, name: "a\u{2028}b")
    let capture = "\u{FEFF}event: connected\r\ndata: {\"connectionId\":\"x\"}\r\n\r\nid: 9-0\revent: heartbeat\rdata: \"2024-01-15T14:00:00.000Z\"\r\rid: 10-0\nevent: create\ndata: \(payload)\n\n: comment\nid: 11-0\nevent: merge\ndata: {\"type\":\"merge\"}\n\nid: 12-0\nevent: create\ndata: {\"cut"
    try folder.write("capture.sse", capture)
    let result = try ToolRunner.run("cti-stream", ["--replay", folder.path + "/capture.sse"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdoutLines == [#"{"id":"10-0","event":"create","# + payload.dropFirst(), #"{"id":"11-0","event":"merge","type":"merge"}"#])
    #expect(result.stderr.contains("ends inside an event"))
    let viaURL = try ToolRunner.run("cti-stream", ["--heartbeats"], environment: ["OPENCTI_URL": "file://" + folder.path + "/capture.sse"])
    #expect(viaURL.stdoutLines.count == 4)
    #expect(viaURL.stdoutLines.first == #"{"event":"connected","connectionId":"x"}"#)
  }

  @Test func the_example_capture_replays_into_valid_stream_events() throws {
    let result = try ToolRunner.run("cti-stream", ["--replay", ToolRunner.packageRoot.path + "/examples/stream-capture.sse"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdoutLines.count >= 30)
    var kinds: Set<String> = []
    var withFile = false
    for line in result.stdoutLines {
      let record = try Record(Line(number: 0, bytes: Array(line.utf8)))
      #expect(record.kind == .streamEvent)
      kinds.insert(try #require(record.object.string("event")))
      let extensions = record.object.object("data")?.object("extensions")?.object(Self.octi)
      #expect(extensions?.string("created_at") != nil)
      if extensions?.valueKind("files") == UInt8(ascii: "[") { withFile = true }
    }
    #expect(kinds == ["create", "update", "delete", "merge"])
    #expect(withFile)
  }
}
