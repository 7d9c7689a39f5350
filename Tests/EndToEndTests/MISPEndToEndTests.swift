import CTICore
import CTITestSupport
import Foundation
import Testing

/// cti-misp run as a user would: feed folders, stdin, a feed over HTTP, state and resume, and
/// the OASIS validator over the output.
@Suite(.serialized) struct MISPEndToEndTests {
  static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
  static let small = fixtures.appendingPathComponent("misp-feed-small")
  static let corpus = fixtures.appendingPathComponent("misp-feed-infoblox")

  static let a = "aaaaaaaa-1111-4111-8111-000000000001"
  static let b = "bbbbbbbb-2222-4222-8222-000000000002"
  static let c = "cccccccc-3333-4333-8333-000000000003"
  static let d = "dddddddd-4444-4444-8444-000000000004"
  static let e = "eeeeeeee-5555-4555-8555-000000000005"

  /// The report names in a run's output, in order.
  static func reportNames(_ result: ToolResult) throws -> [String] {
    try result.stdoutLines.map { line in
      let bundle = try JSONParser.parse(line)
      #expect(bundle["type"] == "bundle")
      let report = bundle["objects"]!.arrayValue!.first { $0["type"] == "report" }
      return report?["name"]?.stringValue ?? "?"
    }
  }

  static func state(_ folder: TemporaryFolder) throws -> JSONValue {
    try JSONParser.parse(folder.read("state.json") ?? "null")
  }

  static func copyFeed(_ source: URL, to folder: TemporaryFolder) throws -> String {
    let target = folder.url.appendingPathComponent("feed")
    try FileManager.default.copyItem(at: source, to: target)
    return target.path
  }

  @Test func feedFolderSkipsBadEventsAndResumesWithoutLosingThem() throws {
    let folder = try TemporaryFolder()
    let feed = try Self.copyFeed(Self.small, to: folder)
    let arguments = [
      "--feed", feed, "--state", folder.path + "/state.json", "--import-from-date", "2024-01-01", "--create-indicators",
    ]
    let first = try ToolRunner.run("cti-misp", arguments)
    #expect(first.status == 1, "missing and broken events make the run partial: \(first.stderr)")
    #expect(try Self.reportNames(first) == ["First event", "Third event", "Fifth event"])
    #expect(first.stderr.contains("event \(Self.b)"))
    #expect(first.stderr.contains("event \(Self.d)"))
    #expect(first.stderr.contains("5 listed, 0 already imported, 5 events read, 3 converted, 2 failed"))
    // The mark stops before the first failure, so the next run retries it.
    var state = try Self.state(folder)
    #expect(state["last_event_timestamp"] == 1_712_000_100)
    #expect(state["last_event"] == "2024-04-01T19:35:00+00:00")
    #expect(state["last_run"]?.stringValue?.hasSuffix("+00:00") == true)

    let second = try ToolRunner.run("cti-misp", arguments)
    #expect(second.status == 1)
    #expect(try Self.reportNames(second) == ["Third event", "Fifth event"])
    #expect(try Self.state(folder)["last_event_timestamp"] == 1_712_000_100)

    // The feed is repaired: everything left goes through and the mark reaches the end.
    let good = try String(contentsOfFile: feed + "/\(Self.a).json", encoding: .utf8)
    try good.replacingOccurrences(of: Self.a, with: Self.b).replacingOccurrences(of: "First event", with: "Second event")
      .write(toFile: feed + "/\(Self.b).json", atomically: true, encoding: .utf8)
    try good.replacingOccurrences(of: Self.a, with: Self.d).replacingOccurrences(of: "First event", with: "Fourth event")
      .write(toFile: feed + "/\(Self.d).json", atomically: true, encoding: .utf8)
    let third = try ToolRunner.run("cti-misp", arguments)
    #expect(third.status == 0, "\(third.stderr)")
    #expect(try Self.reportNames(third) == ["Second event", "Third event", "Fourth event", "Fifth event"])
    state = try Self.state(folder)
    #expect(state["last_event_timestamp"] == 1_712_000_400)

    let fourth = try ToolRunner.run("cti-misp", arguments)
    #expect(fourth.status == 0)
    #expect(fourth.stdoutLines.isEmpty)
    #expect(fourth.stderr.contains("5 already imported"))
  }

