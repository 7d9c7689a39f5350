/// Exponential backoff with jitter: the n-th delay is drawn from [d/2, d] where
/// d = min(maxDelay, initialDelay × multiplier^(n-1)). The random half spreads clients that failed
/// together; the fixed half keeps the delay from collapsing to zero.
package struct Backoff: Sendable {
  package var initialDelay: Double
  package var maxDelay: Double
  package var multiplier: Double
  /// Failures since the last `reset()`.
  package private(set) var failures = 0

  package init(initialDelay: Double = 1, maxDelay: Double = 60, multiplier: Double = 2) {
    self.initialDelay = initialDelay
    self.maxDelay = maxDelay
    self.multiplier = multiplier
  }

  /// The delay before the next attempt; counts a failure.
  package mutating func nextDelay() -> Double {
    failures += 1
    let ceiling = Self.ceiling(attempt: failures, initialDelay: initialDelay, maxDelay: maxDelay, multiplier: multiplier)
    return ceiling <= 0 ? 0 : Double.random(in: (ceiling / 2)...ceiling)
  }

  /// Forgets past failures (after a success).
  package mutating func reset() { failures = 0 }

  static func ceiling(attempt: Int, initialDelay: Double, maxDelay: Double, multiplier: Double) -> Double {
    var delay = initialDelay
    for _ in 1..<max(attempt, 1) {
      delay *= multiplier
      if delay >= maxDelay { return maxDelay }
    }
    return min(delay, maxDelay)
  }
}
