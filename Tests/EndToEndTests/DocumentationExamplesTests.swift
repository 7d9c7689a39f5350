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
    (["cti-diode", "export"], "CONNECTOR_ID=$ID CONNECTOR_NAME=MISP \\\n    cti-diode export outbox < bundles.ndjson"),
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

  static let helpCommands = [
    ["cti-stream"], ["cti-backup"], ["cti-backup", "restore"], ["cti-misp"], ["cti-push"], ["cti-diode"],
    ["cti-diode", "import"], ["cti-diode", "export"],
  ]

  /// The lines of the "Examples:" (or "Example:") paragraph of a help text.
  static func exampleLines(_ help: String) -> [Substring] {
    guard let start = help.range(of: "\nExamples:\n") ?? help.range(of: "\nExample:\n") else { return [] }
    return help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).prefix { !$0.isEmpty }
  }

  @Test func helpExamplesFitATerminal() throws {
    for command in Self.helpCommands {
      let help = try ToolRunner.run(command[0], Array(command.dropFirst()) + ["--help"], environment: ["COLUMNS": "1000"])
      // 80 columns: the width help is wrapped to when it is not on a terminal.
      let narrow = try ToolRunner.run(command[0], Array(command.dropFirst()) + ["--help"], environment: ["COLUMNS": "80"])
      let narrowLines = Set(narrow.stdoutText.split(separator: "\n"))
      let examples = Self.exampleLines(help.stdoutText)
      #expect(!examples.isEmpty, "\(command.joined(separator: " ")) --help shows no examples")
      for line in examples {
        #expect(line.count <= 80, "\(command.joined(separator: " ")) --help: \(line.count) columns: \(line)")
        // ArgumentParser wraps a line of 80 columns or more: each example is one whole line.
        let whole = narrowLines.contains(line)
        #expect(whole, "\(command.joined(separator: " ")) --help wraps an example at 80 columns: \(line)")
      }
    }
  }

  /// The README says how to get shell completions without scripts/install: each command it
  /// shows for that writes the script of the shell it names.
  @Test func theREADMEShowsHowToGetCompletions() throws {
    let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
    let commands = readme.split(separator: "\n").filter { $0.contains("--generate-completion-script") }
    var shells: Set<String> = []
    for line in commands {
      let words = line.split(separator: " ").map(String.init)
      guard let flag = words.firstIndex(of: "--generate-completion-script"), flag > 0, flag + 1 < words.count else { continue }
      let tool = words[flag - 1].replacingOccurrences(of: "<(", with: "")
      let shell = words[flag + 1].replacingOccurrences(of: ")", with: "")
      let script = try ToolRunner.run(tool, ["--generate-completion-script", shell])
      #expect(script.status == 0 && script.stdoutText.contains(tool), "\(line)\n\(script.stderr)")
      shells.insert(shell)
    }
    #expect(shells == ["bash", "zsh", "fish"])
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
