import Foundation

/// Why an event could not be converted.
public struct MISPEventError: Error, Equatable, CustomStringConvertible, LocalizedError {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
  public var errorDescription: String? { message }
}

/// One converted event: the bundle's JSON text and what it holds.
public struct MISPConversion: Sendable {
  public var uuid: String
  public var bundle: [UInt8]
  /// Objects in the bundle by STIX type.
  public var objectCounts: [String: Int]
  /// Values kept verbatim that STIX validators may flag (for the summary).
  public var notes: [String]
}

/// Converts MISP events to STIX 2.1 bundles the way OpenCTI's `misp-feed` connector does
/// (reference §3), with its quirks fixed unless `options.compatibility` is `.official`.
public struct MISPConverter: Sendable {
  public let options: MISPOptions
  /// Looks tag values up in OpenCTI when `options.guessThreatsFromTags` is on; without one the
  /// option does nothing.
  public let threatGuesser: MISPThreatGuesser?

  public init(options: MISPOptions, threatGuesser: MISPThreatGuesser? = nil) {
    self.options = options
    self.threatGuesser = threatGuesser
  }

  /// Converts `root`: `{"Event": {…}}`, a bare event, or a one-element list of either.
  /// `now` stands in for the official connector's clock (`--compat official` only).
  public func convert(_ root: JSONValue, now: ISO8601.Instant = .now) throws(MISPEventError) -> MISPConversion {
    var value = root
    if let list = value.arrayValue {
      guard list.count == 1 else { throw MISPEventError("a list of \(list.count) events; expected one") }
      value = list[0]
    }
    if let wrapped = value["Event"] { value = wrapped }
    guard let event = value.objectValue else { throw MISPEventError("not a MISP event object") }
    try MISPTimestamps.check(event)
    var run = EventRun(options: options, event: event, now: now)
    if options.guessThreatsFromTags, let threatGuesser {
      do {
        run.tags.guesses = try threatGuesser.answers(for: event)
      } catch {
        throw MISPEventError("guess_threats_from_tags: OpenCTI lookup failed: \(error)")
      }
    }
    return try run.convert()
  }
}

/// The Unix-second timestamps of an event, checked before it is converted: a whole number outside
/// years 0001–9999 cannot become a STIX timestamp (Python's `datetime`, which the connector
/// uses, refuses it too), and near Int64's ends the arithmetic on it would trap. Such an event is
/// refused whole, naming the field; one that is absent or not a whole number keeps the
/// converter's fallback (the event's timestamp, or 0).
enum MISPTimestamps {
  static func check(_ event: JSONObject) throws(MISPEventError) {
    try checkValue(event["timestamp"], "Event.timestamp")
    func attributes(_ list: JSONValue?, _ path: String) throws(MISPEventError) {
      for (index, attribute) in (list?.arrayValue ?? []).enumerated() {
        try checkValue(attribute["timestamp"], "\(path)[\(index)].timestamp")
        for (number, sighting) in (attribute["Sighting"]?.arrayValue ?? []).enumerated() {
          try checkValue(sighting["date_sighting"], "\(path)[\(index)].Sighting[\(number)].date_sighting")
        }
      }
    }
    try attributes(event["Attribute"], "Attribute")
    for (index, object) in (event["Object"]?.arrayValue ?? []).enumerated() {
      try attributes(object["Attribute"], "Object[\(index)].Attribute")
    }
    for (index, note) in (event["EventReport"]?.arrayValue ?? []).enumerated() {
      try checkValue(note["timestamp"], "EventReport[\(index)].timestamp")
    }
  }

  static func checkValue(_ value: JSONValue?, _ field: @autoclosure () -> String) throws(MISPEventError) {
    let text: String
    switch value {
    case .number(let number)?: text = number
    case .string(let string)?: text = string.trimmingSpaces
    default: return
    }
    if let seconds = value?.intValue {
      if ISO8601.Instant.supportedSeconds.contains(Int64(seconds)) { return }
    } else if !isWholeNumber(text), !isLargeNumber(value) {
      return
    }
    let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
    throw MISPEventError("\(field()) \(shown) is outside the years 0001 to 9999")
  }

  /// Digits with an optional sign: a whole number, however long.
  static func isWholeNumber(_ text: String) -> Bool {
    var digits = Substring(text)
    if digits.first == "-" || digits.first == "+" { digits.removeFirst() }
    return !digits.isEmpty && digits.utf8.allSatisfy { (48...57).contains($0) }
  }

  /// A JSON number such as `1e30` that no Int holds.
  static func isLargeNumber(_ value: JSONValue?) -> Bool {
    guard case .number(let text)? = value, let double = Double(text) else { return false }
    return !double.isFinite || abs(double) > Double(ISO8601.Instant.supportedSeconds.upperBound)
  }
}

/// The conversion of one event; mirrors the connector's `_process_event`.
private struct EventRun {
  let options: MISPOptions
  let event: JSONObject
  var tags: MISPTags
  let fixed: Bool
  let context: STIXObjects.Context
  let eventTimestamp: Int64
  let eventScore: Int

