/// One event listed in `manifest.json`.
public struct MISPManifestEntry: Sendable, Equatable {
  public var uuid: String
  /// The event's last change (Unix seconds); integers and strings are both accepted.
  public var timestamp: Int64
  public var info: String

  /// The entries of a manifest, oldest first (ties by uuid, so runs are repeatable).
  public static func parse(_ bytes: [UInt8]) throws(MISPEventError) -> [MISPManifestEntry] {
    let root: JSONValue
    do { root = try JSONParser.parse(bytes) } catch { throw MISPEventError("manifest.json: \(error)") }
    guard let object = root.objectValue else { throw MISPEventError("manifest.json is not a JSON object") }
    var entries: [MISPManifestEntry] = []
    for (uuid, value) in object {
      guard let timestamp = value["timestamp"]?.intValue else {
        throw MISPEventError("manifest.json: event \(uuid) has no numeric timestamp")
      }
      entries.append(MISPManifestEntry(uuid: uuid, timestamp: Int64(timestamp), info: value["info"]?.stringValue ?? ""))
    }
    return entries.sorted { ($0.timestamp, $0.uuid) < ($1.timestamp, $1.uuid) }
  }
}
