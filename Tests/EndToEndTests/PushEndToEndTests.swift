import CTITestSupport
import Foundation
import Testing

@testable import CTICore

/// cti-push against the fake platform's /graphql: what reaches the platform, in which works,
/// as whom, in what order, and what happens on faults.
@Suite struct PushEndToEndTests {
  let platform = FakePlatform.shared

  /// A fresh simulated platform and the environment pointing cti-push at it.
  struct Target {
    let token = FakePlatform.unique("push-token")
    let connectorId = UUID().uuidString.lowercased()
    var environment: [String: String] = [:]
  }

  func target(version: String = "6.8.10") throws -> Target {
    var target = Target()
    try platform.createGraphQLPlatform(token: target.token, version: version)
    target.environment = ["OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": target.token, "CONNECTOR_ID": target.connectorId]
    return target
  }

  func push(_ target: Target, _ lines: [String], _ arguments: [String] = [], environment: [String: String] = [:]) throws -> ToolResult {
    let input = Array(lines.map { $0 + "\n" }.joined().utf8)
    let result = try ToolRunner.run("cti-push", arguments, stdin: input, environment: target.environment.merging(environment) { $1 })
    #expect(!result.stderr.contains(target.token), "the token must never be logged")
    return result
  }

  func state(_ target: Target) throws -> JSONValue { try platform.graphQLState(token: target.token) }

  func requests(_ state: JSONValue, _ operation: String) -> [JSONValue] {
    (state["requests"]?.arrayValue ?? []).filter { $0["operation"]?.stringValue == operation }
  }

  func works(_ state: JSONValue) -> [JSONValue] { state["works"]?.objectValue?.members.map(\.value) ?? [] }

  func bundleLine(_ objects: [String], id: String = "bundle--" + UUID().uuidString.lowercased()) -> String {
    "{\"type\":\"bundle\",\"id\":\"\(id)\",\"spec_version\":\"2.1\",\"objects\":[\(objects.joined(separator: ","))]}"
  }

  func indicator(_ number: Int, _ extra: String = "") -> String {
    "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"\(id("indicator", number))\",\"name\":\"i\(number)\",\"pattern\":\"[ipv4-addr:value = '10.0.0.\(number % 250)']\",\"pattern_type\":\"stix\"\(extra)}"
  }

  func id(_ type: String, _ number: Int) -> String {
    let digits = String(number)
    return "\(type)--00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
  }

  @Test func bundlesGoIntoOneClosedWorkOfTheRegisteredConnector() throws {
    let target = try target()
    let result = try push(
      target, [bundleLine([indicator(1), indicator(2)]), bundleLine([indicator(3), indicator(4)])],
      environment: ["CONNECTOR_NAME": "Feed sync", "CONNECTOR_SCOPE": "indicator,report"])
    #expect(result.status == 0, "\(result.stderr)")
    let state = try state(target)
    let connector = state["connectors"]?[target.connectorId]
    #expect(connector?["name"] == "Feed sync")
    #expect(connector?["type"] == "EXTERNAL_IMPORT")
    #expect(connector?["scope"] == ["indicator", "report"])
    let works = works(state)
    #expect(works.count == 1)
    #expect(works.first?["connector_id"]?.stringValue == target.connectorId)
    #expect(works.first?["closed"] == true)
    #expect(works.first?["in_error"] == false)
    #expect(works.first?["status"] == "complete")
    #expect(works.first?["name"]?.stringValue?.hasPrefix("Feed sync run @ ") == true)
    let bundles = state["bundles"]?.arrayValue ?? []
    #expect(bundles.map { $0["object_ids"] } == [.array([.string(id("indicator", 1)), .string(id("indicator", 2))]), .array([.string(id("indicator", 3)), .string(id("indicator", 4))])])
    #expect(bundles.allSatisfy { $0["work_id"] == works.first?["id"] })
    #expect(requests(state, "StixBundlePush").allSatisfy { $0["content_type"] == "application/json" && $0["applicant"] == .null })
    #expect(Set(requests(state, "StixBundlePush").compactMap { $0["client_port"]?.intValue }).count == 1, "one keep-alive connection")
    #expect(result.stderr.contains("2 records, 2 bundles, 4 objects pushed, 0 rejected, 1 works opened"))
    #expect(result.stdout.isEmpty)
  }

  @Test func aOneObjectBundleGetsItsExpectation() throws {
    let target = try target()
    let result = try push(target, [indicator(1)])
    #expect(result.status == 0, "\(result.stderr)")
    let state = try state(target)
    let expectations = requests(state, "AddExpectations")
    #expect(expectations.count == 1)
    #expect(expectations.first?["variables"]?["expectations"] == 1)
    #expect(works(state).first?["expected"] == 1)
    #expect(works(state).first?["status"] == "complete")
  }