  var author = JSONObject()
  var authorID = ""
  var authorName = ""
  var eventMarkings: [JSONObject] = []
  var eventMarkingIDs: [String] = []
  var eventLabels: [String] = []
  var eventElements = MISPTags.Elements()
  /// MISP attribute and object uuids → the STIX id that stands for them, and its display text.
  var byMISPUUID: [String: (id: String, text: String)] = [:]
  var files: [JSONValue] = []
  var notes: [String] = []
  var millisecondsCache: [Int64: String] = [:]
  var secondsCache: [Int64: String] = [:]

  /// Relationships wait for the end of the bundle, where the connector puts them.
  var relationships: [Relationship] = []
  var bundle: BundleBuilder

  init(options: MISPOptions, event: JSONObject, now: ISO8601.Instant) {
    self.options = options
    self.event = event
    tags = MISPTags(options: options)
    fixed = options.fixed
    eventTimestamp = Self.int(event["timestamp"]) ?? 0
    context = STIXObjects.Context(
      timestamp: Self.milliseconds(options.fixed ? eventTimestamp : now.seconds))
    eventScore = Self.score(event["threat_level_id"], fixed: options.fixed)
    var attributeCount = event["Attribute"]?.arrayValue?.count ?? 0
    for object in event["Object"]?.arrayValue ?? [] { attributeCount += object["Attribute"]?.arrayValue?.count ?? 0 }
    bundle = BundleBuilder(
      fixed: fixed, eventUUID: event["uuid"]?.stringValue ?? "", timestamp: eventTimestamp,
      expectedResults: attributeCount)
  }

  /// Writes the bundle as the connector assembles it: author, event markings and galaxies, then
  /// each attribute's objects in turn, object observables, relationships, report and notes.
  mutating func convert() throws(MISPEventError) -> MISPConversion {
    let uuid = event["uuid"]?.stringValue ?? ""
    try makeAuthor()
    let eventTags = event["Tag"]?.arrayValue
    eventMarkings = eventTags.map { tags.markings($0, withDefault: true) } ?? [STIXObjects.tlp(.white)]
    eventMarkingIDs = eventMarkings.compactMap { $0["id"]?.stringValue }
    eventElements = tags.elements(
      galaxies: event["Galaxy"]?.arrayValue ?? [], tags: eventTags ?? [], author: authorID, markings: eventMarkingIDs,
      context: context)
    eventLabels = eventTags.map { tags.labels($0) } ?? []
    bundle.append(author)
    for marking in eventMarkings { bundle.addMarking(marking) }
    addElements(eventElements)

    var externalReferences: [JSONValue] = []
    let attributes = event["Attribute"]?.arrayValue ?? []
    let createRelationships = attributes.count < 10_000
    for attribute in attributes {
      processAttribute(attribute, objectObservableID: nil, externalReferences: [], createRelationships: createRelationships)
      if let reference = Self.externalReference(attribute, fixed: fixed) { externalReferences.append(reference) }
      collectFile(attribute)
    }

    var objectObservables: [JSONObject] = []
    let objects = event["Object"]?.arrayValue ?? []
    for object in objects {
      let objectAttributes = object["Attribute"]?.arrayValue ?? []
      let references = objectAttributes.compactMap { Self.externalReference($0, fixed: fixed) }
      for attribute in objectAttributes { collectFile(attribute) }
      var objectObservableID: String?
      if options.createObjectObservables,
        let objectObservable = try makeObjectObservable(object, attributes: objectAttributes, references: references)
      {
        objectObservables.append(objectObservable)
        objectObservableID = objectObservable["id"]?.stringValue
        if let objectUUID = object["uuid"]?.stringValue, let objectObservableID {
          byMISPUUID[objectUUID] = (objectObservableID, objectObservable["value"]?.stringValue ?? "")
        }
      }
      let create = objectAttributes.count < 10_000
      for attribute in objectAttributes {
        processAttribute(
          attribute, objectObservableID: objectObservableID, externalReferences: references, createRelationships: create)
      }
    }

    for observable in objectObservables {
      bundle.reference(observable)
      bundle.addObjectObservable(observable)
    }
    relationships += objectReferenceRelationships(objects)
    for relationship in relationships where bundle.beginRelationship(relationship) { write(relationship) }
    if options.createReports {
      let report = try makeReport(objectRefs: bundle.objectRefs, externalReferences: externalReferences)
      bundle.append(report)
      for note in event["EventReport"]?.arrayValue ?? [] {
        if let made = makeNote(note, reportID: report["id"]!.stringValue!) { bundle.append(made) }
      }
    }
    return MISPConversion(uuid: uuid, bundle: bundle.finish(), objectCounts: bundle.counts, notes: notes)
  }

  /// Galaxy and tag objects, each referenced by the report and written once.
  mutating func addElements(_ elements: MISPTags.Elements) {
    for element in elements.all {
      bundle.reference(element)
      bundle.addEntity(element)
    }
  }

  // MARK: Author

