/// A bucket and key prefix holding diode files, written `s3://bucket/prefix`.
public struct S3Location: Sendable, Equatable {
  public var bucket: String
  /// The key prefix: empty for the bucket root, else ending in `/`.
  public var prefix: String

  /// A folder setting read as the official importer does: `/` or `.` (or nothing) is the bucket
  /// root; otherwise leading and trailing `/` are dropped and one `/` appended.
  public init(bucket: String, folder: String) {
    self.bucket = bucket
    var trimmed = Substring(folder)
    while trimmed.hasPrefix("/") { trimmed.removeFirst() }
    while trimmed.hasSuffix("/") { trimmed.removeLast() }
    prefix = trimmed.isEmpty || trimmed == "." ? "" : trimmed + "/"
  }

  /// Reads `s3://bucket/folder`; nil for anything else.
  public init?(url: String) {
    guard url.hasPrefix("s3://") else { return nil }
    let rest = url.dropFirst(5)
    let bucket = rest.prefix { $0 != "/" }
    guard !bucket.isEmpty else { return nil }
    self.init(bucket: String(bucket), folder: String(rest.dropFirst(bucket.count)))
  }

  public var description: String { "s3://\(bucket)/\(prefix)" }
}

/// Diode files under an S3 prefix, read in LastModified-then-key order like the folder's.
/// Invalid objects are moved under `<prefix>rejected/` with a `.reason` object beside them.
public struct S3Source: DiodeSource {
  public let client: S3Client
  public let target: S3Location
  /// Objects over this size are refused unread (`--max-file-bytes`).
  public let maxFileBytes: Int

  public init(client: S3Client, location: S3Location, maxFileBytes: Int = FileSystem.defaultMaxFileBytes) {
    self.client = client
    target = location
    self.maxFileBytes = maxFileBytes
  }

  public var location: String { target.description }
  public var rejectedPrefix: String { target.prefix + "rejected/" }

  public func list() throws -> [DiodeItem] {
    try client.listObjects(bucket: target.bucket, prefix: target.prefix)
      .filter { $0.key.hasSuffix(".json") && !$0.key.hasPrefix(rejectedPrefix) }
      .map { DiodeItem(name: $0.key, size: $0.size, modified: $0.lastModified) }
  }

  public func read(_ item: DiodeItem) throws -> [UInt8] {
    guard item.size <= maxFileBytes else {
      throw FileReadError(path: "s3://\(target.bucket)/\(item.name)", reason: .tooLarge(size: item.size, limit: maxFileBytes))
    }
    return try client.getObject(bucket: target.bucket, key: item.name, maxBytes: maxFileBytes)
  }

  public func delete(_ item: DiodeItem) throws {
    try client.deleteObject(bucket: target.bucket, key: item.name)
  }

  /// Copies the object under `rejected/` (a free name there), writes the note, then deletes the
  /// original: if anything fails on the way, the original is still there. An object refused
  /// unread (too large) cannot be copied and stays where it is.
  public func quarantine(_ item: DiodeItem, content: [UInt8]?, reason: String) throws -> String {
    guard let content else { throw DiodeReadDeferral("an object refused unread cannot be copied aside; left in place") }
    let base = String(item.name.dropFirst(target.prefix.count)).replacingAll("/", with: "_")
    let taken = Set(try client.listObjects(bucket: target.bucket, prefix: rejectedPrefix + base).map(\.key))
    var key = rejectedPrefix + base
    var attempt = 1
    while taken.contains(key) || taken.contains(key + ".reason") {
      attempt += 1
      key = rejectedPrefix + base + "." + String(attempt)
    }
    try client.putObject(bucket: target.bucket, key: key, body: content)
    try client.putObject(
      bucket: target.bucket, key: key + ".reason", body: diodeRejectionNote(item, reason: reason), contentType: "text/plain")
    try client.deleteObject(bucket: target.bucket, key: item.name)
    return key
  }

  public func stateKey(_ item: DiodeItem) -> String { "s3://\(target.bucket)/\(item.name)" }
}

/// An S3 prefix written as pycti's send_to_s3 does: one `put_object` per file (atomic on S3),
/// `S3_BUNDLE` in the content, content type `application/json`.
public struct S3Sink: DiodeSink {
  public let client: S3Client
  public let target: S3Location

  public init(client: S3Client, location: S3Location) {
    self.client = client
    target = location
  }

  public var location: String { target.description }
  public var bundleType: DiodeBundleType { .s3 }

  /// S3 sets LastModified itself; files are told apart by their names' strictly increasing times.
  public func latestModified() throws -> Double? { nil }

  public func write(name: String, content: [UInt8], modified: Double) throws -> Double {
    try client.putObject(bucket: target.bucket, key: target.prefix + name, body: content)
    return modified
  }

  public func expired(prefix: String, before: Double) throws -> [String] {
    try client.listObjects(bucket: target.bucket, prefix: target.prefix + prefix)
      .filter { $0.key.hasSuffix(".json") && $0.lastModified < before }
      .map { String($0.key.dropFirst(target.prefix.count)) }
  }

  public func delete(name: String) throws {
    try client.deleteObject(bucket: target.bucket, key: target.prefix + name)
  }
}
