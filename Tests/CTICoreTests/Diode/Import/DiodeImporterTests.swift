import Foundation
import Logging
import Testing

@testable import CTICore

/// A fresh folder under /tmp, removed by the caller with `removeTree`.
func temporaryFolder() -> String {
  var template = Array("/tmp/cti-diode-test-XXXXXX".utf8CString)
  return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
}

func removeTree(_ path: String) {
  try? FileManager.default.removeItem(atPath: path)
}

func setModified(_ path: String, _ time: Double) {
  let whole = time.rounded(.down)
  var times = [timespec(tv_sec: Int(whole), tv_nsec: Int((time - whole) * 1e9)), timespec(tv_sec: Int(whole), tv_nsec: Int((time - whole) * 1e9))]
  utimensat(AT_FDCWD, path, &times, 0)
}

/// A valid diode file whose bundle holds one object named `name`.
func diodeFile(_ name: String, applicant: String? = "user-1") -> [UInt8] {
  let connector = DiodeConnector(id: "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c", name: "Test Source", scope: ["identity"])
  let bundle: JSONValue = [
    "type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
    "objects": [["type": "identity", "id": "identity--00000000-0000-4000-8000-000000000001", "name": .string(name)]],
  ]
  return DiodeFileFormat.content(
    bundle: bundle, connector: DiodeFileFormat.connectorValue(connector), applicantID: applicant, bundleType: .directory)
}

func quietDiagnostics(strict: Bool = false) -> Diagnostics {
  Diagnostics(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), strict: strict)
}

/// Runs passes over a folder and collects what was delivered, by the object name in each file.
final class ImportHarness {
  let folder: String
  var delivered: [String] = []
  /// What the destination makes of the file with this object name (delivered by default).
  var outcome: (String) -> DiodeDelivery = { _ in .delivered }
  var state: ImportState
  let statePath: String?
  var options: DiodeImporterSettings
  var now: Double

  init(folder: String, statePath: String? = nil, options: DiodeImporterSettings = DiodeImporterSettings(), now: Double = 2_000_000_000)
    throws
  {
    self.folder = folder
    self.statePath = statePath
    self.options = options
    self.now = now
    state = try ImportState(path: statePath)
  }

  func write(_ name: String, _ bytes: [UInt8], modified: Double) throws {
    try FileSystem.writeAtomically(bytes, to: folder + "/" + name)
    setModified(folder + "/" + name, modified)
  }

  @discardableResult
  func pass(diagnostics: Diagnostics = quietDiagnostics(), stopAfter: Int? = nil) throws -> DiodeImportSummary {
    let importer = DiodeImporter(
      source: DirectorySource(path: folder), state: state, options: options, diagnostics: diagnostics, clock: { [now] in now }
    ) { envelope, _ in
      let bundle = try JSONParser.parse(Array(envelope.bundleBytes))
      let name = bundle["objects"]?.arrayValue?.first?["name"]?.stringValue ?? "?"
      let outcome = self.outcome(name)
      if outcome == .delivered { self.delivered.append(name) }
      return outcome
    }
    let start = delivered.count
    return try importer.runPass(shouldStop: { stopAfter.map { self.delivered.count - start >= $0 } ?? false })
  }

  func reopenState() throws { state = try ImportState(path: statePath) }

  var files: [String] { ((try? FileSystem.list(folder)) ?? []).sorted() }
}

