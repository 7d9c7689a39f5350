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

  /// The environment of examples/compose/misp-feed.yml (the official block, plus the state file).
  static func composeEnvironment() throws -> [String: String] {
    let url = ToolRunner.packageRoot.appendingPathComponent("examples/compose/misp-feed.yml")
    var environment: [String: String] = [:]
    for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
      var item = line.trimmingCharacters(in: .whitespaces)
      guard item.hasPrefix("- "), item.contains("=") else { continue }
      item = String(item.dropFirst(2))
      if let comment = item.range(of: " #") { item = String(item[..<comment.lowerBound]) }
      item = item.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
      guard let equals = item.firstIndex(of: "="), item[..<equals].allSatisfy({ $0.isUppercase || $0 == "_" }) else { continue }
      environment[String(item[..<equals])] = String(item[item.index(after: equals)...])
    }
    return environment
  }

  @Test func theComposeBlockRunsOnItsScheduleAndSIGTERMBetweenRunsEndsAtOnce() throws {
    let feed = try Feed()
    try feed.add(1)
    var environment = try Self.composeEnvironment()
    #expect(environment["CONNECTOR_RUN_AND_TERMINATE"] == "false")
    environment["MISP_FEED_URL"] = feed.path
    environment["CTI_MISP_STATE"] = feed.path + "/.state"
    #expect(environment["CONNECTOR_LOG_LEVEL"] == "error")
    environment["CONNECTOR_LOG_LEVEL"] = "info"  // to see the schedule
    let running = try ToolRunner.start("cti-misp", [], environment: environment)
    #expect(running.waitUntil(timeout: 20) { $0.stderrSoFar.contains("next run at") }, "\(running.stderrSoFar)")
    let signalled = Date()
    running.signal(SIGTERM)
    let result = running.wait(timeout: 10)
    #expect(Date().timeIntervalSince(signalled) < 3, "the wait ends at the signal")
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("running every 5 min (environment CONNECTOR_DURATION_PERIOD)"), "\(result.stderr)")
    #expect(try Feed.reports(result.stdoutLines) == ["Event 1"])
    #expect(result.stderr.contains("1 run, the last started at"))
    #expect(result.stderr.contains("stopped by SIGTERM between runs"))

    // The older MISP_FEED_INTERVAL (minutes) alone still schedules, with a warning.
    environment["CONNECTOR_DURATION_PERIOD"] = nil
    let legacy = try ToolRunner.start("cti-misp", [], environment: environment)
    #expect(legacy.waitUntil(timeout: 20) { $0.stderrSoFar.contains("next run at") })
    legacy.signal(SIGTERM)
    let legacyResult = legacy.wait(timeout: 10)
    #expect(legacyResult.status == 0)
    #expect(legacyResult.stderr.contains("MISP_FEED_INTERVAL is deprecated: use CONNECTOR_DURATION_PERIOD"))
    #expect(legacyResult.stderr.contains("running every 5 min (environment MISP_FEED_INTERVAL)"))

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

  /// In a pipeline the state file is written by the last stage, so it lags behind: later runs
  /// go on from the state in memory. Here nothing downstream commits (cat), so the file never
  /// appears, and a run that reloaded it would start over and send event 1 again.
  @Test func inAPipelineLaterRunsCarryOnFromMemory() throws {
    let feed = try Feed()
    try feed.add(1)
    let work = try TemporaryFolder()
    let state = work.path + "/misp.json"
    #expect(mkfifo(work.path + "/pipe", 0o600) == 0)
    let script = """
      cat < '\(work.path)/pipe' > '\(work.path)/out' &
      '\(ToolRunner.binDirectory.path)/cti-misp' --feed '\(feed.path)' --interval 0.3 --state '\(state)' \
        --import-from-date 2000-01-01 > '\(work.path)/pipe' 2> '\(work.path)/misp.err' &
      echo $! > '\(work.path)/misp.pid'
      wait
      """
    let shell = try ToolRunner.start("/bin/bash", ["-c", script])
    func bundles() -> [String] {
      (work.read("out") ?? "").split(separator: "\n").map(String.init).filter { $0.contains("\"type\":\"bundle\"") }
    }
    #expect(shell.waitUntil(timeout: 20) { _ in bundles().count >= 1 })
    try feed.add(2)
    #expect(shell.waitUntil(timeout: 20) { _ in bundles().count >= 2 })
    // A few more runs with nothing new.
    #expect(shell.waitUntil(timeout: 20) { _ in (work.read("misp.err") ?? "").components(separatedBy: "events converted").count > 5 })
    let pid = try #require(work.read("misp.pid").flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
    kill(pid, SIGTERM)
    let result = shell.wait(timeout: 20)
    #expect(!result.timedOut)
    #expect(try Feed.reports(bundles()) == ["Event 1", "Event 2"], "\(work.read("misp.err") ?? "")")
    #expect(!FileManager.default.fileExists(atPath: state), "only the last stage writes the state file")
    let checkpoints = (work.read("out") ?? "").split(separator: "\n").filter { $0.contains("\"cti-checkpoint\"") }
    #expect(checkpoints.count >= 4, "each run ends with a checkpoint")
    #expect(work.read("misp.err")?.contains("no checkpoint written to stdout came back committed") == true)
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
