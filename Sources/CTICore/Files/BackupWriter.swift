/// What applying one record did to the backup tree.
public enum BackupOutcome: Equatable, Sendable {
  case written
  case deleted(found: Bool)
  /// A merge: the target written and this many source files removed.
  case merged(sourcesRemoved: Int)
  /// A heartbeat, `connected` or an event name the backup does not handle.
  case ignored(event: String)
}

/// Counts of what a backup run did, for the summary line.
public struct BackupCounts: Sendable, Equatable {
  public var written = 0
  public var deleted = 0
  public var deleteMissing = 0
  public var merged = 0
  public var mergeSourcesRemoved = 0
  public var ignored = 0
  public var foldersCreated = 0
  public var foldersRemoved = 0
}

/// Applies stream events (and bare STIX objects or bundles, taken as creations) to a backup
/// tree: create/update overwrite the object's file atomically, delete removes it (and a bucket
/// folder it leaves empty), merge writes the target and removes the merged sources' files.
public final class BackupWriter {
  public let tree: BackupTree
  public let bucket: BucketSize
  /// fsync every file and folder change before going on.
  public let durable: Bool
  public private(set) var counts = BackupCounts()
  /// Fetches attachments before an object is written, when the platform is known.
  public var attachments: AttachmentFetcher?
  /// Told about each attachment that could not be fetched.
  public var attachmentProblem: (String) -> Void = { _ in }
  private var knownFolders = Set<String>()

  /// Opens the tree under `path`, which must exist; `opencti_data` is created if missing.
  public init(path: String, bucket: BucketSize, durable: Bool) throws(FileSystemError) {
    guard FileSystem.isDirectory(path) else { throw FileSystemError("backup path", path, ENOENT) }
    tree = BackupTree(path: path)
    self.bucket = bucket
    self.durable = durable
    if !FileSystem.isDirectory(tree.dataPath) {
      try FileSystem.makeDirectory(tree.dataPath)
      if durable { try FileSystem.syncDirectory(path) }
    }
  }

  /// Applies one record.
  @discardableResult
  public func apply(_ record: Record) throws -> BackupOutcome {
    switch record.kind {
    case .streamEvent:
      return try applyEvent(record.object)
    case .stixObject:
      try write(record.object)
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

  /// Stores every object of a bundle as a creation.
  private func writeBundle(_ bundle: RawObject) throws -> BackupOutcome {
    guard let elements = bundle.arrayElements("objects") else { throw BackupError("the bundle has no objects list") }
    for range in elements {
      guard bundle.source[range.lowerBound] == UInt8(ascii: "{") else {
        throw BackupError("a bundle element is not an object")
      }
      try write(try RawObject(bundle.source, range: range))
    }
    return .written
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
      try write(data)
      return .written
    case "delete":
      let found = try remove(data)
      counts.deleted += 1
      if !found { counts.deleteMissing += 1 }
      return .deleted(found: found)
    case "merge":
      try write(data, countAsWrite: false)
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

  private func write(_ object: RawObject, countAsWrite: Bool = true) throws {
    let (folder, file) = try tree.location(of: object, bucket: bucket)
    if !knownFolders.contains(folder) {
      if !FileSystem.isDirectory(folder) {
        try FileSystem.makeDirectory(folder)
        counts.foldersCreated += 1
        if durable { try FileSystem.syncDirectory(tree.dataPath) }
      }
      knownFolders.insert(folder)
    }
    let bytes =
      if let enriched = try attachments?.enrich(object, report: attachmentProblem) {
        BackupTree.fileBytes(forObject: enriched)
      } else {
        BackupTree.fileBytes(forObject: object.bytes)
      }
    try FileSystem.writeAtomically(bytes, to: folder + "/" + file, durable: durable)
    if countAsWrite { counts.written += 1 }
  }

  /// Removes an object's file; an emptied bucket folder goes too. Says whether a file was there.
  private func remove(_ object: RawObject) throws -> Bool {
    let (folder, file) = try tree.location(of: object, bucket: bucket)
    let found = try FileSystem.removeFile(folder + "/" + file)
    if found {
      if durable { try FileSystem.syncDirectory(folder) }
      if FileSystem.removeDirectoryIfEmpty(folder) {
        knownFolders.remove(folder)
        counts.foldersRemoved += 1
        if durable { try FileSystem.syncDirectory(tree.dataPath) }
      }
    }
    return found
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
