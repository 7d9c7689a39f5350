import CTICore
import CTITestSupport
import Foundation
import Testing

/// cti-misp --guess-threats-from-tags against the fake platform's /graphql: tag values looked
/// up among the platform's entities, once per value per run.
@Suite(.serialized) struct MISPThreatGuessEndToEndTests {
  let platform = FakePlatform.shared

  static let apt28 = FakePlatform.KnownEntity(
    "Intrusion-Set", name: "APT28", aliases: ["Fancy Bear", "Sofacy"], standardId: STIXID.intrusionSet(name: "APT28"))
  static let emotet = FakePlatform.KnownEntity(
    "Malware", name: "Emotet", aliases: ["Geodo"], standardId: STIXID.malware(name: "Emotet"))
  static let spearphishing = FakePlatform.KnownEntity(
    "Attack-Pattern", name: "Spearphishing Attachment",
    standardId: STIXID.attackPattern(name: "Spearphishing Attachment", mitreID: "T1566.001"), mitreId: "T1566.001")
  /// Not a type the lookup asks for: never found.
  static let report = FakePlatform.KnownEntity("Report", name: "Nobody", standardId: "report--00000000-0000-4000-8000-000000000000")

  static func event(_ uuid: String, info: String, tags: [String], attributeTags: [String] = []) -> String {
    func list(_ names: [String]) -> String {
      "[" + names.map { "{\"name\": " + String(decoding: JSONWriter.serialize(.string($0)), as: UTF8.self) + "}" }.joined(separator: ",") + "]"
    }
    return """
      {"Event": {"uuid": "\(uuid)", "info": "\(info)", "date": "2024-03-01", "timestamp": "1709300000", \
      "threat_level_id": "2", "Orgc": {"name": "ACME"}, "Tag": \(list(tags)), "Attribute": [{"uuid": "\(uuid)-a", \
      "type": "domain", "category": "Network activity", "value": "\(info.lowercased()).example", "to_ids": true, \
      "timestamp": "1709300000", "Tag": \(list(attributeTags))}]}}
      """
  }

