import Foundation
import Testing

@testable import CTICore

/// A converted fixture event, with lookups by type and id.
struct ConvertedEvent {
  let objects: [JSONObject]

  init(_ fixture: String, _ configure: (inout MISPConversionSettings) -> Void = { _ in }) throws {
    let url = Bundle.module.url(forResource: "Fixtures/misp/\(fixture)", withExtension: "json")!
    try self.init(json: Array(Data(contentsOf: url)), configure)
  }

  init(json: [UInt8], _ configure: (inout MISPConversionSettings) -> Void = { _ in }) throws {
    var options = MISPConversionSettings()
    configure(&options)
    let conversion = try MISPConverter(options: options).convert(
      try JSONParser.parse(json), now: ISO8601.Instant(seconds: 1_800_000_000))
    let bundle = try JSONParser.parse(conversion.bundle)
    #expect(bundle["type"] == "bundle")
    objects = bundle["objects"]!.arrayValue!.map { $0.objectValue! }
  }

  func all(_ type: String) -> [JSONObject] { objects.filter { $0["type"]?.stringValue == type } }
  func object(_ id: String) -> JSONObject? { objects.first { $0["id"]?.stringValue == id } }
  var ids: [String] { objects.compactMap { $0["id"]?.stringValue } }
  var report: JSONObject { all("report")[0] }
  func patterns() -> [String] { all("indicator").compactMap { $0["pattern"]?.stringValue } }
  func relationship(_ type: String, _ source: String, _ target: String) -> JSONObject? {
    object(STIXID.relationship(type: type, source: source, target: target))
  }
}

private func everything(_ options: inout MISPConversionSettings) {
  options.createIndicators = true
  options.createObservables = true
  options.createObjectObservables = true
}

private func official(_ options: inout MISPConversionSettings) {
  everything(&options)
  options.compatibility = .official
}

@Suite struct MISPConverterTests {
  @Test func referenceGoldenIDsInOfficialMode() throws {
    let event = try ConvertedEvent("golden-event") {
      official(&$0)
      $0.importUnsupportedObservablesAsText = true
    }
    // misp-feed-conversion.md §3.10.
    #expect(event.object("identity--4f347cc9-4658-59ee-9707-134f434f9d1c") != nil)
    #expect(event.report["id"] == "report--53f72dca-12c2-53a5-9c88-b0ceb0b47570")
    #expect(event.object("indicator--3fb8bcf5-96b0-551e-8e1f-73a8657ebc56") != nil)
    #expect(event.object("file--025f0899-9f72-5034-88cb-c26685316730") != nil)
    #expect(event.object("file--deeeb324-9764-53e2-ac38-a6d4117fc313") != nil)
    #expect(event.object("text--cb6d8df7-c90f-5911-853e-f1e1fa90c874")?["value"] == "UPX packed (type=comment)")
    // The taxonomy tag matches the connector's loose `malware` prefix.
    let malware = "malware--a9b0f8a0-e9a4-56c8-baae-0efcc00e3f29"
    #expect(event.object(malware)?["name"] == "Ransomware")
    #expect(event.relationship("indicates", "indicator--3fb8bcf5-96b0-551e-8e1f-73a8657ebc56", malware) != nil)
    #expect(event.report["published"] == "2016-08-29T00:00:00Z")
    #expect(event.report["created"] == "2016-08-29T00:00:00.000Z")
    #expect(event.report["labels"] == ["blog-post"])
    #expect(event.report["external_references"]?.arrayValue?.first?["url"] == "https://example.com/xorist-analysis")
    #expect(event.report["object_marking_refs"] == [.string(STIXID.TLP.white.id)])
    // Author, markings, sightings are bundled but not referenced; everything else is.
    let refs = Set(event.report["object_refs"]!.arrayValue!.compactMap(\.stringValue))
    #expect(!refs.contains("identity--4f347cc9-4658-59ee-9707-134f434f9d1c"))
    #expect(refs.contains("indicator--3fb8bcf5-96b0-551e-8e1f-73a8657ebc56"))
  }

