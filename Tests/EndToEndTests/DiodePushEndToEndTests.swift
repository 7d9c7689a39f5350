import CTICore
import CTITestSupport
import Foundation
import Testing

/// `cti-diode import --push` run as built against the fake platform's /graphql: what each file
/// becomes on the platform (connector, work, bundle, impersonated user), and what stays on disk
/// when a push fails.
@Suite struct DiodePushEndToEndTests {
  let platform = FakePlatform.shared
  static let tokenUser = "0f5e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
  static let cve = DiodeConnector(
    id: "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c", name: "Common Vulnerabilities and Exposures", scope: ["identity", "vulnerability"])
  static let lab = DiodeConnector(id: "7b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", name: "Lab Feed", scope: ["indicator"])

  /// A fresh simulated platform, and the environment pointing cti-diode at it.
  struct Target {
    let token = FakePlatform.unique("diode-push-token")
    var environment: [String: String] = [:]
  }

  func target() throws -> Target {
    var target = Target()
    try platform.createGraphQLPlatform(token: target.token, userId: Self.tokenUser)
    target.environment = ["OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": target.token]
    return target
  }

  func state(_ target: Target) throws -> JSONValue { try platform.graphQLState(token: target.token) }

  func requests(_ state: JSONValue, _ operation: String) -> [JSONValue] {
    (state["requests"]?.arrayValue ?? []).filter { $0["operation"]?.stringValue == operation }
  }

  func works(_ state: JSONValue) -> [String: JSONValue] {
    Dictionary(uniqueKeysWithValues: state["works"]?.objectValue?.members.map { ($0.key, $0.value) } ?? [])
  }

  func bundles(_ state: JSONValue) -> [JSONValue] { state["bundles"]?.arrayValue ?? [] }

  func objectId(_ number: Int) -> String {
    let digits = String(number)
    return "identity--00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
  }

  /// A pycti-format diode file holding the identities `numbers`.
  func diodeFile(_ connector: DiodeConnector, applicant: String?, _ numbers: [Int]) -> [UInt8] {
    let objects: [JSONValue] = numbers.map { ["type": "identity", "spec_version": "2.1", "id": .string(objectId($0)), "name": .string("n\($0)")] }
    let bundle: JSONValue = ["type": "bundle", "id": .string("bundle--" + UUID().uuidString.lowercased()), "objects": .array(objects)]
    return DiodeFileFormat.content(
      bundle: bundle, connector: DiodeFileFormat.connectorValue(connector), applicantID: applicant, bundleType: .directory)
  }

  func write(_ folder: TemporaryFolder, _ name: String, _ bytes: [UInt8], modified: Double) throws {
    try Data(bytes).write(to: folder.url.appendingPathComponent(name))
    DiodeDirectoryEndToEndTests.setModified(folder.url.appendingPathComponent(name).path, modified)
  }

  func importPush(_ target: Target, _ arguments: [String]) throws -> ToolResult {
    let result = try ToolRunner.run("cti-diode", ["import", "--push"] + arguments, environment: target.environment)
    #expect(!result.stderr.contains(target.token), "the token must never be logged")
    #expect(result.stdout.isEmpty, "with --push nothing goes to stdout")
    return result
  }

  @Test func eachFileIsPushedAsItsConnectorWithItsMappedApplicantInAWorkOfItsOwn() throws {
    let target = try target()
    let folder = try TemporaryFolder()
    let journal = try TemporaryFolder()
    try write(folder, "a.json", diodeFile(Self.cve, applicant: "src-analyst", [1, 2]), modified: 1_700_000_000)
    try write(folder, "b.json", diodeFile(Self.cve, applicant: "someone-else", [3, 4]), modified: 1_700_000_001)
    try write(folder, "c.json", diodeFile(Self.lab, applicant: nil, [5]), modified: 1_700_000_002)
    let result = try importPush(
      target, [folder.path, "--state", journal.path + "/state", "--applicant-mappings", "src-analyst:dst-analyst,broken"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("applicant mapping 'broken'"))
    #expect(result.stderr.contains("applicant someone-else is not in the applicant mapping: pushing as the token's user"))
    #expect(result.stderr.contains("imported 3 files; pushed 3 files (3 bundles, 5 objects) in 3 works"))
    #expect(folder.names(".").isEmpty, "pushed files are deleted (delete-after-import on by default)")

    let state = try state(target)
    let connectors = state["connectors"]?.objectValue
    #expect(connectors?.members.map(\.key).sorted() == [Self.cve.id, Self.lab.id], "only the files' connectors")
    #expect(state["connectors"]?[Self.cve.id]?["name"] == "Common Vulnerabilities and Exposures")
    #expect(state["connectors"]?[Self.cve.id]?["scope"] == ["identity", "vulnerability"])
    #expect(state["connectors"]?[Self.cve.id]?["registrations"] == 1, "registered once per run")
    #expect(state["connectors"]?[Self.lab.id]?["scope"] == ["indicator"])

    let bundles = bundles(state)
    #expect(bundles.map { $0["object_ids"] } == [
      .array([.string(objectId(1)), .string(objectId(2))]), .array([.string(objectId(3)), .string(objectId(4))]),
      .array([.string(objectId(5))]),
    ])
    #expect(bundles.map { $0["connector_id"]?.stringValue } == [Self.cve.id, Self.cve.id, Self.lab.id])
    #expect(bundles.map { $0["applicant"]?.stringValue } == ["dst-analyst", Self.tokenUser, Self.tokenUser])
    #expect(requests(state, "StixBundlePush").map { $0["applicant"]?.stringValue } == ["dst-analyst", nil, nil])

