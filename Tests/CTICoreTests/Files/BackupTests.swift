import Foundation
import Logging
import Testing

@testable import CTICore

func event(_ name: String, id: String, createdAt: String? = "2024-01-15T14:00:29.412Z", extra: String = "") -> Line {
  let ext = createdAt.map { #","extensions":{"extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba":{"created_at":"\#($0)"}}"# } ?? ""
  let text = #"{"id":"1-0","event":"\#(name)","data":{"id":"\#(id)","type":"indicator","created":"2020-01-01T00:00:00Z"\#(ext)}\#(extra)}"#
  return Line(number: 1, bytes: Array(text.utf8))
}

let indicatorA = "indicator--c2ec1f5e-0000-4000-8000-00000000000a"
let indicatorB = "indicator--c2ec1f5e-0000-4000-8000-00000000000b"

@Suite struct BucketTests {
  /// The official connector's round_time examples (reference §E), and the hour variant.
  @Test(arguments: [
    ("2024-01-15T14:00:29.999Z", BucketSize.minute, "20240115T140000Z"),
    ("2024-01-15T14:00:30Z", .minute, "20240115T140100Z"),
    ("2024-01-15T23:59:45Z", .minute, "20240116T000000Z"),
    ("2024-01-15T16:00:30+02:00", .minute, "20240115T140100Z"),
    ("2024-01-15T14:29:59.9Z", .hour, "20240115T140000Z"),
    ("2024-01-15T14:30:00Z", .hour, "20240115T150000Z"),
    ("2024-12-31T23:45:00Z", .hour, "20250101T000000Z"),
    // Out of the years a folder name can spell: clamped to the first or last folder (issue 11).
    ("9999-12-31T23:59:29Z", .minute, "99991231T235900Z"),
    ("9999-12-31T23:59:59Z", .minute, "99991231T235900Z"),
    ("9999-12-31T23:59:59Z", .hour, "99991231T230000Z"),
    ("9999-12-31T22:30:00Z", .hour, "99991231T230000Z"),
    ("0000-01-01T00:00:00+01:00", .minute, "00000101T000000Z"),
    ("0000-01-01T00:00:00+01:00", .hour, "00000101T000000Z"),
    ("0000-01-01T00:00:31Z", .minute, "00000101T000100Z"),
  ])
  func foldersAreNamedByTheRoundedUTCTime(createdAt: String, size: BucketSize, folder: String) throws {
    #expect(size.folderName(for: try #require(ISO8601.parse(createdAt))) == folder)
    #expect(BackupTree.isBucketName(folder), "restore reads every folder the writer makes")
  }

  @Test func filingDatesFallBackToStableDatesButNeverToModified() throws {
    func date(_ json: String) throws -> (String, String)? {
      try BackupTree.filingDate(of: try RawObject(Array(json.utf8))).map { (ISO8601.format($0.instant), $0.field) }
    }
    #expect(try date(#"{"created":"2024-01-02T00:00:00Z","first_observed":"2020-01-01T00:00:00Z"}"#)! == ("2024-01-02T00:00:00.000Z", "created"))
    #expect(try date(#"{"type":"observed-data","first_observed":"2020-02-25T09:02:29.040Z","modified":"2024-01-01T00:00:00Z"}"#)! == ("2020-02-25T09:02:29.040Z", "first_observed"))
    #expect(try date(#"{"type":"ipv4-addr","value":"198.51.100.7"}"#) == nil)
    #expect(try date(#"{"type":"x-mitre-asset","modified":"2024-01-01T00:00:00Z"}"#) == nil)
    #expect(throws: BackupError.self) { try date(#"{"created":"soon","first_observed":"2020-01-01T00:00:00Z"}"#) }
  }

  @Test func creationTimeFallsBackLikeTheOfficialConnector() throws {
    func created(_ json: String) throws -> String? { BackupTree.creationTime(of: try RawObject(Array(json.utf8))) }
    #expect(try created(#"{"created_at":"top","extensions":{"extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82":{"created_at":"sco"}}}"#) == "sco")
    #expect(try created(#"{"created_at":"top","created":"stix"}"#) == "top")
    #expect(try created(#"{"created":"stix"}"#) == "stix")
    #expect(try created(#"{"id":"x"}"#) == nil)
  }

  @Test func bucketNames() {
    #expect(BackupTree.isBucketName("20240115T140000Z"))
    #expect(!BackupTree.isBucketName("20241315T140000Z"))
    #expect(!BackupTree.isBucketName("20240115T140000"))
    #expect(!BackupTree.isBucketName("notes"))
  }
}

@Suite struct BackupWriterTests {
  func writer(_ size: BucketSize = .hour) throws -> (BackupWriter, String) {
    let root = try temporaryDirectory()
    return (try BackupWriter(path: root, bucket: size, durable: false), root)
  }

  @Test func createUpdateDeleteMergeKeepTheTreeCurrent() throws {
    let (writer, root) = try writer()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let folder = root + "/opencti_data/20240115T140000Z"
    #expect(try writer.apply(Record(event("create", id: indicatorA))) == .written)
    #expect(try writer.apply(Record(event("create", id: indicatorB))) == .written)
    let file = try String(decoding: FileSystem.read(folder + "/\(indicatorA).json"), as: UTF8.self)
    #expect(file.hasPrefix(#"{"type":"bundle","objects":[{"id":"\#(indicatorA)""#))
    #expect(try writer.apply(Record(event("update", id: indicatorA, extra: #","context":{}"#))) == .written)

    let merge = event(
      "merge", id: indicatorA,
      extra: #","context":{"sources":[{"id":"\#(indicatorB)","created":"2020-01-01T00:00:00Z","extensions":{"extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba":{"created_at":"2024-01-15T14:00:29.412Z"}}}]}"#)
    #expect(try writer.apply(Record(merge)) == .merged(sourcesRemoved: 1))
    #expect(try FileSystem.list(folder) == ["\(indicatorA).json"])

    #expect(try writer.apply(Record(event("delete", id: indicatorA))) == .deleted(found: true))
    #expect(!FileSystem.exists(folder))
    #expect(try writer.apply(Record(event("delete", id: indicatorA))) == .deleted(found: false))
    #expect(try writer.apply(Record(event("heartbeat", id: indicatorA))) == .ignored(event: "heartbeat"))
    #expect(writer.counts.written == 3)
    #expect(writer.counts.foldersCreated == 1)
    #expect(writer.counts.foldersRemoved == 1)
  }

  @Test func bundlesEnvelopesAndBareObjectsAreStoredAsCreations() throws {
    let (writer, root) = try writer()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let object = { (id: String) in #"{"id":"\#(id)","type":"indicator","created":"2024-01-15T14:00:29Z"}"# }
    let lines = [
      #"{"type":"bundle","objects":[\#(object(indicatorA))]}"#,
      #"{"bundle_type":"DIRECTORY_BUNDLE","applicant_id":null,"connector":{"id":"c"},"bundle":{"type":"bundle","objects":[\#(object(indicatorB))]}}"#,
      object("indicator--c2ec1f5e-0000-4000-8000-00000000000c"),
    ]
    for line in lines { #expect(try writer.apply(Record(Line(number: 1, bytes: Array(line.utf8)))) == .written) }
    #expect(try FileSystem.list(root + "/opencti_data/20240115T140000Z").count == 3)
    #expect(throws: BackupObjectError.self) {
      try writer.apply(Record(Line(number: 1, bytes: Array(#"{"type":"bundle","objects":[1]}"#.utf8))))
    }
  }

  @Test func refusesUnsafeIdsAndMissingDates() throws {
    let (writer, root) = try writer()
    defer { try? FileManager.default.removeItem(atPath: root) }
    #expect(throws: BackupError.self) { try writer.apply(Record(event("create", id: "../../etc/passwd--x"))) }
    #expect(throws: BackupError.self) { try writer.apply(Record(event("create", id: indicatorA, createdAt: "soon"))) }
    #expect(try FileSystem.list(root + "/opencti_data").isEmpty)
  }

  @Test func aMissingBackupPathIsCreatedAndAFileIsRefused() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let writer = try BackupWriter(path: root + "/new/backup", bucket: .hour, durable: true)
    #expect(writer.opening.createdRoot)
    #expect(FileSystem.isDirectory(root + "/new/backup/opencti_data"))
    #expect(try !BackupWriter(path: root + "/new/backup", bucket: .hour, durable: false).opening.createdRoot)

    try FileSystem.writeAtomically(Array("x".utf8), to: root + "/file")
    #expect(throws: NotAFolderError(root + "/file", role: "backup path")) {
      try BackupWriter(path: root + "/file", bucket: .hour, durable: false)
    }
    #expect(NotAFolderError("/x", role: "backup path").exitStatus == .noInput)
    #expect(throws: NotAFolderError.self) { try BackupRestore(path: root + "/file") }
  }
}