  @Test func fixedModeKeepsTheSameIDsButNoFalseMalware() throws {
    let event = try ConvertedEvent("golden-event") {
      everything(&$0)
      $0.importUnsupportedObservablesAsText = true
    }
    #expect(event.report["id"] == "report--53f72dca-12c2-53a5-9c88-b0ceb0b47570")
    #expect(event.object("indicator--3fb8bcf5-96b0-551e-8e1f-73a8657ebc56") != nil)
    #expect(event.all("malware").isEmpty)
    #expect(event.report["labels"] == ["Ransomware", "blog-post"])
    let author = event.object("identity--4f347cc9-4658-59ee-9707-134f434f9d1c")!
    // Deterministic: the event's timestamp, not the clock.
    #expect(author["created"] == "2016-08-29T11:48:22.000Z")
  }

  @Test func patternsEscapeQuotesAndBackslashes() {
    let url = MISPResolved(kind: .url, value: "http://x/a'b\\c")
    #expect(url.pattern?.pattern == "[url:value = 'http://x/a\\'b\\\\c']")
    #expect(MISPResolved(kind: .fileSHA256, value: "ab").pattern?.pattern == "[file:hashes.'SHA-256' = 'ab']")
    #expect(MISPResolved(kind: .fileMD5, value: "ab").pattern?.pattern == "[file:hashes.MD5 = 'ab']")
    let both = MISPResolved(kind: .fileNameAndHash(hashAlgorithm: "SHA-1", hash: "cd"), value: "a'.exe")
    #expect(both.pattern?.pattern == "[file:name = 'a\\'.exe' AND file:hashes.'SHA-1' = 'cd']")
    #expect(MISPResolved(kind: .yara, value: "rule x {}").pattern! == ("yara", "rule x {}"))
  }

  @Test func labelValuesFollowTheConnector() {
    #expect(MISPTags.labelValue("osint:source-type=\"blog-post\"") == "blog-post")
    #expect(MISPTags.labelValue("type:OSINT") == "OSINT")
    #expect(MISPTags.labelValue("misp-galaxy:banker=\"Zeus\"") == "Zeus")
    #expect(MISPTags.labelValue("a:b:c") == "b")
    #expect(MISPTags.labelValue("admiralty-scale:information-credibility=\"1\"") == "information-credibility-1")
    #expect(MISPTags.labelValue("infoblox") == "infoblox")
    let tags: [JSONValue] = ["tlp:white", "TLP:WHITE", "tlp:clear", "PAP:GREEN", "Creator=x", "creator=y", "malware:z"]
      .map { ["name": $0] }
    var options = MISPConversionSettings()
    options.compatibility = .official
    #expect(MISPTags(options: options).labels(tags) == ["WHITE", "clear", "GREEN", "Creator=x"])
    options.compatibility = .fixed
    #expect(MISPTags(options: options).labels(tags) == ["GREEN"])
    options.createTagsAsLabels = false
    #expect(MISPTags(options: options).labels(tags).isEmpty)
  }

  @Test func markingsFromTags() {
    var options = MISPConversionSettings()
    let tags = MISPTags(options: options)
    func ids(_ names: [String], withDefault: Bool = true, _ tags: MISPTags) -> [String] {
      tags.markings(names.map { ["name": .string($0)] }, withDefault: withDefault).map(\.id)
    }
    #expect(ids([], tags) == [STIXID.TLP.white.id])
    #expect(ids([], withDefault: false, tags).isEmpty)
    #expect(ids(["TLP:Green"], tags) == [STIXID.TLP.green.id])
    #expect(ids(["tlp:clear"], tags) == [STIXID.TLP.white.id])
    #expect(ids(["tlp:amber+strict"], tags) == ["marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"])
    #expect(ids(["marking:PAP=PAP:RED"], tags) == [STIXID.TLP.white.id])
    options.markingsFromTags = true
    let custom = MISPTags(options: options).markings([["name": "marking:PAP=PAP:RED"]], withDefault: true)
    #expect(custom.count == 1)
    #expect(custom[0].id == "marking-definition--4e4e3b84-de45-53df-9d9b-b21207699fd8")
    #expect(custom[0].definition == .statement(type: "PAP", name: "PAP:RED"))
  }

