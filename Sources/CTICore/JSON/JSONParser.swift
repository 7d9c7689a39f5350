/// What went wrong while reading JSON, and where (a byte offset into the text).
package struct JSONError: ToolError, Equatable, Sendable {
  package var message: String
  /// Zero-based byte offset of the problem.
  package var offset: Int

  package init(_ message: String, at offset: Int) {
    self.message = message
    self.offset = offset
  }

  package var exitStatus: ExitStatus { .dataError }
  package var description: String { "\(message) at byte \(offset + 1)" }
}

/// Limits that keep hostile input from exhausting the stack or memory.
package struct JSONLimits: Sendable {
  /// Deepest nesting of arrays and objects accepted.
  package var maxDepth: Int
  /// Largest text accepted, in bytes (1 GiB by default; NDJSON lines are capped earlier by the
  /// line reader).
  package var maxBytes: Int
  package init(maxDepth: Int = 512, maxBytes: Int = 1 << 30) {
    self.maxDepth = maxDepth
    self.maxBytes = maxBytes
  }
}

/// A strict RFC 8259 reader over UTF-8 bytes. It builds `JSONValue` trees, and it can also walk a
/// document without building it (`skipValue`, `members`), so a tool can route on a few fields and
/// pass the rest through as the original bytes.
package struct JSONParser {
  private let bytes: UnsafeBufferPointer<UInt8>
  private let limits: JSONLimits
  private var depth = 0

  private init(_ bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
    self.bytes = bytes
    self.limits = limits
  }

  private static func checkSize(_ count: Int, _ limits: JSONLimits) throws(JSONError) {
    if count > limits.maxBytes { throw JSONError("text of \(count) bytes is over the limit of \(limits.maxBytes)", at: 0) }
  }

  // MARK: Entry points

  /// Parses one complete JSON text; anything but white space after the value is an error.
  package static func parse(_ input: [UInt8], limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
    try checkSize(input.count, limits)
    let result: Result<JSONValue, JSONError> = input.withUnsafeBufferPointer { buffer in
      var parser = JSONParser(buffer, limits: limits)
      return Result { () throws(JSONError) in
        var index = parser.skipSpace(0)
        let value = try parser.value(&index)
        index = parser.skipSpace(index)
        guard index == parser.bytes.count else { throw JSONError("unexpected data after the JSON value", at: index) }
        return value
      }
    }
    return try result.get()
  }

  /// Parses a JSON text given as a string.
  package static func parse(_ text: String, limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
    try parse(Array(text.utf8), limits: limits)
  }

  /// Checks that `input` is one complete JSON text without building it.
  package static func validate(_ input: [UInt8], limits: JSONLimits = JSONLimits()) throws(JSONError) {
    try checkSize(input.count, limits)
    let result: Result<Void, JSONError> = input.withUnsafeBufferPointer { buffer in
      var parser = JSONParser(buffer, limits: limits)
      return Result { () throws(JSONError) in
        var index = parser.skipSpace(0)
        try parser.skip(&index)
        index = parser.skipSpace(index)
        guard index == parser.bytes.count else { throw JSONError("unexpected data after the JSON value", at: index) }
      }
    }
    try result.get()
  }

  /// The members of the object that fills `range` of `input`: each key with the byte range of its
  /// value. Values are checked but not built.
  package static func members(
    of input: UnsafeBufferPointer<UInt8>, in range: Range<Int>, limits: JSONLimits = JSONLimits()
  ) throws(JSONError) -> [(key: String, value: Range<Int>)] {
    try checkSize(range.count, limits)
    var parser = JSONParser(UnsafeBufferPointer(rebasing: input[..<range.upperBound]), limits: limits)
    var index = parser.skipSpace(range.lowerBound)
    guard index < range.upperBound, input[index] == UInt8(ascii: "{") else {
      throw JSONError("expected a JSON object", at: index)
    }
    index += 1
    var result: [(key: String, value: Range<Int>)] = []
    index = parser.skipSpace(index)
    if index < range.upperBound, input[index] == UInt8(ascii: "}") {
      index += 1
    } else {
      while true {
        guard index < range.upperBound, input[index] == UInt8(ascii: "\"") else {
          throw JSONError("expected a string key", at: index)
        }
        let key = try parser.string(&index)
        index = parser.skipSpace(index)
        guard index < range.upperBound, input[index] == UInt8(ascii: ":") else {
          throw JSONError("expected ':' after an object key", at: index)
        }
        index = parser.skipSpace(index + 1)
        let start = index
        try parser.skip(&index)
        result.append((key, start..<index))
        index = parser.skipSpace(index)
        guard index < range.upperBound else { throw JSONError("unterminated object", at: index) }
        if input[index] == UInt8(ascii: ",") {
          index = parser.skipSpace(index + 1)
          continue
        }
        guard input[index] == UInt8(ascii: "}") else { throw JSONError("expected ',' or '}' in an object", at: index) }
        index += 1
        break
      }
    }
    index = parser.skipSpace(index)
    guard index == range.upperBound else { throw JSONError("unexpected data after the JSON value", at: index) }
    return result
  }

  /// The byte ranges of the elements of the array that fills `range` of `input`. Elements are
  /// checked but not built.
  package static func elements(
    of input: UnsafeBufferPointer<UInt8>, in range: Range<Int>, limits: JSONLimits = JSONLimits()
  ) throws(JSONError) -> [Range<Int>] {
    var parser = JSONParser(UnsafeBufferPointer(rebasing: input[..<range.upperBound]), limits: limits)
    var index = parser.skipSpace(range.lowerBound)
    guard index < range.upperBound, input[index] == UInt8(ascii: "[") else {
      throw JSONError("expected a JSON array", at: index)
    }
    index = parser.skipSpace(index + 1)
    var result: [Range<Int>] = []
    if index < range.upperBound, input[index] == UInt8(ascii: "]") {
      index += 1
    } else {
      while true {
        let start = index
        try parser.skip(&index)
        result.append(start..<index)
        index = parser.skipSpace(index)
        guard index < range.upperBound else { throw JSONError("unterminated array", at: index) }
        if input[index] == UInt8(ascii: ",") {
          index = parser.skipSpace(index + 1)
          continue
        }
        guard input[index] == UInt8(ascii: "]") else { throw JSONError("expected ',' or ']' in an array", at: index) }
        index += 1
        break
      }
    }
    index = parser.skipSpace(index)
    guard index == range.upperBound else { throw JSONError("unexpected data after the JSON value", at: index) }
    return result
  }

  /// Parses the value that fills `range` of `input`.
  package static func parse(
    _ input: UnsafeBufferPointer<UInt8>, in range: Range<Int>, limits: JSONLimits = JSONLimits()
  ) throws(JSONError) -> JSONValue {
    var parser = JSONParser(UnsafeBufferPointer(rebasing: input[..<range.upperBound]), limits: limits)
    var index = parser.skipSpace(range.lowerBound)
    let value = try parser.value(&index)
    index = parser.skipSpace(index)
    guard index == range.upperBound else { throw JSONError("unexpected data after the JSON value", at: index) }
    return value
  }

  /// Decodes the JSON string literal that fills `range` of `input` (quotes included).
  package static func string(_ input: UnsafeBufferPointer<UInt8>, in range: Range<Int>) throws(JSONError) -> String {
    let parser = JSONParser(UnsafeBufferPointer(rebasing: input[..<range.upperBound]), limits: JSONLimits())
    var index = range.lowerBound
    guard index < range.upperBound, input[index] == UInt8(ascii: "\"") else {
      throw JSONError("expected a JSON string", at: index)
    }
    let value = try parser.string(&index)
    guard index == range.upperBound else { throw JSONError("unexpected data after the JSON string", at: index) }
    return value
  }

  // MARK: Grammar

  private func skipSpace(_ start: Int) -> Int {
    var index = start
    while index < bytes.count {
      switch bytes[index] {
      case 0x20, 0x09, 0x0A, 0x0D: index += 1
      default: return index
      }
    }
    return index
  }

  private mutating func value(_ index: inout Int) throws(JSONError) -> JSONValue {
    guard index < bytes.count else { throw JSONError("unexpected end of input", at: index) }
    switch bytes[index] {
    case UInt8(ascii: "{"): return .object(try object(&index))
    case UInt8(ascii: "["): return .array(try array(&index))
    case UInt8(ascii: "\""): return .string(try string(&index))
    case UInt8(ascii: "t"):
      try literal("true", &index)
      return .bool(true)
    case UInt8(ascii: "f"):
      try literal("false", &index)
      return .bool(false)
    case UInt8(ascii: "n"):
      try literal("null", &index)
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      let start = index
      try number(&index)
      return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    default:
      throw JSONError("unexpected character '\(Self.printable(bytes[index]))'", at: index)
    }
  }

  private mutating func enter(_ index: Int) throws(JSONError) {
    depth += 1
    if depth > limits.maxDepth { throw JSONError("nesting deeper than \(limits.maxDepth) levels", at: index) }
  }

  private mutating func object(_ index: inout Int) throws(JSONError) -> JSONObject {
    try enter(index)
    defer { depth -= 1 }
    index += 1
    var members: [(key: String, value: JSONValue)] = []
    index = skipSpace(index)
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return JSONObject(members)
    }
    while true {
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
        throw JSONError(index < bytes.count ? "expected a string key" : "unterminated object", at: index)
      }
      let key = try string(&index)
      index = skipSpace(index)
      guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
        throw JSONError("expected ':' after an object key", at: index)
      }
      index = skipSpace(index + 1)
      members.append((key, try value(&index)))
      index = skipSpace(index)
      guard index < bytes.count else { throw JSONError("unterminated object", at: index) }
      switch bytes[index] {
      case UInt8(ascii: ","): index = skipSpace(index + 1)
      case UInt8(ascii: "}"):
        index += 1
        return JSONObject(members)
      default: throw JSONError("expected ',' or '}' in an object", at: index)
      }
    }
  }

  private mutating func array(_ index: inout Int) throws(JSONError) -> [JSONValue] {
    try enter(index)
    defer { depth -= 1 }
    index = skipSpace(index + 1)
    var elements: [JSONValue] = []
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
      index += 1
      return elements
    }
    while true {
      elements.append(try value(&index))
      index = skipSpace(index)
      guard index < bytes.count else { throw JSONError("unterminated array", at: index) }
      switch bytes[index] {
      case UInt8(ascii: ","): index = skipSpace(index + 1)
      case UInt8(ascii: "]"):
        index += 1
        return elements
      default: throw JSONError("expected ',' or ']' in an array", at: index)
      }
    }
  }

  /// Walks over one value, checking it, without building it.
  private mutating func skip(_ index: inout Int) throws(JSONError) {
    guard index < bytes.count else { throw JSONError("unexpected end of input", at: index) }
    switch bytes[index] {
    case UInt8(ascii: "{"):
      try enter(index)
      defer { depth -= 1 }
      index = skipSpace(index + 1)
      if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
        index += 1
        return
      }
      while true {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
          throw JSONError(index < bytes.count ? "expected a string key" : "unterminated object", at: index)
        }
        try skipString(&index)
        index = skipSpace(index)
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
          throw JSONError("expected ':' after an object key", at: index)
        }
        index = skipSpace(index + 1)
        try skip(&index)
        index = skipSpace(index)
        guard index < bytes.count else { throw JSONError("unterminated object", at: index) }
        if bytes[index] == UInt8(ascii: ",") {
          index = skipSpace(index + 1)
        } else if bytes[index] == UInt8(ascii: "}") {
          index += 1
          return
        } else {
          throw JSONError("expected ',' or '}' in an object", at: index)
        }
      }
    case UInt8(ascii: "["):
      try enter(index)
      defer { depth -= 1 }
      index = skipSpace(index + 1)
      if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
        index += 1
        return
      }
      while true {
        try skip(&index)
        index = skipSpace(index)
        guard index < bytes.count else { throw JSONError("unterminated array", at: index) }
        if bytes[index] == UInt8(ascii: ",") {
          index = skipSpace(index + 1)
        } else if bytes[index] == UInt8(ascii: "]") {
          index += 1
          return
        } else {
          throw JSONError("expected ',' or ']' in an array", at: index)
        }
      }
    case UInt8(ascii: "\""): try skipString(&index)
    case UInt8(ascii: "t"): try literal("true", &index)
    case UInt8(ascii: "f"): try literal("false", &index)
    case UInt8(ascii: "n"): try literal("null", &index)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number(&index)
    default: throw JSONError("unexpected character '\(Self.printable(bytes[index]))'", at: index)
    }
  }

  private func literal(_ word: StaticString, _ index: inout Int) throws(JSONError) {
    let count = word.utf8CodeUnitCount
    guard index + count <= bytes.count,
      memcmp(bytes.baseAddress! + index, word.utf8Start, count) == 0
    else { throw JSONError("invalid literal (expected \(word))", at: index) }
    index += count
  }

  private func number(_ index: inout Int) throws(JSONError) {
    let start = index
    if bytes[index] == UInt8(ascii: "-") { index += 1 }
    guard index < bytes.count, Self.isDigit(bytes[index]) else { throw JSONError("invalid number", at: start) }
    if bytes[index] == UInt8(ascii: "0") {
      index += 1
      if index < bytes.count, Self.isDigit(bytes[index]) { throw JSONError("leading zero in a number", at: start) }
    } else {
      while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      guard index < bytes.count, Self.isDigit(bytes[index]) else { throw JSONError("invalid number: no digit after '.'", at: start) }
      while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
    }
    if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
      guard index < bytes.count, Self.isDigit(bytes[index]) else { throw JSONError("invalid number: empty exponent", at: start) }
      while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
    }
  }

  private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

  /// Finds the end of a string literal starting at `index` (on its quote); reports whether it
  /// holds escapes. Raw bytes are checked for control characters; UTF-8 is checked by the caller.
  private func scanString(_ index: inout Int) throws(JSONError) -> Bool {
    let start = index
    index += 1
    var escaped = false
    let base = bytes.baseAddress!
    while index < bytes.count {
      // Eight bytes at a time while none of them is a quote, a backslash or a control character.
      while index + 8 <= bytes.count {
        let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
        if Self.needsAttention(word) { break }
        index += 8
      }
      guard index < bytes.count else { break }
      let byte = bytes[index]
      if byte == UInt8(ascii: "\"") {
        index += 1
        return escaped
      }
      if byte == UInt8(ascii: "\\") {
        escaped = true
        index += 2
        continue
      }
      if byte < 0x20 { throw JSONError("control character in a string", at: index) }
      index += 1
    }
    throw JSONError("unterminated string", at: start)
  }

  /// Whether any byte of `word` is `"`, `\\` or below 0x20 (the classic SWAR zero-byte test).
  @inline(__always)
  private static func needsAttention(_ word: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let quote = word ^ (ones &* 0x22)
    let backslash = word ^ (ones &* 0x5C)
    let hasQuote = (quote &- ones) & ~quote
    let hasBackslash = (backslash &- ones) & ~backslash
    let hasControl = (word &- ones &* 0x20) & ~word
    return (hasQuote | hasBackslash | hasControl) & highs != 0
  }

  private func skipString(_ index: inout Int) throws(JSONError) {
    let start = index
    if try scanString(&index) {
      var again = start
      _ = try decodeEscaped(&again)
    } else if !Self.isValidUTF8(UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(index - 1)])) {
      throw JSONError("invalid UTF-8 in a string", at: start)
    }
  }

  private func string(_ index: inout Int) throws(JSONError) -> String {
    let start = index
    if try scanString(&index) {
      index = start
      return try decodeEscaped(&index)
    }
    let body = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(index - 1)])
    guard Self.isValidUTF8(body) else { throw JSONError("invalid UTF-8 in a string", at: start) }
    return String(decoding: body, as: UTF8.self)
  }

  private func decodeEscaped(_ index: inout Int) throws(JSONError) -> String {
    let start = index
    index += 1
    var out: [UInt8] = []
    out.reserveCapacity(64)
    while index < bytes.count {
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: "\""):
        index += 1
        return try out.withUnsafeBufferPointer { decoded throws(JSONError) in
          guard Self.isValidUTF8(decoded) else { throw JSONError("invalid UTF-8 in a string", at: start) }
          return String(decoding: decoded, as: UTF8.self)
        }
      case UInt8(ascii: "\\"):
        guard index + 1 < bytes.count else { throw JSONError("unterminated string", at: start) }
        let code = bytes[index + 1]
        index += 2
        switch code {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hex4(index)
          index += 4
          if (0xD800..<0xDC00).contains(scalar), index + 6 <= bytes.count,
            bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
          {
            let low = try hex4(index + 2)
            if (0xDC00..<0xE000).contains(low) {
              scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
              index += 6
            }
          }
          // A lone surrogate cannot be held in a Swift string: it becomes U+FFFD.
          let value = Unicode.Scalar(scalar) ?? "\u{FFFD}"
          out.append(contentsOf: UTF8.encode(value)!)
        default:
          throw JSONError("invalid escape '\\\(Self.printable(code))'", at: index - 2)
        }
      default:
        if byte < 0x20 { throw JSONError("control character in a string", at: index) }
        out.append(byte)
        index += 1
      }
    }
    throw JSONError("unterminated string", at: start)
  }

  private func hex4(_ at: Int) throws(JSONError) -> UInt32 {
    guard at + 4 <= bytes.count else { throw JSONError("truncated \\u escape", at: at - 2) }
    var value: UInt32 = 0
    for offset in 0..<4 {
      let byte = bytes[at + offset]
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw JSONError("invalid \\u escape", at: at - 2)
      }
      value = value << 4 | UInt32(digit)
    }
    return value
  }

  /// Strict UTF-8 check (no overlongs, no surrogates, nothing above U+10FFFF), fast on ASCII.
  static func isValidUTF8(_ body: UnsafeBufferPointer<UInt8>) -> Bool {
    var index = 0
    let count = body.count
    let base = UnsafeRawPointer(body.baseAddress)
    while index < count {
      if let base, index + 8 <= count,
        (base + index).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0
      {
        index += 8
        continue
      }
      let lead = body[index]
      if lead < 0x80 {
        index += 1
        continue
      }
      let length: Int
      var minimum: UInt32
      var scalar: UInt32
      switch lead {
      case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
      case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
      case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
      default: return false
      }
      guard index + length <= count else { return false }
      for offset in 1..<length {
        let next = body[index + offset]
        guard next & 0xC0 == 0x80 else { return false }
        scalar = scalar << 6 | UInt32(next & 0x3F)
      }
      if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return false }
      index += length
    }
    return true
  }

  private static func printable(_ byte: UInt8) -> String {
    (0x21..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16, uppercase: true)
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
