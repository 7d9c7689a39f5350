import Foundation
import Testing

@testable import CTICore

/// Creates `name` (raw bytes, possibly not UTF-8) in `folder` holding `content`.
func writeRawName(_ folder: String, _ name: [UInt8], _ content: [UInt8], modified: Double? = nil) throws {
  let path = Array((folder + "/").utf8) + name
  let descriptor = FileSystem.withCPath(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
  guard descriptor >= 0 else { throw FileSystemError("create", folder) }
  _ = FileSystem.writeAll(content, to: descriptor)
  close(descriptor)
  if let modified {
    let whole = modified.rounded(.down)
    var times = [timespec(tv_sec: Int(whole), tv_nsec: 0), timespec(tv_sec: Int(whole), tv_nsec: 0)]
    _ = FileSystem.withCPath(path) { utimensat(AT_FDCWD, $0, &times, 0) }
  }
}

/// A FIFO that a reader which blocks on it is freed from after a few seconds (a writer opens
/// and closes it), so that code still reading FIFOs fails the test instead of hanging it.
final class FIFOTrap: @unchecked Sendable {
  let path: String
  private let lock = NSLock()
  private var done = false

  init(_ path: String, unblockAfter seconds: Double = 5) {
    self.path = path
    mkfifo(path, 0o644)
    Thread.detachNewThread { [self] in
      let deadline = Date().addingTimeInterval(seconds)
      while Date() < deadline, !lock.withLock({ done }) { usleep(50_000) }
      // Only a blocked reader lets this open succeed.
      let descriptor = open(path, O_WRONLY | O_NONBLOCK)
      if descriptor >= 0 { close(descriptor) }
    }
  }

  deinit { lock.withLock { done = true } }
}

@Suite struct RegularFileReadTests {
  @Test func onlyRegularFilesWithinTheLimitAreRead() throws {
    let folder = try temporaryDirectory()
    defer { removeTree(folder) }
    try FileSystem.writeAtomically(Array("12345".utf8), to: folder + "/five.json")
    #expect(try FileSystem.readRegularFile(folder + "/five.json", maxBytes: 5) == Array("12345".utf8))
    #expect(throws: FileReadError(path: folder + "/five.json", reason: .tooLarge(size: 5, limit: 4))) {
      try FileSystem.readRegularFile(folder + "/five.json", maxBytes: 4)
    }
    let fifo = FIFOTrap(folder + "/fifo.json")
    let started = Date()
    #expect(throws: FileReadError(path: fifo.path, reason: .notRegular("FIFO"))) {
      try FileSystem.readRegularFile(fifo.path, maxBytes: 1 << 20)
    }
    #expect(Date().timeIntervalSince(started) < 2)
    symlink("/dev/zero", folder + "/zero.json")
    #expect(throws: FileReadError(path: folder + "/zero.json", reason: .notRegular("symbolic link"))) {
      try FileSystem.readRegularFile(folder + "/zero.json", maxBytes: 1 << 20)
    }
    #expect(throws: FileReadError(path: "/dev/zero", reason: .notRegular("character device"))) {
      try FileSystem.readRegularFile("/dev/zero", maxBytes: 1 << 20)
    }
    #expect(throws: FileReadError(path: folder, reason: .notRegular("directory"))) {
      try FileSystem.readRegularFile(folder, maxBytes: 1 << 20)
    }
    do {
      _ = try FileSystem.readRegularFile(folder + "/missing.json", maxBytes: 10)
      Issue.record("a missing file was read")
    } catch {
      #expect(!error.disqualifies && error.exitStatus == .noInput)
    }
  }

  @Test func namesAreKeptByteForByte() throws {
    let folder = try temporaryDirectory()
    defer { removeTree(folder) }
    let raw: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".json".utf8)
    try writeRawName(folder, raw, Array("x".utf8))
    try FileSystem.writeAtomically(Array("y".utf8), to: folder + "/café.json")
    let entries = try FileSystem.entries(folder)
    #expect(Set(entries.map(\.bytes)) == [raw, Array("café.json".utf8)])
    #expect(Set(entries.map(\.displayName)) == ["caf%E9.json", "café.json"])
    #expect(try FileSystem.list(folder) == ["café.json"])
    let path = Array((folder + "/").utf8) + raw
    #expect(try FileSystem.readRegularFile(pathBytes: path, displayPath: "x", maxBytes: 10) == Array("x".utf8))
    #expect(DirectoryEntry(bytes: [0x61, 0xF0, 0x9F, 0x98, 0x80, 0xC3]).displayName == "a😀%C3")
  }

  @Test func atomicWritesOfLongNamesStayWithinNameMax() throws {
    let folder = try temporaryDirectory()
    defer { removeTree(folder) }
    let name = String(repeating: "é", count: 125) + ".json"  // 255 bytes
    try FileSystem.writeAtomically(Array("x".utf8), to: folder + "/" + name)
    #expect(try FileSystem.list(folder) == [name])
    #expect(SafeName.truncated("aé", toBytes: 2) == "a")
  }

  @Test func fileSizeSettingsReadLikeTheLineLimit() throws {
    let configuration = Configuration(environment: ["CTI_MAX_FILE_BYTES": "256M"])
    #expect(try configuration.byteCount(InputLimitKeys.maxFileBytes, default: 1) == 256 << 20)
    #expect(try configuration.byteCount(InputLimitKeys.maxFileBytes, flag: "4K", default: 1) == 4096)
    #expect(throws: ConfigError("command line: 'lots' is not a size in bytes such as 268435456, 256M or 1G", fromCommandLine: true)) {
      try configuration.byteCount(InputLimitKeys.maxFileBytes, flag: "lots", default: 1)
    }
    #expect(throws: ConfigError.self) {
      try Configuration(environment: ["CTI_MAX_FILE_BYTES": "99999999999999999999G"]).byteCount(InputLimitKeys.maxFileBytes, default: 1)
    }
  }
}

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

@Suite struct HostileBackupTreeTests {
  @Test func restoreReportsWhatIsNotARegularFileAndRestoresTheRest() throws {
    let root = try temporaryDirectory()
    defer { removeTree(root) }
    let folder = root + "/opencti_data/20240115T140000Z"
    try FileSystem.makeDirectories(folder)
    let object = #"{"type":"indicator","id":"\#(indicatorA)","created":"2024-01-15T14:00:00Z"}"#
    try FileSystem.writeAtomically(BackupTree.fileBytes(forObject: Array(object.utf8)), to: folder + "/\(indicatorA).json")
    let fifo = FIFOTrap(folder + "/x.json")
    symlink("/dev/zero", folder + "/indicator--c2ec1f5e-0000-4000-8000-00000000000c.json")
    try writeRawName(folder, [0xFF] + Array(".json".utf8), Array("{}".utf8))
    try FileSystem.writeAtomically(Array(repeating: 0x20, count: 2000), to: folder + "/big.json")
    let restore = try BackupRestore(path: root, maxFileBytes: 1000)
    let bundle = try restore.bundle(at: 0)
    withExtendedLifetime(fifo) {}
    #expect(bundle.objectCount == 1)
    let reasons = Dictionary(uniqueKeysWithValues: bundle.badFiles.map { ($0.name, $0.reason) })
    #expect(reasons.count == 4)
    #expect(reasons["x.json"]?.contains("FIFO") == true)
    #expect(reasons["indicator--c2ec1f5e-0000-4000-8000-00000000000c.json"]?.contains("symbolic link") == true)
    #expect(reasons["%FF.json"]?.contains("not valid UTF-8") == true)
    #expect(reasons["big.json"]?.contains("over the limit of 1000") == true)
  }
}
