import CTICore
import Foundation
import Testing

/// What a newcomer meets on a first run: messages that say what happened and what to do.
@Suite struct FirstRunGuidanceTests {
  static let exampleFeed = ToolRunner.packageRoot.appendingPathComponent("examples/misp-feed").path
  static let connector = ["--connector-id", "2a1c3d4e-0000-4000-8000-000000000001", "--connector-name", "MISP feed"]

  @Test func aFirstMISPRunThatFindsOnlyOlderEventsNamesImportFromDate() throws {
    let folder = try TemporaryFolder()
    let result = try ToolRunner.run("cti-misp", ["--feed", Self.exampleFeed, "--state", folder.path + "/state.json"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.isEmpty)
    #expect(result.stderr.contains("first run: all 3 events of the feed are older than its start"))
    #expect(result.stderr.contains("--import-from-date"))
    #expect(result.stderr.contains("remove \(folder.path)/state.json"))
    // The advice works: with a date (and no state yet) the three events are converted.
    let again = try ToolRunner.run("cti-misp", ["--feed", Self.exampleFeed, "--import-from-date", "2000-01-01"])
    #expect(again.stdoutLines.count == 3)
    #expect(!again.stderr.contains("first run"))
  }

  @Test func aFileGivenWhereAFolderIsExpectedIsSaidToBeNotAFolder() throws {
    let folder = try TemporaryFolder()
    try folder.write("feed.json", "{}")
    let file = folder.path + "/feed.json"
    let misp = try ToolRunner.run("cti-misp", ["--feed", file])
    #expect(misp.status == 66)
    #expect(misp.stderr.contains("\(file) is not a folder"), "\(misp.stderr)")
    let diodeImport = try ToolRunner.run("cti-diode", ["import", file])
    #expect(diodeImport.status == 66)
    #expect(diodeImport.stderr.contains("\(file) is not a folder"), "\(diodeImport.stderr)")
    let diodeExport = try ToolRunner.run("cti-diode", ["export", file] + Self.connector, stdin: [])
    #expect(diodeExport.status == 74)
    #expect(diodeExport.stderr.contains("\(file) is not a folder"), "\(diodeExport.stderr)")
  }

  @Test func aFolderNamedLikeASubcommandIsShownTheWayToWriteIt() throws {
    let folder = try TemporaryFolder()
    let bare = try ToolRunner.run("cti-backup", ["backup"], currentDirectory: folder.url)
    #expect(bare.status == 78, "\(bare.stderr)")
    #expect(bare.stderr.contains("./backup or ./restore"), "\(bare.stderr)")
    // The advice works: ./backup is a folder.
    let line = #"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2024-01-15T14:00:00Z"}"#
    let written = try ToolRunner.run("cti-backup", ["./backup"], stdin: Array((line + "\n").utf8), currentDirectory: folder.url)
    #expect(written.status == 0, "\(written.stderr)")
    #expect(FileManager.default.fileExists(atPath: folder.path + "/backup/opencti_data"))
  }

  @Test func aMissingExportFolderIsCreatedWithANotice() throws {
    let folder = try TemporaryFolder()
    let bundles = try ToolRunner.run("cti-misp", ["--feed", Self.exampleFeed, "--import-from-date", "2000-01-01"])
    let target = folder.path + "/usb/diode"
    let result = try ToolRunner.run("cti-diode", ["export", target] + Self.connector, stdin: bundles.stdout)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("created the export folder \(target)"))
    #expect(folder.names("usb/diode").count == 3)
  }