  mutating func makeAuthor() throws(MISPEventError) {
    var name: String?
    if options.authorFromTags {
      for tag in event["Tag"]?.arrayValue ?? [] {
        guard let tagName = tag["name"]?.stringValue?.lowercased() else { continue }
        if tagName.hasPrefix("creator"), tagName.contains("=") { name = MISPTags.pythonSplit(tagName, "=")[1] }
      }
    }
    if name == nil { name = event["Orgc"]?["name"]?.stringValue }
    guard let name else { throw MISPEventError("the event has no Orgc.name (its author)") }
    authorName = name
    authorID = STIXID.identity(name: name, identityClass: "organization")
    author = STIXObjects.sdo("identity", id: authorID, context: context)
    author.put("name", .string(name))
    author.put("identity_class", "organization")
  }

  // MARK: Attributes

  /// Writes what one attribute gives, in the connector's order: for each part of its value an
  /// indicator, an observable, their markings, sighting identities and sightings, and galaxy
  /// objects; its relationships join the list written at the end.
  mutating func processAttribute(
    _ attribute: JSONValue, objectObservableID: String?, externalReferences: [JSONValue], createRelationships: Bool
  ) {
    let type = attribute["type"]?.stringValue ?? ""
    let category = attribute["category"]?.stringValue ?? ""
    if type == "link" && category == "External analysis" { return }
    guard let value = Self.text(attribute["value"]),
      let resolved = MISPAttributeTypes.resolve(type: type, value: value, options: options)
    else { return }
    let parts = fixed ? resolved : Array(resolved.prefix(1))

    let attributeTags = attribute["Tag"]?.arrayValue
    var markings = eventMarkings
    var labels = eventLabels
    if let attributeTags {
      markings = tags.markings(attributeTags, withDefault: false)
      labels = tags.labels(attributeTags)
      if markings.isEmpty { markings = eventMarkings }
    }
    let markingIDs = attributeTags == nil ? eventMarkingIDs : markings.compactMap { $0["id"]?.stringValue }
    let elements = tags.elements(
      galaxies: attribute["Galaxy"]?.arrayValue ?? [], tags: attributeTags ?? [], author: authorID, markings: markingIDs,
      context: context)
    let comment = Self.text(attribute["comment"]) ?? ""
    let toIDs = attribute["to_ids"] ?? false
    var score = eventScore
    if let noScore = options.importToIdsNoScore, !Self.isTrue(toIDs) { score = noScore }
    let timestamp = Self.int(attribute["timestamp"]) ?? eventTimestamp

    for part in parts {
      let observableType = part.openCTIType
      var name: String?
      if part.kind == .yara || part.kind == .sigma {
        name = Self.isLongerThanTwo(comment) ? comment : (fixed ? type : nil)
      } else {
        name = Self.isLongerThanTwo(part.value) ? part.value : (Self.isLongerThanTwo(comment) ? comment : observableType)
      }
      var indicatorID: String?
      if options.createIndicators, let (patternType, pattern) = part.pattern {
        let id = STIXID.indicator(pattern: pattern)
        indicatorID = id
        if bundle.beginEntity(id: id, type: "indicator", name: pattern) {
          let created = cachedMilliseconds(timestamp)
          let validFrom = cachedSeconds(timestamp)
          STIXObjects.beginSDO("indicator", id: id, created: created, modified: created, into: &bundle.text)
          if let name { bundle.text.member("name", name) }
          bundle.text.member("description", comment)
          bundle.text.member("pattern_type", patternType)
          bundle.text.member("pattern", pattern)
          bundle.text.member("valid_from", validFrom)
          STIXObjects.writeList("labels", labels, into: &bundle.text)
          bundle.text.member("created_by_ref", authorID)
          STIXObjects.writeList("object_marking_refs", markingIDs, into: &bundle.text)
          STIXObjects.writeList("external_references", externalReferences, into: &bundle.text)
          if let observableType { bundle.text.member("x_opencti_main_observable_type", observableType) }
          if fixed { bundle.text.member("x_opencti_detection", Self.isTrue(toIDs)) } else {
            bundle.text.member("x_opencti_detection", toIDs)
          }
          bundle.text.member("x_opencti_score", score)
          bundle.text.endObject()
        }
      }
      var observableID: String?
      if options.createObservables, observableType != nil {
        observableID = writeObservable(
          part, comment: comment, score: score, labels: labels, markingIDs: markingIDs,
          externalReferences: externalReferences)
      }
      if let uuid = attribute["uuid"]?.stringValue, byMISPUUID[uuid] == nil, let primary = observableID ?? indicatorID {
        byMISPUUID[uuid] = (primary, part.value)
      }
      for marking in markings { bundle.addMarking(marking) }
      let (identities, sightings) = makeSightings(attribute, indicatorID: indicatorID)
      for identity in identities { bundle.addEntity(identity) }
      for sighting in sightings { bundle.addSighting(sighting) }
      addElements(elements)
      if createRelationships {
        addRelationships(
          indicatorID: indicatorID, observableID: observableID, elements: elements, objectObservableID: objectObservableID,
          comment: comment, markingIDs: markingIDs)
      }
    }
  }

