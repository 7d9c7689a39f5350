import Foundation
import Logging
import Testing
@testable import CTICore

/// Records what the pipeline asks for; fails the calls it is told to.
final class RecordingTarget: PushTarget {
  struct Push {
    var objects: [String]
    var bundleId: String?
    var connector: ConnectorRegistration?
    var applicant: String?
  }
  var pushes: [Push] = []
  var deletes: [String] = []
  var merges: [(String, [String])] = []
  /// Errors for the next pushes, in order.
  var failures: [OpenCTIError] = []
  /// How often the pipeline waited for everything pushed to be applied, and the error to fail
  /// that wait with.
  var settles = 0
  var settleFailure: OpenCTIError?

  func settle() throws(OpenCTIError) {
    settles += 1
    if let settleFailure { throw settleFailure }
  }

  func pushBundle(_ bundle: [UInt8], objectCount: Int, as connector: ConnectorRegistration, applicant: String?) throws(OpenCTIError) {
    if !failures.isEmpty { throw failures.removeFirst() }
    let parsed = try? JSONParser.parse(bundle)
    let objects = parsed?["objects"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    precondition(objects.count == objectCount)
    pushes.append(Push(objects: objects, bundleId: parsed?["id"]?.stringValue, connector: connector, applicant: applicant))
  }
  func deleteObject(id: String) throws(OpenCTIError) { deletes.append(id) }
  func mergeObjects(targetId: String, sourceIds: [String]) throws(OpenCTIError) { merges.append((targetId, sourceIds)) }
}

/// A pipeline over a recording target, with rejects going to a temporary file.
struct PipelineFixture {
  /// The tool's own connector.
  static let own = ConnectorRegistration(id: "own-id", name: "cti-push")
  let target = RecordingTarget()
  let diagnostics = Diagnostics(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
  let rejectPath: String
  let statePath: String
  let pipeline: PushPipeline

  init(_ options: PushPipeline.Settings = .init()) {
    rejectPath = FileManager.default.temporaryDirectory.appendingPathComponent("rejects-\(UUID().uuidString).ndjson").path
    statePath = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString).json").path
    pipeline = PushPipeline(
      target: target, connector: Self.own, options: options, diagnostics: diagnostics, rejects: try? RejectFile(path: rejectPath),
      checkpoints: try? CheckpointCommitter(path: statePath, diagnostics: diagnostics))
  }

  /// What the state file holds, if anything.
  var committedState: String? {
    (try? FileSystem.read(statePath)).map { String(decoding: $0, as: UTF8.self) }
  }

  func run(_ lines: [String]) throws {
    for (index, text) in lines.enumerated() {
      try pipeline.process(Line(number: index + 1, bytes: Array(text.utf8)))
    }
    try pipeline.finish()
  }

  func rejects() throws -> [JSONValue] {
    let text = try String(contentsOfFile: rejectPath, encoding: .utf8)
    return try text.split(separator: "\n").map { try JSONParser.parse(String($0)) }
  }
}

func bundle(_ objects: [String], id: String? = nil) -> String {
  "{\"type\":\"bundle\"\(id.map { ",\"id\":\"\($0)\"" } ?? ""),\"objects\":[\(objects.joined(separator: ","))]}"
}

@Suite struct PushPipelineTests {
  @Test func bareObjectsAreCollectedIntoBatches() throws {
    let fixture = PipelineFixture(.init(batcher: BundleBatcher(maxObjects: 2)))
    try fixture.run((1...5).map { stixObject("indicator", $0) })
    #expect(fixture.target.pushes.map(\.objects.count) == [2, 2, 1])
    #expect(fixture.target.pushes.allSatisfy { $0.connector == PipelineFixture.own && $0.applicant == nil })
    #expect(fixture.pipeline.counts.objects == 5)
    #expect(fixture.pipeline.counts.bundles == 3)
    #expect(fixture.pipeline.counts.rejected == 0)
  }

  @Test func bundlesAreSplitInDependencyOrderKeepingTheirId() throws {
    let fixture = PipelineFixture(.init(batcher: BundleBatcher(maxObjects: 2)))
    let relationship = stixObject("relationship", 1, "\"source_ref\":\"\(stixId("indicator", 1))\",\"target_ref\":\"\(stixId("malware", 1))\"")
    try fixture.run([bundle([relationship, stixObject("indicator", 1), stixObject("malware", 1)], id: "bundle--b1")])
    #expect(fixture.target.pushes.map(\.objects) == [[stixId("indicator", 1), stixId("malware", 1)], [stixId("relationship", 1)]])
    #expect(fixture.target.pushes.allSatisfy { $0.bundleId == "bundle--b1" })
  }

