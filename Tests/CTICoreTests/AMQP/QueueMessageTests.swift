import Testing
@testable import CTICore

@Suite struct QueueMessageTests {
  @Test func bodyHasPyctiMembersInPyctiOrder() throws {
    let bundle = Array(#"{"type":"bundle","objects":[{"name":"é"}]}"#.utf8)
    let message = QueueMessage(applicantId: "user-1", actionSequence: 3, workId: "work_1")
    let body = message.body(bundle: bundle)
    let expectedContent = Base64.encode(bundle)
    #expect(
      String(decoding: body, as: UTF8.self)
        == #"{"bundle_type":"QUEUE_BUNDLE","applicant_id":"user-1","action_sequence":3,"entities_types":[],"content":""#
        + expectedContent + #"","update":false,"draft_id":null,"work_id":"work_1"}"#)
    let parsed = try JSONParser.parse(body)
    #expect(Base64.decode(Array((parsed["content"]?.stringValue ?? "").utf8)) == bundle)
  }

  @Test func workIdIsLeftOutWithoutAWorkAndNoSplitGoesBeforeIt() throws {
    let bare = try JSONParser.parse(QueueMessage(applicantId: nil, actionSequence: 1, workId: nil).body(bundle: Array("{}".utf8)))
    #expect(bare.objectValue?.keys == ["bundle_type", "applicant_id", "action_sequence", "entities_types", "content", "update", "draft_id"])
    #expect(bare["applicant_id"] == .null)
    let full = try JSONParser.parse(
      QueueMessage(applicantId: "u", actionSequence: 1, workId: "w", entitiesTypes: ["Report"], update: true, draftId: "d", noSplit: true)
        .body(bundle: Array("{}".utf8)))
    #expect(full.objectValue?.keys == ["bundle_type", "applicant_id", "action_sequence", "entities_types", "content", "update", "draft_id", "no_split", "work_id"])
    #expect(full["entities_types"] == ["Report"])
    #expect(full["update"] == true && full["draft_id"] == "d" && full["no_split"] == true)
  }

  @Test func base64IsPythonsB64encode() {
    // RFC 4648 test vectors (what base64.b64encode gives).
    let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
    for (plain, encoded) in vectors {
      #expect(Base64.encode(Array(plain.utf8)) == encoded)
      #expect(Base64.decode(Array(encoded.utf8)) == Array(plain.utf8))
    }
    let long = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    #expect(Base64.decode(Array(Base64.encode(long).utf8)) == long)
    #expect(Base64.decode(Array("Zm9=v".utf8)) == nil)
    #expect(Base64.decode(Array("Zm9".utf8)) == nil)
  }
}
