/// What applying one record did to the backup tree.
package enum BackupOutcome: Equatable, Sendable {
  case written
  case deleted(found: Bool)
  /// A merge: the target written and this many source files removed.
  case merged(sourcesRemoved: Int)
  /// A heartbeat, `connected` or an event name the backup does not handle.
  case ignored(event: String)
}

/// Counts of what a backup run did, for the summary line.
package struct BackupCounts: Sendable, Equatable {
  package var written = 0
  package var deleted = 0
  package var deleteMissing = 0
  package var merged = 0
  package var mergeSourcesRemoved = 0
  package var ignored = 0
  package var foldersCreated = 0
  package var foldersRemoved = 0
  /// Files moved to another folder because the object's date changed.
  package var moved = 0
  /// Objects written without a date of their own (filed by the fallback rule).
  package var undated = 0
  /// Objects of bundles that could not be written (each reported; the rest was written).
  package var objectsFailed = 0
}

/// What opening a backup tree found and put right.
package struct BackupOpening: Sendable, Equatable {
  /// The backup folder did not exist and was created.
  package var createdRoot = false
  /// Files indexed (one per id).
  package var files = 0
  package var buckets = 0
  /// Older copies of ids stored in several folders, removed (the last folder's copy is kept).
  package var duplicatesRemoved = 0
  /// Temporary files older than a minute, left by a run that was killed, removed.
  package var temporariesRemoved = 0
}

/// One object of a bundle that could not be written; the rest of the bundle is written.
package struct BackupObjectError: ToolError {
  /// Its place in the bundle, from 1.
  package var position: Int
  package var count: Int
  package var id: String?
  package var reason: String
  package var exitStatus: ExitStatus { .dataError }
  package var description: String {
    "object \(position) of \(count) in the bundle (\(id ?? "no id")): \(reason); not written"
  }
}