  @Test func prettyPrintedInputGetsOneHintInsteadOfALinePerLine() throws {
    let objects = (1...20).map { #"{"type":"indicator","id":"indicator--00000000-0000-4000-8000-0000000000\#($0 + 10)","name":"x"}"# }
    let pretty = try JSONParser.parse(#"{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":["#
      + objects.joined(separator: ",") + "]}")
    let text = String(decoding: JSONWriter.serialize(pretty), as: UTF8.self)
      .replacingOccurrences(of: ",", with: ",\n  ").replacingOccurrences(of: "{", with: "{\n  ")
    let lineCount = text.split(separator: "\n").count
    #expect(lineCount > 40)
    let result = try ToolRunner.run("cti-push", ["--dry-run"], stdin: Array(text.utf8))
    #expect(result.status == 1)
    let lines = result.stderr.split(separator: "\n")
    #expect(lines.filter { $0.contains("pretty-printed") && $0.contains("jq -c") }.count == 1)
    #expect(lines.filter { $0.hasPrefix("cti-push: error: line ") }.count == 10, "\(result.stderr)")
    #expect(result.stderr.contains("lines 11–\(lineCount): \(lineCount - 10) more bad lines in a row, not shown"))
    // The summary still counts every line.
    #expect(result.stderr.contains("\(lineCount) records, 0 bundles, 0 objects would be pushed, \(lineCount) rejected"))
    // --strict is unchanged: it stops at the first.
    let strict = try ToolRunner.run("cti-push", ["--dry-run", "--strict"], stdin: Array(text.utf8))
    #expect(strict.status == 65)
    #expect(!strict.stderr.contains("pretty-printed"))
  }

  @Test func theSameErrorForEveryRecordIsPrintedOnceWithACount() throws {
    let folder = try TemporaryFolder()
    let lines = (1...30).map { #"{"type":"indicator","id":"indicator--00000000-0000-4000-8000-0000000000\#($0 + 10)","name":"x"}"# }
    let environment = [
      "OPENCTI_URL": "http://127.0.0.1:9", "OPENCTI_TOKEN": "t", "CONNECTOR_ID": "2a1c3d4e-0000-4000-8000-000000000001",
    ]
    let result = try ToolRunner.run(
      "cti-push", ["--reject", folder.path + "/rejects.ndjson", "--max-outage", "0"],
      stdin: Array(lines.map { $0 + "\n" }.joined().utf8), environment: environment)
    #expect(result.status == 69)
    let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("cti-push: error: ") }
    #expect(errors.count <= 4, "\(result.stderr)")
    #expect(result.stderr.contains("the same error 29 more times, for lines 2–30"))
    // Every record is still in the reject file.
    #expect(folder.read("rejects.ndjson")?.split(separator: "\n").count == 30)
  }

  @Test func theProgressLineIsClearedBeforeAnErrorOnATerminal() throws {
    let terminal = try PseudoTerminal()
    let feed = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/misp-feed-small").path
    let process = Process()
    process.executableURL = ToolRunner.binDirectory.appendingPathComponent("cti-misp")
    process.arguments = ["--feed", feed, "--import-from-date", "2000-01-01", "--jobs", "1"]
    process.environment = ["PATH": "/usr/bin:/bin"]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = terminal.handle
    try process.run()
    terminal.closeDevice()
    let output = terminal.readToEnd()
    process.waitUntilExit()
    #expect(process.terminationStatus == 1)
    #expect(output.contains("cti-misp: event 1/5"), "no progress line was drawn: \(output.debugDescription)")
    // Each message starts a line of its own: at the start, after a newline or after the
    // progress line's erasure, never glued to the end of "event 1/5".
    var rest = output[...]
    var messages = 0
    while let range = rest.range(of: "cti-misp: error:") {
      let before = output[..<range.lowerBound]
      // (Bytes, not Characters: the terminal turns "\n" into "\r\n", a single Character.)
      #expect(before.isEmpty || before.utf8.last == 0x0A || before.utf8.suffix(3).elementsEqual("\u{1B}[K".utf8), "\(output.debugDescription)")
      messages += 1
      rest = rest[range.upperBound...]
    }
    #expect(messages == 2)
  }

  @Test func cti_mispSaysWhatItReadsWhenStdinIsATerminal() throws {
    let terminal = try PseudoTerminal()
    let errors = Pipe()
    let process = Process()
    process.executableURL = ToolRunner.binDirectory.appendingPathComponent("cti-misp")
    process.arguments = []
    process.environment = ["PATH": "/usr/bin:/bin"]
    process.standardInput = terminal.handle
    process.standardOutput = FileHandle.nullDevice
    process.standardError = errors
    try process.run()
    terminal.closeDevice()
    terminal.write("\u{04}")  // Ctrl-D: the end of input
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(stderr)")
    #expect(stderr.contains("reading MISP events, one JSON event per line"), "\(stderr)")
    #expect(stderr.contains("--feed URL|DIR reads a feed"))
  }
}
