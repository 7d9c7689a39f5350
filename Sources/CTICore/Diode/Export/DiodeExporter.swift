import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where diode files are written: a folder or an S3 prefix.
package protocol DiodeSink {
  var location: String { get }
  var bundleType: DiodeBundleType { get }
  /// The newest modification time among files already there (new files must come after it).
  func latestModified() throws -> Double?
  /// Writes one file so that it appears whole, with modification time `modified` where the
  /// medium allows it; returns the modification time it really got.
  func write(name: String, content: [UInt8], modified: Double) throws -> Double
  /// Files whose name starts with `prefix` and that are older than `before`.
  func expired(prefix: String, before: Double) throws -> [String]
  func delete(name: String) throws
  /// Removes temporaries a killed run left behind; returns how many.
  func removeStaleTemporaries() throws -> Int
}

extension DiodeSink {
  package func removeStaleTemporaries() throws -> Int { 0 }
}

/// A folder, written as pycti does: a temporary file, then a rename to `<name>.json`. The
/// temporary is FileSystem's hidden `.<name>.json.tmp-<pid>-<random>`, which no importer reads
/// and a later run can recognise and remove after a crash.
package struct DirectorySink: DiodeSink {
  package let path: String
  /// fsync each file before its rename and the folder after it.
  package let durable: Bool

  package init(path: String, durable: Bool = false) {
    self.path = path
    self.durable = durable
  }

  package var location: String { path }
  package var bundleType: DiodeBundleType { .directory }

  package func latestModified() throws -> Double? {
    var latest: Double?
    for name in try FileSystem.list(path) where name.hasSuffix(".json") && !name.hasPrefix(".") {
      if let attributes = FileSystem.attributes(path + "/" + name), !attributes.isDirectory {
        latest = max(latest ?? attributes.modified, attributes.modified)
      }
    }
    return latest
  }

  package func write(name: String, content: [UInt8], modified: Double) throws -> Double {
    let final = try SafeName.join(path, name)
    let temporary = FileSystem.temporaryPath(for: final)
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw FileSystemError("create", temporary) }
    var failure: FileSystemError?
    if !FileSystem.writeAll(content, to: descriptor) { failure = FileSystemError("write", temporary) }
    if failure == nil, durable, fsync(descriptor) != 0 { failure = FileSystemError("fsync", temporary) }
    if failure == nil {
      // Set before the rename, so the file never shows as .json with another time.
      let whole = modified.rounded(.down)
      var times = [
        timespec(tv_sec: Int(whole), tv_nsec: Int((modified - whole) * 1e9)),
        timespec(tv_sec: Int(whole), tv_nsec: Int((modified - whole) * 1e9)),
      ]
      if futimens(descriptor, &times) != 0 { failure = FileSystemError("set the time of", temporary) }
    }
    if close(descriptor) != 0, failure == nil { failure = FileSystemError("close", temporary) }
    if failure == nil, rename(temporary, final) != 0 { failure = FileSystemError("rename", final) }
    if let failure {
      unlink(temporary)
      throw failure
    }
    if durable { try FileSystem.syncDirectory(path) }
    return FileSystem.attributes(final)?.modified ?? modified
  }

  package func expired(prefix: String, before: Double) throws -> [String] {
    try FileSystem.list(path).filter { name in
      guard name.hasPrefix(prefix), name.hasSuffix(".json"), let attributes = FileSystem.attributes(path + "/" + name) else {
        return false
      }
      return !attributes.isDirectory && attributes.modified < before
    }
  }

  package func delete(name: String) throws {
    try FileSystem.removeFile(try SafeName.join(path, name))
  }

  package func removeStaleTemporaries() throws -> Int {
    try FileSystem.removeStaleTemporaries(in: path)
  }
}

/// The writing side's settings (pycti's CONNECTOR_* values) for records that are plain bundles.
package struct DiodeExporterSettings: Sendable {
  /// The connector named in files made from plain bundles; nil means such records are refused.
  package var connector: DiodeConnector?
  package var scopeAsList: Bool
  package var applicantID: String?
  /// `update` for files made from plain bundles.
  package var update: Bool
  /// Remove this exporter's own files older than this many days; 0 turns it off.
  package var retentionDays: Double

  package init(
    connector: DiodeConnector? = nil, scopeAsList: Bool = false, applicantID: String? = nil, update: Bool = false,
    retentionDays: Double = 0
  ) {
    self.connector = connector
    self.scopeAsList = scopeAsList
    self.applicantID = applicantID
    self.update = update
    self.retentionDays = retentionDays
  }
}

