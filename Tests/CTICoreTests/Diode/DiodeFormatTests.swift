import Foundation
import Testing

@testable import CTICore

/// Reads a fixture from Tests/CTICoreTests/Fixtures/diode.
func diodeFixture(_ name: String) throws -> [UInt8] {
  let url = try #require(Bundle.module.url(forResource: "Fixtures/diode/" + name, withExtension: nil))
  return try FileSystem.read(url.path)
}

let cveFixture = "common_vulnerabilities_and_exposures-20240610-143354-1718030034.123456.json"
let labFixture = "lab_feed-20240611-090000-1718096400.5.json"

@Suite struct DiodeFileTests {
  @Test func readsPyctiDirectoryFile() throws {
    let envelope = try DiodeFile(try diodeFixture(cveFixture))
    #expect(envelope.connector.id == "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c")
    #expect(envelope.connector.name == "Common Vulnerabilities and Exposures")
    #expect(envelope.connector.type == "EXTERNAL_IMPORT")
    #expect(envelope.connector.scope == ["identity", "vulnerability"])
    #expect(envelope.applicantID == "88ec0c6a-13ce-5e39-b486-354fe4a7084f")
    #expect(envelope.update)
    #expect(envelope.objectCount == 2)
    let bundle = try JSONParser.parse(Array(envelope.bundleBytes))
    #expect(bundle["objects"]?.arrayValue?[1]["description"]?.stringValue == "Café")
  }

  @Test func readsScopeListNullApplicantAndSurrogatePairs() throws {
    let envelope = try DiodeFile(try diodeFixture(labFixture))
    #expect(envelope.connector.scope == ["indicator", "report"])
    #expect(envelope.connector.auto)
    #expect(envelope.connector.validateBeforeImport)
    #expect(envelope.applicantID == nil)
    #expect(!envelope.update)
    let bundle = try JSONParser.parse(Array(envelope.bundleBytes))
    #expect(bundle["objects"]?.arrayValue?[0]["name"]?.stringValue == "Lock 🔒 “quoted” \\ \"x\"")
  }

  @Test func lineIsTheFileBytes() throws {
    let bytes = try diodeFixture(cveFixture)
    #expect(try DiodeFile(bytes).line() == bytes)
  }

  @Test func prettyPrintedFileBecomesOneLine() throws {
    let text = "{\n  \"connector\": {\"id\": \"a\", \"name\": \"n\", \"type\": \"EXTERNAL_IMPORT\"},\r\n  \"applicant_id\": null,\n"
      + "  \"bundle\": {\"type\": \"bundle\", \"objects\": [\n {\"type\": \"x\"}\n ]}\n}\n"
    let line = try DiodeFile(Array(text.utf8)).line()
    #expect(!line.contains(0x0A) && !line.contains(0x0D))
    #expect(try JSONParser.parse(line) == JSONParser.parse(text))
  }

  @Test func replacesApplicant() throws {
    let envelope = try DiodeFile(try diodeFixture(cveFixture))
    let mapped = try JSONParser.parse(envelope.line(replacingApplicant: .some("target-user")))
    #expect(mapped["applicant_id"]?.stringValue == "target-user")
    let unmapped = try JSONParser.parse(envelope.line(replacingApplicant: .some(nil)))
    #expect(unmapped["applicant_id"] == .null)
    #expect(unmapped["bundle"] == mapped["bundle"])
  }

  @Test(arguments: [
    ("not json", "not a JSON object", false),
    ("[1, 2]", "not a JSON object", false),
    ("{\"connector\": {\"id\": \"a\", \"name\": \"n\"", "not valid JSON", true),
    ("{\"applicant_id\": null, \"bundle\": {\"objects\": [1]}}", "no \"connector\" key", false),
    ("{\"connector\": \"x\", \"applicant_id\": null, \"bundle\": {\"objects\": [1]}}", "\"connector\" is not an object", false),
    ("{\"connector\": {\"name\": \"n\", \"type\": \"t\"}, \"applicant_id\": null, \"bundle\": {\"objects\": [1]}}",
     "connector.id is missing", false),
    ("{\"connector\": {\"id\": \"a\", \"name\": \"n\", \"type\": 3}, \"applicant_id\": null, \"bundle\": {\"objects\": [1]}}",
     "connector.type is missing", false),
    ("{\"connector\": {\"id\": \"a\", \"name\": \"n\", \"type\": \"t\"}, \"bundle\": {\"objects\": [1]}}", "no \"applicant_id\" key", false),
    ("{\"connector\": {\"id\": \"a\", \"name\": \"n\", \"type\": \"t\"}, \"applicant_id\": null}", "no \"bundle\" key", false),
    ("{\"connector\": {\"id\": \"a\", \"name\": \"n\", \"type\": \"t\"}, \"applicant_id\": null, \"bundle\": \"{}\"}",
     "\"bundle\" is not an object", false),
    ("{\"connector\": {\"id\": \"a\", \"name\": \"n\", \"type\": \"t\"}, \"applicant_id\": null, \"bundle\": {\"objects\": []}}",
     "bundle.objects is empty", false),
    ("{\"connector\": {\"id\": \"a\", \"name\": \"n\", \"type\": \"t\"}, \"applicant_id\": null, \"bundle\": {\"type\": \"bundle\"}}",
     "bundle.objects is missing", false),
    ("{\"connector\": {\"id\": \"a\", \"name\": \"n\", \"type\": \"t\", \"scope\": 5}, \"applicant_id\": null, \"bundle\": {\"objects\": [1]}}",
     "connector.scope is neither", false),
  ])
  func rejectsInvalidFiles(text: String, reason: String, truncated: Bool) {
    do {
      _ = try DiodeFile(Array(text.utf8))
      Issue.record("accepted: \(text)")
    } catch {
      #expect(error.reason.hasPrefix(reason), "\(error.reason)")
      #expect(error.truncated == truncated)
    }
  }

