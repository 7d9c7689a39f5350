/// A JSON object read in place: its members are located (and checked) but their values stay as
/// byte ranges of the source, so a tool reads the few fields it routes on and copies the rest as
/// the original bytes.
package struct RawObject: Sendable {
  /// The bytes the object was read from (shared, not copied).
  package let source: [UInt8]
  /// Where the object is in `source`.
  package let range: Range<Int>
  /// Each member's key and the range of its value in `source`.
  package let members: [(key: String, value: Range<Int>)]

  /// Reads the object that fills `range` of `source` (the whole of it by default).
  package init(_ source: [UInt8], range: Range<Int>? = nil, limits: JSONLimits = JSONLimits()) throws(JSONError) {
    let range = range ?? 0..<source.count
    self.source = source
    self.range = range
    members = try source.withUnsafeBufferPointer { buffer throws(JSONError) in
      try JSONParser.members(of: buffer, in: range, limits: limits)
    }
  }

  package var keys: [String] { members.map(\.key) }

  /// The byte range of the value of `key`, if the object has it.
  package func valueRange(_ key: String) -> Range<Int>? {
    for member in members where member.key == key { return member.value }
    return nil
  }

  /// The raw JSON bytes of the value of `key`.
  package func rawValue(_ key: String) -> ArraySlice<UInt8>? {
    valueRange(key).map { source[$0] }
  }

  /// The first byte of the value of `key` (tells its JSON type without parsing it).
  package func valueKind(_ key: String) -> UInt8? {
    valueRange(key).map { source[$0.lowerBound] }
  }

  /// The value of `key` when it is a string; nil when it is missing or of another type.
  package func string(_ key: String) -> String? {
    guard let range = valueRange(key), source[range.lowerBound] == UInt8(ascii: "\"") else { return nil }
    return try? source.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONParser.string(buffer, in: range) }
  }

  /// The value of `key` as a nested raw object; nil when it is missing or not an object.
  package func object(_ key: String) -> RawObject? {
    guard let range = valueRange(key), source[range.lowerBound] == UInt8(ascii: "{") else { return nil }
    return try? RawObject(source, range: range)
  }

  /// The elements of the array value of `key` as byte ranges; nil when it is missing or not an
  /// array.
  package func arrayElements(_ key: String) -> [Range<Int>]? {
    guard let range = valueRange(key), source[range.lowerBound] == UInt8(ascii: "[") else { return nil }
    return try? source.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONParser.elements(of: buffer, in: range) }
  }

  /// The string elements of the array value of `key` (other elements are left out).
  package func stringArray(_ key: String) -> [String]? {
    guard let elements = arrayElements(key) else { return nil }
    return source.withUnsafeBufferPointer { buffer in
      elements.compactMap { range in
        buffer[range.lowerBound] == UInt8(ascii: "\"") ? try? JSONParser.string(buffer, in: range) : nil
      }
    }
  }

  /// The value of `key`, parsed into a tree.
  package func value(_ key: String) -> JSONValue? {
    guard let range = valueRange(key) else { return nil }
    return try? source.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONParser.parse(buffer, in: range) }
  }

  /// The whole object's bytes.
  package var bytes: ArraySlice<UInt8> { source[range] }

  /// The whole object parsed into a tree.
  package func parsed() throws(JSONError) -> JSONObject {
    let value = try source.withUnsafeBufferPointer { buffer throws(JSONError) in try JSONParser.parse(buffer, in: range) }
    return value.objectValue ?? JSONObject()
  }
}
