/// ISO-8601 dates, date-times and durations as OpenCTI and the connectors write them, parsed
/// without Foundation's formatters (they are slow and locale-bound).
package enum ISO8601 {
  /// A point in time: whole seconds since 1970 (UTC) and the fraction, in nanoseconds.
  package struct Instant: Sendable, Equatable, Comparable {
    package var seconds: Int64
    package var nanoseconds: Int32

    package init(seconds: Int64, nanoseconds: Int32 = 0) {
      self.seconds = seconds
      self.nanoseconds = nanoseconds
    }

    package static func < (lhs: Instant, rhs: Instant) -> Bool {
      (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// The current time.
    package static var now: Instant {
      var spec = timespec()
      clock_gettime(CLOCK_REALTIME, &spec)
      return Instant(seconds: Int64(spec.tv_sec), nanoseconds: Int32(spec.tv_nsec))
    }

    /// Milliseconds since 1970, as Redis stream ids use them (saturated at the ends of Int64
    /// rather than trapping on an instant read from hostile input).
    package var milliseconds: Int64 {
      let (product, overflow) = seconds.multipliedReportingOverflow(by: 1000)
      if overflow { return seconds < 0 ? .min : .max }
      let (sum, sumOverflow) = product.addingReportingOverflow(Int64(nanoseconds / 1_000_000))
      return sumOverflow ? (product < 0 ? .min : .max) : sum
    }

    /// The instants STIX and Python's `datetime` can write: years 0001 to 9999 (UTC). Input
    /// timestamps outside it are refused where they are read.
    package static let supportedSeconds: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// Whether this instant falls in `supportedSeconds`.
    package var isSupported: Bool { Self.supportedSeconds.contains(seconds) }
  }

  /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff…]]` with `Z`, `±HH:MM`, `±HHMM` or no zone
  /// (taken as UTC); a space may stand for the `T`.
  package static func parse(_ text: String) -> Instant? {
    var utf8 = Array(text.utf8)
    while let last = utf8.last, last == 0x20 { utf8.removeLast() }
    var index = 0
    func digits(_ count: Int) -> Int? {
      guard index + count <= utf8.count else { return nil }
      var value = 0
      for _ in 0..<count {
        let digit = Int(utf8[index]) - 48
        guard (0...9).contains(digit) else { return nil }
        value = value * 10 + digit
        index += 1
      }
      return value
    }
    func expect(_ byte: UInt8) -> Bool {
      guard index < utf8.count, utf8[index] == byte else { return false }
      index += 1
      return true
    }
    guard let year = digits(4), expect(UInt8(ascii: "-")), let month = digits(2), expect(UInt8(ascii: "-")),
      let day = digits(2), (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
    else { return nil }
    var hour = 0, minute = 0, second = 0
    var nanos = 0
    var offset = 0
    if index < utf8.count {
      guard utf8[index] == UInt8(ascii: "T") || utf8[index] == UInt8(ascii: "t") || utf8[index] == 0x20 else { return nil }
      index += 1
      guard let h = digits(2), expect(UInt8(ascii: ":")), let m = digits(2), h < 24, m < 60 else { return nil }
      hour = h
      minute = m
      if expect(UInt8(ascii: ":")) {
        guard let s = digits(2), s < 61 else { return nil }
        second = min(s, 59)
        if expect(UInt8(ascii: ".")) || expect(UInt8(ascii: ",")) {
          var scale = 100_000_000
          var any = false
          while index < utf8.count, (48...57).contains(utf8[index]) {
            nanos += Int(utf8[index] - 48) * scale
            scale /= 10
            index += 1
            any = true
          }
          guard any else { return nil }
        }
      }
      if index < utf8.count {
        switch utf8[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"): index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
          let sign = utf8[index] == UInt8(ascii: "-") ? -1 : 1
          index += 1
          guard let oh = digits(2) else { return nil }
          _ = expect(UInt8(ascii: ":"))
          guard let om = digits(2), oh < 24, om < 60 else { return nil }
          offset = sign * (oh * 3600 + om * 60)
        default: return nil
        }
      }
      guard index == utf8.count else { return nil }
    }
    let days = daysFromCivil(year: year, month: month, day: day)
    let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second - offset)
    return Instant(seconds: seconds, nanoseconds: Int32(nanos))
  }

  /// Formats an instant as `YYYY-MM-DDTHH:MM:SS[.mmm]Z` (UTC); `fractionDigits` 0, 3 or 6.
  /// Any `Int64` formats without trapping (years beyond 9999 get more digits); callers that
  /// need a valid STIX timestamp check `Instant.isSupported` first.
  package static func format(_ instant: Instant, fractionDigits: Int = 3) -> String {
    // Floor division without the `seconds - 86399` that overflowed near Int64.min.
    let remainder = instant.seconds % 86400
    let secondsOfDay = Int(remainder < 0 ? remainder + 86400 : remainder)
    let days = Int(instant.seconds / 86400 - (remainder < 0 ? 1 : 0))
    let (year, month, day) = civilFromDays(days)
    var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(secondsOfDay / 3600, 2) + ":"
      + pad(secondsOfDay / 60 % 60, 2) + ":" + pad(secondsOfDay % 60, 2)
    if fractionDigits > 0 {
      var divisor = 1_000_000_000
      for _ in 0..<min(fractionDigits, 9) { divisor /= 10 }
      text += "." + pad(Int(instant.nanoseconds) / divisor, fractionDigits)
    }
    return text + "Z"
  }

  /// The compact UTC form `YYYYMMDDTHHMMSSZ` used for backup bucket folders.
  package static func compact(_ instant: Instant) -> String {
    format(instant, fractionDigits: 0).filter { $0 != "-" && $0 != ":" }
  }

  /// An ISO-8601 duration (`P1DT2H`, `PT5M`, `PT0.5S`, `P2W`) in seconds. Years count 365 days
  /// and months 30.
  package static func duration(_ text: String) -> Double? {
    var utf8 = Substring(text.trimmingSpaces.uppercased())
    guard utf8.first == "P" else { return nil }
    utf8.removeFirst()
    var total = 0.0
    var inTime = false
    var number = ""
    var any = false
    for character in utf8 {
      if character == "T" {
        guard !inTime, number.isEmpty else { return nil }
        inTime = true
        continue
      }
      if character.isNumber || character == "." || character == "," {
        number.append(character == "," ? "." : character)
        continue
      }
      guard let value = Double(number) else { return nil }
      number = ""
      any = true
      switch (character, inTime) {
      case ("Y", false): total += value * 365 * 86400
      case ("M", false): total += value * 30 * 86400
      case ("W", false): total += value * 7 * 86400
      case ("D", false): total += value * 86400
      case ("H", true): total += value * 3600
      case ("M", true): total += value * 60
      case ("S", true): total += value
      default: return nil
      }
    }
    // Past a million years a duration is nonsense, and its conversion to whole seconds would trap.
    guard any, number.isEmpty, total.isFinite, total <= maxDurationSeconds else { return nil }
    return total
  }

  /// The longest duration `duration` accepts: about 31.7 million years, far below Int64 seconds.
  package static let maxDurationSeconds = 1e15

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date.
  static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146097 + dayOfEra - 719468
  }

  static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
    let z = days + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let dayOfEra = z - era * 146097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }

  private static func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