  @Test func pendingObjectsArePushedBeforeABundle() throws {
    let fixture = PipelineFixture()
    try fixture.run([stixObject("identity", 1), bundle([stixObject("indicator", 1)]), stixObject("identity", 2)])
    #expect(fixture.target.pushes.map(\.objects) == [[stixId("identity", 1)], [stixId("indicator", 1)], [stixId("identity", 2)]])
  }

  @Test func envelopesPushAsTheirConnectorWithTheMappedApplicant() throws {
    let fixture = PipelineFixture(.init(applicants: ApplicantMap(["src-user": "dst-user"])))
    func envelope(_ applicant: String) -> String {
      "{\"bundle_type\":\"DIRECTORY_BUNDLE\",\"applicant_id\":\"\(applicant)\",\"connector\":{\"id\":\"c9\",\"name\":\"CVE\",\"type\":\"EXTERNAL_IMPORT\",\"scope\":\"vulnerability\"},\"bundle\":\(bundle([stixObject("vulnerability", 1)]))}"
    }
    try fixture.run([envelope("src-user"), envelope("other-user"), envelope("other-user")])
    #expect(fixture.target.pushes.map(\.applicant) == ["dst-user", nil, nil])
    #expect(fixture.target.pushes.allSatisfy { $0.connector?.id == "c9" && $0.connector?.scope == ["vulnerability"] })
    #expect(fixture.diagnostics.warnings == 1)
  }

