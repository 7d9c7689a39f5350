import CTITestSupport
import Foundation
import Testing

@testable import CTICore

#if canImport(Glibc)
  import Glibc
#endif

/// Sources on a schedule (`--interval`, CONNECTOR_DURATION_PERIOD): a second run picks up what
/// appeared after the first, each run ends with a checkpoint, and SIGTERM between runs ends the
/// tool at once with exit 0 and its summary.
@Suite struct ScheduleEndToEndTests {
  let platform = FakePlatform.shared

  /// A MISP feed folder whose manifest lists the events added so far.
  final class Feed {
    let folder: TemporaryFolder
    private var manifest = JSONObject()

    init() throws { folder = try TemporaryFolder() }

    var path: String { folder.path }

    /// Adds event `number` (its file first, then the manifest, each written atomically).
    func add(_ number: Int) throws {
      let uuid = String(format: "aaaaaaaa-1111-4111-8111-%012d", number)
      let timestamp = String(1_712_000_000 + number * 100)
      let event: JSONValue = [
        "Event": [
          "uuid": .string(uuid), "info": .string("Event \(number)"), "date": "2024-04-01", "timestamp": .string(timestamp),
          "threat_level_id": "2", "analysis": "2",
          "Orgc": ["name": "Example Feed", "uuid": "11111111-0000-4000-8000-000000000000"], "Tag": [["name": "tlp:clear"]],
          "Attribute": [
            [
              "uuid": .string(String(format: "bbbbbbbb-1111-4111-8111-%012d", number)), "type": "domain",
              "category": "Network activity", "value": .string("host\(number).example.com"), "to_ids": true,
              "timestamp": .string(timestamp),
            ]
          ],
        ]
      ]
      try write(uuid + ".json", JSONWriter.serialize(event))
      manifest[uuid] = ["info": .string("Event \(number)"), "date": "2024-04-01", "timestamp": .string(timestamp)]
      try write("manifest.json", JSONWriter.serialize(.object(manifest)))
    }

    private func write(_ name: String, _ bytes: [UInt8]) throws {
      try Data(bytes).write(to: folder.url.appendingPathComponent(name), options: .atomic)
    }

    /// The report names of bundle lines, in order.
    static func reports(_ lines: [String]) throws -> [String] {
      try lines.filter { $0.contains("\"type\":\"bundle\"") }.flatMap { line in
        (try JSONParser.parse(Array(line.utf8))["objects"]?.arrayValue ?? []).filter { $0["type"] == "report" }
          .compactMap { $0["name"]?.stringValue }
      }
    }
  }

  @Test func ctiMispRunsAgainAndPicksUpANewEvent() throws {
    let feed = try Feed()
    try feed.add(1)
    let state = feed.path + "/.state"
    let running = try ToolRunner.start(
      "cti-misp", ["--feed", feed.path, "--interval", "1", "--state", state, "--import-from-date", "2000-01-01"])
    #expect(running.waitUntil(timeout: 20) { $0.completedLines >= 1 })
    try feed.add(2)
    #expect(running.waitUntil(timeout: 20) { $0.completedLines >= 2 })
    running.signal(SIGTERM)
    let result = running.wait(timeout: 10)
    #expect(!result.timedOut)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try Feed.reports(result.stdoutLines) == ["Event 1", "Event 2"], "each event once")
    #expect(result.stderr.contains("running every 1 s (--interval)"))
    #expect(result.stderr.contains("2 events read, 2 converted, 0 failed"), "\(result.stderr)")
    #expect(result.stderr.contains("runs, the last started at"))
    // Stdout is a file: the state file holds the second event's mark.
    let saved = try JSONParser.parse(Array((try String(contentsOfFile: state, encoding: .utf8)).utf8))
    #expect(saved["last_event_timestamp"]?.intValue == 1_712_000_200)
  }

  @Test func sigtermBetweenRunsEndsAtOnce() throws {
    let feed = try Feed()
    try feed.add(1)
    // The schedule of the official compose block: CONNECTOR_DURATION_PERIOD, here an hour.
    let running = try ToolRunner.start(
      "cti-misp", ["--feed", feed.path, "--import-from-date", "2000-01-01"],
      environment: ["CONNECTOR_DURATION_PERIOD": "PT1H", "CONNECTOR_RUN_AND_TERMINATE": "false"])
    #expect(running.waitUntil(timeout: 20) { $0.stderrSoFar.contains("next run at") })
    let signalled = Date()
    running.signal(SIGTERM)
    let result = running.wait(timeout: 10)
    #expect(Date().timeIntervalSince(signalled) < 3, "the wait ends at the signal")
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("running every 1 h (environment CONNECTOR_DURATION_PERIOD)"))
    #expect(result.stderr.contains("1 run, the last started at"))
    #expect(result.stderr.contains("stopped by SIGTERM between runs"))

