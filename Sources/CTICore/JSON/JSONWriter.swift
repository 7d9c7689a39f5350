/// Writes JSON as compact UTF-8: no spaces, non-ASCII characters as they are, and only `"`, `\`
/// and control characters escaped. Object members keep their order and numbers their text.
///
/// `canonical` sorts object keys by code point and writes numbers as Python does, which with the
/// rest gives the bytes of Python's
/// `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`. (Deterministic
/// STIX ids hash a slightly different form, `IDCanonicalJSON`.)
///
/// `pythonStyle` gives the bytes of Python's plain `json.dumps(value)`: `", "` and `": "` between
/// items, numbers as Python writes them, and `ensure_ascii` (everything outside printable ASCII
/// as a lower-case `\uXXXX` escape, astral characters as surrogate pairs). pycti writes diode
/// files that way.
package struct JSONWriter {
  package var canonical: Bool
  package var pythonStyle: Bool
  /// The text lives in memory of its own rather than an `Array`: JSON is written in runs of a
  /// few bytes, and `Array.append(contentsOf:)` costs several times a capacity check and a copy
  /// per run. `storage` owns the memory; a copied writer copies it before writing (see `reserve`).
  private var storage: Storage
  private var base: UnsafeMutablePointer<UInt8>
  private var capacity: Int
  /// Bytes written so far.
  package private(set) var count = 0

  package init(canonical: Bool = false, pythonStyle: Bool = false, capacity: Int = 256) {
    self.canonical = canonical
    self.pythonStyle = pythonStyle
    self.capacity = max(capacity, 16)
    storage = Storage(capacity: self.capacity)
    base = storage.base
  }

  /// The text written so far.
  package var bytes: [UInt8] { withBytes { Array($0) } }

  /// Calls `body` with the text written so far, without copying it.
  package func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
    try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: base, count: count)) }
  }

  private final class Storage {
    let base: UnsafeMutablePointer<UInt8>

    init(capacity: Int) { base = .allocate(capacity: capacity) }
    deinit { base.deallocate() }
  }

  /// Makes room for `extra` more bytes in memory this writer alone holds.
  @inline(__always) private mutating func reserve(_ extra: Int) {
    if _slowPath(capacity - count < extra || !isKnownUniquelyReferenced(&storage)) { grow(extra) }
  }

  private mutating func grow(_ extra: Int) {
    var newCapacity = capacity
    while newCapacity - count < extra { newCapacity *= 2 }
    let newStorage = Storage(capacity: newCapacity)
    newStorage.base.initialize(from: base, count: count)
    storage = newStorage
    base = newStorage.base
    capacity = newCapacity
  }

  @inline(__always) private mutating func appendByte(_ byte: UInt8) {
    reserve(1)
    base[count] = byte
    count += 1
  }

  @inline(__always) private mutating func appendBytes(_ source: UnsafePointer<UInt8>, count length: Int) {
    reserve(length)
    (base + count).initialize(from: source, count: length)
    count += length
  }

  private mutating func appendBytes<Bytes: Sequence>(_ source: Bytes) where Bytes.Element == UInt8 {
    if let done: Void = source.withContiguousStorageIfAvailable({ buffer in
      if let start = buffer.baseAddress { appendBytes(start, count: buffer.count) }
    }) {
      return done
    }
    for byte in source { appendByte(byte) }
  }

  /// The text of a value as Python's `json.dumps(value)` writes it.
  package static func pythonDumps(_ value: JSONValue) -> [UInt8] {
    var writer = JSONWriter(pythonStyle: true, capacity: 4096)
    writer.write(value)
    return writer.bytes
  }

  /// The compact text of a value.
  package static func serialize(_ value: JSONValue) -> [UInt8] {
    var writer = JSONWriter()
    writer.write(value)
    return writer.bytes
  }

  /// The canonical text of a value (sorted keys), as pycti hashes it.
  package static func canonical(_ value: JSONValue) -> String {
    var writer = JSONWriter(canonical: true)
    writer.write(value)
    return String(decoding: writer.bytes, as: UTF8.self)
  }

  package mutating func write(_ value: JSONValue) {
    switch value {
    case .null: append("null")
    case .bool(let flag): append(flag ? "true" : "false")
    case .number(let text):
      appendBytes((canonical || pythonStyle ? Self.pythonNumber(text) : text).utf8)
    case .string(let text): writeString(text)
    case .array(let elements):
      appendByte(UInt8(ascii: "["))
      for (position, element) in elements.enumerated() {
        if position > 0 { separator() }
        write(element)
      }
      appendByte(UInt8(ascii: "]"))
    case .object(let object):
      appendByte(UInt8(ascii: "{"))
      let members = canonical ? object.members.sorted { Self.codePointLess($0.key, $1.key) } : object.members
      for (position, member) in members.enumerated() {
        if position > 0 { separator() }
        writeString(member.key)
        if pythonStyle { append(": ") } else { appendByte(UInt8(ascii: ":")) }
        write(member.value)
      }
      appendByte(UInt8(ascii: "}"))
    }
  }

  /// Appends bytes that already are JSON (a value cut from an input line), unchanged.
  package mutating func writeRaw<Bytes: Sequence>(_ json: Bytes) where Bytes.Element == UInt8 {
    appendBytes(json)
  }

  /// Appends already-checked JSON without the white space between its tokens, so a
  /// pretty-printed value fits on one NDJSON line. Strings and escapes are copied unchanged.
  package mutating func writeCompacted<Bytes: Collection>(_ json: Bytes) where Bytes.Element == UInt8 {
    var inString = false
    var escaped = false
    for byte in json {
      if inString {
        if escaped {
          escaped = false
        } else if byte == 0x5C {
          escaped = true
        } else if byte == 0x22 {
          inString = false
        }
        appendByte(byte)
      } else if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
        continue
      } else {
        if byte == 0x22 { inString = true }
        appendByte(byte)
      }
    }
  }

  /// Appends literal ASCII text (punctuation or a known key) unchanged.
  package mutating func append(_ text: StaticString) {
    text.withUTF8Buffer { if let start = $0.baseAddress { appendBytes(start, count: $0.count) } }
  }

  private mutating func separator() {
    if pythonStyle { append(", ") } else { appendByte(UInt8(ascii: ",")) }
  }

  package mutating func writeString(_ text: String) {
    if pythonStyle { return writeASCIIString(text) }
    if let done: Void = text.utf8.withContiguousStorageIfAvailable({ writeBufferAsString($0) }) { return done }
    var text = text
    text.withUTF8 { writeBufferAsString($0) }
  }

  /// `writeBytesAsString` for contiguous bytes: runs without anything to escape are copied in
  /// one go (the generic version appends slices, which is several times slower), and the scan
  /// for such bytes reads eight at a time.
  private mutating func writeBufferAsString(_ utf8: UnsafeBufferPointer<UInt8>) {
    guard let start = utf8.baseAddress else {
      append("\"\"")
      return
    }
    let length = utf8.count
    // Room for the quotes and the text unescaped up front, so runs are plain copies.
    reserve(length + 2)
    appendByte(UInt8(ascii: "\""))
    var run = 0
    var index = 0
    while index < length {
      if index + 8 <= length,
        !Self.mayNeedEscape(UnsafeRawPointer(start + index).loadUnaligned(as: UInt64.self))
      {
        index += 8
        continue
      }
      let byte = start[index]
      if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
        if run < index { appendBytes(start + run, count: index - run) }
        appendEscape(byte)
        run = index + 1
      }
      index += 1
    }
    if run < length { appendBytes(start + run, count: length - run) }
    appendByte(UInt8(ascii: "\""))
  }

  /// Whether any of the eight bytes in `word` is a control character, `"` or `\\` (exact for
  /// a false answer; a true one is checked byte by byte). Bit tricks: a byte below `n` (`n` ≤
  /// 0x80) sets its high bit in `(word - n…n) & ~word & 0x80…80`, and a byte equal to `c` is a
  /// zero byte of `word ^ c…c`.
  private static func mayNeedEscape(_ word: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let quotes = word ^ (ones &* 0x22)
    let backslashes = word ^ (ones &* 0x5C)
    let below = (word &- ones &* 0x20) & ~word
    let quote = (quotes &- ones) & ~quotes
    let backslash = (backslashes &- ones) & ~backslashes
    return (below | quote | backslash) & highs != 0
  }

  /// Writes UTF-8 bytes (typically a JSON text cut from the input) as the content of a JSON
  /// string: the bytes between quotes, with `"`, `\\` and control characters escaped. This is how a
  /// bundle becomes the `bundle: String!` variable of `stixBundlePush` without being re-serialised.
  package mutating func writeBytesAsString<Bytes: Collection>(_ utf8: Bytes) where Bytes.Element == UInt8 {
    appendByte(UInt8(ascii: "\""))
    writeStringContent(utf8)
    appendByte(UInt8(ascii: "\""))
  }

  /// The inside of a JSON string for `utf8`, without the quotes: for a string written in pieces
  /// (an over-long line kept in a reject file as it streams by).
  package mutating func writeStringContent<Bytes: Collection>(_ utf8: Bytes) where Bytes.Element == UInt8 {
    var run = utf8.startIndex
    var index = run
    while index != utf8.endIndex {
      let byte = utf8[index]
      if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
        appendBytes(utf8[run..<index])
        appendEscape(byte)
        run = utf8.index(after: index)
      }
      index = utf8.index(after: index)
    }
    appendBytes(utf8[run..<utf8.endIndex])
  }

  private mutating func appendEscape(_ byte: UInt8) {
    switch byte {
    case UInt8(ascii: "\""): append("\\\"")
    case UInt8(ascii: "\\"): append("\\\\")
    case 0x0A: append("\\n")
    case 0x0D: append("\\r")
    case 0x09: append("\\t")
    case 0x08: append("\\b")
    case 0x0C: append("\\f")
    default:
      append("\\u00")
      appendByte(Self.hexDigits[Int(byte >> 4)])
      appendByte(Self.hexDigits[Int(byte & 0x0F)])
    }
  }

  /// A string with Python's `ensure_ascii` escaping: only printable ASCII (0x20...0x7E) stays as
  /// it is, `"` and `\\` and the five short escapes are used where Python uses them.
  private mutating func writeASCIIString(_ text: String) {
    appendByte(UInt8(ascii: "\""))
    var text = text
    let plain = text.withUTF8 { utf8 in
      // Most STIX text is printable ASCII with nothing to escape: copy it in one go.
      guard utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else {
        return false
      }
      appendBytes(utf8)
      return true
    }
    if plain {
      appendByte(UInt8(ascii: "\""))
      return
    }
    for unit in text.utf16 {
      switch unit {
      case 0x22: append("\\\"")
      case 0x5C: append("\\\\")
      case 0x0A: append("\\n")
      case 0x0D: append("\\r")
      case 0x09: append("\\t")
      case 0x08: append("\\b")
      case 0x0C: append("\\f")
      case 0x20...0x7E: appendByte(UInt8(unit))
      default:
        append("\\u")
        for shift in stride(from: 12, through: 0, by: -4) {
          appendByte(Self.hexDigits[Int((unit >> UInt16(shift)) & 0x0F)])
        }
      }
    }
    appendByte(UInt8(ascii: "\""))
  }

  private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

  /// A number as Python's json module writes it after reading it: integers keep their digits,
  /// anything with a fraction or an exponent becomes a float in its shortest form (`1.50` →
  /// `1.5`, `1E2` → `100.0`, `1e-7` → `1e-07`), which Swift's `Double.description` matches.
  static func pythonNumber(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") }),
      let value = Double(text)
    else { return text }
    if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
    return value.description
  }

  /// Python orders `str` keys by code point; Swift's `<` on strings does not. UTF-8 byte order
  /// is code point order.
  static func codePointLess(_ lhs: String, _ rhs: String) -> Bool {
    lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
  }
}

