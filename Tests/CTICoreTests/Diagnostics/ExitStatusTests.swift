import Foundation
import Testing
@testable import CTICore

@Suite struct ExitStatusTableTests {
  /// The README renders the one exit-code table; this keeps it from drifting.
  @Test func theReadmeShowsTheTable() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    let begin = try #require(readme.range(of: "<!-- exit-codes:begin -->\n"))
    let end = try #require(readme.range(of: "<!-- exit-codes:end -->"))
    let block = String(readme[begin.upperBound..<end.lowerBound])
    #expect(block == ExitStatus.markdownTable + "\n", "paste this between the markers:\n\(ExitStatus.markdownTable)")
  }

  @Test func everyLineOfTheHelpTableFitsEightyColumns() {
    for line in ExitStatus.table.split(separator: "\n") { #expect(line.count <= 80, "\(line)") }
  }
}
