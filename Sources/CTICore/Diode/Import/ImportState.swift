#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file (or S3 object) that was imported: what identifies it and when it was done.
package struct ImportedFile: Sendable, Equatable {
  /// File name in the folder, or `s3://bucket/key`.
  package var name: String
  package var size: Int
  /// SHA-256 of the content, lower-case hex.
  package var sha256: String
  /// Modification time seen when it was imported (seconds since 1970).
  package var modified: Double
  /// When it was imported (seconds since 1970).
  package var importedAt: Int64

  package init(name: String, size: Int, sha256: String, modified: Double, importedAt: Int64) {
    self.name = name
    self.size = size
    self.sha256 = sha256
    self.modified = modified
    self.importedAt = importedAt
  }
}

/// Remembers which files were imported, by name, size and content hash, so that the decision to
/// import never depends on a timestamp (the official importer's only cursor, which loses files
/// copied with their old mtimes).
///
/// On disk it is a journal: one NDJSON line per imported file, appended right after the file was
/// delivered, so a kill loses at most the line being written (a torn last line is ignored).
/// `compact` rewrites it atomically, keeping files still present and, for files gone, the last
/// `forgetAfter` seconds of history (so a file copied in again soon is not imported twice).
/// A line may also be a whole snapshot, `{"imported":[…]}`: the form a checkpoint carries, which
/// the last stage of a pipeline writes as the file's only line.
package final class ImportState {
  package let path: String?
  /// Whether this process writes the file (false: it is only read, the pipeline's last stage
  /// writes it from checkpoints).
  package let persists: Bool
  package let durable: Bool
  package let forgetAfter: Int64
  package private(set) var entries: [String: ImportedFile] = [:]
  private var descriptor: Int32 = -1

  /// Loads the journal at `path` (nil keeps the state in memory only, for one process). With
  /// `persists` false the file is read but never written.
  package init(path: String?, persists: Bool = true, durable: Bool = false, forgetAfter: Int64 = 30 * 86400)
    throws(FileSystemError)
  {
    self.path = path
    self.persists = persists && path != nil
    self.durable = durable
    self.forgetAfter = forgetAfter
    guard let path else { return }
    var endsTorn = false
    if FileSystem.exists(path) {
      let bytes = try FileSystem.read(path)
      endsTorn = !bytes.isEmpty && bytes.last != 0x0A
      for line in bytes.split(separator: 0x0A) {
        // A line that does not read is the torn tail of a killed run: that file was not recorded.
        for entry in Self.decodeLine(Array(line)) { entries[entry.name] = entry }
      }
    }
    guard persists else { return }
    descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw FileSystemError("open", path) }
    // A torn tail must not glue itself to the next record.
    if endsTorn { try append([0x0A]) }
  }

  deinit {
    if descriptor >= 0 { close(descriptor) }
  }

  /// Whether `name` was imported with this size and modification time (no need to read it).
  package func isKnown(name: String, size: Int, modified: Double) -> Bool {
    guard let entry = entries[name] else { return false }
    return entry.size == size && entry.modified == modified
  }

  /// Whether `name` was imported with exactly this content.
  package func isKnown(name: String, size: Int, sha256: String) -> Bool {
    guard let entry = entries[name] else { return false }
    return entry.size == size && entry.sha256 == sha256
  }

  /// Records an imported file; when this returns, the record is in the journal.
  package func record(_ file: ImportedFile) throws(FileSystemError) {
    entries[file.name] = file
    guard persists else { return }
    var line = Self.encode(file)
    line.append(0x0A)
    try append(line)
  }

  /// Rewrites the journal with the files in `present` and the recently imported ones.
  package func compact(present: Set<String>, now: Int64) throws(FileSystemError) {
    entries = entries.filter { present.contains($0.key) || now - $0.value.importedAt < forgetAfter }
    guard persists, let path else { return }
    var bytes: [UInt8] = []
    for entry in entries.values.sorted(by: { ($0.importedAt, $0.name) < ($1.importedAt, $1.name) }) {
      bytes.append(contentsOf: Self.encode(entry))
      bytes.append(0x0A)
    }
    try FileSystem.writeAtomically(bytes, to: path, durable: durable)
    close(descriptor)
    descriptor = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
    guard descriptor >= 0 else { throw FileSystemError("open", path) }
  }

  private func append(_ bytes: [UInt8]) throws(FileSystemError) {
    let path = self.path ?? "state"
    if !FileSystem.writeAll(bytes, to: descriptor) { throw FileSystemError("write", path) }
    if durable, fsync(descriptor) != 0 { throw FileSystemError("fsync", path) }
  }

  static func encode(_ file: ImportedFile) -> [UInt8] {
    JSONWriter.serialize([
      "name": .string(file.name), "size": .int(file.size), "sha256": .string(file.sha256),
      "mtime": .number("\(file.modified)"), "imported_at": .int(file.importedAt),
    ])
  }

  /// The whole state as one JSON value, `{"imported":[…]}`, oldest first: what a checkpoint
  /// carries.
  package var snapshot: [UInt8] {
    var bytes = Array("{\"imported\":[".utf8)
    for (position, entry) in entries.values.sorted(by: { ($0.importedAt, $0.name) < ($1.importedAt, $1.name) }).enumerated() {
      if position > 0 { bytes.append(UInt8(ascii: ",")) }
      bytes.append(contentsOf: Self.encode(entry))
    }
    bytes.append(contentsOf: "]}".utf8)
    return bytes
  }

  /// The entries of one line of the file: an entry, or a snapshot of many.
  static func decodeLine(_ line: [UInt8]) -> [ImportedFile] {
    guard let object = try? RawObject(line) else { return [] }
    if let elements = object.arrayElements("imported") {
      return elements.compactMap { decode(Array(object.source[$0])) }
    }
    return decode(line).map { [$0] } ?? []
  }

  static func decode(_ line: [UInt8]) -> ImportedFile? {
    guard let object = try? JSONParser.parse(line).objectValue,
      let name = object["name"]?.stringValue, let size = object["size"]?.intValue,
      let sha256 = object["sha256"]?.stringValue, let modified = object["mtime"]?.numberText.flatMap(Double.init),
      let importedAt = object["imported_at"]?.intValue
    else { return nil }
    return ImportedFile(name: name, size: size, sha256: sha256, modified: modified, importedAt: Int64(importedAt))
  }
}
