import Testing
@testable import CTICore

@Suite struct DependencyOrderTests {
  @Test func referencedObjectsComeFirst() throws {
    let report = try staged(stixObject("report", 1, "\"object_refs\":[\"\(stixId("indicator", 1))\",\"\(stixId("relationship", 1))\"]"))
    let relationship = try staged(stixObject("relationship", 1, "\"source_ref\":\"\(stixId("indicator", 1))\",\"target_ref\":\"\(stixId("malware", 1))\""))
    let indicator = try staged(stixObject("indicator", 1, "\"created_by_ref\":\"\(stixId("identity", 1))\""))
    let malware = try staged(stixObject("malware", 1))
    let identity = try staged(stixObject("identity", 1))
    let input = [report, relationship, indicator, malware, identity]
    #expect(DependencyOrder.dependencyCounts(input) == [7, 4, 2, 1, 1])
    #expect(ids(DependencyOrder.sorted(input)) == ids([malware, identity, indicator, relationship, report]))
  }

  @Test func missingReferencesAddNothingAndOrderIsStable() throws {
    let a = try staged(stixObject("indicator", 1, "\"created_by_ref\":\"\(stixId("identity", 9))\""))
    let b = try staged(stixObject("indicator", 2))
    #expect(DependencyOrder.dependencyCounts([a, b]) == [1, 1])
    #expect(ids(DependencyOrder.sorted([a, b])) == ids([a, b]))
  }

  @Test func cyclesEnd() throws {
    let a = try staged(stixObject("note", 1, "\"object_refs\":[\"\(stixId("note", 2))\"]"))
    let b = try staged(stixObject("note", 2, "\"object_refs\":[\"\(stixId("note", 3))\"]"))
    let c = try staged(stixObject("note", 3, "\"object_refs\":[\"\(stixId("note", 1))\"]"))
    let selfRef = try staged(stixObject("note", 4, "\"object_refs\":[\"\(stixId("note", 4))\"]"))
    let pair1 = try staged(stixObject("note", 5, "\"object_refs\":[\"\(stixId("note", 6))\"]"))
    let pair2 = try staged(stixObject("note", 6, "\"object_refs\":[\"\(stixId("note", 5))\"]"))
    let counts = DependencyOrder.dependencyCounts([a, b, c, selfRef, pair1, pair2])
    #expect(counts[3] == 1)
    // As in pycti: note 5 is walked first and keeps note 6, whose reference back is cut.
    #expect(counts[4] == 2 && counts[5] == 1)
    #expect(counts[0] > counts[1] && counts[1] > counts[2])
  }

  @Test func internalIdsCountAsReferences() throws {
    let identity = try staged(stixObject("identity", 1, "\"x_opencti_id\":\"internal-1\""))
    let indicator = try staged(stixObject("indicator", 1, "\"created_by_ref\":\"internal-1\""))
    let ext = try staged(stixObject("malware", 1, "\"extensions\":{\"\(openCTIExtensionID)\":{\"id\":\"internal-2\"}}"))
    let sighting = try staged(stixObject("sighting", 1, "\"sighting_of_ref\":\"internal-2\""))
    #expect(ids(DependencyOrder.sorted([indicator, sighting, identity, ext])) == ids([identity, ext, indicator, sighting]))
  }

  @Test func sharedDependenciesAreCountedPerPath() throws {
    let base = try staged(stixObject("identity", 1))
    let left = try staged(stixObject("indicator", 1, "\"created_by_ref\":\"\(stixId("identity", 1))\""))
    let right = try staged(stixObject("indicator", 2, "\"created_by_ref\":\"\(stixId("identity", 1))\""))
    let top = try staged(stixObject("report", 1, "\"object_refs\":[\"\(stixId("indicator", 1))\",\"\(stixId("indicator", 2))\"]"))
    #expect(DependencyOrder.dependencyCounts([top, left, right, base]) == [5, 2, 2, 1])
  }
}

@Suite struct BundleBatcherTests {
  func objects(_ count: Int, padding: Int = 0) throws -> [StagedObject] {
    try (1...count).map { try staged(stixObject("indicator", $0, "\"name\":\"\(String(repeating: "x", count: padding))\"")) }
  }

  @Test func batchesHonourTheObjectLimit() throws {
    let (batches, oversized) = BundleBatcher(maxObjects: 3).batches(try objects(7), bundleId: "bundle--1")
    #expect(batches.map(\.count) == [3, 3, 1])
    #expect(oversized.isEmpty)
    #expect(ids(batches.flatMap { $0 }) == ids(try objects(7)))
  }

  @Test func batchesHonourTheByteLimitExactly() throws {
    let input = try objects(5, padding: 100)
    let id = "bundle--1"
    let one = BundleBatcher.bundle([input[0]], bundleId: id).count
    let two = BundleBatcher.bundle(Array(input[0..<2]), bundleId: id).count
    let (batches, _) = BundleBatcher(maxObjects: 100, maxBytes: two).batches(input, bundleId: id)
    #expect(batches.map(\.count) == [2, 2, 1])
    for batch in batches { #expect(BundleBatcher.bundle(batch, bundleId: id).count <= two) }
    let (singles, _) = BundleBatcher(maxObjects: 100, maxBytes: two - 1).batches(input, bundleId: id)
    #expect(singles.map(\.count) == [1, 1, 1, 1, 1])
    let (_, oversized) = BundleBatcher(maxObjects: 100, maxBytes: one - 1).batches(input, bundleId: id)
    #expect(oversized.count == 5)
  }

  @Test func bundleKeepsObjectBytes() throws {
    let input = try objects(2)
    let bundle = BundleBatcher.bundle(input, bundleId: "bundle--1")
    let parsed = try JSONParser.parse(bundle)
    #expect(parsed["type"] == "bundle")
    #expect(parsed["id"] == "bundle--1")
    #expect(parsed["spec_version"] == "2.1")
    #expect(parsed["objects"]?.arrayValue?.count == 2)
    #expect(String(decoding: bundle, as: UTF8.self).contains(String(decoding: input[1].bytes, as: UTF8.self)))
    #expect(BundleBatcher.newBundleId().hasPrefix("bundle--"))
    #expect(STIXIdentifier.isValid(BundleBatcher.newBundleId()))
  }
}
