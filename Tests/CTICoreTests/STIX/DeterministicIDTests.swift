import Foundation
import Testing

@testable import CTICore

/// The vectors pycti and stix2 computed (Fixtures/stix-ids.json), one call of our API each.
struct IDVector: CustomStringConvertible {
  let kind: String
  let args: JSONObject
  let id: String

  var description: String { "\(kind) \(JSONValue.object(args).jsonText)" }

  static let all: [IDVector] = {
    let url = Bundle.module.url(forResource: "Fixtures/stix-ids", withExtension: "json")!
    let bytes = Array(try! Data(contentsOf: url))
    let root = try! JSONParser.parse(bytes)
    return root["vectors"]!.arrayValue!.map { vector in
      IDVector(kind: vector["kind"]!.stringValue!, args: vector["args"]!.objectValue!, id: vector["id"]!.stringValue!)
    }
  }()

  /// Our id for this vector, through the typed API a converter would call.
  func compute() -> String? {
    func text(_ key: String) -> String? { args[key]?.stringValue }
    func time(_ key: String) -> IDTime? { text(key).map { IDTime($0) } }
    func number(_ key: String) -> Double? { args[key]?.numberText.flatMap(Double.init) }
    let name = text("name") ?? ""
    switch kind {
    case "identity": return STIXID.identity(name: name, identityClass: text("identity_class")!)
    case "intrusion-set": return STIXID.intrusionSet(name: name)
    case "malware": return STIXID.malware(name: name)
    case "tool": return STIXID.tool(name: name)
    case "campaign": return STIXID.campaign(name: name)
    case "vulnerability": return STIXID.vulnerability(name: name)
    case "infrastructure": return STIXID.infrastructure(name: name)
    case "channel": return STIXID.channel(name: name)
    case "narrative": return STIXID.narrative(name: name)
    case "data-source": return STIXID.dataSource(name: name)
    case "data-component": return STIXID.dataComponent(name: name)
    case "threat-actor-group": return STIXID.threatActor(name: name, kind: .group)
    case "threat-actor-individual": return STIXID.threatActor(name: name, kind: .individual)
    case "attack-pattern": return STIXID.attackPattern(name: name, mitreID: text("x_mitre_id"))
    case "course-of-action": return STIXID.courseOfAction(name: name, mitreID: text("x_mitre_id"))
    case "location":
      guard let type = STIXID.LocationType(rawValue: text("x_opencti_location_type")!) else { return nil }
      return STIXID.location(name: name, type: type, latitude: number("latitude"), longitude: number("longitude"))
    case "label": return STIXID.label(value: text("value")!)
    case "vocabulary": return STIXID.vocabulary(name: name, category: text("category")!)
    case "report": return STIXID.report(name: name, published: time("published")!)
    case "incident": return STIXID.incident(name: name, created: time("created"))
    case "case-incident": return STIXID.caseIncident(name: name, created: time("created"))
    case "task": return STIXID.task(name: name, created: time("created"))
    case "note": return STIXID.note(content: text("content")!, created: time("created"), abstract: text("abstract"))
    case "opinion": return STIXID.opinion(opinion: text("opinion")!, created: time("created"))
    case "grouping": return STIXID.grouping(name: name, context: text("context")!)
    case "indicator": return STIXID.indicator(pattern: text("pattern")!)
    case "marking-definition":
      return STIXID.markingDefinition(type: text("definition_type")!, definition: text("definition")!)
    case "kill-chain-phase":
      return STIXID.killChainPhase(killChainName: text("kill_chain_name")!, phaseName: text("phase_name")!)
    case "external-reference":
      return STIXID.externalReference(sourceName: text("source_name"), url: text("url"), externalID: text("external_id"))
    case "relationship":
      return STIXID.relationship(
        type: text("relationship_type")!, source: text("source_ref")!, target: text("target_ref")!,
        startTime: time("start_time"), stopTime: time("stop_time"))
    case "sighting":
      return STIXID.sighting(
        of: text("sighting_of_ref")!, whereSighted: args["where_sighted_refs"]!, firstSeen: time("first_seen"),
        lastSeen: time("last_seen"))
    case "observed-data":
      return STIXID.observedData(objectIDs: args["object_ids"]!.arrayValue!.compactMap(\.stringValue))
    case "sco": return STIXID.observable(args["object"]!.objectValue!)
    default: return nil
    }
  }
}

@Suite struct DeterministicIDTests {
  @Test func fixtureHoldsEveryVector() {
    #expect(IDVector.all.count == 831)
    let kinds = Set(IDVector.all.map(\.kind))
    #expect(kinds.count == 33)
  }

  @Test func everyVectorMatchesPycti() {
    var mismatches: [String] = []
    for vector in IDVector.all {
      let computed = vector.compute()
      if computed != vector.id {
        mismatches.append("\(vector): expected \(vector.id), got \(computed ?? "nil")")
      }
    }
    #expect(mismatches.isEmpty, "\(mismatches.count) of \(IDVector.all.count) ids differ:\n\(mismatches.joined(separator: "\n"))")
  }