  @Test func firstRunWithoutImportDateStartsNow() throws {
    let folder = try TemporaryFolder()
    let result = try ToolRunner.run("cti-misp", ["--feed", Self.small.path, "--state", folder.path + "/state.json"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdoutLines.isEmpty)
    // The starting point is kept, so later runs do not move with the clock.
    let mark = try Self.state(folder)["last_event_timestamp"]?.intValue ?? 0
    #expect(abs(mark - Int(Date().timeIntervalSince1970)) < 120)
  }

  @Test func environmentAndConfigFileSettings() throws {
    let folder = try TemporaryFolder()
    try folder.write(
      "config.yml",
      """
      misp_feed:
        url: '\(Self.small.path)'
        import_from_date: '2024-04-01T19:37:00Z'
        create_indicators: true
        report_type: from-config
      """)
    let result = try ToolRunner.run(
      "cti-misp", ["--config", folder.path + "/config.yml"],
      environment: ["MISP_FEED_REPORT_TYPE": "from-env", "MISP_FEED_CREATE_OBSERVABLES": "true"])
    try #require(try Self.reportNames(result) == ["Third event", "Fifth event"], "\(result.stderr)")
    let bundle = try JSONParser.parse(result.stdoutLines[0])
    let objects = bundle["objects"]!.arrayValue!
    #expect(objects.first { $0["type"] == "report" }?["report_types"] == ["from-env"])
    #expect(objects.contains { $0["type"] == "indicator" })
    #expect(objects.contains { $0["type"] == "url" })
  }

  @Test func eventsOnStandardInput() throws {
    let a = try String(contentsOf: Self.small.appendingPathComponent("\(Self.a).json"), encoding: .utf8)
    let c = try String(contentsOf: Self.small.appendingPathComponent("\(Self.c).json"), encoding: .utf8)
    let lines = [a, c].map { try! JSONParser.parse($0).jsonText }
    // A bare event (without the {"Event": …} wrapper) is accepted too.
    let bare = try JSONParser.parse(c)["Event"]!.jsonText
    let input = lines[0] + "\n{\"Event\": \n" + lines[1] + "\n" + bare + "\n"
    let result = try ToolRunner.run("cti-misp", ["--create-observables"], stdin: Array(input.utf8))
    #expect(result.status == 1)
    #expect(try Self.reportNames(result) == ["First event", "Third event", "Third event"])
    #expect(result.stderr.contains("line 2"))
    #expect(result.stderr.contains("3 converted, 1 failed"))
  }

  @Test func feedOverHTTPWithAuthorizationAndFailures() throws {
    let platform = FakePlatform.shared
    let prefix = FakePlatform.unique("misp-feed")
    let token = FakePlatform.unique("feed-token")
    func serve(_ name: String, status: Int = 200, failFirst: Int = 0) throws {
      let bytes = Array(try Data(contentsOf: Self.small.appendingPathComponent(name)))
      try platform.addFile(path: "\(prefix)/\(name)", bytes: bytes, token: token, status: status, failFirst: failFirst)
    }
    try serve("manifest.json")
    try serve("\(Self.a).json")
    try serve("\(Self.c).json", failFirst: 1)
    try serve("\(Self.d).json", status: 500)
    try serve("\(Self.e).json")
    let url = platform.baseURL + "/storage/get/\(prefix)/"
    let result = try ToolRunner.run(
      "cti-misp", ["--feed", url, "--import-from-date", "2024-01-01"],
      environment: ["MISP_FEED_HTTP_AUTHORIZATION_HEADER": "Bearer \(token)"], timeout: 120)
    #expect(result.status == 1, "\(result.stderr)")
    #expect(try Self.reportNames(result) == ["First event", "Third event", "Fifth event"])
    #expect(result.stderr.contains("event \(Self.b)") && result.stderr.contains("404"))
    #expect(result.stderr.contains("event \(Self.d)") && result.stderr.contains("500"))
    #expect(!result.stderr.contains(token))
    #expect(try platform.fileRequestCount(path: "\(prefix)/\(Self.c).json") == 2, "a 500 is retried")

    let refused = try ToolRunner.run("cti-misp", ["--feed", url], environment: ["MISP_FEED_HTTP_AUTHORIZATION_HEADER": "Bearer wrong"])
    #expect(refused.status == 77, "\(refused.stderr)")
  }

  @Test func s3ModeConvertsEveryObjectAndDeletesOnlyWhenAsked() throws {
    let moto = try MotoS3.shared()
    let client = S3Client(endpoint: moto.endpoint())
    let bucket = try moto.freshBucket(client)
    for name in ["\(Self.a).json", "\(Self.c).json", "\(Self.d).json"] {
      try client.putObject(
        bucket: bucket, key: "events/\(name)", body: Array(try Data(contentsOf: Self.small.appendingPathComponent(name))))
    }
    try client.putObject(bucket: bucket, key: "other/ignored.json", body: Array("{}".utf8))
    let folder = try TemporaryFolder()
    let environment = [
      "MISP_FEED_SOURCE_TYPE": "s3", "MISP_BUCKET_NAME": bucket, "MISP_BUCKET_PREFIX": "events/",
      "AWS_ENDPOINT_URL": "http://127.0.0.1:\(moto.port)", "AWS_ACCESS_KEY_ID": moto.accessKey,
      "AWS_SECRET_ACCESS_KEY": moto.secretKey,
    ]
    let keep = try ToolRunner.run("cti-misp", ["--state", folder.path + "/state.json"], environment: environment)
    #expect(keep.status == 1, "the broken object makes the run partial: \(keep.stderr)")
    #expect(try Self.reportNames(keep) == ["First event", "Third event"])
    #expect(keep.stderr.contains("s3://\(bucket)/events/\(Self.d).json"))
    #expect(!keep.stderr.contains(moto.secretKey))
    #expect(try client.listObjects(bucket: bucket, prefix: "events/").count == 3, "nothing deleted without --delete-consumed")
    #expect(try Self.state(folder)["last_file"] == .string("\(Self.c).json"))

    let consume = try ToolRunner.run("cti-misp", ["--delete-consumed"], environment: environment)
    #expect(try Self.reportNames(consume) == ["First event", "Third event"])
    let left = try client.listObjects(bucket: bucket, prefix: "").map(\.key).sorted()
    #expect(left == ["events/\(Self.d).json", "other/ignored.json"], "the failed object stays for a later run")
  }

  @Test func corpusFeedConvertsWithTheSameIDsInBothModes() throws {
    let arguments = ["--feed", Self.corpus.path, "--import-from-date", "2000-01-01", "--create-indicators"]
    let fixed = try ToolRunner.run("cti-misp", arguments, timeout: 300)
    #expect(fixed.status == 1, "the corpus lacks 5 manifest events")
    #expect(fixed.stdoutLines.count == 41)
    for missing in ["2c8ebd9a", "3493a2df", "454d994e", "46fe4d4c", "9ffe100e"] {
      #expect(fixed.stderr.contains("event \(missing)"))
    }
    #expect(fixed.stderr.contains("41 converted, 5 failed"))
    // Converting on several threads changes nothing in the output, its order included.
    let sequential = try ToolRunner.run("cti-misp", arguments + ["--jobs", "1"], timeout: 300)
    let threeJobs = try ToolRunner.run("cti-misp", arguments + ["--jobs", "3"], timeout: 300)
    #expect(sequential.stdoutText == fixed.stdoutText)
    #expect(threeJobs.stdoutText == fixed.stdoutText)
    #expect(sequential.stderr == fixed.stderr)
    let official = try ToolRunner.run("cti-misp", arguments + ["--compat", "official"], timeout: 300)
    #expect(official.stdoutLines.count == 41)
    /// The ids of one STIX type in the output, read without parsing the bundles.
    func ids(_ result: ToolResult, _ type: String) -> Set<String> {
      Set(result.stdoutText.components(separatedBy: "\"id\":\"" + type + "--").dropFirst().map { String($0.prefix(36)) })
    }
    #expect(ids(fixed, "report") == ids(official, "report"))
    #expect(ids(fixed, "report").count == 41)
    // Fixed mode trims values padded with spaces; every other indicator has the official id.
    // (The corpus's one filename|sha256 holds no `|`: both modes drop it.)
    var padded = 0
    for name in try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path) where name != "manifest.json" {
      guard name.hasSuffix(".json") else { continue }
      let event = try JSONParser.parse(Array(Data(contentsOf: Self.corpus.appendingPathComponent(name))))
      for attribute in event["Event"]?["Attribute"]?.arrayValue ?? [] {
        let value = attribute["value"]?.stringValue ?? ""
        if value != value.trimmingCharacters(in: .whitespaces) { padded += 1 }
      }
    }
    #expect(padded > 0)
    let onlyOfficial = ids(official, "indicator").subtracting(ids(fixed, "indicator"))
    #expect(onlyOfficial.count == padded)
    #expect(ids(fixed, "indicator").count == ids(official, "indicator").count)
  }

