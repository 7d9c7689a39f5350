import Testing

@testable import CTICore

/// cti-backup's settings with the backup-files connector's BACKUP_* names.
@Suite struct BackupSettingsTests {
  @Test func defaultsAndTheDurableSwitch() throws {
    var flags = BackupSettings.Flags()
    flags.path = "/b"
    let plain = try BackupSettings(flags: flags, configuration: Configuration(environment: [:]))
    #expect(plain.path == "/b" && plain.bucket == .hour && !plain.durable && plain.attachments == nil)
    let fromEnvironment = try BackupSettings(flags: flags, configuration: Configuration(environment: ["BACKUP_FSYNC": "true"]))
    #expect(fromEnvironment.durable)
    flags.fsync = false
    #expect(!(try BackupSettings(flags: flags, configuration: Configuration(environment: ["BACKUP_FSYNC": "true"])).durable))
  }

  @Test func attachmentsWhenAPlatformIsSet() throws {
    var flags = BackupSettings.Flags()
    let configuration = Configuration(environment: ["BACKUP_PATH": "/b", "OPENCTI_URL": "http://o", "BACKUP_BUCKET": "minute"])
    let settings = try BackupSettings(flags: flags, configuration: configuration)
    #expect(settings.attachments?.url == "http://o" && settings.bucket == .minute)
    flags.noAttachments = true
    #expect(try BackupSettings(flags: flags, configuration: configuration).attachments == nil)
  }

  @Test func aPathIsNeededAndOnlyLocalStorage() {
    #expect(throws: ConfigError.self) { try BackupSettings(flags: BackupSettings.Flags(), configuration: Configuration(environment: [:])) }
    #expect(throws: ConfigError.self) {
      try BackupSettings(flags: BackupSettings.Flags(), configuration: Configuration(environment: ["BACKUP_PATH": "/b", "BACKUP_PROTOCOL": "s3"]))
    }
  }
}

/// `cti-backup restore`'s settings.
@Suite struct RestoreSettingsTests {
  @Test func theBackupPathAndTheFileLimit() throws {
    let settings = try RestoreSettings(
      flags: RestoreSettings.Flags(), configuration: Configuration(environment: ["BACKUP_PATH": "/b", "CTI_MAX_FILE_BYTES": "1M"]))
    #expect(settings.path == "/b" && settings.maxFileBytes == 1 << 20 && !settings.commitOnWrite && settings.statePath == nil)
    var flags = RestoreSettings.Flags()
    flags.path = "/c"
    flags.maxFileBytes = "4K"
    flags.state = "r.json"
    let given = try RestoreSettings(flags: flags, configuration: Configuration(environment: ["BACKUP_PATH": "/b"]))
    #expect(given.path == "/c" && given.maxFileBytes == 4096 && given.statePath == "r.json")
    #expect(try RestoreSettings(flags: RestoreSettings.Flags(), configuration: Configuration(environment: ["BACKUP_PATH": "/b"])).maxFileBytes
      == FileSystem.defaultMaxFileBytes)
  }
}
