/// When the HTTP client sends a request again: how many attempts in all and how long to wait.
package struct RetryPolicy: Sendable {
  /// Attempts in all, the first included (1 = no retry).
  package var maxAttempts: Int
  package var initialDelay: Double
  package var maxDelay: Double

  package init(maxAttempts: Int = 4, initialDelay: Double = 0.5, maxDelay: Double = 30) {
    self.maxAttempts = maxAttempts
    self.initialDelay = initialDelay
    self.maxDelay = maxDelay
  }

  package static let none = RetryPolicy(maxAttempts: 1)

  package func makeBackoff() -> Backoff { Backoff(initialDelay: initialDelay, maxDelay: maxDelay) }
}
