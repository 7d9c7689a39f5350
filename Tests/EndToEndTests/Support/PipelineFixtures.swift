import CTICore
import CTITestSupport
import Foundation

/// Inputs for the pipeline tests, made on the spot: small, with ids the tests can predict.
enum PipelineFixtures {
  static func uuid(_ prefix: String, _ number: Int) -> String {
    prefix + "-0000-4000-8000-" + String(format: "%012d", number)
  }

  // MARK: Live stream

  /// `count` create events of distinct indicators, ids `<ms>-0` ascending from `start`.
  static func streamEvents(_ count: Int, start: Int = 1) -> [FakePlatform.Event] {
    (start..<(start + count)).map { FakePlatform.Event(id: streamEventId($0), data: StreamEndToEndTests.payload($0)) }
  }

  static func streamEventId(_ number: Int) -> String { "\(1_705_327_200_000 + number)-0" }

  /// The STIX id of the object of `streamEvents`' event `number`.
  static func streamObjectId(_ number: Int) -> String { "indicator--" + uuid("c2ec1f5e", number) }

  /// An SSE capture of the same events (for --replay).
  static func streamCapture(_ numbers: ClosedRange<Int>) -> String {
    numbers.map { "id: \(streamEventId($0))\nevent: create\ndata: \(StreamEndToEndTests.payload($0))\n\n" }.joined()
  }

  /// The position `(ms, seq)` of a stream id, for comparisons.
  static func position(_ id: String) -> (Int, Int)? {
    let parts = id.split(separator: "-")
    guard parts.count == 2, let ms = Int(parts[0]), let seq = Int(parts[1]) else { return nil }
    return (ms, seq)
  }

  // MARK: MISP feed

  static func mispEventUUID(_ number: Int) -> String { uuid("e0e0e0e0", number) }
  static func mispTimestamp(_ number: Int) -> Int { 1_712_000_000 + number * 60 }

  /// A feed folder of `count` one-domain events with distinct timestamps (oldest first).
  @discardableResult
  static func writeMISPFeed(_ count: Int, to folder: String, attributes: Int = 2) throws -> String {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var manifest = JSONObject()
    for number in 1...count {
      let uuid = mispEventUUID(number)
      let timestamp = mispTimestamp(number)
      let org: JSONValue = ["name": "Pipeline Feed", "uuid": "11111111-0000-4000-8000-000000000000"]
      manifest[uuid] = [
        "Orgc": org, "Tag": [["name": "tlp:clear"]], "info": .string("Event \(number)"), "date": "2024-04-01",
        "analysis": 2, "threat_level_id": 2, "timestamp": .int(timestamp),
      ]
      let attributeList: [JSONValue] = (0..<attributes).map { index in
        [
          "uuid": .string(Self.uuid("a0a0a0a0", number * 100 + index)), "type": "domain", "category": "Network activity",
          "value": .string("host\(index)-\(number).pipeline.example"), "to_ids": true, "comment": "",
          "timestamp": .string(String(timestamp)),
        ]
      }
      let event: JSONValue = [
        "Event": [
          "uuid": .string(uuid), "info": .string("Event \(number)"), "date": "2024-04-01",
          "timestamp": .string(String(timestamp)), "publish_timestamp": .string(String(timestamp)), "published": true,
          "threat_level_id": "2", "analysis": "2", "Orgc": org, "Tag": [["name": "tlp:clear"]],
          "Attribute": .array(attributeList),
        ]
      ]
      try Data(JSONWriter.serialize(event)).write(to: URL(fileURLWithPath: folder + "/\(uuid).json"))
    }
    try Data(JSONWriter.serialize(.object(manifest))).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
    return folder
  }