  @Test func scoresFromThreatLevel() throws {
    func score(_ level: String, fixed: Bool = true, toIDs: Bool = true, noScore: Int? = nil) throws -> JSONValue? {
      let json = """
        {"Event":{"uuid":"u","info":"s","date":"2024-01-01","timestamp":"1704067200","threat_level_id":\(level),
        "Orgc":{"name":"O"},"Attribute":[{"uuid":"a","type":"domain","category":"Network activity",
        "value":"example.com","to_ids":\(toIDs),"comment":"","timestamp":"1704067200"}]}}
        """
      let event = try ConvertedEvent(json: Array(json.utf8)) {
        $0.createIndicators = true
        $0.compatibility = fixed ? .fixed : .official
        $0.importToIdsNoScore = noScore
      }
      return event.all("indicator").first?["x_opencti_score"]
    }
    #expect(try score("\"1\"") == 90)
    #expect(try score("\"2\"") == 60)
    #expect(try score("\"3\"") == 30)
    #expect(try score("\"4\"") == 50)
    #expect(try score("1") == 90)
    #expect(try score("1", fixed: false) == 50)
    #expect(try score("\"1\"", toIDs: false, noScore: 10) == 10)
    #expect(try score("\"1\"", toIDs: true, noScore: 10) == 90)
  }

  @Test func compositesOfficialKeepTheFirstHalfOnly() throws {
    let event = try ConvertedEvent("rich-event", official)
    let patterns = Set(event.patterns())
    #expect(patterns.contains("[file:name = 'dropper.exe']"))
    #expect(!patterns.contains { $0.contains("0749bae92ca336a02c83d126e04ec628") })
    #expect(patterns.contains("[domain-name:value = 'c2.example.net']"))
    #expect(!patterns.contains("[ipv4-addr:value = '198.51.100.7']"))
    #expect(patterns.contains("[ipv4-addr:value = '192.0.2.44']"))
    #expect(!patterns.contains { $0.hasPrefix("[network-traffic") })
    // The IPv4 regex fails on a defanged address, so it is typed IPv6.
    #expect(patterns.contains("[ipv6-addr:value = '203.0.113[.]5']"))
    // A padded hash loses both indicator and observable.
    #expect(!patterns.contains { $0.contains("aaaaaaaaaaaaaaaa") })
    #expect(!event.all("file").contains { $0["hashes"]?["SHA-256"] != nil })
    #expect(patterns.contains("[windows-registry-key:key = 'HKLM\\\\Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\\\\updater']"))
    // yara with a short comment: no name.
    #expect(event.all("indicator").first { $0["pattern_type"] == "yara" }?["name"] == nil)
  }

