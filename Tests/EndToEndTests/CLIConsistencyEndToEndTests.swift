import CTITestSupport
import Foundation
import Testing

/// Flags that mean the same thing are spelled the same in every tool, and the older spellings
/// still work (hidden). Runs are bounded: nothing here waits for a server.
@Suite struct CLIConsistencyEndToEndTests {
  static let unreachable = "http://127.0.0.1:9"

  /// Each tool that talks HTTP(S), set up so that resolving its settings reaches the TLS ones.
  static func httpTools(_ folder: String) -> [(tool: String, arguments: [String])] {
    let platform = ["--url", unreachable, "--token", "t"]
    return [
      ("cti-stream", platform + ["--stream-id", "live"]),
      ("cti-push", platform + ["--connector-id", "c"]),
      ("cti-backup", platform + [folder]),
      ("cti-diode", ["import", folder, "--push"] + platform),
      ("cti-misp", ["--feed", "https://127.0.0.1:9/feed"]),
    ]
  }

  @Test func everyHTTPToolTakesInsecureAndCABundleAndCTICABundle() throws {
    let folder = try TemporaryFolder()
    for (tool, arguments) in Self.httpTools(folder.path) {
      let flag = try ToolRunner.run(tool, arguments + ["--ca-bundle", "/nonexistent/ca.pem"])
      #expect(flag.status == 64 && flag.stderr.contains("CA bundle /nonexistent/ca.pem does not exist"), "\(tool): \(flag.stderr)")
      let environment = try ToolRunner.run(tool, arguments, environment: ["CTI_CA_BUNDLE": "/nonexistent/ca.pem"])
      #expect(environment.status == 78 && environment.stderr.contains("CA bundle /nonexistent/ca.pem"), "\(tool): \(environment.stderr)")
      let insecure = try ToolRunner.run(tool, arguments + ["--insecure", "--print-config"])
      #expect(insecure.status == 0, "\(tool): \(insecure.stderr)")
      #expect(insecure.stdoutText.contains("SSL_VERIFY=false (from command line)"), "\(tool): \(insecure.stdoutText)")
    }
    // OPENCTI_SSL_VERIFY is pycti's switch for the platform.
    let stream = try ToolRunner.run(
      "cti-stream", ["--url", Self.unreachable, "--stream-id", "live", "--print-config"], environment: ["OPENCTI_SSL_VERIFY": "false"])
    #expect(stream.stdoutLines.contains("OPENCTI_SSL_VERIFY=false (from environment OPENCTI_SSL_VERIFY)"))
  }

  @Test func olderSpellingsAreHiddenAliases() throws {
    // cti-misp's --[no-]ssl-verify is its own: the other tools never had it.
    #expect(try ToolRunner.run("cti-push", ["--dry-run", "--no-ssl-verify"]).status == 64)
    let misp = try ToolRunner.run("cti-misp", ["--feed", "https://127.0.0.1:9/feed", "--no-ssl-verify", "--print-config"])
    #expect(misp.stdoutLines.contains("MISP_FEED_SSL_VERIFY=false (from command line)"), "\(misp.stderr)")
    let mispHelp = try ToolRunner.run("cti-misp", ["--help"]).stdoutText
    #expect(mispHelp.contains("--insecure") && mispHelp.contains("--ca-bundle") && !mispHelp.contains("ssl-verify"))

    let push = try ToolRunner.run("cti-push", ["--dry-run", "--applicant-map", "a:b", "--print-config"])
    #expect(push.stdoutLines.contains("DIODE_IMPORT_APPLICANT_MAPPINGS=a:b (from command line)"), "\(push.stderr)")
    let pushHelp = try ToolRunner.run("cti-push", ["--help"]).stdoutText
    #expect(pushHelp.contains("--applicant-mappings") && !pushHelp.contains("--applicant-map "))

    let stream = try ToolRunner.run("cti-stream", ["--input", "/dev/null", "--listen-delete", "false", "--print-config"])
    #expect(stream.stdoutLines.contains("CONNECTOR_LIVE_STREAM_LISTEN_DELETE=false (from command line)"), "\(stream.stderr)")
    let replay = try ToolRunner.run("cti-stream", ["--replay", "/dev/null"])
    #expect(replay.status == 0, "--replay still reads a capture: \(replay.stderr)")
  }