    let works = works(state)
    #expect(works.count == 3)
    let workIds = bundles.compactMap { $0["work_id"]?.stringValue }
    #expect(Set(workIds).count == 3, "one work per file")
    for (index, workId) in workIds.enumerated() {
      let work = works[workId]
      #expect(work?["connector_id"] == bundles[index]["connector_id"])
      #expect(work?["closed"] == true)
      #expect(work?["in_error"] == false)
      #expect(work?["message"] == "Connector successfully run")
      #expect(work?["status"] == "complete")
      #expect(work?["bundles"] == 1)
    }
    // The one-object file needs its expectation, the others get theirs from the worker's split.
    #expect(requests(state, "AddExpectations").map { $0["variables"]?["id"]?.stringValue } == [workIds[2]])
  }

  @Test func aFileWhosePushFailsStaysUnrecordedAndTheRerunPushesOnlyIt() throws {
    let target = try target()
    let folder = try TemporaryFolder()
    let journal = try TemporaryFolder()
    try write(folder, "a.json", diodeFile(Self.cve, applicant: nil, [1, 2]), modified: 1_700_000_000)
    try write(folder, "b.json", diodeFile(Self.cve, applicant: nil, [3, 4]), modified: 1_700_000_001)
    try write(folder, "c.json", diodeFile(Self.lab, applicant: nil, [5, 6]), modified: 1_700_000_002)
    try platform.injectGraphQLFault(token: target.token, operation: "StixBundlePush", skip: 1, count: 1, .error("Invalid bundle"))
    let arguments = [folder.path, "--state", journal.path + "/state"]
    let failed = try importPush(target, arguments)
    #expect(failed.status == 1, "\(failed.stderr)")
    #expect(failed.stderr.contains("b.json: push failed, the file stays for the next run"))
    #expect(failed.stderr.contains("Invalid bundle"))
    #expect(failed.stderr.contains("imported 2 files (1 not pushed, left in place)"))
    #expect(folder.names(".") == ["b.json"], "the files pushed are deleted, the failed one stays")

    var state = try state(target)
    #expect(bundles(state).map { $0["object_ids"]?.arrayValue?.first?.stringValue } == [objectId(1), objectId(5)])
    let failedWork = try #require(works(state).values.first { $0["in_error"] == true })
    #expect(failedWork["closed"] == true, "the failed file's work is closed, in error")
    #expect(failedWork["connector_id"]?.stringValue == Self.cve.id)
    #expect(works(state).values.filter { $0["in_error"] == false }.count == 2)

    let rerun = try importPush(target, arguments)
    #expect(rerun.status == 0, "\(rerun.stderr)")
    #expect(folder.names(".").isEmpty)
    state = try self.state(target)
    #expect(requests(state, "StixBundlePush").count == 4, "a, b (refused), c, then b once more")
    #expect(bundles(state).map { $0["object_ids"]?.arrayValue?.first?.stringValue } == [objectId(1), objectId(5), objectId(3)])
    #expect(works(state).count == 4)
  }

  @Test func aFailingPlatformLeavesEveryUnpushedFileAndDeletesNothing() throws {
    let target = try target()
    let folder = try TemporaryFolder()
    let journal = try TemporaryFolder()
    try write(folder, "a.json", diodeFile(Self.cve, applicant: nil, [1, 2]), modified: 1_700_000_000)
    try write(folder, "b.json", diodeFile(Self.lab, applicant: nil, [3, 4]), modified: 1_700_000_001)
    // 500 on every attempt of the first push: the transport's retries run out.
    try platform.injectGraphQLFault(token: target.token, operation: "StixBundlePush", count: 4, .status(500))
    let arguments = [folder.path, "--state", journal.path + "/state", "--no-delete-after-import", "--retention", "0"]
    let failed = try importPush(target, arguments)
    #expect(failed.status != 0)
    #expect(failed.stderr.contains("a.json: push failed"))
    #expect(failed.stderr.contains("b.json: push failed"), "the next file is reported as not sent")
    #expect(folder.names(".") == ["a.json", "b.json"])
    var state = try state(target)
    #expect(bundles(state).isEmpty)
    #expect(requests(state, "StixBundlePush").count == 4, "after the platform failed, nothing more is sent")

    let rerun = try importPush(target, arguments)
    #expect(rerun.status == 0, "\(rerun.stderr)")
    state = try self.state(target)
    #expect(bundles(state).map { $0["object_ids"]?.arrayValue?.first?.stringValue } == [objectId(1), objectId(3)])
    #expect(folder.names(".") == ["a.json", "b.json"], "kept as asked")

    // Recorded now: a third run pushes nothing again.
    let third = try importPush(target, arguments)
    #expect(third.status == 0, "\(third.stderr)")
    #expect(third.stderr.contains("2 already imported"))
    #expect(bundles(try self.state(target)).count == 2)
  }

  @Test func anUnreachablePlatformStopsTheRunBeforeAnyFileIsTouched() throws {
    let folder = try TemporaryFolder()
    try write(folder, "a.json", diodeFile(Self.cve, applicant: nil, [1, 2]), modified: 1_700_000_000)
    // Port 9 (discard) on loopback: nothing listens there.
    let result = try ToolRunner.run(
      "cti-diode", ["import", "--push", folder.path], environment: ["OPENCTI_URL": "http://127.0.0.1:9", "OPENCTI_TOKEN": "t"])
    #expect(result.status == 69, "\(result.stderr)")
    #expect(folder.names(".") == ["a.json"])
  }

  @Test func pollingTriesAFailedPlatformAgainOnTheNextPass() throws {
    let target = try target()
    let folder = try TemporaryFolder()
    try write(folder, "a.json", diodeFile(Self.cve, applicant: nil, [1, 2]), modified: 1_700_000_000)
    try write(folder, "b.json", diodeFile(Self.lab, applicant: nil, [3, 4]), modified: 1_700_000_001)
    try platform.injectGraphQLFault(token: target.token, operation: "StixBundlePush", count: 4, .status(503))
    let running = try ToolRunner.start(
      "cti-diode", ["import", "--push", folder.path, "--interval", "PT0.5S"], environment: target.environment)
    let pushedBoth = running.waitUntil(timeout: 30) { _ in
      ((try? self.state(target)).map { self.bundles($0).count } ?? 0) >= 2
    }
    #expect(pushedBoth)
    #expect(running.waitUntil(timeout: 10) { _ in folder.names(".").isEmpty })
    running.signal(SIGTERM)
    let result = running.wait(timeout: 10)
    #expect(result.status != 0, "a pass had failures: \(result.stderr)")
    #expect(result.stderr.contains("a.json: push failed"))
    let state = try state(target)
    #expect(bundles(state).map { $0["object_ids"]?.arrayValue?.first?.stringValue } == [objectId(1), objectId(3)])
    #expect(requests(state, "StixBundlePush").count == 6, "4 failed attempts for a, then a and b once")
    #expect(state["connectors"]?[Self.cve.id]?["registrations"] == 1, "still registered once per run")
  }

  @Test func aFileThatCanNeverBePushedIsQuarantinedNotRetried() throws {
    let target = try target()
    let folder = try TemporaryFolder()
    var bogus = Self.lab
    bogus.type = "NOT_A_CONNECTOR_TYPE"
    try write(folder, "bogus.json", diodeFile(bogus, applicant: nil, [1, 2]), modified: 1_700_000_000)
    try write(folder, "good.json", diodeFile(Self.cve, applicant: nil, [3, 4]), modified: 1_700_000_001)
    let result = try importPush(target, [folder.path])
    #expect(result.status == 1, "\(result.stderr)")
    #expect(folder.names(".") == [".rejected"])
    #expect(folder.names(".rejected") == ["bogus.json", "bogus.json.reason"])
    #expect(folder.read(".rejected/bogus.json.reason")?.contains("unknown type 'NOT_A_CONNECTOR_TYPE'") == true)
    let state = try state(target)
    #expect(bundles(state).map { $0["connector_id"]?.stringValue } == [Self.cve.id])
    #expect(state["connectors"]?[bogus.id] == nil, "never registered")
  }

  @Test func pushNeedsAToken() throws {
    let folder = try TemporaryFolder()
    let result = try ToolRunner.run("cti-diode", ["import", "--push", folder.path], environment: ["OPENCTI_URL": platform.baseURL])
    #expect(result.status == 78)
    #expect(result.stderr.contains("--push needs an API token"))
  }

  @Test func theEnvironmentTurnsPushOnAsInADockerComposeBlock() throws {
    let target = try target()
    let folder = try TemporaryFolder()
    try write(folder, "a.json", diodeFile(Self.cve, applicant: "src", [1, 2]), modified: 1_700_000_000)
    var environment = target.environment
    environment["CTI_DIODE_IMPORT_PUSH"] = "true"
    environment["DIODE_IMPORT_GET_FROM_DIRECTORY_PATH"] = folder.path
    environment["DIODE_IMPORT_APPLICANT_MAPPINGS"] = "src:dst"
    let result = try ToolRunner.run("cti-diode", ["import"], environment: environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.isEmpty)
    #expect(bundles(try state(target)).map { $0["applicant"]?.stringValue } == ["dst"])
  }
}
