/// The JSON text that deterministic STIX ids hash: the JSON Canonicalization Scheme (RFC 8785)
/// as the stix2 library implements it with `utf8=False` (what pycti and stix2 call).
///
/// It differs from `JSONWriter.canonical` (Python's `json.dumps(sort_keys=True)`) in two places
/// only: keys are ordered by UTF-16 code units rather than code points, and numbers with a
/// fraction or exponent are written in ECMAScript's shortest form (`2.0` → `2`, `1e-7` → `1e-7`).
/// Strings are escaped alike (only `"`, `\` and control characters), non-ASCII kept as is.
package enum IDCanonicalJSON {
  /// The canonical text of `value`.
  package static func text(_ value: JSONValue) -> String {
    String(decoding: bytes(value), as: UTF8.self)
  }

  /// The canonical text of `value` as UTF-8 bytes.
  package static func bytes(_ value: JSONValue) -> [UInt8] {
    var writer = JSONWriter(capacity: 128)
    write(value, into: &writer)
    return writer.bytes
  }

  /// Appends the canonical text of `value` to `writer`.
  static func write(_ value: JSONValue, into writer: inout JSONWriter) {
    switch value {
    case .number(let text):
      writer.writeRaw(numberText(text).utf8)
    case .array(let elements):
      writer.append("[")
      for (position, element) in elements.enumerated() {
        if position > 0 { writer.append(",") }
        write(element, into: &writer)
      }
      writer.append("]")
    case .object(let object):
      write(members: object.members, into: &writer)
    case .null, .bool, .string:
      writer.write(value)
    }
  }

  /// An object with these members, ordered by the UTF-16 code units of their keys.
  static func write(members: [(key: String, value: JSONValue)], into writer: inout JSONWriter) {
    writer.append("{")
    var ordered = true
    var index = 1
    while ordered, index < members.count {
      ordered = precedes(members[index - 1].key, members[index].key)
      index += 1
    }
    for (position, member) in (ordered ? members : members.sorted { precedes($0.key, $1.key) }).enumerated() {
      if position > 0 { writer.append(",") }
      writer.writeString(member.key)
      writer.append(":")
      write(member.value, into: &writer)
    }
    writer.append("}")
  }

  /// Key order: UTF-16 code units, which for ASCII keys is their byte order.
  private static func precedes(_ a: String, _ b: String) -> Bool {
    if a.utf8.allSatisfy({ $0 < 0x80 }), b.utf8.allSatisfy({ $0 < 0x80 }) {
      return a.utf8.lexicographicallyPrecedes(b.utf8)
    }
    return a.utf16.lexicographicallyPrecedes(b.utf16)
  }

  /// Integers stay as written (Python ints); other numbers become floats printed the
  /// ECMAScript way, as the stix2 canonicalizer does.
  static func numberText(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }),
      let double = Double(text)
    else { return text }
    return ecmaScript(double)
  }

  /// `Number.prototype.toString()` of a finite double (ECMA-262 Number::toString, radix 10).
  package static func ecmaScript(_ value: Double) -> String {
    if value == 0 { return "0" }
    if value < 0 { return "-" + ecmaScript(-value) }
    // Swift's description is the shortest text that reads back as the same double; take its
    // digits and decimal exponent and lay them out by the ECMAScript rules.
    let description = value.description
    var mantissa = Substring(description)
    var exponent = 0
    if let e = description.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      mantissa = description[..<e]
      exponent = Int(description[description.index(after: e)...].replacingPlus()) ?? 0
    }
    var digits: [Character] = []
    var pointPosition = mantissa.count
    for (offset, character) in mantissa.enumerated() {
      if character == "." { pointPosition = offset } else { digits.append(character) }
    }
    // value = 0.digits × 10^n
    var n = pointPosition + exponent
    while digits.first == "0", digits.count > 1 {
      digits.removeFirst()
      n -= 1
    }
    while digits.last == "0", digits.count > 1 { digits.removeLast() }
    let k = digits.count
    let text = String(digits)
    if k <= n && n <= 21 {
      return text + String(repeating: "0", count: n - k)
    }
    if 0 < n && n <= 21 {
      return String(digits[..<n]) + "." + String(digits[n...])
    }
    if -6 < n && n <= 0 {
      return "0." + String(repeating: "0", count: -n) + text
    }
    let shown = n - 1
    let exponentText = (shown < 0 ? "-" : "+") + String(abs(shown))
    if k == 1 { return text + "e" + exponentText }
    return String(digits[0]) + "." + String(digits[1...]) + "e" + exponentText
  }
}

extension Substring {
  fileprivate func replacingPlus() -> Substring {
    first == "+" ? dropFirst() : self
  }
}
