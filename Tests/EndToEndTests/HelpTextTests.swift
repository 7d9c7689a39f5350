import CTICore
import Foundation
import Testing

/// What `--help` shows, read through `--experimental-dump-help` (the structure ArgumentParser
/// renders help and man pages from) and from the help itself.
@Suite struct HelpTextTests {
  /// Every command of every tool in the dump: (the command words, the command's JSON).
  static func commands() throws -> [(words: [String], command: JSONValue)] {
    var result: [(words: [String], command: JSONValue)] = []
    for tool in ManPageTests.tools {
      let dump = try ToolRunner.run(tool, ["--experimental-dump-help"])
      let root = try #require(try JSONParser.parse(dump.stdoutText)["command"])
      result.append(([tool], root))
      for sub in root["subcommands"]?.arrayValue ?? [] {
        guard let name = sub["commandName"]?.stringValue, name != "help" else { continue }
        result.append(([tool, name], sub))
      }
    }
    return result
  }

  /// A default is stated in the option's text ("default 45"), or by ArgumentParser
  /// ("(default: 45)") for a property with a default value: never both, never twice.
  @Test func eachDefaultIsShownOnce() throws {
    for (words, command) in try Self.commands() {
      for argument in command["arguments"]?.arrayValue ?? [] where argument["shouldDisplay"]?.boolValue != false {
        // AWS_DEFAULT_REGION names a variable, not a default.
        let text = (argument["abstract"]?.stringValue ?? "").lowercased().replacingOccurrences(of: "_default", with: "")
        let inText = text.components(separatedBy: "default").count - 1
        let shownByParser = argument["defaultValue"] != nil && argument["kind"]?.stringValue != "flag" ? 1 : 0
        let name = argument["preferredName"]?["name"]?.stringValue ?? argument["valueName"]?.stringValue ?? "?"
        #expect(inText + shownByParser <= 1, "\(words.joined(separator: " ")) --\(name): the default is shown \(inText + shownByParser) times")
      }
    }
  }

  /// `cti-backup PATH` runs `backup`, so `cti-backup --help` shows its options too, and still
  /// lists `restore`.
  @Test func theBackupHelpShowsTheDefaultSubcommandsOptions() throws {
    for arguments in [["--help"], ["-h"], ["help"]] {
      let help = try ToolRunner.run("cti-backup", arguments)
      #expect(help.status == 0)
      let text = help.stdoutText
      let hidden = ["--bucket <size>", "--durable", "--input <file>", "--state <file>", "--no-attachments", "--url <url>", "<path>"]
        .filter { !text.contains($0) }
      #expect(hidden.isEmpty, "cti-backup \(arguments[0]) does not show \(hidden)")
      #expect(text.hasPrefix("OVERVIEW: Keep an OpenCTI backup tree"))
      #expect(text.contains("Exit status:"))
      #expect(text.contains("USAGE: cti-backup [backup] [<options>] [<path>]"))
      #expect(text.contains("SUBCOMMANDS:") && text.contains("  restore "))
    }
    // The subcommands' own help is ArgumentParser's.
    let restore = try ToolRunner.run("cti-backup", ["restore", "--help"])
    #expect(restore.stdoutText.contains("USAGE: cti-backup restore"))
    #expect(!restore.stdoutText.contains("--bucket"))
  }
}