// MARK: Objects written member by member

/// Writing an object's members straight to text, with no tree in between: the same bytes as
/// `write(.object(…))` of the members in that order, in the compact form.
extension JSONWriter {
  /// Starts an object with its first member, `{"key":`. `key` must need no escaping (a
  /// literal property name); the caller writes the value, then the other members and `}`.
  package mutating func beginObject(_ key: StaticString) {
    append("{\"")
    append(key)
    append("\":")
  }

  /// `,"key":` before a member that is not an object's first; `key` needs no escaping.
  package mutating func key(_ key: StaticString) {
    append(",\"")
    append(key)
    append("\":")
  }

  /// Ends an object begun with `beginObject`.
  package mutating func endObject() { appendByte(UInt8(ascii: "}")) }

  /// A member whose value is a string.
  package mutating func member(_ key: StaticString, _ text: String) {
    self.key(key)
    writeString(text)
  }

  /// A member whose value is an integer.
  package mutating func member(_ key: StaticString, _ number: Int) {
    self.key(key)
    appendBytes(number.description.utf8)
  }

  /// A member whose value is `true` or `false`.
  package mutating func member(_ key: StaticString, _ flag: Bool) {
    self.key(key)
    append(flag ? "true" : "false")
  }

  /// A member holding any JSON value.
  package mutating func member(_ key: StaticString, _ value: JSONValue) {
    self.key(key)
    write(value)
  }

  /// A member whose key is not a literal (it is escaped like any string).
  package mutating func member(named key: String, _ value: JSONValue) {
    appendByte(UInt8(ascii: ","))
    writeString(key)
    appendByte(UInt8(ascii: ":"))
    write(value)
  }

  /// A member whose value is a list of strings.
  package mutating func member(_ key: StaticString, _ strings: [String]) {
    self.key(key)
    appendByte(UInt8(ascii: "["))
    for (position, text) in strings.enumerated() {
      if position > 0 { appendByte(UInt8(ascii: ",")) }
      writeString(text)
    }
    appendByte(UInt8(ascii: "]"))
  }
}

extension JSONValue {
  /// The compact JSON text of this value.
  package var jsonText: String { String(decoding: JSONWriter.serialize(self), as: UTF8.self) }
}