  @Test func aDiodeFileIsPushedDirectlyAndItsFailuresAreThrownNotRejected() throws {
    // cti-diode import --push's way: envelopes through the bundle pusher, which throws.
    let fixture = PipelineFixture()
    let pusher = BundlePusher(
      target: fixture.target, options: .init(applicants: ApplicantMap(["src-user": "dst-user"])), diagnostics: fixture.diagnostics)
    func file(type: String = "EXTERNAL_IMPORT", _ objects: [String]) throws -> DiodeFile {
      try DiodeFile(Array("{\"applicant_id\":\"src-user\",\"connector\":{\"id\":\"c9\",\"name\":\"CVE\",\"type\":\"\(type)\"},\"bundle\":\(bundle(objects))}".utf8))
    }
    _ = try pusher.pushEnvelope(try file([stixObject("vulnerability", 1), stixObject("vulnerability", 2)]), line: nil)
    #expect(fixture.target.pushes.map(\.applicant) == ["dst-user"])
    #expect(fixture.target.pushes.first?.connector?.id == "c9")
    #expect(pusher.bundles == 1 && pusher.objects == 2)

    fixture.target.failures = [.graphQL(GraphQLError(message: "Invalid bundle", code: "FUNCTIONAL_ERROR", operation: .stixBundlePush))]
    #expect { _ = try pusher.pushEnvelope(try file([stixObject("vulnerability", 3)]), line: nil) } throws: { error in
      guard case .failed = error as? PushError else { return false }
      return "\(error)".contains("Invalid bundle")
    }
    #expect { _ = try pusher.pushEnvelope(try file(type: "BOGUS", [stixObject("vulnerability", 4)]), line: nil) } throws: { error in
      guard case .unpushable = error as? PushError else { return false }
      return true
    }
    fixture.target.failures = [.network("connection refused", operation: .stixBundlePush)]
    #expect(throws: PushError.self) { _ = try pusher.pushEnvelope(try file([stixObject("vulnerability", 5)]), line: nil) }
    #expect { _ = try pusher.pushEnvelope(try file([stixObject("vulnerability", 6)]), line: nil) } throws: { error in
      guard case .notSent = error as? PushError else { return false }
      return true
    }
    pusher.retryPlatform()
    _ = try pusher.pushEnvelope(try file([stixObject("vulnerability", 7)]), line: nil)
    #expect(fixture.target.pushes.map(\.objects) == [[stixId("vulnerability", 1), stixId("vulnerability", 2)], [stixId("vulnerability", 7)]])
    #expect(fixture.diagnostics.skipped == 0)
    #expect(try fixture.rejects().isEmpty, "failures are the caller's to report")
  }

  @Test func streamEventsUpsertAndSkipDeletesUnlessAsked() throws {
    let indicator = stixObject("indicator", 1)
    let events = [
      "{\"id\":\"1-0\",\"event\":\"create\",\"type\":\"create\",\"data\":\(indicator)}",
      "{\"id\":\"2-0\",\"event\":\"delete\",\"type\":\"delete\",\"data\":\(indicator)}",
      "{\"id\":\"3-0\",\"event\":\"merge\",\"type\":\"merge\",\"data\":\(indicator),\"context\":{\"sources\":[\(stixObject("indicator", 2))]}}",
      "{\"id\":\"4-0\",\"event\":\"heartbeat\",\"data\":{}}",
    ]
    let skipping = PipelineFixture()
    try skipping.run(events)
    // The create, then (the merge being skipped) the merged target's new state.
    #expect(skipping.target.pushes.map(\.objects) == [[stixId("indicator", 1)], [stixId("indicator", 1)]])
    #expect(skipping.target.deletes.isEmpty && skipping.target.merges.isEmpty)
    #expect(skipping.pipeline.counts.deletesSkipped == 1 && skipping.pipeline.counts.mergesSkipped == 1)
    #expect(skipping.pipeline.counts.controlEvents == 1)

    let applying = PipelineFixture(.init(applyDeletes: true, applyMerges: true))
    try applying.run(events)
    #expect(applying.target.deletes == [stixId("indicator", 1)])
    #expect(applying.target.merges.map(\.0) == [stixId("indicator", 1)])
    #expect(applying.target.merges.map(\.1) == [[stixId("indicator", 2)]])
    #expect(applying.pipeline.counts.deletes == 1 && applying.pipeline.counts.merges == 1)
  }

  @Test func badRecordsGoToTheRejectFileWithLineAndError() throws {
    let fixture = PipelineFixture(.init(batcher: BundleBatcher(maxObjects: 10, maxBytes: 400)))
    let big = stixObject("indicator", 2, "\"name\":\"\(String(repeating: "x", count: 500))\"")
    try fixture.run(["not json", stixObject("indicator", 1), big, bundle([]), "{\"type\":\"bundle\",\"objects\":[1]}"])
    let rejects = try fixture.rejects()
    #expect(rejects.map { $0["line"]?.intValue } == [1, 3, 4, 5])
    #expect(rejects[0]["text"] == "not json")
    #expect(rejects[1]["error"]?.stringValue?.contains("more than fits a bundle of --max-bytes 400") == true)
    #expect(rejects[1]["record"]?["id"]?.stringValue == stixId("indicator", 2))
    #expect(rejects[2]["error"] == "bundle has no objects")
    #expect(rejects[3]["error"] == "bundle objects[0] is not a JSON object")
    #expect(fixture.pipeline.counts.rejected == 4)
    #expect(fixture.target.pushes.map(\.objects) == [[stixId("indicator", 1)]])
    #expect(fixture.diagnostics.finalStatus == .partial)
  }

  @Test func aRefusedBatchRejectsItsRecordsAndGoesOn() throws {
    let fixture = PipelineFixture(.init(batcher: BundleBatcher(maxObjects: 2)))
    fixture.target.failures = [.graphQL(GraphQLError(message: "Invalid bundle", operation: .stixBundlePush))]
    try fixture.run((1...3).map { stixObject("indicator", $0) })
    let rejects = try fixture.rejects()
    #expect(rejects.map { $0["line"]?.intValue } == [1, 2])
    #expect(rejects[0]["error"]?.stringValue?.contains("Invalid bundle") == true)
    #expect(rejects[0]["record"] == (try JSONParser.parse(stixObject("indicator", 1))))
    #expect(fixture.target.pushes.map(\.objects) == [[stixId("indicator", 3)]])
    #expect(fixture.pipeline.platformFailure == nil)
  }

  @Test func aPlatformFailureRejectsEverythingAfterIt() throws {
    let fixture = PipelineFixture()
    fixture.target.failures = [.network("connection refused", operation: .stixBundlePush)]
    try fixture.run([bundle([stixObject("indicator", 1)]), bundle([stixObject("indicator", 2)]), stixObject("indicator", 3)])
    #expect(fixture.target.pushes.isEmpty)
    let rejects = try fixture.rejects()
    #expect(rejects.map { $0["line"]?.intValue } == [1, 2, 3])
    #expect(rejects[1]["error"]?.stringValue?.hasPrefix("not sent, the platform failed earlier") == true)
    #expect(fixture.pipeline.platformFailure?.exitStatus == .unavailable)
  }
}

func checkpointLine(_ n: Int) -> String {
  #"{"type":"cti-checkpoint","tool":"cti-test","state":{"n":\#(n)}}"#
}

