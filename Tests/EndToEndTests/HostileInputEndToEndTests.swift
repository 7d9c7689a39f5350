import CTICore
import CTITestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The built tools on input from outside our control (issue 11): special files, long and
/// non-UTF-8 names, extreme timestamps, an answer announcing 2 GB, a broken config.yml holding
/// secrets. Every run has a memory ceiling, so an unbounded buffer fails the test instead of the
/// machine, and a timeout, so a blocking read fails it too.
@Suite struct HostileInputEndToEndTests {
  let platform = FakePlatform.shared

  /// Writes `content` under a name given as bytes (which need not be UTF-8).
  static func writeRaw(_ folder: String, _ name: [UInt8], _ content: [UInt8]) throws {
    var path = Array((folder + "/").utf8) + name
    path.append(0)
    let descriptor = path.withUnsafeBufferPointer { buffer in
      buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { open($0, O_WRONLY | O_CREAT, 0o644) }
    }
    guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown) }
    _ = content.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
  }

  /// A FIFO; a tool still blocked opening or reading it is freed by a writer after `seconds`,
  /// so that the failure shows as a test failure rather than a hang.
  static func fifo(_ path: String, unblockAfter seconds: Double = 10) {
    mkfifo(path, 0o644)
    Thread.detachNewThread {
      Thread.sleep(forTimeInterval: seconds)
      let descriptor = open(path, O_WRONLY | O_NONBLOCK)
      if descriptor >= 0 { close(descriptor) }
    }
  }

  static let longName = String(repeating: "l", count: 245) + ".json"
  static let latin1Name: [UInt8] = Array("caf".utf8) + [0xE9] + Array("-feed.json".utf8)

  // MARK: cti-diode import

  @Test func diodeImportSkipsNothingSilentlyAndBlocksOnNothing() throws {
    let folder = try TemporaryFolder()
    try Data(DiodeDirectoryEndToEndTests.diodeFile("good")).write(to: folder.url.appendingPathComponent("good.json"))
    Self.fifo(folder.path + "/x.json")
    symlink("/dev/zero", folder.path + "/zero.json")
    try Data("{\"connector\": 1}".utf8).write(to: folder.url.appendingPathComponent(Self.longName))
    try Self.writeRaw(folder.path, Self.latin1Name, DiodeDirectoryEndToEndTests.diodeFile("latin"))
    let started = Date()
    let result = try ToolRunner.run(
      "cti-diode", ["import", folder.path], timeout: 30, memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(!result.timedOut && Date().timeIntervalSince(started) < 8, "a special file blocked the import")
    #expect(result.status == 1, "\(result.stderr)")
    #expect(try DiodeDirectoryEndToEndTests.names(result.stdoutLines).sorted() == ["good", "latin"])
    #expect(result.stderr.contains("x.json: not a regular file (a FIFO)"), "\(result.stderr)")
    #expect(result.stderr.contains("zero.json: not a regular file (a symbolic link)"), "\(result.stderr)")
    #expect(result.stderr.contains("imported 2 files (3 rejected)"), "\(result.stderr)")
    let rejected = folder.names(".rejected")
    #expect(rejected.count == 6, "\(rejected)")
    #expect(rejected.allSatisfy { $0.utf8.count <= 255 })
    #expect(folder.names("") == [".rejected"])
  }

  @Test func aLongInvalidNameIsQuarantinedOnceWhilePolling() throws {
    let folder = try TemporaryFolder()
    try Data("not json".utf8).write(to: folder.url.appendingPathComponent(Self.longName))
    try Data(DiodeDirectoryEndToEndTests.diodeFile("good")).write(to: folder.url.appendingPathComponent("good.json"))
    // Polls every 0.3 s until the runner's timeout stops it with SIGTERM.
    let result = try ToolRunner.run(
      "cti-diode", ["import", folder.path, "--interval", "PT0.3S"], timeout: 3, memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(result.stdoutLines.count == 1, "\(result.stderr)")
    #expect(result.stderr.components(separatedBy: "lllll.json").count - 1 <= 2, "reported more than once: \(result.stderr)")
    #expect(!result.stderr.contains("File name too long"), "\(result.stderr)")
    #expect(folder.names(".rejected").count == 2)
  }

  @Test func diodeFilesOverTheLimitAreRefusedUnread() throws {
    let folder = try TemporaryFolder()
    try Data(DiodeDirectoryEndToEndTests.diodeFile(String(repeating: "x", count: 5000))).write(
      to: folder.url.appendingPathComponent("big.json"))
    try Data(DiodeDirectoryEndToEndTests.diodeFile("small")).write(to: folder.url.appendingPathComponent("small.json"))
    let result = try ToolRunner.run(
      "cti-diode", ["import", folder.path], environment: ["CTI_MAX_FILE_BYTES": "4K"],
      memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(result.status == 1, "\(result.stderr)")
    #expect(try DiodeDirectoryEndToEndTests.names(result.stdoutLines) == ["small"])
    #expect(result.stderr.contains("over the limit of 4096"), "\(result.stderr)")
    let flag = try ToolRunner.run("cti-diode", ["import", folder.path, "--max-file-bytes", "nonsense"])
    #expect(flag.status == 64, "\(flag.stderr)")
  }

  // MARK: cti-backup restore

  @Test func restoreReportsSpecialFilesAndNamesAndRestoresTheRest() throws {
    let root = try TemporaryFolder()
    let bucket = root.path + "/opencti_data/20240115T140000Z"
    try FileManager.default.createDirectory(atPath: bucket, withIntermediateDirectories: true)
    let id = "indicator--c2ec1f5e-0000-4000-8000-00000000000a"
    let object = #"{"type":"indicator","spec_version":"2.1","id":"\#(id)","created":"2024-01-15T14:00:00Z"}"#
    try Data(#"{"type":"bundle","objects":[\#(object)]}"#.utf8).write(to: URL(fileURLWithPath: bucket + "/\(id).json"))
    Self.fifo(bucket + "/indicator--c2ec1f5e-0000-4000-8000-00000000000b.json")
    symlink("/dev/zero", bucket + "/indicator--c2ec1f5e-0000-4000-8000-00000000000c.json")
    try Data("nope".utf8).write(to: URL(fileURLWithPath: bucket + "/" + Self.longName))
    try Self.writeRaw(bucket, Self.latin1Name, Array(#"{"type":"bundle","objects":[]}"#.utf8))
    let started = Date()
    let result = try ToolRunner.run(
      "cti-backup", ["restore", root.path], timeout: 30, memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(!result.timedOut && Date().timeIntervalSince(started) < 8, "a special file blocked the restore")
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stdoutLines.count == 1)
    let bundle = try JSONParser.parse(result.stdoutLines.first ?? "{}")
    #expect(bundle["objects"]?.arrayValue?.map { $0["id"]?.stringValue } == [id])
    #expect(result.stderr.contains("00000000000b.json: not a regular file (a FIFO)"), "\(result.stderr)")
    #expect(result.stderr.contains("00000000000c.json: not a regular file (a symbolic link)"), "\(result.stderr)")
    #expect(result.stderr.contains("caf%E9-feed.json: the file name is not valid UTF-8"), "\(result.stderr)")
    #expect(result.stderr.contains(String(Self.longName.suffix(20))), "\(result.stderr)")
    #expect(result.stderr.components(separatedBy: "; not restored\n").count - 1 == 4, "\(result.stderr)")
  }

  // MARK: cti-push

  @Test func pushRefusesAnAnswerAnnouncingTwoGigabytes() throws {
    let token = FakePlatform.unique("huge-answer")
    try platform.createGraphQLPlatform(token: token)
    try platform.injectGraphQLFault(token: token, operation: "About", count: 100, .huge(2_147_483_648))
    let bundle = #"{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[{"type":"identity","spec_version":"2.1","id":"identity--00000000-0000-4000-8000-000000000001","name":"x","identity_class":"organization"}]}"#
    let started = Date()
    let result = try ToolRunner.run(
      "cti-push", [], stdin: Array((bundle + "\n").utf8),
      environment: ["OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token, "CONNECTOR_ID": UUID().uuidString.lowercased()],
      timeout: 60, memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(!result.timedOut && Date().timeIntervalSince(started) < 30)
    #expect(result.stderr.contains("larger than 16777216 bytes"), "\(result.stderr)")
    // A refusal, not a crash from a failed allocation.
    #expect([69, 76].contains(result.status), "status \(result.status): \(result.stderr)")
    #expect(!result.stderr.contains(token))
  }

  // MARK: cti-misp

  static func mispEvent(uuid: String, timestamp: String = "1704067200", attribute: String = "1704067200") -> String {
    #"{"Event":{"uuid":"\#(uuid)","info":"event \#(uuid)","date":"2024-01-01","timestamp":"\#(timestamp)","Orgc":{"name":"O"},"Attribute":[{"uuid":"\#(uuid)-a","type":"domain","category":"Network activity","value":"example.com","timestamp":"\#(attribute)"}],"EventReport":[{"name":"n","content":"c","timestamp":"\#(timestamp)"}]}}"#
  }

  @Test func mispStdinSkipsEventsWithExtremeTimestamps() throws {
    let lines = [
      Self.mispEvent(uuid: "bad-event", timestamp: "-9223372036854775808"),
      Self.mispEvent(uuid: "bad-attribute", attribute: "9223372036854775807"),
      Self.mispEvent(uuid: "good"),
    ]
    let result = try ToolRunner.run(
      "cti-misp", [], stdin: Array(lines.map { $0 + "\n" }.joined().utf8), timeout: 30,
      memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stdoutLines.count == 1)
    #expect(result.stderr.contains("line 1: Event.timestamp -9223372036854775808 is outside the years 0001 to 9999"), "\(result.stderr)")
    #expect(result.stderr.contains("line 2: Attribute[0].timestamp 9223372036854775807"), "\(result.stderr)")
  }

  @Test func mispFeedGoesOnPastBadTimestampsAndTheStateNeverPassesThem() throws {
    let folder = try TemporaryFolder()
    let feed = folder.path + "/feed"
    try FileManager.default.createDirectory(atPath: feed, withIntermediateDirectories: true)
    let manifest = #"""
      {"bad-manifest":{"timestamp":"99999999999999999999999"},"neg-manifest":{"timestamp":-9223372036854775808},
       "bad-event":{"timestamp":1704067100},"good1":{"timestamp":1704067000},"good2":{"timestamp":1704067300}}
      """#
    try Data(manifest.utf8).write(to: URL(fileURLWithPath: feed + "/manifest.json"))
    try Data(Self.mispEvent(uuid: "bad-event", attribute: "-9223372036854775808").utf8).write(
      to: URL(fileURLWithPath: feed + "/bad-event.json"))
    for uuid in ["good1", "good2"] {
      try Data(Self.mispEvent(uuid: uuid).utf8).write(to: URL(fileURLWithPath: feed + "/\(uuid).json"))
    }
    let state = folder.path + "/state.json"
    let arguments = ["--feed", feed, "--state", state, "--import-from-date", "2023-01-01"]
    let first = try ToolRunner.run("cti-misp", arguments, timeout: 30, memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(first.status == 1, "\(first.stderr)")
    #expect(first.stdoutLines.count == 2)
    for uuid in ["bad-manifest", "neg-manifest", "bad-event"] {
      #expect(first.stderr.contains("event \(uuid):"), "\(first.stderr)")
    }
    // The state stops before the failed event; the next run tries it (and the bad entries) again.
    let saved = try JSONParser.parse(folder.read("state.json") ?? "null")
    #expect(saved["last_event_timestamp"] == .number("1704067000"))
    let second = try ToolRunner.run("cti-misp", arguments, timeout: 30, memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(second.status == 1 && second.stdoutLines.count == 1, "\(second.stderr)")
    #expect(second.stderr.contains("event bad-manifest:"), "\(second.stderr)")
  }

  @Test func mispFeedFilesOverTheLimitFailTheirEventUnread() throws {
    let folder = try TemporaryFolder()
    let feed = try PipelineFixtures.writeMISPFeed(3, to: folder.path + "/feed")
    // Event 2 grows past the limit given below; the others stay under it.
    let big = feed + "/\(PipelineFixtures.mispEventUUID(2)).json"
    let padded = try String(contentsOfFile: big, encoding: .utf8).replacingOccurrences(
      of: "{\"Event\":{", with: "{\"Event\":{\"padding\":\"\(String(repeating: "x", count: 20_000))\",")
    try Data(padded.utf8).write(to: URL(fileURLWithPath: big))
    let arguments = ["--feed", feed, "--import-from-date", "2000-01-01", "--max-file-bytes", "16K"]
    let result = try ToolRunner.run("cti-misp", arguments, timeout: 30, memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stdoutLines.filter { $0.contains("\"type\":\"bundle\"") }.count == 2, "\(result.stderr)")
    #expect(result.stderr.contains("event \(PipelineFixtures.mispEventUUID(2)):") && result.stderr.contains("File too large"), "\(result.stderr)")
    let environment = try ToolRunner.run(
      "cti-misp", ["--feed", feed, "--import-from-date", "2000-01-01"], environment: ["CTI_MAX_FILE_BYTES": "16K"], timeout: 30)
    #expect(environment.status == 1 && environment.stderr.contains("File too large"), "\(environment.stderr)")
  }

  @Test func anEndlessConfigFileIsRefusedAtItsLimit() throws {
    // /dev/zero never ends: it is refused at the limit instead of filling memory.
    let result = try ToolRunner.run("cti-push", ["--dry-run", "--config", "/dev/zero"], timeout: 30, memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(result.status == 78, "\(result.stderr)")
    #expect(result.stderr.contains("cannot read config file /dev/zero: File too large"), "\(result.stderr)")
  }

  // MARK: config.yml

  static let secret = "tok-9c0ffee5-SECRET-77aa"

  /// Every tool that reads config.yml, and a YAML error on each kind of secret line.
  static let configCases: [(tool: String, arguments: [String], yaml: String)] = [
    ("cti-stream", [], "opencti:\n  url: http://127.0.0.1:9\n  token: \"\(secret)\n"),
    ("cti-backup", ["/tmp"], "opencti:\n  token: \(secret): x\n"),
    ("cti-backup", ["restore", "/tmp"], "opencti:\n\ttoken: \(secret)\n"),
    ("cti-push", ["--dry-run"], "opencti:\n  token: '\(secret)\n"),
    ("cti-push", ["--dry-run"], "mq:\n  pass: \(secret)\n   bad: indent\n"),
    ("cti-misp", [], "misp_feed:\n  http_authorization_header: Basic \(secret)\n - x\n"),
    ("cti-misp", [], "misp_feed:\n  aws:\n    secret_access_key: [\(secret)\n"),
    ("cti-diode", ["import", "/tmp"], "s3:\n  secret_key: *\(secret)\n"),
    ("cti-diode", ["export", "/tmp"], "diode_import:\n  s3_secret_key: \(secret)\n   bad: indent\n"),
  ]

  @Test(arguments: 0..<configCases.count)
  func aBrokenConfigNeverPrintsTheSecretOnItsLine(_ index: Int) throws {
    let (tool, arguments, yaml) = Self.configCases[index]
    let folder = try TemporaryFolder()
    try Data(yaml.utf8).write(to: folder.url.appendingPathComponent("config.yml"))
    let result = try ToolRunner.run(
      tool, arguments, currentDirectory: folder.url, timeout: 20, memoryLimit: ToolRunner.hostileMemoryLimit)
    #expect(result.status == 78, "\(tool): \(result.stderr)")
    #expect(result.stderr.contains("not valid YAML: line"), "\(tool): \(result.stderr)")
    #expect(!result.stderr.contains("SECRET"), "\(tool) printed the secret: \(result.stderr)")
  }
}
