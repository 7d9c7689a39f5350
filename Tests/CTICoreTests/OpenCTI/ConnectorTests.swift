import Testing
@testable import CTICore

@Suite struct ConnectorTests {
  @Test func remoteResetIsDetected() {
    #expect(!ConnectorState.wasReset(sent: nil, returned: "null"))
    #expect(!ConnectorState.wasReset(sent: nil, returned: nil))
    #expect(!ConnectorState.wasReset(sent: nil, returned: ""))
    #expect(!ConnectorState.wasReset(sent: ["start_from": "1-0"], returned: "{\"start_from\":\"1-0\"}"))
    #expect(!ConnectorState.wasReset(sent: ["start_from": "1-0"], returned: "{ \"start_from\" : \"1-0\" }"))
    #expect(ConnectorState.wasReset(sent: ["start_from": "1-0"], returned: ""))
    #expect(ConnectorState.wasReset(sent: ["start_from": "1-0"], returned: "null"))
    #expect(ConnectorState.wasReset(sent: nil, returned: "{\"start_from\":\"2-0\"}"))
  }

  @Test func versionsCompareNumerically() throws {
    let minimum = PlatformVersion.bundlePushMinimum
    #expect(try #require(PlatformVersion("6.10.0")) > minimum)
    #expect(try #require(PlatformVersion("6.3.0")) == minimum)
    #expect(try #require(PlatformVersion("6.2.21")) < minimum)
    #expect(try #require(PlatformVersion("7.261026.0")) > minimum)
    #expect(try #require(PlatformVersion("6.9.0-rc1")).parts == [6, 9, 0])
    #expect(PlatformVersion("dev") == nil)
  }

  @Test func typesAndScopes() {
    #expect(ConnectorType(parsing: "external_import") == .externalImport)
    #expect(ConnectorType(parsing: "STREAM") == .stream)
    #expect(ConnectorType(parsing: "IMPORT") == nil)
    #expect(ConnectorRegistration.scope(from: " identity, ,report ") == ["identity", "report"])
  }

  @Test func applicantMappingWarnsAboutBadEntries() {
    var warnings: [String] = []
    let map = ApplicantMap(parsing: "a:b, c : d ,,bad,e:,:f,g:h:i", warnings: &warnings)
    #expect(map.mappings == ["a": "b", "c": "d"])
    #expect(warnings.count == 4)
    #expect(warnings.first?.contains("'bad'") == true)
    #expect(map["x"] == nil)
  }
}

@Suite struct InputRecordTests {
  func envelope(_ connector: String, applicant: String = "\"u1\"") throws -> DiodeEnvelope {
    try DiodeEnvelope(raw("{\"bundle_type\":\"DIRECTORY_BUNDLE\",\"applicant_id\":\(applicant),\"connector\":\(connector),\"entities_types\":null,\"bundle\":{\"type\":\"bundle\",\"objects\":[]},\"update\":true}"))
  }

  @Test func envelopeScopeMayBeStringOrList() throws {
    let fromString = try envelope(#"{"id":"c1","name":"CVE","type":"EXTERNAL_IMPORT","scope":"identity,vulnerability","auto":false}"#)
    #expect(fromString.connector == ConnectorRegistration(id: "c1", name: "CVE", type: .externalImport, scope: ["identity", "vulnerability"]))
    #expect(fromString.applicantId == "u1")
    #expect(fromString.update)
    let fromList = try envelope(#"{"id":"c1","name":"CVE","type":"INTERNAL_ENRICHMENT","scope":["identity","vulnerability"],"auto":true}"#)
    #expect(fromList.connector.scope == ["identity", "vulnerability"])
    #expect(fromList.connector.type == .internalEnrichment)
    #expect(fromList.connector.auto)
    #expect(try envelope(#"{"id":"c1","name":"CVE"}"#, applicant: "null").applicantId == nil)
  }

  @Test func badEnvelopesAreRefusedWithAReason() {
    #expect(throws: RecordProblem("envelope connector c1 has an unknown type 'IMPORT'")) {
      try envelope(#"{"id":"c1","name":"CVE","type":"IMPORT"}"#)
    }
    #expect(throws: RecordProblem("envelope connector has no id")) { try envelope(#"{"name":"CVE"}"#) }
    #expect(throws: RecordProblem.self) { try envelope(#"{"id":"c1","name":"CVE","scope":3}"#) }
  }

  @Test func streamEventsMapToActions() throws {
    let indicator = stixObject("indicator", 1)
    guard case .upsert(let object) = try StreamEventAction(raw("{\"id\":\"1-0\",\"event\":\"update\",\"data\":{\"type\":\"update\",\"data\":\(indicator)}}")) else {
      Issue.record("not an upsert"); return
    }
    #expect(String(decoding: object.bytes, as: UTF8.self) == indicator)
    guard case .delete(let id) = try StreamEventAction(raw("{\"id\":\"1-0\",\"event\":\"delete\",\"data\":{\"data\":\(indicator)}}")) else {
      Issue.record("not a delete"); return
    }
    #expect(id == stixId("indicator", 1))
    let merge = "{\"id\":\"1-0\",\"event\":\"merge\",\"data\":{\"data\":\(indicator),\"context\":{\"sources\":[\(stixObject("indicator", 2)),\(stixObject("indicator", 3))]}}}"
    guard case .merge(let target, let sources) = try StreamEventAction(raw(merge)) else { Issue.record("not a merge"); return }
    #expect(target == stixId("indicator", 1))
    #expect(sources == [stixId("indicator", 2), stixId("indicator", 3)])
    guard case .control("heartbeat") = try StreamEventAction(raw(#"{"id":"1-0","event":"heartbeat","data":{}}"#)) else {
      Issue.record("not control"); return
    }
    #expect(throws: RecordProblem.self) { try StreamEventAction(raw("{\"id\":\"1-0\",\"event\":\"merge\",\"data\":{\"data\":\(indicator)}}")) }
    #expect(throws: RecordProblem.self) { try StreamEventAction(raw("{\"id\":\"1-0\",\"event\":\"sync\",\"data\":{\"data\":\(indicator)}}")) }
  }
}
