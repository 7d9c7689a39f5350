/// Small builders for STIX 2.1 objects as JSON, with the members in the order the stix2 library
/// writes them (type, spec_version, id, created, modified, then the rest).
enum STIXObjects {
  /// The timestamps given to objects whose input has none of its own.
  struct Context {
    /// `created` and `modified`, already formatted with milliseconds.
    var timestamp: String
  }

  /// A domain or relationship object with its common members.
  static func sdo(_ type: String, id: String, context: Context) -> JSONObject {
    sdo(type, id: id, created: context.timestamp, modified: context.timestamp)
  }

  static func sdo(_ type: String, id: String, created: String, modified: String) -> JSONObject {
    var members = membersWithRoom()
    members.append(("type", .string(type)))
    members.append(("spec_version", "2.1"))
    members.append(("id", .string(id)))
    members.append(("created", .string(created)))
    members.append(("modified", .string(modified)))
    return JSONObject(members)
  }

  /// A cyber observable (no created/modified).
  static func sco(_ type: String, id: String) -> JSONObject {
    var members = membersWithRoom()
    members.append(("type", .string(type)))
    members.append(("spec_version", "2.1"))
    members.append(("id", .string(id)))
    return JSONObject(members)
  }

  /// Room for the members a STIX object gets after its common ones, so adding them does not
  /// reallocate.
  private static func membersWithRoom() -> [(key: String, value: JSONValue)] {
    var members: [(key: String, value: JSONValue)] = []
    members.reserveCapacity(16)
    return members
  }

  /// Sets `key` to the list unless it is empty (stix2 drops empty lists).
  static func setList(_ object: inout JSONObject, _ key: String, _ values: [String]) {
    if !values.isEmpty { object.put(key, .array(values.map(JSONValue.string))) }
  }

  static func setList(_ object: inout JSONObject, _ key: String, _ values: [JSONValue]) {
    if !values.isEmpty { object.put(key, .array(values)) }
  }

  /// Writes the start of what `sdo` builds, up to `modified`, for an object written member by
  /// member; the caller adds the other members and ends it.
  static func beginSDO(_ type: String, id: String, created: String, modified: String, into writer: inout JSONWriter) {
    writer.beginObject("type")
    writer.writeString(type)
    writer.append(",\"spec_version\":\"2.1\"")
    writer.member("id", id)
    writer.member("created", created)
    writer.member("modified", modified)
  }

  /// Writes the start of what `sco` builds, up to `id`.
  static func beginSCO(_ type: String, id: String, into writer: inout JSONWriter) {
    writer.beginObject("type")
    writer.writeString(type)
    writer.append(",\"spec_version\":\"2.1\"")
    writer.member("id", id)
  }

  /// `setList` for an object being written: the member unless the list is empty.
  static func writeList(_ key: StaticString, _ values: [String], into writer: inout JSONWriter) {
    if !values.isEmpty { writer.member(key, values) }
  }

  static func writeList(_ key: StaticString, _ values: [JSONValue], into writer: inout JSONWriter) {
    if !values.isEmpty { writer.member(key, .array(values)) }
  }

  /// The stix2 library's TLP marking definitions (fixed ids, created 2017-01-20).
  static func tlp(_ level: STIXID.TLP) -> JSONObject {
    let color: String
    switch level {
    case .clear, .white: color = "white"
    case .green: color = "green"
    case .amber, .amberStrict: color = "amber"
    case .red: color = "red"
    }
    var object = JSONObject([
      ("type", "marking-definition"), ("spec_version", "2.1"), ("id", .string(level.id)),
      ("created", "2017-01-20T00:00:00.000Z"),
    ])
    object.put("definition_type", "tlp")
    object.put("name", .string("TLP:" + color.uppercased()))
    object.put("definition", ["tlp": .string(color)])
    return object
  }

  /// OpenCTI's custom marking form: a statement marking carrying the real type and name in
  /// `x_opencti_definition_type` / `x_opencti_definition` (TLP:AMBER+STRICT, PAP:…).
  static func statementMarking(type: String, name: String) -> JSONObject {
    var object = JSONObject([
      ("type", "marking-definition"), ("spec_version", "2.1"),
      ("id", .string(STIXID.markingDefinition(type: type, definition: name))), ("created", "2017-01-20T00:00:00.000Z"),
    ])
    object.put("definition_type", "statement")
    object.put("definition", ["statement": "custom"])
    object.put("x_opencti_definition_type", .string(type))
    object.put("x_opencti_definition", .string(name))
    return object
  }
}
