import Foundation
import Testing

@testable import CTICore

@Suite struct HostileDiodeFolderTests {
  @Test func entriesThatAreNotRegularFilesAreQuarantinedOnceAndTheRestImports() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let harness = try ImportHarness(folder: folder)
    try harness.write("good.json", diodeFile("good"), modified: 1000)
    let fifo = FIFOTrap(folder + "/x.json")
    symlink("/dev/zero", folder + "/zero.json")
    let longName = String(repeating: "n", count: 245) + ".json"  // 250 bytes, invalid content
    try harness.write(longName, Array("{\"connector\":1}".utf8), modified: 1001)
    try writeRawName(folder, Array("latin".utf8) + [0xE9] + Array(".json".utf8), diodeFile("latin"), modified: 1002)
    let diagnostics = quietDiagnostics()
    let summary = try harness.pass(diagnostics: diagnostics)
    withExtendedLifetime(fifo) {}
    #expect(harness.delivered.sorted() == ["good", "latin"])
    #expect(summary.imported == 2 && summary.rejected == 3)
    #expect(diagnostics.errors == 3)
    let rejected = try FileSystem.list(folder + "/.rejected").sorted()
    #expect(rejected.count == 6)
    #expect(rejected.contains("x.json") && rejected.contains("x.json.reason") && rejected.contains("zero.json"))
    #expect(rejected.allSatisfy { $0.utf8.count <= 255 })
    let shortened = try #require(rejected.first { $0.hasPrefix("nnnn") && !$0.hasSuffix(".reason") })
    let note = String(decoding: try FileSystem.read(folder + "/.rejected/" + shortened + ".reason"), as: UTF8.self)
    #expect(note.contains("file: " + longName))
    let fifoNote = String(decoding: try FileSystem.read(folder + "/.rejected/x.json.reason"), as: UTF8.self)
    #expect(fifoNote.contains("not a regular file (a FIFO)"))
    // Nothing is left to report on the next pass.
    let again = try harness.pass(diagnostics: diagnostics)
    #expect(again.rejected == 0 && diagnostics.errors == 3)
    #expect(harness.files == [".rejected"])
  }

  @Test func filesOverTheLimitAreQuarantinedUnread() throws {
    let folder = temporaryFolder()
    defer { removeTree(folder) }
    let big = diodeFile(String(repeating: "b", count: 2000))
    try FileSystem.writeAtomically(big, to: folder + "/big.json")
    try FileSystem.writeAtomically(diodeFile("small"), to: folder + "/small.json")
    var delivered = 0
    let importer = DiodeImporter(
      source: DirectorySource(path: folder, maxFileBytes: 1000), state: try ImportState(path: nil),
      options: DiodeImporterSettings(), diagnostics: quietDiagnostics()
    ) { _, _ in
      delivered += 1
      return .delivered
    }
    let summary = try importer.runPass()
    #expect(summary.imported == 1 && summary.rejected == 1 && delivered == 1)
    let note = String(decoding: try FileSystem.read(folder + "/.rejected/big.json.reason"), as: UTF8.self)
    #expect(note.contains("\(big.count) bytes, over the limit of 1000"))
  }

  @Test func aFileThatCannotBeMovedAsideIsReportedOnceAndDoesNotStopTheOthers() throws {
    let folder = temporaryFolder()
    let elsewhere = temporaryFolder()
    defer {
      removeTree(folder)
      removeTree(elsewhere)
    }
    // A quarantine folder planted as a link must not be written through.
    symlink(elsewhere, folder + "/.rejected")
    let harness = try ImportHarness(folder: folder)
    try harness.write("bad.json", Array("[]".utf8), modified: 1000)
    try harness.write("good.json", diodeFile("good"), modified: 1001)
    var delivered = 0
    let diagnostics = quietDiagnostics()
    // One importer for every pass, as a polling run keeps it.
    let importer = DiodeImporter(
      source: DirectorySource(path: folder), state: try ImportState(path: nil), options: DiodeImporterSettings(),
      diagnostics: diagnostics
    ) { _, _ in
      delivered += 1
      return .delivered
    }
    #expect(try importer.runPass().rejected == 1)
    #expect(delivered == 1)
    try harness.write("good2.json", diodeFile("good2"), modified: 1002)
    #expect(try importer.runPass().rejected == 0)
    #expect(delivered == 2)
    #expect(diagnostics.errors == 1)
    #expect(try FileSystem.list(elsewhere).isEmpty)
    #expect(harness.files.contains("bad.json"))
  }
}