/// Applies stream events (and bare STIX objects or bundles, taken as creations) to a backup
/// tree: create/update overwrite the object's file atomically, delete removes it (and a bucket
/// folder it leaves empty), merge writes the target and removes the merged sources' files.
///
/// Each id has one file in the whole tree. The writer lists every bucket folder once when it
/// opens the tree (repairing ids found in several folders) and keeps that index current, so a
/// file follows its object to another folder when the object's date changes, and deletes and
/// merges find a file wherever it is.
package final class BackupWriter {
  package let tree: BackupTree
  package let bucket: BucketSize
  /// fsync every file and folder change before going on.
  package let durable: Bool
  package private(set) var counts = BackupCounts()
  package private(set) var opening = BackupOpening()
  /// Fetches attachments before an object is written, when the platform is known.
  package var attachments: AttachmentFetcher?
  /// Told about each attachment that could not be fetched.
  package var attachmentProblem: (String) -> Void = { _ in }
  /// Told about each object of a bundle that cannot be written, before the writer goes on with
  /// the next one; what it throws (under --strict) stops the writer there.
  package var objectProblem: (BackupObjectError) throws -> Void = { throw $0 }
  /// The time an undated object is filed at when nothing else gives one.
  package var clock: () -> ISO8601.Instant = { .now }
  private var index = BackupIndex()
  /// Whether each bucket (by number) exists as a folder.
  private var folderExists: [Bool] = []

  /// Opens the tree under `path`. A missing backup folder is created (`opening.createdRoot`),
  /// and `opencti_data` too. A path that names a file is refused.
  package init(path: String, bucket: BucketSize, durable: Bool) throws {
    tree = BackupTree(path: path)
    self.bucket = bucket
    self.durable = durable
    if FileSystem.exists(path) {
      guard FileSystem.isDirectory(path) else { throw NotAFolderError(path, role: "backup path") }
    } else {
      try FileSystem.makeDirectories(path)
      opening.createdRoot = true
      if durable { try FileSystem.syncDirectory(FileSystem.parent(of: path)) }
    }
    if FileSystem.exists(tree.dataPath) {
      guard FileSystem.isDirectory(tree.dataPath) else { throw NotAFolderError(tree.dataPath, role: "backup data path") }
    } else {
      try FileSystem.makeDirectory(tree.dataPath)
      if durable { try FileSystem.syncDirectory(path) }
    }
    try scan()
  }

  /// Indexes every bucket folder (one listing each), oldest first. An id found in several
  /// folders keeps the last folder's file, as restore does; stale temporaries are removed.
  private func scan() throws(FileSystemError) {
    for name in try FileSystem.list(tree.dataPath).sorted() where BackupTree.isBucketName(name) {
      let folder = tree.folderPath(name)
      guard FileSystem.isDirectory(folder) else { continue }
      let number = bucketNumber(name)
      folderExists[Int(number)] = true
      opening.buckets += 1
      var temporaries: [String] = []
      var superseded: [(file: String, bucket: UInt32)] = []
      try FileSystem.forEachName(in: folder) { bytes in
        if bytes.count > 5, bytes[0] != UInt8(ascii: "."), bytes.suffix(5).elementsEqual(".json".utf8) {
          if let previous = index.set(UnsafeBufferPointer(rebasing: bytes.dropLast(5)), bucket: number) {
            superseded.append((String(decoding: bytes, as: UTF8.self), previous))
          } else {
            opening.files += 1
          }
        } else if FileSystem.isTemporaryName(Array(bytes)[...]) {
          temporaries.append(String(decoding: bytes, as: UTF8.self))
        }
      }
      for temporary in temporaries where try FileSystem.removeIfStaleTemporary(folder + "/" + temporary) {
        opening.temporariesRemoved += 1
      }
      for (file, previous) in superseded {
        if try FileSystem.removeFile(tree.folderPath(index.bucketNames[Int(previous)]) + "/" + file) {
          opening.duplicatesRemoved += 1
          try removeFolderIfEmpty(previous)
        }
      }
    }
  }

  /// Applies one record.
  @discardableResult
  package func apply(_ record: Record) throws -> BackupOutcome {
    switch record.kind {
    case .streamEvent:
      return try applyEvent(record.object)
    case .stixObject:
      try writeSingle(record.object, eventTime: nil)
      return .written
    case .bundle:
      return try writeBundle(record.object)
    case .diodeEnvelope:
      guard let bundle = record.object.object("bundle") else { throw BackupError("the envelope has no bundle object") }
      return try writeBundle(bundle)
    case .controlEvent, .checkpoint:
      counts.ignored += 1
      return .ignored(event: record.object.string("event") ?? record.kind.rawValue)
    }
  }

  /// Stores every object of a bundle as a creation. An object that cannot be written is
  /// reported through `objectProblem` and the others are still written.
  private func writeBundle(_ bundle: RawObject) throws -> BackupOutcome {
    guard let elements = bundle.arrayElements("objects") else { throw BackupError("the bundle has no objects list") }
    // First every object's id and own date, so that undated objects can be filed with the
    // objects of the bundle that reference them.
    var entries: [Result<(object: RawObject, id: String, file: String, date: ISO8601.Instant?), BackupError>] = []
    entries.reserveCapacity(elements.count)
    for range in elements {
      entries.append(
        Result { () throws(BackupError) in
          guard bundle.source[range.lowerBound] == UInt8(ascii: "{") else { throw BackupError("not a JSON object") }
          let object: RawObject
          do {
            object = try RawObject(bundle.source, range: range)
          } catch {
            throw BackupError("not JSON: \(error)")
          }
          let (id, file) = try BackupTree.fileName(of: object)
          return (object, id, file, try BackupTree.filingDate(of: object)?.instant)
        })
    }
    var referencedFrom: [String: String] = [:]
    let undated = Set(entries.compactMap { entry in (try? entry.get()).flatMap { $0.date == nil ? $0.id : nil } })
    if !undated.isEmpty {
      for case .success(let entry) in entries {
        guard let date = entry.date else { continue }
        let folder = bucket.folderName(for: date)
        for reference in entry.object.references(includingCustom: false) where undated.contains(reference) {
          if referencedFrom[reference].map({ folder < $0 }) ?? true { referencedFrom[reference] = folder }
        }
      }
    }
    for (position, entry) in entries.enumerated() {
      do {
        let entry = try entry.get()
        let folder = entry.date.map(bucket.folderName(for:)) ?? undatedFolder(entry.id, referencedFrom[entry.id], eventTime: nil)
        try store(entry.object, id: entry.id, file: entry.file, folder: folder, undated: entry.date == nil)
      } catch let error as BackupError {
        try reportObject(position, of: entries.count, bundle.source, elements[position], error.message)
      } catch let error as JSONError {
        try reportObject(position, of: entries.count, bundle.source, elements[position], "\(error)")
      }
    }
    return .written
  }

  private func reportObject(_ position: Int, of count: Int, _ source: [UInt8], _ range: Range<Int>, _ reason: String) throws {
    counts.objectsFailed += 1
    let id = source[range.lowerBound] == UInt8(ascii: "{") ? (try? RawObject(source, range: range))?.string("id") : nil
    try objectProblem(BackupObjectError(position: position + 1, count: count, id: id.map(SafeName.quoted), reason: reason))
  }

  /// Writes the object of a stream event or a bare object line; what stops it is the line's problem.
  private func writeSingle(_ object: RawObject, eventTime: ISO8601.Instant?, countAsWrite: Bool = true) throws {
    let (id, file) = try BackupTree.fileName(of: object)
    let date: ISO8601.Instant?
    do {
      date = try BackupTree.filingDate(of: object)?.instant
    } catch {
      throw BackupError("\(id): \(error.message)")
    }
    let folder = date.map(bucket.folderName(for:)) ?? undatedFolder(id, nil, eventTime: eventTime)
    try store(object, id: id, file: file, folder: folder, undated: date == nil, countAsWrite: countAsWrite)
  }

  /// The folder of an object with no date of its own, the fallback rule (docs/cti-backup.md):
  /// the folder already holding its file; else the earliest folder of the objects of the same
  /// bundle that reference it; else the stream event's time; else the time it is written.
  private func undatedFolder(_ id: String, _ referencedFrom: String?, eventTime: ISO8601.Instant?) -> String {
    if let current = index.bucket(of: id) { return index.bucketNames[Int(current)] }
    if let referencedFrom { return referencedFrom }
    return bucket.folderName(for: eventTime ?? clock())
  }

  private func applyEvent(_ object: RawObject) throws -> BackupOutcome {
    let name = object.string("event") ?? ""
    guard StreamEvent.dataNames.contains(name) else {
      counts.ignored += 1
      return .ignored(event: name)
    }
    let event: StreamEvent
    do { event = try StreamEvent(object) } catch { throw BackupError(error.message) }
    let data = event.data
    switch name {
    case "create", "update":
      try writeSingle(data, eventTime: Self.eventTime(object))
      return .written
    case "delete":
      let found = try remove(data)
      counts.deleted += 1
      if !found { counts.deleteMissing += 1 }
      return .deleted(found: found)
    case "merge":
      try writeSingle(data, eventTime: Self.eventTime(object), countAsWrite: false)
      var removed = 0
      let targetID = data.string("id")
      for source in event.mergeSources where source.string("id") != targetID {
        if try remove(source) { removed += 1 }
      }
      counts.merged += 1
      counts.mergeSourcesRemoved += removed
      return .merged(sourcesRemoved: removed)
    default:
      counts.ignored += 1
      return .ignored(event: name)
    }
  }

  /// The time in a stream event's id (`<milliseconds>-<sequence>`, when the platform emitted it).
  static func eventTime(_ event: RawObject) -> ISO8601.Instant? {
    guard let id = event.string("id"), let dash = id.firstIndex(of: "-"), let milliseconds = Int64(id[..<dash]),
      milliseconds >= 0, id[id.index(after: dash)...].utf8.allSatisfy({ (48...57).contains($0) })
    else { return nil }
    return ISO8601.Instant(seconds: milliseconds / 1000, nanoseconds: Int32(milliseconds % 1000) * 1_000_000)
  }

  /// Writes an object's file into `folder`. When the id's file is in another folder, that file
  /// is first moved there, then overwritten, so the tree never holds two files for one id.
  private func store(
    _ object: RawObject, id: String, file: String, folder: String, undated: Bool, countAsWrite: Bool = true
  ) throws {
    let number = bucketNumber(folder)
    try makeFolder(number)
    let bytes =
      if let enriched = try attachments?.enrich(object, report: attachmentProblem) {
        BackupTree.fileBytes(forObject: enriched)
      } else {
        BackupTree.fileBytes(forObject: object.bytes)
      }
    let path = tree.folderPath(folder) + "/" + file
    var written = false
    if let previous = index.set(id, bucket: number), previous != number {
      let old = tree.folderPath(index.bucketNames[Int(previous)])
      do {
        try FileSystem.move(old + "/" + file, to: path)
      } catch where error.code == ENOENT {
        // Removed behind our back: nothing to move.
      } catch {
        // Another file system under opencti_data (EXDEV): the new file first, then the old one goes.
        try FileSystem.writeAtomically(bytes, to: path, durable: durable)
        try FileSystem.removeFile(old + "/" + file)
        written = true
      }
      if durable { try FileSystem.syncDirectory(old) }
      try removeFolderIfEmpty(previous)
      counts.moved += 1
    }
    if !written { try FileSystem.writeAtomically(bytes, to: path, durable: durable) }
    if countAsWrite { counts.written += 1 }
    if undated { counts.undated += 1 }
  }

  /// Removes an object's file wherever it is; an emptied bucket folder goes too. Says whether a
  /// file was there.
  private func remove(_ object: RawObject) throws -> Bool {
    let (id, file) = try BackupTree.fileName(of: object)
    guard let number = index.remove(id) else { return false }
    let folder = tree.folderPath(index.bucketNames[Int(number)])
    let found = try FileSystem.removeFile(folder + "/" + file)
    if found {
      if durable { try FileSystem.syncDirectory(folder) }
      try removeFolderIfEmpty(number)
    }
    return found
  }

  private func bucketNumber(_ name: String) -> UInt32 {
    let number = index.bucketNumber(name)
    while folderExists.count <= Int(number) { folderExists.append(false) }
    return number
  }

  private func makeFolder(_ number: UInt32) throws(FileSystemError) {
    guard !folderExists[Int(number)] else { return }
    let folder = tree.folderPath(index.bucketNames[Int(number)])
    if !FileSystem.isDirectory(folder) {
      try FileSystem.makeDirectory(folder)
      counts.foldersCreated += 1
      if durable { try FileSystem.syncDirectory(tree.dataPath) }
    }
    folderExists[Int(number)] = true
  }

  private func removeFolderIfEmpty(_ number: UInt32) throws(FileSystemError) {
    if FileSystem.removeDirectoryIfEmpty(tree.folderPath(index.bucketNames[Int(number)])) {
      folderExists[Int(number)] = false
      counts.foldersRemoved += 1
      if durable { try FileSystem.syncDirectory(tree.dataPath) }
    }
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
