/// MISP tags and galaxies as OpenCTI's misp-feed connector reads them: labels (§3.4), markings
/// (§3.3) and threat entities (§3.5).
struct MISPTags {
  let options: MISPOptions
  /// The platform's answers for this event's tag values (`guess_threats_from_tags`), by value.
  var guesses: [String: GraphQLResponse.DomainObject] = [:]

  // MARK: Labels

  private static let officialSkippedNames: Set<String> = ["tlp:white", "tlp:green", "tlp:amber", "tlp:amber+strict", "tlp:red"]
  private static let skippedGalaxies = [
    "threat-actor", "mitre-threat-actor", "microsoft-activity-group", "mitre-enterprise-attack-threat-actor",
    "mitre-mobile-attack-intrusion-set", "mitre-intrusion-set", "mitre-enterprise-attack-intrusion-set", "mitre-malware",
    "mitre-enterprise-attack-malware", "mitre-attack-pattern", "mitre-enterprise-attack-attack-pattern", "mitre-tool", "tool",
    "ransomware", "malpedia", "sector", "country",
  ].map { "misp-galaxy:" + $0 }
  private static let skippedWords = ["marking", "creator", "intrusion-set", "malware", "tool", "mitre"]

  /// The labels of a tag list (nothing when tags as labels are off).
  func labels(_ tags: [JSONValue]) -> [String] {
    guard options.createTagsAsLabels else { return [] }
    var labels: [String] = []
    for tag in tags {
      guard let name = tag["name"]?.stringValue else { continue }
      if isSkippedAsLabel(name) { continue }
      labels.append(Self.labelValue(name))
    }
    return labels
  }

  private func isSkippedAsLabel(_ name: String) -> Bool {
    let quirks = options.quirks
    // Without the quirk, case-insensitive: `TLP:AMBER` is a marking and `Creator=x` an author.
    let text = quirks.caseSensitiveLabelFilter ? name : name.lowercased()
    if quirks.caseSensitiveLabelFilter ? Self.officialSkippedNames.contains(name) : text.hasPrefix("tlp:") { return true }
    if Self.skippedGalaxies.contains(where: { text.hasPrefix($0) }) { return true }
    return Self.skippedWords.contains { quirks.looseThreatTagPrefixes ? text.hasPrefix($0) : Self.startsWord(text, $0) }
  }

  /// Whether `text` starts with `word` followed by the end, `:`, `=` or `-` (so `malware:x`
  /// and `mitre-attack:…` match, `malware_classification:…` does not).
  static func startsWord(_ text: String, _ word: String) -> Bool {
    guard text.hasPrefix(word) else { return false }
    let rest = text.utf8.dropFirst(word.utf8.count)
    guard let next = rest.first else { return true }
    return next == UInt8(ascii: ":") || next == UInt8(ascii: "=") || next == UInt8(ascii: "-")
  }

  /// The label text of a tag (§3.4).
  static func labelValue(_ name: String) -> String {
    var value = name
    if let range = name.range(of: "=\"") {
      let after = name[range.upperBound...]
      if let end = after.range(of: "=\"") { value = String(after[..<end.lowerBound]) } else { value = String(after) }
      // Python: split('="')[1][:-1].strip()
      if !value.isEmpty {
        value = PythonText.strip(String(value.dropLast()))
      } else {
        value = name
      }
    } else if name.contains(":") {
      let part = pythonSplit(name, ":")[1]
      if !part.isEmpty { value = PythonText.strip(part) }
    }
    if !value.isEmpty, value.unicodeScalars.allSatisfy({ $0.properties.numericType == .decimal }) {
      if name.contains(":") {
        let part = pythonSplit(name, ":")[1]
        if !part.isEmpty { value = PythonText.strip(part) }
      } else {
        value = name
      }
    }
    if value.contains("=\"") {
      value = String(value.replacingOccurrences(of: "=\"", with: "-").dropLast())
    }
    return value
  }

  /// Python's `text.split(separator)`: all parts, empty ones kept.
  static func pythonSplit(_ text: String, _ separator: String) -> [String] {
    text.components(separatedBy: separator)
  }

  // MARK: Markings

