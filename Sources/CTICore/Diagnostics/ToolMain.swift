import ArgumentParser

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Runs a tool's body and turns what it throws into the documented exit codes: a closed stdout
/// is a clean exit, `ToolError`s print their message on stderr and exit with their code,
/// malformed JSON that reached the top (a state or config file) exits 65, and anything else is a
/// bug: exit 70 with its message. SIGPIPE is ignored (a closed stdout shows up as EPIPE) and
/// SIGINT/SIGTERM become a request to stop (`StopSignals`) that every tool honours between
/// records.
public enum ToolMain {
  public static func run(tool: String, _ body: () throws -> ExitStatus) throws -> Never {
    RecordWriter.ignoreBrokenPipe()
    StopSignals.install()
    let status: ExitStatus
    // Held-back counts and a progress line are settled before anything else is printed.
    defer { StderrChannel.standard.finish() }
    do {
      status = try body()
    } catch let error as OutputError where error == .closed {
      status = .ok
    } catch let error as ExitCode {
      throw error
    } catch let error as ValidationError {
      throw error
    } catch let error as JSONError {
      printError(tool: tool, "not valid JSON: \(error)")
      status = .dataError
    } catch let error as ToolError {
      printError(tool: tool, "\(error)")
      status = error.exitStatus
    } catch {
      printError(tool: tool, "\(error)")
      status = .software
    }
    StderrChannel.standard.finish()
    exit(status.rawValue)
  }

  /// Prints `tool: error: message` on stderr (used before logging is set up, and for fatal errors).
  public static func printError(tool: String, _ message: String) {
    StderrChannel.standard.raw(Array("\(tool): error: \(message)\n".utf8))
  }
}
