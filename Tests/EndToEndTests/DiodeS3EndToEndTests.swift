import CTICore
import CTITestSupport
import Foundation
import Testing

/// cti-diode on an S3 bucket (moto on 127.0.0.1, signatures checked), run as built.
@Suite(.serialized) struct DiodeS3EndToEndTests {
  /// pycti's writer-side names for the connection.
  static func writerEnvironment(_ moto: MotoS3, secret: String? = nil) -> [String: String] {
    [
      "S3_ENDPOINT": "127.0.0.1", "S3_PORT": String(moto.port), "S3_USE_SSL": "false", "S3_ACCESS_KEY": moto.accessKey,
      "S3_SECRET_KEY": secret ?? moto.secretKey, "CONNECTOR_ID": "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c",
      "CONNECTOR_NAME": "S3 Trip",
    ]
  }

  /// diode-import's own names.
  static func importerEnvironment(_ moto: MotoS3, bucket: String, secret: String? = nil) -> [String: String] {
    [
      "DIODE_IMPORT_GET_FROM_DIRECTORY": "false", "DIODE_IMPORT_GET_FROM_S3": "true", "DIODE_IMPORT_GET_FROM_S3_BUCKET": bucket,
      "DIODE_IMPORT_S3_ENDPOINT": "http://127.0.0.1:\(moto.port)", "DIODE_IMPORT_S3_ACCESS_KEY": moto.accessKey,
      "DIODE_IMPORT_S3_SECRET_KEY": secret ?? moto.secretKey,
    ]
  }

  static func bundle(_ name: String) -> String {
    #"{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[{"type":"identity","id":"identity--00000000-0000-4000-8000-000000000001","name":"\#(name)"}]}"#
  }

  static func names(_ lines: [String]) throws -> [String] {
    try lines.map { try JSONParser.parse($0)["bundle"]?["objects"]?.arrayValue?.first?["name"]?.stringValue ?? "?" }
  }

  @Test func exportToABucketThenImportFromIt() throws {
    let moto = try MotoS3.shared()
    let client = S3Client(endpoint: moto.endpoint())
    let bucket = try moto.freshBucket(client)
    let input = ["one", "two", "three"].map(Self.bundle).joined(separator: "\n") + "\n"
    let exported = try ToolRunner.run(
      "cti-diode", ["export", "s3://\(bucket)/connectors/"], stdin: Array(input.utf8), environment: Self.writerEnvironment(moto))
    #expect(exported.status == 0, "\(exported.stderr)")
    let objects = try client.listObjects(bucket: bucket, prefix: "")
    #expect(objects.count == 3)
    #expect(objects.allSatisfy { $0.key.hasPrefix("connectors/s3_trip-") && $0.key.hasSuffix(".json") })
    let first = try JSONParser.parse(try client.getObject(bucket: bucket, key: objects[0].key))
    #expect(first["bundle_type"] == "S3_BUNDLE")
    // The official names, with the folder given the way users write it.
    var environment = Self.importerEnvironment(moto, bucket: bucket)
    environment["DIODE_IMPORT_GET_FROM_S3_FOLDER"] = "/connectors/"
    let imported = try ToolRunner.run("cti-diode", ["import"], environment: environment)
    #expect(imported.status == 0, "\(imported.stderr)")
    // Equal LastModified seconds are ordered by key, whose epoch part increases.
    #expect(try Self.names(imported.stdoutLines) == ["one", "two", "three"])
    #expect(try client.listObjects(bucket: bucket, prefix: "").isEmpty, "delete-after-import is on by default")
  }