  @Test func compositesFixedKeepEveryPart() throws {
    let event = try ConvertedEvent("rich-event", everything)
    let patterns = Set(event.patterns())
    #expect(patterns.contains("[file:name = 'dropper.exe' AND file:hashes.MD5 = '0749bae92ca336a02c83d126e04ec628']"))
    #expect(patterns.contains("[domain-name:value = 'c2.example.net']"))
    #expect(patterns.contains("[ipv4-addr:value = '198.51.100.7']"))
    #expect(patterns.contains("[ipv4-addr:value = '203.0.113.5']"))
    #expect(patterns.contains("[file:hashes.'SHA-256' = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']"))
    #expect(
      patterns.contains(
        "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\\\\updater']"))
    let file = event.all("file").first { $0["name"] == "dropper.exe" && $0["hashes"] != nil }
    #expect(file?["hashes"]?["MD5"] == "0749bae92ca336a02c83d126e04ec628")
    #expect(event.all("indicator").first { $0["pattern_type"] == "yara" }?["name"] == "yara")
    // ip-dst|port: the address as the official connector has it, plus the connection.
    #expect(patterns.contains("[ipv4-addr:value = '192.0.2.44']"))
    let connection = "[network-traffic:dst_ref.value = '192.0.2.44' AND network-traffic:dst_port = 8443]"
    #expect(patterns.contains(connection))
    let address = STIXID.observable(JSONObject([("type", "ipv4-addr"), ("value", "192.0.2.44")]))!
    let traffic = event.all("network-traffic").first
    #expect(traffic?["dst_ref"] == .string(address))
    #expect(traffic?["dst_port"] == 8443)
    #expect(traffic?["protocols"] == ["ipv4"])
    #expect(event.relationship("based-on", STIXID.indicator(pattern: connection), traffic!["id"]!.stringValue!) != nil)
  }

  @Test func fixedIPDetection() {
    #expect(MISPAttributeTypes.ip("192.0.2.0/33") == nil)
    #expect(MISPAttributeTypes.ip("198.51.100.7:8080") == MISPResolved(kind: .ipv4, value: "198.51.100.7"))
    #expect(MISPAttributeTypes.ip("2001:db8::1") == MISPResolved(kind: .ipv6, value: "2001:db8::1"))
    #expect(MISPAttributeTypes.ip("2001:db8::/32")?.kind == .ipv6)
    #expect(MISPAttributeTypes.ip("10.0.0.256") == nil)
    // Answers of Python's re.match with the connector's expression.
    let python: [(String, Bool)] = [
      ("10.0.0.1", true), ("10.0.0.0/24", true), ("192.0.2.0/33", false), ("203.0.113[.]5", false),
      ("198.51.100.7:8080", false), ("1234", false), ("1.2.3.4.", false), ("1.2.3.4/0", false), ("01.2.3.4", false),
      ("255.255.255.255", true), ("256.1.1.1", false), ("1.2.3", false),
    ]
    for (value, matches) in python {
      #expect(MISPAttributeTypes.officialIPv4Pattern(value) == matches, "\(value)")
    }
  }

  @Test func threatsAndRelationships() throws {
    let event = try ConvertedEvent("rich-event", everything)
    let intrusionSet = STIXID.intrusionSet(name: "APT28")
    #expect(event.object(intrusionSet)?["name"] == "APT28")
    let attackPattern = STIXID.attackPattern(name: "Phishing")
    #expect(event.object(attackPattern) != nil)
    let wannaCry = STIXID.malware(name: "WannaCry")
    #expect(event.object(wannaCry)?["is_family"] == true)
    // Malware uses the attack pattern (malware preferred over intrusion sets).
    #expect(event.relationship("uses", wannaCry, attackPattern) != nil)
    for indicator in event.all("indicator") {
      let id = indicator["id"]!.stringValue!
      #expect(event.relationship("indicates", id, intrusionSet) != nil)
    }
    // The URL attribute has its own tags: TLP:RED marking, a sector, no event labels.
    let url = event.all("indicator").first { $0["pattern"]?.stringValue?.hasPrefix("[url:") == true }!
    #expect(url["object_marking_refs"] == [.string(STIXID.TLP.red.id)])
    #expect(url["labels"] == nil)
    let sector = STIXID.identity(name: "Finance", identityClass: "class")
    #expect(event.relationship("related-to", url["id"]!.stringValue!, sector) != nil)
    // TLP:AMBER and Creator= are not labels in fixed mode.
    #expect(event.report["labels"] == ["information-credibility-1"])
    #expect(event.report["object_marking_refs"] == [.string(STIXID.TLP.green.id), .string(STIXID.TLP.amber.id)])

    let officialEvent = try ConvertedEvent("rich-event", official)
    #expect(officialEvent.object(wannaCry) == nil)
    #expect(officialEvent.report["labels"] == ["AMBER", "Creator=Example Analyst", "information-credibility-1"])
  }

  @Test func objectsAndReferences() throws {
    let event = try ConvertedEvent("rich-event", everything)
    let fileText = STIXID.observable(JSONObject([("type", "text"), ("value", "dropper.exe")]))!
    let domainText = STIXID.observable(JSONObject([("type", "text"), ("value", "update.example.net")]))!
    // The object Text and the `text` attribute share an id: one object in fixed mode.
    #expect(event.ids.filter { $0 == fileText }.count == 1)
    let reference = event.relationship("related-to", fileText, domainText)
    #expect(reference?["description"] == "Original Relationship: communicates-with  \nComment: beacon")
    let sha1File = STIXID.observable(JSONObject([("type", "file"), ("hashes", ["SHA-1": .string(String(repeating: "b", count: 40))])]))!
    #expect(event.relationship("related-to", fileText, sha1File) != nil)

    let officialEvent = try ConvertedEvent("rich-event", official)
    #expect(officialEvent.ids.filter { $0 == fileText }.count == 2)
    #expect(officialEvent.relationship("related-to", fileText, domainText) == nil)
    // The attribute's Text comes first; the object's Text follows with the same id.
    #expect(officialEvent.objects.filter { $0["id"]?.stringValue == fileText }.last?["description"] == "File object")
  }

  @Test func eventReportsBecomeNotes() throws {
    let event = try ConvertedEvent("rich-event", everything)
    let notes = event.all("note")
    #expect(notes.count == 1)
    let indicator = STIXID.indicator(pattern: "[file:name = 'dropper.exe' AND file:hashes.MD5 = '0749bae92ca336a02c83d126e04ec628']")
    let fileID = event.all("file").first { $0["hashes"]?["MD5"] != nil }!["id"]!.stringValue!
    _ = indicator
    let content = "The dropper [attribute:dropper.exe](/dashboard/search/\(fileID)) talks to C2, see tag:tlp:green."
    #expect(notes[0]["content"] == .string(content))
    #expect(notes[0]["id"] == .string(STIXID.note(content: content, created: "2024-03-01T12:10:00Z")))
    #expect(notes[0]["object_refs"] == [event.report["id"]!])

    let officialNotes = try ConvertedEvent("rich-event", official).all("note")
    #expect(officialNotes.count == 2)
    #expect(
      officialNotes[0]["content"]
        == "The dropper [attribute:7b2e8d10-0001-4a6b-8e9d-1f2a3b4c5d01](/dashboard/search/7b2e8d10-0001-4a6b-8e9d-1f2a3b4c5d01) talks to C2, see tag:tlp:green."
    )
  }

  @Test func emptyEventsAndLateDates() throws {
    let fixed = try ConvertedEvent("late-date-event")
    #expect(fixed.report["created"] == "2024-06-10T00:00:00.000Z")
    #expect(fixed.report["modified"] == "2024-06-10T00:00:00.000Z")
    let author = STIXID.identity(name: "Example CERT", identityClass: "organization")
    #expect(fixed.report["object_refs"] == [.string(author)])

    let official = try ConvertedEvent("late-date-event") { $0.compatibility = .official }
    #expect(official.report["modified"] == "2024-06-01T00:00:00.000Z")
    #expect(official.report["object_refs"] == ["intrusion-set--fc5ee88d-7987-4c00-991e-a863e9aa8a0e"])
    // Integer threat level: compared as a string by the connector.
    #expect(official.report["id"] == fixed.report["id"])
  }

  @Test func oddFieldTypesStillGiveValidShapes() throws {
    let json = """
      {"Event":{"uuid":"u","info":"odd","date":"2024-01-01","timestamp":1704067200,"Orgc":{"name":"O"},
      "Attribute":[
        {"uuid":"a1","type":"domain","category":"Network activity","value":"example.com","to_ids":"1","timestamp":1704067200},
        {"uuid":"a2","type":"domain","category":"Network activity","value":"example.org","to_ids":null,"comment":null},
        {"uuid":"a3","type":"link","category":"External analysis","value":"see the vendor blog"},
        {"uuid":"a4","type":"link","category":"External analysis","value":"https://example.com/post"}],
      "EventReport":[{"name":{"x":1},"content":"text","timestamp":"1704067300"}]}}
      """
    let event = try ConvertedEvent(json: Array(json.utf8)) { $0.createIndicators = true }
    let detections = event.all("indicator").map { $0["x_opencti_detection"] }
    #expect(detections == [true, false])
    let references = event.report["external_references"]?.arrayValue ?? []
    #expect(references.count == 2)
    #expect(references[0]["url"] == nil && references[0]["description"] == "see the vendor blog")
    #expect(references[1]["url"] == "https://example.com/post")
    #expect(event.all("note").first?["abstract"] == nil)
    #expect(event.all("indicator").first?["created"] == "2024-01-01T00:00:00.000Z")
  }

  /// stix2 leaves out a property given as None; a JSON null in the event never becomes one.
  @Test func nullDescriptionsAndNamesAreLeftOut() throws {
    let json = """
      {"Event":{"uuid":"u","info":"nulls","date":"2024-01-01","timestamp":"1704067200","Orgc":{"name":"O"},
      "Galaxy":[{"namespace":"misp","name":"Threat Actor","GalaxyCluster":[{"value":"APT 28","description":null}]},
        {"namespace":"misp","name":"Sector","GalaxyCluster":[{"value":"Energy","description":null}]}],
      "Object":[{"uuid":"o","name":"file","description":null,"Attribute":[
        {"uuid":"a","type":"domain","category":"Network activity","value":"example.com","to_ids":true}]}],
      "EventReport":[{"name":null,"content":"text","timestamp":"1704067300"}]}}
      """
    for mode in [MISPConversionSettings.Compatibility.fixed, .official] {
      let event = try ConvertedEvent(json: Array(json.utf8)) {
        everything(&$0)
        $0.compatibility = mode
      }
      let intrusionSet = try #require(event.object(STIXID.intrusionSet(name: "APT28")))
      #expect(intrusionSet["description"] == nil, "\(mode)")
      let sector = try #require(event.object(STIXID.identity(name: "Energy", identityClass: "class")))
      #expect(sector["description"] == nil, "\(mode)")
      let text = try #require(event.all("text").first)
      #expect(text["description"] == nil && text["x_opencti_description"] == nil, "\(mode)")
      #expect(event.all("note").first?["abstract"] == nil, "\(mode)")
    }
  }

  @Test func rejectsWhatIsNotAnEvent() {
    let converter = MISPConverter(options: MISPConversionSettings())
    #expect(throws: MISPEventError.self) { try converter.convert(["a", "b"]) }
    #expect(throws: MISPEventError.self) { try converter.convert(["Event": ["info": "no author", "date": "2024-01-01"]]) }
    #expect(throws: MISPEventError.self) { try converter.convert(["Event": ["Orgc": ["name": "x"], "date": "bad"]]) }
  }

  @Test func noneOfTheOptionalObjectsByDefault() throws {
    let event = try ConvertedEvent("rich-event")
    #expect(event.all("indicator").isEmpty)
    #expect(event.all("file").isEmpty)
    #expect(event.all("report").count == 1)
    let noReports = try ConvertedEvent("rich-event") { $0.createReports = false }
    #expect(noReports.all("report").isEmpty)
    #expect(noReports.all("note").isEmpty)
  }
}

