import Foundation
import Testing

@testable import CTICore

@Suite struct MISPQuirksTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  @Test func officialModeHasEveryQuirkAndTheDefaultNone() {
    let official = Mirror(reflecting: MISPQuirks.official).children
    #expect(official.count >= 30)
    for (name, value) in official { #expect(value as? Bool == true, "\(name ?? "?")") }
    for (name, value) in Mirror(reflecting: MISPQuirks.none).children { #expect(value as? Bool == false, "\(name ?? "?")") }
    var options = MISPConversionSettings()
    #expect(options.quirks == .none)
    options.compatibility = .official
    #expect(options.quirks == .official)
  }

  /// Each quirk quotes the first words of its row of docs/cti-misp.md's differences table, and
  /// every row is quoted by a quirk or listed as not being one.
  @Test func everyQuirkIsARowOfTheDocumentedDifferences() throws {
    let source = try String(
      contentsOf: Self.root.appendingPathComponent("Sources/CTICore/MISP/Convert/MISPQuirks.swift"), encoding: .utf8)
    let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/cti-misp.md"), encoding: .utf8)
    let section = try #require(docs.components(separatedBy: "## Differences from the official connector").dropFirst().first)
      .components(separatedBy: "\n## ")[0]
    let cases = section.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| case |") }
      .map { String($0.dropFirst(2).components(separatedBy: " | ")[0]) }
    #expect(cases.count > 30)

    func quoted(_ line: Substring, after marker: String) -> String? {
      guard line.hasPrefix(marker), line.hasSuffix("\"") || line.contains("\" (") else { return nil }
      return line.dropFirst(marker.count).components(separatedBy: "\"")[0]
    }
    var rowOfQuirk: [String: String] = [:]
    var notQuirks: [String] = []
    var pending: [String] = []
    for line in source.split(separator: "\n").map({ $0.drop { $0 == " " } }) {
      if let row = quoted(line, after: "/// Row: \"") {
        pending.append(row)
      } else if let row = quoted(line, after: "/// Not a quirk: \"") {
        notQuirks.append(row)
      } else if line.hasPrefix("var "), line.hasSuffix(": Bool") {
        let name = String(line.dropFirst(4).prefix { $0 != ":" })
        #expect(pending.count == 1, "\(name) quotes one row")
        rowOfQuirk[name] = pending.first
        pending = []
      }
    }
    let names = Mirror(reflecting: MISPQuirks.official).children.compactMap(\.label)
    #expect(Set(rowOfQuirk.keys) == Set(names))
    for (name, row) in rowOfQuirk {
      #expect(cases.filter { $0.hasPrefix(row) }.count == 1, "\(name): no single row starts with \(row)")
    }
    for row in notQuirks { #expect(cases.contains { $0.hasPrefix(row) }, "no row starts with \(row)") }
    for row in cases {
      #expect((Array(rowOfQuirk.values) + notQuirks).contains { row.hasPrefix($0) }, "row '\(row)' is neither a quirk nor listed")
    }
  }
}
