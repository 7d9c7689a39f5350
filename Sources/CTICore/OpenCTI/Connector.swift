/// The connector types OpenCTI's `ConnectorType` enum knows.
package enum ConnectorType: String, Sendable, CaseIterable {
  case externalImport = "EXTERNAL_IMPORT"
  case internalImportFile = "INTERNAL_IMPORT_FILE"
  case internalEnrichment = "INTERNAL_ENRICHMENT"
  case internalAnalysis = "INTERNAL_ANALYSIS"
  case internalExportFile = "INTERNAL_EXPORT_FILE"
  case stream = "STREAM"

  /// Reads a type in any case (`external_import` works too).
  package init?(parsing text: String) {
    self.init(rawValue: text.trimmingSpaces.uppercased())
  }
}

/// What `registerConnector` is given: the connector's identity and flags. The input keys are
/// the ones pycti sends (`RegisterConnectorInput`).
package struct ConnectorRegistration: Sendable, Hashable {
  package var id: String
  package var name: String
  package var type: ConnectorType
  package var scope: [String]
  package var auto: Bool

  package init(id: String, name: String, type: ConnectorType = .externalImport, scope: [String] = [], auto: Bool = false) {
    self.id = id
    self.name = name
    self.type = type
    self.scope = scope
    self.auto = auto
  }

  /// Splits a scope given as text the way pycti does (on commas, items trimmed, empty ones
  /// dropped).
  package static func scope(from text: String) -> [String] {
    text.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
  }

  /// The `RegisterConnectorInput` value.
  package var input: JSONObject {
    JSONObject([
      ("id", .string(id)),
      ("name", .string(name)),
      ("type", .string(type.rawValue)),
      ("scope", .array(scope.map { .string($0) })),
      ("auto", .bool(auto)),
      ("only_contextual", .bool(false)),
      ("playbook_compatible", .bool(false)),
      ("auto_update", .bool(false)),
      ("enrichment_resolution", .string("none")),
    ])
  }
}

/// Connector state as the platform stores it: a JSON text. pycti sends `"null"` for no state
/// and reads an empty or null answer as no state.
package enum ConnectorState {
  /// The text to send for `state` (nil state becomes `"null"`).
  package static func encode(_ state: JSONValue?) -> String {
    (state ?? .null).jsonText
  }

  /// The state a `connector_state` answer stands for: nil for a missing, empty, `null` or
  /// unparsable value.
  package static func decode(_ text: String?) -> JSONValue? {
    guard let text, !text.trimmingSpaces.isEmpty, let value = try? JSONParser.parse(text), !value.isNull else { return nil }
    return value
  }

  /// Whether the state the platform returned after a ping differs from the one sent, which
  /// means someone reset it (the UI's "reset state"): the caller must adopt the remote state.
  package static func wasReset(sent: JSONValue?, returned: String?) -> Bool {
    // A JSON null sent is no state (a nil literal would become JSONValue.null here).
    let sentState: JSONValue? = sent?.isNull == false ? sent : Optional.none
    return decode(returned) != sentState
  }
}

/// An OpenCTI version such as `6.8.10`, compared part by part.
package struct PlatformVersion: Sendable, Comparable, CustomStringConvertible {
  package var parts: [Int]
  package let text: String

  /// Reads the leading dotted numbers of `text` (`6.9.0-rc1` is 6.9.0); nil when there are none.
  package init?(_ text: String) {
    self.text = text
    var parts: [Int] = []
    for piece in text.trimmingSpaces.split(separator: ".", maxSplits: 3) {
      let digits = piece.prefix { $0.isASCII && $0.isNumber }
      guard let number = Int(digits) else { break }
      parts.append(number)
      if digits.count != piece.count { break }
    }
    guard !parts.isEmpty else { return nil }
    self.parts = parts
  }

  /// `stixBundlePush` appeared in 6.3.0.
  package static let bundlePushMinimum = PlatformVersion("6.3.0")!

  package var description: String { text }

  package static func < (lhs: PlatformVersion, rhs: PlatformVersion) -> Bool {
    for index in 0..<max(lhs.parts.count, rhs.parts.count) {
      let left = index < lhs.parts.count ? lhs.parts[index] : 0
      let right = index < rhs.parts.count ? rhs.parts[index] : 0
      if left != right { return left < right }
    }
    return false
  }

  package static func == (lhs: PlatformVersion, rhs: PlatformVersion) -> Bool { !(lhs < rhs) && !(rhs < lhs) }
}

/// What pycti reports about a connector in its pings (`ConnectorInfoInput`, pycti's
/// `connector_info`): whether it runs once, whether it holds back because its queue is full,
/// the queue's size and threshold (MB), and the times of its last and next runs. The platform
/// shows them on the connector's page.
package struct ConnectorInfo: Sendable, Equatable {
  package var runAndTerminate = false
  package var buffering = false
  /// `CONNECTOR_QUEUE_THRESHOLD`, in MB.
  package var queueThreshold = 0.0
  /// The connector's queue as last read, in MB (bytes / 1e6, as pycti counts).
  package var queueMessagesSize = 0.0
  package var lastRun: ISO8601.Instant?
  package var nextRun: ISO8601.Instant?

  package init(
    runAndTerminate: Bool = false, buffering: Bool = false, queueThreshold: Double = 0, queueMessagesSize: Double = 0,
    lastRun: ISO8601.Instant? = nil, nextRun: ISO8601.Instant? = nil
  ) {
    self.runAndTerminate = runAndTerminate
    self.buffering = buffering
    self.queueThreshold = queueThreshold
    self.queueMessagesSize = queueMessagesSize
    self.lastRun = lastRun
    self.nextRun = nextRun
  }

  /// The `ConnectorInfoInput` value; dates as pycti writes them (`%Y-%m-%dT%H:%M:%SZ`).
  package var input: JSONObject {
    JSONObject([
      ("run_and_terminate", .bool(runAndTerminate)),
      ("buffering", .bool(buffering)),
      ("queue_threshold", Self.float(queueThreshold)),
      ("queue_messages_size", Self.float(queueMessagesSize)),
      ("next_run_datetime", nextRun.map { .string(ISO8601.format($0, fractionDigits: 0)) } ?? .null),
      ("last_run_datetime", lastRun.map { .string(ISO8601.format($0, fractionDigits: 0)) } ?? .null),
    ])
  }

  static func float(_ value: Double) -> JSONValue {
    value.isFinite ? .number(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)) : .number("0")
  }
}

/// A connector's queue as `connector(id){connector_queue_details}` reports it.
package struct ConnectorQueueDetails: Sendable, Equatable {
  package var messagesNumber: Int
  /// Bytes waiting in the queue.
  package var messagesSize: Double

  package init(messagesNumber: Int, messagesSize: Double) {
    self.messagesNumber = messagesNumber
    self.messagesSize = messagesSize
  }

  /// The size in MB as pycti compares it with `CONNECTOR_QUEUE_THRESHOLD` (bytes / 1,000,000).
  package var megabytes: Double { messagesSize / 1_000_000 }
}