@Suite struct MISPOptionTests {
  static let event = """
    {"Event":{"uuid":"0f0e0d0c-0b0a-4909-8807-060504030201","info":"Options","date":"2024-02-02","timestamp":"1706900000",
    "threat_level_id":"2","Orgc":{"name":"Feed Org"},
    "Tag":[{"name":"creator=Analyst Team"},{"name":"marking:PAP=PAP:AMBER"},{"name":"tlp:amber+strict"}],
    "Attribute":[
     {"uuid":"0f0e0d0c-0001-4909-8807-060504030201","type":"github-username","category":"Social network","value":"octocat",
      "to_ids":false,"comment":"","timestamp":"1706900000",
      "Sighting":[{"date_sighting":"1706900100","type":"0","Organisation":{"name":"Other CERT"}},
                  {"date_sighting":"1706900200","type":"0","Organisation":{"name":"Feed Org"}}]},
     {"uuid":"0f0e0d0c-0002-4909-8807-060504030201","type":"email-subject","category":"Payload delivery","value":"Invoice",
      "to_ids":true,"comment":"","timestamp":"1706900000"},
     {"uuid":"0f0e0d0c-0003-4909-8807-060504030201","type":"full-name","category":"Attribution","value":"Jane Doe",
      "to_ids":false,"comment":"","timestamp":"1706900000"},
     {"uuid":"0f0e0d0c-0004-4909-8807-060504030201","type":"mutex","category":"Artifacts dropped","value":"Global\\\\x",
      "to_ids":true,"comment":"","timestamp":"1706900000"},
     {"uuid":"0f0e0d0c-0005-4909-8807-060504030201","type":"attachment","category":"External analysis","value":"report.pdf",
      "data":"JVBERi0=","to_ids":false,"comment":"","timestamp":"1706900000"}
    ]}}
    """

