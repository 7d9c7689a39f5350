import CTICore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The fuzz targets: each feeds one input to one reader of hostile input and checks what must
/// hold whatever the input (issue 11). A trap in the code under test is a finding by itself;
/// the checks return the other broken invariants as text. The libFuzzer driver (Fuzz/) aborts
/// on any; the replay test (FuzzReplayTests) runs every stored input through the same checks.
public enum FuzzTarget: String, CaseIterable, Sendable {
  /// JSONParser, RawObject and JSONWriter.
  case json
  /// LineReader: NDJSON lines, CRLF, blank and over-long lines.
  case lines
  /// SSEParser fed whole and in pieces.
  case sse
  /// Record(line): the classification of NDJSON records.
  case record
  /// MISPConverter (and the manifest reader).
  case misp
  /// The diode file reader and validator (DiodeFile, DirectorySource).
  case diode
  /// BackupRestore over a small tree built from the input.
  case restore
  /// The config.yml loader.
  case config

  /// Removes the files the targets made, if any (at the end of a run).
  public static func cleanUp() {
    if FuzzChecks.madeWorkFolder { try? FileManager.default.removeItem(atPath: FuzzChecks.workFolder) }
  }

  /// Runs the input; returns the invariants it broke (empty when all held).
  public func check(_ data: [UInt8]) -> [String] {
    var problems: [String] = []
    switch self {
    case .json: FuzzChecks.json(data, &problems)
    case .lines: FuzzChecks.lines(data, &problems)
    case .sse: FuzzChecks.sse(data, &problems)
    case .record: FuzzChecks.record(data, &problems)
    case .misp: FuzzChecks.misp(data, &problems)
    case .diode: FuzzChecks.diode(data, &problems)
    case .restore: FuzzChecks.restore(data, &problems)
    case .config: FuzzChecks.config(data, &problems)
    }
    return problems
  }
}

enum FuzzChecks {
  static func isJSON(_ bytes: [UInt8]) -> Bool { (try? JSONParser.validate(bytes)) != nil }

  // MARK: json

  static func json(_ data: [UInt8], _ problems: inout [String]) {
    let parsed = try? JSONParser.parse(data)
    let valid = isJSON(data)
    if (parsed != nil) != valid { problems.append("parse and validate disagree (parse \(parsed != nil), validate \(valid))") }
    _ = try? JSONParser.parse(data, limits: JSONLimits(maxDepth: 8, maxBytes: 64))
    if let object = try? RawObject(data) {
      if parsed?.objectValue == nil { problems.append("RawObject read what the parser refuses as an object") }
      for key in object.keys.prefix(8) {
        _ = object.value(key)
        _ = object.string(key)
        _ = object.arrayElements(key)
        if let raw = object.rawValue(key), !isJSON(Array(raw)) { problems.append("member \(key) is not JSON on its own") }
      }
      _ = try? object.parsed()
    }
    guard let parsed else { return }
    let written = JSONWriter.serialize(parsed)
    if (try? JSONParser.parse(written)) != parsed { problems.append("serialize does not parse back to the same value") }
    // The forms ids are hashed from follow Python's json, which writes numbers past Double's
    // range as Infinity: not JSON, but what pycti hashes. They must only not trap.
    _ = JSONWriter.canonical(parsed)
    _ = JSONWriter.pythonDumps(parsed)
    var compact = JSONWriter()
    compact.writeCompacted(data)
    if (try? JSONParser.parse(compact.bytes)) != parsed { problems.append("writeCompacted changed the value") }
  }

  // MARK: lines

  static let lineLimit = 32

  static func lines(_ data: [UInt8], _ problems: inout [String]) {
    // What the reader must give: numbered lines without their LF and one trailing CR, blank
    // ones skipped, those over the limit reported with their number.
    var expected: [String] = []
    var number = 0
    var rest = data[...]
    while !rest.isEmpty {
      number += 1
      var line = rest.prefix { $0 != 0x0A }
      rest = rest.dropFirst(line.count + 1)
      if line.last == 0x0D { line = line.dropLast() }
      if line.count > lineLimit {
        expected.append("long \(number)")
      } else if !line.isEmpty {
        expected.append("\(number): \(Array(line))")
      }
    }
    try? FileSystem.makeDirectories(workFolder)
    let path = workFolder + "/lines.ndjson"
    put(data, path)
    guard let reader = try? LineReader(path: path, maxLineBytes: lineLimit) else {
      problems.append("cannot open the input")
      return
    }
    var got: [String] = []
    while true {
      do {
        guard let line = try reader.next() else { break }
        got.append("\(line.number): \(line.bytes)")
      } catch LineReaderError.lineTooLong(let line, _) {
        got.append("long \(line)")
      } catch {
        problems.append("\(error)")
        break
      }
      if got.count > data.count + 1 {
        problems.append("more lines than bytes")
        break
      }
    }
    if got != expected { problems.append("lines differ: expected \(expected.prefix(6)), got \(got.prefix(6))") }
  }

