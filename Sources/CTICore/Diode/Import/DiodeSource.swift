#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A candidate diode file: a `*.json` file in a folder or an object under an S3 prefix.
package struct DiodeItem: Sendable, Equatable {
  /// File name in the folder, or object key. A file name that is not valid UTF-8 shows its
  /// stray bytes as `%XX` here (messages, state, order); `fileName` holds the real bytes.
  package var name: String
  package var size: Int
  /// mtime, or LastModified (seconds since 1970).
  package var modified: Double
  /// The file name's bytes when they are not valid UTF-8 (nil otherwise).
  package var fileName: [UInt8]?

  package init(name: String, size: Int, modified: Double, fileName: [UInt8]? = nil) {
    self.name = name
    self.size = size
    self.modified = modified
    self.fileName = fileName
  }
}

/// Why an item could not be read this time (it stays where it is for the next pass).
package struct DiodeReadDeferral: ToolError, Sendable {
  package var description: String
  package var exitStatus: ExitStatus { .tempFail }
  package init(_ description: String) { self.description = description }
}

/// Where diode files are read from: a folder or an S3 prefix.
package protocol DiodeSource {
  /// For messages: the folder path or `s3://bucket/prefix`.
  var location: String { get }
  /// The candidate files, in any order.
  func list() throws -> [DiodeItem]
  /// The whole content of an item. Throws `DiodeReadDeferral` when it changed while being read,
  /// and a `FileReadError` that `disqualifies` for an item that can never be read as it is (not
  /// a regular file, over the size limit).
  func read(_ item: DiodeItem) throws -> [UInt8]
  func delete(_ item: DiodeItem) throws
  /// Moves an invalid item aside with a note saying why; returns where it went. `content` is
  /// its content, nil when it was refused unread.
  func quarantine(_ item: DiodeItem, content: [UInt8]?, reason: String) throws -> String
  /// The name the item is remembered by in the import state.
  func stateKey(_ item: DiodeItem) -> String
}

/// The import order: modification time, then name (so equal timestamps have a fixed order).
package func diodeImportOrder(_ lhs: DiodeItem, _ rhs: DiodeItem) -> Bool {
  if lhs.modified != rhs.modified { return lhs.modified < rhs.modified }
  return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
}

/// A folder of diode files, as pycti's send_to_directory writes them.
package struct DirectorySource: DiodeSource {
  package let path: String
  /// Files over this size are refused unread and quarantined (`--max-file-bytes`).
  package let maxFileBytes: Int
  /// The quarantine folder's name inside `path`.
  package static let rejectedFolder = ".rejected"

  package init(path: String, maxFileBytes: Int = FileSystem.defaultMaxFileBytes) {
    self.path = path
    self.maxFileBytes = maxFileBytes
  }

  package var location: String { path }

  /// `*.json` entries directly in the folder; `*.tmp`, dotfiles and folders are left out.
  /// Entries that are not regular files (FIFOs, devices, links) are listed, so that the import
  /// reports and quarantines them rather than passing them over in silence, and so are names
  /// that are not UTF-8, kept byte for byte.
  package func list() throws -> [DiodeItem] {
    var items: [DiodeItem] = []
    for entry in try FileSystem.entries(path) {
      let bytes = entry.bytes
      guard bytes.count > 5, bytes.first != UInt8(ascii: "."), bytes.suffix(5).elementsEqual(".json".utf8),
        let attributes = FileSystem.entryAttributes(pathBytes: pathBytes(bytes)), attributes.kind != "directory"
      else { continue }
      items.append(
        DiodeItem(
          name: entry.displayName, size: attributes.size, modified: attributes.modified,
          fileName: entry.name == nil ? bytes : nil))
    }
    return items
  }

  package func read(_ item: DiodeItem) throws -> [UInt8] {
    let file = pathBytes(item)
    let bytes = try FileSystem.readRegularFile(pathBytes: file, displayPath: item.name, maxBytes: maxFileBytes)
    guard let after = FileSystem.entryAttributes(pathBytes: file), after.size == bytes.count, after.modified == item.modified,
      bytes.count == item.size
    else { throw DiodeReadDeferral("\(item.name) changed while it was read (still being written?)") }
    return bytes
  }

  package func delete(_ item: DiodeItem) throws {
    try FileSystem.removeFile(pathBytes: pathBytes(item), displayPath: path + "/" + item.name)
  }

  /// Moves the file to `.rejected/` (a free name there) and writes `<name>.reason` beside it.
  /// Names are kept within NAME_MAX with the note's suffix and a counter, and a `.rejected` that
  /// is not a plain folder (a link planted on the medium) is never written through.
  package func quarantine(_ item: DiodeItem, content: [UInt8]?, reason: String) throws -> String {
    let folder = path + "/" + Self.rejectedFolder
    try FileSystem.makeDirectory(folder)
    guard FileSystem.entryAttributes(pathBytes: Array(folder.utf8))?.kind == "directory" else {
      throw FileSystemError("quarantine into", folder, ENOTDIR)
    }
    let base = Self.quarantineName(item.name)
    var target = base
    var attempt = 1
    while FileSystem.exists(folder + "/" + target) || FileSystem.exists(folder + "/" + target + ".reason") {
      attempt += 1
      target = base + "." + String(attempt)
    }
    try FileSystem.writeAtomically(diodeRejectionNote(item, reason: reason), to: folder + "/" + target + ".reason")
    try FileSystem.rename(pathBytes: pathBytes(item), displayPath: path + "/" + item.name, to: folder + "/" + target)
    return Self.rejectedFolder + "/" + target
  }

  /// The name a quarantined file gets: its own, or for a name too long to take `.reason` and a
  /// counter within NAME_MAX, its first 200 bytes, a hash of the whole name and `.json` (the
  /// note keeps the full name).
  static func quarantineName(_ name: String) -> String {
    let room = FileSystem.maxNameBytes - ".reason".utf8.count - ".999999".utf8.count
    guard name.utf8.count > room else { return name }
    let hash = Digest.sha256.hex(Array(name.utf8)).prefix(16)
    return SafeName.truncated(name, toBytes: 200) + "-" + hash + ".json"
  }

  package func stateKey(_ item: DiodeItem) -> String { item.name }

  private func pathBytes(_ item: DiodeItem) -> [UInt8] { pathBytes(item.fileName ?? Array(item.name.utf8)) }

  private func pathBytes(_ name: [UInt8]) -> [UInt8] { Array((path + "/").utf8) + name }
}

/// The `.reason` note written beside a quarantined file.
func diodeRejectionNote(_ item: DiodeItem, reason: String) -> [UInt8] {
  Array("file: \(item.name)\nsize: \(item.size)\nrejected: \(ISO8601.format(.now, fractionDigits: 0))\nreason: \(reason)\n".utf8)
}