  @Test func durableWritesHaveOneSpellingAndTheOldOnesStillWork() throws {
    let folder = try TemporaryFolder()
    let backup = try ToolRunner.run("cti-backup", ["--durable", "--print-config", folder.path])
    #expect(backup.stdoutLines.contains("BACKUP_FSYNC=true (from command line)"))
    let old = try ToolRunner.run("cti-backup", ["--fsync", "--print-config", folder.path])
    #expect(old.stdoutLines.contains("BACKUP_FSYNC=true (from command line)"))
    let bundle = #"{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[{"type":"identity","spec_version":"2.1","id":"identity--00000000-0000-4000-8000-000000000002","name":"x","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z"}]}"#
    for flag in ["--durable", "--fsync"] {
      let out = try TemporaryFolder()
      let export = try ToolRunner.run(
        "cti-diode", ["export", out.path, flag], stdin: Array((bundle + "\n").utf8),
        environment: ["CONNECTOR_ID": "00000000-0000-4000-8000-00000000000c", "CONNECTOR_NAME": "Test"])
      #expect(export.status == 0 && out.names("").count == 1, "\(flag): \(export.stderr)")
    }
    for flag in ["--durable", "--durable-state"] {
      let run = try ToolRunner.run("cti-diode", ["import", folder.path, flag, "--no-delete-after-import"])
      #expect(run.status == 0, "\(flag): \(run.stderr)")
    }
    #expect(!(try ToolRunner.run("cti-diode", ["import", "--help"]).stdoutText.contains("--durable-state")))
  }

  @Test func everyDurationTakesISO8601OrSeconds() throws {
    let folder = try TemporaryFolder()
    let stream = try ToolRunner.run(
      "cti-stream", ["--input", "/dev/null", "--idle-exit", "PT30S", "--stall-timeout", "PT45S", "--reconnect-delay", "2", "--print-config"])
    #expect(stream.status == 0, "\(stream.stderr)")
    let bad = try ToolRunner.run("cti-stream", ["--input", "/dev/null", "--idle-exit", "soon"])
    #expect(bad.status == 64)
    for retention in ["P7D", "7", "PT12H"] {
      let diode = try ToolRunner.run("cti-diode", ["import", folder.path, "--retention", retention, "--settle", "PT10S", "--print-config"])
      #expect(diode.stdoutLines.contains("DIODE_IMPORT_GET_FROM_DIRECTORY_RETENTION=\(retention) (from command line)"), "\(diode.stderr)")
    }
    let export = try ToolRunner.run("cti-diode", ["export", folder.path, "--retention", "P1D", "--print-config"])
    #expect(export.status == 0, "\(export.stderr)")
  }

  @Test func warnAndWarningAreOneLevel() throws {
    let folder = try TemporaryFolder()
    for level in ["warn", "warning"] {
      let flag = try ToolRunner.run("cti-backup", ["--log-level", level, folder.path])
      #expect(flag.status == 0 && !flag.stderr.contains("records"), "\(level): \(flag.stderr)")
      let environment = try ToolRunner.run("cti-backup", [folder.path], environment: ["CONNECTOR_LOG_LEVEL": level])
      #expect(environment.status == 0 && !environment.stderr.contains("records"), "\(level): \(environment.stderr)")
    }
    let info = try ToolRunner.run("cti-backup", ["--log-level", "info", folder.path])
    #expect(info.stderr.contains("records"))
  }