  /// The marking objects of a tag list; TLP:WHITE when nothing matches and `withDefault`.
  func markings(_ tags: [JSONValue], withDefault: Bool) -> [JSONObject] {
    var markings: [JSONObject] = []
    for tag in tags {
      guard let name = tag["name"]?.stringValue else { continue }
      let lower = name.lowercased()
      if options.markingsFromTags, name.contains(":"), name.contains("="), lower.hasPrefix("marking"),
        let custom = Self.customMarking(name)
      {
        markings.append(custom)
      }
      switch lower {
      case "tlp:clear", "tlp:white": markings.append(STIXObjects.tlp(.white))
      case "tlp:green": markings.append(STIXObjects.tlp(.green))
      case "tlp:amber": markings.append(STIXObjects.tlp(.amber))
      case "tlp:amber+strict": markings.append(STIXObjects.statementMarking(type: "TLP", name: "TLP:AMBER+STRICT"))
      case "tlp:red": markings.append(STIXObjects.tlp(.red))
      default: break
      }
    }
    if markings.isEmpty, withDefault { markings.append(STIXObjects.tlp(.white)) }
    return markings
  }

  /// `marking:PAP=PAP:RED` → a statement marking of type `PAP` named `PAP:RED`.
  static func customMarking(_ name: String) -> JSONObject? {
    let parts = pythonSplit(name, ":")
    let definition = parts.count > 2 ? parts[1] + ":" + parts[2] : parts[1]
    let halves = pythonSplit(definition, "=")
    guard halves.count > 1 else { return nil }
    return STIXObjects.statementMarking(type: halves[0], name: halves[1])
  }

  // MARK: Threat entities

  /// The threat entities, sectors and countries named by galaxies and tags (§3.5).
  struct Elements {
    var intrusionSets: [JSONObject] = []
    var malwares: [JSONObject] = []
    var tools: [JSONObject] = []
    var attackPatterns: [JSONObject] = []
    var sectors: [JSONObject] = []
    var countries: [JSONObject] = []

    var isEmpty: Bool {
      intrusionSets.isEmpty && malwares.isEmpty && tools.isEmpty && attackPatterns.isEmpty && sectors.isEmpty
        && countries.isEmpty
    }
    var threats: [JSONObject] { intrusionSets + malwares + tools }
    var all: [JSONObject] { intrusionSets + malwares + tools + attackPatterns + sectors + countries }
  }

  private static let intrusionSetTags = [
    "misp-galaxy:threat-actor", "misp-galaxy:mitre-mobile-attack-intrusion-set", "misp-galaxy:microsoft-activity-group",
    "misp-galaxy:mitre-threat-actor", "misp-galaxy:mitre-enterprise-attack-threat-actor", "misp-galaxy:mitre-intrusion-set",
    "misp-galaxy:mitre-enterprise-attack-intrusion-set",
  ]
  private static let toolTags = ["misp-galaxy:mitre-tool", "misp-galaxy:mitre-enterprise-attack-tool"]
  private static let malwareTags = [
    "misp-galaxy:mitre-malware", "misp-galaxy:mitre-enterprise-attack-malware", "misp-galaxy:misp-ransomware",
    "misp-galaxy:misp-tool", "misp-galaxy:misp-android", "misp-galaxy:misp-malpedia",
  ]
  /// The real galaxy tag names the official connector misses (its list has `misp-` forms).
  private static let galaxyMalwareTags = ["misp-galaxy:ransomware", "misp-galaxy:tool", "misp-galaxy:malpedia"]
  private static let attackPatternTags = [
    "misp-galaxy:mitre-attack-pattern", "misp-galaxy:attack-pattern", "mitre-attack:attack-pattern", "mitre:",
  ]

