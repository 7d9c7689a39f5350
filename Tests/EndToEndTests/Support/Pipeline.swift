import CTICore
import CTITestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Two tools joined by a real pipe, `source | sink`, each started by the test (not by a shell), so
/// that either can be killed on its own and both can be waited for.
final class ToolPipeline {
  let source: RunningTool
  let sink: RunningTool
  let sourceName: String
  let sinkName: String

  init(
    _ source: (tool: String, arguments: [String]), _ sink: (tool: String, arguments: [String]),
    sourceEnvironment: [String: String] = [:], sinkEnvironment: [String: String] = [:],
    sourceInput: RunningTool.Input = .bytes([])
  ) throws {
    let pipe = try Pipe2()
    defer { pipe.closeBoth() }
    self.source = try ToolRunner.start(
      source.tool, source.arguments, input: sourceInput, output: .descriptor(pipe.write), environment: sourceEnvironment)
    self.sink = try ToolRunner.start(
      sink.tool, sink.arguments, input: .descriptor(pipe.read), environment: sinkEnvironment)
    sourceName = source.tool + (source.arguments.first.map { $0.hasPrefix("-") ? "" : " " + $0 } ?? "")
    sinkName = sink.tool
  }

  /// Waits for both tools (killing what is left after `timeout`).
  func wait(timeout: Double = 60) -> (source: ToolResult, sink: ToolResult) {
    let sink = self.sink.wait(timeout: timeout)
    return (source.wait(timeout: 10), sink)
  }
}

/// A pipe whose two ends are close-on-exec in this process: a tool gets an end only through
/// `RunningTool`'s dup2, so no other child started meanwhile keeps it open.
final class Pipe2 {
  let read: Int32
  let write: Int32
  private var readOpen = true
  private var writeOpen = true

  /// glibc's pipe2, which Swift's Glibc module does not declare (it is behind _GNU_SOURCE).
  private static let pipe2: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32 = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else { fatalError("no pipe2 in libc") }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32).self)
  }()

  init() throws {
    var ends: [Int32] = [-1, -1]
    guard Self.pipe2(&ends, O_CLOEXEC) == 0 else { throw TestSetupFailure("pipe2: errno \(errno)") }
    read = ends[0]
    write = ends[1]
  }

  deinit { closeBoth() }

  func closeRead() {
    if readOpen { close(read) }
    readOpen = false
  }

  func closeWrite() {
    if writeOpen { close(write) }
    writeOpen = false
  }

  func closeBoth() {
    closeRead()
    closeWrite()
  }
}

/// A test could not set up what it needs (a pipe, a fixture).
struct TestSetupFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// A tool's stdin kept open by the test: lines go in when the test says, and the end of input
/// comes only with `finish()` (as with a slow upstream stage).
final class HeldInput {
  private let pipe: Pipe2

  init() throws { pipe = try Pipe2() }

  /// For `ToolRunner.start(input:)`; call `started()` once the tool runs.
  var input: RunningTool.Input { .descriptor(pipe.read) }

  func started() { pipe.closeRead() }

  /// Writes lines (each followed by a newline); false if the reader is gone.
  @discardableResult
  func send(_ lines: [String]) -> Bool {
    FileSystem.writeAll(Array(lines.map { $0 + "\n" }.joined().utf8), to: pipe.write)
  }

  func finish() { pipe.closeWrite() }

  /// glibc's ioctl, which Swift does not import (it is variadic); FIONREAD takes an int pointer.
  private static let ioctl: @convention(c) (Int32, UInt, UnsafeMutablePointer<Int32>) -> Int32 = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "ioctl") else { fatalError("no ioctl in libc") }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32, UInt, UnsafeMutablePointer<Int32>) -> Int32).self)
  }()

  /// Waits until the tool has taken every byte sent so far out of the pipe (FIONREAD is 0), so
  /// that a signal sent next cannot arrive before the lines were read; says whether it did.
  @discardableResult
  func waitUntilRead(timeout: Double) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      var pending: Int32 = 0
      if Self.ioctl(pipe.write, UInt(FIONREAD), &pending) == 0, pending == 0 { return true }
      usleep(10_000)
    }
    return false
  }
}

/// A tool's stdout read by the test, which plays the last stage of a pipeline: it keeps the
/// lines and, given a state file, commits each checkpoint it reads into it as a sink would.
final class TestSink {
  private let pipe: Pipe2
  private var buffer: [UInt8] = []
  private(set) var lines: [[UInt8]] = []
  private(set) var atEnd = false
  /// Bytes after the last newline at the end of input (a torn line).
  private(set) var tail: [UInt8] = []
  let statePath: String?
  private(set) var committed = 0

  init(statePath: String? = nil) throws {
    pipe = try Pipe2()
    self.statePath = statePath
  }

  var output: RunningTool.Output { .descriptor(pipe.write) }

  func started() { pipe.closeWrite() }

