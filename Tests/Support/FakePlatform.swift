package import CTICore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The fake OpenCTI platform (fake_opencti.py next to this file), started once per test process
/// on free loopback ports and shared by every test. Tests isolate themselves by giving their
/// scenarios, tokens and file paths unique names (`unique(_:)`).
///
/// Control calls use a tiny HTTP/1.0 client on a raw socket, so the fixture does not depend on
/// the HTTP client it is used to test.
package final class FakePlatform: Sendable {
  /// The shared instance; the first use starts the server (a few hundred ms).
  package static let shared: FakePlatform = {
    // Control sockets and tools' pipes may close under a write: that must be an error, not the
    // end of the test process.
    _ = signal(SIGPIPE, SIG_IGN)
    do { return try FakePlatform() } catch { fatalError("cannot start the fake OpenCTI platform: \(error)") }
  }()

  package let port: Int
  /// The HTTPS port (self-signed certificate for 127.0.0.1) and that certificate's PEM file.
  package let tlsPort: Int
  package let certificatePath: String
  private let process: Process

  package var baseURL: String { "http://127.0.0.1:\(port)" }
  package var tlsBaseURL: String { "https://127.0.0.1:\(tlsPort)" }

  package struct Failure: Error, CustomStringConvertible {
    package let description: String
  }

  private init() throws {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fake_opencti.py")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-u", script.path, "--tls"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.standardError
    try process.run()
    var line = Data()
    while !line.contains(0x0A) {
      let byte = output.fileHandleForReading.readData(ofLength: 1)
      if byte.isEmpty { throw Failure(description: "fake platform exited before printing its ports") }
      line.append(byte)
    }
    guard case .object(let info)? = try? JSONParser.parse(Array(line)),
      let port = info["port"]?.intValue, let tlsPort = info["tls_port"]?.intValue,
      let certificate = info["ca"]?.stringValue
    else { throw Failure(description: "unexpected start line \(String(decoding: line, as: UTF8.self))") }
    self.process = process
    self.port = port
    self.tlsPort = tlsPort
    certificatePath = certificate
  }

  /// A name no other test uses (for scenarios, tokens, file paths).
  package static func unique(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.lowercased().prefix(12))"
  }

  // MARK: Scenarios

  /// One event of a scenario. `data` is sent byte for byte after `data: `.
  package struct Event: Sendable {
    package var id: String
    package var event: String
    package var data: String
    package init(id: String, event: String = "create", data: String) {
      self.id = id
      self.event = event
      self.data = data
    }

    var json: JSONValue { ["id": .string(id), "event": .string(event), "data": .string(data)] }
  }

  /// What a connection number does instead of behaving (1 = the first connection).
  package enum Fault: Sendable {
    /// Sends `after` events, then half of the next one, then closes the socket.
    case drop(after: Int)
    /// Sends `after` events, then nothing at all for `seconds`, then closes.
    case stall(after: Int, seconds: Double)
    /// Answers with an error status instead of the stream.
    case status(Int)
    /// Sends `after` events and ends the response cleanly.
    case close(after: Int)
    /// Sends `after` events, then `megabytes` MiB of one data line that never ends, then closes.
    case endless(after: Int, megabytes: Int)

    var json: JSONValue {
      switch self {
      case .drop(let after): ["kind": "drop", "after": .int(after)]
      case .stall(let after, let seconds): ["kind": "stall", "after": .int(after), "seconds": .number(String(seconds))]
      case .status(let code): ["kind": "status", "status": .int(code)]
      case .close(let after): ["kind": "close", "after": .int(after)]
      case .endless(let after, let megabytes): ["kind": "endless", "after": .int(after), "megabytes": .int(megabytes)]
      }
    }
  }

  /// A live stream scenario served at `/stream/<name>` (and at `/stream` for `token` if `raw`).
  package struct Stream: Sendable {
    package var name: String
    package var token: String?
    package var events: [Event] = []
    /// Sent as `create` events when `recover` is later than `from` (the Elasticsearch snapshot).
    package var snapshot: [Event] = []
    /// Answer every connection with this status instead (401, 404, 410, 500…).
    package var status = 200
    package var heartbeat = 5.0
    /// Seconds between events (between groups of `burst` events).
    package var delay = 0.0
    /// Events sent back to back before each `delay`.
    package var burst = 1
    /// Keep connections open after the last event (live tail) for up to `holdSeconds`.
    package var hold = true
    package var holdSeconds = 120.0
    package var faults: [Int: Fault] = [:]
    package var raw = false
    /// Answer a recovery request with a `no-recover` event instead of the snapshot (a collection
    /// with origin filters, OpenCTI 6.9+).
    package var noRecover = false
    /// Pre-built events for benchmarks: `count` creates of about `size` bytes each.
    package var generate: (count: Int, size: Int)?

    package init(name: String = FakePlatform.unique("stream"), token: String? = FakePlatform.unique("token")) {
      self.name = name
      self.token = token
    }

    var json: JSONValue {
      var object = JSONObject([
        ("name", .string(name)), ("token", token.map { .string($0) } ?? .null),
        ("events", .array(events.map(\.json))),
        ("snapshot", .array(snapshot.map { ["id": .string($0.id), "data": .string($0.data)] })),
        ("status", .int(status)), ("heartbeat", .number(String(heartbeat))), ("delay", .number(String(delay))),
        ("burst", .int(burst)),
        ("hold", .bool(hold)), ("hold_seconds", .number(String(holdSeconds))), ("raw", .bool(raw)), ("no_recover", .bool(noRecover)),
        ("faults", .object(JSONObject(faults.map { (key: String($0.key), value: $0.value.json) }))),
      ])
      if let generate { object["generate"] = ["count": .int(generate.count), "size": .int(generate.size)] }
      return .object(object)
    }
  }

  /// Installs (or replaces) a stream scenario.
  package func install(_ stream: Stream) throws {
    _ = try control("POST", "/_control/scenario", body: stream.json)
  }

  /// The environment cti-stream reads `stream` from, under pycti's names.
  package func environment(for stream: Stream) -> [String: String] {
    ["OPENCTI_URL": baseURL, "OPENCTI_TOKEN": stream.token ?? "", "CONNECTOR_LIVE_STREAM_ID": stream.name]
  }

  /// Adds events to a scenario; open connections send them right away.
  package func append(_ events: [Event], to stream: String) throws {
    _ = try control("POST", "/_control/append/\(stream)", body: ["events": .array(events.map(\.json))])
  }

  /// The requests a stream received: `connection`, `path`, `query` and lower-cased `headers`.
  package func requests(of stream: String) throws -> [JSONValue] {
    try control("GET", "/_control/requests/\(stream)").arrayValue ?? []
  }

  // MARK: Files

  /// Serves `bytes` at `/storage/get/<path>`. With `token`, other tokens get 401; `status` other
  /// than 200 serves an error page; `failFirst` answers 500 to the first requests.
  package func addFile(path: String, bytes: [UInt8], token: String? = nil, status: Int = 200, failFirst: Int = 0) throws {
    _ = try control(
      "POST", "/_control/file",
      body: [
        "path": .string(path), "base64": .string(Data(bytes).base64EncodedString()),
        "token": token.map { .string($0) } ?? .null, "status": .int(status), "fail_first": .int(failFirst),
      ])
  }

  /// How many times `/storage/get/<path>` was requested.
  package func fileRequestCount(path: String) throws -> Int {
    let encoded = path.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? path
    return try control("GET", "/_control/file-requests?path=\(encoded)")["count"]?.intValue ?? 0
  }

  // MARK: Control client

  /// Sends one control request over a fresh loopback socket and parses the JSON answer.
  @discardableResult
  package func control(_ method: String, _ path: String, body: JSONValue? = nil) throws -> JSONValue {
    let payload = body.map(JSONWriter.serialize) ?? []
    let head = "\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\n\r\n"
    let answer = try Self.exchange(port: port, request: Array(head.utf8) + payload)
    guard let split = Self.find([13, 10, 13, 10], in: answer) else {
      throw Failure(description: "no HTTP answer to \(method) \(path)")
    }
    let statusLine = String(decoding: answer[..<(answer[..<split].firstIndex(of: 13) ?? split)], as: UTF8.self)
    let responseBody = Array(answer[(split + 4)...])
    guard statusLine.contains(" 200 ") else {
      throw Failure(description: "\(method) \(path): \(statusLine) \(String(decoding: responseBody, as: UTF8.self))")
    }
    return try JSONParser.parse(responseBody)
  }

  static func exchange(port: Int, request: [UInt8]) throws -> [UInt8] {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw Failure(description: "socket: \(errno)") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw Failure(description: "connect to the fake platform: errno \(errno)") }
    var offset = 0
    while offset < request.count {
      let sent = request.withUnsafeBytes { send(socket, $0.baseAddress! + offset, request.count - offset, 0) }
      guard sent > 0 else { throw Failure(description: "send: errno \(errno)") }
      offset += sent
    }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let got = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
      if got <= 0 { break }
      answer.append(contentsOf: buffer[..<got])
    }
    return answer
  }

  static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for index in 0...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
      return index
    }
    return nil
  }
}
