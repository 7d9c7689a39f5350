import Foundation
import Logging
import Testing

@testable import CTICore

/// Timestamps a third-party feed can hold that once trapped the converter (issue 11, items 1
/// and 2): each is refused with the field named, never a crash.
@Suite struct MISPHostileInputTests {
  static let extremes = [
    "-9223372036854775808", "9223372036854775807", "-9223372036854775000", "99999999999999999999999", "-62135596801",
    "253402300800",
  ]

  private func event(timestamp: String = "1704067200", attribute: String = "1704067200", sighting: String = "1704067200",
    objectAttribute: String = "1704067200", note: String = "1704067300") -> JSONValue
  {
    let json = """
      {"Event":{"uuid":"u","info":"i","date":"2024-01-01","timestamp":"\(timestamp)","Orgc":{"name":"O"},
      "Attribute":[{"uuid":"a1","type":"domain","category":"Network activity","value":"example.com","to_ids":true,
        "timestamp":"\(attribute)","Sighting":[{"date_sighting":"\(sighting)","Organisation":{"name":"S"}}]}],
      "Object":[{"name":"domain-ip","uuid":"o1","Attribute":[{"uuid":"a2","type":"domain","object_relation":"domain",
        "value":"example.org","timestamp":"\(objectAttribute)"}]}],
      "EventReport":[{"name":"n","content":"text","timestamp":"\(note)"}]}}
      """
    return try! JSONParser.parse(Array(json.utf8))
  }

  private var converter: MISPConverter {
    var options = MISPConversionSettings()
    options.createIndicators = true
    options.createObservables = true
    options.createObjectObservables = true
    return MISPConverter(options: options)
  }

  @Test(arguments: extremes)
  func extremeTimestampsRefuseTheEventNamingTheField(_ value: String) {
    let cases: [(JSONValue, String)] = [
      (event(timestamp: value), "Event.timestamp"), (event(attribute: value), "Attribute[0].timestamp"),
      (event(sighting: value), "Attribute[0].Sighting[0].date_sighting"),
      (event(objectAttribute: value), "Object[0].Attribute[0].timestamp"), (event(note: value), "EventReport[0].timestamp"),
    ]
    for (input, field) in cases {
      #expect {
        _ = try converter.convert(input, now: ISO8601.Instant(seconds: 1_800_000_000))
      } throws: { error in
        "\(error)".hasPrefix(field) && "\(error)".contains("outside the years 0001 to 9999")
      }
    }
  }

  @Test func numbersBeyondIntAndTheEdgesOfTheRange() throws {
    let huge = try JSONParser.parse(Array(#"{"Event":{"timestamp":1e300,"date":"2024-01-01","Orgc":{"name":"O"}}}"#.utf8))
    #expect(throws: MISPEventError.self) { try converter.convert(huge) }
    // The first and last seconds STIX can write convert.
    for value in ["-62135596800", "253402300799"] {
      let bundle = try JSONParser.parse(try converter.convert(event(attribute: value, sighting: value)).bundle)
      #expect(bundle["objects"]?.arrayValue?.isEmpty == false)
    }
    // Text that is no number keeps the fallback, as before.
    _ = try converter.convert(event(attribute: "soon"))
  }

  @Test func formattingNeverTraps() {
    #expect(ISO8601.format(ISO8601.Instant(seconds: .min), fractionDigits: 0).hasSuffix("Z"))
    #expect(ISO8601.format(ISO8601.Instant(seconds: .max), fractionDigits: 3).hasSuffix("Z"))
    #expect(ISO8601.format(ISO8601.Instant(seconds: -1), fractionDigits: 0) == "1969-12-31T23:59:59Z")
    #expect(ISO8601.format(ISO8601.Instant(seconds: -86400), fractionDigits: 0) == "1969-12-31T00:00:00Z")
    #expect(ISO8601.format(ISO8601.Instant(seconds: -62_135_596_800), fractionDigits: 0) == "0001-01-01T00:00:00Z")
    #expect(ISO8601.Instant(seconds: .max).milliseconds == .max)
    #expect(ISO8601.Instant(seconds: .min).milliseconds == .min)
    #expect(ISO8601.duration("P99999999999999999999Y") == nil)
    #expect(MISPFeedState.isoformat(ISO8601.Instant(seconds: .min)).hasSuffix("+00:00"))
  }

  @Test func manifestEntryOutOfRangeIsReportedAndTheOthersConvert() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cti-misp-hostile-" + UUID().uuidString)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let manifest = """
      {"bad":{"timestamp":"99999999999999999999999"},"neg":{"timestamp":-9223372036854775808},"nan":{"timestamp":"x"},
      "good1":{"timestamp":1704067200},"good2":{"timestamp":"1704067300"}}
      """
    try Data(manifest.utf8).write(to: folder.appendingPathComponent("manifest.json"))
    for (uuid, timestamp) in [("good1", "1704067200"), ("good2", "1704067300")] {
      let text = #"{"Event":{"uuid":"\#(uuid)","info":"i","date":"2024-01-01","timestamp":"\#(timestamp)","Orgc":{"name":"O"}}}"#
      try Data(text.utf8).write(to: folder.appendingPathComponent(uuid + ".json"))
    }
    let entries = try MISPManifestEntry.parse(Array(manifest.utf8))
    #expect(entries.map(\.uuid) == ["good1", "good2", "bad", "nan", "neg"])
    #expect(entries.suffix(3).allSatisfy { $0.problem != nil })

    let statePath = folder.appendingPathComponent("state.json").path
    let outputPath = folder.appendingPathComponent("out.ndjson").path
    for run in 1...2 {
      let descriptor = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
      defer { close(descriptor) }
      let diagnostics = Diagnostics(logger: Logger(label: "test"))
      let writer = RecordWriter(descriptor: descriptor)
      let misp = try MISPRun(
        converter: MISPConverter(options: MISPConversionSettings()), writer: writer, diagnostics: diagnostics,
        state: SourceState(path: statePath, tool: "cti-misp", output: writer, outputDescriptor: descriptor),
        now: ISO8601.Instant(seconds: 1_800_000_000))
      try misp.convertFeed(MISPDirectorySource(path: folder.path), importFrom: 0)
      #expect(misp.summary.failed.sorted() == ["bad", "nan", "neg"])
      #expect(diagnostics.errors == 3)
      #expect(misp.summary.converted == (run == 1 ? 2 : 0))
      // The state reaches the last good event and never passes the bad ones.
      #expect(try MISPFeedState.load(statePath).lastEventTimestamp == 1_704_067_300)
    }
  }
}
