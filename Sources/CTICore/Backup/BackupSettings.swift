/// The settings cti-backup reads, with the official backup-files connector's names.
public enum BackupKeys {
  public static let path = Setting(env: "BACKUP_PATH", key: "backup.path")
  public static let protocolName = Setting(env: "BACKUP_PROTOCOL", key: "backup.protocol")
  public static let bucket = Setting(env: "BACKUP_BUCKET", key: "backup.bucket")
  public static let fsync = Setting(env: "BACKUP_FSYNC", key: "backup.fsync")
}

/// The settings of `cti-backup` (the default `backup` command), resolved once.
public struct BackupSettings: ToolSettings {
  /// What the command line said (nil or false: not given).
  public struct Flags: Sendable, Equatable {
    public var path: String?
    public var protocolName: String?
    public var bucket: String?
    public var fsync: Bool?
    public var input: String?
    /// `--state`: where the input's checkpoints are committed.
    public var state: String?
    public var platform = OpenCTIFlags()
    public var noAttachments = false

    public init() {}
  }

  /// The official connector's folder width is the minute; cti's default is the hour (fewer,
  /// fuller folders), and a backup is not fsynced unless asked.
  public static let defaultBucket = BucketSize.hour
  public static let defaultFsync = false

  public var path: String
  public var bucket: BucketSize
  public var durable: Bool
  /// The platform attachments are fetched from: set when an OpenCTI URL is (and not
  /// `--no-attachments`).
  public var attachments: OpenCTISettings?
  /// The events to apply: this file, or standard input.
  public var input: String?
  public var statePath: String?

  public init(flags: Flags, configuration: Configuration) throws(ConfigError) {
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
      throw ConfigError("no backup path: give PATH, or set BACKUP_PATH or backup.path in config.yml")
    }
    return path
  }
}

/// The settings of `cti-backup restore`.
public struct RestoreSettings: ToolSettings {
  /// What the command line said (nil or false: not given).
  public struct Flags: Sendable, Equatable {
    public var path: String?
    public var protocolName: String?
    public var state: String?
    public var maxFileBytes: String?
    public var commitOnWrite = false

    public init() {}
  }

  public var path: String
  /// Remembers the last folder written.
  public var statePath: String?
  /// Larger files are reported, not restored.
  public var maxFileBytes: Int
  public var commitOnWrite: Bool

  public init(flags: Flags, configuration: Configuration) throws(ConfigError) {
    path = try BackupSettings.path(flags.path, protocolName: flags.protocolName, configuration)
    statePath = flags.state
    maxFileBytes = try configuration.byteCount(
      InputLimitKeys.maxFileBytes, flag: flags.maxFileBytes, default: FileSystem.defaultMaxFileBytes)
    commitOnWrite = flags.commitOnWrite
  }
}
