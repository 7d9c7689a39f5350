import CTICore
import Foundation
import Testing

/// The examples a newcomer copies first must work as written: every README block marked
/// `<!-- runnable -->`, and the `--help` examples that need no platform, run against the built
/// tools in a scratch folder that holds what they name (examples/, a MISP feed folder ./feed,
/// MISP event files in events/).
@Suite struct DocumentationExamplesTests {
  static let root = ToolRunner.packageRoot

  /// A scratch folder laid out as the examples expect, and a shell that runs there with the
  /// built tools first on PATH.
  final class Workspace {
    let folder: TemporaryFolder
    init() throws {
      folder = try TemporaryFolder()
      let fileManager = FileManager.default
      let examples = DocumentationExamplesTests.root.appendingPathComponent("examples")
      try fileManager.createSymbolicLink(atPath: folder.path + "/examples", withDestinationPath: examples.path)
      try fileManager.copyItem(atPath: examples.path + "/misp-feed", toPath: folder.path + "/feed")
      try fileManager.createDirectory(atPath: folder.path + "/events", withIntermediateDirectories: true)
      for name in try fileManager.contentsOfDirectory(atPath: examples.path + "/misp-feed") where name != "manifest.json" {
        try fileManager.copyItem(atPath: examples.path + "/misp-feed/" + name, toPath: folder.path + "/events/" + name)
      }
    }

    func run(_ script: String) throws -> ToolResult {
      let path = ToolRunner.binDirectory.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
      return try ToolRunner.runProgram(
        "/bin/bash", ["-euo", "pipefail", "-c", "cd '\(folder.path)'\nexport PATH='\(path)'\n" + script])
    }
  }

  /// The fenced blocks that follow a `<!-- runnable -->` line.
  static func runnableBlocks(_ markdown: String) -> [String] {
    var blocks: [String] = []
    var lines = markdown.split(separator: "\n", omittingEmptySubsequences: false)[...]
    while let marker = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "<!-- runnable -->" }) {
      lines = lines[(marker + 1)...]
      guard let open = lines.firstIndex(where: { $0.hasPrefix("```") }) else { break }
      guard let close = lines[(open + 1)...].firstIndex(where: { $0.hasPrefix("```") }) else { break }
      blocks.append(lines[(open + 1)..<close].joined(separator: "\n"))
      lines = lines[(close + 1)...]
    }
    return blocks
  }

  @Test func theREADMEsRunnableExamplesRunAsWritten() throws {
    let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
    let blocks = Self.runnableBlocks(readme)
    #expect(!blocks.isEmpty)
    let workspace = try Workspace()
    for block in blocks {
      let result = try workspace.run(block)
      #expect(result.status == 0, "README example failed:\n\(block)\n\(result.stderr)")
      #expect(!result.stderr.contains(": error: "), "README example reported errors:\n\(block)\n\(result.stderr)")
    }
    // What the quick start promises is there.
    #expect(!workspace.folder.names("backup/opencti_data").isEmpty)
    #expect(workspace.folder.read("misp.ndjson")?.split(separator: "\n").count == 3)
    #expect(workspace.folder.read("envelopes.ndjson")?.split(separator: "\n").count == 3)
  }

  /// `--help` examples that need no platform, by tool (the subcommand's help where they are
  /// shown there), in an order where each finds what the ones before it wrote.
  static let helpExamples: [(command: [String], example: String)] = [
    (["cti-misp"], "cti-misp --feed ./feed --import-from-date 2000-01-01 --create-indicators"),
    (["cti-misp"], "jq -c . events/*.json | cti-misp --create-indicators > bundles.ndjson"),
    (["cti-misp"], "cti-misp --compat official --feed ./feed --import-from-date 2024-01-01"),
    (["cti-misp"], "cti-misp --feed ./feed --jobs 1 --create-indicators   # one event at a time"),
    (["cti-push"], "cti-push --dry-run < bundles.ndjson | jq .operation"),
    (["cti-diode", "export"], "CONNECTOR_ID=$ID CONNECTOR_NAME=MISP cti-diode export outbox < bundles.ndjson"),
    (["cti-diode", "import"], "cti-diode import outbox --state diode.state --no-delete-after-import"),
  ]

  @Test func theHelpExamplesThatNeedNoPlatformRunAsWritten() throws {
    let workspace = try Workspace()
    for (command, example) in Self.helpExamples {
      let help = try ToolRunner.run(command[0], Array(command.dropFirst()) + ["--help"], environment: ["COLUMNS": "1000"])
      #expect(help.stdoutText.contains(example), "\(command.joined(separator: " ")) --help no longer shows: \(example)")
      let result = try workspace.run("ID=2a1c3d4e-0000-4000-8000-000000000001\n" + example)
      #expect(result.status == 0, "help example failed: \(example)\n\(result.stderr)")
      #expect(!result.stderr.contains(": error: "), "help example reported errors: \(example)\n\(result.stderr)")
    }
  }

  @Test func helpExamplesFitATerminal() throws {
    for command in [["cti-stream"], ["cti-backup"], ["cti-backup", "restore"], ["cti-misp"], ["cti-push"], ["cti-diode"],
      ["cti-diode", "import"], ["cti-diode", "export"]]
    {
      let help = try ToolRunner.run(command[0], Array(command.dropFirst()) + ["--help"], environment: ["COLUMNS": "1000"])
      guard let start = help.stdoutText.range(of: "Examples:") ?? help.stdoutText.range(of: "Example:") else { continue }
      let examples = help.stdoutText[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
        .dropFirst().prefix { !$0.isEmpty }
      for line in examples {
        // 80 columns: the width help is wrapped to when it is not on a terminal.
        #expect(line.count <= 80, "\(command.joined(separator: " ")) --help: \(line.count) columns: \(line)")
      }
    }
  }

  /// Docker does not run here: scripts/check-compose parses the compose examples and checks
  /// them against the official blocks they mirror and the variables the tools read.
  @Test func theComposeExamplesMirrorTheOfficialBlocks() throws {
    let script = Self.root.appendingPathComponent("scripts/check-compose").path
    let result = try ToolRunner.runProgram("/usr/bin/env", ["python3", script])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdoutLines.count == 3)
  }
}