  func elements(galaxies: [JSONValue], tags: [JSONValue], author: String, markings: [String], context: STIXObjects.Context)
    -> Elements
  {
    var elements = Elements()
    var added: Set<String> = []
    func common(_ object: inout JSONObject) {
      object.put("created_by_ref", .string(author))
      STIXObjects.setList(&object, "object_marking_refs", markings)
    }
    for galaxy in galaxies {
      guard let namespace = galaxy["namespace"]?.stringValue else { continue }
      let galaxyName = galaxy["name"]?.stringValue ?? ""
      let clusters = galaxy["GalaxyCluster"]?.arrayValue ?? []
      func aliases(_ cluster: JSONValue, _ name: String) -> JSONValue {
        cluster["meta"]?["synonyms"] ?? .array([.string(name)])
      }
      func description(_ cluster: JSONValue) -> JSONValue? {
        cluster["description"].flatMap { $0.isNull ? nil : $0 }
      }
      switch (namespace, galaxyName) {
      case ("mitre-attack", "Intrusion Set"), ("misp", "Threat Actor"), ("misp", "Microsoft Activity Group actor"):
        for cluster in clusters {
          let value = cluster["value"]?.stringValue ?? ""
          let name = Self.intrusionSetName(value)
          guard added.insert(name).inserted else { continue }
          var object = STIXObjects.sdo("intrusion-set", id: STIXID.intrusionSet(name: name), context: context)
          object.put("name", .string(name))
          object.put("labels", ["intrusion-set"])
          object.put("description", description(cluster))
          common(&object)
          object.put("x_opencti_aliases", aliases(cluster, name))
          elements.intrusionSets.append(object)
        }
      case ("mitre-attack", "Tool"):
        for cluster in clusters {
          let name = Self.cut(cluster["value"]?.stringValue ?? "", " - S")
          guard added.insert(name).inserted else { continue }
          var object = STIXObjects.sdo("tool", id: STIXID.tool(name: name), context: context)
          object.put("name", .string(name))
          object.put("labels", ["tool"])
          object.put("description", description(cluster))
          common(&object)
          object.put("x_opencti_aliases", aliases(cluster, name))
          elements.tools.append(object)
        }
      case ("mitre-attack", "Malware"), ("misp", "Tool"), ("misp", "Ransomware"), ("misp", "Android"), ("misp", "Malpedia"):
        for cluster in clusters {
          let name = Self.cut(cluster["value"]?.stringValue ?? "", " - S")
          guard added.insert(name).inserted else { continue }
          var object = STIXObjects.sdo("malware", id: STIXID.malware(name: name), context: context)
          object.put("name", .string(name))
          object.put("is_family", true)
          object.put("aliases", aliases(cluster, name))
          object.put("labels", .array([.string(galaxyName)]))
          object.put("description", description(cluster))
          common(&object)
          elements.malwares.append(object)
        }
      case ("mitre-attack", "Attack Pattern"):
        for cluster in clusters {
          let name = Self.cut(cluster["value"]?.stringValue ?? "", " - T")
          guard added.insert(name).inserted else { continue }
          let mitreID = cluster["meta"]?["external_id"]?.arrayValue?.first?.stringValue
          var object = STIXObjects.sdo("attack-pattern", id: STIXID.attackPattern(name: name, mitreID: mitreID), context: context)
          object.put("name", .string(name))
          object.put("description", description(cluster))
          common(&object)
          object.put("x_mitre_id", mitreID.map(JSONValue.string))
          object.put("x_opencti_aliases", aliases(cluster, name))
          elements.attackPatterns.append(object)
        }
      case ("misp", "Sector"):
        for cluster in clusters {
          let name = cluster["value"]?.stringValue ?? ""
          guard added.insert(name).inserted else { continue }
          elements.sectors.append(sector(name, description: description(cluster), common: common, context: context))
        }
      case ("misp", "Country"):
        for cluster in clusters {
          let name = cluster["description"]?.stringValue ?? ""
          guard let iso = cluster["meta"]?["ISO"]?.stringValue, added.insert(name).inserted else { continue }
          var object = STIXObjects.sdo("location", id: STIXID.location(name: name, type: .country), context: context)
          object.put("name", .string(name))
          object.put("country", .string(iso))
          object.put("description", "Imported from MISP tag")
          common(&object)
          elements.countries.append(object)
        }
      default: break
      }
    }
    for tag in tags {
      guard let name = tag["name"]?.stringValue else { continue }
      if !guesses.isEmpty, let value = MISPThreatGuesser.lookupValue(name), let hit = guesses[value],
        added.insert(hit.name).inserted
      {
        guessed(hit, into: &elements, common: common, context: context)
      }
      if starts(name, Self.intrusionSetTags, word: "intrusion-set"), let value = Self.tagValue(name) {
        let threat = Self.intrusionSetName(value)
        if added.insert(threat).inserted {
          var object = STIXObjects.sdo("intrusion-set", id: STIXID.intrusionSet(name: threat), context: context)
          object.put("name", .string(threat))
          common(&object)
          elements.intrusionSets.append(object)
        }
      }
      if starts(name, Self.toolTags, word: "tool"), let value = Self.tagValue(name) {
        let threat = Self.cut(value, " - S")
        if added.insert(threat).inserted {
          var object = STIXObjects.sdo("tool", id: STIXID.tool(name: threat), context: context)
          object.put("name", .string(threat))
          common(&object)
          elements.tools.append(object)
        }
      }
      let malwareTags = options.quirks.ignoresGalaxyMalwareTags ? Self.malwareTags : Self.malwareTags + Self.galaxyMalwareTags
      if starts(name, malwareTags, word: "malware"), let value = Self.tagValue(name) {
        let threat = Self.cut(value, " - S")
        if added.insert(threat).inserted {
          var object = STIXObjects.sdo("malware", id: STIXID.malware(name: threat), context: context)
          object.put("name", .string(threat))
          object.put("is_family", true)
          common(&object)
          elements.malwares.append(object)
        }
      }
      if Self.attackPatternTags.contains(where: { name.hasPrefix($0) }), let value = Self.tagValue(name) {
        let threat = Self.cut(value, " - T")
        if added.insert(threat).inserted {
          var object = STIXObjects.sdo("attack-pattern", id: STIXID.attackPattern(name: threat), context: context)
          object.put("name", .string(threat))
          common(&object)
          elements.attackPatterns.append(object)
        }
      }
      if name.hasPrefix("misp-galaxy:sector") {
        let parts = Self.pythonSplit(name, "=\"")
        if parts.count > 1, !parts[1].isEmpty {
          let sectorName = PythonText.strip(String(parts[1].dropLast()))
          if added.insert(sectorName).inserted {
            elements.sectors.append(sector(sectorName, description: nil, common: common, context: context))
          }
        }
      }
    }
    return elements
  }

