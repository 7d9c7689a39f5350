/// The Unix-second timestamps of an event, checked before it is converted: a whole number outside
/// years 0001–9999 cannot become a STIX timestamp (Python's `datetime`, which the connector
/// uses, refuses it too), and near Int64's ends the arithmetic on it would trap. Such an event is
/// refused whole, naming the field; one that is absent or not a whole number keeps the
/// converter's fallback (the event's timestamp, or 0).
enum MISPTimestamps {
  static func check(_ event: JSONObject) throws(MISPEventError) {
    try checkValue(event["timestamp"], "Event.timestamp")
    func attributes(_ list: JSONValue?, _ path: String) throws(MISPEventError) {
      for (index, attribute) in (list?.arrayValue ?? []).enumerated() {
        try checkValue(attribute["timestamp"], "\(path)[\(index)].timestamp")
        for (number, sighting) in (attribute["Sighting"]?.arrayValue ?? []).enumerated() {
          try checkValue(sighting["date_sighting"], "\(path)[\(index)].Sighting[\(number)].date_sighting")
        }
      }
    }
    try attributes(event["Attribute"], "Attribute")
    for (index, object) in (event["Object"]?.arrayValue ?? []).enumerated() {
      try attributes(object["Attribute"], "Object[\(index)].Attribute")
    }
    for (index, note) in (event["EventReport"]?.arrayValue ?? []).enumerated() {
      try checkValue(note["timestamp"], "EventReport[\(index)].timestamp")
    }
  }

  static func checkValue(_ value: JSONValue?, _ field: @autoclosure () -> String) throws(MISPEventError) {
    let text: String
    switch value {
    case .number(let number)?: text = number
    case .string(let string)?: text = string.trimmingSpaces
    default: return
    }
    if let seconds = value?.intValue {
      if ISO8601.Instant.supportedSeconds.contains(Int64(seconds)) { return }
    } else if !isWholeNumber(text), !isLargeNumber(value) {
      return
    }
    let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
    throw MISPEventError("\(field()) \(shown) is outside the years 0001 to 9999")
  }

  /// Digits with an optional sign: a whole number, however long.
  static func isWholeNumber(_ text: String) -> Bool {
    var digits = Substring(text)
    if digits.first == "-" || digits.first == "+" { digits.removeFirst() }
    return !digits.isEmpty && digits.utf8.allSatisfy { (48...57).contains($0) }
  }

  /// A JSON number such as `1e30` that no Int holds.
  static func isLargeNumber(_ value: JSONValue?) -> Bool {
    guard case .number(let text)? = value, let double = Double(text) else { return false }
    return !double.isFinite || abs(double) > Double(ISO8601.Instant.supportedSeconds.upperBound)
  }
}
