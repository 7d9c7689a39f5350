/// Python's `str.strip()` and `str.lower()`, which pycti applies to names before hashing them.
/// Swift's own trimming and lower-casing differ at the edges (Python strips the separators
/// U+001C…U+001F and lower-cases a final capital sigma to `ς`), and an id must not.
enum PythonText {
  /// `text.strip()`: without leading and trailing characters that Python's `str.isspace()` accepts.
  static func strip(_ text: String) -> String {
    let scalars = text.unicodeScalars
    guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
    let last = scalars.lastIndex(where: { !isSpace($0) })!
    return String(scalars[first...last])
  }

  /// `text.lower()`: full Unicode lower-case mapping, with Python's final-sigma rule.
  static func lower(_ text: String) -> String {
    let scalars = Array(text.unicodeScalars)
    guard scalars.contains(where: { $0.properties.changesWhenLowercased }) else { return text }
    var result = String.UnicodeScalarView()
    for (index, scalar) in scalars.enumerated() {
      if scalar.value == 0x03A3 {
        result.append(isFinalSigma(scalars, at: index) ? "\u{03C2}" : "\u{03C3}")
      } else {
        result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
      }
    }
    return String(result)
  }

  /// `text.lower().strip()`, the normal form of names in pycti ids.
  static func key(_ text: String) -> String { strip(lower(text)) }

  /// Python's `str.isspace()` for one character: Unicode white space plus the information
  /// separators U+001C…U+001F.
  static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
      return true
    default:
      return false
    }
  }

  /// Unicode's Final_Sigma condition: a cased letter before (skipping case-ignorable ones) and
  /// none after.
  private static func isFinalSigma(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
    var before = index - 1
    while before >= 0, scalars[before].properties.isCaseIgnorable { before -= 1 }
    guard before >= 0, scalars[before].properties.isCased else { return false }
    var after = index + 1
    while after < scalars.count, scalars[after].properties.isCaseIgnorable { after += 1 }
    return !(after < scalars.count && scalars[after].properties.isCased)
  }
}
