import Testing

@testable import CTICore

/// `cti-diode export`'s settings with pycti's CONNECTOR_* names.
@Suite struct DiodeExportSettingsTests {
  @Test func aFolderFromTheEnvironmentAndTheConnector() throws {
    let configuration = Configuration(environment: [
      "CONNECTOR_SEND_TO_DIRECTORY_PATH": "/out", "CONNECTOR_ID": "id-1", "CONNECTOR_NAME": "MISP",
      "CONNECTOR_SEND_TO_DIRECTORY_RETENTION": "P1D",
    ])
    let settings = try DiodeExportSettings(flags: DiodeExportSettings.Flags(), configuration: configuration)
    guard case .directory(let folder) = settings.destination else { Issue.record("not a folder"); return }
    #expect(folder == "/out" && !settings.durable)
    #expect(settings.options.connector?.name == "MISP" && settings.options.connector?.type == "EXTERNAL_IMPORT")
    #expect(settings.options.retentionDays == 1)
  }

  @Test func inputIsAFileOrStandardInput() throws {
    var flags = DiodeExportSettings.Flags()
    flags.destination = "/out"
    flags.input = "bundles.ndjson"
    #expect(try DiodeExportSettings(flags: flags, configuration: Configuration(environment: [:])).input == "bundles.ndjson")
    flags.input = "-"
    #expect(try DiodeExportSettings(flags: flags, configuration: Configuration(environment: [:])).input == nil)
  }

  @Test func bothConnectorNamesOrNeither() {
    var flags = DiodeExportSettings.Flags()
    flags.destination = "/out"
    flags.connector.id = "id-1"
    #expect(throws: ConfigError.self) { try DiodeExportSettings(flags: flags, configuration: Configuration(environment: [:])) }
  }

  @Test func nowhereToWriteIsAnError() {
    #expect(throws: ConfigError.self) {
      try DiodeExportSettings(flags: DiodeExportSettings.Flags(), configuration: Configuration(environment: [:]))
    }
  }

  @Test func anS3DestinationUsesItsRetention() throws {
    var flags = DiodeExportSettings.Flags()
    flags.destination = "s3://b/f"
    flags.fsync = true
    flags.s3.endpoint = "h:1"
    let configuration = Configuration(environment: [
      "S3_ACCESS_KEY": "a", "S3_SECRET_KEY": "s", "CONNECTOR_SEND_TO_S3_RETENTION": "2",
      "CONNECTOR_SEND_TO_DIRECTORY_RETENTION": "9",
    ])
    let settings = try DiodeExportSettings(flags: flags, configuration: configuration)
    guard case .s3(let location, let endpoint) = settings.destination else { Issue.record("not s3"); return }
    #expect(location.bucket == "b" && endpoint.port == 1 && settings.durable && settings.options.retentionDays == 2)
  }
}
