/// An S3 prefix written as pycti's send_to_s3 does: one `put_object` per file (atomic on S3),
/// `S3_BUNDLE` in the content, content type `application/json`.
package struct S3Sink: DiodeSink {
  package let client: S3Client
  package let target: S3Location

  package init(client: S3Client, location: S3Location) {
    self.client = client
    target = location
  }

  package var location: String { target.description }
  package var bundleType: DiodeBundleType { .s3 }

  /// S3 sets LastModified itself; files are told apart by their names' strictly increasing times.
  package func latestModified() throws -> Double? { nil }

  package func write(name: String, content: [UInt8], modified: Double) throws -> Double {
    try client.putObject(bucket: target.bucket, key: target.prefix + name, body: content)
    return modified
  }

  package func expired(prefix: String, before: Double) throws -> [String] {
    try client.listObjects(bucket: target.bucket, prefix: target.prefix + prefix)
      .filter { $0.key.hasSuffix(".json") && $0.lastModified < before }
      .map { String($0.key.dropFirst(target.prefix.count)) }
  }

  package func delete(name: String) throws {
    try client.deleteObject(bucket: target.bucket, key: target.prefix + name)
  }
}
