import CCrypto

/// Message digests from OpenCTI's needs (SHA-1 for UUIDv5 ids, SHA-256 for content hashes and
/// S3 payloads, MD5 where a format names it), computed by OpenSSL's libcrypto.
package enum Digest: String, Sendable {
  case md5 = "MD5"
  case sha1 = "SHA1"
  case sha256 = "SHA256"

  /// The digest of `bytes`.
  package func hash<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
    if let digest = bytes.withContiguousStorageIfAvailable({ hash(buffer: $0) }) { return digest }
    return Array(bytes).withUnsafeBufferPointer { hash(buffer: $0) }
  }

  private func hash(buffer: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: 64) { output, count in
      count = hash(buffer, into: output)
    }
  }

  /// Writes the digest of `buffer` at the start of `output` (64 bytes fit every digest here) and
  /// returns its length; for callers that hash many short texts.
  func hash(_ buffer: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
    precondition(output.count >= 64, "a digest needs up to 64 bytes")
    var length: UInt32 = 0
    let status = ccrypto_digest_with(implementation, buffer.baseAddress, buffer.count, output.baseAddress, &length)
    precondition(status == 1, "libcrypto has no \(rawValue) digest")
    return Int(length)
  }

  /// The digest of a string's UTF-8 bytes.
  package func hash(_ text: String) -> [UInt8] { hash(Array(text.utf8)) }

  /// The digest as lower-case hexadecimal.
  package func hex<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    Digest.hexString(hash(bytes))
  }

  /// Lower-case hexadecimal text of `bytes`.
  package static func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// libcrypto's implementation, fetched once: looking it up by name on every call costs more
  /// than hashing a short STIX id.
  private var implementation: OpaquePointer? {
    switch self {
    case .md5: Self.md5Implementation
    case .sha1: Self.sha1Implementation
    case .sha256: Self.sha256Implementation
    }
  }

  // Fetched digests are immutable and may be shared between threads.
  private nonisolated(unsafe) static let md5Implementation = EVP_MD_fetch(nil, "MD5", nil)
  private nonisolated(unsafe) static let sha1Implementation = EVP_MD_fetch(nil, "SHA1", nil)
  private nonisolated(unsafe) static let sha256Implementation = EVP_MD_fetch(nil, "SHA256", nil)
}
