import CTICore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// cti-diode on folders, run as built.
@Suite struct DiodeDirectoryEndToEndTests {
  static let connectorEnvironment = [
    "CONNECTOR_ID": "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c", "CONNECTOR_NAME": "Round Trip", "CONNECTOR_SCOPE": "identity",
  ]

  static func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/diode/" + name, withExtension: nil))
    return Array(try Data(contentsOf: url))
  }

  static func setModified(_ path: String, _ time: Double) {
    let whole = time.rounded(.down)
    let spec = timespec(tv_sec: Int(whole), tv_nsec: Int((time - whole) * 1e9))
    var times = [spec, spec]
    utimensat(AT_FDCWD, path, &times, 0)
  }

  /// A diode file whose one object is named `name` (so outputs can be told apart).
  static func diodeFile(_ name: String) -> [UInt8] {
    let bundle: JSONValue = [
      "type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
      "objects": [["type": "identity", "id": "identity--00000000-0000-4000-8000-000000000001", "name": .string(name)]],
    ]
    let connector = DiodeConnector(id: "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c", name: "Source")
    return DiodeFileFormat.content(
      bundle: bundle, connector: DiodeFileFormat.connectorValue(connector), applicantID: nil, bundleType: .directory)
  }

  static func write(_ folder: TemporaryFolder, _ name: String, _ bytes: [UInt8], modified: Double) throws {
    try Data(bytes).write(to: folder.url.appendingPathComponent(name))
    setModified(folder.url.appendingPathComponent(name).path, modified)
  }

  /// The object names carried by the envelopes on stdout, in order.
  static func names(_ lines: [String]) throws -> [String] {
    try lines.map { line in
      let envelope = try JSONParser.parse(line)
      return envelope["bundle"]?["objects"]?.arrayValue?.first?["name"]?.stringValue ?? "?"
    }
  }

  @Test func importsPyctiFilesAsTheirBytesInMtimeOrder() throws {
    let folder = try TemporaryFolder()
    let cve = "common_vulnerabilities_and_exposures-20240610-143354-1718030034.123456.json"
    let lab = "lab_feed-20240611-090000-1718096400.5.json"
    // The later-named file is older: order follows mtimes, not names.
    try Self.write(folder, cve, try Self.fixture(cve), modified: 1_718_030_034.5)
    try Self.write(folder, lab, try Self.fixture(lab), modified: 1_718_000_000)
    let result = try ToolRunner.run("cti-diode", ["import", folder.path])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdoutLines == [String(decoding: try Self.fixture(lab), as: UTF8.self), String(decoding: try Self.fixture(cve), as: UTF8.self)])
    #expect(result.stderr.contains("imported 2 files"))
    #expect(folder.names(".").isEmpty, "delete-after-import is on by default")
  }

  @Test func exportThenImportGivesTheBundlesBack() throws {
    let folder = try TemporaryFolder()
    let bundles = (0..<5).map { index in
      #"{"type":"bundle","id":"bundle--00000000-0000-4000-8000-00000000000\#(index)","objects":[{"type":"identity","id":"identity--00000000-0000-4000-8000-000000000001","name":"Caf\#u{e9} \#(index) 🔒"}]}"#
    }
    let envelope = String(decoding: try Self.fixture("lab_feed-20240611-090000-1718096400.5.json"), as: UTF8.self)
    let input = (bundles + [envelope]).joined(separator: "\n") + "\n"
    let exported = try ToolRunner.run(
      "cti-diode", ["export", folder.path], stdin: Array(input.utf8), environment: Self.connectorEnvironment)
    #expect(exported.status == 0, "\(exported.stderr)")
    #expect(exported.stdout.isEmpty)
    let files = folder.names(".")
    #expect(files.count == 6)
    #expect(files.filter { $0.hasPrefix("round_trip-") }.count == 5)
    #expect(files.allSatisfy { $0.hasSuffix(".json") })
    let imported = try ToolRunner.run("cti-diode", ["import", folder.path])
    #expect(imported.status == 0, "\(imported.stderr)")
    #expect(imported.stdoutLines.count == 6)
    let back = try imported.stdoutLines.map { try JSONParser.parse($0) }
    for (index, bundle) in bundles.enumerated() {
      #expect(back[index]["bundle"] == (try JSONParser.parse(bundle)))
      #expect(back[index]["connector"]?["name"] == "Round Trip")
      #expect(back[index]["bundle_type"] == "DIRECTORY_BUNDLE")
    }
    #expect(back[5]["bundle"] == (try JSONParser.parse(envelope))["bundle"])
    #expect(back[5]["connector"] == (try JSONParser.parse(envelope))["connector"])
    // Every exported file is pure ASCII, as pycti's.
    #expect(imported.stdout.allSatisfy { $0 < 0x80 })
  }

  @Test func filesArrivingWithOldOrEqualMtimesAreImportedOnce() throws {
    let folder = try TemporaryFolder()
    let state = try TemporaryFolder()
    let arguments = ["import", folder.path, "--state", state.path + "/diode.state", "--no-delete-after-import", "--retention", "0"]
    try Self.write(folder, "a.json", Self.diodeFile("a"), modified: 1_700_000_000)
    var result = try ToolRunner.run("cti-diode", arguments)
    #expect(try Self.names(result.stdoutLines) == ["a"])
    // As rsync -a or cp -p would leave them: older than, and equal to, what was imported.
    try Self.write(folder, "b-older.json", Self.diodeFile("b"), modified: 1_600_000_000)
    try Self.write(folder, "c-equal.json", Self.diodeFile("c"), modified: 1_700_000_000)
    result = try ToolRunner.run("cti-diode", arguments)
    #expect(try Self.names(result.stdoutLines) == ["b", "c"])
    result = try ToolRunner.run("cti-diode", arguments)
    #expect(result.stdoutLines.isEmpty)
    #expect(result.stderr.contains("3 already imported"))
  }

  @Test func aFileStillBeingWrittenIsLeftForTheNextRun() throws {
    let folder = try TemporaryFolder()
    try Self.write(folder, "x.json.tmp", Self.diodeFile("x"), modified: 1_700_000_000)
    // A non-atomic copy caught half way: recent and cut short.
    let now = Date().timeIntervalSince1970
    try Self.write(folder, "y.json", Array(Self.diodeFile("y").prefix(120)), modified: now)
    var result = try ToolRunner.run("cti-diode", ["import", folder.path])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdoutLines.isEmpty)
    #expect(folder.names(".") == ["x.json.tmp", "y.json"])
    try FileManager.default.moveItem(atPath: folder.path + "/x.json.tmp", toPath: folder.path + "/x.json")
    try Self.write(folder, "y.json", Self.diodeFile("y"), modified: now)
    result = try ToolRunner.run("cti-diode", ["import", folder.path])
    #expect(try Self.names(result.stdoutLines) == ["x", "y"])
  }

  @Test func invalidFilesAreQuarantinedAndCounted() throws {
    let folder = try TemporaryFolder()
    try Self.write(folder, "bad.json", Array(#"{"connector": {"id": "a", "name": "n", "type": "EXTERNAL_IMPORT"}, "bundle": {"objects": [1]}}"#.utf8), modified: 1000)
    try Self.write(folder, "good.json", Self.diodeFile("good"), modified: 2000)
    let result = try ToolRunner.run("cti-diode", ["import", folder.path])
    #expect(result.status == ExitStatus.partial.rawValue)
    #expect(try Self.names(result.stdoutLines) == ["good"])
    #expect(result.stderr.contains("bad.json: no \"applicant_id\" key (moved to .rejected/bad.json)"))
    #expect(folder.names(".rejected") == ["bad.json", "bad.json.reason"])
    #expect(folder.read(".rejected/bad.json.reason")?.contains("reason: no \"applicant_id\" key") == true)
    let strict = try TemporaryFolder()
    try Self.write(strict, "bad.json", Array("{}".utf8), modified: 1000)
    try Self.write(strict, "good.json", Self.diodeFile("good"), modified: 2000)
    let stopped = try ToolRunner.run("cti-diode", ["import", strict.path, "--strict"])
    #expect(stopped.status == ExitStatus.dataError.rawValue)
    #expect(stopped.stdoutLines.isEmpty)
    #expect(strict.names(".") == [".rejected", "good.json"])
  }

  @Test func deleteAfterImportAndRetentionFollowTheOfficialSettings() throws {
    let folder = try TemporaryFolder()
    let now = Date().timeIntervalSince1970
    try Self.write(folder, "old.json", Self.diodeFile("old"), modified: now - 10 * 86400)
    try Self.write(folder, "new.json", Self.diodeFile("new"), modified: now - 86400)
    let environment = ["DIODE_IMPORT_DELETE_AFTER_IMPORT": "false", "DIODE_IMPORT_GET_FROM_DIRECTORY_RETENTION": "7",
                       "DIODE_IMPORT_GET_FROM_DIRECTORY_PATH": folder.path]
    let result = try ToolRunner.run("cti-diode", ["import", "--state", folder.path + "/.state"], environment: environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try Self.names(result.stdoutLines) == ["old", "new"])
    #expect(folder.names(".") == [".state", "new.json"])
    #expect(result.stderr.contains("1 removed by retention"))
  }

  @Test func aMissingFolderIsExit66() throws {
    let result = try ToolRunner.run("cti-diode", ["import", "/nonexistent/diode"])
    #expect(result.status == ExitStatus.noInput.rawValue)
    #expect(result.stderr.contains("/nonexistent/diode: no such folder"))
  }

  @Test func pollingPicksUpNewFilesAndStopsOnSIGTERM() throws {
    let folder = try TemporaryFolder()
    try Self.write(folder, "first.json", Self.diodeFile("first"), modified: 1000)
    let running = try ToolRunner.start("cti-diode", ["import", folder.path, "--interval", "PT0.2S"])
    #expect(running.waitUntil(timeout: 20) { $0.completedLines >= 1 })
    try Self.write(folder, "second.json", Self.diodeFile("second"), modified: 500)
    #expect(running.waitUntil(timeout: 20) { $0.completedLines >= 2 })
    running.signal(SIGTERM)
    let result = running.wait(timeout: 10)
    #expect(!result.timedOut)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try Self.names(result.stdoutLines) == ["first", "second"])
    #expect(result.stderr.contains("running every 0.2 s (--interval)"))
    #expect(result.stderr.contains("runs, the last started at"), "\(result.stderr)")
  }

  /// Starts an import of `count` files, signals it once some envelopes are out, then runs again.
  func interruptedImport(signal number: Int32, count: Int) throws -> (first: [String], second: [String]) {
    let folder = try TemporaryFolder()
    for index in 0..<count {
      try Self.write(folder, String(format: "f%05d.json", index), Self.diodeFile("f\(index)"), modified: 1_700_000_000 + Double(index))
    }
    let arguments = ["import", folder.path, "--state", folder.path + "/.state"]
    let running = try ToolRunner.start("cti-diode", arguments)
    _ = running.waitUntil(timeout: 30) { $0.completedLines >= 20 }
    running.signal(number)
    let first = running.wait(timeout: 30)
    if number == SIGTERM { #expect(first.status == 0, "\(first.stderr)") }
    let second = try ToolRunner.run("cti-diode", arguments)
    #expect(second.status == 0, "\(second.stderr)")
    #expect(folder.names(".") == [".state"])
    // The torn last line a kill may leave counts as nothing.
    return (try Self.names(first.stdoutLines.filter { $0.hasSuffix("}") }), try Self.names(second.stdoutLines))
  }

  @Test func sigtermDuringAScanThenARerunImportsEachFileExactlyOnce() throws {
    let count = 1500
    let (first, second) = try interruptedImport(signal: SIGTERM, count: count)
    #expect(first.count < count, "the stop came too late to test anything")
    #expect(first + second == (0..<count).map { "f\($0)" })
  }

  @Test func sigkillDuringAScanThenARerunLosesNothing() throws {
    let count = 1500
    let (first, second) = try interruptedImport(signal: SIGKILL, count: count)
    let all = first + second
    #expect(Set(all) == Set((0..<count).map { "f\($0)" }))
    // A kill between writing an envelope and recording it can repeat that one file, never more.
    #expect(all.count - Set(all).count <= 1)
  }
}
