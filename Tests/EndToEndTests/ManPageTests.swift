import CTICore
import Foundation
import Testing

/// The committed man pages (man/<tool>.1) are what scripts/generate-man makes of the built
/// tools' help, groff reads them without a single warning, and what they show is what
/// `--help` says: no text lost, examples whole, every exit code, subcommands only where the
/// tool has them.
@Suite struct ManPageTests {
  static let tools = ["cti-stream", "cti-backup", "cti-misp", "cti-push", "cti-diode"]
  static let subcommands = ["cti-backup": ["backup", "restore"], "cti-diode": ["import", "export"]]
  static let root = ToolRunner.packageRoot

  static func pagePath(_ tool: String) -> String { root.appendingPathComponent("man/\(tool).1").path }

  /// groff's rendering of a page as plain text (no bold, underline or colour), and what groff
  /// said on stderr with every warning on.
  static func render(_ path: String) throws -> (text: String, warnings: String) {
    let result = try ToolRunner.runProgram(
      "/usr/bin/env", ["groff", "-mandoc", "-ww", "-Tutf8", "-P-cbou", path], timeout: 20)
    #expect(result.status == 0, "groff failed on \(path): \(result.stderr)")
    return (result.stdoutText, result.stderr)
  }

  /// Runs of spaces and line ends as one space, to compare filled text with its source.
  static func collapsed(_ text: some StringProtocol) -> String {
    text.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
  }

  /// The lines of a rendered section, from its heading to the next one.
  static func section(_ name: String, of text: String) -> [Substring] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let start = lines.firstIndex(of: Substring(name)) else { return [] }
    return lines[(start + 1)...].prefix { $0.isEmpty || $0.first == " " }.filter { !$0.isEmpty }
  }

  @Test func theCommittedPagesAreTheGeneratorsOutput() throws {
    let output = try TemporaryFolder()
    let script = Self.root.appendingPathComponent("scripts/generate-man").path
    let result = try ToolRunner.runProgram(
      "/usr/bin/env", ["python3", script, "--bin", ToolRunner.binDirectory.path, "--output", output.path], timeout: 60)
    #expect(result.status == 0, "\(result.stderr)")
    // The date is the day a page last changed: it is not part of the comparison.
    func withoutDate(_ page: String) -> [Substring] { page.split(separator: "\n").filter { !$0.hasPrefix(".Dd ") } }
    for tool in Self.tools {
      let generated = try String(contentsOfFile: output.path + "/\(tool).1", encoding: .utf8)
      let committed = try String(contentsOfFile: Self.pagePath(tool), encoding: .utf8)
      #expect(withoutDate(generated) == withoutDate(committed), "man/\(tool).1 is out of date: run scripts/generate-man")
    }
  }

  @Test func groffReadsEveryPageWithoutAWarning() throws {
    for tool in Self.tools {
      let page = try Self.render(Self.pagePath(tool))
      #expect(page.warnings.isEmpty, "man/\(tool).1: \(page.warnings)")
      #expect(!page.text.isEmpty)
      // No line longer than a terminal: the examples are literal and never wrapped.
      for line in page.text.split(separator: "\n") where line.count > 80 {
        Issue.record("man/\(tool).1: \(line.count) columns: \(line)")
      }
      // Hyphenation would cut option and variable names.
      let hyphenated = page.text.split(separator: "\n").filter { $0.hasSuffix("\u{2010}") }
      #expect(hyphenated.isEmpty, "man/\(tool).1 hyphenates: \(hyphenated)")
    }
  }

  @Test func subcommandsAppearOnlyWhereTheToolHasThem() throws {
    for tool in Self.tools {
      let page = try Self.render(Self.pagePath(tool))
      let mentionsSubcommands = page.text.lowercased().contains("subcommand")
      let synopsis = Self.section("SYNOPSIS", of: page.text).map { Self.collapsed($0) }
      if let names = Self.subcommands[tool] {
        for name in names {
          #expect(synopsis.contains { $0.hasPrefix("\(tool) \(name) ") || $0.hasPrefix("\(tool) [\(name)] ") }, "\(synopsis)")
          let documented = page.text.contains("\n   \(tool) \(name)")
          #expect(documented, "man/\(tool).1 does not document \(name)")
        }
        #expect(!synopsis.contains { $0.hasPrefix("\(tool) help") })
      } else {
        #expect(synopsis.count == 1 && synopsis[0].hasPrefix(tool + " [options]"), "\(synopsis)")
        #expect(!mentionsSubcommands, "man/\(tool).1 mentions a subcommand")
      }
    }
  }

  @Test func exitStatusListsEveryCodeOfTheTable() throws {
    for tool in Self.tools {
      let page = try Self.render(Self.pagePath(tool))
      let section = Self.collapsed(Self.section("EXIT STATUS", of: page.text).joined(separator: "\n"))
      let missing = ExitStatus.allCases.filter { !section.contains("\($0.rawValue) \($0.meaning)") }.map(\.rawValue)
      #expect(missing.isEmpty, "man/\(tool).1: EXIT STATUS lacks \(missing): \(section)")
    }
  }

  @Test func everyHelpExampleLineIsWholeInThePage() throws {
    for command in DocumentationExamplesTests.helpCommands {
      let help = try ToolRunner.run(command[0], Array(command.dropFirst()) + ["--help"], environment: ["COLUMNS": "1000"])
      let page = try Self.render(Self.pagePath(command[0]))
      let pageLines = Set(page.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
      let examples = DocumentationExamplesTests.exampleLines(help.stdoutText)
      #expect(!examples.isEmpty)
      for line in examples {
        let example = line.trimmingCharacters(in: .whitespaces)
        let whole = pageLines.contains(example)
        #expect(whole, "man/\(command[0]).1 lacks the example line: \(example)")
      }
    }
  }

  /// Every option's text and every paragraph of the discussions is in the page as written,
  /// "…", "→" and quotes included.
  @Test func theHelpTextsAreInThePageUnchanged() throws {
    for (words, command) in try HelpTextTests.commands() {
      let page = Self.collapsed(try Self.render(Self.pagePath(words[0])).text)
      var texts = (command["arguments"]?.arrayValue ?? []).filter { $0["shouldDisplay"]?.boolValue != false }
        .compactMap { $0["abstract"]?.stringValue }
      let discussion = command["discussion"]?.stringValue ?? ""
      for paragraph in discussion.components(separatedBy: "\n\n") {
        let first = paragraph.split(separator: "\n").first.map(String.init) ?? ""
        if ["Examples:", "Example:", "Exit status:"].contains(first) { continue }
        texts.append(paragraph)
      }
      for text in texts where !text.isEmpty {
        let kept = page.contains(Self.collapsed(text))
        #expect(kept, "man/\(words[0]).1 lost text of \(words.joined(separator: " ")): \(text)")
      }
    }
    // The text a generator once dropped.
    let diode = Self.collapsed(try Self.render(Self.pagePath("cti-diode")).text)
    let kept = ["OPENCTI_TOKEN=… \\", "unmapped → null"].filter { diode.contains($0) }
    #expect(kept.count == 2, "man/cti-diode.1 keeps only \(kept)")
  }
}