  @Test func rejectsInvalidUTF8() {
    var bytes = Array("{\"connector\": {\"id\": \"a\", \"name\": \"n".utf8)
    bytes.append(0xFF)
    bytes += Array("\", \"type\": \"t\"}, \"applicant_id\": null, \"bundle\": {\"objects\": [1]}}".utf8)
    #expect(throws: DiodeValidationError.self) { try DiodeFile(bytes) }
  }

  @Test func countsArrayElementsWithoutParsing() {
    for (text, count) in [("[]", 0), ("[ ]", 0), ("[1]", 1), ("[{\"a\": [1, 2]}, \"x,y\", [3]]", 3), ("[\"\\\"\", 2]", 2)] {
      let bytes = Array(text.utf8)
      #expect(DiodeFile.countElements(bytes, in: 0..<bytes.count) == count, "\(text)")
    }
  }
}

@Suite struct DiodeFileFormatTests {
  @Test func namePrefixFollowsPycti() {
    #expect(DiodeFileFormat.namePrefix(connectorName: "Common Vulnerabilities and Exposures") == "common_vulnerabilities_and_exposures")
    #expect(DiodeFileFormat.namePrefix(connectorName: "MISP Feed") == "misp_feed")
    // pycti would write into a sub-folder here; we keep the file in place.
    #expect(DiodeFileFormat.namePrefix(connectorName: "a/b") == "a_b")
    #expect(DiodeFileFormat.namePrefix(connectorName: "..hidden") == "hidden")
  }

  @Test func pythonFloatText() {
    #expect(DiodeFileFormat.pythonFloat(1718030034.0) == "1718030034.0")
    #expect(DiodeFileFormat.pythonFloat(1718030034.123456) == "1718030034.123456")
    #expect(DiodeFileFormat.pythonFloat(1718030034.5) == "1718030034.5")
  }

  @Test func fileNameShape() throws {
    let name = DiodeFileFormat.fileName(connectorName: "Lab Feed", time: 1718096400.5)
    let pattern = try Regex("^lab_feed-[0-9]{8}-[0-9]{6}-1718096400\\.5\\.json$")
    #expect(name.wholeMatch(of: pattern) != nil, "\(name)")
  }

  @Test func contentMatchesPyctiFixture() throws {
    // The CVE fixture rebuilt from its parts gives the same bytes as pycti's json.dumps.
    let original = try diodeFixture(cveFixture)
    let parsed = try JSONParser.parse(original)
    let connector = DiodeConnector(
      id: "3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c", name: "Common Vulnerabilities and Exposures",
      scope: ["identity", "vulnerability"])
    let content = DiodeFileFormat.content(
      bundle: try #require(parsed["bundle"]), connector: DiodeFileFormat.connectorValue(connector),
      applicantID: "88ec0c6a-13ce-5e39-b486-354fe4a7084f", bundleType: .directory, update: true)
    #expect(content == original)
  }

  @Test func pythonDumpsEscaping() {
    let value: JSONValue = ["s": "é 🔒 \u{7F} \t\n\"\\ / \u{1}", "n": [.number("1.5"), true, nil], "o": [:], "a": []]
    let text = String(decoding: JSONWriter.pythonDumps(value), as: UTF8.self)
    #expect(text == #"{"s": "\u00e9 \ud83d\udd12 \u007f \t\n\"\\ / \u0001", "n": [1.5, true, null], "o": {}, "a": []}"#)
  }
}
