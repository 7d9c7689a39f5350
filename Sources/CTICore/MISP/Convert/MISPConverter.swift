import Foundation

/// Why an event could not be converted.
package struct MISPEventError: ToolError, Equatable {
  package var message: String
  package init(_ message: String) { self.message = message }
  package var exitStatus: ExitStatus { .dataError }
  package var description: String { message }
}

/// One converted event: the bundle's JSON text and what it holds.
package struct MISPConversion: Sendable {
  package var uuid: String
  package var bundle: [UInt8]
  /// Objects in the bundle by STIX type.
  package var objectCounts: [String: Int]
  /// Values kept verbatim that STIX validators may flag (for the summary).
  package var notes: [String]
}

/// Converts MISP events to STIX 2.1 bundles the way OpenCTI's `misp-feed` connector does
/// (reference §3), with its quirks fixed unless `options.compatibility` is `.official`
/// (`MISPQuirks`).
package struct MISPConverter: Sendable {
  package let options: MISPConversionSettings
  /// Looks tag values up in OpenCTI when `options.guessThreatsFromTags` is on; without one the
  /// option does nothing.
  package let threatGuesser: MISPThreatGuesser?

  package init(options: MISPConversionSettings, threatGuesser: MISPThreatGuesser? = nil) {
    self.options = options
    self.threatGuesser = threatGuesser
  }

  /// Converts `root`: `{"Event": {…}}`, a bare event, or a one-element list of either.
  /// `now` stands in for the official connector's clock (`--compat official` only).
  package func convert(_ root: JSONValue, now: ISO8601.Instant = .now) throws(MISPEventError) -> MISPConversion {
    var value = root
    if let list = value.arrayValue {
      guard list.count == 1 else { throw MISPEventError("a list of \(list.count) events; expected one") }
      value = list[0]
    }
    if let wrapped = value["Event"] { value = wrapped }
    guard let event = value.objectValue else { throw MISPEventError("not a MISP event object") }
    try MISPTimestamps.check(event)
    var run = EventConversion(options: options, event: event, now: now)
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

/// The conversion of one event: decides, in the connector's order (`_process_event`), which
/// objects the event gives, and hands each to the bundle writer.
private struct EventConversion {
  let options: MISPConversionSettings
  let quirks: MISPQuirks
  let event: JSONObject
  var tags: MISPTags
  let eventTimestamp: Int64
  let eventScore: Int

  var authorID = ""
  var authorName = ""
  var eventMarkings: [STIXMarking] = []
  var eventMarkingIDs: [String] = []
  var eventLabels: [String] = []
  var eventElements = MISPTags.Elements()
  /// MISP attribute and object uuids → the STIX id that stands for them, and its display text.
  var byMISPUUID: [String: (id: String, text: String)] = [:]
  var files: [JSONValue] = []
  var notes: [String] = []
  var millisecondsCache: [Int64: String] = [:]
  var secondsCache: [Int64: String] = [:]
  var bundle: STIXBundleWriter

  init(options: MISPConversionSettings, event: JSONObject, now: ISO8601.Instant) {
    self.options = options
    self.event = event
    quirks = options.quirks
    tags = MISPTags(options: options)
    eventTimestamp = Self.int(event["timestamp"]) ?? 0
    eventScore = Self.score(event["threat_level_id"], asText: quirks.threatLevelComparedAsText)
    var attributeCount = event["Attribute"]?.arrayValue?.count ?? 0
    for object in event["Object"]?.arrayValue ?? [] { attributeCount += object["Attribute"]?.arrayValue?.count ?? 0 }
    // Without the quirk, the event's uuid and timestamp give the bundle a deterministic id.
    let bundleID =
      quirks.randomBundleIDs
      ? UUID().uuidString.lowercased()
      : UUIDv5.make(namespace: UUIDv5.stixNamespace, name: "misp-event:\(event["uuid"]?.stringValue ?? ""):\(eventTimestamp)")
    bundle = STIXBundleWriter(
      id: "bundle--" + bundleID,
      timestamp: Self.milliseconds(quirks.runClockTimestamps ? now.seconds : eventTimestamp), quirks: quirks,
      expectedResults: attributeCount)
  }

  /// Writes the bundle as the connector assembles it: author, event markings and galaxies, then
  /// each attribute's objects in turn, object observables, relationships, report and notes.
  mutating func convert() throws(MISPEventError) -> MISPConversion {
    let uuid = event["uuid"]?.stringValue ?? ""
    let author = try makeAuthor()
    authorID = author.id
    authorName = author.name
    let eventTags = event["Tag"]?.arrayValue
    eventMarkings = eventTags.map { tags.markings($0, withDefault: true) } ?? [.tlp(.white)]
    eventMarkingIDs = eventMarkings.map(\.id)
    eventElements = tags.elements(
      galaxies: event["Galaxy"]?.arrayValue ?? [], tags: eventTags ?? [], author: authorID, markings: eventMarkingIDs)
    eventLabels = eventTags.map { tags.labels($0) } ?? []
    bundle.author(author)
    for marking in eventMarkings { bundle.marking(marking) }
    for element in eventElements.all { bundle.entity(element) }

    var externalReferences: [JSONValue] = []
    let attributes = event["Attribute"]?.arrayValue ?? []
    // The connector makes no relationships for a list of 10,000 attributes or more.
    let createRelationships = attributes.count < 10_000
    for attribute in attributes {
      processAttribute(attribute, objectObservableID: nil, externalReferences: [], createRelationships: createRelationships)
      if let reference = Self.externalReference(attribute, copiedAsIs: quirks.copiesOddFieldTypes) {
        externalReferences.append(reference)
      }
      collectFile(attribute)
    }

    var objectObservables: [STIXObservable] = []
    let objects = event["Object"]?.arrayValue ?? []
    for object in objects {
      let objectAttributes = object["Attribute"]?.arrayValue ?? []
      let references = objectAttributes.compactMap { Self.externalReference($0, copiedAsIs: quirks.copiesOddFieldTypes) }
      for attribute in objectAttributes { collectFile(attribute) }
      var objectObservableID: String?
      if options.createObjectObservables,
        let objectObservable = try makeObjectObservable(object, attributes: objectAttributes, references: references)
      {
        objectObservables.append(objectObservable)
        objectObservableID = objectObservable.id
        if let objectUUID = object["uuid"]?.stringValue {
          byMISPUUID[objectUUID] = (objectObservable.id, objectObservable.properties["value"]?.stringValue ?? "")
        }
      }
      let create = objectAttributes.count < 10_000
      for attribute in objectAttributes {
        processAttribute(
          attribute, objectObservableID: objectObservableID, externalReferences: references, createRelationships: create)
      }
    }

    for observable in objectObservables { bundle.objectObservable(observable) }
    addObjectReferenceRelationships(objects)
    bundle.writeRelationships()
    if options.createReports {
      let report = try makeReport(externalReferences: externalReferences)
      bundle.report(report)
      for note in event["EventReport"]?.arrayValue ?? [] {
        if let made = makeNote(note, reportID: report.id) { bundle.note(made) }
      }
    }
    return MISPConversion(uuid: uuid, bundle: bundle.finish(), objectCounts: bundle.counts, notes: notes)
  }

  // MARK: Author

  func makeAuthor() throws(MISPEventError) -> STIXIdentity {
    var name: String?
    if options.authorFromTags {
      for tag in event["Tag"]?.arrayValue ?? [] {
        guard let tagName = tag["name"]?.stringValue?.lowercased() else { continue }
        if tagName.hasPrefix("creator"), tagName.contains("=") { name = MISPTags.pythonSplit(tagName, "=")[1] }
      }
    }
    if name == nil { name = event["Orgc"]?["name"]?.stringValue }
    guard let name else { throw MISPEventError("the event has no Orgc.name (its author)") }
    return .organization(name)
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
      let parts = MISPAttributeTypes.resolve(type: type, value: value, options: options)
    else { return }

    let attributeTags = attribute["Tag"]?.arrayValue
    var markings = eventMarkings
    var labels = eventLabels
    if let attributeTags {
      markings = tags.markings(attributeTags, withDefault: false)
      labels = tags.labels(attributeTags)
      if markings.isEmpty { markings = eventMarkings }
    }
    let markingIDs = attributeTags == nil ? eventMarkingIDs : markings.map(\.id)
    let elements = tags.elements(
      galaxies: attribute["Galaxy"]?.arrayValue ?? [], tags: attributeTags ?? [], author: authorID, markings: markingIDs)
    let comment = Self.text(attribute["comment"]) ?? ""
    let toIDs = attribute["to_ids"] ?? false
    var score = eventScore
    if let noScore = options.importToIdsNoScore, !Self.isTrue(toIDs) { score = noScore }
    let timestamp = Self.int(attribute["timestamp"]) ?? eventTimestamp

    for part in parts {
      let observableType = part.openCTIType
      var name: String?
      if part.kind == .yara || part.kind == .sigma {
        name = Self.isLongerThanTwo(comment) ? comment : (quirks.unnamedShortRules ? nil : type)
      } else {
        name = Self.isLongerThanTwo(part.value) ? part.value : (Self.isLongerThanTwo(comment) ? comment : observableType)
      }
      var indicatorID: String?
      if options.createIndicators, let (patternType, pattern) = part.pattern {
        let id = STIXID.indicator(pattern: pattern)
        indicatorID = id
        bundle.indicator(
          STIXIndicator(
            id: id, created: cachedMilliseconds(timestamp), name: name, description: comment, patternType: patternType,
            pattern: pattern, validFrom: cachedSeconds(timestamp), labels: labels, createdBy: authorID,
            markings: markingIDs, externalReferences: externalReferences, mainObservableType: observableType,
            detection: quirks.copiesOddFieldTypes ? toIDs : .bool(Self.isTrue(toIDs)), score: score))
      }
      var observableID: String?
      if options.createObservables, observableType != nil {
        observableID = addObservable(
          part, comment: comment, score: score, labels: labels, markingIDs: markingIDs,
          externalReferences: externalReferences)
      }
      if let uuid = attribute["uuid"]?.stringValue, byMISPUUID[uuid] == nil, let primary = observableID ?? indicatorID {
        byMISPUUID[uuid] = (primary, part.value)
      }
      for marking in markings { bundle.marking(marking) }
      addSightings(attribute, indicatorID: indicatorID)
      for element in elements.all { bundle.entity(element) }
      if createRelationships {
        addRelationships(
          indicatorID: indicatorID, observableID: observableID, elements: elements, objectObservableID: objectObservableID,
          comment: comment, markingIDs: markingIDs)
      }
    }
  }

  /// Writes the observable (or individual identity) for `part` unless the bundle has it, and
  /// returns its id; nil when the part gives none.
  mutating func addObservable(
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
      // The official connector has no branch for it.
      if quirks.userAgentWithoutObservable { return nil }
      type = "user-agent"
      properties.put("value", .string(part.value))
    case .individual:
      let id = STIXID.identity(name: part.value, identityClass: "individual")
      bundle.identity(
        STIXIdentity(
          id: id, name: part.value, identityClass: "individual", description: .string(comment), labels: labels,
          createdBy: authorID, externalReferences: externalReferences),
        referenced: true)
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
    if let value = properties["value"]?.stringValue, !MISPValueSyntax.isValid(type: type, value: value) {
      notes.append("\(type) value kept as given: \(value)")
    }
    bundle.observable(
      STIXObservable(
        type: type, id: id, properties: properties, markings: markingIDs, description: .string(comment), score: score,
        labels: labels, createdBy: authorID, externalReferences: externalReferences))
    return id
  }

  /// The organisations that sighted an attribute other than its author, then the sightings of
  /// its indicator, each lasting an hour.
  mutating func addSightings(_ attribute: JSONValue, indicatorID: String?) {
    var sightings: [STIXSighting] = []
    for sighting in attribute["Sighting"]?.arrayValue ?? [] {
      guard let organisation = sighting["Organisation"]?["name"]?.stringValue, organisation != authorName else { continue }
      let identity = STIXIdentity.organization(organisation)
      bundle.identity(identity, referenced: false)
      guard let indicatorID, let date = Self.int(sighting["date_sighting"]) else { continue }
      let first = Self.seconds(date)
      let last = Self.seconds(date + 3600)
      let id = STIXID.sighting(
        of: indicatorID, whereSighted: .string(identity.id), firstSeen: IDTime(first), lastSeen: IDTime(last))
      sightings.append(STIXSighting(id: id, sightingOf: indicatorID, firstSeen: first, lastSeen: last, whereSighted: identity.id))
    }
    for sighting in sightings { bundle.sighting(sighting) }
  }

  /// Queues a relationship made by the author; the bundle writes them all at the end.
  mutating func relate(
    _ type: String, _ source: String, _ target: String, description: String? = nil, markings: [String] = []
  ) {
    bundle.relationship(
      STIXRelationship(type, source, target, description: description, markings: markings, createdBy: authorID))
  }

  /// An attribute's relationships: indicator based on observable, object observable related
  /// to it, both linked to the event's and the attribute's threats, threats using attack
  /// patterns, and both related to targeted sectors and countries.
  mutating func addRelationships(
    indicatorID: String?, observableID: String?, elements: MISPTags.Elements, objectObservableID: String?,
    comment: String, markingIDs: [String]
  ) {
    if let indicatorID, let observableID { relate("based-on", indicatorID, observableID) }
    if let sourceID = objectObservableID {
      let target = observableID != nil && observableID != sourceID ? observableID : indicatorID
      if let target { relate("related-to", sourceID, target) }
    }
    if eventElements.isEmpty && elements.isEmpty { return }
    /// Both the indicator and the observable point at `targetID`.
    func link(_ type: String, to targetID: String) {
      if let indicatorID { relate(type, indicatorID, targetID, description: comment, markings: markingIDs) }
      if let observableID { relate("related-to", observableID, targetID, description: comment, markings: markingIDs) }
    }
    // An attribute's threat named like one of the event's is that one.
    var threatIDs: [String: String] = [:]
    for threat in eventElements.threats {
      threatIDs[threat.name] = threat.id
      link("indicates", to: threat.id)
    }
    for threat in elements.threats { link("indicates", to: threatIDs[threat.name] ?? threat.id) }
    for group in [eventElements, elements] {
      let users = !group.malwares.isEmpty ? group.malwares : group.intrusionSets
      for attackPattern in group.attackPatterns {
        for threat in users {
          relate(
            "uses", threatIDs[threat.name] ?? threat.id, attackPattern.id, description: comment, markings: markingIDs)
        }
      }
    }
    for target in elements.sectors + elements.countries { link("related-to", to: target.id) }
  }

  // MARK: Objects

  func makeObjectObservable(_ object: JSONValue, attributes: [JSONValue], references: [JSONValue]) throws(MISPEventError)
    -> STIXObservable?
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
    if description == nil, quirks.failsOnObjectWithoutDescription {
      // The official connector fails the whole event here (KeyError).
      throw MISPEventError("object \(object["uuid"]?.stringValue ?? "?") has no description (official behaviour)")
    }
    let properties = JSONObject([("value", .string(value))])
    guard let id = STIXID.observable(type: "text", properties: properties) else { return nil }
    return STIXObservable(
      type: "text", id: id, properties: properties, markings: eventMarkingIDs, description: description.presentValue,
      descriptionKey: quirks.objectObservableDescriptionAsSTIX ? .stix : .openCTI, score: eventScore, labels: eventLabels,
      createdBy: authorID, externalReferences: references)
  }

  /// MISP ObjectReferences as `related-to` relationships between what their ends became.
  mutating func addObjectReferenceRelationships(_ objects: [JSONValue]) {
    for object in objects {
      for reference in object["ObjectReference"]?.arrayValue ?? [] {
        let type = reference["relationship_type"]?.stringValue ?? ""
        let comment = reference["comment"]?.stringValue ?? ""
        let description = "Original Relationship: " + type + "  \nComment: " + comment
        let source: String
        let target: String
        if quirks.objectReferencesLookedUpBySuffix {
          // Looked up as bundle ids ending in the MISP uuid, which deterministic ids never do.
          guard let sourceUUID = reference["source_uuid"]?.stringValue,
            let targetUUID = reference["referenced_uuid"]?.stringValue,
            let found = bundle.object(endingWith: sourceUUID)?.id, let other = bundle.object(endingWith: targetUUID)?.id
          else { continue }
          (source, target) = (found, other)
        } else {
          let sourceUUID =
            reference["object_uuid"]?.stringValue ?? reference["source_uuid"]?.stringValue ?? object["uuid"]?.stringValue
          guard let sourceUUID, let targetUUID = reference["referenced_uuid"]?.stringValue,
            let found = byMISPUUID[sourceUUID]?.id, let other = byMISPUUID[targetUUID]?.id, found != other
          else { continue }
          (source, target) = (found, other)
        }
        relate("related-to", source, target, description: description)
      }
    }
  }

  // MARK: Report, notes, attachments

  mutating func collectFile(_ attribute: JSONValue) {
    guard options.importWithAttachments, attribute["type"]?.stringValue == "attachment",
      attribute["category"]?.stringValue == "External analysis", let value = attribute["value"]?.stringValue,
      value.hasSuffix(".pdf") || value.hasSuffix(".PDF"), let data = attribute["data"], !data.isNull
    else { return }
    files.append(["name": .string(value), "data": data, "mime_type": "application/pdf", "no_trigger_import": true])
  }

  /// The report referencing everything the bundle holds so far.
  func makeReport(externalReferences: [JSONValue]) throws(MISPEventError) -> STIXReport {
    let info = Self.text(event["info"]) ?? ""
    guard let dateText = Self.text(event["date"]), let date = ISO8601.parse(String(dateText.prefix(10))) else {
      throw MISPEventError("the event has no valid date (YYYY-MM-DD)")
    }
    let dateSeconds = date.seconds
    var modified = eventTimestamp
    if !quirks.reportModifiedBeforeCreated, modified < dateSeconds { modified = dateSeconds }
    var refs = bundle.objectRefs
    // STIX requires a report to reference something.
    if refs.isEmpty { refs = [quirks.placeholderInEmptyReports ? MISPQuirks.placeholderIntrusionSet : authorID] }
    return STIXReport(
      id: STIXID.report(name: info, published: .isoformat(unixSeconds: dateSeconds)),
      created: Self.milliseconds(dateSeconds), modified: Self.milliseconds(modified), name: info,
      reportTypes: [options.reportType], published: Self.seconds(dateSeconds), createdBy: authorID,
      markings: eventMarkingIDs, labels: eventLabels, objectRefs: refs, externalReferences: externalReferences,
      files: files)
  }

  func makeNote(_ note: JSONValue, reportID: String) -> STIXNote? {
    let rawContent = Self.text(note["content"]) ?? ""
    if !quirks.keepsDeletedAndEmptyNotes, Self.isTrue(note["deleted"] ?? false) || PythonText.strip(rawContent).isEmpty {
      return nil
    }
    let timestamp = Self.int(note["timestamp"]) ?? eventTimestamp
    let content = rewriteNote(rawContent)
    return STIXNote(
      id: STIXID.note(content: content, created: IDTime(Self.seconds(timestamp))), created: Self.milliseconds(timestamp),
      createdBy: authorID, markings: eventMarkingIDs,
      abstract: quirks.copiesOddFieldTypes ? note["name"].presentValue : Self.text(note["name"]).map(JSONValue.string),
      content: content, objectRefs: [reportID])
  }

  /// `@[attribute](uuid)` / `@[object](uuid)` → `[type:text](/dashboard/search/id)` and
  /// `@[tag](name)` → `tag:name`, as `_process_note` does; without the quirk it links the STIX
  /// ids.
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
      if quirks.noteLinksToMISPUUIDs {
        if let found = bundle.object(endingWith: key) {
          return ("[\(kind):\(found.name ?? "")](/dashboard/search/\(found.id))", end)
        }
      } else if let target = byMISPUUID[key] {
        return ("[\(kind):\(target.text)](/dashboard/search/\(target.id))", end)
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

  /// A `link` attribute in `External analysis` as an external reference. A value that is not
  /// a URL is the description instead of an invalid `url`, unless it is `copiedAsIs`.
  static func externalReference(_ attribute: JSONValue, copiedAsIs: Bool) -> JSONValue? {
    guard attribute["type"]?.stringValue == "link", attribute["category"]?.stringValue == "External analysis" else {
      return nil
    }
    let value = text(attribute["value"]) ?? ""
    var reference = JSONObject([("source_name", "External analysis")])
    if !copiedAsIs {
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

  /// Threat level 1/2/3 → 90/60/30, else 50. Compared `asText`, as the official connector
  /// does, an integer level scores 50.
  static func score(_ level: JSONValue?, asText: Bool) -> Int {
    let text = asText ? level?.stringValue : (level?.intValue.map(String.init) ?? level?.stringValue)
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
