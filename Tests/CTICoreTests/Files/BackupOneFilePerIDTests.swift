import Foundation
import Testing

@testable import CTICore

private let platformExtension = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"

private func line(_ text: String, _ number: Int = 1) -> Line {
  Line(number: number, bytes: Array(text.utf8))
}

/// A stream event whose data is `data` (raw JSON), with the stream id `streamID`.
private func eventLine(_ name: String, streamID: String = "1705327229123-0", data: String) -> Line {
  line(#"{"id":"\#(streamID)","event":"\#(name)","data":\#(data)}"#)
}

private func indicator(_ id: String, createdAt: String) -> String {
  #"{"id":"\#(id)","type":"indicator","created":"2020-01-01T00:00:00Z","extensions":{"\#(platformExtension)":{"created_at":"\#(createdAt)"}}}"#
}

/// Every file of the tree as `<bucket>/<name>`, sorted.
private func treeFiles(_ root: String) throws -> [String] {
  let data = root + "/opencti_data"
  return try FileSystem.list(data).sorted().flatMap { bucket in
    try FileSystem.list(data + "/" + bucket).sorted().map { bucket + "/" + $0 }
  }
}

@Suite struct BackupIndexTests {
  @Test func holdsIdsCompactlyOrAsStringsAndForgetsThem() {
    var index = BackupIndex()
    let first = index.bucketNumber("20240115T140000Z")
    let second = index.bucketNumber("20240115T150000Z")
    #expect(index.bucketNumber("20240115T140000Z") == first)
    let lower = "indicator--c2ec1f5e-0000-4000-8000-00000000000a"
    let upper = "indicator--C2EC1F5E-0000-4000-8000-00000000000A"
    #expect(index.bucket(of: lower) == nil, "a type never seen has no entry")
    #expect(index.set(lower, bucket: first) == nil)
    #expect(index.set(upper, bucket: second) == nil)
    #expect(index.set("x-mitre-asset--c2ec1f5e-0000-4000-8000-00000000000a", bucket: second) == nil)
    #expect(index.bucket(of: lower) == first)
    #expect(index.bucket(of: upper) == second, "upper-case uuids are other file names")
    #expect(index.bucket(of: "malware--c2ec1f5e-0000-4000-8000-00000000000a") == nil, "the type is part of the key")
    #expect(index.set(lower, bucket: second) == first)
    #expect(index.count == 3)
    #expect(index.remove(lower) == second)
    #expect(index.remove(lower) == nil)
    #expect(index.count == 2)
  }
}

@Suite struct BackupFilingTests {
  /// A writer whose clock reads 2024-03-01T12:00:00Z and that collects the objects it reports.
  final class Harness {
    let root: String
    let writer: BackupWriter
    var problems: [BackupObjectError] = []

    init(_ size: BucketSize = .hour, root: String? = nil) throws {
      self.root = try root ?? temporaryDirectory()
      writer = try BackupWriter(path: self.root, bucket: size, durable: false)
      writer.clock = { ISO8601.parse("2024-03-01T12:00:00Z")! }
      writer.objectProblem = { [unowned self] in self.problems.append($0) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func apply(_ line: Line) throws -> BackupOutcome { try writer.apply(Record(line)) }
  }

  @Test func everyObjectOfABundleIsWrittenOrReportedAndUndatedOnesAreFiled() throws {
    let harness = try Harness()
    let observable = "ipv4-addr--c2ec1f5e-0000-4000-8000-000000000001"
    let observed = "observed-data--7d258c31-9a26-4543-aecb-2abc5ed366be"
    let asset = "x-mitre-asset--1769c499-55e5-462f-bab2-c39b8cd5ae32"
    // The shapes of OpenCTI's DATA-TEST-STIX2_v2.json: observed-data without created, an undated
    // observable it references, an x-mitre-asset without created; and three bad objects.
    let objects = [
      #"{"id":"identity--7b82b010-b1c0-4dae-981f-7756374a17df","type":"identity","name":"ANSSI","created":"2020-02-23T23:40:53.575Z"}"#,
      #"{"id":"../../evil","type":"identity","created":"2020-02-23T23:40:53.575Z"}"#,
      #"{"id":"\#(observed)","type":"observed-data","number_observed":1,"first_observed":"2020-02-25T09:02:29.040Z","last_observed":"2020-02-25T09:02:29.040Z","object_refs":["\#(observable)"]}"#,
      #"{"id":"\#(observable)","type":"ipv4-addr","value":"198.51.100.7"}"#,
      "5",
      #"{"id":"\#(asset)","type":"x-mitre-asset","name":"Remote Terminal Unit","modified":"2023-10-01T00:00:00.000Z"}"#,
      #"{"id":"malware--faa5b705-cf44-4e50-8472-29e5fec43c3c","type":"malware","created":"someday"}"#,
    ]
    #expect(try harness.apply(line(#"{"type":"bundle","objects":[\#(objects.joined(separator: ","))]}"#)) == .written)
    #expect(
      try treeFiles(harness.root) == [
        "20200224T000000Z/identity--7b82b010-b1c0-4dae-981f-7756374a17df.json",
        "20200225T090000Z/\(observable).json",  // with the observed-data that references it
        "20200225T090000Z/\(observed).json",  // by first_observed
        "20240301T120000Z/\(asset).json",  // nothing to go by: the time it is written
      ])
    #expect(harness.problems.map(\.position) == [2, 5, 7])
    #expect(harness.problems.map(\.count) == [7, 7, 7])
    #expect(harness.problems[0].id == "'../../evil'")
    #expect(harness.problems[1].id == nil)
    #expect(harness.problems[2].description.contains("malware--faa5b705-cf44-4e50-8472-29e5fec43c3c"))
    #expect(harness.problems[2].description.contains("'someday' is not an ISO-8601 date"))
    #expect(harness.writer.counts.written == 4)
    #expect(harness.writer.counts.undated == 2)
    #expect(harness.writer.counts.objectsFailed == 3)
  }

  @Test func anUndatedObjectKeepsTheFolderItWasFirstFiledIn() throws {
    let harness = try Harness()
    let observable = "domain-name--c2ec1f5e-0000-4000-8000-000000000002"
    let data = #"{"id":"\#(observable)","type":"domain-name","value":"example.org"}"#
    // A stream event: the time in its id (2024-01-15T14:00:29.123Z).
    _ = try harness.apply(eventLine("create", streamID: "1705327229123-0", data: data))
    #expect(try treeFiles(harness.root) == ["20240115T140000Z/\(observable).json"])
    // A later update, a bare object and a bundle whose report (another date) references it.
    _ = try harness.apply(eventLine("update", streamID: "1709294400000-0", data: data))
    _ = try harness.apply(line(data))
    let report = #"{"id":"report--a445d22a-db0c-4b5d-9ec8-e9ad0b6dbdd7","type":"report","created":"2020-03-01T14:02:55.327Z","object_refs":["\#(observable)"]}"#
    _ = try harness.apply(line(#"{"type":"bundle","objects":[\#(report),\#(data)]}"#))
    #expect(try treeFiles(harness.root).filter { $0.contains(observable) } == ["20240115T140000Z/\(observable).json"])
    #expect(harness.writer.counts.moved == 0)
    // Once it has a date of its own, it follows it.
    _ = try harness.apply(eventLine("update", data: indicator(observable, createdAt: "2024-01-16T09:00:00Z")))
    #expect(try treeFiles(harness.root).filter { $0.contains(observable) } == ["20240116T090000Z/\(observable).json"])
  }

  @Test func anObjectWhoseDateChangesHasOneFileThatDeletesAndMergesFind() throws {
    let harness = try Harness()
    let moving = "indicator--c2ec1f5e-0000-4000-8000-000000000003"
    let other = "indicator--c2ec1f5e-0000-4000-8000-000000000004"
    _ = try harness.apply(eventLine("create", data: indicator(moving, createdAt: "2024-01-15T14:00:00Z")))
    _ = try harness.apply(eventLine("create", data: indicator(other, createdAt: "2024-01-15T14:10:00Z")))
    _ = try harness.apply(eventLine("update", data: indicator(moving, createdAt: "2024-01-17T08:00:00Z")))
    #expect(try treeFiles(harness.root) == ["20240115T140000Z/\(other).json", "20240117T080000Z/\(moving).json"])
    let stored = try String(decoding: FileSystem.read(harness.root + "/opencti_data/20240117T080000Z/\(moving).json"), as: UTF8.self)
    #expect(stored.contains("2024-01-17T08:00:00Z"), "the moved file holds the new version")
    #expect(harness.writer.counts.moved == 1)
    // Back to an earlier folder: the emptied one goes.
    _ = try harness.apply(eventLine("update", data: indicator(moving, createdAt: "2024-01-15T14:20:00Z")))
    #expect(try treeFiles(harness.root) == ["20240115T140000Z/\(moving).json", "20240115T140000Z/\(other).json"])
    #expect(harness.writer.counts.foldersRemoved == 1)

    // A delete and a merge whose objects carry a date the file is no longer filed under.
    #expect(try harness.apply(eventLine("delete", data: indicator(moving, createdAt: "2030-01-01T00:00:00Z"))) == .deleted(found: true))
    let target = "indicator--c2ec1f5e-0000-4000-8000-000000000005"
    let merge = #"{"id":"1-0","event":"merge","data":\#(indicator(target, createdAt: "2024-01-18T00:00:00Z")),"context":{"sources":[\#(indicator(other, createdAt: "1999-01-01T00:00:00Z"))]}}"#
    #expect(try harness.apply(line(merge)) == .merged(sourcesRemoved: 1))
    #expect(try treeFiles(harness.root) == ["20240118T000000Z/\(target).json"])
  }

  @Test func reopeningRepairsIdsInSeveralFoldersAndRemovesStaleTemporaries() throws {
    let root = try temporaryDirectory()
    let data = root + "/opencti_data"
    let id = "identity--c2ec1f5e-0000-4000-8000-000000000006"
    for (bucket, name) in [("20240101T000000Z", "old"), ("20240301T000000Z", "new"), ("20240201T000000Z", "middle")] {
      try FileSystem.makeDirectories(data + "/" + bucket)
      try FileSystem.writeAtomically(Array(#"{"type":"bundle","objects":[{"id":"\#(id)","name":"\#(name)"}]}"#.utf8), to: data + "/\(bucket)/\(id).json")
    }
    try FileSystem.writeAtomically(Array("{}".utf8), to: data + "/20240201T000000Z/indicator--c2ec1f5e-0000-4000-8000-000000000007.json")
    let stale = data + "/20240201T000000Z/." + id + ".json.tmp-4242-17"
    let fresh = data + "/20240201T000000Z/." + id + ".json.tmp-4243-18"
    for path in [stale, fresh] { try FileSystem.writeAtomically(Array("partial".utf8), to: path) }
    try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -120)], ofItemAtPath: stale)

    let harness = try Harness(root: root)
    #expect(harness.writer.opening.duplicatesRemoved == 2)
    #expect(harness.writer.opening.temporariesRemoved == 1)
    #expect(harness.writer.opening.files == 2)
    #expect(!FileSystem.exists(stale))
    #expect(FileSystem.exists(fresh), "a young temporary may belong to a writer at work")
    #expect(try treeFiles(root).filter { !$0.contains(".tmp-") } == [
      "20240201T000000Z/indicator--c2ec1f5e-0000-4000-8000-000000000007.json", "20240301T000000Z/\(id).json",
    ])
    #expect(!FileSystem.exists(data + "/20240101T000000Z"), "a folder emptied by the repair goes")
    // The index knows where the id is now: an undated update stays there.
    _ = try harness.apply(line(#"{"id":"\#(id)","type":"identity","name":"newest"}"#))
    #expect(try treeFiles(root).filter { $0.contains(id) && !$0.contains(".tmp-") } == ["20240301T000000Z/\(id).json"])
  }
}

@Suite struct BackupRestoreVersionTests {
  @Test func eachIdIsRestoredOnceFromItsLastFolderAndEarlierOnesCountAsResolved() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let data = root + "/opencti_data"
    func put(_ bucket: String, _ id: String, _ extra: String = "") throws {
      try FileSystem.makeDirectories(data + "/" + bucket)
      let object = #"{"id":"\#(id)","type":"\#(id.components(separatedBy: "--")[0])"\#(extra)}"#
      try FileSystem.writeAtomically(Array(#"{"type":"bundle","objects":[\#(object)]}"#.utf8), to: data + "/\(bucket)/\(id).json")
    }
    let twice = "identity--c2ec1f5e-0000-4000-8000-000000000010"
    let early = "malware--c2ec1f5e-0000-4000-8000-000000000011"
    let needsTwice = "indicator--c2ec1f5e-0000-4000-8000-000000000012"
    let late = "relationship--c2ec1f5e-0000-4000-8000-000000000013"
    try put("20240101T000000Z", twice, #","name":"old""#)
    try put("20240101T000000Z", early)
    try put("20240102T000000Z", needsTwice, #","created_by_ref":"\#(twice)""#)
    try put("20240103T000000Z", twice, #","name":"new""#)
    try put("20240104T000000Z", late, #","source_ref":"\#(early)","target_ref":"\#(twice)","object_marking_refs":["marking-definition--c2ec1f5e-0000-4000-8000-000000000099"]"#)
    try FileSystem.makeDirectories(data + "/notes")
    try FileSystem.makeDirectories(data + "/100000101T000000Z")
    try FileSystem.writeAtomically(Array("x".utf8), to: data + "/README")
    try FileSystem.writeAtomically(Array("x".utf8), to: data + "/20240102T000000Z/notes.txt")

    let restore = try BackupRestore(path: root)
    #expect(restore.folders == ["20240101T000000Z", "20240102T000000Z", "20240103T000000Z", "20240104T000000Z"])
    #expect(restore.unrecognised.map(\.name) == ["100000101T000000Z", "README", "notes"])
    func ids(_ position: Int) throws -> [String] {
      let bundle = try JSONParser.parse(try restore.bundle(at: position).bytes)
      return bundle["objects"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }
    let first = try restore.bundle(at: 0)
    #expect(first.superseded == 1)
    #expect(try ids(0) == [early], "the old copy of \(twice) is left out")
    #expect(try ids(1) == [twice, needsTwice], "pulled in from the folder that holds its last copy")
    #expect(try JSONParser.parse(try restore.bundle(at: 1).bytes)["objects"]?.arrayValue?.first?["name"] == "new")
    #expect(try restore.bundle(at: 1).badFiles.map(\.name) == ["notes.txt"])
    #expect(try ids(2) == [twice])
    #expect(try ids(3) == [late], "references restored by earlier folders are not pulled again")
    #expect(try restore.bundle(at: 3).unresolved == ["marking-definition--c2ec1f5e-0000-4000-8000-000000000099"])
  }
}

@Suite struct AttachmentPathTests {
  @Test func eachSegmentIsPercentEncodedAsPyctiSendsIt() {
    #expect(
      AttachmentFetcher.encodedPath("storage/get/import/Incident/abc/schema incidents.csv")
        == "storage/get/import/Incident/abc/schema%20incidents.csv")
    #expect(AttachmentFetcher.encodedPath("storage/get/a/rapport é#1?.pdf") == "storage/get/a/rapport%20%C3%A9%231%3F.pdf")
    #expect(AttachmentFetcher.encodedPath("storage/get/a/100% (v2)+final;x=1@y.pdf") == "storage/get/a/100%25%20(v2)+final;x=1@y.pdf")
  }
}
