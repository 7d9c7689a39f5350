import Foundation
import Testing

@testable import CTICore

@Suite struct MISPFeedTests {
  @Test func manifestTimestampsAsIntegersOrStrings() throws {
    let manifest = #"{"b":{"timestamp":"20","info":"B"},"a":{"timestamp":20},"c":{"timestamp":5}}"#
    let entries = try MISPManifestEntry.parse(Array(manifest.utf8))
    #expect(entries.map(\.uuid) == ["c", "a", "b"])
    #expect(entries.map(\.timestamp) == [5, 20, 20])
    #expect(try MISPManifestEntry.parse(Array(#"{"a":{}}"#.utf8)).first?.problem == "no numeric timestamp")
    #expect(throws: MISPEventError.self) { try MISPManifestEntry.parse(Array(#"[]"#.utf8)) }
  }

  @Test func manifestKeysNeverLeaveTheFeed() {
    let http = MISPHTTPSource(url: "http://127.0.0.1:9/feed/", authorization: nil, client: HTTPClient())
    #expect(http.url == "http://127.0.0.1:9/feed")
    for name in ["../manifest.json", "a/b.json", ".hidden.json", "x.json?token=1", "%2e%2e.json"] {
      #expect(throws: MISPFetchError.self) { try http.file(name) }
      #expect(throws: MISPFetchError.self) { try MISPDirectorySource(path: "/tmp").file(name) }
    }
  }

  @Test func aLocalFeedFileOverTheLimitFailsAsData() throws {
    let folder = NSTemporaryDirectory() + "misp-limit-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try FileSystem.writeAtomically(Array(#"{"a":{"timestamp":1}}"#.utf8), to: folder + "/manifest.json")
    #expect(try MISPDirectorySource(path: folder, maxFileBytes: 100).file("manifest.json").count == 21)
    let error = #expect(throws: MISPFetchError.self) { try MISPDirectorySource(path: folder, maxFileBytes: 20).file("manifest.json") }
    #expect(error?.exitStatus == .dataError)
    #expect(error?.message.contains("File too large") == true, "\(String(describing: error))")
  }

  @Test func stateMarkAndFormat() {
    #expect(MISPFeedState(lastRun: "2024-01-01T00:00:00+00:00").mark == 1_704_067_200)
    #expect(MISPFeedState(lastRun: "2024-01-01T00:00:00+00:00", lastEventTimestamp: 5).mark == 5)
    #expect(MISPFeedState().mark == nil)
    #expect(MISPFeedState.isoformat(ISO8601.Instant(seconds: 1_715_767_121)) == "2024-05-15T09:58:41+00:00")
  }

  @Test func importFromDateAcceptsDatesAndDurations() throws {
    let now = ISO8601.Instant(seconds: 1_800_000_000)
    func resolve(_ text: String) throws -> Int64? {
      try MISPKeys.importFrom(Configuration(environment: ["MISP_FEED_IMPORT_FROM_DATE": text], file: [:]), flag: nil, now: now)
    }
    #expect(try resolve("2024-01-01") == 1_704_067_200)
    #expect(try resolve("P30D") == 1_800_000_000 - 30 * 86_400)
    #expect(throws: ConfigError.self) { try resolve("yesterday") }
  }

  @Test func optionPrecedence() throws {
    let configuration = Configuration(
      environment: ["MISP_FEED_CREATE_INDICATORS": "true", "MISP_FEED_REPORT_TYPE": "threat-report"],
      file: ["misp_feed.create_indicators": "false", "misp_feed.create_observables": "yes", "misp_feed.report_type": "x"])
    var flags = MISPKeys.Flags()
    var options = try MISPKeys.options(configuration, flags: flags)
    #expect(options.createIndicators)
    #expect(options.createObservables)
    #expect(options.reportType == "threat-report")
    #expect(options.compatibility == .fixed)
    flags.createIndicators = false
    flags.compatibility = "official"
    options = try MISPKeys.options(configuration, flags: flags)
    #expect(!options.createIndicators)
    #expect(options.compatibility == .official)
    #expect(throws: ConfigError.self) {
      try MISPKeys.options(Configuration(environment: ["MISP_FEED_CREATE_REPORTS": "maybe"], file: [:]), flags: MISPKeys.Flags())
    }
  }

  @Test func theOfficialComposeFilesSpellingOfGuessThreatsIsRead() throws {
    let official = Configuration(environment: ["MISP_FEED_GUESS_THREAT_FROM_TAGS": "true"], file: [:])
    #expect(try MISPKeys.options(official, flags: MISPKeys.Flags()).guessThreatsFromTags)
    let both = Configuration(
      environment: ["MISP_FEED_GUESS_THREATS_FROM_TAGS": "false", "MISP_FEED_GUESS_THREAT_FROM_TAGS": "true"], file: [:])
    #expect(try !MISPKeys.options(both, flags: MISPKeys.Flags()).guessThreatsFromTags)
  }
}
