/// How wide a backup folder is. Folders are named after the platform creation time rounded to
/// the nearest unit (half-way rounds up), as the official connector's `round_time` does.
public enum BucketSize: String, Sendable, CaseIterable {
  /// One folder per hour.
  case hour
  /// One folder per minute: the official backup-files connector's folders, name for name.
  case minute

  public var seconds: Int64 {
    switch self {
    case .hour: 3600
    case .minute: 60
    }
  }

  /// The folder name (`YYYYMMDDTHHMMSSZ`, UTC) for a platform creation time.
  public func folderName(for instant: ISO8601.Instant) -> String {
    let secondsOfDay = ((instant.seconds % 86400) + 86400) % 86400
    let dayStart = instant.seconds - secondsOfDay
    let rounded = (secondsOfDay + seconds / 2) / seconds * seconds
    return ISO8601.compact(ISO8601.Instant(seconds: dayStart + rounded))
  }
}

/// Why an event cannot be applied to the backup tree.
public struct BackupError: Error, Equatable, ExitCoded, CustomStringConvertible {
  public var message: String
  public var exitStatus: ExitStatus { .dataError }
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The layout `<root>/opencti_data/<bucket>/<stix-id>.json` shared by the official backup-files
/// and restore-files connectors. Each file holds `{"type":"bundle","objects":[object]}`.
public struct BackupTree: Sendable {
  /// The folder that holds the bucket folders (`<path>/opencti_data`).
  public let dataPath: String

  public init(path: String) {
    dataPath = (path.hasSuffix("/") ? String(path.dropLast()) : path) + "/opencti_data"
  }

  /// The bucket folders, oldest first (names that are not `YYYYMMDDTHHMMSSZ` are left out).
  public func buckets() throws(FileSystemError) -> [String] {
    try FileSystem.list(dataPath).filter(BackupTree.isBucketName).filter { FileSystem.isDirectory(dataPath + "/" + $0) }
      .sorted()
  }

  public static func isBucketName(_ name: String) -> Bool {
    let utf8 = Array(name.utf8)
    guard utf8.count == 16, utf8[8] == UInt8(ascii: "T"), utf8[15] == UInt8(ascii: "Z") else { return false }
    let digits = utf8[0..<8] + utf8[9..<15]
    guard digits.allSatisfy({ (48...57).contains($0) }) else { return false }
    let text = String(decoding: utf8[0..<4], as: UTF8.self) + "-" + String(decoding: utf8[4..<6], as: UTF8.self) + "-"
      + String(decoding: utf8[6..<8], as: UTF8.self) + "T" + String(decoding: utf8[9..<11], as: UTF8.self) + ":"
      + String(decoding: utf8[11..<13], as: UTF8.self) + ":" + String(decoding: utf8[13..<15], as: UTF8.self) + "Z"
    return ISO8601.parse(text) != nil
  }

  /// The platform creation time of a STIX object: `created_at` in the OpenCTI extension, then in
  /// the observable extension, then at the top level, then the STIX `created`.
  public static func creationTime(of object: RawObject) -> String? {
    let extensions = object.object("extensions")
    for id in [openCTIExtensionID, openCTIObservableExtensionID] {
      if let value = extensions?.object(id)?.string("created_at") { return value }
    }
    return object.string("created_at") ?? object.string("created")
  }

  /// Where the file for `object` goes: its bucket folder and its file name.
  public func location(of object: RawObject, bucket: BucketSize) throws(BackupError) -> (folder: String, file: String) {
    guard let id = object.string("id") else { throw BackupError("the STIX object has no string id") }
    let name: String
    do {
      name = try SafeName.stixFileName(id)
    } catch {
      throw BackupError("\(error)")
    }
    guard let created = BackupTree.creationTime(of: object) else {
      throw BackupError("\(id) has no created_at (OpenCTI extension) and no created")
    }
    guard let instant = ISO8601.parse(created) else {
      throw BackupError("\(id): created_at '\(created)' is not an ISO-8601 date")
    }
    return (dataPath + "/" + bucket.folderName(for: instant), name)
  }

  /// The bytes of a backup file for one object: the object's own bytes inside a bundle.
  public static func fileBytes<Bytes: Collection>(forObject object: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
    var writer = JSONWriter(capacity: object.count + 32)
    writer.append("{\"type\":\"bundle\",\"objects\":[")
    writer.writeRaw(object)
    writer.append("]}")
    return writer.bytes
  }
}