  @Test func batchesRespectTheLimitsAndTheDependencyOrder() throws {
    let target = try target()
    var objects: [String] = []
    // Relationships first in the input, their ends after: the push must reverse that.
    for number in 1...60 {
      objects.append("{\"type\":\"relationship\",\"spec_version\":\"2.1\",\"id\":\"\(id("relationship", number))\",\"relationship_type\":\"indicates\",\"source_ref\":\"\(id("indicator", number))\",\"target_ref\":\"\(id("malware", 1))\"}")
    }
    objects.append("{\"type\":\"malware\",\"spec_version\":\"2.1\",\"id\":\"\(id("malware", 1))\",\"name\":\"m\",\"is_family\":true}")
    for number in 1...60 { objects.append(indicator(number)) }
    let result = try push(target, [bundleLine(objects, id: "bundle--11111111-2222-4333-8444-555555555555")], ["--batch-size", "50"])
    #expect(result.status == 0, "\(result.stderr)")
    let bundles = try state(target)["bundles"]?.arrayValue ?? []
    #expect(bundles.map { $0["object_ids"]?.arrayValue?.count } == [50, 50, 21])
    #expect(bundles.allSatisfy { $0["id"] == "bundle--11111111-2222-4333-8444-555555555555" })
    let order = bundles.flatMap { $0["object_ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    #expect(order.count == 121)
    for number in 1...60 {
      let relationship = try #require(order.firstIndex(of: id("relationship", number)))
      #expect(order.firstIndex(of: id("indicator", number))! < relationship)
      #expect(order.firstIndex(of: id("malware", 1))! < relationship)
    }

    let bytesTarget = try self.target()
    let limit = 4096
    let sized = try push(bytesTarget, [bundleLine((1...60).map { indicator($0) })], ["--max-bytes", String(limit)])
    #expect(sized.status == 0, "\(sized.stderr)")
    let sizedBundles = try state(bytesTarget)["bundles"]?.arrayValue ?? []
    #expect(sizedBundles.count > 1)
    #expect(sizedBundles.allSatisfy { ($0["bytes"]?.intValue ?? .max) <= limit })
    #expect(sizedBundles.reduce(0) { $0 + ($1["object_ids"]?.arrayValue?.count ?? 0) } == 60)
  }

  @Test func envelopesArePushedAsTheirConnectorWithMappedApplicants() throws {
    let target = try target()
    func envelope(_ applicant: String, _ number: Int) -> String {
      "{\"bundle_type\":\"DIRECTORY_BUNDLE\",\"applicant_id\":\"\(applicant)\",\"connector\":{\"id\":\"3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c\",\"name\":\"Common Vulnerabilities and Exposures\",\"type\":\"EXTERNAL_IMPORT\",\"scope\":\"identity,vulnerability\",\"auto\":false,\"validate_before_import\":false},\"entities_types\":null,\"bundle\":\(bundleLine([indicator(number), indicator(number + 100)])),\"update\":true}"
    }
    let result = try push(
      target, [envelope("src-analyst", 1), envelope("someone-else", 2), envelope("src-analyst", 3)],
      ["--applicant-map", "src-analyst:dst-analyst,broken-entry", "--reject", "/dev/null"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("broken-entry"))
    #expect(result.stderr.contains("applicant someone-else is not in the applicant mapping"))
    let state = try state(target)
    let source = state["connectors"]?["3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c"]
    #expect(source?["name"] == "Common Vulnerabilities and Exposures")
    #expect(source?["scope"] == ["identity", "vulnerability"])
    #expect(source?["registrations"] == 1)
    let works = works(state)
    #expect(works.count == 1, "no work for cti-push's own connector, one for the impersonated one")
    #expect(works.first?["connector_id"] == "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c")
    let bundles = state["bundles"]?.arrayValue ?? []
    #expect(bundles.map { $0["connector_id"]?.stringValue } == Array(repeating: "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c", count: 3))
    #expect(bundles.map { $0["applicant"]?.stringValue } == ["dst-analyst", "88ec0c6a-13ce-5e39-b486-354fe4a7084f", "dst-analyst"])
    #expect(requests(state, "StixBundlePush").map { $0["applicant"]?.stringValue } == ["dst-analyst", nil, "dst-analyst"])
  }

  @Test func transientFailuresAreRetriedThenSucceed() throws {
    let target = try target()
    try platform.injectGraphQLFault(token: target.token, operation: "StixBundlePush", count: 2, .status(500))
    try platform.injectGraphQLFault(token: target.token, operation: "StixBundlePush", skip: 2, count: 1, .status(429, retryAfter: 1))
    try platform.injectGraphQLFault(token: target.token, operation: "WorkAdd", count: 1, .drop)
    let result = try push(target, [bundleLine([indicator(1), indicator(2)])])
    #expect(result.status == 0, "\(result.stderr)")
    let state = try state(target)
    #expect(requests(state, "StixBundlePush").count == 4)
    #expect(requests(state, "WorkAdd").count == 2)
    #expect(state["bundles"]?.arrayValue?.count == 1)
    #expect(result.stderr.contains("retrying"))
  }

  @Test func anOutageLongerThanTheRetriesIsWaitedOutNotRejected() throws {
    let target = try target()
    // Six 500s in a row: more than the HTTP client's four attempts.
    try platform.injectGraphQLFault(token: target.token, operation: "StixBundlePush", count: 6, .status(500))
    let result = try push(target, [bundleLine([indicator(1), indicator(2)]), bundleLine([indicator(3), indicator(4)])])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("the platform looks down"))
    #expect(try state(target)["bundles"]?.arrayValue?.count == 2)

    let impatient = try self.target()
    try platform.injectGraphQLFault(token: impatient.token, operation: "StixBundlePush", count: 6, .status(500))
    let gaveUp = try push(impatient, [bundleLine([indicator(1), indicator(2)])], ["--max-outage", "0"])
    #expect(gaveUp.status == 69)
  }

  @Test func addingExpectationsIsNeverRepeatedAfterAServerError() throws {
    let target = try target()
    try platform.injectGraphQLFault(token: target.token, operation: "AddExpectations", count: 1, .status(500))
    let result = try push(target, [bundleLine([indicator(1)])])
    // A second addExpectations could leave the work waiting for ever: the bundle is reported instead.
    #expect(requests(try state(target), "AddExpectations").count == 1)
    #expect(result.status != 0)
  }

  @Test func aTimedOutRequestIsRetried() throws {
    let target = try target()
    try platform.injectGraphQLFault(token: target.token, operation: "StixBundlePush", count: 1, .delay(3))
    let result = try push(target, [bundleLine([indicator(1), indicator(2)])], ["--request-timeout", "1"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("retrying (attempt 2 of 4)"))
    #expect(requests(try state(target), "StixBundlePush").count == 2)
  }

  @Test func aRefusedBundleIsNotRetriedAndGoesToTheRejectFile() throws {
    let target = try target()
    let rejectPath = NSTemporaryDirectory() + FakePlatform.unique("rejects") + ".ndjson"
    defer { try? FileManager.default.removeItem(atPath: rejectPath) }
    try platform.injectGraphQLFault(
      token: target.token, operation: "StixBundlePush", count: 1, .error("Variable \"$bundle\" got invalid value", code: "GRAPHQL_VALIDATION_FAILED"))
    let big = indicator(9, ",\"description\":\"\(String(repeating: "x", count: 5000))\"")
    let lines = [bundleLine([indicator(1), indicator(2)]), "{not json", bundleLine([indicator(3), indicator(4)]), big]
    let result = try push(target, lines, ["--reject", rejectPath, "--max-bytes", "4096"])
    #expect(result.status == 1)
    let state = try state(target)
    #expect(requests(state, "StixBundlePush").count == 2, "the refused bundle is sent once, the next one goes through")
    #expect(works(state).first?["in_error"] == true)
    let rejects = try String(contentsOfFile: rejectPath, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
    #expect(rejects.map { $0["line"]?.intValue } == [1, 2, 4])
    #expect(rejects[0]["error"]?.stringValue?.contains("got invalid value") == true)
    #expect(rejects[0]["record"] == (try JSONParser.parse(lines[0])))
    #expect(rejects[1]["text"] == "{not json")
    #expect(rejects[2]["error"]?.stringValue?.contains("--max-bytes 4096") == true)
    #expect(result.stderr.contains("3 rejected"))
  }

  @Test func strictStopsAtTheFirstRejectAndClosesTheWorkInError() throws {
    let target = try target()
    let result = try push(target, [bundleLine([indicator(1), indicator(2)]), "[1,2]", bundleLine([indicator(3), indicator(4)])], ["--strict"])
    #expect(result.status == 65)
    let state = try state(target)
    #expect(state["bundles"]?.arrayValue?.count == 1)
    #expect(works(state).first?["closed"] == true)
    #expect(works(state).first?["in_error"] == true)
  }

  @Test func strictStillPushesTheObjectsCollectedBeforeTheBadLine() throws {
    let target = try target()
    let result = try push(target, [indicator(1), indicator(2), "not json", indicator(3)], ["--strict"])
    #expect(result.status == 65)
    let state = try state(target)
    let pushed = (state["bundles"]?.arrayValue ?? []).flatMap { $0["object_ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    #expect(pushed == [id("indicator", 1), id("indicator", 2)], "the good lines before the stop are not lost")
    #expect(works(state).first?["in_error"] == true)
  }

  @Test func syncEventsApplyDeletesAndMergesOnlyWhenAsked() throws {
    let events = [
      "{\"id\":\"1-0\",\"event\":\"create\",\"version\":\"4\",\"type\":\"create\",\"data\":\(indicator(1))}",
      "{\"id\":\"2-0\",\"event\":\"update\",\"version\":\"4\",\"type\":\"update\",\"data\":\(indicator(2)),\"context\":{\"patch\":[]}}",
      "{\"id\":\"3-0\",\"event\":\"delete\",\"version\":\"4\",\"type\":\"delete\",\"data\":\(indicator(1))}",
      "{\"id\":\"4-0\",\"event\":\"merge\",\"version\":\"4\",\"type\":\"merge\",\"data\":\(indicator(2)),\"context\":{\"sources\":[\(indicator(3))]}}",
    ]
    let skipping = try target()
    let skipped = try push(skipping, events)
    #expect(skipped.status == 0, "\(skipped.stderr)")
    let skippedState = try state(skipping)
    #expect(skippedState["edits"] == [])
    // The merge is skipped, but the merged target's new state (its data) is still pushed.
    #expect(
      skippedState["bundles"]?.arrayValue?.flatMap { $0["object_ids"]?.arrayValue ?? [] }
        == [.string(id("indicator", 1)), .string(id("indicator", 2)), .string(id("indicator", 2))])
    #expect(skipped.stderr.contains("1 deletes skipped (--apply-deletes)"))
    #expect(skipped.stderr.contains("1 merges skipped (--apply-merges)"))

    let applying = try target()
    let applied = try push(applying, events, ["--apply-deletes", "--apply-merges"])
    #expect(applied.status == 0, "\(applied.stderr)")
    let appliedState = try state(applying)
    #expect(appliedState["edits"]?.arrayValue?.map { $0["op"] } == ["delete", "merge"])
    #expect(appliedState["edits"]?.arrayValue?.first?["id"]?.stringValue == id("indicator", 1))
    #expect(appliedState["edits"]?.arrayValue?[1]["sources"] == [.string(id("indicator", 3))])
    let appliedBundles = appliedState["bundles"]?.arrayValue ?? []
    #expect(appliedBundles.count == 2, "the create and the update before the delete go in one bundle, the merged target after the merge")
    #expect(appliedBundles.last?["object_ids"] == [.string(id("indicator", 2))])
    #expect(applied.stderr.contains("1 deleted, 1 merged"))
  }

  @Test func aBackupRestoredIntoCtiPushReachesThePlatformInOrder() throws {
    let folder = NSTemporaryDirectory() + FakePlatform.unique("backup")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let relationship = "{\"type\":\"relationship\",\"spec_version\":\"2.1\",\"id\":\"\(id("relationship", 1))\",\"relationship_type\":\"indicates\",\"source_ref\":\"\(id("indicator", 1))\",\"target_ref\":\"\(id("malware", 1))\",\"created\":\"2024-01-15T14:00:29.380Z\",\"modified\":\"2024-01-15T14:00:29.380Z\"}"
    let malware = "{\"type\":\"malware\",\"spec_version\":\"2.1\",\"id\":\"\(id("malware", 1))\",\"name\":\"m\",\"is_family\":true,\"created\":\"2024-01-15T14:00:29.380Z\",\"modified\":\"2024-01-15T14:00:29.380Z\"}"
    let events = [relationship, indicator(1, ",\"created\":\"2024-01-15T14:00:29.380Z\",\"modified\":\"2024-01-15T14:00:29.380Z\""), malware].enumerated().map { index, object in
      "{\"id\":\"170532722912\(index)-0\",\"event\":\"create\",\"version\":\"4\",\"type\":\"create\",\"data\":\(object)}"
    }
    let backup = try ToolRunner.run("cti-backup", [folder], stdin: Array(events.map { $0 + "\n" }.joined().utf8))
    #expect(backup.status == 0, "\(backup.stderr)")
    let restore = try ToolRunner.run("cti-backup", ["restore", folder])
    #expect(restore.status == 0, "\(restore.stderr)")
    #expect(!restore.stdoutLines.isEmpty)

    let target = try target()
    let result = try push(target, restore.stdoutLines)
    #expect(result.status == 0, "\(result.stderr)")
    let order = (try state(target)["bundles"]?.arrayValue ?? []).flatMap { $0["object_ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    #expect(Set(order) == [id("relationship", 1), id("indicator", 1), id("malware", 1)])
    #expect(order.last == id("relationship", 1), "the relationship comes after both ends")
  }

  @Test func checkVerifiesTokenAndVersion() throws {
    let good = try target()
    let ok = try ToolRunner.run("cti-push", ["--check"], environment: good.environment)
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.stderr.contains("OpenCTI 6.8.10"))
    #expect(requests(try state(good), "About").count == 1)
    #expect(requests(try state(good), "RegisterConnector").isEmpty)

    var refused = good
    refused.environment["OPENCTI_TOKEN"] = "not-a-token"
    #expect(try ToolRunner.run("cti-push", ["--check"], environment: refused.environment).status == 77)

    let old = try target(version: "6.2.4")
    let tooOld = try ToolRunner.run("cti-push", ["--check"], environment: old.environment)
    #expect(tooOld.status == 76)
    #expect(tooOld.stderr.contains("6.2.4 is too old"))
  }

  @Test func tlsIsVerifiedAndTakesTheSharedPlatformOptions() throws {
    var target = try target()
    target.environment["OPENCTI_URL"] = platform.tlsBaseURL
    let unverified = try ToolRunner.run("cti-push", ["--check"], environment: target.environment)
    #expect(unverified.status != 0, "a self-signed certificate is refused by default")
    let bundle = try ToolRunner.run("cti-push", ["--check", "--ca-bundle", platform.certificatePath], environment: target.environment)
    #expect(bundle.status == 0, "\(bundle.stderr)")
    let insecure = try ToolRunner.run(
      "cti-push", ["--check"], environment: target.environment.merging(["OPENCTI_SSL_VERIFY": "false"]) { $1 })
    #expect(insecure.status == 0, "\(insecure.stderr)")
  }

  @Test func dryRunPrintsTheRequestsAndSendsNothing() throws {
    let result = try ToolRunner.run(
      "cti-push", ["--dry-run", "--batch-size", "2"], stdin: Array((bundleLine([indicator(1), indicator(2), indicator(3)]) + "\n").utf8))
    #expect(result.status == 0, "\(result.stderr)")
    let lines = try result.stdoutLines.map { try JSONParser.parse($0) }
    #expect(lines.map { $0["operation"]?.stringValue } == [
      "About", "RegisterConnector", "WorkAdd", "StixBundlePush", "AddExpectations", "StixBundlePush", "WorkToProcessed",
    ])
    let bundle = try JSONParser.parse(try #require(lines[3]["request"]?["variables"]?["bundle"]?.stringValue))
    #expect(bundle["objects"]?.arrayValue?.count == 2)
  }

  @Test func anUnreachablePlatformRejectsEverythingAndExits69() throws {
    var target = Target()
    target.environment = ["OPENCTI_URL": "http://127.0.0.1:9", "OPENCTI_TOKEN": target.token, "CONNECTOR_ID": target.connectorId]
    let plain = try push(target, [indicator(1)])
    #expect(plain.status == 69)
    #expect(plain.stderr.contains("About"))

    let rejectPath = NSTemporaryDirectory() + FakePlatform.unique("rejects") + ".ndjson"
    defer { try? FileManager.default.removeItem(atPath: rejectPath) }
    let kept = try push(target, [indicator(1), bundleLine([indicator(2)])], ["--reject", rejectPath])
    #expect(kept.status == 69)
    let rejects = try String(contentsOfFile: rejectPath, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
    #expect(rejects.map { $0["line"]?.intValue } == [1, 2])
    #expect(rejects.allSatisfy { $0["error"]?.stringValue?.hasPrefix("not sent") == true })
    #expect(kept.stderr.contains("2 records, 0 bundles, 0 objects pushed, 2 rejected (2 in \(rejectPath)), 0 works opened"))
  }

  @Test func pingsWhileRunning() throws {
    let target = try target()
    try platform.injectGraphQLFault(token: target.token, operation: "StixBundlePush", count: 1, .delay(1.5))
    let result = try push(target, [indicator(1)], ["--ping-interval", "0.3"])
    #expect(result.status == 0, "\(result.stderr)")
    let pings = try state(target)["pings"]?.arrayValue ?? []
    #expect(pings.count >= 2)
    #expect(pings.allSatisfy { $0["id"]?.stringValue == target.connectorId && $0["state"] == "null" })
  }
}
