/// The bundle of one event as JSON text, written object by object. Every object goes through
/// the call for its kind, which writes its members in the stix2 library's order (type,
/// spec_version, id, created, modified, then the rest) straight into the text: no object is
/// held as a tree, and there is one way to write each kind.
///
/// The connector's de-duplication happens here: entities (threats, indicators, observables,
/// identities), markings and sightings are written once per id; object observables are told
/// apart among themselves or among the entities (`MISPQuirks.objectObservablesBesideEqualIDs`);
/// relationships wait for `writeRelationships`, where the connector puts them, and are told
/// apart by id or by source and target (`MISPQuirks.relationshipsBySourceAndTarget`).
/// Entities, object observables and relationships are referenced by the report
/// (`objectRefs`), in the order they first come.
struct STIXBundleWriter {
  /// What the lookups by MISP uuid need of an object already written: its id, and the text
  /// a note link shows (an indicator's pattern, else its value).
  struct Written {
    var id: String
    var name: String?
  }

  private var text: JSONWriter
  /// `created` and `modified` of objects that have no time of their own.
  private let timestamp: String
  private let quirks: MISPQuirks
  private var written: [Written] = []
  private(set) var objectRefs: [String] = []
  private var refKeys: Set<String> = []
  private var entityIDs: Set<String> = []
  private var markingIDs: Set<String> = []
  private var sightingIDs: Set<String> = []
  private var objectObservableIDs: Set<String> = []
  private var relationshipKeys: Set<String> = []
  private var relationships: [STIXRelationship] = []
  /// Objects written, by STIX type.
  private(set) var counts: [String: Int] = [:]

  /// Sizes the id sets and the text once for about `expectedResults` attribute results (each
  /// gives an indicator, an observable and a relationship or so, of some 500 bytes each),
  /// sparing their regrowth as a big event grows.
  init(id: String, timestamp: String, quirks: MISPQuirks, expectedResults: Int) {
    self.timestamp = timestamp
    self.quirks = quirks
    let expectedObjects = 3 * expectedResults + 16
    written.reserveCapacity(expectedObjects)
    objectRefs.reserveCapacity(expectedObjects)
    refKeys.reserveCapacity(expectedObjects)
    entityIDs.reserveCapacity(2 * expectedResults + 16)
    relationshipKeys.reserveCapacity(expectedResults + 16)
    relationships.reserveCapacity(expectedResults + 16)
    text = JSONWriter(capacity: 4096 + expectedObjects * 512)
    text.append("{\"type\":\"bundle\",\"id\":")
    text.writeString(id)
    text.append(",\"objects\":[")
  }

  // MARK: Objects by kind

  /// The event's author: the first object, neither referenced nor de-duplicated.
  mutating func author(_ identity: STIXIdentity) {
    write(identity)
  }

  /// An identity that is an entity of the bundle: a `full-name` attribute's (`referenced`), a
  /// sighting's organisation (not referenced).
  mutating func identity(_ identity: STIXIdentity, referenced: Bool) {
    if referenced { reference(identity.id) }
    guard entityIDs.insert(identity.id).inserted else { return }
    write(identity)
  }

  mutating func marking(_ marking: STIXMarking) {
    guard markingIDs.insert(marking.id).inserted else { return }
    open("marking-definition", id: marking.id, name: nil)
    text.member("created", "2017-01-20T00:00:00.000Z")
    switch marking.definition {
    case .tlp(let color):
      text.member("definition_type", "tlp")
      text.member("name", "TLP:" + color.uppercased())
      text.key("definition")
      text.beginObject("tlp")
      text.writeString(color)
      text.endObject()
    case .statement(let type, let name):
      text.member("definition_type", "statement")
      text.key("definition")
      text.beginObject("statement")
      text.writeString("custom")
      text.endObject()
      text.member("x_opencti_definition_type", type)
      text.member("x_opencti_definition", name)
    }
    text.endObject()
  }

