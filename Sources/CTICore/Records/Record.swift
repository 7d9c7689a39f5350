/// The four kinds of line the NDJSON contract knows (docs/records.md).
public enum RecordKind: String, Sendable, CaseIterable {
  /// `{"id","event","data",…}`: an OpenCTI live-stream event as cti-stream writes it.
  case streamEvent = "stream event"
  /// `{"type":"bundle","objects":[…]}`.
  case bundle
  /// `{"connector":…, "applicant_id":…, "bundle":…}`: the send_to_directory file format.
  case diodeEnvelope = "diode envelope"
  /// A single STIX object (`{"type":…, "id":"<type>--<uuid>", …}`).
  case stixObject = "STIX object"
}

/// Why a line is not a record a tool can use.
public struct RecordError: Error, Equatable, ExitCoded, CustomStringConvertible {
  public var line: Int
  public var message: String
  public var exitStatus: ExitStatus { .dataError }

  public init(line: Int, _ message: String) {
    self.line = line
    self.message = message
  }

  public var description: String { "line \(line): \(message)" }
}

/// One NDJSON line read in place: its top-level members are located and its kind recognised;
/// nothing else is parsed until a tool asks for it.
public struct Record: Sendable {
  public let line: Int
  public let object: RawObject
  public let kind: RecordKind

  /// Reads `line`; throws a `RecordError` naming the line when it is not JSON or not one of the
  /// four kinds.
  public init(_ line: Line) throws(RecordError) {
    self.line = line.number
    do {
      object = try RawObject(line.bytes)
    } catch {
      if line.bytes.first != UInt8(ascii: "{") {
        do {
          try JSONParser.validate(line.bytes)
        } catch {
          throw RecordError(line: line.number, "not JSON: \(error)")
        }
        throw RecordError(line: line.number, "not a JSON object")
      }
      throw RecordError(line: line.number, "not JSON: \(error)")
    }
    guard let kind = Record.kind(of: object) else {
      throw RecordError(
        line: line.number,
        "not a stream event, bundle, diode envelope or STIX object (keys: \(object.keys.prefix(6).joined(separator: ", ")))")
    }
    self.kind = kind
  }

  /// Recognises the kind of a top-level object by the keys it routes on.
  public static func kind(of object: RawObject) -> RecordKind? {
    if object.valueKind("event") == UInt8(ascii: "\""), object.valueKind("data") == UInt8(ascii: "{") {
      return .streamEvent
    }
    if object.valueKind("bundle") == UInt8(ascii: "{"), object.valueKind("connector") == UInt8(ascii: "{") {
      return .diodeEnvelope
    }
    guard let type = object.string("type") else { return nil }
    if type == "bundle" { return object.valueKind("objects") == UInt8(ascii: "[") ? .bundle : nil }
    if let id = object.string("id"), STIXIdentifier.isValid(id), id.hasPrefix(type + "--") { return .stixObject }
    return nil
  }
}