@Suite struct DiodeImporterTests {
  @Test func importsInModifiedThenNameOrderAndSkipsTmpAndDotfiles() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let harness = try ImportHarness(folder: folder)
    try harness.write("c.json", diodeFile("c"), modified: 1000)
    try harness.write("a.json", diodeFile("a"), modified: 2000)
    try harness.write("b.json", diodeFile("b"), modified: 1000)
    try harness.write("d.json.tmp", diodeFile("tmp"), modified: 10)
    try harness.write(".e.json", diodeFile("hidden"), modified: 10)
    try harness.write("f.txt", diodeFile("txt"), modified: 10)
    try FileSystem.makeDirectory(folder + "/sub.json")
    let summary = try harness.pass()
    #expect(harness.delivered == ["b", "c", "a"])
    #expect(summary.imported == 3)
    // delete-after-import is the default: the imported files are gone, the others stay.
    #expect(harness.files == [".e.json", "d.json.tmp", "f.txt", "sub.json"])
  }

  @Test func oldAndEqualTimestampsAfterAnImportAreStillImported() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let harness = try ImportHarness(folder: folder, statePath: folder + "/.state", options: DiodeImporterSettings(deleteAfterImport: false, retentionDays: 0))
    try harness.write("first.json", diodeFile("first"), modified: 5000)
    try harness.pass()
    // rsync -a / cp -p: files arriving later with the same or older timestamps.
    try harness.write("same.json", diodeFile("same"), modified: 5000)
    try harness.write("older.json", diodeFile("older"), modified: 100)
    try harness.pass()
    #expect(harness.delivered == ["first", "older", "same"])
    try harness.reopenState()
    let summary = try harness.pass()
    #expect(summary.imported == 0 && summary.alreadyImported == 3)
    #expect(harness.delivered.count == 3)
  }

  @Test func changedContentUnderTheSameNameIsImportedAgainButATouchIsNot() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let harness = try ImportHarness(folder: folder, statePath: folder + "/.state", options: DiodeImporterSettings(deleteAfterImport: false, retentionDays: 0))
    try harness.write("x.json", diodeFile("v1"), modified: 1000)
    try harness.pass()
    setModified(folder + "/x.json", 3000)
    #expect(try harness.pass().alreadyImported == 1)
    try harness.write("x.json", diodeFile("v2"), modified: 1000)
    try harness.pass()
    #expect(harness.delivered == ["v1", "v2"])
  }

  @Test func invalidFilesAreQuarantinedWithAReason() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let harness = try ImportHarness(folder: folder)
    try harness.write("bad.json", Array("{\"connector\": null}".utf8), modified: 1000)
    try harness.write("good.json", diodeFile("good"), modified: 1001)
    let summary = try harness.pass()
    #expect(summary.rejected == 1 && summary.imported == 1)
    #expect(harness.delivered == ["good"])
    #expect(try FileSystem.list(folder + "/.rejected").sorted() == ["bad.json", "bad.json.reason"])
    let note = String(decoding: try FileSystem.read(folder + "/.rejected/bad.json.reason"), as: UTF8.self)
    #expect(note.contains("reason: \"connector\" is not an object"))
    #expect(try FileSystem.read(folder + "/.rejected/bad.json") == Array("{\"connector\": null}".utf8))
    // A second bad file of the same name does not overwrite the first.
    try harness.write("bad.json", Array("[]".utf8), modified: 1002)
    try harness.pass()
    #expect(try FileSystem.list(folder + "/.rejected").sorted() == ["bad.json", "bad.json.2", "bad.json.2.reason", "bad.json.reason"])
  }

  @Test func strictStopsAtTheFirstInvalidFileAfterQuarantiningIt() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let harness = try ImportHarness(folder: folder)
    try harness.write("a.json", Array("nope".utf8), modified: 1000)
    try harness.write("b.json", diodeFile("b"), modified: 1001)
    #expect(throws: StrictStop.self) { try harness.pass(diagnostics: quietDiagnostics(strict: true)) }
    #expect(harness.delivered.isEmpty)
    #expect(FileSystem.exists(folder + "/.rejected/a.json"))
  }

  @Test func aRecentTruncatedFileWaitsAnOldOneIsQuarantined() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let harness = try ImportHarness(folder: folder)
    let partial = Array(diodeFile("partial").prefix(100))
    try harness.write("partial.json", partial, modified: harness.now - 5)
    var summary = try harness.pass()
    #expect(summary.deferred == 1 && summary.rejected == 0)
    #expect(harness.files == ["partial.json"])
    harness.now += 120
    summary = try harness.pass()
    #expect(summary.rejected == 1)
    #expect(FileSystem.exists(folder + "/.rejected/partial.json"))
  }

  @Test func retentionRemovesOnlyImportedFiles() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let day = 86400.0
    let harness = try ImportHarness(
      folder: folder, statePath: folder + "/.state", options: DiodeImporterSettings(deleteAfterImport: false, retentionDays: 7))
    try harness.write("old-imported.json", diodeFile("old"), modified: harness.now - 10 * day)
    try harness.write("new-imported.json", diodeFile("new"), modified: harness.now - 1 * day)
    try harness.pass()
    #expect(harness.files == [".state", "new-imported.json"])
    // A file that is old but was never read is imported, not thrown away.
    harness.options.retentionDays = 7
    try harness.write("old-unread.json", diodeFile("unread"), modified: harness.now - 30 * day)
    let importer = DiodeImporter(
      source: DirectorySource(path: folder), state: harness.state, options: DiodeImporterSettings(deleteAfterImport: false, retentionDays: 7),
      diagnostics: quietDiagnostics(), clock: { [now = harness.now] in now }
    ) { _, _ in throw OutputError.closed }
    #expect(throws: OutputError.closed) { try importer.runPass(shouldStop: { false }) }
    #expect(harness.files.contains("old-unread.json"))
    try harness.pass()
    #expect(harness.delivered == ["old", "new", "unread"])
    #expect(harness.files == [".state", "new-imported.json"])
  }

  @Test func aStopBetweenFilesThenARerunImportsEverythingOnce() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let harness = try ImportHarness(folder: folder, statePath: folder + "/.state", options: DiodeImporterSettings(deleteAfterImport: false, retentionDays: 0))
    for index in 0..<10 { try harness.write("f\(index).json", diodeFile("f\(index)"), modified: 1000 + Double(index)) }
    let first = try harness.pass(stopAfter: 4)
    #expect(first.stopped && first.imported == 4)
    try harness.reopenState()
    try harness.pass()
    #expect(harness.delivered == (0..<10).map { "f\($0)" })
  }

  @Test func aFileRecordedButNotYetDeletedIsDeletedNotReimported() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let harness = try ImportHarness(folder: folder, statePath: folder + "/.state")
    try harness.write("a.json", diodeFile("a"), modified: 1000)
    let bytes = diodeFile("a")
    // As if a run was killed after recording the file and before deleting it.
    try harness.state.record(
      ImportedFile(name: "a.json", size: bytes.count, sha256: Digest.sha256.hex(bytes), modified: 1000, importedAt: 1))
    try harness.reopenState()
    let summary = try harness.pass()
    #expect(summary.imported == 0 && summary.alreadyImported == 1)
    #expect(harness.files == [".state"])
  }
}