  /// Writes the observable (or individual identity) for `part` unless the bundle has it, and
  /// returns its id; nil when the part gives none.
  mutating func writeObservable(
    _ part: MISPResolved, comment: String, score: Int, labels: [String], markingIDs: [String], externalReferences: [JSONValue]
  ) -> String? {
    var properties = JSONObject()
    let type: String
    switch part.kind {
    case .fileName, .pdbPath:
      type = "file"
      properties.put("name", .string(part.value))
    case .fileMD5, .fileSHA1, .fileSHA256:
      type = "file"
      let algorithm = part.kind == .fileMD5 ? "MD5" : part.kind == .fileSHA1 ? "SHA-1" : "SHA-256"
      properties.put("hashes", .object(JSONObject([(algorithm, .string(part.value))])))
    case .fileNameAndHash(let algorithm, let hash):
      type = "file"
      properties.put("name", .string(part.value))
      properties.put("hashes", .object(JSONObject([(algorithm, .string(hash))])))
    case .ipv4: type = "ipv4-addr"; properties.put("value", .string(part.value))
    case .ipv6: type = "ipv6-addr"; properties.put("value", .string(part.value))
    case .hostname: type = "hostname"; properties.put("value", .string(part.value))
    case .domain: type = "domain-name"; properties.put("value", .string(part.value))
    case .url: type = "url"; properties.put("value", .string(part.value))
    case .emailAddress: type = "email-addr"; properties.put("value", .string(part.value))
    case .phoneNumber: type = "phone-number"; properties.put("value", .string(part.value))
    case .text: type = "text"; properties.put("value", .string(part.value))
    case .registryKey: type = "windows-registry-key"; properties.put("key", .string(part.value))
    case .emailSubject:
      type = "email-message"
      properties.put("subject", .string(part.value))
      properties.put("is_multipart", true)
    case .githubUser:
      type = "user-account"
      properties.put("account_login", .string(part.value))
      properties.put("account_type", "github")
    case .userAgent:
      // The official connector has no branch for it; fixed mode keeps the observable.
      guard fixed else { return nil }
      type = "user-agent"
      properties.put("value", .string(part.value))
    case .individual:
      let id = STIXID.identity(name: part.value, identityClass: "individual")
      if bundle.beginEntity(id: id, type: "identity", name: nil) {
        STIXObjects.beginSDO("identity", id: id, created: context.timestamp, modified: context.timestamp, into: &bundle.text)
        bundle.text.member("name", part.value)
        bundle.text.member("identity_class", "individual")
        bundle.text.member("description", comment)
        STIXObjects.writeList("labels", labels, into: &bundle.text)
        bundle.text.member("created_by_ref", authorID)
        STIXObjects.writeList("external_references", externalReferences, into: &bundle.text)
        bundle.text.endObject()
      }
      return id
    case .connection(let toDestination, let port, let ipv6):
      type = "network-traffic"
      let addressType = ipv6 ? "ipv6-addr" : "ipv4-addr"
      guard let address = STIXID.observable(type: addressType, properties: JSONObject([("value", .string(part.value))]))
      else { return nil }
      properties.put(toDestination ? "dst_ref" : "src_ref", .string(address))
      properties.put(toDestination ? "dst_port" : "src_port", .int(port))
      properties.put("protocols", [.string(ipv6 ? "ipv6" : "ipv4")])
    case .yara, .sigma:
      return nil
    }
    guard let id = STIXID.observable(type: type, properties: properties) else { return nil }
    let value = properties["value"]?.stringValue
    if let value, !MISPValueSyntax.isValid(type: type, value: value) {
      notes.append("\(type) value kept as given: \(value)")
    }
    if bundle.beginEntity(id: id, type: type, name: value) {
      STIXObjects.beginSCO(type, id: id, into: &bundle.text)
      // The properties never repeat type, spec_version or id.
      for member in properties { bundle.text.member(named: member.key, member.value) }
      STIXObjects.writeList("object_marking_refs", markingIDs, into: &bundle.text)
      bundle.text.member("x_opencti_description", comment)
      bundle.text.member("x_opencti_score", score)
      STIXObjects.writeList("labels", labels, into: &bundle.text)
      bundle.text.member("created_by_ref", authorID)
      STIXObjects.writeList("external_references", externalReferences, into: &bundle.text)
      bundle.text.endObject()
    }
    return id
  }

  /// The organisations that sighted an attribute, and the sightings of its indicator.
  func makeSightings(_ attribute: JSONValue, indicatorID: String?) -> (identities: [JSONObject], sightings: [JSONObject]) {
    var identities: [JSONObject] = []
    var sightings: [JSONObject] = []
    for sighting in attribute["Sighting"]?.arrayValue ?? [] {
      guard let organisation = sighting["Organisation"]?["name"]?.stringValue, organisation != authorName else { continue }
      let identityID = STIXID.identity(name: organisation, identityClass: "organization")
      var identity = STIXObjects.sdo("identity", id: identityID, context: context)
      identity.put("name", .string(organisation))
      identity.put("identity_class", "organization")
      identities.append(identity)
      guard let indicatorID, let date = Self.int(sighting["date_sighting"]) else { continue }
      let first = Self.seconds(date)
      let last = Self.seconds(date + 3600)
      let id = STIXID.sighting(
        of: indicatorID, whereSighted: .string(identityID), firstSeen: IDTime(first), lastSeen: IDTime(last))
      var object = STIXObjects.sdo("sighting", id: id, context: context)
      object.put("sighting_of_ref", .string(indicatorID))
      object.put("first_seen", .string(first))
      object.put("last_seen", .string(last))
      object.put("where_sighted_refs", [.string(identityID)])
      sightings.append(object)
    }
    return (identities, sightings)
  }

