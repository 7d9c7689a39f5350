/// Diode files under an S3 prefix, read in LastModified-then-key order like the folder's.
/// Invalid objects are moved under `<prefix>rejected/` with a `.reason` object beside them.
package struct S3Source: DiodeSource {
  package let client: S3Client
  package let target: S3Location
  /// Objects over this size are refused unread (`--max-file-bytes`).
  package let maxFileBytes: Int

  package init(client: S3Client, location: S3Location, maxFileBytes: Int = FileSystem.defaultMaxFileBytes) {
    self.client = client
    target = location
    self.maxFileBytes = maxFileBytes
  }

  package var location: String { target.description }
  package var rejectedPrefix: String { target.prefix + "rejected/" }

  package func list() throws -> [DiodeItem] {
    try client.listObjects(bucket: target.bucket, prefix: target.prefix)
      .filter { $0.key.hasSuffix(".json") && !$0.key.hasPrefix(rejectedPrefix) }
      .map { DiodeItem(name: $0.key, size: $0.size, modified: $0.lastModified) }
  }

  package func read(_ item: DiodeItem) throws -> [UInt8] {
    guard item.size <= maxFileBytes else {
      throw FileReadError(path: "s3://\(target.bucket)/\(item.name)", reason: .tooLarge(size: item.size, limit: maxFileBytes))
    }
    return try client.getObject(bucket: target.bucket, key: item.name, maxBytes: maxFileBytes)
  }

  package func delete(_ item: DiodeItem) throws {
    try client.deleteObject(bucket: target.bucket, key: item.name)
  }

  /// Copies the object under `rejected/` (a free name there), writes the note, then deletes the
  /// original: if anything fails on the way, the original is still there. An object refused
  /// unread (too large) cannot be copied and stays where it is.
  package func quarantine(_ item: DiodeItem, content: [UInt8]?, reason: String) throws -> String {
    let base = String(item.name.dropFirst(target.prefix.count)).replacingAll("/", with: "_")
    let taken = Set(try client.listObjects(bucket: target.bucket, prefix: rejectedPrefix + base).map(\.key))
    var key = rejectedPrefix + base
    var attempt = 1
    while taken.contains(key) || taken.contains(key + ".reason") {
      attempt += 1
      key = rejectedPrefix + base + "." + String(attempt)
    }
    // An object refused unread (too large) is copied by the server, never read here.
    if let content {
      try client.putObject(bucket: target.bucket, key: key, body: content)
    } else {
      try client.copyObject(bucket: target.bucket, key: item.name, to: key)
    }
    try client.putObject(
      bucket: target.bucket, key: key + ".reason", body: diodeRejectionNote(item, reason: reason), contentType: "text/plain")
    try client.deleteObject(bucket: target.bucket, key: item.name)
    return key
  }

  package func stateKey(_ item: DiodeItem) -> String { "s3://\(target.bucket)/\(item.name)" }
}