@Suite struct ImportStateTests {
  @Test func journalSurvivesReopenAndIgnoresATornTail() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let path = folder + "/state"
    do {
      let state = try ImportState(path: path)
      try state.record(ImportedFile(name: "a.json", size: 3, sha256: "aa", modified: 1.5, importedAt: 10))
      try state.record(ImportedFile(name: "b.json", size: 4, sha256: "bb", modified: 1718030034.123456, importedAt: 11))
    }
    // A kill in the middle of a write leaves half a line.
    var bytes = try FileSystem.read(path)
    bytes += Array("{\"name\":\"c.json\",\"si".utf8)
    try FileSystem.writeAtomically(bytes, to: path)
    let state = try ImportState(path: path)
    #expect(state.entries.count == 2)
    #expect(state.isKnown(name: "b.json", size: 4, modified: 1718030034.123456))
    #expect(state.isKnown(name: "a.json", size: 3, sha256: "aa"))
    #expect(!state.isKnown(name: "a.json", size: 3, sha256: "ab"))
    try state.record(ImportedFile(name: "c.json", size: 5, sha256: "cc", modified: 2, importedAt: 12))
    #expect(try ImportState(path: path).entries.count == 3)
  }

  @Test func compactKeepsPresentAndRecentFiles() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let path = folder + "/state"
    let state = try ImportState(path: path, forgetAfter: 100)
    try state.record(ImportedFile(name: "present", size: 1, sha256: "a", modified: 1, importedAt: 0))
    try state.record(ImportedFile(name: "gone-recent", size: 1, sha256: "b", modified: 1, importedAt: 950))
    try state.record(ImportedFile(name: "gone-old", size: 1, sha256: "c", modified: 1, importedAt: 10))
    try state.compact(present: ["present"], now: 1000)
    #expect(Set(try ImportState(path: path).entries.keys) == ["present", "gone-recent"])
    try state.record(ImportedFile(name: "after", size: 1, sha256: "d", modified: 1, importedAt: 1000))
    #expect(try ImportState(path: path).entries.count == 3)
  }

  @Test func applicantMappingsFollowTheOfficialRules() {
    var warnings: [String] = []
    let mappings = ApplicantMap(parsing: " a:b , ,c:d,bad,e:,x:y:z", warnings: &warnings)
    #expect(mappings.mappings == ["a": "b", "c": "d"])
    #expect(warnings.count == 3)
    #expect(mappings["a"] == "b")
    #expect(mappings["zzz"] == nil)
  }

  @Test func aFailedDeliveryLeavesTheFileUnrecordedUntilItSucceeds() throws {
    let folder = temporaryFolder()
    let stateFolder = temporaryFolder()
    defer { removeTree(folder); removeTree(stateFolder) }
    let harness = try ImportHarness(folder: folder, statePath: stateFolder + "/state")
    try harness.write("a.json", diodeFile("a"), modified: 1_700_000_000)
    try harness.write("b.json", diodeFile("b"), modified: 1_700_000_001)
    try harness.write("c.json", diodeFile("c"), modified: 1_700_000_002)
    harness.outcome = { $0 == "b" ? .failed : .delivered }
    var summary = try harness.pass()
    #expect(harness.delivered == ["a", "c"], "the files after the failed one are still delivered")
    #expect(summary.imported == 2)
    #expect(summary.failed == 1)
    #expect(harness.files == ["b.json"], "only the delivered files are deleted")
    try harness.reopenState()
    #expect(harness.state.entries.count == 2)
    harness.outcome = { _ in .delivered }
    summary = try harness.pass()
    #expect(harness.delivered == ["a", "c", "b"])
    #expect(summary.imported == 1 && summary.failed == 0)
    #expect(harness.files.isEmpty)
  }

  @Test func aRefusedDeliveryIsQuarantinedWithItsReason() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let harness = try ImportHarness(folder: folder)
    try harness.write("a.json", diodeFile("a"), modified: 1_700_000_000)
    harness.outcome = { _ in .refused("connector type 'BOGUS' is unknown") }
    let summary = try harness.pass()
    #expect(summary.rejected == 1 && summary.imported == 0)
    #expect(harness.files == [".rejected"])
    let reasons = try FileSystem.list(folder + "/.rejected").filter { $0.hasSuffix(".reason") }
    #expect(reasons.count == 1)
    let note = try String(decoding: FileSystem.read(folder + "/.rejected/" + reasons[0]), as: UTF8.self)
    #expect(note.contains("connector type 'BOGUS' is unknown"))
  }
}

