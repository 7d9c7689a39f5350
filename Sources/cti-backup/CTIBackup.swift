import ArgumentParser
import CTICore

@main
struct CTIBackup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cti-backup",
    abstract: "Keep an OpenCTI backup tree from stream events, and restore it as bundles.",
    discussion: """
      Reads NDJSON stream events (as cti-stream writes them) from standard input and maintains \
      PATH/opencti_data/<bucket>/<stix-id>.json, the layout of OpenCTI's backup-files and \
      restore-files connectors, one file per id. Bare STIX objects and bundles are stored as \
      creations; objects without a date are filed by a documented fallback rule. \
      A missing PATH is created.

      When OPENCTI_URL and OPENCTI_TOKEN are set (as in the official connector's \
      docker-compose), the files listed in an object's OpenCTI extension are downloaded and \
      stored base64 in their `data` field, as restore-files expects.

      Examples:
        cti-stream | cti-backup /backup
        cti-stream --state s.json | cti-backup --state s.json /backup
        cti-stream --replay s.sse | cti-backup --bucket minute --fsync /backup
        cti-backup restore --state r.json /backup | cti-push --state r.json

      \(ExitStatus.helpSection)
      """,
    version: CTIVersion.current,
    subcommands: [Backup.self, Restore.self],
    defaultSubcommand: Backup.self
  )

  /// `cti-backup --help` also lists the options of `backup`, the default subcommand: they are
  /// what a plain `cti-backup PATH` takes, and ArgumentParser's root help would show only the
  /// subcommands' names. Everything else goes through ArgumentParser unchanged.
  static func main() {
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.count == 1, ["-h", "--help", "help"].contains(arguments[0]) {
      print(rootHelp())
      return
    }
    main(arguments)
  }

  /// The root's overview and discussion, then `backup`'s usage and options, then the list of
  /// subcommands, each part as ArgumentParser renders it.
  static func rootHelp(columns: Int? = nil) -> String {
    let root = helpMessage(columns: columns)
    let backup = helpMessage(for: Backup.self, columns: columns)
    guard let rootUsage = root.range(of: "\nUSAGE: "), let backupUsage = backup.range(of: "\nUSAGE: "),
      let list = root.range(of: "\nSUBCOMMANDS:")
    else { return root }
    return String(root[..<rootUsage.lowerBound]) + "\n" + backup[backupUsage.lowerBound...].trimmingSuffix("\n")
      + "\n" + root[list.lowerBound...]
  }
}

extension Substring {
  fileprivate func trimmingSuffix(_ character: Character) -> Substring {
    var text = self
    while text.last == character { text.removeLast() }
    return text
  }
}

/// Where the backup lives: the positional PATH, BACKUP_PATH or backup.path.
struct BackupLocation: ParsableArguments {
  @Argument(help: ArgumentHelp("The backup root (env BACKUP_PATH, config backup.path).", valueName: "path"))
  var path: String?

  @Option(help: ArgumentHelp("Storage protocol; only 'local' exists (env BACKUP_PROTOCOL).", valueName: "protocol"))
  var `protocol`: String?

  func resolve(_ configuration: Configuration) throws -> String {
    _ = try configuration.choice(BackupKeys.protocolName, flag: self.protocol, choices: ["local"], default: "local")
    guard let path = configuration.string(BackupKeys.path, flag: path) else {
      throw ConfigError("no backup path: give PATH, or set BACKUP_PATH or backup.path in config.yml")
    }
    return path
  }
}

