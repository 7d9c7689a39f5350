import Foundation
import Testing

@testable import CTICore

func record(_ text: String, line: Int = 1) throws -> Record {
  try Record(Line(number: line, bytes: Array(text.utf8)))
}

let sampleBundle =
  #"{"type":"bundle","id":"bundle--3f1c5f0e-6a0b-4a59-9a7e-0c2d1e4b5a61","objects":[{"type":"identity","id":"identity--7b82b010-b1c0-4dae-981f-7756374a17df","name":"Café"}]}"#

@Suite struct DiodeExporterTests {
  let connector = DiodeConnector(id: "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c", name: "MISP Feed", scope: ["report", "indicator"])

  @Test func bundlesBecomePyctiFilesWithStrictlyIncreasingTimes() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    // A clock that stands still: every file must still get a later time than the one before.
    let exporter = try DiodeExporter(
      sink: DirectorySink(path: folder), options: DiodeExporterSettings(connector: connector, applicantID: "user-9"),
      clock: { 1718030034.25 })
    var names: [String] = []
    for _ in 0..<5 { names.append(try exporter.export(try record(sampleBundle))) }
    #expect(Set(names).count == 5)
    let times = names.map { FileSystem.attributes(folder + "/" + $0)!.modified }
    #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
    #expect(names[0].hasPrefix("misp_feed-") && names[0].hasSuffix("-1718030034.25.json"))
    #expect(try FileSystem.list(folder).allSatisfy { !$0.hasSuffix(".tmp") && !FileSystem.isTemporaryName($0) })
    let file = try JSONParser.parse(try FileSystem.read(folder + "/" + names[0]))
    #expect(file.objectValue?.keys == ["bundle_type", "applicant_id", "connector", "entities_types", "bundle", "update"])
    #expect(file["bundle_type"] == "DIRECTORY_BUNDLE")
    #expect(file["applicant_id"] == "user-9")
    #expect(file["connector"]?["scope"] == "report,indicator")
    #expect(file["bundle"] == (try JSONParser.parse(sampleBundle)))
    #expect(try DiodeFile(try FileSystem.read(folder + "/" + names[0])).objectCount == 1)
  }

  @Test func startsAfterTheNewestFileAlreadyThere() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    try FileSystem.writeAtomically(diodeFile("existing"), to: folder + "/existing.json")
    // An hour ahead (a clock skew between machines): new files come after it.
    setModified(folder + "/existing.json", 1_800_003_600)
    let exporter = try DiodeExporter(
      sink: DirectorySink(path: folder), options: DiodeExporterSettings(connector: connector), clock: { 1_800_000_000 })
    let name = try exporter.export(try record(sampleBundle))
    #expect(FileSystem.attributes(folder + "/" + name)!.modified > 1_800_003_600)
    // Years ahead is taken as a broken clock and not followed.
    setModified(folder + "/existing.json", 1_900_000_000)
    let next = try DiodeExporter(
      sink: DirectorySink(path: folder), options: DiodeExporterSettings(connector: connector), clock: { 1_800_000_000 })
    let later = try next.export(try record(sampleBundle))
    #expect(FileSystem.attributes(folder + "/" + later)!.modified == 1_800_000_000)
  }

  @Test func envelopesKeepTheirOwnConnectorAndApplicant() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let source = String(decoding: try diodeFixture(labFixture), as: UTF8.self)
    let exporter = try DiodeExporter(sink: DirectorySink(path: folder), options: DiodeExporterSettings())
    let name = try exporter.export(try record(source))
    #expect(name.hasPrefix("lab_feed-"))
    let written = try JSONParser.parse(try FileSystem.read(folder + "/" + name))
    let original = try JSONParser.parse(source)
    #expect(written["bundle_type"] == "DIRECTORY_BUNDLE")
    for key in ["applicant_id", "connector", "entities_types", "bundle", "update"] {
      #expect(written[key] == original[key], "\(key)")
    }
  }

  @Test func singleObjectsAreWrappedInABundle() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let exporter = try DiodeExporter(sink: DirectorySink(path: folder), options: DiodeExporterSettings(connector: connector))
    let name = try exporter.export(try record(#"{"type":"identity","id":"identity--7b82b010-b1c0-4dae-981f-7756374a17df","name":"x"}"#))
    let envelope = try DiodeFile(try FileSystem.read(folder + "/" + name))
    #expect(envelope.objectCount == 1)
    let bundle = try JSONParser.parse(Array(envelope.bundleBytes))
    #expect(bundle["type"] == "bundle")
    #expect(bundle["id"]?.stringValue.map(STIXIdentifier.isValid) == true)
  }

  @Test func refusesWhatCannotBeAFile() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let bare = try DiodeExporter(sink: DirectorySink(path: folder), options: DiodeExporterSettings())
    #expect(throws: ConfigError.self) { try bare.export(try record(sampleBundle)) }
    let exporter = try DiodeExporter(sink: DirectorySink(path: folder), options: DiodeExporterSettings(connector: connector))
    #expect(throws: RecordError.self) {
      try exporter.export(try record(#"{"type":"bundle","id":"bundle--3f1c5f0e-6a0b-4a59-9a7e-0c2d1e4b5a61","objects":[]}"#))
    }
    #expect(throws: RecordError.self) { try exporter.export(try record(#"{"id":"1-0","event":"create","data":{}}"#)) }
    #expect(try FileSystem.list(folder).isEmpty)
  }

  @Test func retentionRemovesOnlyThisConnectorsOldFiles() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let now = 2_000_000_000.0
    for (name, age) in [("misp_feed-old.json", 10.0), ("misp_feed-new.json", 1), ("other-old.json", 10), ("misp_feed-old.json.tmp", 10)] {
      try FileSystem.writeAtomically(diodeFile(name), to: folder + "/" + name)
      setModified(folder + "/" + name, now - age * 86400)
    }
    let exporter = try DiodeExporter(
      sink: DirectorySink(path: folder), options: DiodeExporterSettings(connector: connector, retentionDays: 7), clock: { now })
    #expect(try exporter.applyRetention() == 1)
    #expect(try FileSystem.list(folder).sorted() == ["misp_feed-new.json", "misp_feed-old.json.tmp", "other-old.json"])
  }

  /// A kill -9 between writing and renaming leaves a temporary; the next export removes it once
  /// it is older than a minute (issue 11).
  @Test func startingRemovesTemporariesOfAKilledRun() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let stale = FileSystem.temporaryPath(for: folder + "/misp_feed-20240610-143354-1718030034.123456.json")
    let young = FileSystem.temporaryPath(for: folder + "/misp_feed-20240610-143355-1718030035.json")
    for path in [stale, young] { try FileSystem.writeAtomically(Array("{".utf8), to: path) }
    setModified(stale, Date().timeIntervalSince1970 - 120)
    let exporter = try DiodeExporter(sink: DirectorySink(path: folder), options: DiodeExporterSettings(connector: connector))
    #expect(exporter.staleTemporariesRemoved == 1)
    #expect(try FileSystem.list(folder) == [FileSystem.baseName(of: young)])
  }
}
