import Foundation
import Testing

@testable import CTICore

@Suite struct STIXBundleWriterTests {
  static let time = "2024-03-01T13:33:20.000Z"

  static func writer(_ quirks: MISPQuirks = .none) -> STIXBundleWriter {
    STIXBundleWriter(id: "bundle--1", timestamp: time, quirks: quirks, expectedResults: 4)
  }

  static func objects(_ writer: inout STIXBundleWriter) throws -> [JSONObject] {
    let bundle = try JSONParser.parse(writer.finish())
    return try #require(bundle["objects"]?.arrayValue).compactMap(\.objectValue)
  }

  static func observable(_ value: String, description: JSONValue? = "seen") -> STIXObservable {
    let properties = JSONObject([("value", .string(value))])
    return STIXObservable(
      type: "domain-name", id: STIXID.observable(type: "domain-name", properties: properties)!, properties: properties,
      markings: [], description: description, score: 50, labels: [], createdBy: "identity--a", externalReferences: [])
  }

  /// Members come in the stix2 library's order, empty lists and nil members left out.
  @Test func objectsAreWrittenMemberByMemberInStix2Order() throws {
    var writer = Self.writer()
    writer.author(.organization("ACME"))
    writer.marking(.tlp(.amber))
    writer.marking(.statement(type: "PAP", name: "PAP:RED"))
    writer.entity(
      STIXEntity(
        kind: .malware, id: "malware--m", name: "Emotet", labels: ["Tool"], description: nil, aliases: ["Geodo"],
        createdBy: "identity--a", markings: []))
    writer.entity(
      STIXEntity(kind: .country(code: "FR"), id: "location--l", name: "France", createdBy: "identity--a", markings: ["m"]))
    let text = String(decoding: writer.finish(), as: UTF8.self)
    let author = STIXID.identity(name: "ACME", identityClass: "organization")
    let pap = STIXID.markingDefinition(type: "PAP", definition: "PAP:RED")
    #expect(
      text == """
        {"type":"bundle","id":"bundle--1","objects":[\
        {"type":"identity","spec_version":"2.1","id":"\(author)","created":"\(Self.time)","modified":"\(Self.time)",\
        "name":"ACME","identity_class":"organization"},\
        {"type":"marking-definition","spec_version":"2.1","id":"\(STIXID.TLP.amber.id)","created":"2017-01-20T00:00:00.000Z",\
        "definition_type":"tlp","name":"TLP:AMBER","definition":{"tlp":"amber"}},\
        {"type":"marking-definition","spec_version":"2.1","id":"\(pap)","created":"2017-01-20T00:00:00.000Z",\
        "definition_type":"statement","definition":{"statement":"custom"},"x_opencti_definition_type":"PAP",\
        "x_opencti_definition":"PAP:RED"},\
        {"type":"malware","spec_version":"2.1","id":"malware--m","created":"\(Self.time)","modified":"\(Self.time)",\
        "name":"Emotet","is_family":true,"aliases":["Geodo"],"labels":["Tool"],"created_by_ref":"identity--a"},\
        {"type":"location","spec_version":"2.1","id":"location--l","created":"\(Self.time)","modified":"\(Self.time)",\
        "name":"France","country":"FR","description":"Imported from MISP tag","created_by_ref":"identity--a",\
        "object_marking_refs":["m"]}]}
        """)
  }

  @Test func entitiesMarkingsAndSightingsAreWrittenOncePerIDAndReferencedInOrder() throws {
    var writer = Self.writer()
    writer.author(.organization("ACME"))
    let domain = Self.observable("example.com")
    writer.observable(domain)
    writer.marking(.tlp(.green))
    writer.identity(.organization("Other CERT"), referenced: false)
    let sighting = STIXSighting(
      id: "sighting--s", sightingOf: "indicator--i", firstSeen: "2024-01-01T00:00:00Z", lastSeen: "2024-01-01T01:00:00Z",
      whereSighted: "identity--o")
    writer.sighting(sighting)
    writer.observable(domain)
    writer.marking(.tlp(.green))
    writer.identity(.organization("Other CERT"), referenced: false)
    writer.sighting(sighting)
    writer.entity(STIXEntity(kind: .tool, id: "tool--t", name: "Net", createdBy: "identity--a", markings: []))
    #expect(writer.objectRefs == [domain.id, "tool--t"], "the author, markings, identities of sightings and sightings are not referenced")
    #expect(writer.object(endingWith: String(domain.id.dropFirst("domain-name--".count)))?.name == "example.com")
    let objects = try Self.objects(&writer)
    #expect(objects.compactMap { $0["type"]?.stringValue } == ["identity", "domain-name", "marking-definition", "identity", "sighting", "tool"])
    #expect(objects[1]["x_opencti_description"] == "seen")
  }

  @Test func relationshipsComeLastToldApartByIDOrByTheirEnds() throws {
    for quirks in [MISPQuirks.none, .official] {
      var writer = Self.writer(quirks)
      writer.relationship(STIXRelationship("indicates", "a--1", "b--2", description: nil, markings: [], createdBy: "identity--a"))
      writer.relationship(
        STIXRelationship("related-to", "a--1", "b--2", description: "why", markings: ["m"], createdBy: "identity--a"))
      writer.relationship(STIXRelationship("indicates", "a--1", "b--2", description: nil, markings: [], createdBy: "identity--a"))
      writer.observable(Self.observable("example.org"))
      writer.writeRelationships()
      let objects = try Self.objects(&writer)
      #expect(objects.first?["type"] == "domain-name")
      let relationships = objects.dropFirst()
      #expect(relationships.map { $0["relationship_type"] } == (quirks == .none ? ["indicates", "related-to"] : ["indicates"]))
      #expect(relationships.first?["source_ref"] == "a--1" && relationships.first?["created_by_ref"] == "identity--a")
    }
  }

  @Test func objectObservablesShareTheEntitiesIDsUnlessTheQuirkKeepsThemApart() throws {
    for quirks in [MISPQuirks.none, .official] {
      var writer = Self.writer(quirks)
      writer.observable(Self.observable("example.net"))
      var objectText = Self.observable("example.net", description: nil)
      objectText.descriptionKey = .stix
      writer.objectObservable(objectText)
      writer.objectObservable(objectText)
      let objects = try Self.objects(&writer)
      #expect(objects.count == (quirks == .none ? 1 : 2))
      #expect(writer.objectRefs.count == 1)
      if quirks == .official { #expect(objects[1]["description"] == nil && objects[1]["x_opencti_description"] == nil) }
    }
  }
}