  /// A relationship of the bundle, before it is written.
  struct Relationship {
    var type: String
    var source: String
    var target: String
    var description: String?
    var markings: [String]
    var id: String

    init(_ type: String, _ source: String, _ target: String, description: String?, markings: [String]) {
      self.type = type
      self.source = source
      self.target = target
      self.description = description
      self.markings = markings
      id = STIXID.relationship(type: type, source: source, target: target)
    }
  }

  mutating func write(_ relationship: Relationship) {
    STIXObjects.beginSDO(
      "relationship", id: relationship.id, created: context.timestamp, modified: context.timestamp, into: &bundle.text)
    bundle.text.member("relationship_type", relationship.type)
    bundle.text.member("created_by_ref", authorID)
    bundle.text.member("source_ref", relationship.source)
    bundle.text.member("target_ref", relationship.target)
    if let description = relationship.description { bundle.text.member("description", description) }
    STIXObjects.writeList("object_marking_refs", relationship.markings, into: &bundle.text)
    bundle.text.endObject()
  }

  /// An attribute's relationships: indicator based on observable, object observable related
  /// to it, both linked to the event's and the attribute's threats, threats using attack
  /// patterns, and both related to targeted sectors and countries.
  mutating func addRelationships(
    indicatorID: String?, observableID: String?, elements: MISPTags.Elements, objectObservableID: String?,
    comment: String, markingIDs: [String]
  ) {
    if let indicatorID, let observableID {
      relationships.append(Relationship("based-on", indicatorID, observableID, description: nil, markings: []))
    }
    if let sourceID = objectObservableID {
      let target = observableID != nil && observableID != sourceID ? observableID : indicatorID
      if let target { relationships.append(Relationship("related-to", sourceID, target, description: nil, markings: [])) }
    }
    if eventElements.isEmpty && elements.isEmpty { return }
    var threatNames: [String: String] = [:]
    func link(_ threatID: String) {
      if let indicatorID {
        relationships.append(Relationship("indicates", indicatorID, threatID, description: comment, markings: markingIDs))
      }
      if let observableID {
        relationships.append(Relationship("related-to", observableID, threatID, description: comment, markings: markingIDs))
      }
    }
    for threat in eventElements.threats {
      let (name, id) = (threat["name"]!.stringValue!, threat["id"]!.stringValue!)
      threatNames[name] = id
      link(id)
    }
    for threat in elements.threats {
      link(threatNames[threat["name"]!.stringValue!] ?? threat["id"]!.stringValue!)
    }
    for group in [eventElements, elements] {
      let users = !group.malwares.isEmpty ? group.malwares : group.intrusionSets
      for attackPattern in group.attackPatterns {
        for threat in users {
          let threatID = threatNames[threat["name"]!.stringValue!] ?? threat["id"]!.stringValue!
          relationships.append(
            Relationship("uses", threatID, attackPattern["id"]!.stringValue!, description: comment, markings: markingIDs))
        }
      }
    }
    for target in elements.sectors + elements.countries {
      let targetID = target["id"]!.stringValue!
      if let indicatorID {
        relationships.append(Relationship("related-to", indicatorID, targetID, description: comment, markings: markingIDs))
      }
      if let observableID {
        relationships.append(Relationship("related-to", observableID, targetID, description: comment, markings: markingIDs))
      }
    }
  }

  // MARK: Objects

  func makeObjectObservable(_ object: JSONValue, attributes: [JSONValue], references: [JSONValue]) throws(MISPEventError)
    -> JSONObject?
  {
    let value: String
    if options.importUnsupportedObservablesAsTextTransparent {
      guard let first = attributes.first else { return nil }
      value = Self.text(first["value"]) ?? ""
    } else {
      var key = ""
      if let first = attributes.first {
        key = " (" + (first["type"]?.stringValue ?? "") + "=" + (Self.text(first["value"]) ?? "") + ")"
      }
      value = (object["name"]?.stringValue ?? "") + key
    }
    let description = object["description"]
    if description == nil, !fixed {
      // The official connector fails the whole event here (KeyError).
      throw MISPEventError("object \(object["uuid"]?.stringValue ?? "?") has no description (official behaviour)")
    }
    let properties = JSONObject([("value", .string(value))])
    var observable = STIXObjects.sco("text", id: STIXID.observable(type: "text", properties: properties)!)
    observable.put("value", .string(value))
    STIXObjects.setList(&observable, "object_marking_refs", eventMarkingIDs)
    observable[fixed ? "x_opencti_description" : "description"] = description.flatMap { $0.isNull ? nil : $0 }
    observable.put("x_opencti_score", .int(eventScore))
    STIXObjects.setList(&observable, "labels", eventLabels)
    observable.put("created_by_ref", .string(authorID))
    STIXObjects.setList(&observable, "external_references", references)
    return observable
  }

