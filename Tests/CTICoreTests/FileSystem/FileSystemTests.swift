import Foundation
import Testing

@testable import CTICore

func temporaryDirectory() throws -> String {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("cti-unit-" + UUID().uuidString).path
  try FileSystem.makeDirectory(path)
  return path
}

@Suite struct SafeNameTests {
  @Test(arguments: ["../x", "a/b", "..", ".", ".hidden", "", "a\u{0}b", "a\nb", "a\\b", String(repeating: "a", count: 256)])
  func rejectsNamesThatCouldEscape(name: String) {
    #expect(throws: UnsafeNameError.self) { try SafeName.join("/backup", name) }
  }

  @Test func joinsPlainNames() throws {
    #expect(try SafeName.join("/backup/", "a.json") == "/backup/a.json")
    #expect(try SafeName.join("/backup", "indicator--1.json") == "/backup/indicator--1.json")
  }

  @Test(arguments: [
    ("indicator--c2ec1f5e-0000-4000-8000-000000000001", true),
    ("x-mitre-tactic--C2EC1F5E-0000-4000-8000-000000000001", true),
    ("indicator--c2ec1f5e-0000-4000-8000-00000000000", false),
    ("../indicator--c2ec1f5e-0000-4000-8000-000000000001", false),
    ("Indicator--c2ec1f5e-0000-4000-8000-000000000001", false),
    ("indicator--c2ec1f5e-0000-4000-8000-00000000000g", false),
    ("--c2ec1f5e-0000-4000-8000-000000000001", false),
    ("indicator-c2ec1f5e-0000-4000-8000-000000000001", false),
  ])
  func onlyStixIdsBecomeFileNames(id: String, valid: Bool) {
    #expect(STIXIdentifier.isValid(id) == valid)
    #expect((try? SafeName.stixFileName(id)) == (valid ? id + ".json" : nil))
  }
}

@Suite struct FileSystemTests {
  @Test func wholeFileReadsStopAtTheirLimitForFilesAndPipes() throws {
    let folder = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/big.json"
    try FileSystem.writeAtomically([UInt8](repeating: 0x20, count: 10_000), to: path)
    #expect(try FileSystem.read(path, maxBytes: 10_000).count == 10_000)
    #expect(throws: FileSystemError("read", path, EFBIG)) { try FileSystem.read(path, maxBytes: 9_999) }
    #expect(FileSystemError("read", path, EFBIG).exitStatus == .dataError)
    // A pipe has no size to look at first: the limit holds while it is read.
    let fifo = folder + "/fifo"
    #expect(mkfifo(fifo, 0o600) == 0)
    let writer = Thread {
      let descriptor = open(fifo, O_WRONLY)
      let chunk = [UInt8](repeating: 0x20, count: 4096)
      for _ in 0..<64 where write(descriptor, chunk, chunk.count) > 0 {}
      close(descriptor)
    }
    writer.start()
    #expect(throws: FileSystemError("read", fifo, EFBIG)) { try FileSystem.read(fifo, maxBytes: 100_000) }
  }

  @Test func staleTemporariesAreRecognisedByNameAndRemovedByAge() throws {
    let folder = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let temporary = FileSystem.temporaryPath(for: folder + "/indicator--1.json")
    #expect(FileSystem.isTemporaryName(FileSystem.baseName(of: temporary)))
    for name in ["indicator--1.json", ".indicator--1.json", "x.json.tmp", ".x.json.tmp-12", ".tmp-1-2", ".x.json.tmp-a-2"] {
      #expect(!FileSystem.isTemporaryName(name), "\(name)")
    }
    let stale = folder + "/.a.json.tmp-1-2"
    let young = folder + "/.b.json.tmp-1-3"
    let old = folder + "/a.json"
    for path in [stale, young, old] { try FileSystem.writeAtomically(Array("x".utf8), to: path) }
    for path in [stale, old] {
      try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -61)], ofItemAtPath: path)
    }
    #expect(try FileSystem.removeStaleTemporaries(in: folder) == 1)
    #expect(try FileSystem.list(folder).sorted() == [".b.json.tmp-1-3", "a.json"])
  }

  @Test func atomicWriteReplacesWholeFilesAndLeavesNoTemporaries() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/f.json"
    try FileSystem.writeAtomically(Array("old".utf8), to: path)
    try FileSystem.writeAtomically(Array("new content".utf8), to: path, durable: true)
    #expect(try FileSystem.read(path) == Array("new content".utf8))
    #expect(try FileSystem.list(directory) == ["f.json"])
  }

  @Test func atomicWriteIntoAMissingFolderFailsCleanly() {
    #expect(throws: FileSystemError.self) { try FileSystem.writeAtomically([1], to: "/nonexistent-cti/f") }
  }

  @Test func directoriesAndPaths() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try FileSystem.makeDirectories(directory + "/a/b/c")
    #expect(FileSystem.isDirectory(directory + "/a/b/c"))
    #expect(FileSystem.removeDirectoryIfEmpty(directory + "/a/b/c"))
    #expect(!FileSystem.removeDirectoryIfEmpty(directory + "/a"))
    #expect(try FileSystem.removeFile(directory + "/missing") == false)
    #expect(FileSystem.parent(of: "/a/b/") == "/a")
    #expect(FileSystem.parent(of: "b") == ".")
    #expect(FileSystem.parent(of: "/b") == "/")
    #expect(FileSystem.baseName(of: "/a/b.json") == "b.json")
  }

  @Test func digestsMatchKnownValues() {
    #expect(Digest.sha256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(Digest.sha1.hex(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
    #expect(Digest.md5.hex([UInt8]()) == "d41d8cd98f00b204e9800998ecf8427e")
  }
}