@Suite struct PushCheckpointTests {
  @Test func aCheckpointWaitsForTheObjectsCollectedBeforeIt() throws {
    let fixture = PipelineFixture(.init(batcher: BundleBatcher(maxObjects: 10)))
    try fixture.pipeline.process(Line(number: 1, bytes: Array(stixObject("indicator", 1).utf8)))
    try fixture.pipeline.process(Line(number: 2, bytes: Array(checkpointLine(1).utf8)))
    #expect(fixture.committedState == nil, "the object is still collected, not pushed")
    try fixture.pipeline.process(Line(number: 3, bytes: Array(stixObject("indicator", 2).utf8)))
    try fixture.pipeline.flushIdle()
    #expect(fixture.target.pushes.map(\.objects.count) == [2])
    #expect(fixture.committedState == "{\"n\":1}\n")
  }

  @Test func aCheckpointAfterPushedBundlesIsCommittedAtOnce() throws {
    let fixture = PipelineFixture()
    try fixture.pipeline.process(Line(number: 1, bytes: Array(bundle([stixObject("indicator", 1)]).utf8)))
    try fixture.pipeline.process(Line(number: 2, bytes: Array(checkpointLine(7).utf8)))
    #expect(fixture.committedState == "{\"n\":7}\n")
    #expect(fixture.pipeline.counts.checkpoints == 1)
    #expect(fixture.pipeline.counts.records == 1, "a checkpoint is not a record to push")
  }

  @Test func aCheckpointBeforeObjectsCutIntoTwoBundlesIsCommittedWithTheFirst() throws {
    // The second object does not fit beside the first: the first goes alone, and the checkpoint
    // that followed it no longer waits for the second.
    let big = String(repeating: "x", count: 700)
    let fixture = PipelineFixture(.init(batcher: BundleBatcher(maxObjects: 10, maxBytes: 1200)))
    try fixture.pipeline.process(Line(number: 1, bytes: Array(stixObject("note", 1, "\"content\":\"\(big)\"").utf8)))
    try fixture.pipeline.process(Line(number: 2, bytes: Array(checkpointLine(1).utf8)))
    try fixture.pipeline.process(Line(number: 3, bytes: Array(stixObject("note", 2, "\"content\":\"\(big)\"").utf8)))
    #expect(fixture.target.pushes.count == 1)
    try fixture.pipeline.process(Line(number: 4, bytes: Array(checkpointLine(2).utf8)))
    #expect(fixture.committedState == "{\"n\":1}\n")
    try fixture.pipeline.finish()
    #expect(fixture.committedState == "{\"n\":2}\n")
  }

  @Test func aFailedPlatformStopsCommitsEvenWithARejectFile() throws {
    let fixture = PipelineFixture(.init(outageTolerance: 0))
    fixture.target.failures = [.network("connection refused", operation: .stixBundlePush)]
    try fixture.run([bundle([stixObject("indicator", 1)]), checkpointLine(1), stixObject("indicator", 2), checkpointLine(2)])
    #expect(fixture.committedState == nil)
    #expect(try fixture.rejects().count == 2, "both records went to the reject file")
    #expect(fixture.pipeline.checkpoints?.blockedBy != nil)
  }

  @Test func aCheckpointWaitsUntilTheTargetHasSettledWhatWasPushed() throws {
    let fixture = PipelineFixture()
    try fixture.pipeline.process(Line(number: 1, bytes: Array(bundle([stixObject("indicator", 1)]).utf8)))
    #expect(fixture.target.settles == 0, "no checkpoint, no wait")
    try fixture.pipeline.process(Line(number: 2, bytes: Array(checkpointLine(1).utf8)))
    #expect(fixture.target.settles == 1)
    #expect(fixture.committedState == "{\"n\":1}\n")
    fixture.target.settleFailure = .network("broker gone", operation: .stixBundlePush)
    try fixture.pipeline.process(Line(number: 3, bytes: Array(bundle([stixObject("indicator", 2)]).utf8)))
    try fixture.pipeline.process(Line(number: 4, bytes: Array(checkpointLine(2).utf8)))
    #expect(fixture.committedState == "{\"n\":1}\n", "unconfirmed pushes keep the state where it was")
    #expect(fixture.pipeline.checkpoints?.blockedBy != nil)
  }

  @Test func badRecordsAreReportedAndDoNotHoldTheCheckpointBack() throws {
    let fixture = PipelineFixture()
    try fixture.run(["{not json", checkpointLine(1)])
    #expect(fixture.committedState == "{\"n\":1}\n")
    #expect(try fixture.rejects().map { $0["line"]?.intValue } == [1])
  }

  @Test func controlEventsAreSkippedSilently() throws {
    let fixture = PipelineFixture()
    try fixture.run([#"{"id":"4-0","event":"heartbeat","data":"2024-01-15T15:16:08Z"}"#, #"{"event":"connected"}"#])
    #expect(fixture.pipeline.counts.controlEvents == 2)
    #expect(fixture.pipeline.counts.rejected == 0)
  }
}