  func objectReferenceRelationships(_ objects: [JSONValue]) -> [Relationship] {
    var relationships: [Relationship] = []
    for object in objects {
      for reference in object["ObjectReference"]?.arrayValue ?? [] {
        let type = reference["relationship_type"]?.stringValue ?? ""
        let comment = reference["comment"]?.stringValue ?? ""
        let description = "Original Relationship: " + type + "  \nComment: " + comment
        if fixed {
          let sourceUUID =
            reference["object_uuid"]?.stringValue ?? reference["source_uuid"]?.stringValue ?? object["uuid"]?.stringValue
          guard let sourceUUID, let targetUUID = reference["referenced_uuid"]?.stringValue,
            let source = byMISPUUID[sourceUUID]?.id, let target = byMISPUUID[targetUUID]?.id, source != target
          else { continue }
          relationships.append(Relationship("related-to", source, target, description: description, markings: []))
        } else {
          // Looked up as bundle ids ending in the MISP uuid, which deterministic ids never do.
          guard let sourceUUID = reference["source_uuid"]?.stringValue,
            let targetUUID = reference["referenced_uuid"]?.stringValue,
            let source = bundle.id(endingWith: sourceUUID), let target = bundle.id(endingWith: targetUUID)
          else { continue }
          relationships.append(Relationship("related-to", source, target, description: description, markings: []))
        }
      }
    }
    return relationships
  }

  // MARK: Report, notes, attachments

  mutating func collectFile(_ attribute: JSONValue) {
    guard options.importWithAttachments, attribute["type"]?.stringValue == "attachment",
      attribute["category"]?.stringValue == "External analysis", let value = attribute["value"]?.stringValue,
      value.hasSuffix(".pdf") || value.hasSuffix(".PDF"), let data = attribute["data"], !data.isNull
    else { return }
    files.append(["name": .string(value), "data": data, "mime_type": "application/pdf", "no_trigger_import": true])
  }

  func makeReport(objectRefs: [String], externalReferences: [JSONValue]) throws(MISPEventError) -> JSONObject {
    let info = Self.text(event["info"]) ?? ""
    guard let dateText = Self.text(event["date"]), let date = ISO8601.parse(String(dateText.prefix(10))) else {
      throw MISPEventError("the event has no valid date (YYYY-MM-DD)")
    }
    let dateSeconds = date.seconds
    var modified = eventTimestamp
    if fixed, modified < dateSeconds { modified = dateSeconds }
    let id = STIXID.report(name: info, published: .isoformat(unixSeconds: dateSeconds))
    var report = STIXObjects.sdo("report", id: id, created: Self.milliseconds(dateSeconds), modified: Self.milliseconds(modified))
    report.put("name", .string(info))
    report.put("description", .string(info))
    report.put("report_types", [.string(options.reportType)])
    report.put("published", .string(Self.seconds(dateSeconds)))
    report.put("created_by_ref", .string(authorID))
    STIXObjects.setList(&report, "object_marking_refs", eventMarkingIDs)
    STIXObjects.setList(&report, "labels", eventLabels)
    var refs = objectRefs
    if refs.isEmpty { refs = [fixed ? authorID : "intrusion-set--fc5ee88d-7987-4c00-991e-a863e9aa8a0e"] }
    report.put("object_refs", .array(refs.map(JSONValue.string)))
    STIXObjects.setList(&report, "external_references", externalReferences)
    STIXObjects.setList(&report, "x_opencti_files", files)
    return report
  }

  func makeNote(_ note: JSONValue, reportID: String) -> JSONObject? {
    let rawContent = Self.text(note["content"]) ?? ""
    if fixed, Self.isTrue(note["deleted"] ?? false) || PythonText.strip(rawContent).isEmpty { return nil }
    let timestamp = Self.int(note["timestamp"]) ?? eventTimestamp
    let created = Self.seconds(timestamp)
    let content = rewriteNote(rawContent)
    var object = STIXObjects.sdo(
      "note", id: STIXID.note(content: content, created: IDTime(created)), created: Self.milliseconds(timestamp),
      modified: Self.milliseconds(timestamp))
    object.put("created_by_ref", .string(authorID))
    STIXObjects.setList(&object, "object_marking_refs", eventMarkingIDs)
    object.put("abstract", fixed ? Self.text(note["name"]).map(JSONValue.string) : note["name"].flatMap { $0.isNull ? nil : $0 })
    object.put("content", .string(content))
    object.put("object_refs", [.string(reportID)])
    return object
  }

  /// `@[attribute](uuid)` / `@[object](uuid)` → `[type:text](/dashboard/search/id)` and
  /// `@[tag](name)` → `tag:name`, as `_process_note` does; fixed mode links the STIX ids.
  func rewriteNote(_ content: String) -> String {
    guard content.contains("@[") else { return content }
    var output = ""
    var rest = Substring(content)
    while let start = rest.range(of: "@[") {
      output += rest[..<start.lowerBound]
      let after = rest[start.upperBound...]
      if let (replacement, consumed) = noteLink(after) {
        output += replacement
        rest = after[consumed...]
      } else {
        output += "@["
        rest = after
      }
    }
    return output + rest
  }