  /// Reads what is there (waiting up to `timeout` for something); returns the lines completed.
  @discardableResult
  func read(timeout: Double) -> Int {
    guard !atEnd else { return 0 }
    var poller = pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)
    guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else { return 0 }
    var chunk = [UInt8](repeating: 0, count: 65536)
    let count = chunk.withUnsafeMutableBytes { Glibc.read(pipe.read, $0.baseAddress!, $0.count) }
    if count <= 0 {
      atEnd = true
      tail = buffer
      return 0
    }
    buffer.append(contentsOf: chunk[..<count])
    var completed = 0
    while let newline = buffer.firstIndex(of: 0x0A) {
      let line = Array(buffer[..<newline])
      buffer.removeSubrange(...newline)
      lines.append(line)
      completed += 1
      commitIfCheckpoint(line)
    }
    return completed
  }

  /// Reads until `count` lines in all (or the end, or `timeout`).
  func read(lines count: Int, timeout: Double) {
    let deadline = Date().addingTimeInterval(timeout)
    while lines.count < count, !atEnd, Date() < deadline { read(timeout: 0.05) }
  }

  /// Reads up to the end of input (or `timeout`).
  func readToEnd(timeout: Double) {
    let deadline = Date().addingTimeInterval(timeout)
    while !atEnd, Date() < deadline { read(timeout: 0.1) }
  }

  private func commitIfCheckpoint(_ line: [UInt8]) {
    guard let statePath, let object = try? RawObject(line), object.string("type") == Checkpoint.type,
      let state = object.rawValue("state")
    else { return }
    try? FileSystem.writeAtomically(Checkpoint.fileBytes(state), to: statePath, durable: false)
    committed += 1
  }

  /// Lines that are not one whole JSON value each.
  var tornLines: [String] {
    lines.filter { (try? JSONParser.validate($0)) == nil }.map { String(decoding: $0.prefix(200), as: UTF8.self) }
      + (tail.isEmpty ? [] : ["(no newline) " + String(decoding: tail.prefix(200), as: UTF8.self)])
  }

  var records: [RawObject] { lines.compactMap { try? RawObject($0) } }
}

/// SplitMix64: a small seeded generator, so a failing run of random kills can be repeated.
struct SeededGenerator: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var mixed = state
    mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
    mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
    return mixed ^ (mixed >> 31)
  }
}

/// Kills one stage of a pipeline with SIGKILL at random moments. `CTI_KILL_ITERATIONS` sets how
/// many rounds (default 20) and `CTI_KILL_SEED` repeats a run; the seed is in every failure
/// message. `CTI_KILL_VERBOSE` prints each round.
struct KillLoop {
  static var iterations: Int {
    Int(ProcessInfo.processInfo.environment["CTI_KILL_ITERATIONS"] ?? "").map { max($0, 0) } ?? 20
  }

  let seed: UInt64
  private var generator: SeededGenerator

  init() {
    seed = ProcessInfo.processInfo.environment["CTI_KILL_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(UInt32.max))
    generator = SeededGenerator(seed: seed)
  }

  /// The note every failure carries.
  var repeatHint: String { "seed \(seed) (repeat with CTI_KILL_SEED=\(seed))" }

  /// What happened in one round.
  struct Round: CustomStringConvertible {
    var number: Int
    var killed: String
    var sourceKilled: Bool
    var after: Double
    var source: ToolResult
    var sink: ToolResult
    var description: String { "round \(number): \(killed) killed after \(String(format: "%.3f", after)) s" }
  }

  /// Runs one round: waits a random moment in `window` seconds, kills one stage at random with
  /// SIGKILL, then lets the other one end on its own for up to `grace` seconds before killing it
  /// too (a source blocked on an open live stream never sees the sink go).
  mutating func round(_ number: Int, _ pipeline: ToolPipeline, window: ClosedRange<Double>, grace: Double = 0.5)
    -> Round
  {
    let started = Date()
    let delay = Double.random(in: window, using: &generator)
    let killSource = Bool.random(using: &generator)
    usleep(UInt32(delay * 1_000_000))
    let (victim, other) = killSource ? (pipeline.source, pipeline.sink) : (pipeline.sink, pipeline.source)
    victim.signal(SIGKILL)
    let victimResult = victim.wait(timeout: 10)
    // A sink whose source died sees the end of its input and must finish on its own; a source
    // whose sink died may wait on its platform, so it only gets `grace`.
    let otherResult = other.wait(timeout: killSource ? 30 : grace)
    let round = Round(
      number: number, killed: killSource ? pipeline.sourceName : pipeline.sinkName, sourceKilled: killSource, after: delay,
      source: killSource ? victimResult : otherResult, sink: killSource ? otherResult : victimResult)
    if Self.verbose { print("\(round), \(String(format: "%.2f", Date().timeIntervalSince(started))) s in all") }
    return round
  }

  /// CTI_KILL_VERBOSE=1 prints each round (for tuning windows on a new machine).
  static let verbose = ProcessInfo.processInfo.environment["CTI_KILL_VERBOSE"] != nil
}

extension ToolResult {
  /// Whether the tool was killed by signal `number`.
  func killed(by number: Int32) -> Bool { status == 128 + number }
}

/// Reading the fake platform's view of what a cti-push pushed.
extension FakePlatform {
  /// The ids of every object the platform received in a bundle for `token`.
  func pushedObjectIds(token: String) throws -> Set<String> {
    let bundles = try control("GET", "/_graphql/state?token=\(token)&only=bundles")["bundles"]?.arrayValue ?? []
    return Set(bundles.flatMap { $0["object_ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] })
  }

  /// A platform for `token` whose bundle pushes take `delay` seconds each, so a pipeline into it
  /// runs long enough to be killed in the middle; and the environment cti-push needs for it.
  func slowPushPlatform(token: String, delay: Double) throws -> [String: String] {
    try createGraphQLPlatform(token: token)
    if delay > 0 {
      try injectGraphQLFault(token: token, operation: "StixBundlePush", count: 1_000_000, .delay(delay))
    }
    return ["OPENCTI_URL": baseURL, "OPENCTI_TOKEN": token, "CONNECTOR_ID": UUID().uuidString.lowercased()]
  }
}

/// The JSON object in a state file, or nil when there is none.
func readState(_ path: String) -> JSONValue? {
  guard let bytes = try? FileSystem.read(path) else { return nil }
  return try? JSONParser.parse(bytes)
}