  /// The object ids of each event's bundle, in feed order, from a plain run of cti-misp.
  static func mispObjectIds(feed: String, arguments: [String]) throws -> [Set<String>] {
    let result = try ToolRunner.run("cti-misp", ["--feed", feed] + arguments)
    guard result.status == 0 else { throw TestSetupFailure("cti-misp reference run failed: \(result.stderr)") }
    return try result.stdoutLines.map { line in
      let bundle = try JSONParser.parse(line)
      return Set(bundle["objects"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [])
    }
  }

  // MARK: Diode files

  /// The ids of the two indicators in diode file `number`.
  static func diodeObjectIds(_ number: Int) -> [String] {
    [0, 1].map { "indicator--" + uuid("d10de000", number * 10 + $0) }
  }

  static func diodeFileName(_ number: Int) -> String { "pipeline_feed-20240610-143300-\(1_718_030_000 + number).5.json" }

  static func diodeBundleId(_ number: Int) -> String { "bundle--" + uuid("b0b0b0b0", number) }

  /// A diode file as pycti's send_to_directory writes it, holding two indicators; `padding`
  /// bytes of description make it bigger.
  static func diodeFile(_ number: Int, padding: Int = 0) -> String {
    let objects = diodeObjectIds(number).map { id in
      "{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"\(id)\", \"created\": \"2024-06-10T12:00:00.000Z\", \"modified\": \"2024-06-10T12:00:00.000Z\", \"name\": \"\(id)\", \"description\": \"\(String(repeating: "p", count: padding))\", \"pattern\": \"[domain-name:value = 'd\(number).example']\", \"pattern_type\": \"stix\", \"valid_from\": \"2024-06-10T12:00:00.000Z\"}"
    }
    return "{\"bundle_type\": \"DIRECTORY_BUNDLE\", \"applicant_id\": null, \"connector\": {\"id\": \"5b6f3a7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b\", \"name\": \"Pipeline Feed\", \"type\": \"EXTERNAL_IMPORT\", \"scope\": [\"indicator\"], \"auto\": false, \"validate_before_import\": false}, \"entities_types\": [], \"bundle\": {\"type\": \"bundle\", \"id\": \"\(diodeBundleId(number))\", \"objects\": [\(objects.joined(separator: ", "))]}, \"update\": false}"
  }

  /// Writes diode files 1…count into `folder`, oldest first (distinct modification times).
  static func writeDiodeFiles(_ count: Int, to folder: String, padding: Int = 0) throws -> [String: [String]] {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var objects: [String: [String]] = [:]
    let base = Date().addingTimeInterval(-3600)
    for number in 1...count {
      let path = folder + "/" + diodeFileName(number)
      try Data(diodeFile(number, padding: padding).utf8).write(to: URL(fileURLWithPath: path))
      try FileManager.default.setAttributes(
        [.modificationDate: base.addingTimeInterval(Double(number))], ofItemAtPath: path)
      objects[diodeFileName(number)] = diodeObjectIds(number)
    }
    return objects
  }

  /// The file names an import journal (or a checkpoint's snapshot of one) records.
  static func journalNames(_ path: String) -> Set<String> {
    guard let bytes = try? FileSystem.read(path) else { return [] }
    var names = Set<String>()
    for line in bytes.split(separator: 0x0A) {
      guard let value = try? JSONParser.parse(Array(line)) else { continue }
      if let list = value["imported"]?.arrayValue {
        names.formUnion(list.compactMap { $0["name"]?.stringValue })
      } else if let name = value["name"]?.stringValue {
        names.insert(name)
      }
    }
    return names
  }

  // MARK: Backup trees

  static func backupObjectId(_ number: Int) -> String { "malware--" + uuid("ba0ba000", number) }

  /// A backup tree with `folders` hourly bucket folders of `perFolder` malware objects each,
  /// written by cti-backup itself; returns each folder's object ids by folder name.
  static func writeBackupTree(folders: Int, perFolder: Int, to path: String, padding: Int = 0) throws -> [String: Set<String>] {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    var lines: [String] = []
    for folder in 0..<folders {
      for index in 0..<perFolder {
        let number = folder * 100 + index
        let created = String(format: "2024-01-%02dT%02d:10:00.000Z", 1 + folder / 24, folder % 24)
        lines.append(
          "{\"type\":\"malware\",\"spec_version\":\"2.1\",\"id\":\"\(backupObjectId(number))\",\"created\":\"\(created)\",\"modified\":\"\(created)\",\"name\":\"m\(number)\",\"description\":\"\(String(repeating: "d", count: padding))\",\"is_family\":true}"
        )
      }
    }
    let result = try ToolRunner.run("cti-backup", [path], stdin: Array(lines.map { $0 + "\n" }.joined().utf8))
    guard result.status == 0 else { throw TestSetupFailure("cti-backup could not build the tree: \(result.stderr)") }
    return backupContents(path)
  }

  /// Every object id stored in a backup tree, by bucket folder.
  static func backupContents(_ path: String) -> [String: Set<String>] {
    let data = path + "/opencti_data"
    var contents: [String: Set<String>] = [:]
    for folder in (try? FileManager.default.contentsOfDirectory(atPath: data)) ?? [] where !folder.hasPrefix(".") {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: data + "/" + folder)) ?? []
      contents[folder] = Set(names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) })
    }
    return contents
  }
}

