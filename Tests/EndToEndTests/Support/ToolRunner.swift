import Foundation
import CTICore

/// What a finished tool run left behind.
struct ToolResult {
  var status: Int32
  var stdout: [UInt8]
  var stderr: String
  /// The tool was killed by the runner's timeout.
  var timedOut: Bool

  var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
  /// Standard output split into lines (without empty trailing line).
  var stdoutLines: [String] { stdoutText.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
}

/// Runs the tools built beside the test bundle, the way a shell pipeline would.
enum ToolRunner {
  /// The folder holding the built executables (the test binary lives there too).
  static let binDirectory: URL = {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var folder = exe.deletingLastPathComponent()
    // On Linux the test binary is <bin>/ctiPackageTests.xctest; on macOS it is inside a bundle.
    while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("cti-backup").path),
      folder.path != "/"
    {
      folder = folder.deletingLastPathComponent()
    }
    return folder
  }()

  /// The package root (for fixtures outside the test bundle, such as examples/).
  static let packageRoot: URL = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
  }()

  /// The address-space ceiling hostile-input runs get: ample for the tools' real work (a few
  /// hundred MB on these inputs), so an unbounded buffer fails its allocation, and with it the
  /// test, long before it can take the machine's memory.
  static let hostileMemoryLimit = 768 << 20

  /// Runs `tool` with `arguments`, feeding `stdin`, with a clean environment plus `environment`.
  /// With `memoryLimit` (bytes), the tool runs under `ulimit -v` of that much address space,
  /// set by /bin/sh before it execs the tool.
  static func run(
    _ tool: String, _ arguments: [String] = [], stdin: [UInt8] = [], environment: [String: String] = [:],
    currentDirectory: URL? = nil, timeout: TimeInterval = 60, memoryLimit: Int? = nil
  ) throws -> ToolResult {
    let executable = binDirectory.appendingPathComponent(tool)
    guard let memoryLimit else {
      return try execute(
        executable, arguments, stdin: stdin, environment: environment, currentDirectory: currentDirectory,
        timeout: timeout)
    }
    let script = "ulimit -v \(memoryLimit / 1024) || exit 125; exec \"$0\" \"$@\""
    return try execute(
      URL(fileURLWithPath: "/bin/sh"), ["-c", script, executable.path] + arguments, stdin: stdin,
      environment: environment, currentDirectory: currentDirectory, timeout: timeout)
  }

  /// Runs another program (a test helper such as the STIX validator) the same way, with HOME
  /// kept so that user-installed interpreters and packages are found.
  static func runProgram(
    _ path: String, _ arguments: [String] = [], stdin: [UInt8] = [], timeout: TimeInterval = 120
  ) throws -> ToolResult {
    try execute(
      URL(fileURLWithPath: path), arguments, stdin: stdin,
      environment: ["HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/"], currentDirectory: nil, timeout: timeout)
  }

  /// Runs another program (a shell around a tool, say) with `environment` added to PATH.
  static func runProgramWithEnvironment(
    _ path: String, _ arguments: [String], stdin: [UInt8] = [], environment: [String: String], timeout: TimeInterval = 120
  ) throws -> ToolResult {
    try execute(
      URL(fileURLWithPath: path), arguments, stdin: stdin, environment: environment, currentDirectory: nil, timeout: timeout)
  }

  private static func execute(
    _ executable: URL, _ arguments: [String], stdin: [UInt8], environment: [String: String], currentDirectory: URL?,
    timeout: TimeInterval
  ) throws -> ToolResult {
    // A tool that exits without reading all of its stdin must not take the test process down.
    _ = signal(SIGPIPE, SIG_IGN)
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    env.merge(environment) { $1 }
    process.environment = env
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let input = Pipe()
    let errors = Pipe()
    // stdout is a regular file, as with `tool > file`: a source given --state writes its state
    // file itself (into a pipe it would send checkpoints instead; see `runPipeline`).
    let outputFolder = try TemporaryFolder()
    let outputURL = outputFolder.url.appendingPathComponent("stdout")
    guard FileManager.default.createFile(atPath: outputURL.path, contents: nil) else {
      throw TestSetupFailure("cannot create \(outputURL.path)")
    }
    let output = try FileHandle(forWritingTo: outputURL)
    defer { try? output.close() }
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    try process.run()

    let group = DispatchGroup()
    nonisolated(unsafe) var errBytes = Data()
    group.enter()
    DispatchQueue.global().async {
      errBytes = errors.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    DispatchQueue.global().async {
      try? input.fileHandleForWriting.write(contentsOf: Data(stdin))
      try? input.fileHandleForWriting.close()
    }
    var timedOut = false
    if group.wait(timeout: .now() + timeout) == .timedOut {
      timedOut = true
      process.terminate()
      group.wait()
    }
    process.waitUntilExit()
    let outBytes = (try? Data(contentsOf: outputURL)) ?? Data()
    return ToolResult(
      status: process.terminationStatus, stdout: [UInt8](outBytes), stderr: String(decoding: errBytes, as: UTF8.self),
      timedOut: timedOut)
  }
}

/// A fresh temporary folder, removed when the value goes away.
final class TemporaryFolder {
  let url: URL
  var path: String { url.path }

  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("cti-test-" + UUID().uuidString)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// The names in a subfolder, sorted (empty if it does not exist).
  func names(_ relative: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: url.appendingPathComponent(relative).path)) ?? []).sorted()
  }

  func read(_ relative: String) -> String? {
    (try? Data(contentsOf: url.appendingPathComponent(relative))).map { String(decoding: $0, as: UTF8.self) }
  }

  func write(_ relative: String, _ text: String) throws {
    let file = url.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: file)
  }
}
