#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A one-line progress display on stderr, shown only when stderr is a terminal, redrawn at most
/// twice a second and erased at the end.
public final class Progress {
  private let enabled: Bool
  private var lastDraw = 0.0
  private var drawn = false

  public init(enabled: Bool = isatty(2) == 1) {
    self.enabled = enabled
  }

  /// Shows `message` (for example `folder 12/340`), unless the last redraw was under 0.5 s ago.
  public func update(_ message: @autoclosure () -> String) {
    guard enabled else { return }
    let now = ISO8601.Instant.now
    let seconds = Double(now.seconds) + Double(now.nanoseconds) / 1e9
    guard seconds - lastDraw >= 0.5 else { return }
    lastDraw = seconds
    emit("\r\u{1B}[K" + message())
    drawn = true
  }

  /// Erases the progress line.
  public func finish() {
    guard drawn else { return }
    emit("\r\u{1B}[K")
    drawn = false
  }

  private func emit(_ text: String) {
    let bytes = Array(text.utf8)
    bytes.withUnsafeBytes { _ = write(2, $0.baseAddress!, $0.count) }
  }
}
