/// MISP tags and galaxies as OpenCTI's misp-feed connector reads them: labels (§3.4), markings
/// (§3.3) and threat entities (§3.5).
struct MISPTags {
  let options: MISPConversionSettings
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
  func markings(_ tags: [JSONValue], withDefault: Bool) -> [STIXMarking] {
    var markings: [STIXMarking] = []
    for tag in tags {
      guard let name = tag["name"]?.stringValue else { continue }
      let lower = name.lowercased()
      if options.markingsFromTags, name.contains(":"), name.contains("="), lower.hasPrefix("marking"),
        let custom = Self.customMarking(name)
      {
        markings.append(custom)
      }
      switch lower {
      case "tlp:clear", "tlp:white": markings.append(.tlp(.white))
      case "tlp:green": markings.append(.tlp(.green))
      case "tlp:amber": markings.append(.tlp(.amber))
      case "tlp:amber+strict": markings.append(.statement(type: "TLP", name: "TLP:AMBER+STRICT"))
      case "tlp:red": markings.append(.tlp(.red))
      default: break
      }
    }
    if markings.isEmpty, withDefault { markings.append(.tlp(.white)) }
    return markings
  }

  /// `marking:PAP=PAP:RED` → a statement marking of type `PAP` named `PAP:RED`.
  static func customMarking(_ name: String) -> STIXMarking? {
    let parts = pythonSplit(name, ":")
    let definition = parts.count > 2 ? parts[1] + ":" + parts[2] : parts[1]
    let halves = pythonSplit(definition, "=")
    guard halves.count > 1 else { return nil }
    return .statement(type: halves[0], name: halves[1])
  }

  // MARK: Threat entities

  /// The threat entities, sectors and countries named by galaxies and tags (§3.5).
  struct Elements {
    var intrusionSets: [STIXEntity] = []
    var malwares: [STIXEntity] = []
    var tools: [STIXEntity] = []
    var attackPatterns: [STIXEntity] = []
    var sectors: [STIXEntity] = []
    var countries: [STIXEntity] = []

    var isEmpty: Bool {
      intrusionSets.isEmpty && malwares.isEmpty && tools.isEmpty && attackPatterns.isEmpty && sectors.isEmpty
        && countries.isEmpty
    }
    var threats: [STIXEntity] { intrusionSets + malwares + tools }
    /// Every entity; most attributes name none, and then no list is built.
    var all: [STIXEntity] { isEmpty ? [] : intrusionSets + malwares + tools + attackPatterns + sectors + countries }
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

