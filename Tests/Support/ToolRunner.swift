import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What a finished tool run produced.
public struct ToolResult: Sendable {
  public var status: Int32
  /// Whether the process was ended by a signal (then `status` is the signal number).
  public var signalled: Bool
  public var timedOut: Bool
  public var stdout: [UInt8]
  public var stderr: [UInt8]

  public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
  public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
  /// stdout split into lines (without the final empty one).
  public var stdoutLines: [String] {
    stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast(stdoutText.hasSuffix("\n") ? 1 : 0)
      .map(String.init)
  }
}

/// Runs the built command-line tools from tests. Tools are looked up in the directory of the
/// running test binary (`.build/<config>/`), where SwiftPM puts executables. stdout and stderr go
/// to temporary files, so a chatty tool can never block on a full pipe.
public enum ToolRunner {
  /// The directory holding the built executables.
  public static let toolsDirectory: String = {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
    // On macOS the test binary sits inside an .xctest bundle.
    while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
    return directory.path
  }()

  /// The environment a tool gets unless a test adds to it: enough to run, nothing from the
  /// developer's shell that could change a tool's configuration (OPENCTI_*, CONNECTOR_*, proxies).
  public static var baseEnvironment: [String: String] {
    let inherited = ProcessInfo.processInfo.environment
    var environment = ["PATH": inherited["PATH"] ?? "/usr/bin:/bin", "LANG": "C.UTF-8"]
    if let home = inherited["HOME"] { environment["HOME"] = home }
    return environment
  }

  /// Runs `tool` with `arguments` to the end, feeding `stdin`; kills it after `timeout` seconds.
  public static func run(
    _ tool: String, _ arguments: [String] = [], environment: [String: String] = [:], stdin: [UInt8] = [],
    directory: String? = nil, timeout: Double = 60
  ) throws -> ToolResult {
    let running = try start(tool, arguments, environment: environment, stdin: stdin, directory: directory)
    return running.wait(timeout: timeout)
  }

  /// Starts `tool` and returns at once; the test can watch its output, signal it and wait.
  public static func start(
    _ tool: String, _ arguments: [String] = [], environment: [String: String] = [:], stdin: [UInt8] = [],
    directory: String? = nil
  ) throws -> RunningTool {
    try RunningTool(
      path: tool.contains("/") ? tool : toolsDirectory + "/" + tool, arguments: arguments,
      environment: baseEnvironment.merging(environment) { $1 }, stdin: stdin, directory: directory)
  }
}

/// A tool started by `ToolRunner.start`.
public final class RunningTool: @unchecked Sendable {
  private let process = Process()
  private let scratch: URL
  private let stdoutURL: URL
  private let stderrURL: URL

  init(path: String, arguments: [String], environment: [String: String], stdin: [UInt8], directory: String?) throws {
    guard FileManager.default.isExecutableFile(atPath: path) else {
      throw FakePlatform.Failure(description: "no built tool at \(path) (build the executables before the tests)")
    }
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("toolrun-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    stdoutURL = scratch.appendingPathComponent("stdout")
    stderrURL = scratch.appendingPathComponent("stderr")
    let stdinURL = scratch.appendingPathComponent("stdin")
    try Data(stdin).write(to: stdinURL)
    _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = environment
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardInput = try FileHandle(forReadingFrom: stdinURL)
    process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
    process.standardError = try FileHandle(forWritingTo: stderrURL)
    try process.run()
  }

  deinit {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    try? FileManager.default.removeItem(at: scratch)
  }

  public var processIdentifier: Int32 { process.processIdentifier }
  public var isRunning: Bool { process.isRunning }

  /// What the tool has written to stdout so far.
  public var stdoutSoFar: [UInt8] { (try? Array(Data(contentsOf: stdoutURL))) ?? [] }
  public var stderrSoFar: [UInt8] { (try? Array(Data(contentsOf: stderrURL))) ?? [] }

  /// Lines the tool has completed on stdout so far.
  public var completedStdoutLines: Int { stdoutSoFar.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }

  /// Waits until `condition` holds (checked every 20 ms) or `timeout` passes; says which.
  @discardableResult
  public func waitUntil(timeout: Double, _ condition: (RunningTool) -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if condition(self) { return true }
      usleep(20_000)
    }
    return condition(self)
  }

  public func signal(_ number: Int32) {
    if process.isRunning { kill(process.processIdentifier, number) }
  }

  /// Waits for the end (SIGKILL after `timeout` seconds) and collects the result.
  public func wait(timeout: Double = 60) -> ToolResult {
    let finished = waitUntil(timeout: timeout) { !$0.isRunning }
    if !finished {
      kill(process.processIdentifier, SIGKILL)
    }
    process.waitUntilExit()
    return ToolResult(
      status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
      timedOut: !finished, stdout: stdoutSoFar, stderr: stderrSoFar)
  }
}
