import Foundation
import Testing

@testable import CTICore

/// `guess_threats_from_tags`: which value a tag is looked up by, what a hit becomes, the
/// per-run cache and outages. The platform is a table here; the end-to-end tests ask the fake
/// platform over HTTP.
@Suite struct MISPThreatGuesserTests {
  typealias Hit = GraphQLResponse.DomainObject

  static let apt28 = Hit(
    id: "i-apt28", standardId: STIXID.intrusionSet(name: "APT28"), entityType: "Intrusion-Set", name: "APT28")
  static let emotet = Hit(id: "i-emotet", standardId: STIXID.malware(name: "Emotet"), entityType: "Malware", name: "Emotet")
  static let mimikatz = Hit(id: "i-mimikatz", standardId: STIXID.tool(name: "Mimikatz"), entityType: "Tool", name: "Mimikatz")
  static let spearphishing = Hit(
    id: "i-t1566", standardId: STIXID.attackPattern(name: "Spearphishing Attachment", mitreID: "T1566.001"),
    entityType: "Attack-Pattern", name: "Spearphishing Attachment", mitreId: "T1566.001")
  /// What the platform knows, by the exact value asked (the platform matches names and aliases).
  static let known: [String: Hit] = [
    "Fancy Bear": apt28, "emotet": emotet, "Mimikatz": mimikatz, "T1566.001": spearphishing,
  ]

  /// A guesser over `known` that records every value asked.
  final class Table: @unchecked Sendable {
    var asked: [String] = []
    var failure: OpenCTIError?
    lazy var guesser = MISPThreatGuesser { (value: String) throws(OpenCTIError) in
      self.asked.append(value)
      if let failure = self.failure { throw failure }
      return MISPThreatGuesserTests.known[value]
    }
  }