  private func noteLink(_ text: Substring) -> (String, Substring.Index)? {
    for kind in ["object", "attribute"] where text.hasPrefix(kind + "](") {
      let uuidStart = text.index(text.startIndex, offsetBy: kind.count + 2)
      let uuid = text[uuidStart...].prefix(36)
      guard uuid.count == 36, Self.isLowerUUID(uuid), text[uuid.endIndex...].first == ")" else { return nil }
      let end = text.index(after: uuid.endIndex)
      let key = String(uuid)
      if fixed, let target = byMISPUUID[key] {
        return ("[\(kind):\(target.text)](/dashboard/search/\(target.id))", end)
      }
      if !fixed, let found = bundle.object(endingWith: key) {
        return ("[\(kind):\(found.name ?? "")](/dashboard/search/\(found.id))", end)
      }
      return ("[\(kind):\(key)](/dashboard/search/\(key))", end)
    }
    if text.hasPrefix("tag](") {
      let nameStart = text.index(text.startIndex, offsetBy: 5)
      let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:\"'0123456789-=")
      let name = text[nameStart...].prefix(while: { allowed.contains($0) })
      guard !name.isEmpty, text[name.endIndex...].first == ")" else { return nil }
      return ("tag:" + name, text.index(after: name.endIndex))
    }
    return nil
  }

  private static func isLowerUUID(_ text: Substring) -> Bool {
    for (position, character) in text.enumerated() {
      if [8, 13, 18, 23].contains(position) {
        guard character == "-" else { return false }
      } else {
        guard character.isASCII, character.isLowercase || character.isNumber else { return false }
      }
    }
    return true
  }

  // MARK: Values

  /// A `link` attribute in `External analysis` as an external reference. Fixed mode keeps a
  /// value that is not a URL as the description instead of an invalid `url`.
  static func externalReference(_ attribute: JSONValue, fixed: Bool) -> JSONValue? {
    guard attribute["type"]?.stringValue == "link", attribute["category"]?.stringValue == "External analysis" else {
      return nil
    }
    let value = text(attribute["value"]) ?? ""
    var reference = JSONObject([("source_name", "External analysis")])
    if fixed {
      if let uuid = text(attribute["uuid"]) { reference["external_id"] = .string(uuid) }
      if MISPValueSyntax.isValid(type: "url", value: value) {
        reference.put("url", .string(value))
      } else if !value.isEmpty {
        reference.put("description", .string(value))
      }
      return reference.count > 1 ? .object(reference) : nil
    }
    reference.put("external_id", attribute["uuid"] ?? .null)
    reference.put("url", .string(value))
    return .object(reference)
  }

  /// Threat level 1/2/3 → 90/60/30, else 50. The official connector compares strings, so an
  /// integer level scores 50 there.
  static func score(_ level: JSONValue?, fixed: Bool) -> Int {
    let text = fixed ? (level?.intValue.map(String.init) ?? level?.stringValue) : level?.stringValue
    switch text {
    case "1": return 90
    case "2": return 60
    case "3": return 30
    default: return 50
    }
  }

  /// `len(text) > 2` in Python (code points), without counting a long text to its end.
  static func isLongerThanTwo(_ text: String) -> Bool {
    var count = 0
    for _ in text.unicodeScalars {
      count += 1
      if count > 2 { return true }
    }
    return false
  }

  static func int(_ value: JSONValue?) -> Int64? {
    guard let value else { return nil }
    if let int = value.intValue { return Int64(int) }
    return nil
  }

  static func text(_ value: JSONValue?) -> String? {
    switch value {
    case .string(let text): return text
    case .number(let text): return text
    default: return nil
    }
  }

  static func isTrue(_ value: JSONValue) -> Bool {
    switch value {
    case .bool(let flag): return flag
    case .string(let text): return Configuration.parseBool(text) ?? false
    case .number(let text): return text != "0"
    default: return false
    }
  }

  static func milliseconds(_ seconds: Int64) -> String {
    ISO8601.format(ISO8601.Instant(seconds: seconds), fractionDigits: 3)
  }

  /// `seconds` for attribute timestamps, which repeat within an event.
  mutating func cachedSeconds(_ seconds: Int64) -> String {
    if let text = secondsCache[seconds] { return text }
    let text = Self.seconds(seconds)
    secondsCache[seconds] = text
    return text
  }

  /// `milliseconds` for attribute timestamps, which repeat within an event.
  mutating func cachedMilliseconds(_ seconds: Int64) -> String {
    if let text = millisecondsCache[seconds] { return text }
    let text = Self.milliseconds(seconds)
    millisecondsCache[seconds] = text
    return text
  }

  static func seconds(_ seconds: Int64) -> String {
    ISO8601.format(ISO8601.Instant(seconds: seconds), fractionDigits: 0)
  }
}