  static func convert(_ configure: (inout MISPConversionSettings) -> Void) throws -> ConvertedEvent {
    try ConvertedEvent(json: Array(event.utf8)) {
      $0.createIndicators = true
      $0.createObservables = true
      configure(&$0)
    }
  }

  @Test func authorAndMarkingsFromTags() throws {
    let event = try Self.convert {
      $0.authorFromTags = true
      $0.markingsFromTags = true
    }
    let author = STIXID.identity(name: "analyst team", identityClass: "organization")
    #expect(event.report["created_by_ref"] == .string(author))
    let pap = STIXID.markingDefinition(type: "PAP", definition: "PAP:AMBER")
    #expect(event.object(pap)?["x_opencti_definition"] == "PAP:AMBER")
    #expect(event.report["object_marking_refs"] == [.string(pap), .string(STIXID.TLP.amberStrict.id)])
    let plain = try Self.convert { _ in }
    #expect(plain.report["created_by_ref"] == .string(STIXID.identity(name: "Feed Org", identityClass: "organization")))
    #expect(plain.report["object_marking_refs"] == [.string(STIXID.TLP.amberStrict.id)])
  }

  @Test func observableKindsAndSightings() throws {
    let event = try Self.convert { _ in }
    let account = event.all("user-account").first
    #expect(account?["account_login"] == "octocat")
    #expect(account?["account_type"] == "github")
    #expect(event.all("email-message").first?["subject"] == "Invoice")
    #expect(event.object(STIXID.identity(name: "Jane Doe", identityClass: "individual"))?["identity_class"] == "individual")
    // Sightings: only by another organisation than the author, one hour long.
    let sightings = event.all("sighting")
    #expect(sightings.count == 1)
    let indicator = STIXID.indicator(pattern: "[user-account:account_login = 'octocat']")
    #expect(sightings.first?["sighting_of_ref"] == .string(indicator))
    #expect(sightings.first?["first_seen"] == "2024-02-02T18:55:00Z")
    #expect(sightings.first?["last_seen"] == "2024-02-02T19:55:00Z")
    let other = STIXID.identity(name: "Other CERT", identityClass: "organization")
    #expect(sightings.first?["where_sighted_refs"] == [.string(other)])
    #expect(
      sightings.first?["id"]
        == .string(
          STIXID.sighting(
            of: indicator, whereSighted: .string(other), firstSeen: "2024-02-02T18:55:00Z", lastSeen: "2024-02-02T19:55:00Z")))
    // to_ids false with import_to_ids_no_score.
    let scored = try Self.convert { $0.importToIdsNoScore = 5 }
    #expect(scored.object(indicator)?["x_opencti_score"] == 5)
    #expect(scored.object(indicator)?["x_opencti_detection"] == false)
  }

  @Test func unsupportedTypesAndAttachments() throws {
    let dropped = try Self.convert { _ in }
    #expect(!dropped.patterns().contains { $0.contains("Global") })
    let text = try Self.convert { $0.importUnsupportedObservablesAsText = true }
    #expect(text.patterns().contains("[text:value = 'Global\\\\x (type=mutex)']"))
    #expect(text.all("text").contains { $0["value"] == "Global\\x (type=mutex)" })
    #expect(dropped.report["x_opencti_files"] == nil)
    let files = try Self.convert { $0.importWithAttachments = true }.report["x_opencti_files"]?.arrayValue
    #expect(files?.count == 1)
    #expect(files?.first?["name"] == "report.pdf")
    #expect(files?.first?["data"] == "JVBERi0=")
    #expect(files?.first?["mime_type"] == "application/pdf")
  }
}
