/// The settings cti-backup reads, with the official backup-files connector's names.
package enum BackupKeys {
  package static let path = Setting(env: "BACKUP_PATH", key: "backup.path")
  package static let protocolName = Setting(env: "BACKUP_PROTOCOL", key: "backup.protocol")
  package static let bucket = Setting(env: "BACKUP_BUCKET", key: "backup.bucket")
  package static let fsync = Setting(env: "BACKUP_FSYNC", key: "backup.fsync")
}

/// The settings of `cti-backup` (the default `backup` command), resolved once.
package struct BackupSettings: ToolSettings {
  /// What the command line said (nil or false: not given).
  package struct Flags: Sendable, Equatable {
    package var path: String?
    package var protocolName: String?
    package var bucket: String?
    package var fsync: Bool?
    package var input: String?
    /// `--state`: where the input's checkpoints are committed.
    package var state: String?
    package var platform = OpenCTIFlags()
    package var noAttachments = false

    package init() {}
  }

  /// The official connector's folder width is the minute; cti's default is the hour (fewer,
  /// fuller folders), and a backup is not fsynced unless asked.
  package static let defaultBucket = BucketSize.hour
  package static let defaultFsync = false

  package var path: String
  package var bucket: BucketSize
  package var durable: Bool
  /// The platform attachments are fetched from: set when an OpenCTI URL is (and not
  /// `--no-attachments`).
  package var attachments: OpenCTISettings?
  /// The events to apply: this file, or standard input.
  package var input: String?
  package var statePath: String?

  package init(flags: Flags, configuration: Configuration) throws(ConfigError) {
    path = try Self.path(flags.path, protocolName: flags.protocolName, configuration)
    let size = try configuration.choice(
      BackupKeys.bucket, flag: flags.bucket, choices: BucketSize.allCases.map(\.rawValue), default: Self.defaultBucket.rawValue)
    bucket = BucketSize(rawValue: size) ?? Self.defaultBucket
    durable = try configuration.bool(BackupKeys.fsync, flag: flags.fsync, default: Self.defaultFsync)
    if !flags.noAttachments, OpenCTISettings.url(flags.platform, configuration) != nil {
      attachments = try OpenCTISettings(flags: flags.platform, configuration: configuration)
    }
    input = flags.input
    statePath = flags.state
  }

  /// The backup root: PATH, BACKUP_PATH or backup.path; BACKUP_PROTOCOL can only be `local`.
  static func path(_ flag: String?, protocolName: String?, _ configuration: Configuration) throws(ConfigError) -> String {
    _ = try configuration.choice(BackupKeys.protocolName, flag: protocolName, choices: ["local"], default: "local")
    guard let path = configuration.string(BackupKeys.path, flag: flag) else {
      throw ConfigError(
        "no backup path: give PATH (./backup or ./restore for a folder of that name, which alone would be read as a subcommand), or set BACKUP_PATH or backup.path in config.yml")
    }
    return path
  }
}

/// The settings of `cti-backup restore`.
package struct RestoreSettings: ToolSettings {
  /// What the command line said (nil or false: not given).
  package struct Flags: Sendable, Equatable {
    package var path: String?
    package var protocolName: String?
    package var state: String?
    package var maxFileBytes: String?
    package var commitOnWrite = false

    package init() {}
  }

  package var path: String
  /// Remembers the last folder written.
  package var statePath: String?
  /// Larger files are reported, not restored.
  package var maxFileBytes: Int
  package var commitOnWrite: Bool

  package init(flags: Flags, configuration: Configuration) throws(ConfigError) {
    path = try BackupSettings.path(flags.path, protocolName: flags.protocolName, configuration)
    statePath = flags.state
    maxFileBytes = try configuration.byteCount(
      InputLimitKeys.maxFileBytes, flag: flags.maxFileBytes, default: FileSystem.defaultMaxFileBytes)
    commitOnWrite = flags.commitOnWrite
  }
}
