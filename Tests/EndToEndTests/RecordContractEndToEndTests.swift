import CTITestSupport
import Foundation
import Testing

@testable import CTICore

/// The kind × tool table of docs/records.md: one input holding every kind of line, run through
/// every tool that reads records, each outcome checked (applied, passed through, skipped
/// silently, or reported as bad with its line number).
@Suite struct RecordContractEndToEndTests {
  let platform = FakePlatform.shared

  static func id(_ type: String, _ n: Int) -> String { "\(type)--00000000-0000-4000-8000-00000000000\(n)" }

  static func object(_ type: String, _ n: Int) -> String {
    #"{"type":"\#(type)","spec_version":"2.1","id":"\#(id(type, n))","created":"2024-01-15T14:00:00Z","name":"\#(type) \#(n)"}"#
  }

  /// One line of each kind, numbered as in the table below.
  static let lines: [String] = [
    #"{"id":"1705327229123-0","event":"create","data":\#(object("indicator", 1))}"#,
    #"{"id":"1705327229124-0","event":"update","data":{"version":"4","type":"update","data":\#(object("indicator", 2)),"context":{"patch":[]}}}"#,
    #"{"id":"1705327229125-0","event":"delete","data":\#(object("indicator", 3))}"#,
    #"{"id":"1705327229126-0","event":"merge","data":\#(object("malware", 4)),"context":{"sources":[\#(object("malware", 5))]}}"#,
    #"{"id":"1705327229127-0","event":"sync","data":\#(object("indicator", 6))}"#,
    #"{"event":"connected","connectionId":"c1"}"#,
    #"{"id":"1705327229128-0","event":"heartbeat","data":"2024-01-15T15:16:08Z"}"#,
    #"{"event":"no-recover","data":"1705327229128-0"}"#,
    #"{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000009","objects":[\#(object("identity", 7))]}"#,
    #"{"bundle_type":"DIRECTORY_BUNDLE","applicant_id":null,"connector":{"id":"3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c","name":"Source","type":"EXTERNAL_IMPORT","scope":["identity"],"auto":false,"validate_before_import":false},"entities_types":[],"bundle":{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000010","objects":[\#(object("identity", 8))]},"update":false}"#,
    object("tool", 9),
    #"{"type":"cti-checkpoint","tool":"cti-stream","state":{"start_from":"1705327229128-0","recover_until":false}}"#,
    "{oops",
  ]
  static var input: [UInt8] { Array(lines.map { $0 + "\n" }.joined().utf8) }

  /// The line numbers a run reported as bad.
  static func reported(_ stderr: String) -> Set<Int> {
    Set(
      stderr.split(separator: "\n").compactMap { line -> Int? in
        guard line.contains("error: line ") else { return nil }
        return Int(line.components(separatedBy: "error: line ")[1].prefix { $0.isNumber })
      })
  }

  @Test func cti_backup() throws {
    let folder = try TemporaryFolder()
    try FileManager.default.createDirectory(atPath: folder.path + "/backup", withIntermediateDirectories: true)
    let state = folder.path + "/state.json"
    let result = try ToolRunner.run("cti-backup", ["--state", state, folder.path + "/backup"], stdin: Self.input)
    #expect(result.status == 1, "\(result.stderr)")
    #expect(Self.reported(result.stderr) == [13])
    let files = Set(
      (FileManager.default.enumerator(atPath: folder.path + "/backup/opencti_data")?.allObjects as? [String] ?? [])
        .filter { $0.hasSuffix(".json") }.map { String($0.split(separator: "/").last ?? "") })
    let written = ["indicator" : [1, 2], "malware": [4], "identity": [7, 8], "tool": [9]].flatMap { type, numbers in
      numbers.map { Self.id(type, $0) + ".json" }
    }
    #expect(files == Set(written), "create, update (nested form), merge target, bundle, envelope and object applied")
    #expect(folder.read("state.json") == #"{"start_from":"1705327229128-0","recover_until":false}"# + "\n")
    #expect(result.stderr.contains(", 4 ignored,"), "the unknown event and the three control events are counted, not reported")
  }

  @Test func cti_push() throws {
    let token = FakePlatform.unique("contract-token")
    try platform.createGraphQLPlatform(token: token, version: "6.8.10")
    let folder = try TemporaryFolder()
    let state = folder.path + "/state.json"
    let reject = folder.path + "/rejects.ndjson"
    let environment = ["OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token, "CONNECTOR_ID": UUID().uuidString.lowercased()]
    let result = try ToolRunner.run(
      "cti-push", ["--state", state, "--reject", reject], stdin: Self.input, environment: environment)
    #expect(result.status == 1, "\(result.stderr)")
    #expect(Self.reported(result.stderr) == [5, 13])
    let pushed = (try platform.graphQLState(token: token)["bundles"]?.arrayValue ?? [])
      .flatMap { $0["object_ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    #expect(
      Set(pushed) == [Self.id("indicator", 1), Self.id("indicator", 2), Self.id("malware", 4), Self.id("identity", 7), Self.id("identity", 8), Self.id("tool", 9)])
    #expect(result.stderr.contains("1 deletes skipped"))
    #expect(folder.read("state.json") == #"{"start_from":"1705327229128-0","recover_until":false}"# + "\n")
    let rejects = (folder.read("rejects.ndjson") ?? "").split(separator: "\n").map { try? JSONParser.parse(String($0)) }
    #expect(rejects.map { $0?["line"]?.intValue } == [5, 13])
  }

  @Test func cti_diode_export() throws {
    let folder = try TemporaryFolder()
    try FileManager.default.createDirectory(atPath: folder.path + "/out", withIntermediateDirectories: true)
    let state = folder.path + "/state.json"
    let result = try ToolRunner.run(
      "cti-diode", ["export", "--state", state, folder.path + "/out"], stdin: Self.input,
      environment: ["CONNECTOR_ID": "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c", "CONNECTOR_NAME": "Contract"])
    #expect(result.status == 1, "\(result.stderr)")
    #expect(Self.reported(result.stderr) == [5, 13])
    #expect(folder.names("out").filter { $0.hasSuffix(".json") }.count == 6, "create, update, merge, bundle, envelope, object")
    #expect(result.stderr.contains("1 delete event not exported"))
    #expect(folder.read("state.json") == #"{"start_from":"1705327229128-0","recover_until":false}"# + "\n")
  }

  @Test func cti_misp_reading_stdin() throws {
    let result = try ToolRunner.run("cti-misp", [], stdin: Self.input)
    #expect(result.status == 1, "\(result.stderr)")
    #expect(Self.reported(result.stderr) == [13])
    let passed = [0, 1, 2, 3, 4, 8, 9, 10, 11].map { Self.lines[$0] }
    #expect(result.stdoutLines == passed, "records pass through unchanged and in order; control events are dropped")
  }
}