  @Test func uuidv5MatchesRFCExample() {
    // RFC 9562 appendix A.4: "www.example.com" in the DNS namespace.
    let dns = UUIDv5.parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")!
    #expect(UUIDv5.make(namespace: dns, name: "www.example.com") == "2ed6657d-e927-568b-95e1-2665a8aea6a2")
  }

  @Test func referenceDocumentExamples() {
    // misp-feed-conversion.md §3.10, computed from a CIRCL OSINT feed event.
    #expect(STIXID.identity(name: "CIRCL", identityClass: "organization") == "identity--4f347cc9-4658-59ee-9707-134f434f9d1c")
    #expect(
      STIXID.report(name: "Ransomware - Xorist", published: .isoformat(unixSeconds: 1_472_428_800))
        == "report--53f72dca-12c2-53a5-9c88-b0ceb0b47570")
    #expect(
      STIXID.indicator(pattern: "[file:hashes.MD5 = '0749bae92ca336a02c83d126e04ec628']")
        == "indicator--3fb8bcf5-96b0-551e-8e1f-73a8657ebc56")
    #expect(STIXID.malware(name: "Ransomware") == "malware--a9b0f8a0-e9a4-56c8-baae-0efcc00e3f29")
    let file: JSONObject = JSONObject([("type", "file"), ("name", "3Z4wnG9603it23y.exe")])
    #expect(STIXID.observable(file) == "file--deeeb324-9764-53e2-ac38-a6d4117fc313")
  }

  @Test func namesAreNormalisedLikePython() {
    #expect(STIXID.malware(name: "  Emotet\u{1F}") == STIXID.malware(name: "emotet"))
    #expect(STIXID.malware(name: "\u{A0}Emotet\u{3000}") == STIXID.malware(name: "emotet"))
    // Python lower-cases a word-final capital sigma to ς, Swift's lowercased() does not.
    #expect(PythonText.lower("ΟΔΟΣ") == "οδος".replacingOccurrences(of: "σ", with: "ς"))
    #expect(PythonText.lower("ΣΑ") == "σα")
    // Labels are hashed verbatim.
    #expect(STIXID.label(value: "APT28") != STIXID.label(value: "apt28"))
  }

  @Test func fileHashesCountOnce() {
    let md5 = "0749bae92ca336a02c83d126e04ec628"
    let both = JSONObject([("type", "file"), ("hashes", ["SHA-256": "aa", "MD5": .string(md5)])])
    let onlyMD5 = JSONObject([("type", "file"), ("hashes", ["MD5": .string(md5)])])
    #expect(STIXID.observable(both) == STIXID.observable(onlyMD5))
    #expect(STIXID.observable(onlyMD5) == "file--025f0899-9f72-5034-88cb-c26685316730")
    #expect(STIXID.observable(JSONObject([("type", "process"), ("pid", 4)])) == nil)
    #expect(STIXID.observable(JSONObject([("type", "ipv4-addr")])) == nil)
  }

  @Test func tlpIDsAreFixed() {
    #expect(STIXID.markingDefinition(type: "TLP", definition: "TLP:CLEAR") == STIXID.TLP.white.id)
    #expect(STIXID.markingDefinition(type: "TLP", definition: "TLP:AMBER+STRICT") == STIXID.TLP.amberStrict.id)
    #expect(Set(STIXID.TLP.allCases.map(\.id)).count == 5)
    #expect(STIXID.markingDefinition(type: "PAP", definition: "PAP:RED") == "marking-definition--4e4e3b84-de45-53df-9d9b-b21207699fd8")
  }

  @Test func isoformatMatchesPython() {
    #expect(IDTime.isoformat(unixSeconds: 1_472_428_800).text == "2016-08-29T00:00:00+00:00")
    #expect(IDTime.isoformat(unixSeconds: 1_580_702_706, microseconds: 789_000).text == "2020-02-03T04:05:06.789000+00:00")
    #expect(IDTime.isoformat(unixSeconds: -1).text == "1969-12-31T23:59:59+00:00")
    #expect(IDTime.isoformat(Date(timeIntervalSince1970: 951_782_400)).text == "2000-02-29T00:00:00+00:00")
  }

  @Test func numbersAreWrittenTheECMAScriptWay() {
    #expect(IDCanonicalJSON.ecmaScript(48.8566) == "48.8566")
    #expect(IDCanonicalJSON.ecmaScript(2.0) == "2")
    #expect(IDCanonicalJSON.ecmaScript(-0.5) == "-0.5")
    #expect(IDCanonicalJSON.ecmaScript(1e-7) == "1e-7")
    #expect(IDCanonicalJSON.ecmaScript(0.000001) == "0.000001")
    #expect(IDCanonicalJSON.ecmaScript(1e21) == "1e+21")
    // 1.2345678901234568e20 is the double nearest 123456789012345680000; ECMAScript prints it so.
    #expect(IDCanonicalJSON.ecmaScript(1.2345678901234568e20) == "123456789012345680000")
    #expect(IDCanonicalJSON.text(["b": 1, "a": .number("2.50"), "é": "x", "\u{FF61}": 1, "\u{1F43B}": 2])
      == "{\"a\":2.5,\"b\":1,\"é\":\"x\",\"\u{1F43B}\":2,\"\u{FF61}\":1}")
  }
}
