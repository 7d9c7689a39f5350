#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where a diode file is written: it decides the `bundle_type` pycti puts in it.
package enum DiodeBundleType: String, Sendable {
  case directory = "DIRECTORY_BUNDLE"
  case s3 = "S3_BUNDLE"
}

/// Writes diode files as pycti's `send_stix2_bundle` does (reference §A): the name pattern and
/// the content, key for key and byte for byte (Python `json.dumps`, ASCII only, no newline).
package enum DiodeFileFormat {
  /// pycti's name part: the connector name lower-cased with spaces as `_`. A `/` (which breaks
  /// pycti's path) and other characters a file name cannot hold become `_` too.
  package static func namePrefix(connectorName: String) -> String {
    var prefix = connectorName.lowercased().replacingAll(" ", with: "_")
    prefix = String(prefix.unicodeScalars.map { $0 == "/" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F ? "_" : Character($0) })
    while prefix.hasPrefix(".") { prefix.removeFirst() }
    // Leave room for the 40-odd bytes of date and epoch within a 255-byte file name.
    while prefix.utf8.count > 200 { prefix.removeLast() }
    return prefix.isEmpty ? "connector" : prefix
  }

  /// `<prefix>-<YYYYMMDD-HHMMSS>-<epoch seconds>.json`; the date is local time (as
  /// `time.strftime`), the epoch is written as Python's `str(float)`.
  package static func fileName(connectorName: String, time: Double) -> String {
    var seconds = time_t(time.rounded(.down))
    var parts = tm()
    localtime_r(&seconds, &parts)
    var buffer = [CChar](repeating: 0, count: 32)
    let count = strftime(&buffer, buffer.count, "%Y%m%d-%H%M%S", &parts)
    let stamp = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return namePrefix(connectorName: connectorName) + "-" + stamp + "-" + pythonFloat(time) + ".json"
  }

  /// Python's `str(x)` for a positive float of epoch size: the shortest text that reads back as
  /// `x`, always with a fractional part (`1718030034.0`).
  package static func pythonFloat(_ value: Double) -> String {
    let text = "\(value)"
    return text.contains(".") || text.contains("e") ? text : text + ".0"
  }

  /// The file's JSON: `bundle_type`, `applicant_id`, `connector`, `entities_types`, `bundle`,
  /// `update`, in that order.
  package static func content(
    bundle: JSONValue, connector: JSONValue, applicantID: String?, bundleType: DiodeBundleType,
    entitiesTypes: JSONValue = .null, update: Bool = false
  ) -> [UInt8] {
    let envelope: JSONValue = [
      "bundle_type": .string(bundleType.rawValue), "applicant_id": applicantID.map { .string($0) } ?? .null,
      "connector": connector, "entities_types": entitiesTypes, "bundle": bundle, "update": .bool(update),
    ]
    return JSONWriter.pythonDumps(envelope)
  }

  /// The `connector` object pycti writes; the scope is the configured comma-separated string
  /// (or a list, when `scopeAsList`).
  package static func connectorValue(_ connector: DiodeConnector, scopeAsList: Bool = false) -> JSONValue {
    let scope: JSONValue =
      scopeAsList ? .array(connector.scope.map { .string($0) }) : .string(connector.scope.joined(separator: ","))
    return [
      "id": .string(connector.id), "name": .string(connector.name), "type": .string(connector.type), "scope": scope,
      "auto": .bool(connector.auto), "validate_before_import": .bool(connector.validateBeforeImport),
    ]
  }
}

extension String {
  func replacingAll(_ target: Character, with replacement: Character) -> String {
    String(map { $0 == target ? replacement : $0 })
  }
}