  /// A threat the platform found for a tag, named as the platform names it. It keeps the
  /// platform's standard id and an attack pattern's MITRE id, so the bundle points at the very
  /// entity found, unless quirks ask for the connector's name-based ids.
  private func guessed(
    _ hit: GraphQLResponse.DomainObject, into elements: inout Elements, common: (inout JSONObject) -> Void,
    context: STIXObjects.Context
  ) {
    func make(_ type: String, generated: String) -> JSONObject {
      var id = generated
      if !options.quirks.guessedThreatIDsFromNames, let standard = hit.standardId, standard.hasPrefix(type + "--") {
        id = standard
      }
      var object = STIXObjects.sdo(type, id: id, context: context)
      object.put("name", .string(hit.name))
      return object
    }
    switch hit.entityType {
    case "Intrusion-Set":
      var object = make("intrusion-set", generated: STIXID.intrusionSet(name: hit.name))
      common(&object)
      elements.intrusionSets.append(object)
    case "Malware":
      var object = make("malware", generated: STIXID.malware(name: hit.name))
      object.put("is_family", true)
      common(&object)
      elements.malwares.append(object)
    case "Tool":
      var object = make("tool", generated: STIXID.tool(name: hit.name))
      common(&object)
      elements.tools.append(object)
    case "Attack-Pattern":
      let mitreID = options.quirks.guessedAttackPatternsWithoutMitreID ? nil : hit.mitreId
      var object = make("attack-pattern", generated: STIXID.attackPattern(name: hit.name, mitreID: mitreID))
      common(&object)
      object.put("x_mitre_id", mitreID.map(JSONValue.string))
      elements.attackPatterns.append(object)
    default: break
    }
  }

  private func sector(
    _ name: String, description: JSONValue?, common: (inout JSONObject) -> Void, context: STIXObjects.Context
  ) -> JSONObject {
    var object = STIXObjects.sdo("identity", id: STIXID.identity(name: name, identityClass: "class"), context: context)
    object.put("name", .string(name))
    object.put("identity_class", "class")
    object.put("description", description)
    common(&object)
    return object
  }

  /// Whether `name` is a threat tag of `word`'s kind: the bare word must end there (the
  /// official connector's loose prefix also takes `malware_classification:…`).
  private func starts(_ name: String, _ prefixes: [String], word: String) -> Bool {
    if prefixes.contains(where: { name.hasPrefix($0) }) { return true }
    return options.quirks.looseThreatTagPrefixes ? name.hasPrefix(word) : Self.startsWord(name, word)
  }

  /// The value of a threat tag: after `="` without the closing quote, else after the first `:`.
  static func tagValue(_ name: String) -> String? {
    let hasEquals = name.contains("=")
    let parts = hasEquals ? pythonSplit(name, "=\"") : pythonSplit(name, ":")
    guard parts.count > 1, !parts[1].isEmpty else { return nil }
    return hasEquals ? PythonText.strip(String(parts[1].dropLast())) : PythonText.strip(parts[1])
  }

  static func cut(_ value: String, _ marker: String) -> String {
    guard let range = value.range(of: marker) else { return value }
    return String(value[..<range.lowerBound])
  }

  static func intrusionSetName(_ value: String) -> String {
    if value.contains(" - G") { return cut(value, " - G") }
    if value.contains("APT ") { return value.replacingOccurrences(of: "APT ", with: "APT") }
    return value
  }
}
