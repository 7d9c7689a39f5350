/// Why a diode file cannot be imported. The text goes into the `.reason` note beside the
/// quarantined file.
package struct DiodeValidationError: ToolError, Equatable, Sendable {
  package var reason: String
  /// The JSON ended early: the file may still be being written.
  package var truncated: Bool

  package init(_ reason: String, truncated: Bool = false) {
    self.reason = reason
    self.truncated = truncated
  }

  package var exitStatus: ExitStatus { .dataError }
  package var description: String { reason }
}

/// The connector a diode file says it comes from (`connector` in the file).
package struct DiodeConnector: Sendable, Equatable {
  package var id: String
  package var name: String
  package var type: String
  /// The scope as the source configured it; pycti writes a comma-separated string, a YAML list
  /// comes through as a list. Empty when absent.
  package var scope: [String]
  package var auto: Bool
  package var validateBeforeImport: Bool

  package init(
    id: String, name: String, type: String = "EXTERNAL_IMPORT", scope: [String] = [], auto: Bool = false,
    validateBeforeImport: Bool = false
  ) {
    self.id = id
    self.name = name
    self.type = type
    self.scope = scope
    self.auto = auto
    self.validateBeforeImport = validateBeforeImport
  }
}

/// One diode file (the send_to_directory / send_to_s3 format), checked and read in place: the
/// routing fields are decoded, the bundle stays as the file's bytes.
package struct DiodeFile: Sendable {
  package let object: RawObject
  package let connector: DiodeConnector
  /// `applicant_id`: the key must be there; its value may be null (no user to impersonate).
  package let applicantID: String?
  /// `update` (false when absent).
  package let update: Bool
  /// Number of objects in the bundle.
  package let objectCount: Int

  /// Checks `bytes` the way an importer must before trusting them: one JSON object with a
  /// `connector` holding string `id`, `name` and `type`, an `applicant_id` key and a `bundle`
  /// whose `objects` is a non-empty list.
  package init(_ bytes: [UInt8]) throws(DiodeValidationError) {
    do {
      object = try RawObject(bytes)
    } catch {
      // The errors more bytes could cure: the text stops inside a value.
      let truncated =
        error.offset >= Self.lastNonSpace(bytes) || error.message.hasPrefix("unterminated")
        || error.message.hasPrefix("truncated") || error.message == "unexpected end of input"
      let first = bytes.first(where: { !Self.isSpace($0) })
      if first != nil, first != UInt8(ascii: "{"), !truncated {
        throw DiodeValidationError("not a JSON object")
      }
      throw DiodeValidationError("not valid JSON: \(error)", truncated: truncated)
    }
    guard let connectorObject = object.object("connector") else {
      throw DiodeValidationError(object.valueRange("connector") == nil ? "no \"connector\" key" : "\"connector\" is not an object")
    }
    func text(_ key: String) throws(DiodeValidationError) -> String {
      guard let value = connectorObject.string(key), !value.isEmpty else {
        throw DiodeValidationError("connector.\(key) is missing, empty or not a string")
      }
      return value
    }
    let id = try text("id")
    let name = try text("name")
    let type = try text("type")
    var scope: [String] = []
    switch connectorObject.value("scope") {
    case .string(let value)?:
      scope = value.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
    case .array(let items)?:
      for item in items {
        guard let value = item.stringValue else { throw DiodeValidationError("connector.scope holds a non-string item") }
        scope.append(value)
      }
    case .null?, nil: break
    default: throw DiodeValidationError("connector.scope is neither a string nor a list")
    }
    connector = DiodeConnector(
      id: id, name: name, type: type, scope: scope, auto: connectorObject.value("auto")?.boolValue ?? false,
      validateBeforeImport: connectorObject.value("validate_before_import")?.boolValue ?? false)

    switch object.value("applicant_id") {
    case nil: throw DiodeValidationError("no \"applicant_id\" key")
    case .null?: applicantID = nil
    case .string(let value)?: applicantID = value
    default: throw DiodeValidationError("\"applicant_id\" is neither a string nor null")
    }
    guard let bundle = object.object("bundle") else {
      throw DiodeValidationError(object.valueRange("bundle") == nil ? "no \"bundle\" key" : "\"bundle\" is not an object")
    }
    guard let objects = bundle.valueRange("objects"), bytes[objects.lowerBound] == UInt8(ascii: "[") else {
      throw DiodeValidationError("bundle.objects is missing or not a list")
    }
    objectCount = Self.countElements(bytes, in: objects)
    guard objectCount > 0 else { throw DiodeValidationError("bundle.objects is empty: nothing to import") }
    update = object.value("update")?.boolValue ?? false
  }

  /// The bundle, read in place.
  package var bundle: RawObject { object.object("bundle")! }

  /// The bundle's bytes, as in the file.
  package var bundleBytes: ArraySlice<UInt8> { object.rawValue("bundle")! }

  /// The envelope as one NDJSON line: the file's bytes when they already are one line, else the
  /// same JSON without its line breaks. With `applicant`, `applicant_id` is replaced (nil → null).
  package func line(replacingApplicant applicant: String?? = .none) -> [UInt8] {
    var bytes = Array(object.bytes)
    if case .some(let replacement) = applicant, let range = object.valueRange("applicant_id") {
      let shifted = (range.lowerBound - object.range.lowerBound)..<(range.upperBound - object.range.lowerBound)
      let value: JSONValue = replacement.map { .string($0) } ?? .null
      bytes.replaceSubrange(shifted, with: JSONWriter.serialize(value))
    }
    if bytes.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
      bytes = bytes.filter { $0 != 0x0A && $0 != 0x0D }  // JSON strings cannot hold raw line breaks
    }
    return bytes
  }

  private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

  private static func lastNonSpace(_ bytes: [UInt8]) -> Int {
    var index = bytes.count
    while index > 0, isSpace(bytes[index - 1]) { index -= 1 }
    return max(index - 1, 0)
  }

  /// Counts the elements of the (already validated) array at `range` without building them.
  static func countElements(_ bytes: [UInt8], in range: Range<Int>) -> Int {
    var depth = 0
    var count = 0
    var inString = false
    var index = range.lowerBound
    var sawValue = false
    while index < range.upperBound {
      let byte = bytes[index]
      if inString {
        if byte == UInt8(ascii: "\\") {
          index += 1
        } else if byte == UInt8(ascii: "\"") {
          inString = false
        }
      } else {
        switch byte {
        case UInt8(ascii: "\""):
          inString = true
          if depth == 1 { sawValue = true }
        case UInt8(ascii: "["), UInt8(ascii: "{"):
          if depth == 1 { sawValue = true }
          depth += 1
        case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
        case UInt8(ascii: ","): if depth == 1 { count += 1 }
        case 0x20, 0x09, 0x0A, 0x0D: break
        default: if depth == 1 { sawValue = true }
        }
      }
      index += 1
    }
    return sawValue ? count + 1 : 0
  }
}
