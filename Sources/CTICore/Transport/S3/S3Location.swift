/// A bucket and key prefix, written `s3://bucket/prefix` (read by `Location`).
package struct S3Location: Sendable, Equatable {
  package var bucket: String
  /// The key prefix: empty for the bucket root, else ending in `/`.
  package var prefix: String

  /// A folder setting read as the official importer does: `/` or `.` (or nothing) is the bucket
  /// root; otherwise leading and trailing `/` are dropped and one `/` appended.
  package init(bucket: String, folder: String) {
    self.bucket = bucket
    var trimmed = Substring(folder)
    while trimmed.hasPrefix("/") { trimmed.removeFirst() }
    while trimmed.hasSuffix("/") { trimmed.removeLast() }
    prefix = trimmed.isEmpty || trimmed == "." ? "" : trimmed + "/"
  }

  package var description: String { "s3://\(bucket)/\(prefix)" }
}
