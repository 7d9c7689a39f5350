/// When the HTTP client sends a request again: how many attempts in all and how long to wait.
public struct RetryPolicy: Sendable {
  /// Attempts in all, the first included (1 = no retry).
  public var maxAttempts: Int
  public var initialDelay: Double
  public var maxDelay: Double

  public init(maxAttempts: Int = 4, initialDelay: Double = 0.5, maxDelay: Double = 30) {
    self.maxAttempts = maxAttempts
    self.initialDelay = initialDelay
    self.maxDelay = maxDelay
  }

  public static let none = RetryPolicy(maxAttempts: 1)

  public func makeBackoff() -> Backoff { Backoff(initialDelay: initialDelay, maxDelay: maxDelay) }
}