  /// The entities of galaxies and tags, made by `author` and marked with `markings`; each name
  /// once.
  func elements(galaxies: [JSONValue], tags: [JSONValue], author: String, markings: [String]) -> Elements {
    var elements = Elements()
    var added: Set<String> = []
    func entity(_ kind: STIXEntity.Kind, _ id: String, _ name: String) -> STIXEntity {
      STIXEntity(kind: kind, id: id, name: name, createdBy: author, markings: markings)
    }
    for galaxy in galaxies {
      guard let namespace = galaxy["namespace"]?.stringValue else { continue }
      let galaxyName = galaxy["name"]?.stringValue ?? ""
      let clusters = galaxy["GalaxyCluster"]?.arrayValue ?? []
      func aliases(_ cluster: JSONValue, _ name: String) -> JSONValue {
        cluster["meta"]?["synonyms"] ?? .array([.string(name)])
      }
      switch (namespace, galaxyName) {
      case ("mitre-attack", "Intrusion Set"), ("misp", "Threat Actor"), ("misp", "Microsoft Activity Group actor"):
        for cluster in clusters {
          let value = cluster["value"]?.stringValue ?? ""
          let name = Self.intrusionSetName(value)
          guard added.insert(name).inserted else { continue }
          var object = entity(.intrusionSet, STIXID.intrusionSet(name: name), name)
          object.labels = ["intrusion-set"]
          object.description = cluster["description"].presentValue
          object.aliases = aliases(cluster, name)
          elements.intrusionSets.append(object)
        }
      case ("mitre-attack", "Tool"):
        for cluster in clusters {
          let name = Self.cut(cluster["value"]?.stringValue ?? "", " - S")
          guard added.insert(name).inserted else { continue }
          var object = entity(.tool, STIXID.tool(name: name), name)
          object.labels = ["tool"]
          object.description = cluster["description"].presentValue
          object.aliases = aliases(cluster, name)
          elements.tools.append(object)
        }
      case ("mitre-attack", "Malware"), ("misp", "Tool"), ("misp", "Ransomware"), ("misp", "Android"), ("misp", "Malpedia"):
        for cluster in clusters {
          let name = Self.cut(cluster["value"]?.stringValue ?? "", " - S")
          guard added.insert(name).inserted else { continue }
          var object = entity(.malware, STIXID.malware(name: name), name)
          object.aliases = aliases(cluster, name)
          object.labels = [galaxyName]
          object.description = cluster["description"].presentValue
          elements.malwares.append(object)
        }
      case ("mitre-attack", "Attack Pattern"):
        for cluster in clusters {
          let name = Self.cut(cluster["value"]?.stringValue ?? "", " - T")
          guard added.insert(name).inserted else { continue }
          let mitreID = cluster["meta"]?["external_id"]?.arrayValue?.first?.stringValue
          var object = entity(.attackPattern, STIXID.attackPattern(name: name, mitreID: mitreID), name)
          object.description = cluster["description"].presentValue
          object.mitreID = mitreID
          object.aliases = aliases(cluster, name)
          elements.attackPatterns.append(object)
        }
      case ("misp", "Sector"):
        for cluster in clusters {
          let name = cluster["value"]?.stringValue ?? ""
          guard added.insert(name).inserted else { continue }
          var object = entity(.sector, STIXID.identity(name: name, identityClass: "class"), name)
          object.description = cluster["description"].presentValue
          elements.sectors.append(object)
        }
      case ("misp", "Country"):
        for cluster in clusters {
          let name = cluster["description"]?.stringValue ?? ""
          guard let iso = cluster["meta"]?["ISO"]?.stringValue, added.insert(name).inserted else { continue }
          elements.countries.append(entity(.country(code: iso), STIXID.location(name: name, type: .country), name))
        }
      default: break
      }
    }
    for tag in tags {
      guard let name = tag["name"]?.stringValue else { continue }
      if !guesses.isEmpty, let value = MISPThreatGuesser.lookupValue(name), let hit = guesses[value],
        added.insert(hit.name).inserted
      {
        guessed(hit, into: &elements, author: author, markings: markings)
      }
      if starts(name, Self.intrusionSetTags, word: "intrusion-set"), let value = Self.tagValue(name) {
        let threat = Self.intrusionSetName(value)
        if added.insert(threat).inserted {
          elements.intrusionSets.append(entity(.intrusionSet, STIXID.intrusionSet(name: threat), threat))
        }
      }
      if starts(name, Self.toolTags, word: "tool"), let value = Self.tagValue(name) {
        let threat = Self.cut(value, " - S")
        if added.insert(threat).inserted {
          elements.tools.append(entity(.tool, STIXID.tool(name: threat), threat))
        }
      }
      let malwareTags = options.quirks.ignoresGalaxyMalwareTags ? Self.malwareTags : Self.malwareTags + Self.galaxyMalwareTags
      if starts(name, malwareTags, word: "malware"), let value = Self.tagValue(name) {
        let threat = Self.cut(value, " - S")
        if added.insert(threat).inserted {
          elements.malwares.append(entity(.malware, STIXID.malware(name: threat), threat))
        }
      }
      if Self.attackPatternTags.contains(where: { name.hasPrefix($0) }), let value = Self.tagValue(name) {
        let threat = Self.cut(value, " - T")
        if added.insert(threat).inserted {
          elements.attackPatterns.append(entity(.attackPattern, STIXID.attackPattern(name: threat), threat))
        }
      }
      if name.hasPrefix("misp-galaxy:sector") {
        let parts = Self.pythonSplit(name, "=\"")
        if parts.count > 1, !parts[1].isEmpty {
          let sectorName = PythonText.strip(String(parts[1].dropLast()))
          if added.insert(sectorName).inserted {
            elements.sectors.append(entity(.sector, STIXID.identity(name: sectorName, identityClass: "class"), sectorName))
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
    _ hit: GraphQLResponse.DomainObject, into elements: inout Elements, author: String, markings: [String]
  ) {
    func make(_ kind: STIXEntity.Kind, generated: String) -> STIXEntity {
      var id = generated
      if !options.quirks.guessedThreatIDsFromNames, let standard = hit.standardId, standard.hasPrefix(kind.stixType + "--") {
        id = standard
      }
      return STIXEntity(kind: kind, id: id, name: hit.name, createdBy: author, markings: markings)
    }
    switch hit.entityType {
    case "Intrusion-Set":
      elements.intrusionSets.append(make(.intrusionSet, generated: STIXID.intrusionSet(name: hit.name)))
    case "Malware":
      elements.malwares.append(make(.malware, generated: STIXID.malware(name: hit.name)))
    case "Tool":
      elements.tools.append(make(.tool, generated: STIXID.tool(name: hit.name)))
    case "Attack-Pattern":
      let mitreID = options.quirks.guessedAttackPatternsWithoutMitreID ? nil : hit.mitreId
      var object = make(.attackPattern, generated: STIXID.attackPattern(name: hit.name, mitreID: mitreID))
      object.mitreID = mitreID
      elements.attackPatterns.append(object)
    default: break
    }
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
