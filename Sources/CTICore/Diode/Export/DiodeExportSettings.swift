/// pycti's writer-side settings (send_to_directory, send_to_s3) and cti's own.
package enum DiodeExportKeys {
  package static let directoryPath = Setting(
    env: "CONNECTOR_SEND_TO_DIRECTORY_PATH", key: "connector.send_to_directory_path")
  package static let directoryRetention = Setting(
    env: "CONNECTOR_SEND_TO_DIRECTORY_RETENTION", key: "connector.send_to_directory_retention")
  package static let connectorAuto = Setting(env: "CONNECTOR_AUTO", key: "connector.auto")
  package static let validateBeforeImport = Setting(
    env: "CONNECTOR_VALIDATE_BEFORE_IMPORT", key: "connector.validate_before_import")
  package static let applicantID = Setting(env: "CTI_DIODE_APPLICANT_ID", key: "cti.diode_applicant_id")
  package static let sendToS3 = Setting(env: "CONNECTOR_SEND_TO_S3", key: "connector.send_to_s3")
  package static let s3Bucket = Setting(env: "CONNECTOR_SEND_TO_S3_BUCKET", key: "connector.send_to_s3_bucket")
  package static let s3Folder = Setting(env: "CONNECTOR_SEND_TO_S3_FOLDER", key: "connector.send_to_s3_folder")
  package static let s3Retention = Setting(env: "CONNECTOR_SEND_TO_S3_RETENTION", key: "connector.send_to_s3_retention")
}

/// The settings of `cti-diode export`, with pycti's CONNECTOR_* names.
package struct DiodeExportSettings: ToolSettings {
  /// What the command line said (nil or false: not given).
  package struct Flags: Sendable, Equatable {
    /// A folder or `s3://bucket/folder`.
    package var destination: String?
    package var connector = ConnectorFlags()
    package var connectorAuto: Bool?
    package var validateBeforeImport: Bool?
    package var applicantID: String?
    package var update = false
    /// Days, or an ISO-8601 duration.
    package var retention: String?
    /// `--fsync`: each file and the folder are fsynced.
    package var fsync = false
    /// `--state`: where the input's checkpoints are committed.
    package var state: String?
    /// `--input`: the records to export, instead of standard input (`-`).
    package var input: String?
    package var s3 = S3Flags()

    package init() {}
  }

  /// Where the files go.
  package enum Destination: Sendable {
    case directory(String)
    case s3(S3Location, S3Endpoint)
  }

  /// pycti's defaults: no auto, no validation, no retention.
  package static let defaults = DiodeExporterSettings()

  package var destination: Destination
  package var durable: Bool
  package var options: DiodeExporterSettings
  /// Where the checkpoints of the input are committed.
  package var statePath: String?
  /// The records to export; nil: standard input.
  package var input: String?

  package init(flags: Flags, configuration: Configuration) throws(ConfigError) {
    var retentionSetting = DiodeExportKeys.directoryRetention
    let given = try flags.destination.map { text throws(ConfigError) in (text, try Location(text)) }
    switch given {
    case (_, .s3(let location))?:
      destination = .s3(location, try S3Endpoint(keys: .diodeExport, flags: flags.s3, configuration: configuration))
      retentionSetting = DiodeExportKeys.s3Retention
    case (let text, .http)?:
      throw ConfigError("cti-diode export writes to a folder or s3://bucket/folder, not '\(text)'", fromCommandLine: true)
    case (_, .path(let folder))?:
      destination = .directory(folder)
    case nil:
      if let folder = configuration.string(DiodeExportKeys.directoryPath) {
        destination = .directory(folder)
      } else if try configuration.bool(DiodeExportKeys.sendToS3, default: false),
        let bucket = configuration.string(DiodeExportKeys.s3Bucket)
      {
        let location = S3Location(bucket: bucket, folder: configuration.string(DiodeExportKeys.s3Folder, default: "connectors"))
        destination = .s3(location, try S3Endpoint(keys: .diodeExport, flags: flags.s3, configuration: configuration))
        retentionSetting = DiodeExportKeys.s3Retention
      } else {
        throw ConfigError(
          "nowhere to write: give a folder or s3://bucket/folder, or set CONNECTOR_SEND_TO_DIRECTORY_PATH or CONNECTOR_SEND_TO_S3_BUCKET")
      }
    }
    durable = flags.fsync
    statePath = flags.state
    input = flags.input == "-" ? nil : flags.input
    let defaults = Self.defaults
    let id = configuration.string(ConnectorKeys.id, flag: flags.connector.id)
    let name = configuration.string(ConnectorKeys.name, flag: flags.connector.name)
    var connector: DiodeConnector?
    if let id, let name {
      connector = DiodeConnector(
        id: id, name: name,
        type: configuration.string(ConnectorKeys.type, flag: flags.connector.type, default: ConnectorType.externalImport.rawValue),
        scope: configuration.list(ConnectorKeys.scope, flag: flags.connector.scope),
        auto: try configuration.bool(DiodeExportKeys.connectorAuto, flag: flags.connectorAuto, default: false),
        validateBeforeImport: try configuration.bool(
          DiodeExportKeys.validateBeforeImport, flag: flags.validateBeforeImport, default: false))
    } else if id != nil || name != nil {
      throw ConfigError("set both the connector id and name (CONNECTOR_ID, CONNECTOR_NAME), or neither")
    }
    options = DiodeExporterSettings(
      connector: connector, applicantID: configuration.string(DiodeExportKeys.applicantID, flag: flags.applicantID),
      update: flags.update,
      retentionDays: try configuration.days(retentionSetting, flag: flags.retention, default: defaults.retentionDays))
  }
}