  @Test func outputIsValidSTIX() throws {
    let validator = ToolRunner.packageRoot.appendingPathComponent("scripts/validate-stix.py").path
    let probe = try ToolRunner.runProgram("/usr/bin/env", ["python3", "-c", "import stix2validator"])
    try #require(probe.status == 0, "stix2-validator 3.2.0 is missing: run scripts/install-deps")

    let fixtureFolder = ToolRunner.packageRoot.appendingPathComponent("Tests/CTICoreTests/Fixtures/misp")
    let events = try FileManager.default.contentsOfDirectory(atPath: fixtureFolder.path).sorted().map {
      try JSONParser.parse(Array(Data(contentsOf: fixtureFolder.appendingPathComponent($0)))).jsonText
    }
    let input = Array((events.joined(separator: "\n") + "\n").utf8)
    let all = [
      "--create-indicators", "--create-observables", "--create-object-observables",
      "--import-unsupported-observables-as-text", "--markings-from-tags",
    ]
    for mode in ["fixed", "official"] {
      let converted = try ToolRunner.run("cti-misp", all + ["--compat", mode], stdin: input)
      #expect(converted.stdoutLines.count == events.count)
      let folder = try TemporaryFolder()
      try folder.write("out.ndjson", converted.stdoutText)
      let report = try ToolRunner.runProgram("/usr/bin/env", ["python3", validator, folder.path + "/out.ndjson"])
      let summary = try JSONParser.parse(report.stdoutLines.last ?? "{}")
      if mode == "fixed" {
        #expect(summary["errors"] == 0, "\(report.stdoutText)")
      }
      #expect(summary["bundles"]?.intValue == events.count)
    }

    // The corpus, with big bundles sampled (the validator needs ~5 ms an object).
    let corpus = try ToolRunner.run(
      "cti-misp", ["--feed", Self.corpus.path, "--import-from-date", "2000-01-01"] + all, timeout: 300)
    let folder = try TemporaryFolder()
    try folder.write("corpus.ndjson", corpus.stdoutText)
    let report = try ToolRunner.runProgram(
      "/usr/bin/env", ["python3", validator, "--sample", "40", folder.path + "/corpus.ndjson"], timeout: 600)
    let summary = try JSONParser.parse(report.stdoutLines.last ?? "{}")
    #expect(summary["bundles"] == 41)
    #expect(summary["errors"] == 0, "\(report.stdoutText.prefix(4000))")
    // Input values kept verbatim (hostnames without a scheme in url attributes…) are tolerated
    // and counted by cti-misp's summary as well.
    #expect(corpus.stderr.contains("values kept verbatim"))
  }
}
