import Logging
import Synchronization

/// Everything a tool writes on stderr goes through one channel, so that messages stay readable
/// however they arrive:
/// - a progress line is erased before a message is printed (it would otherwise end up glued to
///   the front of the message);
/// - a warning or error identical to the one just printed (the same failure for every record
///   while the platform is down; line numbers aside) is counted instead of printed again;
/// - bad lines that `Diagnostics` holds back are counted the same way.
/// A count is printed as one line before the next different message, or by `finish()` at exit.
package final class StderrChannel: Sendable {
  /// The process's stderr.
  package static let standard = StderrChannel { bytes in _ = FileSystem.writeAll(bytes, to: 2) }

  /// Messages not printed since the last one that was, and what they were.
  struct Held {
    enum Kind { case repeats, badLines }
    var kind: Kind
    var label: String
    var level: Logger.Level
    var format: LogFormat
    /// The message without its `line N: ` prefix: repeats must match it.
    var text: String
    var count = 0
    var firstLine: Int?
    var lastLine: Int?
  }

  struct State {
    var progressShown = false
    var held: Held?
  }

  private let state = Mutex(State())
  private let sink: @Sendable ([UInt8]) -> Void

  /// `sink` receives whole lines (or progress redraws), one write per call.
  package init(sink: @escaping @Sendable ([UInt8]) -> Void) {
    self.sink = sink
  }

  /// Draws `text` as the progress line, over the previous one.
  package func showProgress(_ text: String) {
    state.withLock { state in
      state.progressShown = true
      sink(Array(("\r\u{1B}[K" + text).utf8))
    }
  }

  /// Erases the progress line, if one is shown.
  package func clearProgress() {
    state.withLock { state in
      guard state.progressShown else { return }
      state.progressShown = false
      sink(Array("\r\u{1B}[K".utf8))
    }
  }

  /// Prints one log message, or counts it when it repeats the last one or is a held-back bad
  /// line (`badLine`).
  func message(
    label: String, level: Logger.Level, format: LogFormat, text: String, metadata: [(String, JSONValue)], badLine: Bool
  ) {
    let (line, bare) = Self.splitLineNumber(text)
    state.withLock { state in
      if badLine {
        if var held = state.held, held.kind == .badLines, held.label == label {
          held.count += 1
          held.lastLine = line ?? held.lastLine
          state.held = held
          return
        }
        let out = prefix(&state)
        if !out.isEmpty { sink(out) }
        state.held = Held(
          kind: .badLines, label: label, level: level, format: format, text: bare, count: 1, firstLine: line, lastLine: line)
        return
      }
      if level >= .warning, metadata.isEmpty, var held = state.held, held.kind == .repeats, held.label == label,
        held.level == level, held.text == bare
      {
        held.count += 1
        if held.count == 1 { held.firstLine = line }
        held.lastLine = line ?? held.lastLine
        state.held = held
        return
      }
      var out = prefix(&state)
      out += StderrLogHandler.render(label: label, level: level, format: format, message: text, metadata: metadata)
      state.held = level >= .warning ? Held(kind: .repeats, label: label, level: level, format: format, text: bare) : nil
      sink(out)
    }
  }

  /// Prints a line that bypasses logging (a fatal error before exit), after clearing the
  /// progress line and printing what is held.
  package func raw(_ line: [UInt8]) {
    state.withLock { state in
      var out = prefix(&state)
      out += line
      state.held = nil
      sink(out)
    }
  }

  /// Prints what is held and erases the progress line: called before the process exits.
  package func finish() {
    state.withLock { state in
      let out = prefix(&state)
      state.held = nil
      if !out.isEmpty { sink(out) }
    }
  }

  /// The bytes to write before a new message: the progress line's erasure and the count of what
  /// was held back.
  private func prefix(_ state: inout State) -> [UInt8] {
    var out: [UInt8] = []
    if state.progressShown {
      out += Array("\r\u{1B}[K".utf8)
      state.progressShown = false
    }
    if let held = state.held, held.count > 0 {
      out += StderrLogHandler.render(
        label: held.label, level: held.level, format: held.format, message: Self.note(held), metadata: [])
    }
    state.held = nil
    return out
  }

  static func note(_ held: Held) -> String {
    var lines = ""
    if let first = held.firstLine, let last = held.lastLine {
      lines = first == last ? "line \(first)" : "lines \(first)–\(last)"
    }
    switch held.kind {
    case .repeats:
      let what = StderrLogHandler.levelName(held.level)
      let times = held.count == 1 ? "once more" : "\(held.count) more times"
      return lines.isEmpty ? "the same \(what) \(times)" : "the same \(what) \(times), for \(lines)"
    case .badLines:
      let count = held.count == 1 ? "1 more bad line" : "\(held.count) more bad lines"
      return (lines.isEmpty ? "" : "\(lines): ") + "\(count) in a row, not shown (counted in the summary)"
    }
  }

  /// `line 12: not JSON` → (12, "not JSON").
  static func splitLineNumber(_ text: String) -> (Int?, String) {
    guard text.hasPrefix("line ") else { return (nil, text) }
    let rest = text.dropFirst(5)
    let digits = rest.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, let number = Int(digits), rest.dropFirst(digits.count).hasPrefix(": ") else { return (nil, text) }
    return (number, String(rest.dropFirst(digits.count + 2)))
  }
}