    let folder = try TemporaryFolder()
    let diode = try ToolRunner.start(
      "cti-diode", ["import", folder.path], environment: ["CONNECTOR_DURATION_PERIOD": "PT1H"])
    #expect(diode.waitUntil(timeout: 20) { $0.stderrSoFar.contains("next run at") })
    let diodeSignalled = Date()
    diode.signal(SIGTERM)
    let diodeResult = diode.wait(timeout: 10)
    #expect(Date().timeIntervalSince(diodeSignalled) < 3)
    #expect(diodeResult.status == 0, "\(diodeResult.stderr)")
    #expect(diodeResult.stderr.contains("stopped by SIGTERM between passes"))
  }

  @Test func aRunAndTerminateSettingRunsOnce() throws {
    let feed = try Feed()
    try feed.add(1)
    let result = try ToolRunner.run(
      "cti-misp", ["--feed", feed.path, "--import-from-date", "2000-01-01"],
      environment: ["CONNECTOR_DURATION_PERIOD": "PT1H", "CONNECTOR_RUN_AND_TERMINATE": "true"], timeout: 20)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try Feed.reports(result.stdoutLines) == ["Event 1"])
    #expect(!result.stderr.contains("running every"))
  }

  /// `cti-misp --interval … --state S | cti-push --state S`: the feed stays in sync, each event
  /// pushed once, and the state file ends at the last event once cti-push has pushed it.
  @Test func aScheduledFeedPipelineKeepsThePlatformInSync() throws {
    let feed = try Feed()
    try feed.add(1)
    let token = FakePlatform.unique("schedule-token")
    let connectorId = UUID().uuidString.lowercased()
    try platform.createGraphQLPlatform(token: token)
    let work = try TemporaryFolder()
    let state = work.path + "/misp.json"
    let bin = ToolRunner.binDirectory.path
    let script = """
      '\(bin)/cti-push' --state '\(state)' --flush-delay 0.2 < '\(work.path)/pipe' 2> '\(work.path)/push.err' &
      push=$!
      '\(bin)/cti-misp' --feed '\(feed.path)' --interval 1 --state '\(state)' --import-from-date 2000-01-01 \
        > '\(work.path)/pipe' 2> '\(work.path)/misp.err' &
      echo $! > '\(work.path)/misp.pid'
      wait $!; echo $? > '\(work.path)/misp.status'
      wait $push; echo $? > '\(work.path)/push.status'
      """
    #expect(mkfifo(work.path + "/pipe", 0o600) == 0)
    let shell = try ToolRunner.start(
      "/bin/bash", ["-c", script],
      environment: ["OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token, "CONNECTOR_ID": connectorId])
    func reportsPushed() -> Int {
      ((try? platform.graphQLState(token: token))?["bundles"]?.arrayValue ?? []).count
    }
    #expect(shell.waitUntil(timeout: 30) { _ in reportsPushed() >= 1 })
    try feed.add(2)
    #expect(shell.waitUntil(timeout: 30) { _ in reportsPushed() >= 2 })
    // The second event's checkpoint comes back committed by cti-push.
    #expect(shell.waitUntil(timeout: 10) { _ in
      (try? String(contentsOfFile: state, encoding: .utf8))?.contains("\"last_event_timestamp\":1712000200") == true
    })
    let pid = try #require(work.read("misp.pid").flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
    kill(pid, SIGTERM)
    let result = shell.wait(timeout: 20)
    #expect(!result.timedOut)
    #expect(work.read("misp.status")?.hasPrefix("0") == true, "\(work.read("misp.err") ?? "")")
    #expect(work.read("push.status")?.hasPrefix("0") == true, "\(work.read("push.err") ?? "")")
    let platformState = try platform.graphQLState(token: token)
    let bundles = platformState["bundles"]?.arrayValue ?? []
    #expect(bundles.count == 2, "each event pushed once")
    #expect(work.read("push.err")?.contains("checkpoints committed") == true)
    #expect(work.read("misp.err")?.contains("no checkpoint written to stdout came back committed") == false)
  }
}
