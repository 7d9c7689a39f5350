import Testing
@testable import CTICore

/// pycti's splitter on hand-built bundles. The expected bundles are what pycti 6.8.10's
/// `OpenCTIStix2Splitter().split_bundle_with_expectations` returns for the same input (compared
/// as JSON values: pycti writes `json.dumps` text with spaces and \u escapes).
@Suite struct BundleSplitterTests {
  func bundle(_ id: String, _ objects: [String]) throws -> RawObject {
    try raw("{\"type\":\"bundle\",\"id\":\"\(id)\",\"objects\":[\(objects.joined(separator: ","))]}")
  }

  func bundles(_ split: SplitBundle) throws -> [JSONValue] {
    try (0..<split.count).map { try JSONParser.parse(split.bundle($0)) }
  }

  func expected(_ id: String, _ seq: Int, _ object: String) throws -> JSONValue {
    try JSONParser.parse("{\"type\":\"bundle\",\"id\":\"\(id)\",\"spec_version\":\"2.1\",\"x_opencti_seq\":\(seq),\"objects\":[\(object)]}")
  }

  @Test func oneObjectPerBundleInWalkThenDependencyOrder() throws {
    let split = try SplitBundle(
      bundle("bundle--ordering", [
        stixObject("report", 1, "\"object_refs\":[\"\(stixId("indicator", 1))\",\"\(stixId("relationship", 1))\"]"),
        stixObject("relationship", 1, "\"source_ref\":\"\(stixId("indicator", 1))\",\"target_ref\":\"\(stixId("malware", 1))\""),
        stixObject("indicator", 1, "\"created_by_ref\":\"\(stixId("identity", 1))\""),
        stixObject("malware", 1),
        stixObject("identity", 1),
      ]))
    #expect(split.expectations == 5)
    #expect(split.incompatible.isEmpty)
    // The identity finishes its walk first (reached from the report through the indicator), so
    // it comes before the malware although both count 1.
    #expect((0..<5).map(split.objectId) == [stixId("identity", 1), stixId("malware", 1), stixId("indicator", 1), stixId("relationship", 1), stixId("report", 1)])
    #expect((0..<5).map(split.sequence) == [1, 1, 2, 4, 7])
    let id = "bundle--ordering"
    #expect(
      try bundles(split) == [
        expected(id, 1, stixObject("identity", 1, "\"nb_deps\":1")),
        expected(id, 1, stixObject("malware", 1, "\"nb_deps\":1")),
        expected(id, 2, stixObject("indicator", 1, "\"created_by_ref\":\"\(stixId("identity", 1))\",\"nb_deps\":2")),
        expected(id, 4, stixObject("relationship", 1, "\"source_ref\":\"\(stixId("indicator", 1))\",\"target_ref\":\"\(stixId("malware", 1))\",\"nb_deps\":4")),
        expected(id, 7, stixObject("report", 1, "\"object_refs\":[\"\(stixId("indicator", 1))\",\"\(stixId("relationship", 1))\"],\"nb_deps\":7")),
      ])
    // The bundle keys in pycti's order.
    #expect(try JSONParser.parse(split.bundle(0)).objectValue?.keys == ["type", "id", "spec_version", "x_opencti_seq", "objects"])
  }

  @Test func referencesArePrunedAsPyctiPrunesThem() throws {
    let split = try SplitBundle(
      bundle("bundle--pruning", [
        stixObject(
          "note", 1,
          "\"object_refs\":[\"\(stixId("note", 2))\",\"\(stixId("note", 1))\",\"\(stixId("x-foo", 1))\",\"\(stixId("identity", 9))\"],\"created_by_ref\":\"\(stixId("x-foo", 2))\""),
        stixObject("note", 2, "\"object_refs\":[\"\(stixId("note", 1))\"]"),
      ]))
    // note 2 already is a dependency of note 1, so its reference back is dropped; note 1 loses
    // itself and the unsupported x-foo, keeps the missing identity (which counts 0), and its
    // created_by_ref to an unsupported type becomes null.
    #expect(
      try bundles(split) == [
        expected("bundle--pruning", 1, stixObject("note", 2, "\"object_refs\":[],\"nb_deps\":1")),
        expected(
          "bundle--pruning", 2,
          stixObject("note", 1, "\"object_refs\":[\"\(stixId("note", 2))\",\"\(stixId("identity", 9))\"],\"created_by_ref\":null,\"nb_deps\":2")),
      ])
  }

  @Test func externalReferencesAndKillChainPhasesAreDeduplicatedOtherBytesKept() throws {
    let object = #"{"type":"attack-pattern","nb_deps":42,"id":"attack-pattern--00000000-0000-4000-8000-000000000001","name":"caf\u00e9 é","external_references":[{"url":"http://a","description":"1"},{"url":"http://a","description":"2"},{"source_name":"s","external_id":"e"},{"source_name":"s","external_id":"e","url":null},{"source_name":"only"}],"kill_chain_phases":[{"kill_chain_name":"k","phase_name":"p"},{"kill_chain_name":"k","phase_name":"p"},{"kill_chain_name":"k","phase_name":"q"}]}"#
    let split = try SplitBundle(bundle("bundle--d", [object]))
    let text = String(decoding: split.bundle(0), as: UTF8.self)
    // nb_deps is replaced where the object had it; the name keeps its bytes (escape included).
    #expect(text.contains(#"{"type":"attack-pattern","nb_deps":1,"id":"#))
    #expect(text.contains(#""name":"caf\u00e9 é""#))
    #expect(
      try JSONParser.parse(split.bundle(0))
        == expected(
          "bundle--d", 1,
          #"{"type":"attack-pattern","nb_deps":1,"id":"attack-pattern--00000000-0000-4000-8000-000000000001","name":"café é","external_references":[{"url":"http://a","description":"1"},{"source_name":"s","external_id":"e"}],"kill_chain_phases":[{"kill_chain_name":"k","phase_name":"p"},{"kill_chain_name":"k","phase_name":"q"}]}"#
        ))
  }

  @Test func incompatibleObjectsAreReportedNotSent() throws {
    let split = try SplitBundle(
      bundle("bundle--incompatible", [
        stixObject("relationship", 1, "\"source_ref\":\"\(stixId("indicator", 1))\",\"target_ref\":\"\(stixId("x-foo", 1))\""),
        stixObject("sighting", 1, "\"sighting_of_ref\":\"\(stixId("indicator", 1))\",\"where_sighted_refs\":[]"),
        stixObject("sighting", 2, "\"sighting_of_ref\":\"\(stixId("indicator", 1))\",\"where_sighted_refs\":[\"\(stixId("x-foo", 2))\"]"),
        stixObject("x-custom", 1),
        stixObject("indicator", 1),
      ]))
    #expect(split.expectations == 1)
    #expect(try bundles(split) == [expected("bundle--incompatible", 1, stixObject("indicator", 1, "\"nb_deps\":1"))])
    #expect(split.incompatible.map(\.id) == [stixId("relationship", 1), stixId("sighting", 1), stixId("sighting", 2), stixId("x-custom", 1)])
    #expect(split.incompatible[0].reason.contains("source_ref and target_ref"))
    #expect(split.incompatible[1].reason.contains("where_sighted_refs"))
    #expect(split.incompatible[3].reason.contains("does not import"))
  }

  @Test func anObjectReachedThroughItsInternalIdIsSentTwiceAsPyctiDoes() throws {
    let split = try SplitBundle(
      bundle("bundle--alias", [
        stixObject("indicator", 1, "\"created_by_ref\":\"internal-1\""), stixObject("identity", 1, "\"x_opencti_id\":\"internal-1\""),
      ]))
    #expect((0..<split.count).map(split.objectId) == [stixId("identity", 1), stixId("identity", 1), stixId("indicator", 1)])
    #expect(split.expectations == 3)
  }

  @Test func eventVersionAndMissingBundleId() throws {
    let versioned = try SplitBundle(bundle("bundle--v", [stixObject("malware", 1)]), eventVersion: "4")
    #expect(try JSONParser.parse(versioned.bundle(0))["x_opencti_event_version"] == "4")
    let anonymous = try SplitBundle(raw("{\"type\":\"bundle\",\"objects\":[\(stixObject("malware", 1))]}"))
    #expect(try JSONParser.parse(anonymous.bundle(0))["id"]?.stringValue?.hasPrefix("bundle--") == true)
  }

  @Test func whatPyctiCannotReadIsAnError() throws {
    #expect(throws: SplitError.self) { try SplitBundle(raw("{\"type\":\"bundle\"}")) }
    #expect(throws: SplitError.self) { try SplitBundle(bundle("bundle--x", ["{\"type\":\"malware\"}"])) }
    #expect(throws: SplitError.self) { try SplitBundle(bundle("bundle--x", ["\"text\""])) }
    #expect(throws: SplitError.self) { try SplitBundle(bundle("bundle--x", [stixObject("note", 1, "\"object_refs\":\"a\"")])) }
    #expect(throws: SplitError.self) { try SplitBundle(bundle("bundle--x", [stixObject("note", 1, "\"object_refs\":[1]")])) }
    #expect(throws: SplitError.self) { try SplitBundle(bundle("bundle--x", [stixObject("note", 1, "\"created_by_ref\":{}")])) }
    #expect(throws: SplitError.self) { try SplitBundle(bundle("bundle--x", [stixObject("note", 1, "\"external_references\":[\"a\"]")])) }
    // A chain deeper than pycti can follow.
    let chain = (1...1000).map { stixObject("note", $0, $0 < 1000 ? "\"object_refs\":[\"\(stixId("note", $0 + 1))\"]" : "") }
    #expect(throws: SplitError.self) { try SplitBundle(bundle("bundle--deep", chain)) }
  }
}
