/// A JSON value that keeps what the input said: object members stay in their order and numbers
/// keep their text, so a value parsed and written again comes out the same.
package enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  /// A number as it was written (for example `1.50` or `-0`), never converted through a Double.
  case number(String)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)

  /// A number value from an integer.
  package static func int<T: BinaryInteger>(_ value: T) -> JSONValue { .number(String(value)) }

  /// A number value from an `Int` (non-generic: the generic conversion to text is several times
  /// slower, and objects are full of scores and counts).
  package static func int(_ value: Int) -> JSONValue { .number(value.description) }

  package var stringValue: String? {
    if case .string(let value) = self { return value }
    return nil
  }

  package var boolValue: Bool? {
    if case .bool(let value) = self { return value }
    return nil
  }

  package var numberText: String? {
    if case .number(let value) = self { return value }
    return nil
  }

  /// The number as an integer, when it is written as one (or as a string holding one).
  package var intValue: Int? {
    switch self {
    case .number(let text): return Int(text) ?? Double(text).flatMap { $0 == $0.rounded() ? Int(exactly: $0) : nil }
    case .string(let text): return Int(text.trimmingSpaces)
    default: return nil
    }
  }

  package var arrayValue: [JSONValue]? {
    if case .array(let value) = self { return value }
    return nil
  }

  package var objectValue: JSONObject? {
    if case .object(let value) = self { return value }
    return nil
  }

  package var isNull: Bool { self == .null }

  /// The member `key` of an object value; nil for other values or a missing key.
  package subscript(key: String) -> JSONValue? {
    objectValue?[key]
  }
}

/// A JSON object whose members keep their input order. Lookups are linear, which is fastest for
/// the small objects STIX is made of.
package struct JSONObject: Sendable, Equatable, Sequence {
  package private(set) var members: [(key: String, value: JSONValue)]

  package init() { members = [] }

  package init(_ members: [(key: String, value: JSONValue)]) {
    self.members = members
  }

  package var count: Int { members.count }
  package var isEmpty: Bool { members.isEmpty }
  package var keys: [String] { members.map(\.key) }

  /// Reads a member; setting nil removes it, setting a new key appends it, an existing key keeps
  /// its place.
  package subscript(key: String) -> JSONValue? {
    get {
      for member in members where member.key == key { return member.value }
      return nil
    }
    set {
      if let index = members.firstIndex(where: { $0.key == key }) {
        if let newValue { members[index].value = newValue } else { members.remove(at: index) }
      } else if let newValue {
        members.append((key, newValue))
      }
    }
  }

  /// Appends a member without looking for an existing one with that key (nil: nothing), for
  /// building new objects whose keys are known to be distinct; much cheaper than the subscript
  /// setter, which scans the members.
  package mutating func put(_ key: String, _ value: JSONValue?) {
    if let value { members.append((key, value)) }
  }

  package func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
    members.makeIterator()
  }

  package static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
    lhs.members.count == rhs.members.count
      && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
  }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral,
  ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
  package init(stringLiteral value: String) { self = .string(value) }
  package init(booleanLiteral value: Bool) { self = .bool(value) }
  package init(nilLiteral: ()) { self = .null }
  package init(integerLiteral value: Int) { self = .number(String(value)) }
  package init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  package init(dictionaryLiteral elements: (String, JSONValue)...) {
    self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
  }
}

extension String {
  /// The string without leading and trailing ASCII white space.
  var trimmingSpaces: String {
    var scalars = Substring(self)
    while let first = scalars.first, first == " " || first == "\t" || first == "\n" || first == "\r" {
      scalars.removeFirst()
    }
    while let last = scalars.last, last == " " || last == "\t" || last == "\n" || last == "\r" {
      scalars.removeLast()
    }
    return String(scalars)
  }
}
