#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One restored bucket folder: the bundle to send and what went into it.
package struct RestoredBundle: Sendable {
  package var folder: String
  /// `{"type":"bundle","id":…,"objects":[…]}` as one line; the id is derived from the folder
  /// name, so restoring the same folder twice gives the same bundle id.
  package var bytes: [UInt8]
  package var objectCount: Int
  /// Objects pulled in from later folders because something in this one references them.
  package var pulledIn: Int
  /// Referenced ids found in no folder at or after this one.
  package var unresolved: [String]
  /// Files in the folder that could not be read (name and reason; an empty name when the folder
  /// itself could not be listed); the rest is restored.
  package var badFiles: [(name: String, reason: String)]
  /// Files left out because the same id is stored again in a later folder.
  package var superseded = 0
}

/// Reads a backup tree (ours, or the official connector's minute folders) back as one bundle
/// per bucket folder, oldest first, as the official restore-files connector does: every object
/// of the folder, preceded by the objects it references (`*_ref`, `*_refs`, not `x_` keys) that
/// are missing from the folder but stored in a later one, resolved at any depth.
///
/// An id stored in several folders (an older tree, or a run killed while moving a file) is
/// restored once, from the last folder that holds it, which is where the writer keeps it.
package final class BackupRestore {
  package let tree: BackupTree
  package let folders: [String]
  /// Larger files are not read, and reported (`--max-file-bytes`).
  package let maxFileBytes: Int
  /// Entries of `opencti_data` that are not bucket folders, or bucket folders that cannot be
  /// listed, with the reason: reported by the caller, never skipped without a word.
  package let unrecognised: [(name: String, reason: String, isFolder: Bool)]
  /// For each file name, the indexes (in `folders`) of the folders holding it, ascending.
  private var index: [String: [Int32]] = [:]

  /// Lists the tree under `path` and indexes the file names of every folder.
  package init(path: String, maxFileBytes: Int = FileSystem.defaultMaxFileBytes) throws {
    tree = BackupTree(path: path)
    self.maxFileBytes = maxFileBytes
    if FileSystem.exists(path), !FileSystem.isDirectory(path) { throw NotAFolderError(path, role: "backup path") }
    guard FileSystem.isDirectory(tree.dataPath) else { throw FileSystemError("backup folder", tree.dataPath, ENOENT) }
    var folders: [String] = []
    var unrecognised: [(String, String, Bool)] = []
    let entries = try FileSystem.entries(tree.dataPath)
    for entry in entries where entry.name == nil {
      let isFolder = FileSystem.entryAttributes(pathBytes: Array((tree.dataPath + "/").utf8) + entry.bytes)?.kind == "directory"
      unrecognised.append((entry.displayName, "the name is not valid UTF-8", isFolder))
    }
    for name in entries.compactMap(\.name).sorted() {
      guard FileSystem.isDirectory(tree.folderPath(name)) else {
        unrecognised.append((name, "not a folder", false))
        continue
      }
      guard BackupTree.isBucketName(name) else {
        unrecognised.append((name, "not a backup folder name (YYYYMMDDTHHMMSSZ)", true))
        continue
      }
      do {
        let position = Int32(folders.count)
        for file in try FileSystem.list(tree.folderPath(name)) where Self.isBackupFile(file) {
          index[file, default: []].append(position)
        }
        folders.append(name)
      } catch {
        unrecognised.append((name, "cannot be read: \(error)", true))
      }
    }
    self.folders = folders
    self.unrecognised = unrecognised
  }

  static func isBackupFile(_ name: String) -> Bool {
    name.hasSuffix(".json") && !name.hasPrefix(".")
  }

  /// The bundle for the folder at `position`.
  package func bundle(at position: Int) throws(FileSystemError) -> RestoredBundle {
    let folder = folders[position]
    let folderPath = tree.folderPath(folder)
    var badFiles: [(String, String)] = []
    var objects: [RawObject] = []
    var present = Set<String>()
    var superseded = 0
    var names: [String] = []
    do {
      for entry in try FileSystem.entries(folderPath) {
        guard let name = entry.name else {
          // No object is stored under such a name; say so rather than pass it over.
          badFiles.append((entry.displayName, "the file name is not valid UTF-8, so it is no <stix-id>.json"))
          continue
        }
        names.append(name)
      }
    } catch {
      return RestoredBundle(
        folder: folder, bytes: [], objectCount: 0, pulledIn: 0, unresolved: [], badFiles: [("", "\(error)")])
    }
    for name in names.sorted() {
      guard Self.isBackupFile(name) else {
        // A temporary belongs to a writer at work (or a killed one); anything else is reported.
        if !FileSystem.isTemporaryName(name) { badFiles.append((name, "not a backup file (<id>.json)")) }
        continue
      }
      if let last = index[name]?.last, last != position {
        superseded += 1
        continue
      }
      do {
        for object in try Self.objects(inFile: folderPath + "/" + name, maxBytes: maxFileBytes) {
          if let id = object.string("id"), present.insert(id).inserted { objects.append(object) }
        }
      } catch {
        badFiles.append((name, "\(error)"))
      }
    }
    // Missing references are pulled from later folders, each object before the objects that
    // reference it (a depth-first walk kept on an explicit stack, so any depth fits).
    var pulled: [RawObject] = []
    var unresolved: [String] = []
    var visiting = Set<String>()
    struct Frame {
      var references: [String]
      var next = 0
      /// The pulled object whose references these are (nil for an object of the folder).
      var object: RawObject?
    }
    for object in objects {
      var stack = [Frame(references: object.references(includingCustom: false), object: nil)]
      while !stack.isEmpty {
        let top = stack.count - 1
        guard stack[top].next < stack[top].references.count else {
          if let done = stack.removeLast().object { pulled.append(done) }
          continue
        }
        let id = stack[top].references[stack[top].next]
        stack[top].next += 1
        guard !present.contains(id), visiting.insert(id).inserted else { continue }
        switch laterObject(id, after: position) {
        case .found(let found):
          present.insert(id)
          stack.append(Frame(references: found.references(includingCustom: false), object: found))
        case .earlier:
          continue
        case .missing:
          unresolved.append(id)
        }
      }
    }

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
      unresolved: unresolved, badFiles: badFiles, superseded: superseded)
  }

  enum Lookup {
    case found(RawObject)
    /// Stored in an earlier folder, so already restored.
    case earlier
    case missing
  }

  /// Where the restored copy of `id` is, seen from the folder at `position`: in a later folder
  /// (read), in an earlier one, or nowhere readable.
  func laterObject(_ id: String, after position: Int) -> Lookup {
    guard let name = try? SafeName.stixFileName(id), let holder = index[name]?.last else { return .missing }
    if holder < position { return .earlier }
    guard holder > position else { return .missing }
    let path = tree.folderPath(folders[Int(holder)]) + "/" + name
    guard let object = (try? Self.objects(inFile: path, maxBytes: maxFileBytes))?.first(where: { $0.string("id") == id })
    else { return .missing }
    return .found(object)
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
