// The STIX 2.1 objects a MISP event gives, as plain values: what the conversion decides, for
// `STIXBundleWriter` to write. An optional member that is nil, or a list that is empty, is left
// out of the object, as the stix2 library leaves them out. Values copied from the event whatever
// their JSON type (descriptions, aliases, references) stay `JSONValue`.

extension Optional where Wrapped == JSONValue {
  /// The value unless it is absent or JSON null: stix2 leaves out a property given as None,
  /// and STIX has no null properties.
  var presentValue: JSONValue? {
    if case .some(let value) = self, value != .null { return value }
    return nil
  }
}

/// An identity: an event's author or a sighting's organisation (`organization`), a
/// `full-name` attribute (`individual`), a sector (`class`).
struct STIXIdentity {
  var id: String
  var name: String
  var identityClass: String
  var description: JSONValue?
  var labels: [String] = []
  var createdBy: String?
  var markings: [String] = []
  var externalReferences: [JSONValue] = []

  /// An organisation known by its name alone.
  static func organization(_ name: String) -> STIXIdentity {
    STIXIdentity(id: STIXID.identity(name: name, identityClass: "organization"), name: name, identityClass: "organization")
  }
}

/// A marking definition: a TLP level as stix2 defines it, or OpenCTI's statement form, which
/// carries the real type and name in `x_opencti_definition_type` / `x_opencti_definition`
/// (TLP:AMBER+STRICT, PAP:…). Both are dated 2017-01-20, stix2's date for the TLP levels.
struct STIXMarking: Equatable {
  enum Definition: Equatable {
    case tlp(color: String)
    case statement(type: String, name: String)
  }

  var id: String
  var definition: Definition

  static func tlp(_ level: STIXID.TLP) -> STIXMarking {
    let color: String
    switch level {
    case .clear, .white: color = "white"
    case .green: color = "green"
    case .amber, .amberStrict: color = "amber"
    case .red: color = "red"
    }
    return STIXMarking(id: level.id, definition: .tlp(color: color))
  }

  static func statement(type: String, name: String) -> STIXMarking {
    STIXMarking(id: STIXID.markingDefinition(type: type, definition: name), definition: .statement(type: type, name: name))
  }
}

/// A threat, sector or country that galaxies and tags name (reference §3.5), or that the
/// platform found for a tag.
struct STIXEntity {
  enum Kind {
    case intrusionSet, malware, tool, attackPattern
    /// An identity of class `class`.
    case sector
    /// A location with its ISO code.
    case country(code: String)

    var stixType: String {
      switch self {
      case .intrusionSet: "intrusion-set"
      case .malware: "malware"
      case .tool: "tool"
      case .attackPattern: "attack-pattern"
      case .sector: "identity"
      case .country: "location"
      }
    }
  }

  var kind: Kind
  var id: String
  var name: String
  var labels: [String] = []
  var description: JSONValue?
  /// A galaxy cluster's synonyms: `aliases` of a malware, `x_opencti_aliases` of the others.
  var aliases: JSONValue?
  /// An attack pattern's `x_mitre_id`.
  var mitreID: String?
  var createdBy: String
  var markings: [String]
}

struct STIXIndicator {
  var id: String
  /// `created` and `modified`.
  var created: String
  var name: String?
  var description: String
  var patternType: String
  var pattern: String
  var validFrom: String
  var labels: [String]
  var createdBy: String
  var markings: [String]
  var externalReferences: [JSONValue]
  var mainObservableType: String?
  /// `x_opencti_detection`: a boolean, or `to_ids` as the event gave it.
  var detection: JSONValue
  var score: Int
}

/// A cyber observable: an attribute's value, or a MISP object's Text.
struct STIXObservable {
  /// Where the description goes: OpenCTI's `x_opencti_description`, or a `description`
  /// observables do not have (`MISPQuirks.objectObservableDescriptionAsSTIX`).
  enum DescriptionKey { case openCTI, stix }

  var type: String
  var id: String
  /// The members its id is computed from (`value`, `name`, `hashes`…), written after the id.
  var properties: JSONObject
  var markings: [String]
  var description: JSONValue?
  var descriptionKey = DescriptionKey.openCTI
  var score: Int
  var labels: [String]
  var createdBy: String
  var externalReferences: [JSONValue]
}

struct STIXSighting {
  var id: String
  var sightingOf: String
  var firstSeen: String
  var lastSeen: String
  var whereSighted: String
}

struct STIXRelationship {
  var type: String
  var source: String
  var target: String
  var description: String?
  var markings: [String]
  var createdBy: String
  var id: String

  init(_ type: String, _ source: String, _ target: String, description: String?, markings: [String], createdBy: String) {
    self.type = type
    self.source = source
    self.target = target
    self.description = description
    self.markings = markings
    self.createdBy = createdBy
    id = STIXID.relationship(type: type, source: source, target: target)
  }
}

struct STIXReport {
  var id: String
  var created: String
  var modified: String
  /// `name` and `description`.
  var name: String
  var reportTypes: [String]
  var published: String
  var createdBy: String
  var markings: [String]
  var labels: [String]
  var objectRefs: [String]
  var externalReferences: [JSONValue]
  /// `x_opencti_files`: attachments.
  var files: [JSONValue]
}

struct STIXNote {
  var id: String
  /// `created` and `modified`.
  var created: String
  var createdBy: String
  var markings: [String]
  var abstract: JSONValue?
  var content: String
  var objectRefs: [String]
}
