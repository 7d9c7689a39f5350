import CTIFuzzChecks
import Foundation
import Testing

/// Every input the fuzzers ever crashed on (Tests/FuzzCrashes/<target>/, kept by scripts/fuzz)
/// and every hand-made seed (Fuzz/Seeds/<target>/), run through the same checks as the fuzz
/// targets: what broke once must keep holding. A file whose name starts with `known-` is a
/// reported failure in code this branch does not own: it is run as a known issue. One target
/// at a time: some share a scratch folder, removed after each.
@Suite(.serialized) struct FuzzReplayTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  static func inputs(_ target: FuzzTarget) -> [URL] {
    ["Tests/FuzzCrashes", "Fuzz/Seeds"].flatMap { folder -> [URL] in
      let directory = root.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
      let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
      return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { directory.appendingPathComponent($0) }
    }
  }

  @Test(arguments: FuzzTarget.allCases)
  func storedInputsStillHold(_ target: FuzzTarget) throws {
    defer { FuzzTarget.cleanUp() }
    let files = Self.inputs(target)
    #expect(!files.isEmpty, "no seeds for \(target.rawValue)")
    for file in files {
      let problems = target.check(Array(try Data(contentsOf: file)))
      if file.lastPathComponent.hasPrefix("known-") {
        withKnownIssue("\(file.lastPathComponent) is reported, not fixed here") {
          #expect(problems.isEmpty, "\(file.lastPathComponent): \(problems)")
        }
      } else {
        #expect(problems.isEmpty, "\(target.rawValue)/\(file.lastPathComponent): \(problems)")
      }
    }
  }
}
