import Foundation
import CTICore

#if canImport(Glibc)
  import Glibc
#endif

extension ToolRunner {
  /// Starts `tool` (a built executable, or an absolute path) and returns at once, so a test can
  /// watch its output while it runs, signal it and wait for it. stdout and stderr go to files,
  /// so a chatty tool never blocks on a full pipe.
  static func start(
    _ tool: String, _ arguments: [String] = [], stdin: [UInt8] = [], environment: [String: String] = [:]
  ) throws -> RunningTool {
    try start(tool, arguments, input: .bytes(stdin), environment: environment)
  }

  /// Starts `tool` with its stdin and stdout where the caller says: a descriptor (one end of a
  /// pipe, kept open by the caller) or the usual file.
  static func start(
    _ tool: String, _ arguments: [String] = [], input: RunningTool.Input, output: RunningTool.Output = .file,
    environment: [String: String] = [:]
  ) throws -> RunningTool {
    _ = signal(SIGPIPE, SIG_IGN)
    let path = tool.hasPrefix("/") ? tool : binDirectory.appendingPathComponent(tool).path
    var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    env.merge(environment) { $1 }
    return try RunningTool(path: path, arguments: arguments, environment: env, input: input, output: output)
  }

  /// Like `start`, with stdin a pipe the test writes into (`writeInput`, `closeInput`), so it can
  /// see whether the tool reads: a tool that stops reading leaves the writer blocked.
  static func startWithInputPipe(_ tool: String, _ arguments: [String] = [], environment: [String: String] = [:]) throws
    -> RunningTool
  {
    let pipe = try Pipe2()
    let running = try start(tool, arguments, input: .descriptor(pipe.read), environment: environment)
    pipe.closeRead()
    running.inputPipe = pipe
    return running
  }
}

/// A tool started by `ToolRunner.start`. Spawned with posix_spawn and reaped with waitpid
/// (Foundation's Process does not notice the end of a child reliably inside the test runner).
final class RunningTool {
  private let folder: TemporaryFolder
  private let stdoutURL: URL
  private let stderrURL: URL
  let processIdentifier: pid_t
  private var exitStatus: Int32?
  /// The pipe into the tool's stdin (`startWithInputPipe`); only its write end is open here.
  fileprivate var inputPipe: Pipe2?

  /// Where the tool's stdin comes from.
  enum Input {
    /// These bytes, from a file (the tool sees their end at once).
    case bytes([UInt8])
    /// An open descriptor of the caller's (a pipe's read end), duplicated as the tool's stdin.
    case descriptor(Int32)
  }

  /// Where the tool's stdout goes.
  enum Output {
    /// A file of its own (`stdoutSoFar`).
    case file
    /// An open descriptor of the caller's (a pipe's write end), duplicated as the tool's stdout.
    case descriptor(Int32)
  }

  convenience init(path: String, arguments: [String], environment: [String: String], stdin: [UInt8]) throws {
    try self.init(path: path, arguments: arguments, environment: environment, input: .bytes(stdin), output: .file)
  }

  /// Descriptors handed over are duplicated onto 0 or 1 in the child; the caller's copies should
  /// be opened close-on-exec (so no other child inherits them) and closed once every tool using
  /// them has started.
  init(path: String, arguments: [String], environment: [String: String], input: Input, output: Output) throws {
    folder = try TemporaryFolder()
    stdoutURL = folder.url.appendingPathComponent("stdout")
    stderrURL = folder.url.appendingPathComponent("stderr")
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    switch input {
    case .bytes(let stdin):
      let stdinURL = folder.url.appendingPathComponent("stdin")
      try Data(stdin).write(to: stdinURL)
      posix_spawn_file_actions_addopen(&actions, 0, stdinURL.path, O_RDONLY, 0)
    case .descriptor(let descriptor):
      posix_spawn_file_actions_adddup2(&actions, descriptor, 0)
    }
    switch output {
    case .file:
      posix_spawn_file_actions_addopen(&actions, 1, stdoutURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    case .descriptor(let descriptor):
      posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
    }
    posix_spawn_file_actions_addopen(&actions, 2, stderrURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // The child starts with default signal handling and nothing blocked, whatever the runner set.
    var all = sigset_t()
    sigfillset(&all)
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var pid = pid_t()
    let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
    guard result == 0 else {
      throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "cannot start \(path): \(String(cString: strerror(result)))"])
    }
    processIdentifier = pid
  }

  deinit {
    closeInput()
    if isRunning {
      kill(processIdentifier, SIGKILL)
      _ = wait(timeout: 5)
    }
  }

  /// Writes into the tool's stdin pipe and returns how many bytes the pipe took. With
  /// `blocking` false it stops at the first write the pipe cannot take now (the tool is not
  /// reading and the pipe is full) instead of waiting.
  @discardableResult
  func writeInput(_ bytes: [UInt8], blocking: Bool = true) -> Int {
    guard let descriptor = inputPipe?.write else { return 0 }
    let flags = fcntl(descriptor, F_GETFL)
    _ = fcntl(descriptor, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK)
    var written = 0
    while written < bytes.count {
      let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
      if count > 0 {
        written += count
      } else if count < 0, errno == EINTR {
        continue
      } else {
        break
      }
    }
    return written
  }

  /// Closes the tool's stdin pipe: the tool sees the end of its input.
  func closeInput() {
    inputPipe?.closeWrite()
    inputPipe = nil
  }

  var isRunning: Bool {
    if exitStatus != nil { return false }
    var status: Int32 = 0
    let reaped = waitpid(processIdentifier, &status, WNOHANG)
    guard reaped == processIdentifier else { return reaped == 0 }
    // Exit code, or 128 + signal number as a shell reports it.
    let signal = status & 0x7F
    exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    return false
  }

  /// What the tool has written to stdout so far.
  var stdoutSoFar: [UInt8] { (try? Array(Data(contentsOf: stdoutURL))) ?? [] }
  var stderrSoFar: String { (try? String(decoding: Data(contentsOf: stderrURL), as: UTF8.self)) ?? "" }
  /// Lines completed on stdout so far.
  var completedLines: Int { stdoutSoFar.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }

  /// Waits until `condition` holds (checked every 20 ms) or `timeout` seconds pass; says which.
  @discardableResult
  func waitUntil(timeout: Double, _ condition: (RunningTool) -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if condition(self) { return true }
      usleep(20_000)
    }
    return condition(self)
  }

  func signal(_ number: Int32) {
    if isRunning { kill(processIdentifier, number) }
  }

  /// Waits for the end (killing the tool after `timeout` seconds) and collects the result.
  /// `status` is the exit code, or 128 + the signal number.
  func wait(timeout: Double = 60) -> ToolResult {
    let finished = waitUntil(timeout: timeout) { !$0.isRunning }
    if !finished {
      kill(processIdentifier, SIGKILL)
      waitUntil(timeout: 10) { !$0.isRunning }
    }
    return ToolResult(status: exitStatus ?? -1, stdout: stdoutSoFar, stderr: stderrSoFar, timedOut: !finished)
  }
}
