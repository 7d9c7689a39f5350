/// Name-based UUIDs, version 5 (RFC 9562 §5.5): SHA-1 of the namespace's 16 bytes followed by
/// the name's UTF-8 bytes, truncated to 16 bytes with the version and variant bits set.
package enum UUIDv5 {
  /// The namespace OpenCTI (pycti) and the stix2 library use for every deterministic STIX id.
  package static let stixNamespace: [UInt8] = parse("00abedb4-aa42-466c-9c01-fed23315a9b7")!

  /// The lower-case text form of the version-5 UUID of `name` in `namespace`.
  package static func make(namespace: [UInt8], name: String) -> String {
    make(namespace: namespace, name: Array(name.utf8))
  }

  /// As `make(namespace:name:)`, for a name already in UTF-8.
  package static func make(namespace: [UInt8], name: [UInt8]) -> String {
    precondition(namespace.count == 16, "a UUID namespace is 16 bytes")
    var input = namespace
    input.append(contentsOf: name)
    return make(namespaceAndName: input)
  }

  /// The UUID of bytes that are already the namespace's 16 bytes followed by the name, after
  /// `prefix` (`indicator--`…) in the same string.
  static func make(namespaceAndName input: [UInt8], prefix: String = "") -> String {
    input.withUnsafeBufferPointer { make(namespaceAndName: $0, prefix: prefix) }
  }

  static func make(namespaceAndName input: UnsafeBufferPointer<UInt8>, prefix: String = "") -> String {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { digest in
      _ = Digest.sha1.hash(input, into: digest)
      digest[6] = (digest[6] & 0x0F) | 0x50
      digest[8] = (digest[8] & 0x3F) | 0x80
      var prefix = prefix
      return prefix.withUTF8 { head in
        String(unsafeUninitializedCapacity: head.count + 36) { text in
          _ = text.initialize(fromContentsOf: head)
          return head.count
            + write(UnsafeBufferPointer(rebasing: digest[..<16]), into: UnsafeMutableBufferPointer(rebasing: text[head.count...]))
        }
      }
    }
  }

  /// The 16 bytes of a UUID written `8-4-4-4-12` in hexadecimal, or nil if `text` is not one.
  package static func parse(_ text: String) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard STIXIdentifier.isUUID(utf8) else { return nil }
    let digits = utf8.filter { $0 != UInt8(ascii: "-") }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(16)
    var index = 0
    while index < digits.count {
      bytes.append(hexValue(digits[index]) << 4 | hexValue(digits[index + 1]))
      index += 2
    }
    return bytes
  }

  /// `8-4-4-4-12` lower-case hexadecimal text of 16 bytes.
  package static func format(_ bytes: [UInt8]) -> String {
    String(unsafeUninitializedCapacity: 36) { text in
      bytes.withUnsafeBufferPointer { write(UnsafeBufferPointer(rebasing: $0.prefix(16)), into: text) }
    }
  }

  /// Writes the `8-4-4-4-12` text of 16 bytes into the first 36 bytes of `text`; returns the
  /// length written.
  private static func write(_ bytes: UnsafeBufferPointer<UInt8>, into text: UnsafeMutableBufferPointer<UInt8>) -> Int {
    var position = 0
    for index in 0..<bytes.count {
      if index == 4 || index == 6 || index == 8 || index == 10 {
        text[position] = UInt8(ascii: "-")
        position += 1
      }
      let byte = bytes[index]
      text[position] = hexDigits[Int(byte >> 4)]
      text[position + 1] = hexDigits[Int(byte & 0x0F)]
      position += 2
    }
    return position
  }

  private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

  private static func hexValue(_ digit: UInt8) -> UInt8 {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
    default: return digit - UInt8(ascii: "A") + 10
    }
  }
}
