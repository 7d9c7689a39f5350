/// One restored bucket folder: the bundle to send and what went into it.
public struct RestoredBundle: Sendable {
  public var folder: String
  /// `{"type":"bundle","id":…,"objects":[…]}` as one line; the id is derived from the folder
  /// name, so restoring the same folder twice gives the same bundle id.
  public var bytes: [UInt8]
  public var objectCount: Int
  /// Objects pulled in from later folders because something in this one references them.
  public var pulledIn: Int
  /// Referenced ids found in no folder at or after this one.
  public var unresolved: [String]
  /// Files in the folder that could not be read (name and reason); the rest is restored.
  public var badFiles: [(name: String, reason: String)]
}

/// Reads a backup tree (ours, or the official connector's minute folders) back as one bundle
/// per bucket folder, oldest first, as the official restore-files connector does: every object
/// of the folder, preceded by the objects it references (`*_ref`, `*_refs`, not `x_` keys) that
/// are missing from the folder but stored in a later one, resolved recursively.
public final class BackupRestore {
  public let tree: BackupTree
  public let folders: [String]
  /// Larger files are not read, and reported (`--max-file-bytes`).
  public let maxFileBytes: Int
  /// For each file name, the indexes (in `folders`) of the folders holding it, ascending.
  private var index: [String: [Int]] = [:]

  /// Lists the tree under `path` and indexes the file names of every folder.
  public init(path: String, maxFileBytes: Int = FileSystem.defaultMaxFileBytes) throws(FileSystemError) {
    tree = BackupTree(path: path)
    self.maxFileBytes = maxFileBytes
    guard FileSystem.isDirectory(tree.dataPath) else { throw FileSystemError("backup folder", tree.dataPath, ENOENT) }
    folders = try tree.buckets()
    for (position, folder) in folders.enumerated() {
      for name in try FileSystem.list(tree.dataPath + "/" + folder) where name.hasSuffix(".json") && !name.hasPrefix(".") {
        index[name, default: []].append(position)
      }
    }
  }

  /// The bundle for the folder at `position`.
  public func bundle(at position: Int) throws(FileSystemError) -> RestoredBundle {
    let folder = folders[position]
    let folderPath = tree.dataPath + "/" + folder
    var badFiles: [(String, String)] = []
    var objects: [RawObject] = []
    var present = Set<String>()
    var names: [String] = []
    for entry in try FileSystem.entries(folderPath) {
      guard let name = entry.name else {
        // No object is stored under such a name; say so rather than pass it over.
        if entry.bytes.suffix(5).elementsEqual(".json".utf8) {
          badFiles.append((entry.displayName, "the file name is not valid UTF-8, so it is no <stix-id>.json"))
        }
        continue
      }
      if name.hasSuffix(".json") && !name.hasPrefix(".") { names.append(name) }
    }
    for name in names.sorted() {
      do {
        for object in try Self.objects(inFile: folderPath + "/" + name, maxBytes: maxFileBytes) {
          if let id = object.string("id"), present.insert(id).inserted { objects.append(object) }
        }
      } catch {
        badFiles.append((name, "\(error)"))
      }
    }
    // Resolve missing references from later folders, depth first, each object before the
    // objects that reference it.
    var pulled: [RawObject] = []
    var unresolved: [String] = []
    var visiting = Set<String>()
    func resolve(_ references: [String]) {
      for id in references where !present.contains(id) && !visiting.contains(id) {
        visiting.insert(id)
        guard let found = laterObject(id, after: position) else {
          unresolved.append(id)
          continue
        }
        resolve(found.references(includingCustom: false))
        present.insert(id)
        pulled.append(found)
      }
    }
    for object in objects { resolve(object.references(includingCustom: false)) }

    var writer = JSONWriter(capacity: 1 << 16)
    writer.append("{\"type\":\"bundle\",\"id\":")
    writer.writeString("bundle--" + UUIDv5.make(namespace: UUIDv5.stixNamespace, name: "cti-backup restore " + folder))
    writer.append(",\"objects\":[")
    for (position, object) in (pulled + objects).enumerated() {
      if position > 0 { writer.append(",") }
      writer.writeCompacted(object.bytes)
    }
    writer.append("]}")
    return RestoredBundle(
      folder: folder, bytes: writer.bytes, objectCount: pulled.count + objects.count, pulledIn: pulled.count,
      unresolved: unresolved, badFiles: badFiles)
  }

  /// The first copy of `<id>.json` in a folder after `position`.
  private func laterObject(_ id: String, after position: Int) -> RawObject? {
    guard let name = try? SafeName.stixFileName(id), let holders = index[name] else { return nil }
    for holder in holders where holder > position {
      let path = tree.dataPath + "/" + folders[holder] + "/" + name
      if let object = (try? Self.objects(inFile: path, maxBytes: maxFileBytes))?.first(where: { $0.string("id") == id }) {
        return object
      }
    }
    return nil
  }

  /// The objects of one backup file: a regular file of at most `maxBytes`, never a FIFO or a
  /// link to a device (`FileSystem.readRegularFile`).
  static func objects(inFile path: String, maxBytes: Int) throws -> [RawObject] {
    let bytes: [UInt8]
    do {
      bytes = try FileSystem.readRegularFile(path, maxBytes: maxBytes)
    } catch {
      throw BackupError(error.explanation)
    }
    let bundle = try RawObject(bytes)
    guard let elements = bundle.arrayElements("objects") else { throw BackupError("no objects list") }
    return try elements.map { range throws in try RawObject(bytes, range: range) }
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
