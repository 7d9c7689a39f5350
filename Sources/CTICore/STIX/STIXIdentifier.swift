/// STIX identifier shape: `<type>--<uuid>`, the type in lower case letters, digits and hyphens.
package enum STIXIdentifier {
  /// The longest id accepted (a type of up to 250 characters plus the uuid), so every id fits a
  /// file name with its `.json` ending.
  package static let maxLength = 250

  /// Whether `id` is `<type>--<uuid>` with a lower-case type and a canonical lower- or
  /// upper-case hexadecimal uuid; such an id is safe as a file name.
  package static func isValid(_ id: String) -> Bool {
    let utf8 = Array(id.utf8)
    guard utf8.count <= maxLength, utf8.count > 38 else { return false }
    let uuidStart = utf8.count - 36
    guard utf8[uuidStart - 1] == UInt8(ascii: "-"), utf8[uuidStart - 2] == UInt8(ascii: "-") else { return false }
    let type = utf8[..<(uuidStart - 2)]
    guard let first = type.first, isLowerAlnum(first), let last = type.last, isLowerAlnum(last),
      type.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "-") })
    else { return false }
    return isUUID(utf8[uuidStart...])
  }

  /// The type part of a valid id (`indicator` for `indicator--…`).
  package static func type(of id: String) -> String? {
    guard isValid(id) else { return nil }
    return String(id.utf8.dropLast(38))
  }

  static func isUUID<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
    guard bytes.count == 36 else { return false }
    for (position, byte) in bytes.enumerated() {
      if position == 8 || position == 13 || position == 18 || position == 23 {
        guard byte == UInt8(ascii: "-") else { return false }
      } else {
        guard isHex(byte) else { return false }
      }
    }
    return true
  }

  private static func isLowerAlnum(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
  }

  private static func isHex(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
      || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
  }
}
