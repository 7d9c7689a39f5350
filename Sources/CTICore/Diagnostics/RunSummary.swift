package import Logging

/// What a run did, told once when it ends: a sentence for people, and the same counts by name
/// for log shippers (the fields of the summary's line with `--log-format json`).
package struct RunSummary: Sendable, Equatable {
  package var text: String
  /// Counts by snake_case name, in the order they are told.
  package var counts: [Count]
  /// Other facts by name (`stop_reason`, `last_id`…).
  package var details: [Detail]
  package var level: Logger.Level

  package struct Count: Sendable, Equatable {
    package var name: String
    package var value: Int
  }

  package struct Detail: Sendable, Equatable {
    package var name: String
    package var value: String
  }

  package init(_ text: String, level: Logger.Level = .info) {
    self.text = text
    counts = []
    details = []
    self.level = level
  }

  /// Adds a count.
  package mutating func count(_ name: String, _ value: Int) {
    counts.append(Count(name: name, value: value))
  }

  /// Adds a fact, when there is one.
  package mutating func detail(_ name: String, _ value: String?) {
    if let value { details.append(Detail(name: name, value: value)) }
  }

  /// The counts and facts as log metadata: counts stay numbers in JSON lines.
  package var metadata: Logger.Metadata {
    var metadata = Logger.Metadata()
    for count in counts { metadata[count.name] = .stringConvertible(count.value) }
    for detail in details { metadata[detail.name] = .string(detail.value) }
    return metadata
  }
}
