/// The official diode-import connector's settings (and cti's own CTI_DIODE_IMPORT_*).
package enum DiodeImportKeys {
  package static let getFromDirectory = Setting(env: "DIODE_IMPORT_GET_FROM_DIRECTORY", key: "diode_import.get_from_directory")
  package static let directoryPath = Setting(
    env: "DIODE_IMPORT_GET_FROM_DIRECTORY_PATH", key: "diode_import.get_from_directory_path")
  package static let directoryRetention = Setting(
    env: "DIODE_IMPORT_GET_FROM_DIRECTORY_RETENTION", key: "diode_import.get_from_directory_retention")
  package static let deleteAfterImport = Setting(
    env: "DIODE_IMPORT_DELETE_AFTER_IMPORT", key: "diode_import.delete_after_import")
  package static let applicantMappings = Setting(
    env: "DIODE_IMPORT_APPLICANT_MAPPINGS", key: "diode_import.applicant_mappings")
  package static let stateFile = Setting(env: "CTI_DIODE_IMPORT_STATE", key: "cti.diode_import_state")
  package static let getFromS3 = Setting(env: "DIODE_IMPORT_GET_FROM_S3", key: "diode_import.get_from_s3")
  package static let s3Bucket = Setting(
    env: "DIODE_IMPORT_GET_FROM_S3_BUCKET", "CONNECTOR_SEND_TO_S3_BUCKET", key: "diode_import.get_from_s3_bucket")
  package static let s3Folder = Setting(env: "DIODE_IMPORT_GET_FROM_S3_FOLDER", key: "diode_import.get_from_s3_folder")
  package static let s3Retention = Setting(env: "DIODE_IMPORT_GET_FROM_S3_RETENTION", key: "diode_import.get_from_s3_retention")
  /// `CTI_DIODE_IMPORT_PUSH`: push instead of writing envelopes to stdout (the official
  /// importer always pushes, so a docker-compose block can turn it on without a flag).
  package static let push = Setting(env: "CTI_DIODE_IMPORT_PUSH", key: "cti.diode_import_push")
}

/// The settings of `cti-diode import`, resolved flag > environment > config.yml > default with
/// the official diode-import names.
package struct DiodeImportSettings: ToolSettings {
  /// What the command line said (nil: not given).
  package struct Flags: Sendable, Equatable {
    /// A folder or `s3://bucket/folder`.
    package var source: String?
    package var state: String?
    package var deleteAfterImport: Bool?
    /// Days, or an ISO-8601 duration.
    package var retention: String?
    package var interval: String?
    package var applicantMappings: String?
    package var settle: String?
    /// `--fsync`: the state journal is fsynced after each file.
    package var fsync = false
    /// `--push`: push each file to OpenCTI instead of writing it to stdout.
    package var push: Bool?
    /// `--max-file-bytes`, as given.
    package var maxFileBytes: String?
    package var commitOnWrite = false
    /// Read with `--push` only.
    package var opencti = OpenCTIFlags()
    package var s3 = S3Flags()

    package init() {}
  }

  /// The official importer's defaults: 7 days of retention, deletion after import, and a pass
  /// every 60 s when it does not run and terminate; a file still being copied settles for 60 s.
  package static let defaults = DiodeImporterSettings(deleteAfterImport: true, retentionDays: 7, settleSeconds: 60)
  package static let defaultPeriod = 60.0

  /// Write the state journal even when stdout is a pipe (no checkpoints), and delete files once
  /// their envelopes are written.
  package var commitOnWrite = false
  /// The folder to read, if any.
  package var directory: String?
  /// The bucket and prefix to read, if any, with the endpoint.
  package var s3: (location: S3Location, endpoint: S3Endpoint, options: DiodeImporterSettings)?
  package var statePath: String?
  package var durableState: Bool
  package var options: DiodeImporterSettings
  /// One pass, or a pass every period (`--interval`, CONNECTOR_DURATION_PERIOD, or 60 s with
  /// CONNECTOR_RUN_AND_TERMINATE=false as the official importer).
  package var schedule: Schedule
  /// Deprecation notes and unreadable mapping entries met while resolving.
  package var warnings: [String] = []
  /// nil: applicant ids pass through unchanged.
  package var mappings: ApplicantMap?
  /// Set with `--push`: where each file is pushed instead of being written to stdout.
  package var push: DiodePushSettings?
  /// Larger files (and S3 objects) are refused unread and quarantined.
  package var maxFileBytes = FileSystem.defaultMaxFileBytes

  /// The platform (`flags.opencti`) is only read with `--push`.
  package init(flags: Flags, configuration: Configuration) throws(ConfigError) {
    var s3Location: S3Location?
    if let source = flags.source {
      switch try Location(source) {
      case .s3(let location): s3Location = location
      case .path(let path): directory = path
      case .http:
        throw ConfigError("cti-diode import reads a folder or s3://bucket/folder, not '\(source)'", fromCommandLine: true)
      }
    } else {
      if try configuration.bool(DiodeImportKeys.getFromDirectory, default: true) {
        directory = configuration.string(DiodeImportKeys.directoryPath)
      }
      if try configuration.bool(DiodeImportKeys.getFromS3, default: false) {
        guard let bucket = configuration.string(DiodeImportKeys.s3Bucket) else {
          throw ConfigError("DIODE_IMPORT_GET_FROM_S3 is on but no bucket is set (DIODE_IMPORT_GET_FROM_S3_BUCKET)")
        }
        s3Location = S3Location(bucket: bucket, folder: configuration.string(DiodeImportKeys.s3Folder, default: "connectors"))
      }
    }
    commitOnWrite = flags.commitOnWrite
    statePath = configuration.string(DiodeImportKeys.stateFile, flag: flags.state)
    durableState = flags.fsync
    maxFileBytes = try configuration.byteCount(
      InputLimitKeys.maxFileBytes, flag: flags.maxFileBytes, default: FileSystem.defaultMaxFileBytes)
    let defaults = Self.defaults
    let retention = try configuration.days(
      DiodeImportKeys.directoryRetention, flag: flags.retention, default: defaults.retentionDays)
    let settle = try configuration.duration(Setting(), flag: flags.settle, default: defaults.settleSeconds) ?? defaults.settleSeconds
    options = DiodeImporterSettings(
      deleteAfterImport: try configuration.bool(
        DiodeImportKeys.deleteAfterImport, flag: flags.deleteAfterImport, default: defaults.deleteAfterImport),
      retentionDays: retention, settleSeconds: settle)
    if let text = configuration.string(DiodeImportKeys.applicantMappings, flag: flags.applicantMappings) {
      mappings = ApplicantMap(parsing: text, warnings: &warnings)
    }
    schedule = try Schedule.resolve(
      configuration, interval: flags.interval, loopingDefault: Self.defaultPeriod, warnings: &warnings)
    if try configuration.bool(DiodeImportKeys.push, flag: flags.push, default: false) {
      push = try DiodePushSettings(flags: flags.opencti, configuration: configuration, applicants: mappings)
    }
    if let s3Location {
      var s3Options = options
      s3Options.retentionDays = try configuration.days(
        DiodeImportKeys.s3Retention, flag: flags.retention, default: defaults.retentionDays)
      // S3 puts are atomic: an object never shows half written.
      s3Options.settleSeconds = 0
      s3 = (s3Location, try S3Endpoint(keys: .diodeImport, flags: flags.s3, configuration: configuration), s3Options)
    }
  }
}
