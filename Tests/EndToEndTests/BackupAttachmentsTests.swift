import CTITestSupport
import Foundation
import Testing

/// cti-backup with a platform: attachments listed in the OpenCTI extension are downloaded from
/// the fake platform's /storage/get and stored base64 in `data`.
@Suite struct BackupAttachmentsTests {
  let platform = FakePlatform.shared

  func eventWithFiles(id: String, files: [(name: String, uri: String, data: String?)]) -> String {
    let entries = files.map { file in
      #"{"name":"\#(file.name)","uri":"\#(file.uri)","version":"2024-01-15T14:00:29.412Z","mime_type":"application/pdf""#
        + (file.data.map { #","data":"\#($0)""# } ?? "") + "}"
    }
    return streamLine(
      "create", id: id, fields: "",
      context: nil
    ).replacingOccurrences(
      of: #""extension_type":"property-extension","#,
      with: #""extension_type":"property-extension","files":[\#(entries.joined(separator: ","))],"#)
  }

  func files(in folder: TemporaryFolder, id: String) throws -> [[String: Any]] {
    let text = try #require(folder.read("opencti_data/20240115T140000Z/\(id).json"))
    let bundle = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    let object = (bundle["objects"] as! [[String: Any]])[0]
    let extensions = object["extensions"] as! [String: Any]
    let platformExtension = extensions["extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"] as! [String: Any]
    return platformExtension["files"] as! [[String: Any]]
  }

  @Test func downloadsFilesChecksStatusAndKeepsExistingData() throws {
    let token = FakePlatform.unique("token")
    let good = FakePlatform.unique("import/Indicator/a") + "/report.pdf"
    let flaky = FakePlatform.unique("import/Indicator/b") + "/flaky.bin"
    let missing = FakePlatform.unique("import/Indicator/c") + "/gone.pdf"
    let content: [UInt8] = [0x25, 0x50, 0x44, 0x46, 0x00, 0xFF, 0x0A]
    try platform.addFile(path: good, bytes: content, token: token)
    try platform.addFile(path: flaky, bytes: Array("second try".utf8), token: token, failFirst: 1)
    try platform.addFile(path: missing, bytes: Array("<html>not found</html>".utf8), token: token, status: 404)

    let id = stixID("indicator", 500)
    let line = eventWithFiles(
      id: id,
      files: [
        ("report.pdf", "/storage/get/\(good)", nil),
        ("flaky.bin", "/storage/get/\(flaky)", nil),
        ("gone.pdf", "/storage/get/\(missing)", nil),
        ("kept.txt", "unknown", "a2VwdA=="),
        ("odd.txt", "/elsewhere/odd.txt", nil),
      ])
    let other = stixID("indicator", 501)
    let folder = try TemporaryFolder()
    let result = try ToolRunner.run(
      "cti-backup", [folder.path], stdin: Array((line + "\n" + streamLine("create", id: other)).utf8),
      environment: ["OPENCTI_URL": platform.baseURL + "/", "OPENCTI_TOKEN": token])
    #expect(result.status == 1, "failed downloads are errors: \(result.stderr)")
    #expect(!result.stderr.contains(token), "the token is never printed")
    #expect(result.stderr.contains("gone.pdf"))
    #expect(result.stderr.contains("HTTP 404"))
    #expect(result.stderr.contains("odd.txt"))
    #expect(result.stderr.contains("attachments: 2 fetched, 2 failed"))

    let stored = try files(in: folder, id: id)
    #expect(stored.map { $0["name"] as! String } == ["report.pdf", "flaky.bin", "gone.pdf", "kept.txt", "odd.txt"])
    #expect(stored[0]["data"] as? String == Data(content).base64EncodedString())
    #expect(stored[0]["uri"] as? String == "/storage/get/\(good)")
    #expect(stored[1]["data"] as? String == Data("second try".utf8).base64EncodedString())
    #expect(stored[2]["data"] == nil, "an error page is never stored as the file")
    #expect(stored[3]["data"] as? String == "a2VwdA==")
    #expect(stored[4]["data"] == nil)
    #expect(try platform.fileRequestCount(path: good) == 1)
    #expect(try platform.fileRequestCount(path: flaky) == 2)
    #expect(folder.names("opencti_data/20240115T140000Z").contains(other + ".json"), "the next event is not lost")
  }

  /// OpenCTI puts file names in the uri as they are; each path segment is percent-encoded as
  /// pycti's requests sends it, so names with spaces, `#` or accents are fetched (issue 10).
  @Test func fileNamesWithSpacesAndOtherCharactersAreFetched() throws {
    let token = FakePlatform.unique("token")
    let names = ["schema incidents.csv", "rapport é #2?.pdf", "100% (final)+;=@.txt"]
    let base = FakePlatform.unique("import/Incident/d")
    for (n, name) in names.enumerated() {
      try platform.addFile(path: base + "/" + name, bytes: Array("file \(n)".utf8), token: token)
    }
    let id = stixID("incident", 503)
    let line = eventWithFiles(id: id, files: names.map { ($0, "/storage/get/\(base)/\($0)", nil) })
    let folder = try TemporaryFolder()
    let result = try ToolRunner.run(
      "cti-backup", [folder.path], stdin: Array(line.utf8),
      environment: ["OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("attachments: 3 fetched, 0 failed"))
    let stored = try files(in: folder, id: id)
    for (n, name) in names.enumerated() {
      #expect(stored[n]["data"] as? String == Data("file \(n)".utf8).base64EncodedString(), "\(name)")
      #expect(stored[n]["uri"] as? String == "/storage/get/\(base)/\(name)", "the uri is kept as it came")
    }
  }

  @Test func withoutAPlatformObjectsAreStoredAsTheyCame() throws {
    let id = stixID("indicator", 502)
    let line = eventWithFiles(id: id, files: [("report.pdf", "/storage/get/x/report.pdf", nil)])
    let folder = try TemporaryFolder()
    let result = try ToolRunner.run("cti-backup", [folder.path], stdin: Array(line.utf8))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try files(in: folder, id: id)[0]["data"] == nil)
    let noFetch = try ToolRunner.run(
      "cti-backup", ["--no-attachments", folder.path], stdin: Array(line.utf8),
      environment: ["OPENCTI_URL": "http://127.0.0.1:9", "OPENCTI_TOKEN": "t"])
    #expect(noFetch.status == 0, "\(noFetch.stderr)")
  }
}

/// The pipeline issue 3 names: `cti-stream | cti-backup` against the fake platform, attachments
/// included (one of them missing on the platform).
@Suite struct StreamToBackupPipelineTests {
  let platform = FakePlatform.shared

  @Test func streamIntoBackupStoresObjectsWithTheirAttachments() throws {
    let token = FakePlatform.unique("token")
    let present = FakePlatform.unique("import/Report/r1") + "/notes.txt"
    let absent = FakePlatform.unique("import/Report/r1") + "/missing.pdf"
    try platform.addFile(path: present, bytes: Array("attached text".utf8), token: token)
    try platform.addFile(path: absent, bytes: Array("not here".utf8), token: token, status: 404)

    let report = stixID("report", 700)
    let indicator = stixID("indicator", 701)
    func payload(_ line: String) -> String {
      // A stream line without its "id"/"event" prefix is the platform's payload.
      let start = line.range(of: #","version":"#)!.lowerBound
      return "{" + line[line.index(after: start)...]
    }
    let withFiles = BackupAttachmentsTests().eventWithFiles(
      id: report,
      files: [("notes.txt", "/storage/get/\(present)", nil), ("missing.pdf", "/storage/get/\(absent)", nil)])
    var stream = FakePlatform.Stream()
    stream.token = token
    stream.events = [
      FakePlatform.Event(id: "1705327229000-0", event: "create", data: payload(withFiles)),
      FakePlatform.Event(id: "1705327229001-0", event: "create", data: payload(streamLine("create", id: indicator))),
      FakePlatform.Event(id: "1705327229002-0", event: "delete", data: payload(streamLine("delete", id: indicator))),
    ]
    stream.hold = false
    stream.heartbeat = 0
    try platform.install(stream)

    let folder = try TemporaryFolder()
    let bin = ToolRunner.binDirectory.path
    let script =
      "'\(bin)/cti-stream' --recover false --max-events 3 | '\(bin)/cti-backup' '\(folder.path)'; echo \"${PIPESTATUS[0]} ${PIPESTATUS[1]}\" > '\(folder.path)/status'"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", script]
    process.environment = [
      "PATH": "/usr/bin:/bin", "OPENCTI_URL": platform.baseURL, "OPENCTI_TOKEN": token,
      "CONNECTOR_LIVE_STREAM_ID": stream.name,
    ]
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(folder.read("status")?.trimmingCharacters(in: .whitespacesAndNewlines) == "0 1", "the missing file makes cti-backup exit 1: \(stderr)")
    #expect(stderr.contains("missing.pdf") && stderr.contains("HTTP 404"))
    #expect(!stderr.contains(token))
    #expect(folder.names("opencti_data/20240115T140000Z") == [report + ".json"], "the indicator was created then deleted")
    let stored = try BackupAttachmentsTests().files(in: folder, id: report)
    #expect(stored[0]["data"] as? String == Data("attached text".utf8).base64EncodedString())
    #expect(stored[1]["data"] == nil)
  }
}
