/// RFC 3986 percent-encoding of UTF-8 text: the unreserved characters `A-Z a-z 0-9 - _ . ~`
/// (and the `extra` ASCII characters a caller may keep, such as `/` in an S3 key) stay as they
/// are, every other byte becomes an upper-case `%XX`, the form SigV4 signs.
package enum PercentEncoding {
  package static func encode(_ text: String, keeping extra: String = "") -> String {
    let kept = Array(extra.utf8)
    let digits = Array("0123456789ABCDEF".utf8)
    var result: [UInt8] = []
    result.reserveCapacity(text.utf8.count)
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
        result.append(byte)
      default:
        if kept.contains(byte) {
          result.append(byte)
        } else {
          result.append(contentsOf: [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }
      }
    }
    return String(decoding: result, as: UTF8.self)
  }
}
