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

  private var httpOptions: HTTPClientSettings { settings.http }

  public func run(files: [String], rejectPath: String?, statePath: String?, dryRun: Bool, checkOnly: Bool) throws
    -> ExitStatus
  {
    if checkOnly {
      let client = OpenCTIClient(transport: try HTTPGraphQLTransport(url: settings.url, token: settings.token, options: httpOptions, logger: diagnostics.logger))
      let version = try client.requireBundlePush()
      diagnostics.logger.notice("OpenCTI \(version) at \(settings.url): token accepted, stixBundlePush available")
      return .ok
    }
    let checkpoints = try CheckpointCommitter(path: statePath, diagnostics: diagnostics)
    if dryRun { checkpoints.block("a dry run pushes nothing") }
    let rejects = try rejectPath.map { path throws(FileSystemError) in try RejectFile(path: path) }
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
      settings: settings, transport: transport, pingTransport: pingTransport, diagnostics: diagnostics, rejects: rejects,
      checkpoints: checkpoints, dryRun: dryRun)
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
}
