import Testing
@testable import CTICore

@Suite struct InputRecordTests {
  func registration(_ connector: String, applicant: String = "\"u1\"") throws -> (ConnectorRegistration, String?) {
    let text = "{\"bundle_type\":\"DIRECTORY_BUNDLE\",\"applicant_id\":\(applicant),\"connector\":\(connector),\"entities_types\":null,\"bundle\":{\"type\":\"bundle\",\"objects\":[{\"type\":\"x\"}]},\"update\":true}"
    let envelope = try DiodeFile(Array(text.utf8))
    return (try ConnectorRegistration(envelope.connector), envelope.applicantID)
  }

  @Test func envelopeConnectorsBecomeRegistrationsWithScopeStringOrList() throws {
    let (fromString, applicant) = try registration(#"{"id":"c1","name":"CVE","type":"EXTERNAL_IMPORT","scope":"identity,vulnerability","auto":false}"#)
    #expect(fromString == ConnectorRegistration(id: "c1", name: "CVE", type: .externalImport, scope: ["identity", "vulnerability"]))
    #expect(applicant == "u1")
    let (fromList, _) = try registration(#"{"id":"c1","name":"CVE","type":"INTERNAL_ENRICHMENT","scope":["identity","vulnerability"],"auto":true}"#)
    #expect(fromList.scope == ["identity", "vulnerability"])
    #expect(fromList.type == .internalEnrichment)
    #expect(fromList.auto)
    #expect(try registration(#"{"id":"c1","name":"CVE","type":"EXTERNAL_IMPORT"}"#, applicant: "null").1 == nil)
  }

  @Test func unknownConnectorTypesAreRefusedWithAReason() {
    #expect(throws: RecordError("envelope connector c1 has an unknown type 'IMPORT'")) {
      try registration(#"{"id":"c1","name":"CVE","type":"IMPORT"}"#)
    }
  }

  func action(_ object: RawObject) throws -> StreamEventAction {
    try StreamEventAction(StreamEvent(object))
  }

  @Test func streamEventsMapToActions() throws {
    let indicator = stixObject("indicator", 1)
    guard case .upsert(let object) = try action(raw("{\"id\":\"1-0\",\"event\":\"update\",\"type\":\"update\",\"data\":\(indicator),\"context\":{\"patch\":[]}}")) else {
      Issue.record("not an upsert"); return
    }
    #expect(String(decoding: object.bytes, as: UTF8.self) == indicator)
    guard case .delete(let id) = try action(raw("{\"id\":\"1-0\",\"event\":\"delete\",\"data\":\(indicator)}")) else {
      Issue.record("not a delete"); return
    }
    #expect(id == stixId("indicator", 1))
    let merge = "{\"id\":\"1-0\",\"event\":\"merge\",\"data\":\(indicator),\"context\":{\"sources\":[\(stixObject("indicator", 2)),\(stixObject("indicator", 3))]}}"
    guard case .merge(let target, let sources) = try action(raw(merge)) else { Issue.record("not a merge"); return }
    #expect(target.string("id") == stixId("indicator", 1))
    #expect(sources == [stixId("indicator", 2), stixId("indicator", 3)])
    #expect(try Record.kind(of: raw(#"{"id":"1-0","event":"heartbeat","data":{}}"#)) == .controlEvent)
    #expect(throws: RecordError.self) { try action(raw("{\"id\":\"1-0\",\"event\":\"merge\",\"data\":\(indicator)}")) }
    #expect(throws: RecordError.self) { try action(raw("{\"id\":\"1-0\",\"event\":\"sync\",\"data\":\(indicator)}")) }
    #expect(throws: RecordError.self) { try action(raw(#"{"id":"1-0","event":"create","data":{"name":"no id"}}"#)) }
  }

  @Test func theWholeSSEPayloadUnderDataIsReadToo() throws {
    let indicator = stixObject("indicator", 1)
    let nested = "{\"id\":\"1-0\",\"event\":\"merge\",\"data\":{\"version\":\"4\",\"type\":\"merge\",\"data\":\(indicator),\"context\":{\"sources\":[\(stixObject("indicator", 2))]}}}"
    guard case .merge(let target, let sources) = try action(raw(nested)) else { Issue.record("not a merge"); return }
    #expect(target.string("id") == stixId("indicator", 1))
    #expect(sources == [stixId("indicator", 2)])
  }
}
