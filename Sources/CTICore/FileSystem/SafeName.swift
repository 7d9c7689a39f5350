/// Why an untrusted name cannot be used inside a directory.
package struct UnsafeNameError: ToolError, Equatable {
  package var name: String
  package var reason: String
  package var exitStatus: ExitStatus { .dataError }
  package var description: String { "unsafe file name \(SafeName.quoted(name)): \(reason)" }
}

/// Turns names that come from input (STIX ids, file names in a feed) into paths that cannot
/// leave their directory.
package enum SafeName {
  /// Longest file name accepted, in bytes (the usual file-system limit).
  package static let maxLength = 255

  /// Checks one path component: no `/`, NUL, `.`/`..`, leading dot, control characters, and at
  /// most `maxLength` bytes.
  package static func check(_ name: String) throws(UnsafeNameError) {
    let utf8 = name.utf8
    if utf8.isEmpty { throw UnsafeNameError(name: name, reason: "empty") }
    if utf8.count > maxLength { throw UnsafeNameError(name: name, reason: "longer than \(maxLength) bytes") }
    if utf8.contains(0) { throw UnsafeNameError(name: name, reason: "contains a NUL byte") }
    if utf8.contains(UInt8(ascii: "/")) || utf8.contains(UInt8(ascii: "\\")) {
      throw UnsafeNameError(name: name, reason: "contains a path separator")
    }
    if name == "." || name == ".." || name.hasPrefix(".") { throw UnsafeNameError(name: name, reason: "starts with a dot") }
    if utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
      throw UnsafeNameError(name: name, reason: "contains a control character")
    }
  }

  /// `directory/name` after checking `name` with `check`.
  package static func join(_ directory: String, _ name: String) throws(UnsafeNameError) -> String {
    try check(name)
    return directory.hasSuffix("/") ? directory + name : directory + "/" + name
  }

  /// The file name for a STIX object: `<id>.json`, only for ids shaped `<type>--<uuid>`.
  package static func stixFileName(_ id: String) throws(UnsafeNameError) -> String {
    guard STIXIdentifier.isValid(id) else {
      throw UnsafeNameError(name: id, reason: "not a STIX id of the form <type>--<uuid>")
    }
    return id + ".json"
  }

  /// `name` cut to at most `limit` bytes of UTF-8, at a character boundary.
  package static func truncated(_ name: String, toBytes limit: Int) -> String {
    guard name.utf8.count > limit else { return name }
    var result = ""
    var used = 0
    for character in name {
      let size = character.utf8.count
      if used + size > limit { break }
      result.append(character)
      used += size
    }
    return result
  }

  /// A short printable form of an untrusted name for messages.
  package static func quoted(_ name: String) -> String {
    let shown = name.unicodeScalars.prefix(80).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }.joined()
    return "'" + shown + (name.unicodeScalars.count > 80 ? "…'" : "'")
  }
}
