#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A candidate diode file: a `*.json` file in a folder or an object under an S3 prefix.
public struct DiodeItem: Sendable, Equatable {
  /// File name in the folder, or object key.
  public var name: String
  public var size: Int
  /// mtime, or LastModified (seconds since 1970).
  public var modified: Double

  public init(name: String, size: Int, modified: Double) {
    self.name = name
    self.size = size
    self.modified = modified
  }
}

/// Why an item could not be read this time (it stays where it is for the next pass).
public struct DiodeReadDeferral: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Where diode files are read from: a folder or an S3 prefix.
public protocol DiodeSource {
  /// For messages: the folder path or `s3://bucket/prefix`.
  var location: String { get }
  /// The candidate files, in any order.
  func list() throws -> [DiodeItem]
  /// The whole content of an item. Throws `DiodeReadDeferral` when it changed while being read.
  func read(_ item: DiodeItem) throws -> [UInt8]
  func delete(_ item: DiodeItem) throws
  /// Moves an invalid item (whose content is `content`) aside with a note saying why; returns
  /// where it went.
  func quarantine(_ item: DiodeItem, content: [UInt8], reason: String) throws -> String
  /// The name the item is remembered by in the import state.
  func stateKey(_ item: DiodeItem) -> String
}

/// The import order: modification time, then name (so equal timestamps have a fixed order).
public func diodeImportOrder(_ lhs: DiodeItem, _ rhs: DiodeItem) -> Bool {
  if lhs.modified != rhs.modified { return lhs.modified < rhs.modified }
  return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
}

/// A folder of diode files, as pycti's send_to_directory writes them.
public struct DirectorySource: DiodeSource {
  public let path: String
  /// The quarantine folder's name inside `path`.
  public static let rejectedFolder = ".rejected"

  public init(path: String) { self.path = path }

  public var location: String { path }

  /// `*.json` regular files directly in the folder; `*.tmp`, dotfiles and folders are left out.
  public func list() throws -> [DiodeItem] {
    var items: [DiodeItem] = []
    for name in try FileSystem.list(path) where name.hasSuffix(".json") && !name.hasPrefix(".") {
      guard let attributes = FileSystem.attributes(path + "/" + name), !attributes.isDirectory else { continue }
      items.append(DiodeItem(name: name, size: attributes.size, modified: attributes.modified))
    }
    return items
  }

  public func read(_ item: DiodeItem) throws -> [UInt8] {
    let file = path + "/" + item.name
    let bytes = try FileSystem.read(file)
    guard let after = FileSystem.attributes(file), after.size == bytes.count, after.modified == item.modified,
      bytes.count == item.size
    else { throw DiodeReadDeferral("\(item.name) changed while it was read (still being written?)") }
    return bytes
  }

  public func delete(_ item: DiodeItem) throws {
    try FileSystem.removeFile(path + "/" + item.name)
  }

  /// Moves the file to `.rejected/` (a free name there) and writes `<name>.reason` beside it.
  public func quarantine(_ item: DiodeItem, content: [UInt8], reason: String) throws -> String {
    let folder = path + "/" + Self.rejectedFolder
    try FileSystem.makeDirectory(folder)
    var target = item.name
    var attempt = 1
    while FileSystem.exists(folder + "/" + target) || FileSystem.exists(folder + "/" + target + ".reason") {
      attempt += 1
      target = item.name + "." + String(attempt)
    }
    try FileSystem.writeAtomically(diodeRejectionNote(item, reason: reason), to: folder + "/" + target + ".reason")
    if rename(path + "/" + item.name, folder + "/" + target) != 0 {
      throw FileSystemError("rename", path + "/" + item.name)
    }
    return Self.rejectedFolder + "/" + target
  }

  public func stateKey(_ item: DiodeItem) -> String { item.name }
}

/// The `.reason` note written beside a quarantined file.
func diodeRejectionNote(_ item: DiodeItem, reason: String) -> [UInt8] {
  Array("file: \(item.name)\nsize: \(item.size)\nrejected: \(ISO8601.format(.now, fractionDigits: 0))\nreason: \(reason)\n".utf8)
}