  static let event = #"""
    {"Event": {"uuid": "11111111-2222-4333-8444-555555555555", "info": "Guessing", "date": "2024-03-01",
      "timestamp": "1709300000", "threat_level_id": "2", "Orgc": {"name": "ACME"},
      "Tag": [{"name": "tlp:green"}, {"name": "actor=\"Fancy Bear\""}, {"name": "family:emotet"},
              {"name": "unknown:Nobody"}, {"name": "mitre:T1566.001"}],
      "Attribute": [
        {"uuid": "a1", "type": "domain", "category": "Network activity", "value": "evil.example", "to_ids": true,
         "timestamp": "1709300000", "Tag": [{"name": "Mimikatz"}, {"name": "family:emotet"}]},
        {"uuid": "a2", "type": "ip-dst", "category": "Network activity", "value": "198.51.100.7", "to_ids": true,
         "timestamp": "1709300000"}]}}
    """#

  static func convert(_ table: Table, fixed: Bool = true, guess: Bool = true) throws -> ConvertedEvent {
    var options = MISPConversionSettings()
    options.createIndicators = true
    options.createObservables = true
    options.guessThreatsFromTags = guess
    if !fixed { options.compatibility = .official }
    let converter = MISPConverter(options: options, threatGuesser: table.guesser)
    let conversion = try converter.convert(JSONParser.parse(Array(event.utf8)), now: ISO8601.Instant(seconds: 1_800_000_000))
    let bundle = try JSONParser.parse(conversion.bundle)
    return ConvertedEvent(objects: bundle["objects"]!.arrayValue!.map { $0.objectValue! })
  }

  @Test func lookupValueFollowsTheConnector() {
    #expect(MISPThreatGuesser.lookupValue(#"misp-galaxy:threat-actor="APT 28""#) == "APT 28")
    #expect(MISPThreatGuesser.lookupValue("type:OSINT") == "OSINT")
    #expect(MISPThreatGuesser.lookupValue("APT28") == "APT28")
    #expect(MISPThreatGuesser.lookupValue("tlp:white") == "white")
    #expect(MISPThreatGuesser.lookupValue(#"a:b="c:d""#) == "d")
    #expect(MISPThreatGuesser.lookupValue("a:b:c") == "b")
    #expect(MISPThreatGuesser.lookupValue("x=y=z") == "y")
    #expect(MISPThreatGuesser.lookupValue(#"empty="""#) == nil)
    #expect(MISPThreatGuesser.lookupValue("trailing:") == nil)
  }

  @Test func hitsBecomeThreatsNamedAsThePlatformNamesThem() throws {
    let table = Table()
    let event = try Self.convert(table)
    let author = STIXID.identity(name: "ACME", identityClass: "organization")
    let intrusionSet = try #require(event.object(STIXID.intrusionSet(name: "APT28")))
    #expect(intrusionSet["name"] == "APT28")
    #expect(intrusionSet["created_by_ref"] == .string(author))
    #expect(intrusionSet["object_marking_refs"] == [.string(STIXID.TLP.green.id)])
    #expect(intrusionSet["labels"] == nil)
    let malware = try #require(event.object(STIXID.malware(name: "Emotet")))
    #expect(malware["is_family"] == true)
    #expect(event.all("malware").count == 1, "the event and the attribute name Emotet: one object")
    let tool = try #require(event.object(STIXID.tool(name: "Mimikatz")))
    #expect(tool["name"] == "Mimikatz")
    // Fixed mode keeps the platform's standard id and MITRE id for the attack pattern.
    let attackPattern = try #require(event.object(Self.spearphishing.standardId!))
    #expect(attackPattern["x_mitre_id"] == "T1566.001")
    // No entity for the value the platform does not know; labels are untouched.
    #expect(event.objects.allSatisfy { $0["name"] != "Nobody" })
    #expect(event.report["labels"] == ["Fancy Bear", "emotet", "Nobody"])

    // Relationships as for any threat: every indicator indicates the event's threats, the
    // attribute's own tool only from its attribute; malware uses the attack pattern.
    let indicators = event.all("indicator")
    #expect(indicators.count == 2)
    for indicator in indicators {
      let id = indicator["id"]!.stringValue!
      #expect(event.relationship("indicates", id, STIXID.intrusionSet(name: "APT28")) != nil)
      #expect(event.relationship("indicates", id, STIXID.malware(name: "Emotet")) != nil)
    }
    let domain = indicators.first { $0["pattern"]?.stringValue?.contains("evil.example") == true }!["id"]!.stringValue!
    let ip = indicators.first { $0["pattern"]?.stringValue?.contains("198.51.100.7") == true }!["id"]!.stringValue!
    #expect(event.relationship("indicates", domain, STIXID.tool(name: "Mimikatz")) != nil)
    #expect(event.relationship("indicates", ip, STIXID.tool(name: "Mimikatz")) == nil)
    #expect(event.relationship("uses", STIXID.malware(name: "Emotet"), Self.spearphishing.standardId!) != nil)
    for observable in event.all("domain-name") + event.all("ipv4-addr") {
      #expect(event.relationship("related-to", observable["id"]!.stringValue!, STIXID.intrusionSet(name: "APT28")) != nil)
    }
  }

  @Test func officialModeNamesTheAttackPatternOnly() throws {
    let event = try Self.convert(Table(), fixed: false)
    let attackPattern = try #require(event.object(STIXID.attackPattern(name: "Spearphishing Attachment")))
    #expect(attackPattern["x_mitre_id"] == nil)
    #expect(event.object(Self.spearphishing.standardId!) == nil)
    #expect(event.object(STIXID.intrusionSet(name: "APT28")) != nil)
  }

  @Test func everyDistinctValueIsAskedOncePerRun() throws {
    let table = Table()
    _ = try Self.convert(table)
    #expect(table.asked == ["green", "Fancy Bear", "emotet", "Nobody", "T1566.001", "Mimikatz"])
    _ = try Self.convert(table)
    #expect(table.asked.count == 6, "a second event with the same tags asks nothing: \(table.asked)")
    #expect(table.guesser.queryCount == 6)
  }

  @Test func offMeansNoLookups() throws {
    let table = Table()
    let event = try Self.convert(table, guess: false)
    #expect(table.asked.isEmpty)
    #expect(event.object(STIXID.intrusionSet(name: "APT28")) == nil)
  }

  @Test func anOutageFailsTheEventAndLaterLookupsAtOnce() throws {
    let table = Table()
    table.failure = .network("Couldn't connect to server", operation: .stixDomainObjects)
    #expect(throws: MISPEventError.self) { try Self.convert(table) }
    #expect(table.asked == ["green"])
    table.failure = nil
    #expect(throws: MISPEventError.self) { try Self.convert(table) }
    #expect(table.asked == ["green"], "the platform was down: no new request")
  }

  @Test func aRefusedQueryFailsOnlyThatEvent() throws {
    let table = Table()
    table.failure = .graphQL(GraphQLError(message: "bad filter", code: "FUNCTIONAL_ERROR", operation: .stixDomainObjects))
    #expect(throws: MISPEventError.self) { try Self.convert(table) }
    table.failure = nil
    let event = try Self.convert(table)
    #expect(event.object(STIXID.intrusionSet(name: "APT28")) != nil)
  }
}

extension ConvertedEvent {
  init(objects: [JSONObject]) { self.objects = objects }
}
