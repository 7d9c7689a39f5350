#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A one-line progress display on stderr, shown only when stderr is a terminal, redrawn at most
/// twice a second and erased at the end. It is drawn through a `StderrChannel`, which erases it
/// before any message, so a message never lands on the end of a progress line.
package final class Progress {
  private let enabled: Bool
  private let channel: StderrChannel
  private var lastDraw = 0.0

  package init(enabled: Bool = isatty(2) == 1, channel: StderrChannel = .standard) {
    self.enabled = enabled
    self.channel = channel
  }

  /// Shows `message` (for example `folder 12/340`), unless the last redraw was under 0.5 s ago.
  package func update(_ message: @autoclosure () -> String) {
    guard enabled else { return }
    let now = ISO8601.Instant.now
    let seconds = Double(now.seconds) + Double(now.nanoseconds) / 1e9
    guard seconds - lastDraw >= 0.5 else { return }
    lastDraw = seconds
    channel.showProgress(message())
  }

  /// Erases the progress line.
  package func finish() {
    guard enabled else { return }
    channel.clearProgress()
  }
}