extension CTIBackup {
  struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "backup",
      abstract: "Apply stream events from standard input to the backup tree (the default).",
      usage: "cti-backup [backup] [<options>] [<path>]",
      discussion: """
        create and update events overwrite the object's file atomically (moving it first when its \
        date moved it to another folder), delete removes it (and a bucket folder it empties), merge \
        writes the target and removes the merged sources' files. Heartbeats and unknown events are \
        skipped. Bad lines, and objects of a bundle that cannot be written, are reported with their \
        line number, counted and skipped (--strict stops at the first).
        """
    )

    @OptionGroup var location: BackupLocation

    @Option(help: ArgumentHelp("Folder width: hour or minute (env BACKUP_BUCKET; default hour). 'minute' gives the official connector's folders.", valueName: "size"))
    var bucket: String?

    @Flag(name: .customLong("fsync"), help: "fsync each file and folder change (env BACKUP_FSYNC).")
    var fsync: Bool = false

    @Option(help: ArgumentHelp("Read events from this file instead of standard input.", valueName: "file"))
    var input: String?

    @Option(help: ArgumentHelp("Commit the checkpoints of the input's source into this file (the source's --state file) once the records before them are applied.", valueName: "file"))
    var state: String?

    @OptionGroup(title: "Attachments (fetched when an OpenCTI URL and token are set)")
    var platform: OpenCTIOptions

    @Flag(help: "Do not fetch attachments even when OPENCTI_URL and OPENCTI_TOKEN are set.")
    var noAttachments = false

    @OptionGroup var common: CommonOptions

    func run() throws {
      try ToolMain.run(tool: "cti-backup") {
        let configuration = try common.configuration()
        let diagnostics = try common.diagnostics(tool: "cti-backup", configuration: configuration)
        let path = try location.resolve(configuration)
        let size = try configuration.choice(
          BackupKeys.bucket, flag: bucket, choices: BucketSize.allCases.map(\.rawValue), default: "hour")
        let durable = try configuration.bool(BackupKeys.fsync, flag: fsync ? true : nil, default: false)
        let run = try BackupRun(
          path: path, bucket: BucketSize(rawValue: size) ?? .hour, durable: durable, diagnostics: diagnostics)
        if !noAttachments, configuration.string(OpenCTIKeys.url, flag: platform.url) != nil {
          run.fetchAttachments(
            from: try platform.baseURL(configuration), token: platform.token(configuration),
            options: try platform.httpOptions(configuration))
        }
        let checkpoints = try CheckpointCommitter(path: state, diagnostics: diagnostics)
        let reader = try input.map { path throws in try LineReader(path: path) } ?? LineReader()
        try run.consume(reader, checkpoints: checkpoints)
        if !common.quiet { diagnostics.logger.info("\(run.summary)") }
        return diagnostics.finalStatus
      }
    }
  }

  struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "restore",
      abstract: "Write one bundle per bucket folder to standard output, oldest first.",
      discussion: """
        Reads a backup tree (cti-backup's, or the official connector's minute folders). Each \
        bundle holds the folder's objects, preceded by the objects they reference that are stored \
        only in later folders, as OpenCTI's restore-files connector resolves them. An id stored in \
        several folders is restored once, from the last. Entries of opencti_data that are not \
        bucket folders are reported. Only regular files are read: a FIFO, a device or symbolic \
        link, a file over --max-file-bytes or a name that is not UTF-8 is reported, not restored, \
        and the run exits 1. With --state, the last folder written is remembered and a rerun goes \
        on after it; into a pipe, the position travels as checkpoints that the last tool commits \
        (give it the same --state).

        Example:
          cti-backup restore --state r.json /backup | cti-push --state r.json
        """
    )

    @OptionGroup var location: BackupLocation

    @Option(help: ArgumentHelp("Remember the last folder written here ({\"current\": …}) and resume after it.", valueName: "file"))
    var state: String?

    @Option(
      help: ArgumentHelp(
        "Skip, with an error, files larger than this, e.g. 512M (env CTI_MAX_FILE_BYTES; default 256M).", valueName: "size"))
    var maxFileBytes: String?

    @OptionGroup var sourceState: SourceStateOptions

    @OptionGroup var common: CommonOptions

    func run() throws {
      try ToolMain.run(tool: "cti-backup") {
        let configuration = try common.configuration()
        let diagnostics = try common.diagnostics(tool: "cti-backup", configuration: configuration)
        let path = try location.resolve(configuration)
        let limit = try configuration.byteCount(
          InputLimitKeys.maxFileBytes, flag: maxFileBytes, default: FileSystem.defaultMaxFileBytes)
        let output = RecordWriter()
        let sourceState = try SourceState(
          path: state, tool: "cti-backup", output: output, commitOnWrite: sourceState.commitOnWrite)
        let run = try RestoreRun(path: path, state: sourceState, diagnostics: diagnostics, maxFileBytes: limit)
        try run.restore(to: output)
        sourceState.finish(logger: diagnostics.logger)
        if !common.quiet { diagnostics.logger.info("\(run.summary)") }
        return diagnostics.finalStatus
      }
    }
  }
}