  // MARK: sse

  /// A small event limit, so that over-long lines and events are reached too.
  static let sseLimit = 64

  static func sse(_ data: [UInt8], _ problems: inout [String]) {
    // Up to the first event too large (after which the connection is dropped and the parser
    // reset), the events must not depend on how the bytes are cut.
    var whole = SSEParser(maxEventBytes: sseLimit)
    var wholeEvents: [SSEEvent] = []
    var wholeFailed = false
    do { try whole.feed(data) { wholeEvents.append($0) } } catch { wholeFailed = true }
    var pieces = SSEParser(maxEventBytes: sseLimit)
    var pieceEvents: [SSEEvent] = []
    var piecesFailed = false
    var index = 0
    var step = 0
    while index < data.count, !piecesFailed {
      let size = Int(data[step % data.count] % 7) + 1
      step += 1
      let end = min(index + size, data.count)
      do { try pieces.feed(Array(data[index..<end])) { pieceEvents.append($0) } } catch { piecesFailed = true }
      index = end
    }
    if wholeEvents != pieceEvents { problems.append("events depend on how the bytes are split") }
    if wholeFailed != piecesFailed { problems.append("an event is too large or not depending on the split") }
    if !wholeFailed, whole.lastEventID != pieces.lastEventID { problems.append("last event id depends on the split") }
    for event in wholeEvents where event.data.count > sseLimit { problems.append("an event over the limit got through") }
    // A fresh connection after an error starts clean.
    whole.reset()
    var after: [SSEEvent] = []
    try? whole.feed(Array("data: x\n\n".utf8)) { after.append($0) }
    if after.map(\.data) != [Array("x".utf8)] { problems.append("the parser does not recover after reset()") }
  }

  // MARK: record

  static func record(_ data: [UInt8], _ problems: inout [String]) {
    guard let record = try? Record(Line(number: 1, bytes: data)) else { return }
    if !isJSON(data) { problems.append("a \(record.kind.rawValue) that is not valid JSON") }
    if (try? Record.kind(of: record.object)) != record.kind { problems.append("kind is not stable") }
  }

  // MARK: misp

  static func misp(_ data: [UInt8], _ problems: inout [String]) {
    guard let first = data.first else { return }
    var options = MISPConversionSettings()
    options.compatibility = first & 1 == 0 ? .fixed : .official
    options.createIndicators = first & 2 != 0
    options.createObservables = first & 4 != 0
    options.createObjectObservables = first & 8 != 0
    options.createReports = first & 16 == 0
    options.authorFromTags = first & 32 != 0
    options.markingsFromTags = first & 64 != 0
    options.importUnsupportedObservablesAsText = first & 128 != 0
    guard let value = try? JSONParser.parse(Array(data.dropFirst())) else { return }
    _ = try? MISPManifestEntry.parse(Array(data.dropFirst()))
    guard let conversion = try? MISPConverter(options: options).convert(value, now: ISO8601.Instant(seconds: 1_800_000_000))
    else { return }
    guard let bundle = try? JSONParser.parse(conversion.bundle) else {
      problems.append("the bundle is not valid JSON")
      return
    }
    guard bundle["type"] == "bundle", let objects = bundle["objects"]?.arrayValue else {
      problems.append("the output is not a bundle")
      return
    }
    for object in objects {
      guard let type = object["type"]?.stringValue, let id = object["id"]?.stringValue, id.hasPrefix(type + "--") else {
        problems.append("an object without a matching type and id")
        return
      }
      for key in ["created", "modified", "valid_from", "first_seen", "last_seen", "published"] {
        guard let text = object[key]?.stringValue else { continue }
        guard let instant = ISO8601.parse(text), instant.isSupported else {
          problems.append("\(type).\(key) '\(text)' is no STIX timestamp")
          return
        }
      }
    }
  }

  // MARK: diode

  /// A folder of this process's for the targets that need files: in memory (/dev/shm) when
  /// there is one, as the fuzzers write files at every run.
  /// CTI_FUZZ_WORK, when set, is the folder to make it in (scripts/fuzz removes it at the end).
  static let workFolder: String = {
    var base = FileSystem.isDirectory("/dev/shm") ? "/dev/shm" : FileManager.default.temporaryDirectory.path
    if let chosen = getenv("CTI_FUZZ_WORK") { base = String(cString: chosen) }
    let path = base + "/cti-fuzz-\(getpid())"
    try? FileSystem.makeDirectories(path)
    madeWorkFolder = true
    return path
  }()
  nonisolated(unsafe) static var madeWorkFolder = false