/// The bundle under construction, with the connector's de-duplication rules: entities by id,
/// object observables in their own list (official), relationships by source and target
/// (official) or by id (fixed). Objects go into the text as they come: the many an attribute
/// gives are written member by member (`beginEntity`, then `text`), the rest from trees.
private struct BundleBuilder {
  /// What the lookups by MISP uuid need of an object already written: its id, and the text
  /// a note link shows (an indicator's pattern, else its value).
  struct Written {
    var id: String
    var name: String?
  }

  let fixed: Bool
  /// The bundle's JSON text so far; an object begun with `beginEntity` is written here.
  var text: JSONWriter
  private var written: [Written] = []
  private(set) var objectRefs: [String] = []
  private var refKeys: Set<String> = []
  private var entityIDs: Set<String> = []
  private var markingIDs: Set<String> = []
  private var sightingIDs: Set<String> = []
  private var objectObservableIDs: Set<String> = []
  private var relationshipKeys: Set<String> = []
  private(set) var counts: [String: Int] = [:]

  /// Fixed mode gives the bundle a deterministic id (the event uuid and timestamp); the
  /// official connector's is random. Sizes the id sets and the text once for about as many
  /// attribute results (each gives an indicator, an observable and a relationship or so, of
  /// some 500 bytes each), sparing their regrowth as a big event grows.
  init(fixed: Bool, eventUUID: String, timestamp: Int64, expectedResults: Int) {
    self.fixed = fixed
    let expectedObjects = 3 * expectedResults + 16
    written.reserveCapacity(expectedObjects)
    objectRefs.reserveCapacity(expectedObjects)
    refKeys.reserveCapacity(expectedObjects)
    entityIDs.reserveCapacity(2 * expectedResults + 16)
    relationshipKeys.reserveCapacity(expectedResults + 16)
    let id =
      fixed
      ? UUIDv5.make(namespace: UUIDv5.stixNamespace, name: "misp-event:\(eventUUID):\(timestamp)")
      : UUID().uuidString.lowercased()
    text = JSONWriter(capacity: 4096 + expectedObjects * 512)
    text.append("{\"type\":\"bundle\",\"id\":")
    text.writeString("bundle--" + id)
    text.append(",\"objects\":[")
  }

  /// Records an object about to be written and writes the comma before it.
  private mutating func begin(id: String, type: String, name: String?) {
    if !written.isEmpty { text.append(",") }
    written.append(Written(id: id, name: name))
    counts[type, default: 0] += 1
  }

  mutating func append(_ object: JSONObject) {
    let type = object["type"]?.stringValue
    begin(
      id: object["id"]?.stringValue ?? "", type: type ?? "?",
      name: (type == "indicator" ? object["pattern"] : object["value"])?.stringValue)
    text.write(.object(object))
  }

  /// References the entity `id` and tells whether it is new; if so its comma is written and
  /// the caller writes it to `text` now.
  mutating func beginEntity(id: String, type: String, name: String?) -> Bool {
    reference(id)
    guard entityIDs.insert(id).inserted else { return false }
    begin(id: id, type: type, name: name)
    return true
  }

  mutating func addMarking(_ marking: JSONObject) {
    guard let id = marking["id"]?.stringValue, markingIDs.insert(id).inserted else { return }
    append(marking)
  }

  mutating func addEntity(_ entity: JSONObject) {
    guard let id = entity["id"]?.stringValue, entityIDs.insert(id).inserted else { return }
    append(entity)
  }

  mutating func addSighting(_ sighting: JSONObject) {
    guard let id = sighting["id"]?.stringValue, sightingIDs.insert(id).inserted else { return }
    append(sighting)
  }

  mutating func addObjectObservable(_ observable: JSONObject) {
    guard let id = observable["id"]?.stringValue else { return }
    if fixed {
      addEntity(observable)
    } else if objectObservableIDs.insert(id).inserted {
      append(observable)
    }
  }

  /// References the relationship and tells whether it is new; if so its comma is written and
  /// the caller writes it. Fixed mode tells relationships apart by id, the official connector
  /// by source and target.
  mutating func beginRelationship(_ relationship: EventRun.Relationship) -> Bool {
    let key = fixed ? relationship.id : relationship.source + relationship.target
    if refKeys.insert(key).inserted { objectRefs.append(relationship.id) }
    guard relationshipKeys.insert(key).inserted else { return false }
    begin(id: relationship.id, type: "relationship", name: nil)
    return true
  }

  mutating func reference(_ object: JSONObject) {
    if let id = object["id"]?.stringValue { reference(id) }
  }

  mutating func reference(_ id: String) {
    if refKeys.insert(id).inserted { objectRefs.append(id) }
  }

  /// The first object whose id ends with `--<uuid>` (the official `_find_type_by_uuid`; used
  /// only for the rare object references and note links, so a scan is enough).
  func object(endingWith uuid: String) -> Written? {
    let suffix = "--" + uuid
    return written.first { $0.id.hasSuffix(suffix) }
  }

  func id(endingWith uuid: String) -> String? { object(endingWith: uuid)?.id }

  /// The bundle's JSON text.
  mutating func finish() -> [UInt8] {
    text.append("]}")
    return text.bytes
  }
}
