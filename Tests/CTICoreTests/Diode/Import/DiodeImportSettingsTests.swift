import Testing

@testable import CTICore

/// `cti-diode import`'s settings with the official diode-import names.
@Suite struct DiodeImportSettingsTests {
  @Test func theOfficialDefaults() throws {
    let settings = try DiodeImportSettings(
      flags: DiodeImportSettings.Flags(), configuration: Configuration(environment: ["DIODE_IMPORT_GET_FROM_DIRECTORY_PATH": "/data"]))
    #expect(settings.directory == "/data" && settings.s3 == nil && settings.push == nil)
    #expect(settings.options.deleteAfterImport && settings.options.retentionDays == 7 && settings.options.settleSeconds == 60)
    #expect(!settings.durableState && !settings.schedule.isPeriodic)
  }

  @Test func retentionIsDaysOrISO8601AndBareNumbersStayDays() throws {
    var flags = DiodeImportSettings.Flags()
    flags.source = "/in"
    flags.retention = "P2D"
    #expect(try DiodeImportSettings(flags: flags, configuration: Configuration(environment: [:])).options.retentionDays == 2)
    flags.retention = "3"
    #expect(try DiodeImportSettings(flags: flags, configuration: Configuration(environment: [:])).options.retentionDays == 3)
    flags.retention = "PT12H"
    #expect(try DiodeImportSettings(flags: flags, configuration: Configuration(environment: [:])).options.retentionDays == 0.5)
    flags.retention = "soon"
    #expect(throws: ConfigError.self) { try DiodeImportSettings(flags: flags, configuration: Configuration(environment: [:])) }
  }

  @Test func anS3SourceAndTheDurableFlag() throws {
    var flags = DiodeImportSettings.Flags()
    flags.source = "s3://diode/connectors"
    flags.fsync = true
    flags.s3 = S3Flags(endpoint: "minio:9000", useSSL: false)
    let settings = try DiodeImportSettings(
      flags: flags, configuration: Configuration(environment: ["S3_ACCESS_KEY": "a", "S3_SECRET_KEY": "s"]))
    #expect(settings.directory == nil && settings.durableState)
    #expect(settings.s3?.location == S3Location(bucket: "diode", folder: "connectors"))
    #expect(settings.s3?.endpoint.host == "minio" && settings.s3?.options.settleSeconds == 0)
  }

  @Test func anHTTPSourceIsRefused() {
    var flags = DiodeImportSettings.Flags()
    flags.source = "https://x"
    #expect(throws: ConfigError.self) { try DiodeImportSettings(flags: flags, configuration: Configuration(environment: [:])) }
  }
}