  static let input = [
    event(
      "10000000-0000-4000-8000-000000000001", info: "First",
      tags: ["tlp:green", #"misp-galaxy:threat-actor="Fancy Bear""#, "geodo", "unknown:Nobody"],
      attributeTags: ["mitre-attack:T1566.001"]),
    event("10000000-0000-4000-8000-000000000002", info: "Second", tags: ["tlp:green", "Sofacy", "GEODO"]),
  ].joined(separator: "\n") + "\n"

  func environment(_ token: String) -> [String: String] {
    ["OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token]
  }

  func lookups(_ token: String) throws -> [String] {
    let requests = try platform.graphQLState(token: token)["requests"]?.arrayValue ?? []
    return requests.filter { $0["operation"] == "StixDomainObjects" }.map {
      $0["variables"]?["filters"]?["filters"]?.arrayValue?.first?["values"]?.arrayValue?.first?.stringValue ?? "?"
    }
  }

  static func bundles(_ result: ToolResult) throws -> [[JSONObject]] {
    try result.stdoutLines.map { try JSONParser.parse($0)["objects"]!.arrayValue!.map { $0.objectValue! } }
  }

  @Test func tagsNamingKnownThreatsBecomeThoseThreats() throws {
    let token = FakePlatform.unique("misp-guess")
    try platform.createGraphQLPlatform(token: token, entities: [Self.apt28, Self.emotet, Self.spearphishing, Self.report])
    let result = try ToolRunner.run(
      "cti-misp", ["--guess-threats-from-tags", "--create-indicators", "--log-level", "debug"], stdin: Array(Self.input.utf8),
      environment: environment(token))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(!result.stderr.contains(token), "the token never reaches the log")
    let bundles = try Self.bundles(result)
    #expect(bundles.count == 2)
    let first = bundles[0]
    func object(_ objects: [JSONObject], _ id: String) -> JSONObject? { objects.first { $0["id"]?.stringValue == id } }
    let apt28 = STIXID.intrusionSet(name: "APT28")
    let emotet = STIXID.malware(name: "Emotet")
    #expect(object(first, apt28)?["name"] == "APT28")
    #expect(object(first, apt28)?["object_marking_refs"] == [.string(STIXID.TLP.green.id)])
    #expect(object(first, emotet)?["is_family"] == true)
    // The galaxy tag still gives its own intrusion set, as without the option.
    #expect(object(first, STIXID.intrusionSet(name: "Fancy Bear")) != nil)
    // The attribute's attack pattern carries the platform's MITRE id and standard id.
    let attackPattern = object(first, Self.spearphishing.standardId)
    #expect(attackPattern?["x_mitre_id"] == "T1566.001")
    // Nothing for "Nobody": the platform only holds a report by that name.
    #expect(!first.contains { $0["name"] == "Nobody" && $0["type"] != "report" })
    let indicator = try #require(first.first { $0["type"] == "indicator" })["id"]!.stringValue!
    for target in [apt28, emotet] {
      #expect(object(first, STIXID.relationship(type: "indicates", source: indicator, target: target)) != nil)
    }
    let report = try #require(first.first { $0["type"] == "report" })
    let refs = report["object_refs"]?.arrayValue?.compactMap(\.stringValue) ?? []
    #expect(refs.contains(apt28) && refs.contains(emotet) && refs.contains(Self.spearphishing.standardId))

    // The second event's tags are other aliases of the same entities.
    #expect(object(bundles[1], apt28) != nil)
    #expect(object(bundles[1], emotet) != nil)
    // Each distinct value was asked once in the run (`tlp:green` and `Geodo`'s spelling included).
    #expect(try lookups(token) == ["green", "Fancy Bear", "geodo", "Nobody", "T1566.001", "Sofacy", "GEODO"])
  }

  @Test func officialModeNamesTheAttackPatternOnly() throws {
    let token = FakePlatform.unique("misp-guess-official")
    try platform.createGraphQLPlatform(token: token, entities: [Self.spearphishing])
    let result = try ToolRunner.run(
      "cti-misp", ["--guess-threats-from-tags", "--compat", "official"], stdin: Array(Self.input.utf8),
      environment: environment(token))
    #expect(result.status == 0, "\(result.stderr)")
    let first = try Self.bundles(result)[0]
    #expect(first.contains { $0["id"]?.stringValue == STIXID.attackPattern(name: "Spearphishing Attachment") })
    #expect(!first.contains { $0["id"]?.stringValue == Self.spearphishing.standardId })
  }

  @Test func withoutOpenCTIURLTheOptionIsUnavailable() throws {
    let result = try ToolRunner.run(
      "cti-misp", ["--create-indicators"], stdin: Array(Self.input.utf8),
      environment: ["MISP_FEED_GUESS_THREATS_FROM_TAGS": "true"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("guess_threats_from_tags is unavailable"))
    #expect(result.stderr.contains("OPENCTI_URL"))
    let first = try Self.bundles(result)[0]
    #expect(!first.contains { $0["id"]?.stringValue == STIXID.intrusionSet(name: "APT28") })
    #expect(first.contains { $0["id"]?.stringValue == STIXID.intrusionSet(name: "Fancy Bear") })
  }

  @Test func aURLWithoutTokenIsAConfigurationError() throws {
    let result = try ToolRunner.run(
      "cti-misp", ["--guess-threats-from-tags"], stdin: Array(Self.input.utf8), environment: ["OPENCTI_URL": platform.baseURL])
    #expect(result.status != 0)
    #expect(result.stderr.contains("OPENCTI_TOKEN"))
    #expect(result.stdoutLines.isEmpty)
  }

  @Test func aPlatformThatIsDownStopsTheRunBeforeAnyEvent() throws {
    let result = try ToolRunner.run(
      "cti-misp", ["--guess-threats-from-tags"], stdin: Array(Self.input.utf8),
      environment: ["OPENCTI_URL": "http://127.0.0.1:9", "OPENCTI_TOKEN": "secret-token-down"])
    #expect(result.status == 69, "unavailable: \(result.stderr)")
    #expect(result.stderr.contains("guess_threats_from_tags needs OpenCTI at http://127.0.0.1:9"))
    #expect(!result.stderr.contains("secret-token-down"))
    #expect(result.stdoutLines.isEmpty)
  }

  @Test func aRefusedTokenStopsTheRunWithExit77() throws {
    let result = try ToolRunner.run(
      "cti-misp", ["--guess-threats-from-tags"], stdin: Array(Self.input.utf8),
      environment: environment(FakePlatform.unique("no-such-token")))
    #expect(result.status == 77, "\(result.stderr)")
    #expect(result.stderr.contains("guess_threats_from_tags needs OpenCTI at"))
    #expect(result.stdoutLines.isEmpty)
  }

  @Test func aPlatformLostMidRunFailsTheRemainingEventsWithoutWaiting() throws {
    let token = FakePlatform.unique("misp-guess-lost")
    try platform.createGraphQLPlatform(token: token, entities: [Self.apt28])
    try platform.injectGraphQLFault(token: token, operation: "StixDomainObjects", count: 100, .status(503))
    let result = try ToolRunner.run(
      "cti-misp", ["--guess-threats-from-tags"], stdin: Array(Self.input.utf8), environment: environment(token))
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stdoutLines.isEmpty)
    #expect(result.stderr.contains("guess_threats_from_tags: OpenCTI lookup failed"))
    #expect(result.stderr.contains("2 events read, 0 converted, 2 failed"))
    // One value, retried by the HTTP client; the second event asked nothing.
    #expect(Set(try lookups(token)) == ["green"])
  }

  /// With one job the first event meets the fault; with two, either may (lookups happen as
  /// events are converted), and the state must hold back exactly as far as the failed one.
  @Test(arguments: [1, 2])
  func aRefusedLookupFailsOnlyItsEventAndTheFeedRetriesItNextRun(jobs: Int) throws {
    let token = FakePlatform.unique("misp-guess-feed-\(jobs)")
    try platform.createGraphQLPlatform(token: token, entities: [Self.apt28])
    try platform.injectGraphQLFault(token: token, operation: "StixDomainObjects", count: 1, .error("Unknown filter key"))
    let folder = try TemporaryFolder()
    let feed = folder.url.appendingPathComponent("feed").path
    try FileManager.default.createDirectory(atPath: feed, withIntermediateDirectories: true)
    let uuids = ["10000000-0000-4000-8000-000000000001", "10000000-0000-4000-8000-000000000002"]
    for (index, line) in Self.input.split(separator: "\n").enumerated() {
      try String(line).write(toFile: feed + "/\(uuids[index]).json", atomically: true, encoding: .utf8)
    }
    try #"{"\#(uuids[0])": {"timestamp": 1709300000}, "\#(uuids[1])": {"timestamp": 1709300100}}"#
      .write(toFile: feed + "/manifest.json", atomically: true, encoding: .utf8)
    let arguments = [
      "--feed", feed, "--state", folder.path + "/state.json", "--import-from-date", "2024-01-01", "--guess-threats-from-tags",
      "--jobs", "\(jobs)",
    ]
    let first = try ToolRunner.run("cti-misp", arguments, environment: environment(token))
    #expect(first.status == 1, "\(first.stderr)")
    let failed = uuids.filter { first.stderr.contains("event \($0)") }
    #expect(failed.count == 1, "\(first.stderr)")
    if jobs == 1 { #expect(failed == [uuids[0]]) }
    #expect(first.stderr.contains("Unknown filter key"))
    #expect(try Self.bundles(first).count == 1, "the other event still converts")
    let second = try ToolRunner.run("cti-misp", arguments, environment: environment(token))
    #expect(second.status == 0, "\(second.stderr)")
    let retried = try Self.bundles(second)
    // A failed first event held the state back before both; a failed second one only before it.
    #expect(retried.count == (failed == [uuids[0]] ? 2 : 1))
    #expect(retried[0].contains { $0["id"]?.stringValue == STIXID.intrusionSet(name: "APT28") })
  }
}
