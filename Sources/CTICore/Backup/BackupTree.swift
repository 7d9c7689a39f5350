/// How wide a backup folder is. Folders are named after the platform creation time rounded to
/// the nearest unit (half-way rounds up), as the official connector's `round_time` does.
package enum BucketSize: String, Sendable, CaseIterable {
  /// One folder per hour.
  case hour
  /// One folder per minute: the official backup-files connector's folders, name for name.
  case minute

  package var seconds: Int64 {
    switch self {
    case .hour: 3600
    case .minute: 60
    }
  }

  /// The folder name (`YYYYMMDDTHHMMSSZ`, UTC) for a platform creation time. Times that would
  /// round outside the years 0000 to 9999 (which the name cannot spell) are clamped to the
  /// first or the last folder of that range, so every object gets a folder restore reads.
  package func folderName(for instant: ISO8601.Instant) -> String {
    let secondsOfDay = ((instant.seconds % 86400) + 86400) % 86400
    let dayStart = instant.seconds - secondsOfDay
    let rounded = (secondsOfDay + seconds / 2) / seconds * seconds
    let latest = BucketSize.lastDayStart + 86400 - seconds
    return ISO8601.compact(ISO8601.Instant(seconds: min(max(dayStart + rounded, BucketSize.firstDayStart), latest)))
  }

  /// 0000-01-01T00:00:00Z and 9999-12-31T00:00:00Z in seconds since 1970.
  static let firstDayStart = Int64(ISO8601.daysFromCivil(year: 0, month: 1, day: 1)) * 86400
  static let lastDayStart = Int64(ISO8601.daysFromCivil(year: 9999, month: 12, day: 31)) * 86400
}

/// Why an event cannot be applied to the backup tree.
package struct BackupError: ToolError, Equatable {
  package var message: String
  package var exitStatus: ExitStatus { .dataError }
  package init(_ message: String) { self.message = message }
  package var description: String { message }
}

/// The layout `<root>/opencti_data/<bucket>/<stix-id>.json` shared by the official backup-files
/// and restore-files connectors. Each file holds `{"type":"bundle","objects":[object]}`.
package struct BackupTree: Sendable {
  /// The folder that holds the bucket folders (`<path>/opencti_data`).
  package let dataPath: String

  package init(path: String) {
    dataPath = (path.hasSuffix("/") ? String(path.dropLast()) : path) + "/opencti_data"
  }

  /// The bucket folders, oldest first (names that are not `YYYYMMDDTHHMMSSZ` are left out).
  package func buckets() throws(FileSystemError) -> [String] {
    try FileSystem.list(dataPath).filter(BackupTree.isBucketName).filter { FileSystem.isDirectory(dataPath + "/" + $0) }
      .sorted()
  }

  package static func isBucketName(_ name: String) -> Bool {
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
  package static func creationTime(of object: RawObject) -> String? {
    let extensions = object.object("extensions")
    for id in [openCTIExtensionID, openCTIObservableExtensionID] {
      if let value = extensions?.object(id)?.string("created_at") { return value }
    }
    return object.string("created_at") ?? object.string("created")
  }

  /// Dates read when an object has neither `created_at` nor `created` (observed-data,
  /// hand-made bundles): each keeps its value from one version of an object to the next,
  /// unlike `modified`, so the object keeps its folder.
  package static let stableDateFields = ["first_observed", "first_seen", "valid_from", "published", "start_time"]

  /// The date an object is filed by and the field it came from: `creationTime`, else the first
  /// of `stableDateFields` it has. Nil when it has none of them (cyber observables, most
  /// x-mitre objects); an unreadable date is an error rather than a reason to look further.
  package static func filingDate(of object: RawObject) throws(BackupError) -> (instant: ISO8601.Instant, field: String)? {
    var found: (text: String, field: String)?
    if let created = creationTime(of: object) {
      found = (created, object.string("created") == created ? "created" : "created_at")
    } else {
      for field in stableDateFields {
        if let value = object.string(field) {
          found = (value, field)
          break
        }
      }
    }
    guard let found else { return nil }
    guard let instant = ISO8601.parse(found.text) else {
      throw BackupError("date '\(found.text)' is not an ISO-8601 date")
    }
    return (instant, found.field)
  }

  /// An object's id and its file name (`<id>.json`), for ids shaped `<type>--<uuid>` only.
  package static func fileName(of object: RawObject) throws(BackupError) -> (id: String, file: String) {
    guard let id = object.string("id") else { throw BackupError("the STIX object has no string id") }
    do {
      return (id, try SafeName.stixFileName(id))
    } catch {
      throw BackupError("\(error)")
    }
  }

  /// The path of a bucket folder.
  package func folderPath(_ bucket: String) -> String {
    dataPath + "/" + bucket
  }

  /// The bytes of a backup file for one object: the object's own bytes inside a bundle.
  package static func fileBytes<Bytes: Collection>(forObject object: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
    var writer = JSONWriter(capacity: object.count + 32)
    writer.append("{\"type\":\"bundle\",\"objects\":[")
    writer.writeRaw(object)
    writer.append("]}")
    return writer.bytes
  }
}
