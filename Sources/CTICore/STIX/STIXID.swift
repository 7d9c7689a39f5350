package import Foundation

/// A date-time argument of a deterministic id, as the text pycti hashes: a string is hashed as
/// given, a Python `datetime` as its `isoformat()`. Use `isoformat(...)` for instants and a
/// string literal for text taken from the input.
package struct IDTime: Sendable, Equatable, ExpressibleByStringLiteral, CustomStringConvertible {
  package let text: String

  package init(_ text: String) { self.text = text }
  package init(stringLiteral text: String) { self.text = text }
  package var description: String { text }

  /// Python's `datetime.isoformat()` of an aware UTC datetime: `2016-08-29T00:00:00+00:00`, with
  /// `.ffffff` microseconds only when they are not zero.
  package static func isoformat(unixSeconds: Int64, microseconds: Int = 0) -> IDTime {
    var text = String(ISO8601.format(ISO8601.Instant(seconds: unixSeconds), fractionDigits: 0).dropLast())
    if microseconds != 0 {
      let digits = String(microseconds)
      text += "." + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
    return IDTime(text + "+00:00")
  }

  /// `isoformat()` of a `Date` (UTC), microseconds rounded down.
  package static func isoformat(_ date: Date) -> IDTime {
    let microsecondsTotal = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
    let seconds = microsecondsTotal >= 0 ? microsecondsTotal / 1_000_000 : (microsecondsTotal - 999_999) / 1_000_000
    return isoformat(unixSeconds: seconds, microseconds: Int(microsecondsTotal - seconds * 1_000_000))
  }
}

/// Deterministic STIX ids exactly as OpenCTI computes them (pycti's `<Entity>.generate_id` and,
/// for cyber observables, the stix2 library): `<type>--` + UUIDv5 in `UUIDv5.stixNamespace` of
/// the canonical JSON of a few key properties. Names are lower-cased and stripped where pycti
/// does so; everything else is hashed as given.
package enum STIXID {
  /// `<type>--<uuid5>` of the canonical JSON of `properties`.
  package static func make(type: String, properties: JSONObject) -> String { make(type, properties.members) }

  /// `make` for a handful of members, written canonically without building an object first.
  private static func make(_ type: String, _ members: [(key: String, value: JSONValue)]) -> String {
    // The canonical text is written right after the namespace, ready to hash.
    var writer = JSONWriter(capacity: 192)
    writer.writeRaw(UUIDv5.stixNamespace)
    IDCanonicalJSON.write(members: members, into: &writer)
    return writer.withBytes { UUIDv5.make(namespaceAndName: $0, prefix: type + "--") }
  }

  private static func named(_ type: String, _ name: String) -> String {
    make(type, [("name", .string(PythonText.key(name)))])
  }

  // MARK: Domain objects identified by their name

  package static func intrusionSet(name: String) -> String { named("intrusion-set", name) }
  package static func malware(name: String) -> String { named("malware", name) }
  package static func tool(name: String) -> String { named("tool", name) }
  package static func campaign(name: String) -> String { named("campaign", name) }
  package static func vulnerability(name: String) -> String { named("vulnerability", name) }
  package static func infrastructure(name: String) -> String { named("infrastructure", name) }
  package static func channel(name: String) -> String { named("channel", name) }
  package static func narrative(name: String) -> String { named("narrative", name) }
  package static func dataSource(name: String) -> String { named("data-source", name) }
  package static func dataComponent(name: String) -> String { named("data-component", name) }

  /// `identity--…`; `identityClass` is `organization`, `individual`, `class`, `system`, `group`…
  /// (case does not matter).
  package static func identity(name: String, identityClass: String) -> String {
    make("identity", [("name", .string(PythonText.key(name))), ("identity_class", .string(PythonText.lower(identityClass)))])
  }

  /// OpenCTI's two threat-actor kinds share the STIX type `threat-actor` and differ by id.
  package enum ThreatActorKind: String, Sendable {
    case group = "Threat-Actor-Group"
    case individual = "Threat-Actor-Individual"
  }

  package static func threatActor(name: String, kind: ThreatActorKind) -> String {
    make("threat-actor", [("name", .string(PythonText.key(name))), ("opencti_type", .string(kind.rawValue))])
  }

  /// By its MITRE id (`T1566`, case and surrounding space ignored) when there is one, else by name.
  package static func attackPattern(name: String, mitreID: String? = nil) -> String {
    if let mitreID { return make("attack-pattern", [("x_mitre_id", .string(PythonText.key(mitreID)))]) }
    return named("attack-pattern", name)
  }

  /// By its MITRE id (`M1017`, lower-cased) when there is one, else by name.
  package static func courseOfAction(name: String, mitreID: String? = nil) -> String {
    if let mitreID { return make("course-of-action", [("x_mitre_id", .string(PythonText.lower(mitreID)))]) }
    return named("course-of-action", name)
  }

  /// OpenCTI's location kinds (`x_opencti_location_type`).
  package enum LocationType: String, Sendable, CaseIterable {
    case country = "Country"
    case city = "City"
    case region = "Region"
    case administrativeArea = "Administrative-Area"
    case position = "Position"
  }

  /// A location by name and kind; a `position` with both coordinates is identified by them alone.
  package static func location(name: String, type: LocationType, latitude: Double? = nil, longitude: Double? = nil)
    -> String
  {
    if type == .position, let latitude, let longitude {
      return make(
        "location",
        [
          ("latitude", .number(IDCanonicalJSON.ecmaScript(latitude))),
          ("longitude", .number(IDCanonicalJSON.ecmaScript(longitude))),
        ])
    }
    return make("location", [("name", .string(PythonText.key(name))), ("x_opencti_location_type", .string(type.rawValue))])
  }

  /// A label by its exact value (pycti neither lower-cases nor strips it).
  package static func label(value: String) -> String { make("label", [("value", .string(value))]) }

  /// A vocabulary entry: name normalised, category (`report_types_ov`…) as given.
  package static func vocabulary(name: String, category: String) -> String {
    make("vocabulary", [("name", .string(PythonText.key(name))), ("category", .string(category))])
  }

  // MARK: Containers and dated objects

  package static func report(name: String, published: IDTime) -> String {
    make("report", [("name", .string(PythonText.key(name))), ("published", .string(published.text))])
  }

  package static func incident(name: String, created: IDTime?) -> String { namedAndCreated("incident", name, created) }
  package static func caseIncident(name: String, created: IDTime?) -> String {
    namedAndCreated("case-incident", name, created)
  }
  package static func task(name: String, created: IDTime?) -> String { namedAndCreated("task", name, created) }

  private static func namedAndCreated(_ type: String, _ name: String, _ created: IDTime?) -> String {
    var members: [(key: String, value: JSONValue)] = [("name", .string(PythonText.key(name)))]
    if let created { members.append(("created", .string(created.text))) }
    return make(type, members)
  }

  /// A note by its content (stripped) and creation time; an abstract, when given, counts too.
  package static func note(content: String, created: IDTime?, abstract: String? = nil) -> String {
    var members: [(key: String, value: JSONValue)] = [("content", .string(PythonText.strip(content)))]
    if let created { members.append(("created", .string(created.text))) }
    if let abstract { members.append(("attribute_abstract", .string(abstract))) }
    return make("note", members)
  }

  package static func opinion(opinion: String, created: IDTime?) -> String {
    var members: [(key: String, value: JSONValue)] = [("opinion", .string(PythonText.strip(opinion)))]
    if let created { members.append(("created", .string(created.text))) }
    return make("opinion", members)
  }

  package static func grouping(name: String, context: String) -> String {
    make("grouping", [("name", .string(PythonText.key(name))), ("context", .string(context))])
  }

  package static func indicator(pattern: String) -> String {
    make("indicator", [("pattern", .string(PythonText.strip(pattern)))])
  }

  package static func observedData(objectIDs: [String]) -> String {
    make("observed-data", [("objects", .array(objectIDs.map(JSONValue.string)))])
  }

  // MARK: Markings and embedded objects

  /// The TLP marking definitions OpenCTI ships with fixed ids.
  package enum TLP: String, Sendable, CaseIterable {
    case clear = "TLP:CLEAR"
    case white = "TLP:WHITE"
    case green = "TLP:GREEN"
    case amber = "TLP:AMBER"
    case amberStrict = "TLP:AMBER+STRICT"
    case red = "TLP:RED"

    /// The marking-definition id (TLP:CLEAR and TLP:WHITE share one).
    package var id: String {
      switch self {
      case .clear, .white: return "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
      case .green: return "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
      case .amber: return "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
      case .amberStrict: return "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"
      case .red: return "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
      }
    }
  }

  /// `TLP` with one of the TLP names gives the fixed id; anything else is hashed.
  package static func markingDefinition(type: String, definition: String) -> String {
    if type == "TLP", let tlp = TLP(rawValue: definition) { return tlp.id }
    return make("marking-definition", [("definition_type", .string(type)), ("definition", .string(definition))])
  }

  package static func killChainPhase(killChainName: String, phaseName: String) -> String {
    make("kill-chain-phase", [("kill_chain_name", .string(killChainName)), ("phase_name", .string(phaseName))])
  }

  /// By its URL when it has one, else by source name and external id.
  package static func externalReference(sourceName: String?, url: String?, externalID: String?) -> String {
    if let url, !url.isEmpty { return make("external-reference", [("url", .string(url))]) }
    return make(
      "external-reference",
      [("source_name", sourceName.map(JSONValue.string) ?? .null), ("external_id", externalID.map(JSONValue.string) ?? .null)])
  }

  // MARK: Relationships

  package static func relationship(
    type relationshipType: String, source: String, target: String, startTime: IDTime? = nil, stopTime: IDTime? = nil
  ) -> String {
    var members: [(key: String, value: JSONValue)] = [
      ("relationship_type", .string(relationshipType)), ("source_ref", .string(source)), ("target_ref", .string(target)),
    ]
    if let startTime { members.append(("start_time", .string(startTime.text))) }
    if let stopTime { members.append(("stop_time", .string(stopTime.text))) }
    return make("relationship", members)
  }

  /// A sighting; `whereSighted` is hashed as the JSON value given (pycti's connectors pass a list
  /// of ids, the MISP feed connector a single id string).
  package static func sighting(of sightingOf: String, whereSighted: JSONValue, firstSeen: IDTime? = nil, lastSeen: IDTime? = nil)
    -> String
  {
    var members: [(key: String, value: JSONValue)] = [
      ("type", "sighting"), ("sighting_of_ref", .string(sightingOf)), ("where_sighted_refs", whereSighted),
    ]
    if let firstSeen { members.append(("first_seen", .string(firstSeen.text))) }
    if let lastSeen { members.append(("last_seen", .string(lastSeen.text))) }
    return make("sighting", members)
  }

  // MARK: Cyber observables (stix2)

  /// The properties that identify each observable type in stix2 (and in OpenCTI's custom
  /// observables); a type that is not listed, or an object holding none of them, has no
  /// deterministic id.
  package static let observableIDProperties: [String: [String]] = [
    "artifact": ["hashes", "payload_bin"],
    "autonomous-system": ["number"],
    "directory": ["path"],
    "domain-name": ["value"],
    "email-addr": ["value"],
    "email-message": ["from_ref", "subject", "body"],
    "file": ["hashes", "name", "extensions", "parent_directory_ref"],
    "ipv4-addr": ["value"],
    "ipv6-addr": ["value"],
    "mac-addr": ["value"],
    "mutex": ["name"],
    "network-traffic": ["start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"],
    "software": ["name", "cpe", "swid", "vendor", "version"],
    "url": ["value"],
    "user-account": ["account_type", "user_id", "account_login"],
    "windows-registry-key": ["key", "values"],
    "x509-certificate": ["hashes", "serial_number"],
    // OpenCTI's custom observables that MISP conversion produces.
    "text": ["value"],
    "hostname": ["value"],
    "phone-number": ["value"],
    "user-agent": ["value"],
  ]

  /// The id stix2 gives the observable `object` (which carries its `type`), or nil when the type
  /// has no id-contributing properties or the object has none of them (stix2 then draws a random
  /// UUIDv4). `hashes` counts with one hash only: MD5, else SHA-1, SHA-256, SHA-512, else the first.
  package static func observable(_ object: JSONObject) -> String? {
    guard let type = object["type"]?.stringValue else { return nil }
    return observable(type: type, properties: object)
  }

  /// As `observable(_:)`, for an object whose type is given apart.
  package static func observable(type: String, properties: JSONObject) -> String? {
    guard let contributing = observableIDProperties[type] else { return nil }
    var members: [(key: String, value: JSONValue)] = []
    for key in contributing {
      guard let value = properties[key] else { continue }
      if key == "hashes" {
        guard let hashes = value.objectValue, let chosen = chooseOneHash(hashes) else { continue }
        members.append((key, .object(JSONObject([chosen]))))
      } else {
        members.append((key, value))
      }
    }
    guard !members.isEmpty else { return nil }
    return make(type: type, properties: JSONObject(members))
  }

  private static func chooseOneHash(_ hashes: JSONObject) -> (key: String, value: JSONValue)? {
    for algorithm in ["MD5", "SHA-1", "SHA-256", "SHA-512"] {
      if let value = hashes[algorithm] { return (algorithm, value) }
    }
    return hashes.members.first
  }
}
