#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What `cti-push` does once its settings are resolved: `--check`, `--dry-run` or a real run
/// over the input files, with the reject file and the summary on stderr.
public struct PushCommand {
  public var settings: PushSettings
  public var diagnostics: Diagnostics
  public var quiet: Bool

  public init(settings: PushSettings, diagnostics: Diagnostics, quiet: Bool) {
    self.settings = settings
    self.diagnostics = diagnostics
    self.quiet = quiet
  }

  private var httpOptions: HTTPClientOptions { settings.http }

  public func run(files: [String], rejectPath: String?, dryRun: Bool, checkOnly: Bool) throws -> ExitStatus {
    if checkOnly {
      let client = OpenCTIClient(transport: try HTTPGraphQLTransport(url: settings.url, token: settings.token, options: httpOptions, logger: diagnostics.logger))
      let version = try client.requireBundlePush()
      diagnostics.logger.notice("OpenCTI \(version) at \(settings.url): token accepted, stixBundlePush available")
      return .ok
    }
    let rejects = try rejectPath.map { path throws(FileSystemError) in try Self.openForAppend(path) }
    defer { if let rejects { try? rejects.flush() } }
    let transport: GraphQLTransport
    let pingTransport: GraphQLTransport?
    if dryRun {
      transport = DryRunTransport(output: RecordWriter(descriptor: 1))
      pingTransport = nil
    } else {
      transport = try HTTPGraphQLTransport(url: settings.url, token: settings.token, options: httpOptions, logger: diagnostics.logger)
      pingTransport = try HTTPGraphQLTransport(url: settings.url, token: settings.token, options: httpOptions, logger: diagnostics.logger)
    }
    let run = PushRun(
      settings: settings, transport: transport, pingTransport: pingTransport, diagnostics: diagnostics, rejects: rejects)
    var status = ExitStatus.ok
    do {
      status = try run.run(readers: files.isEmpty ? ["-"] : files)
    } catch {
      if !quiet { diagnostics.logger.notice("\(run.summary)") }
      throw error
    }
    if !quiet { diagnostics.logger.notice("\(run.summary)") }
    return status
  }

  /// Opens (creating it if needed) a file to append reject lines to.
  static func openForAppend(_ path: String) throws(FileSystemError) -> RecordWriter {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw FileSystemError("open", path) }
    return RecordWriter(descriptor: descriptor, flushEachRecord: true)
  }
}
