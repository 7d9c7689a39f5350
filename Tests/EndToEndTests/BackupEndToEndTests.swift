import Foundation
import CTICore
import Testing

/// Builds one stream-event line as cti-stream writes it.
func streamLine(
  _ event: String, id: String, createdAt: String = "2024-01-15T14:00:29.412Z", streamID: String = "1705327229123-0",
  fields: String = "", context: String? = nil
) -> String {
  let data = #"{"id":"\#(id)","spec_version":"2.1","type":"\#(id.components(separatedBy: "--")[0])","created":"2024-01-01T00:00:00Z"\#(fields),"extensions":{"extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba":{"extension_type":"property-extension","created_at":"\#(createdAt)"}}}"#
  let contextPart = context.map { #","context":\#($0)"# } ?? ""
  return #"{"id":"\#(streamID)","event":"\#(event)","version":"4","type":"\#(event)","scope":"external","data":\#(data)\#(contextPart)}"#
}

func stixID(_ type: String, _ n: Int) -> String {
  "\(type)--00000000-0000-4000-8000-" + String(format: "%012d", n)
}

@Suite struct BackupEndToEndTests {
  @Test func buildsTheTreeFromEventsInHourAndMinuteBuckets() throws {
    let folder = try TemporaryFolder()
    let lines = [
      streamLine("create", id: stixID("indicator", 1), createdAt: "2024-01-15T14:10:00Z"),
      streamLine("create", id: stixID("malware", 2), createdAt: "2024-01-15T14:40:00.5Z"),
      streamLine("create", id: stixID("relationship", 3), createdAt: "2024-01-15T16:00:00+02:00"),
      streamLine("update", id: stixID("indicator", 1), createdAt: "2024-01-15T14:10:00Z", fields: #","name":"v2""#),
    ].joined(separator: "\n") + "\n"
    let byHour = try ToolRunner.run("cti-backup", [folder.path + "/hour"], stdin: Array(lines.utf8))
    #expect(byHour.status == 0, "\(byHour.stderr)")
    #expect(byHour.stdout.isEmpty)
    #expect(folder.names("hour/opencti_data") == ["20240115T140000Z", "20240115T150000Z"])
    #expect(folder.names("hour/opencti_data/20240115T140000Z") == [stixID("indicator", 1) + ".json", stixID("relationship", 3) + ".json"])
    let updated = try #require(folder.read("hour/opencti_data/20240115T140000Z/\(stixID("indicator", 1)).json"))
    #expect(updated.hasPrefix(#"{"type":"bundle","objects":[{"id":"\#(stixID("indicator", 1))""#))
    #expect(updated.contains(#""name":"v2""#))
    #expect(byHour.stderr.contains("4 records: 4 written"))

    let byMinute = try ToolRunner.run(
      "cti-backup", ["--bucket", "minute"], stdin: Array(lines.utf8), environment: ["BACKUP_PATH": folder.path + "/minute"])
    #expect(byMinute.status == 0, "\(byMinute.stderr)")
    #expect(folder.names("minute/opencti_data") == ["20240115T140000Z", "20240115T141000Z", "20240115T144000Z"])
  }

  @Test func deletesAndMergesRemoveStaleFiles() throws {
    let folder = try TemporaryFolder()
    let target = stixID("malware", 10)
    let source = stixID("malware", 11)
    let lonely = stixID("indicator", 12)
    let sourceObject = #"{"id":"\#(source)","type":"malware","created":"2024-01-01T00:00:00Z","extensions":{"extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba":{"created_at":"2024-01-15T11:00:00Z"}}}"#
    let lines = [
      streamLine("create", id: target),
      streamLine("create", id: source, createdAt: "2024-01-15T11:00:00Z"),
      streamLine("create", id: lonely, createdAt: "2024-01-15T18:00:00Z"),
      streamLine("merge", id: target, context: #"{"patch":[],"sources":[\#(sourceObject)]}"#),
      streamLine("delete", id: lonely, createdAt: "2024-01-15T18:00:00Z"),
      #"{"id":"1705327234000-0","event":"heartbeat","data":{}}"#,
    ].joined(separator: "\n")
    let result = try ToolRunner.run("cti-backup", [folder.path], stdin: Array(lines.utf8))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(folder.names("opencti_data") == ["20240115T140000Z"])
    #expect(folder.names("opencti_data/20240115T140000Z") == [target + ".json"])
    #expect(result.stderr.contains("1 deleted"))
    #expect(result.stderr.contains("1 merged (1 source files removed)"))
    #expect(result.stderr.contains("1 ignored"))
  }

  @Test func badLinesAreReportedWithTheirNumberCountedAndSkipped() throws {
    let folder = try TemporaryFolder()
    let lines = [
      streamLine("create", id: stixID("indicator", 1)),
      "this is not json",
      #"{"id":"1-0","event":"create","data":{"id":"../../../tmp/evil","type":"x","created":"2024-01-01T00:00:00Z"}}"#,
      #"{"id":"1-0","event":"create","data":{"id":"indicator--00000000-0000-4000-8000-000000000002/../../x","type":"indicator"}}"#,
      #"{"id":"1-0","event":"create","data":{"type":"indicator"}}"#,
      streamLine("create", id: stixID("indicator", 3), createdAt: "not a date"),
      streamLine("create", id: stixID("indicator", 4)),
    ].joined(separator: "\n")
    let result = try ToolRunner.run("cti-backup", [folder.path], stdin: Array(lines.utf8))
    #expect(result.status == 1, "bad lines make the exit status 1")
    // Lines 3 to 5 fail alike: the first is shown, the repeats are counted with their lines.
    for number in [2, 3, 6] { #expect(result.stderr.contains("line \(number):"), "line \(number) reported") }
    #expect(result.stderr.contains("the same error 2 more times, for lines 4–5"))
    #expect(!result.stderr.contains("line 1:"))
    #expect(folder.names("opencti_data/20240115T140000Z") == [stixID("indicator", 1) + ".json", stixID("indicator", 4) + ".json"])
    #expect(!FileManager.default.fileExists(atPath: "/tmp/evil.json"))
    #expect(result.stderr.contains("5 bad"))

    let strict = try ToolRunner.run("cti-backup", ["--strict", folder.path], stdin: Array(lines.utf8))
    #expect(strict.status == 65)
    #expect(strict.stderr.contains("line 2:"))
    #expect(!strict.stderr.contains("line 3:"))
  }

  @Test func configFromEnvironmentAndConfigYAML() throws {
    let folder = try TemporaryFolder()
    let line = Array((streamLine("create", id: stixID("indicator", 1)) + "\n").utf8)
    try folder.write("config.yml", "backup:\n  protocol: 'local'\n  path: '\(folder.path)'\n")
    let fromFile = try ToolRunner.run("cti-backup", [], stdin: line, currentDirectory: folder.url)
    #expect(fromFile.status == 0, "\(fromFile.stderr)")
    #expect(folder.names("opencti_data") == ["20240115T140000Z"])

    let wrongProtocol = try ToolRunner.run(
      "cti-backup", [folder.path], stdin: line, environment: ["BACKUP_PROTOCOL": "s3"])
    #expect(wrongProtocol.status == 78)
    #expect(wrongProtocol.stderr.contains("'s3' is not one of local"))

    let none = try ToolRunner.run("cti-backup", [], stdin: line)
    #expect(none.status == 78)
    #expect(none.stderr.contains("BACKUP_PATH"))
  }

  @Test func restoreWritesOneBundlePerFolderInOrderWithReferencesPulledIn() throws {
    let folder = try TemporaryFolder()
    let identity = stixID("identity", 1)
    let malware = stixID("malware", 2)
    let indicator = stixID("indicator", 3)
    let relation = stixID("relationship", 4)
    let lines = [
      // The relationship lands in the first folder, its ends only later.
      streamLine(
        "create", id: relation, createdAt: "2024-01-15T10:00:00Z",
        fields: #","source_ref":"\#(indicator)","target_ref":"\#(malware)","x_opencti_ref":"\#(stixID("report", 9))""#),
      streamLine("create", id: indicator, createdAt: "2024-01-15T12:00:00Z", fields: #","created_by_ref":"\#(identity)""#),
      streamLine("create", id: malware, createdAt: "2024-01-15T13:00:00Z", fields: #","object_marking_refs":["\#(stixID("marking-definition", 8))"]"#),
      streamLine("create", id: identity, createdAt: "2024-01-15T14:00:00Z"),
    ].joined(separator: "\n")
    let backup = try ToolRunner.run("cti-backup", [folder.path], stdin: Array(lines.utf8))
    #expect(backup.status == 0, "\(backup.stderr)")

    let restored = try ToolRunner.run("cti-backup", ["restore", folder.path])
    #expect(restored.status == 0, "\(restored.stderr)")
    let bundles = try restored.stdoutLines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    #expect(bundles.count == 4)
    let ids = bundles.map { ($0["objects"] as! [[String: Any]]).map { $0["id"] as! String } }
    // identity before the indicator that it created, both before the relationship; the marking
    // and the x_ reference are in no folder and not followed.
    #expect(ids[0] == [identity, indicator, malware, relation])
    #expect(ids[1] == [identity, indicator], "a reference stored only later is pulled in again")
    #expect(ids[2] == [malware])
    #expect(ids[3] == [identity])
    #expect(bundles.allSatisfy { $0["type"] as? String == "bundle" })
    let bundleIDs = bundles.map { $0["id"] as! String }
    #expect(Set(bundleIDs).count == 4)
    let again = try ToolRunner.run("cti-backup", ["restore", folder.path])
    #expect(again.stdoutLines == restored.stdoutLines, "restoring twice gives the same bundles and ids")
    #expect(restored.stderr.contains("4 folders restored"))
  }

  @Test func restoreResumesFromItsStateAndReadsOfficialMinuteFolders() throws {
    let folder = try TemporaryFolder()
    // Official layout: minute folders, pretty-printed ASCII JSON without trailing newline.
    for (minute, n) in [("20240115T140000Z", 1), ("20240115T140100Z", 2), ("20240115T140200Z", 3)] {
      let id = stixID("indicator", n)
      try folder.write(
        "opencti_data/\(minute)/\(id).json",
        "{\n    \"type\": \"bundle\",\n    \"objects\": [\n        {\n            \"id\": \"\(id)\",\n            \"type\": \"indicator\",\n            \"name\": \"caf\\u00e9\"\n        }\n    ]\n}")
    }
    try folder.write("opencti_data/notes/readme.json", "{}")
    try folder.write("opencti_data/20240115T140100Z/broken.json", "{not json")
    let state = folder.path + "/state.json"
    let first = try ToolRunner.run("cti-backup", ["restore", "--state", state, folder.path])
    #expect(first.status == 1, "an unreadable file is reported: \(first.stderr)")
    #expect(first.stderr.contains("broken.json"))
    #expect(first.stdoutLines.count == 3)
    #expect(folder.read("state.json") == #"{"current":"20240115T140200Z"}"# + "\n")

    try folder.write("state.json", "{broken")
    let corrupt = try ToolRunner.run("cti-backup", ["restore", "--state", state, folder.path])
    #expect(corrupt.status == 78)
    #expect(corrupt.stderr.contains("state file"))
    #expect(corrupt.stdout.isEmpty)

    try folder.write("state.json", #"{"current":"20240115T140000Z"}"#)
    let resumed = try ToolRunner.run("cti-backup", ["restore", "--state", state, folder.path])
    #expect(resumed.stdoutLines.count == 2)
    #expect(resumed.stdoutLines.first?.contains(stixID("indicator", 2)) == true)
  }

  @Test func backupThenRestoreRoundTripsEveryObjectByteForByte() throws {
    let folder = try TemporaryFolder()
    var lines: [String] = []
    var expected: [String: String] = [:]
    for n in 0..<300 {
      let id = stixID(n % 3 == 0 ? "malware" : "indicator", n)
      let minute = String(format: "%02d", n % 60)
      let line = streamLine(
        "create", id: id, createdAt: "2024-01-15T1\(n % 4):\(minute):00.000Z",
        fields: #","name":"obj \#(n) é\u2028 \"quoted\"","labels":["a","b"]"#)
      lines.append(line)
      let data = try #require(line.range(of: #""data":"#)).upperBound
      expected[id] = String(line[data...].dropLast())
    }
    let backup = try ToolRunner.run("cti-backup", [folder.path], stdin: Array(lines.joined(separator: "\n").utf8))
    #expect(backup.status == 0, "\(backup.stderr)")
    let restored = try ToolRunner.run("cti-backup", ["restore", folder.path])
    var seen = 0
    for line in restored.stdoutLines {
      let prefix = #"{"type":"bundle","id":"bundle--"#
      #expect(line.hasPrefix(prefix))
      let objectsStart = try #require(line.range(of: #","objects":["#)).upperBound
      let body = line[objectsStart...].dropLast(2)
      let objects = try JSONSerialization.jsonObject(with: Data(("[" + body + "]").utf8)) as! [[String: Any]]
      for object in objects {
        let id = object["id"] as! String
        #expect(body.contains(try #require(expected[id])), "\(id) kept byte for byte")
        seen += 1
      }
    }
    #expect(seen == 300)
  }

  @Test func closedStdoutIsACleanExit() throws {
    let folder = try TemporaryFolder()
    for n in 0..<50 {
      try folder.write("opencti_data/2024011\(n / 10)T1\(n % 10)0000Z/\(stixID("indicator", n)).json", #"{"type":"bundle","objects":[{"id":"\#(stixID("indicator", n))"}]}"#)
    }
    let script = "'\(ToolRunner.binDirectory.path)/cti-backup' restore '\(folder.path)' | head -n 1 >/dev/null; echo ${PIPESTATUS[0]}"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", script]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let status = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(status.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
  }

  @Test func logLevelAndJSONLogLinesOnStderr() throws {
    let folder = try TemporaryFolder()
    let lines = Array((streamLine("create", id: stixID("indicator", 1)) + "\nnot json\n").utf8)
    let json = try ToolRunner.run(
      "cti-backup", ["--log-format", "json", folder.path], stdin: lines, environment: ["CONNECTOR_LOG_LEVEL": "info"])
    #expect(json.status == 1)
    let records = json.stderr.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    #expect(!records.isEmpty && records.allSatisfy { $0 != nil }, "every stderr line is a JSON object: \(json.stderr)")
    #expect(records.contains { $0?["level"] as? String == "error" && ($0?["message"] as? String)?.hasPrefix("line 2:") == true })
    #expect(records.contains { $0?["level"] as? String == "info" && $0?["tool"] as? String == "cti-backup" })

    let quiet = try ToolRunner.run("cti-backup", [folder.path], stdin: lines, environment: ["CONNECTOR_LOG_LEVEL": "error"])
    #expect(quiet.stderr.contains("line 2:"))
    #expect(!quiet.stderr.contains("records:"), "the info summary is below the error level")
    let bad = try ToolRunner.run("cti-backup", ["--log-level", "loud", folder.path], stdin: lines)
    #expect(bad.status == 64, "a bad option value is a usage error")
    let badEnv = try ToolRunner.run("cti-backup", [folder.path], stdin: lines, environment: ["CONNECTOR_LOG_LEVEL": "loud"])
    #expect(badEnv.status == 78, "a bad environment value is a configuration error")
  }

  @Test func fsyncWritesTheSameTree() throws {
    let folder = try TemporaryFolder()
    let lines = (1...20).map { streamLine("create", id: stixID("indicator", $0)) }.joined(separator: "\n")
    let result = try ToolRunner.run("cti-backup", ["--fsync", folder.path], stdin: Array(lines.utf8))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(folder.names("opencti_data/20240115T140000Z").count == 20)
    let viaEnv = try ToolRunner.run(
      "cti-backup", [folder.path], stdin: Array(lines.utf8), environment: ["BACKUP_FSYNC": "yes"])
    #expect(viaEnv.status == 0)
    let wrong = try ToolRunner.run("cti-backup", [folder.path], stdin: Array(lines.utf8), environment: ["BACKUP_FSYNC": "often"])
    #expect(wrong.status == 78)
  }

  @Test func helpShowsExamples() throws {
    let help = try ToolRunner.run("cti-backup", ["--help"])
    #expect(help.status == 0)
    #expect(help.stdoutText.contains("cti-stream | cti-backup /backup"))
    #expect(help.stdoutText.contains("Exit status:"))
    #expect(help.stdoutText.contains(CTICore.ExitStatus.table))
    for tool in ["cti-backup", "cti-stream", "cti-misp", "cti-push", "cti-diode"] {
      let version = try ToolRunner.run(tool, ["--version"])
      #expect(version.status == 0 && version.stdoutText.hasPrefix("0."), "\(tool) --version")
    }
  }
}