/// Turns records (bundles, diode envelopes, single STIX objects) into diode files, one file per
/// record, with strictly increasing modification times so that a timestamp-driven reader (the
/// official importer) misses none of them.
package final class DiodeExporter {
  package let sink: any DiodeSink
  package let options: DiodeExporterSettings
  private var lastModified: Double
  private let clock: () -> Double
  /// Files written so far.
  package private(set) var written = 0
  /// Temporaries of an interrupted run found and removed when the exporter started.
  package private(set) var staleTemporariesRemoved = 0
  /// The smallest step between two files' times.
  package static let minimumStep = 0.001

  package init(
    sink: any DiodeSink, options: DiodeExporterSettings,
    clock: @escaping () -> Double = { let now = ISO8601.Instant.now; return Double(now.seconds) + Double(now.nanoseconds) / 1e9 }
  ) throws {
    self.sink = sink
    self.options = options
    self.clock = clock
    staleTemporariesRemoved = try sink.removeStaleTemporaries()
    // A file dated far in the future must not drag every new file there.
    let existing = try sink.latestModified() ?? 0
    lastModified = existing <= clock() + 86400 ? existing : 0
  }

  /// Writes one record as a diode file; returns its name.
  @discardableResult
  package func export(_ record: Record) throws -> String {
    let connector: JSONValue
    let connectorName: String
    let applicant: String?
    var update = options.update
    var entitiesTypes: JSONValue = .null
    let bundle: JSONValue
    switch record.kind {
    case .bundle:
      let configured = try configuredConnector(record)
      connector = DiodeFileFormat.connectorValue(configured, scopeAsList: options.scopeAsList)
      connectorName = configured.name
      applicant = options.applicantID
      bundle = .object(try parse(record, record.object.parsed))
      guard bundle["objects"]?.arrayValue?.isEmpty == false else {
        throw RecordError(line: record.line, "the bundle has no objects: nothing to export")
      }
    case .diodeEnvelope:
      let envelope: DiodeFile
      do {
        envelope = try DiodeFile(Array(record.object.bytes))
      } catch {
        throw RecordError(line: record.line, "invalid diode envelope: \(error.reason)")
      }
      connector = record.object.value("connector") ?? .null
      connectorName = envelope.connector.name
      applicant = envelope.applicantID
      update = envelope.update
      entitiesTypes = record.object.value("entities_types") ?? .null
      bundle = record.object.value("bundle") ?? .null
    case .stixObject, .streamEvent:
      // A stream event's object goes across like a bare object (a merge as its target's new
      // state); deletions cannot be carried by a diode file and are left to the caller.
      let object: RawObject
      if record.kind == .streamEvent {
        do { object = try StreamEvent(record.object).data } catch {
          throw RecordError(line: record.line, "\(error)")
        }
      } else {
        object = record.object
      }
      let configured = try configuredConnector(record)
      connector = DiodeFileFormat.connectorValue(configured, scopeAsList: options.scopeAsList)
      connectorName = configured.name
      applicant = options.applicantID
      let value = JSONValue.object(try parse(record, object.parsed))
      bundle = ["type": "bundle", "id": .string("bundle--" + UUID().uuidString.lowercased()), "objects": [value]]
    case .controlEvent, .checkpoint:
      throw RecordError(line: record.line, "a \(record.kind.rawValue) carries no STIX data to export")
    }
    let content = DiodeFileFormat.content(
      bundle: bundle, connector: connector, applicantID: applicant, bundleType: sink.bundleType,
      entitiesTypes: entitiesTypes, update: update)
    var time = max(clock(), lastModified + Self.minimumStep)
    // A medium may keep coarser times than asked (FAT keeps 2 s): then step further past the last file.
    for step in [1.0, 2.0, 4.0, 0] {
      let name = DiodeFileFormat.fileName(connectorName: connectorName, time: time)
      let actual = try sink.write(name: name, content: content, modified: time)
      if actual > lastModified {
        lastModified = actual
        written += 1
        return name
      }
      try sink.delete(name: name)
      time = lastModified + step
    }
    throw RecordError(line: record.line, "cannot give the file a time after the previous file's")
  }

  /// Removes this connector's files older than the retention (pycti's writer-side cleanup, kept
  /// to files whose name starts with this connector's prefix).
  package func applyRetention() throws -> Int {
    guard options.retentionDays > 0, let connector = options.connector else { return 0 }
    let prefix = DiodeFileFormat.namePrefix(connectorName: connector.name) + "-"
    var removed = 0
    for name in try sink.expired(prefix: prefix, before: clock() - options.retentionDays * 86400) {
      try sink.delete(name: name)
      removed += 1
    }
    return removed
  }

  private func configuredConnector(_ record: Record) throws -> DiodeConnector {
    guard let connector = options.connector else {
      throw ConfigError(
        "line \(record.line): a plain \(record.kind.rawValue) needs the connector it is exported for: "
          + "set --connector-id and --connector-name (CONNECTOR_ID, CONNECTOR_NAME)")
    }
    return connector
  }

  private func parse(_ record: Record, _ body: () throws(JSONError) -> JSONObject) throws -> JSONObject {
    do {
      return try body()
    } catch {
      throw RecordError(line: record.line, "invalid JSON: \(error)")
    }
  }
}
