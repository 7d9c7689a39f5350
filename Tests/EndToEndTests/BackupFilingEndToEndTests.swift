import CTICore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// cti-backup keeps every object it is given, one file per id, and restore gives each id back
/// once (issues 10, 11 and 14).
@Suite struct BackupFilingEndToEndTests {
  static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

  /// The mixed bundle fixture as one NDJSON line, and its object ids.
  static func mixedBundle() throws -> (line: String, ids: [String]) {
    let text = try String(contentsOf: fixtures.appendingPathComponent("backup/mixed-bundle.json"), encoding: .utf8)
    let bundle = try JSONParser.parse(text)
    let ids = bundle["objects"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    return (bundle.jsonText, ids)
  }

  /// Every `<bucket>/<file>` of a tree.
  static func files(_ folder: TemporaryFolder) -> [String] {
    folder.names("opencti_data").flatMap { bucket in folder.names("opencti_data/" + bucket).map { bucket + "/" + $0 } }
  }

  /// The objects of every bundle restore writes, as (bundle index, id).
  static func restoredIDs(_ result: ToolResult) throws -> [(Int, String)] {
    try result.stdoutLines.enumerated().flatMap { position, line in
      (try JSONParser.parse(line)["objects"]?.arrayValue ?? []).compactMap { object in
        object["id"]?.stringValue.map { (position, $0) }
      }
    }
  }

  @Test func aBundleOfMixedObjectsGivesOneFilePerObject() throws {
    let folder = try TemporaryFolder()
    let (line, ids) = try Self.mixedBundle()
    #expect(ids.count == 19)
    let result = try ToolRunner.run("cti-backup", [folder.path], stdin: Array((line + "\n").utf8))
    #expect(result.status == 0, "\(result.stderr)")
    let files = Self.files(folder)
    #expect(files.count == ids.count)
    #expect(Set(files.map { String($0.split(separator: "/")[1].dropLast(5)) }) == Set(ids))
    #expect(result.stderr.contains("1 records: 19 written (7 without a date)"))
    // Undated objects follow the dated objects that reference them: the observable of the
    // observed-data (first_observed 2021-05-04T10:00Z) sits with it.
    #expect(files.contains("20210504T100000Z/ipv4-addr--5e1f0c2a-7d3b-4c8e-9a61-000000000005.json"))
    #expect(files.contains("20210504T100000Z/observed-data--5e1f0c2a-7d3b-4c8e-9a61-000000000003.json"))

    let restored = try ToolRunner.run("cti-backup", ["restore", folder.path])
    #expect(restored.status == 0, "\(restored.stderr)")
    #expect(Set(try Self.restoredIDs(restored).map(\.1)) == Set(ids))
    #expect(restored.stderr.contains("0 references unresolved"), "\(restored.stderr)")
  }

  @Test func badObjectsAreReportedByIdAndTheRestOfTheBundleIsWritten() throws {
    let folder = try TemporaryFolder()
    let (line, ids) = try Self.mixedBundle()
    let spoiled =
      line
      .replacingOccurrences(of: #""created":"2021-04-30T16:00:00.000Z""#, with: #""created":"last spring""#)
      .replacingOccurrences(of: #""id":"x-mitre-tactic--5e1f0c2a-7d3b-4c8e-9a61-000000000009""#, with: #""id":"../tactic""#)
    let input = Array((streamLine("create", id: stixID("indicator", 1)) + "\n" + spoiled + "\n").utf8)
    let result = try ToolRunner.run("cti-backup", [folder.path], stdin: input)
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stderr.contains("line 2: object 9 of 19 in the bundle ('../tactic')"))
    #expect(result.stderr.contains("line 2: object 14 of 19 in the bundle ('malware--5e1f0c2a-7d3b-4c8e-9a61-000000000014'): date 'last spring'"))
    #expect(Self.files(folder).count == ids.count - 2 + 1)
    #expect(result.stderr.contains("0 bad lines, 2 objects of bundles not written"), "\(result.stderr)")

    let strictFolder = try TemporaryFolder()
    let strict = try ToolRunner.run("cti-backup", ["--strict", strictFolder.path], stdin: input)
    #expect(strict.status == 65)
    #expect(Self.files(strictFolder).count == 1 + 8, "stops at the first bad object")
    #expect(!strict.stderr.contains("object 14"))
  }

  @Test func anIdWhoseCreatedChangesEndsUpInExactlyOneFile() throws {
    let folder = try TemporaryFolder()
    let (line, _) = try Self.mixedBundle()
    let report = "report--5e1f0c2a-7d3b-4c8e-9a61-000000000010"
    let later = line.replacingOccurrences(of: #""created":"2021-05-06T09:05:00.000Z""#, with: #""created":"2021-06-01T10:00:00.000Z""#)
    let result = try ToolRunner.run(
      "cti-backup", ["--bucket", "minute", folder.path], stdin: Array((line + "\n" + later + "\n").utf8))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(Self.files(folder).filter { $0.contains(report) } == ["20210601T100000Z/\(report).json"])
    #expect(Self.files(folder).count == 19)
    #expect(result.stderr.contains("1 moved to another folder"))
  }

  @Test func mispObservablesAreAllKeptAndRestoredOnce() throws {
    let feed = Self.fixtures.appendingPathComponent("misp-feed-small").path
    let converted = try ToolRunner.run(
      "cti-misp", ["--feed", feed, "--import-from-date", "2000-01-01", "--create-observables", "--create-indicators"])
    let bundles = try converted.stdoutLines.map { try JSONParser.parse($0) }
    let objects = bundles.flatMap { $0["objects"]?.arrayValue ?? [] }
    let ids = Set(objects.compactMap { $0["id"]?.stringValue })
    let observables = objects.filter { $0["created"] == nil }.compactMap { $0["id"]?.stringValue }
    #expect(!observables.isEmpty && bundles.count == 3, "\(converted.stderr)")
    // The author identity's `created` changes with each event: minute folders would spread it.
    let identities = Set(objects.filter { $0["type"] == "identity" }.compactMap { $0["created"]?.stringValue })
    #expect(identities.count == 3)

    let folder = try TemporaryFolder()
    let backup = try ToolRunner.run("cti-backup", ["--bucket", "minute", folder.path], stdin: converted.stdout)
    #expect(backup.status == 0, "\(backup.stderr)")
    let files = Self.files(folder)
    #expect(files.count == ids.count, "one file per id")
    for id in observables { #expect(files.contains { $0.hasSuffix("/\(id).json") }, "\(id) kept") }

    #expect(files.filter { $0.contains("/identity--") }.count == 1, "the identity is in one folder")

    let restored = try ToolRunner.run("cti-backup", ["restore", folder.path])
    #expect(restored.status == 0, "\(restored.stderr)")
    // Every id comes back, in one version; copies beyond one per id are pulled in by references.
    let restoredObjects = try restored.stdoutLines.flatMap { try JSONParser.parse($0)["objects"]?.arrayValue ?? [] }
    let versions = Dictionary(grouping: restoredObjects, by: { $0["id"]?.stringValue ?? "" }).mapValues { Set($0.map(\.jsonText)) }
    #expect(Set(versions.keys) == ids)
    #expect(versions.values.allSatisfy { $0.count == 1 })
    let pulled = try #require(restored.stderr.firstMatch(of: /\((\d+) pulled in/)).1
    #expect(restoredObjects.count == ids.count + (Int(pulled) ?? -1))
  }

  @Test func restoreFollowsAChainOfFortyThousandReferences() throws {
    let folder = try TemporaryFolder()
    let links = 40_000
    func id(_ n: Int) -> String { stixID("indicator", n) }
    func file(_ n: Int) -> [UInt8] {
      let next = n + 1 < links ? #","indicates_ref":"\#(id(n + 1))""# : ""
      return Array(#"{"type":"bundle","objects":[{"id":"\#(id(n))","type":"indicator"\#(next)}]}"#.utf8)
    }
    // The head in the first folder, the rest of the chain in a later one: restoring the first
    // folder pulls in all 39,999 links, each before the one that references it.
    let data = folder.path + "/opencti_data"
    try FileManager.default.createDirectory(atPath: data + "/20240101T000000Z", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: data + "/20240102T000000Z", withIntermediateDirectories: true)
    for n in 0..<links {
      let descriptor = open(data + (n == 0 ? "/20240101T000000Z/" : "/20240102T000000Z/") + id(n) + ".json", O_WRONLY | O_CREAT, 0o644)
      try #require(descriptor >= 0 && FileSystem.writeAll(file(n), to: descriptor))
      close(descriptor)
    }
    let started = Date()
    let restored = try ToolRunner.run("cti-backup", ["restore", folder.path], timeout: 120)
    #expect(restored.status == 0, "\(restored.stderr)")
    #expect(Date().timeIntervalSince(started) < 60)
    let first = try #require(restored.stdoutLines.first)
    let objects = try #require(
      (try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])?["objects"] as? [[String: Any]])
    #expect(objects.count == links)
    #expect(objects.first?["id"] as? String == id(links - 1), "the end of the chain comes first")
    #expect(objects.last?["id"] as? String == id(0))
    #expect(restored.stderr.contains("(39999 pulled in"))
  }

  @Test func outOfRangeDatesGetFoldersThatRestoreReads() throws {
    let folder = try TemporaryFolder()
    let lines = [
      streamLine("create", id: stixID("indicator", 1), createdAt: "9999-12-31T23:59:59Z"),
      streamLine("create", id: stixID("indicator", 2), createdAt: "0000-01-01T00:00:00+01:00"),
      streamLine("create", id: stixID("indicator", 3)),
    ].joined(separator: "\n")
    let backup = try ToolRunner.run("cti-backup", ["--bucket", "minute", folder.path], stdin: Array(lines.utf8))
    #expect(backup.status == 0, "\(backup.stderr)")
    #expect(folder.names("opencti_data") == ["00000101T000000Z", "20240115T140000Z", "99991231T235900Z"])
    let restored = try ToolRunner.run("cti-backup", ["restore", folder.path])
    #expect(restored.status == 0, "\(restored.stderr)")
    #expect(try Self.restoredIDs(restored).count == 3)

    // A folder an older version made for such a date, and other strangers, are reported.
    try folder.write("opencti_data/100000101T000000Z/\(stixID("indicator", 4)).json", "{}")
    try folder.write("opencti_data/notes.txt", "hello")
    let reported = try ToolRunner.run("cti-backup", ["restore", folder.path])
    #expect(reported.status == 1)
    #expect(reported.stderr.contains("opencti_data/100000101T000000Z: not a backup folder name"))
    #expect(reported.stderr.contains("opencti_data/notes.txt: not a folder"))
    #expect(reported.stderr.contains("1 files and 1 folders not restored"))
    #expect(reported.stdoutLines.count == 3)
  }

  @Test func referencesRestoredByEarlierFoldersAreNotUnresolved() throws {
    let folder = try TemporaryFolder()
    let lines = [
      streamLine("create", id: stixID("malware", 1), createdAt: "2024-01-15T10:00:00Z"),
      streamLine("create", id: stixID("indicator", 2), createdAt: "2024-01-15T11:00:00Z"),
      streamLine(
        "create", id: stixID("relationship", 3), createdAt: "2024-01-15T12:00:00Z",
        fields: #","source_ref":"\#(stixID("indicator", 2))","target_ref":"\#(stixID("malware", 1))","created_by_ref":"\#(stixID("identity", 9))""#),
    ].joined(separator: "\n")
    _ = try ToolRunner.run("cti-backup", [folder.path], stdin: Array(lines.utf8))
    let restored = try ToolRunner.run("cti-backup", ["restore", folder.path])
    #expect(restored.stderr.contains("1 references unresolved"), "only the identity stored nowhere: \(restored.stderr)")
  }

  @Test func aMissingFolderIsCreatedAndAFileIsNotAFolder() throws {
    let folder = try TemporaryFolder()
    let line = Array((streamLine("create", id: stixID("indicator", 1)) + "\n").utf8)
    let created = try ToolRunner.run("cti-backup", [folder.path + "/new/backup"], stdin: line)
    #expect(created.status == 0, "\(created.stderr)")
    #expect(created.stderr.contains("created the backup folder \(folder.path)/new/backup"))
    #expect(folder.names("new/backup/opencti_data/20240115T140000Z") == [stixID("indicator", 1) + ".json"])

    try folder.write("plain-file", "x")
    let file = try ToolRunner.run("cti-backup", [folder.path + "/plain-file"], stdin: line)
    #expect(file.status == 66)
    #expect(file.stderr.contains("backup path \(folder.path)/plain-file is not a folder"))
    let restore = try ToolRunner.run("cti-backup", ["restore", folder.path + "/plain-file"])
    #expect(restore.status == 66)
    #expect(restore.stderr.contains("is not a folder"))
  }

  @Test func aLaterRunRemovesTemporariesOfAKilledOne() throws {
    let folder = try TemporaryFolder()
    let bucket = "opencti_data/20240115T140000Z"
    let stale = "\(bucket)/.\(stixID("indicator", 7)).json.tmp-31337-123456"
    let young = "\(bucket)/.\(stixID("indicator", 8)).json.tmp-31338-654321"
    try folder.write(stale, "{\"type\":\"bun")
    try folder.write(young, "{\"type\":\"bun")
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSinceNow: -90)], ofItemAtPath: folder.path + "/" + stale)
    let result = try ToolRunner.run(
      "cti-backup", [folder.path], stdin: Array((streamLine("create", id: stixID("indicator", 1)) + "\n").utf8))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("removed 1 temporary files left by an interrupted run"))
    #expect(folder.names(bucket) == ["." + stixID("indicator", 8) + ".json.tmp-31338-654321", stixID("indicator", 1) + ".json"])
    let restored = try ToolRunner.run("cti-backup", ["restore", folder.path])
    #expect(restored.status == 0, "a temporary is no stranger to restore: \(restored.stderr)")
  }
}
