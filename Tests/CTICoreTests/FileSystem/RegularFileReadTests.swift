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
