import Foundation
import Testing

@testable import CTICore

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