/// A folder source whose deletions fail as on a read-only mount.
struct ReadOnlyFolderSource: DiodeSource {
  let folder: DirectorySource
  var location: String { folder.location }
  func list() throws -> [DiodeItem] { try folder.list() }
  func read(_ item: DiodeItem) throws -> [UInt8] { try folder.read(item) }
  func delete(_ item: DiodeItem) throws { throw FileSystemError("unlink", folder.path + "/" + item.name, EROFS) }
  func quarantine(_ item: DiodeItem, content: [UInt8]?, reason: String) throws -> String {
    try folder.quarantine(item, content: content, reason: reason)
  }
  func stateKey(_ item: DiodeItem) -> String { folder.stateKey(item) }
}

@Suite struct DiodeReadOnlyFolderTests {
  @Test func aReadOnlyFolderSuggestsKeepingTheFilesWithAState() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    try FileSystem.writeAtomically(diodeFile("a"), to: folder + "/a.json")
    let importer = DiodeImporter(
      source: ReadOnlyFolderSource(folder: DirectorySource(path: folder)), state: try ImportState(path: nil),
      options: DiodeImporterSettings(), diagnostics: quietDiagnostics()
    ) { _, _ in .delivered }
    let error = try #require(throws: DiodeReadOnlyFolder.self) { try importer.runPass() }
    #expect("\(error)".contains("Read-only file system"))
    #expect("\(error)".contains("--no-delete-after-import --state FILE"))
    #expect(error.exitStatus == .ioError)
  }
}
