import ArgumentParser
import CTICommand
import CTICore

@main
struct CTIBackup: Tool {
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
        cti-stream --input s.sse | cti-backup --bucket minute --durable /backup
        cti-backup restore --state r.json /backup | cti-push --state r.json

      \(ExitStatus.helpSection)
      """,
    version: CTIVersion.current,
    subcommands: [Backup.self, Restore.self],
    defaultSubcommand: Backup.self
  )
}

/// Where the backup lives: the positional PATH, BACKUP_PATH or backup.path.
struct BackupLocation: ParsableArguments {
  @Argument(help: ArgumentHelp("The backup root (env BACKUP_PATH, config backup.path).", valueName: "path"))
  var path: String?

  @Option(help: ArgumentHelp("Storage protocol; only 'local' exists (env BACKUP_PROTOCOL).", valueName: "protocol"))
  var `protocol`: String?
}

extension CTIBackup {
  struct Backup: ToolCommand {
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

    @Option(help: ArgumentHelp("Folder width: hour or minute (env BACKUP_BUCKET; default \(BackupSettings.defaultBucket.rawValue)). 'minute' gives the official connector's folders.", valueName: "size"))
    var bucket: String?

    @Flag(name: .customLong("durable"), inversion: .prefixedNo, help: "fsync each file and folder change (env BACKUP_FSYNC; default \(onOff(BackupSettings.defaultFsync))).")
    var durable: Bool?

    /// The older spelling, as every tool's `--durable` keeps it.
    @Flag(name: .customLong("fsync"), inversion: .prefixedNo, help: .hidden)
    var fsync: Bool?

    @OptionGroup var input: InputOptions

    @OptionGroup var checkpoints: CheckpointOptions

    @OptionGroup(title: "Attachments (fetched when an OpenCTI URL and token are set)")
    var platform: OpenCTIOptions

    @Flag(help: "Do not fetch attachments even when OPENCTI_URL and OPENCTI_TOKEN are set.")
    var noAttachments = false

    @OptionGroup var common: CommonOptions

    func settings(_ configuration: Configuration) throws -> BackupSettings {
      var flags = BackupSettings.Flags()
      flags.path = location.path
      flags.protocolName = location.protocol
      flags.bucket = bucket
      flags.fsync = durable ?? fsync
      flags.input = input.path
      flags.state = checkpoints.path
      flags.platform = platform.flags
      flags.noAttachments = noAttachments
      return try BackupSettings(flags: flags, configuration: configuration)
    }

    func run(_ settings: BackupSettings, _ tool: ToolContext) throws -> ExitStatus {
      let run = try BackupRun(settings: settings, diagnostics: tool.diagnostics)
      tool.summarize { run.runSummary }
      return try run.run(settings)
    }
  }

  struct Restore: ToolCommand {
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

    @OptionGroup var limits: FileLimitOptions

    @OptionGroup var sourceState: SourceStateOptions

    @OptionGroup var common: CommonOptions

    func settings(_ configuration: Configuration) throws -> RestoreSettings {
      var flags = RestoreSettings.Flags()
      flags.path = location.path
      flags.protocolName = location.protocol
      flags.state = state
      flags.maxFileBytes = limits.maxFileBytes
      flags.commitOnWrite = sourceState.commitOnWrite
      return try RestoreSettings(flags: flags, configuration: configuration)
    }

    func run(_ settings: RestoreSettings, _ tool: ToolContext) throws -> ExitStatus {
      let run = try RestoreRun(settings: settings, diagnostics: tool.diagnostics)
      tool.summarize { run.runSummary }
      return try run.run()
    }
  }
}