  /// Writes a file in place (no temporary and rename: the fuzzers' files are their own).
  static func put(_ bytes: [UInt8], _ path: String) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { return }
    _ = FileSystem.writeAll(bytes, to: descriptor)
    close(descriptor)
  }

  static func diode(_ data: [UInt8], _ problems: inout [String]) {
    let folder = workFolder + "/diode"
    try? FileSystem.makeDirectories(folder)
    let path = folder + "/f.json"
    put(data, path)
    defer { _ = try? FileSystem.removeFile(path) }
    let source = DirectorySource(path: folder, maxFileBytes: 1 << 20)
    guard let item = (try? source.list())?.first(where: { $0.name == "f.json" }) else {
      problems.append("the file is not listed")
      return
    }
    guard let bytes = try? source.read(item), bytes == data else {
      problems.append("the file does not read back as written")
      return
    }
    guard let file = try? DiodeFile(bytes) else { return }
    for line in [file.line(), file.line(replacingApplicant: .some("user")), file.line(replacingApplicant: .some(nil))] {
      if line.contains(0x0A) || line.contains(0x0D) { problems.append("an envelope line holds a line break") }
      if !isJSON(line) { problems.append("an envelope line is not valid JSON") }
      if (try? Record(Line(number: 1, bytes: line)))?.kind != .diodeEnvelope {
        problems.append("an envelope line does not read back as a diode envelope")
      }
    }
    if !isJSON(Array(file.bundleBytes)) { problems.append("the bundle is not valid JSON") }
    if file.objectCount < 1 { problems.append("a valid file without objects") }
  }

  // MARK: restore

  static let buckets = ["20240115T140000Z", "20240115T150000Z", "20240115T160000Z"]

  /// Up to eight files cut from the input at NUL bytes, spread over three bucket folders and
  /// named after their first object's id when it is a STIX id (so references resolve).
  static func restore(_ data: [UInt8], _ problems: inout [String]) {
    let root = workFolder + "/restore"
    // The same three folders each run, emptied before and after.
    func empty() {
      for bucket in buckets {
        let folder = root + "/opencti_data/" + bucket
        try? FileSystem.makeDirectories(folder)
        for name in (try? FileSystem.list(folder)) ?? [] { unlink(folder + "/" + name) }
      }
    }
    empty()
    defer { empty() }
    for (index, part) in data.split(separator: 0, omittingEmptySubsequences: false).prefix(8).enumerated() {
      var name = "file\(index).json"
      if let object = try? RawObject(Array(part)), let elements = object.arrayElements("objects"),
        let first = elements.first, let id = (try? RawObject(Array(part), range: first))?.string("id"),
        let safe = try? SafeName.stixFileName(id)
      {
        name = safe
      }
      put(Array(part), root + "/opencti_data/" + buckets[index % 3] + "/" + name)
    }
    guard let restore = try? BackupRestore(path: root, maxFileBytes: 1 << 20) else {
      problems.append("the tree does not open")
      return
    }
    for position in restore.folders.indices {
      guard let bundle = try? restore.bundle(at: position) else {
        problems.append("folder \(position) does not restore")
        continue
      }
      guard let parsed = try? JSONParser.parse(bundle.bytes), let objects = parsed["objects"]?.arrayValue else {
        problems.append("the bundle of folder \(position) is not valid JSON")
        continue
      }
      if objects.count != bundle.objectCount { problems.append("object count \(bundle.objectCount) != \(objects.count)") }
    }
  }

  // MARK: config

  static let secret = "FUZZ-SECRET-7f3a9c"

  /// The input as config.yml, with a token line put in at a line boundary the input picks.
  static func config(_ data: [UInt8], _ problems: inout [String]) {
    var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let position = data.isEmpty ? 0 : Int(data[0]) % (lines.count + 1)
    let indent = data.count > 1 && data[1] & 1 == 1 ? "  " : ""
    lines.insert(indent + "token: " + (data.count > 2 && data[2] & 1 == 1 ? "\"" : "") + secret, at: position)
    do {
      _ = try Configuration.flatten(yaml: lines.joined(separator: "\n"))
    } catch {
      if error.message.contains("SECRET") { problems.append("the secret is in the error: \(error.message)") }
    }
  }
}