  /// A threat, sector or country, referenced by the report.
  mutating func entity(_ entity: STIXEntity) {
    reference(entity.id)
    guard entityIDs.insert(entity.id).inserted else { return }
    openSDO(entity.kind.stixType, id: entity.id, created: timestamp, modified: timestamp, name: nil)
    text.member("name", entity.name)
    switch entity.kind {
    case .intrusionSet, .tool:
      list("labels", entity.labels)
      optional("description", entity.description)
      text.member("created_by_ref", entity.createdBy)
      list("object_marking_refs", entity.markings)
      optional("x_opencti_aliases", entity.aliases)
    case .malware:
      text.member("is_family", true)
      optional("aliases", entity.aliases)
      list("labels", entity.labels)
      optional("description", entity.description)
      text.member("created_by_ref", entity.createdBy)
      list("object_marking_refs", entity.markings)
    case .attackPattern:
      optional("description", entity.description)
      text.member("created_by_ref", entity.createdBy)
      list("object_marking_refs", entity.markings)
      if let mitreID = entity.mitreID { text.member("x_mitre_id", mitreID) }
      optional("x_opencti_aliases", entity.aliases)
    case .sector:
      text.member("identity_class", "class")
      optional("description", entity.description)
      text.member("created_by_ref", entity.createdBy)
      list("object_marking_refs", entity.markings)
    case .country(let code):
      text.member("country", code)
      text.member("description", "Imported from MISP tag")
      text.member("created_by_ref", entity.createdBy)
      list("object_marking_refs", entity.markings)
    }
    text.endObject()
  }

  mutating func indicator(_ indicator: STIXIndicator) {
    reference(indicator.id)
    guard entityIDs.insert(indicator.id).inserted else { return }
    openSDO("indicator", id: indicator.id, created: indicator.created, modified: indicator.created, name: indicator.pattern)
    if let name = indicator.name { text.member("name", name) }
    text.member("description", indicator.description)
    text.member("pattern_type", indicator.patternType)
    text.member("pattern", indicator.pattern)
    text.member("valid_from", indicator.validFrom)
    list("labels", indicator.labels)
    text.member("created_by_ref", indicator.createdBy)
    list("object_marking_refs", indicator.markings)
    list("external_references", indicator.externalReferences)
    if let type = indicator.mainObservableType { text.member("x_opencti_main_observable_type", type) }
    text.member("x_opencti_detection", indicator.detection)
    text.member("x_opencti_score", indicator.score)
    text.endObject()
  }

  /// An attribute's observable, referenced by the report.
  mutating func observable(_ observable: STIXObservable) {
    reference(observable.id)
    guard entityIDs.insert(observable.id).inserted else { return }
    write(observable)
  }

  /// A MISP object's Text observable, referenced by the report.
  mutating func objectObservable(_ observable: STIXObservable) {
    reference(observable.id)
    if quirks.objectObservablesBesideEqualIDs {
      guard objectObservableIDs.insert(observable.id).inserted else { return }
    } else {
      guard entityIDs.insert(observable.id).inserted else { return }
    }
    write(observable)
  }

  mutating func sighting(_ sighting: STIXSighting) {
    guard sightingIDs.insert(sighting.id).inserted else { return }
    openSDO("sighting", id: sighting.id, created: timestamp, modified: timestamp, name: nil)
    text.member("sighting_of_ref", sighting.sightingOf)
    text.member("first_seen", sighting.firstSeen)
    text.member("last_seen", sighting.lastSeen)
    text.member("where_sighted_refs", [sighting.whereSighted])
    text.endObject()
  }

  /// A relationship, written with the others by `writeRelationships`.
  mutating func relationship(_ relationship: STIXRelationship) {
    relationships.append(relationship)
  }

  /// The relationships so far, in the order they came, each once.
  mutating func writeRelationships() {
    for relationship in relationships {
      let key = quirks.relationshipsBySourceAndTarget ? relationship.source + relationship.target : relationship.id
      if refKeys.insert(key).inserted { objectRefs.append(relationship.id) }
      guard relationshipKeys.insert(key).inserted else { continue }
      openSDO("relationship", id: relationship.id, created: timestamp, modified: timestamp, name: nil)
      text.member("relationship_type", relationship.type)
      text.member("created_by_ref", relationship.createdBy)
      text.member("source_ref", relationship.source)
      text.member("target_ref", relationship.target)
      if let description = relationship.description { text.member("description", description) }
      list("object_marking_refs", relationship.markings)
      text.endObject()
    }
    relationships.removeAll()
  }

