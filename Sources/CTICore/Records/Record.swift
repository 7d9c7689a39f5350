/// The kinds of line the NDJSON contract knows (docs/records.md). Every tool reads its input
/// through `Record`, so a line means the same thing to all of them.
package enum RecordKind: String, Sendable, CaseIterable {
  /// `{"id","event":"create|update|delete|merge","data":{…}}`: an OpenCTI live-stream event, in
  /// cti-stream's flat form or pycti's nested form (`"data":{"data":<STIX>,"context":…}`).
  case streamEvent = "stream event"
  /// `connected`, `heartbeat` or `no-recover`: stream events that carry no STIX data. Their
  /// `data`, when there is one, may be any JSON value (a heartbeat's is a date string).
  case controlEvent = "control event"
  /// `{"type":"bundle","objects":[…]}`.
  case bundle
  /// `{"connector":…, "applicant_id":…, "bundle":…}`: the send_to_directory file format.
  case diodeEnvelope = "diode envelope"
  /// A single STIX object (`{"type":…, "id":"<type>--<uuid>", …}`).
  case stixObject = "STIX object"
  /// `{"type":"cti-checkpoint","tool":…,"state":…}`: a source's state, covering every record
  /// before it; the last stage of a pipeline commits it (docs/records.md, "Checkpoints").
  case checkpoint
}

/// Why a line is not a record a tool can use, or why a record cannot be used as it is. `line`
/// is set where the line is known; without it the message is the reason alone, and whoever
/// reports it adds the line (`Diagnostics.reject(_:line:)`).
package struct RecordError: ToolError, Equatable, Sendable {
  package var line: Int?
  package var message: String
  package var exitStatus: ExitStatus { .dataError }

  package init(line: Int? = nil, _ message: String) {
    self.line = line
    self.message = message
  }

  package var description: String { line.map { "line \($0): \(message)" } ?? message }
}

/// One NDJSON line read in place: its top-level members are located and its kind recognised;
/// nothing else is parsed until a tool asks for it.
package struct Record: Sendable {
  package let line: Int
  package let object: RawObject
  package let kind: RecordKind

  /// Reads `line`; throws a `RecordError` naming the line when it is not JSON or not one of the
  /// kinds.
  package init(_ line: Line) throws(RecordError) {
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
    do {
      kind = try Record.kind(of: object)
    } catch {
      throw RecordError(line: line.number, error.message)
    }
  }

  /// Recognises the kind of a top-level object by the keys it routes on.
  package static func kind(of object: RawObject) throws(RecordError) -> RecordKind {
    if let event = object.string("event") {
      if StreamEvent.controlNames.contains(event) { return .controlEvent }
      guard object.valueKind("data") == UInt8(ascii: "{") else {
        throw RecordError("stream event '\(event)' has no data object")
      }
      return .streamEvent
    }
    if object.valueKind("bundle") == UInt8(ascii: "{"), object.valueKind("connector") == UInt8(ascii: "{") {
      return .diodeEnvelope
    }
    guard let type = object.string("type") else { throw notARecord(object) }
    if type == "bundle" {
      guard object.valueKind("objects") == UInt8(ascii: "[") else { throw RecordError("bundle has no objects list") }
      return .bundle
    }
    if type == Checkpoint.type {
      guard object.valueRange("state") != nil else { throw RecordError("checkpoint has no state") }
      return .checkpoint
    }
    if let id = object.string("id"), STIXIdentifier.isValid(id), id.hasPrefix(type + "--") { return .stixObject }
    throw notARecord(object)
  }

  private static func notARecord(_ object: RawObject) -> RecordError {
    RecordError(
      "not a stream event, bundle, diode envelope, STIX object or checkpoint (keys: \(object.keys.prefix(6).joined(separator: ", ")))")
  }
}

/// A data event of the live stream, in either of its two forms: cti-stream's (the SSE `data:`
/// payload's members follow `id` and `event`, so the STIX object is `data`) and pycti's (the
/// payload kept whole under `data`, so the STIX object is `data.data`).
package struct StreamEvent: Sendable {
  /// The events that carry no STIX object.
  package static let controlNames: Set<String> = ["connected", "heartbeat", "no-recover"]
  /// The events that apply a STIX object.
  package static let dataNames: Set<String> = ["create", "update", "delete", "merge"]

  /// `create`, `update`, `delete` or `merge` (other names are refused).
  package let name: String
  /// The SSE event id (`<epoch-ms>-<seq>`), when the line has one.
  package let eventID: String?
  /// The STIX object.
  package let data: RawObject
  /// The platform's `context` (an update's patch, a merge's sources).
  package let context: RawObject?

  package init(_ object: RawObject) throws(RecordError) {
    guard let name = object.string("event") else { throw RecordError("stream event has no event name") }
    guard StreamEvent.dataNames.contains(name) else { throw RecordError("unknown stream event '\(name)'") }
    guard var stix = object.object("data") else { throw RecordError("\(name) event has no data object") }
    var context = object.object("context")
    if stix.string("id") == nil, let nested = stix.object("data") {
      context = stix.object("context")
      stix = nested
    }
    guard let id = stix.string("id"), STIXIdentifier.isValid(id) else {
      throw RecordError("\(name) event data has no valid STIX id")
    }
    self.name = name
    eventID = object.string("id")
    data = stix
    self.context = context
  }

  /// The STIX id of the object.
  package var id: String { data.string("id") ?? "" }

  /// A merge's sources (`context.sources`), as objects; empty for other events.
  package var mergeSources: [RawObject] {
    guard let context, let ranges = context.arrayElements("sources") else { return [] }
    return ranges.compactMap { range in
      context.source[range.lowerBound] == UInt8(ascii: "{") ? try? RawObject(context.source, range: range) : nil
    }
  }
}