  @Test func stateKeepsLateAndReuploadedObjectsExactlyOnce() throws {
    let moto = try MotoS3.shared()
    let client = S3Client(endpoint: moto.endpoint())
    let bucket = try moto.freshBucket(client)
    let state = try TemporaryFolder()
    let arguments = ["import", "s3://\(bucket)/connectors", "--state", state.path + "/s3.state", "--no-delete-after-import"]
    let environment = Self.importerEnvironment(moto, bucket: bucket)
    let pycti = String(decoding: try Data(contentsOf: try #require(Bundle.module.url(
      forResource: "Fixtures/diode/lab_feed-20240611-090000-1718096400.5.json", withExtension: nil))), as: UTF8.self)
    try client.putObject(bucket: bucket, key: "connectors/lab_feed-1.json", body: Array(pycti.utf8))
    var result = try ToolRunner.run("cti-diode", arguments, environment: environment)
    #expect(result.stdoutLines == [pycti])
    // Within the same second (same LastModified): the official importer would skip it.
    try client.putObject(bucket: bucket, key: "connectors/sub/late.json", body: Array(try DiodeFileFormat.content(
      bundle: JSONParser.parse(Self.bundle("late")), connector: DiodeFileFormat.connectorValue(DiodeConnector(id: "x", name: "y")),
      applicantID: nil, bundleType: .s3)))
    result = try ToolRunner.run("cti-diode", arguments, environment: environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try Self.names(result.stdoutLines) == ["late"])
    result = try ToolRunner.run("cti-diode", arguments, environment: environment)
    #expect(result.stdoutLines.isEmpty)
    #expect(result.stderr.contains("2 already imported"))
  }

  @Test func invalidObjectsAreMovedUnderRejected() throws {
    let moto = try MotoS3.shared()
    let client = S3Client(endpoint: moto.endpoint())
    let bucket = try moto.freshBucket(client)
    try client.putObject(bucket: bucket, key: "connectors/bad.json", body: Array("{\"bundle\": {}}".utf8))
    let result = try ToolRunner.run("cti-diode", ["import", "s3://\(bucket)/connectors"], environment: Self.importerEnvironment(moto, bucket: bucket))
    #expect(result.status == ExitStatus.partial.rawValue, "\(result.stderr)")
    #expect(result.stderr.contains("no \"connector\" key"))
    let keys = try client.listObjects(bucket: bucket, prefix: "").map(\.key).sorted()
    #expect(keys == ["connectors/rejected/bad.json", "connectors/rejected/bad.json.reason"])
    #expect(try client.getObject(bucket: bucket, key: "connectors/rejected/bad.json") == Array("{\"bundle\": {}}".utf8))
    // The quarantine is not read again.
    let again = try ToolRunner.run("cti-diode", ["import", "s3://\(bucket)/connectors"], environment: Self.importerEnvironment(moto, bucket: bucket))
    #expect(again.status == 0)
    #expect(again.stderr.contains("imported 0 files"))
  }

  @Test func anObjectOverTheLimitIsMovedUnderRejectedUnread() throws {
    let moto = try MotoS3.shared()
    let client = S3Client(endpoint: moto.endpoint())
    let bucket = try moto.freshBucket(client)
    let big = Array(("{\"padding\":\"" + String(repeating: "x", count: 5000) + "\"}").utf8)
    try client.putObject(bucket: bucket, key: "connectors/big file.json", body: big)
    try client.putObject(bucket: bucket, key: "connectors/small.json", body: Array("{\"bundle\": {}}".utf8))
    let result = try ToolRunner.run(
      "cti-diode", ["import", "s3://\(bucket)/connectors", "--max-file-bytes", "4K"], environment: Self.importerEnvironment(moto, bucket: bucket))
    #expect(result.status == ExitStatus.partial.rawValue, "\(result.stderr)")
    #expect(result.stderr.contains("over the limit of 4096"), "\(result.stderr)")
    let keys = try client.listObjects(bucket: bucket, prefix: "").map(\.key).sorted()
    #expect(keys.contains("connectors/rejected/big file.json") && keys.contains("connectors/rejected/big file.json.reason"), "\(keys)")
    #expect(!keys.contains("connectors/big file.json"), "\(keys)")
    #expect(try client.getObject(bucket: bucket, key: "connectors/rejected/big file.json") == big)
  }

  @Test func theCABundleSettingCoversTheBucket() throws {
    let moto = try MotoS3.shared()
    var environment = Self.importerEnvironment(moto, bucket: "any")
    environment["CTI_CA_BUNDLE"] = "/nonexistent/ca.pem"
    let result = try ToolRunner.run("cti-diode", ["import", "s3://any/connectors"], environment: environment)
    #expect(result.status == 78 && result.stderr.contains("CA bundle /nonexistent/ca.pem does not exist"), "\(result.stderr)")
  }

  @Test func aWrongSecretFailsWithTheS3Code() throws {
    let moto = try MotoS3.shared()
    let client = S3Client(endpoint: moto.endpoint())
    let bucket = try moto.freshBucket(client)
    let result = try ToolRunner.run(
      "cti-diode", ["import", "s3://\(bucket)/connectors"], environment: Self.importerEnvironment(moto, bucket: bucket, secret: "wrong"))
    #expect(result.status == ExitStatus.noPermission.rawValue)
    #expect(result.stderr.contains("SignatureDoesNotMatch"))
    let export = try ToolRunner.run(
      "cti-diode", ["export", "s3://\(bucket)/connectors"], stdin: Array((Self.bundle("x") + "\n").utf8),
      environment: Self.writerEnvironment(moto, secret: "wrong"))
    #expect(export.status == ExitStatus.noPermission.rawValue)
    #expect(try client.listObjects(bucket: bucket, prefix: "").isEmpty)
  }
}
