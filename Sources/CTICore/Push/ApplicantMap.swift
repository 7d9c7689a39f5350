/// Maps user ids of the platform a bundle came from to user ids of the target platform, as
/// `DIODE_IMPORT_APPLICANT_MAPPINGS` does: `src1:dst1,src2:dst2`.
package struct ApplicantMap: Sendable, Equatable {
  package private(set) var mappings: [String: String]

  package init(_ mappings: [String: String] = [:]) { self.mappings = mappings }

  /// Parses the mapping text. Entries are split on commas and trimmed, empty entries are
  /// skipped, and an entry that is not exactly two non-empty parts around one `:` is left out
  /// and described in `warnings`.
  package init(parsing text: String, warnings: inout [String]) {
    mappings = [:]
    for rawEntry in text.split(separator: ",", omittingEmptySubsequences: false) {
      let entry = String(rawEntry).trimmingSpaces
      if entry.isEmpty { continue }
      let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        warnings.append("applicant mapping '\(entry)' is not 'source:target', ignored")
        continue
      }
      mappings[parts[0]] = parts[1]
    }
  }

  /// The target user for a source applicant, nil when unmapped.
  package subscript(source: String) -> String? { mappings[source] }

  package var isEmpty: Bool { mappings.isEmpty }
}