  /// Every stderr line is JSON with `--log-format json`, start-up errors included.
  @Test func jsonLogsCoverStartupErrorsAndTheSummarysCounts() throws {
    func objects(_ text: String) -> [[String: Any]?] {
      text.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
    let badFlag = try ToolRunner.run("cti-push", ["--log-format", "json", "--bogus"])
    let flagLines = objects(badFlag.stderr)
    #expect(badFlag.status == 64 && flagLines.count == 1 && flagLines[0]?["exit_status"] as? Int == 64, "\(badFlag.stderr)")
    let badValue = try ToolRunner.run("cti-stream", ["--idle-exit", "soon", "--input", "/dev/null"], environment: ["CTI_LOG_FORMAT": "json"])
    #expect(badValue.status == 64 && objects(badValue.stderr).allSatisfy { $0 != nil }, "\(badValue.stderr)")
    let noURL = try ToolRunner.run("cti-stream", ["--log-format", "json", "--stream-id", "live"])
    let urlLines = objects(noURL.stderr)
    #expect(noURL.status == 78 && urlLines.count == 1, "\(noURL.stderr)")
    #expect((urlLines.first??["message"] as? String)?.contains("OPENCTI_URL") == true && urlLines.first??["exit_status"] as? Int == 78)
    // A run that fails before it did anything has no summary to tell: the error is the one line.
    let missing = try ToolRunner.run("cti-diode", ["import", "/nonexistent/diode", "--log-format", "json"])
    let missingLines = objects(missing.stderr)
    #expect(missing.status == 66 && missingLines.count == 1 && missingLines[0]?["level"] as? String == "error", "\(missing.stderr)")

    let out = try TemporaryFolder()
    let bundle = #"{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[{"type":"identity","spec_version":"2.1","id":"identity--00000000-0000-4000-8000-000000000002","name":"x","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z"}]}"#
    let export = try ToolRunner.run(
      "cti-diode", ["export", out.path, "--log-format", "json"], stdin: Array((bundle + "\n").utf8),
      environment: ["CONNECTOR_ID": "00000000-0000-4000-8000-00000000000c", "CONNECTOR_NAME": "Test"])
    let summary = objects(export.stderr).compactMap { $0 }.last
    #expect(export.status == 0 && summary?["files_written"] as? Int == 1, "\(export.stderr)")
  }

  /// Files to read instead of standard input are `--input` in every tool that reads records.
  @Test func inputFilesAreInputInEveryTool() throws {
    let folder = try TemporaryFolder()
    let event = #"{"Event":{"uuid":"5f1d2c9a-0000-4000-8000-000000000001","info":"x","date":"2024-01-01","timestamp":"1704067200","Orgc":{"name":"O","uuid":"5f1d2c9a-0000-4000-8000-0000000000aa"},"Attribute":[]}}"#
    try folder.write("events.ndjson", event + "\n")
    let misp = try ToolRunner.run("cti-misp", ["--input", folder.path + "/events.ndjson"])
    #expect(misp.status == 0 && misp.stdoutLines.count == 1, "\(misp.stderr)")
    try folder.write("bundles.ndjson", misp.stdoutText)
    let export = try ToolRunner.run(
      "cti-diode", ["export", folder.path + "/out", "--input", folder.path + "/bundles.ndjson"],
      environment: ["CONNECTOR_ID": "00000000-0000-4000-8000-00000000000c", "CONNECTOR_NAME": "Test"])
    #expect(export.status == 0 && folder.names("out").count == 1, "\(export.stderr)")
    let both = try ToolRunner.run("cti-misp", ["--input", folder.path + "/events.ndjson", "--feed", folder.path])
    #expect(both.status == 64)
    for (tool, arguments) in [("cti-push", ["--help"]), ("cti-backup", ["--help"]), ("cti-stream", ["--help"])] {
      #expect(try ToolRunner.run(tool, arguments).stdoutText.contains("--input <file>"), "\(tool)")
    }
  }

  /// The README documents shell completions; every tool generates them.
  @Test func everyToolGeneratesCompletionScripts() throws {
    for tool in ["cti-stream", "cti-backup", "cti-misp", "cti-push", "cti-diode"] {
      let bash = try ToolRunner.run(tool, ["--generate-completion-script", "bash"])
      #expect(bash.status == 0 && bash.stdoutText.hasPrefix("#!/bin/bash") && bash.stdoutText.contains("--log-level"), "\(tool)")
    }
  }
}
