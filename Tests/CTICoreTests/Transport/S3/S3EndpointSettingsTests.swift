import Foundation
import Testing

@testable import CTICore

/// The one S3 endpoint resolution, under pycti's names (cti-diode) and boto3's (cti-misp).
@Suite struct S3EndpointSettingsTests {
  @Test func pyctiNamesWithTheImportersOwnFirst() throws {
    let configuration = Configuration(environment: [
      "DIODE_IMPORT_S3_ENDPOINT": "minio:9000", "S3_ENDPOINT": "other", "S3_ACCESS_KEY": "a", "S3_SECRET_KEY": "s",
      "S3_USE_SSL": "false",
    ])
    let endpoint = try S3Endpoint(keys: .diodeImport, flags: S3Flags(), configuration: configuration)
    #expect(endpoint.host == "minio" && endpoint.port == 9000 && !endpoint.useSSL)
    let exported = try S3Endpoint(keys: .diodeExport, flags: S3Flags(port: 80, useSSL: true), configuration: configuration)
    #expect(exported.host == "other" && exported.port == 80 && exported.useSSL)
  }

  @Test func theToolkitsCABundleCoversS3Too() throws {
    let bundle = NSTemporaryDirectory() + "s3-ca-\(UUID().uuidString).pem"
    try FileSystem.writeAtomically(Array("-----BEGIN CERTIFICATE-----\n".utf8), to: bundle)
    defer { try? FileManager.default.removeItem(atPath: bundle) }
    var environment = ["S3_ENDPOINT": "https://s3.example", "S3_ACCESS_KEY": "a", "S3_SECRET_KEY": "s", "CTI_CA_BUNDLE": bundle]
    let endpoint = try S3Endpoint(keys: .diodeExport, flags: S3Flags(), configuration: Configuration(environment: environment))
    #expect(endpoint.caBundle == bundle && endpoint.httpSettings.caBundle == bundle)
    #expect(S3Client(endpoint: endpoint).httpOptions.caBundle == bundle)
    environment["CTI_CA_BUNDLE"] = "/nonexistent/ca.pem"
    let error = #expect(throws: ConfigError.self) {
      try S3Endpoint(keys: .diodeExport, flags: S3Flags(), configuration: Configuration(environment: environment))
    }
    #expect(error?.exitStatus == .config && error?.message == "CA bundle /nonexistent/ca.pem does not exist")
  }

  @Test func theURLsSchemeDecidesUnlessTheFlagDoes() throws {
    let configuration = Configuration(environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"])
    let plain = try S3Endpoint(keys: MISPKeys.s3, flags: S3Flags(endpoint: "http://h:1"), configuration: configuration)
    #expect(plain.host == "h" && plain.port == 1 && !plain.useSSL)
    let secure = try S3Endpoint(keys: MISPKeys.s3, flags: S3Flags(endpoint: "h"), configuration: configuration)
    #expect(secure.useSSL && secure.port == nil)
    let forced = try S3Endpoint(keys: MISPKeys.s3, flags: S3Flags(endpoint: "http://h", useSSL: true), configuration: configuration)
    #expect(forced.useSSL)
  }

  @Test func keysComeFromTheEnvironmentOnly() {
    #expect(throws: ConfigError.self) {
      try S3Endpoint(keys: .diodeExport, flags: S3Flags(endpoint: "h"), configuration: Configuration(environment: [:]))
    }
    #expect(throws: ConfigError.self) {
      try S3Endpoint(keys: .diodeExport, flags: S3Flags(), configuration: Configuration(environment: ["S3_ACCESS_KEY": "a"]))
    }
  }
}

/// One reading of file, http(s) and s3 locations for every tool.
@Suite struct LocationTests {
  @Test func schemes() throws {
    #expect(try Location("s3://bucket/some/folder") == .s3(S3Location(bucket: "bucket", folder: "/some/folder")))
    #expect(try Location("HTTPS://x/y") == .http("HTTPS://x/y"))
    #expect(try Location("file:///tmp/a") == .path("/tmp/a"))
    #expect(try Location("./outbox") == .path("./outbox"))
    #expect(throws: ConfigError.self) { try Location("s3://") }
    #expect(ServerAddress(parsing: "https://h:9000/") == ServerAddress(host: "h", port: 9000, secure: true))
  }
}