  mutating func report(_ report: STIXReport) {
    openSDO("report", id: report.id, created: report.created, modified: report.modified, name: nil)
    text.member("name", report.name)
    text.member("description", report.name)
    text.member("report_types", report.reportTypes)
    text.member("published", report.published)
    text.member("created_by_ref", report.createdBy)
    list("object_marking_refs", report.markings)
    list("labels", report.labels)
    text.member("object_refs", report.objectRefs)
    list("external_references", report.externalReferences)
    list("x_opencti_files", report.files)
    text.endObject()
  }

  mutating func note(_ note: STIXNote) {
    openSDO("note", id: note.id, created: note.created, modified: note.created, name: nil)
    text.member("created_by_ref", note.createdBy)
    list("object_marking_refs", note.markings)
    optional("abstract", note.abstract)
    text.member("content", note.content)
    text.member("object_refs", note.objectRefs)
    text.endObject()
  }

  /// The bundle's JSON text.
  mutating func finish() -> [UInt8] {
    text.append("]}")
    return text.bytes
  }

  // MARK: Lookups

  /// The first object whose id ends with `--<uuid>` (the official `_find_type_by_uuid`; used
  /// only for the rare object references and note links, so a scan is enough).
  func object(endingWith uuid: String) -> Written? {
    let suffix = "--" + uuid
    return written.first { $0.id.hasSuffix(suffix) }
  }

  // MARK: Writing

  private mutating func reference(_ id: String) {
    if refKeys.insert(id).inserted { objectRefs.append(id) }
  }

  private mutating func write(_ identity: STIXIdentity) {
    openSDO("identity", id: identity.id, created: timestamp, modified: timestamp, name: nil)
    text.member("name", identity.name)
    text.member("identity_class", identity.identityClass)
    optional("description", identity.description)
    list("labels", identity.labels)
    if let createdBy = identity.createdBy { text.member("created_by_ref", createdBy) }
    list("object_marking_refs", identity.markings)
    list("external_references", identity.externalReferences)
    text.endObject()
  }

  private mutating func write(_ observable: STIXObservable) {
    open(observable.type, id: observable.id, name: observable.properties["value"]?.stringValue)
    // The properties never repeat type, spec_version or id.
    for member in observable.properties { text.member(named: member.key, member.value) }
    list("object_marking_refs", observable.markings)
    switch observable.descriptionKey {
    case .openCTI: optional("x_opencti_description", observable.description)
    case .stix: optional("description", observable.description)
    }
    text.member("x_opencti_score", observable.score)
    list("labels", observable.labels)
    text.member("created_by_ref", observable.createdBy)
    list("external_references", observable.externalReferences)
    text.endObject()
  }

  /// Starts an object: the comma before it, then type, spec_version and id. `name` is what a
  /// note link shows for it.
  private mutating func open(_ type: String, id: String, name: String?) {
    if !written.isEmpty { text.append(",") }
    written.append(Written(id: id, name: name))
    counts[type, default: 0] += 1
    text.beginObject("type")
    text.writeString(type)
    text.append(",\"spec_version\":\"2.1\"")
    text.member("id", id)
  }

  /// `open` for a domain or relationship object, with `created` and `modified`.
  private mutating func openSDO(_ type: String, id: String, created: String, modified: String, name: String?) {
    open(type, id: id, name: name)
    text.member("created", created)
    text.member("modified", modified)
  }

  /// The member unless the list is empty (stix2 drops empty lists).
  private mutating func list(_ key: StaticString, _ values: [String]) {
    if !values.isEmpty { text.member(key, values) }
  }

  private mutating func list(_ key: StaticString, _ values: [JSONValue]) {
    if !values.isEmpty { text.member(key, .array(values)) }
  }

  private mutating func optional(_ key: StaticString, _ value: JSONValue?) {
    if let value { text.member(key, value) }
  }
}
