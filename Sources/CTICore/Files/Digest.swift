import CCrypto

/// Message digests from OpenCTI's needs (SHA-1 for UUIDv5 ids, SHA-256 for content hashes and
/// S3 payloads, MD5 where a format names it), computed by OpenSSL's libcrypto.
public enum Digest: String, Sendable {
  case md5 = "MD5"
  case sha1 = "SHA1"
  case sha256 = "SHA256"

  /// The digest of `bytes`.
  public func hash<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
    var output = [UInt8](repeating: 0, count: 64)
    var length: UInt32 = 0
    let contiguous: Void? = bytes.withContiguousStorageIfAvailable { buffer in
      compute(buffer.baseAddress, buffer.count, &output, &length)
    }
    if contiguous == nil {
      let copy = Array(bytes)
      copy.withUnsafeBufferPointer { buffer in compute(buffer.baseAddress, buffer.count, &output, &length) }
    }
    return Array(output.prefix(Int(length)))
  }

  /// The digest of a string's UTF-8 bytes.
  public func hash(_ text: String) -> [UInt8] { hash(Array(text.utf8)) }

  /// The digest as lower-case hexadecimal.
  public func hex<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    Digest.hexString(hash(bytes))
  }

  /// Lower-case hexadecimal text of `bytes`.
  public static func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  private func compute(_ pointer: UnsafePointer<UInt8>?, _ count: Int, _ output: inout [UInt8], _ length: inout UInt32) {
    let status = output.withUnsafeMutableBufferPointer { out in
      ccrypto_digest(rawValue, pointer, count, out.baseAddress, &length)
    }
    precondition(status == 1, "libcrypto has no \(rawValue) digest")
  }
}
