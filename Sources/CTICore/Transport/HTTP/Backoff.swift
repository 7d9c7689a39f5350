#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Exponential backoff with jitter: the n-th delay is drawn from [d/2, d] where
/// d = min(maxDelay, initialDelay × multiplier^(n-1)). The random half spreads clients that failed
/// together; the fixed half keeps the delay from collapsing to zero.
public struct Backoff: Sendable {
  public var initialDelay: Double
  public var maxDelay: Double
  public var multiplier: Double
  /// Failures since the last `reset()`.
  public private(set) var failures = 0

  public init(initialDelay: Double = 1, maxDelay: Double = 60, multiplier: Double = 2) {
    self.initialDelay = initialDelay
    self.maxDelay = maxDelay
    self.multiplier = multiplier
  }

  /// The delay before the next attempt; counts a failure.
  public mutating func nextDelay() -> Double {
    failures += 1
    let ceiling = Self.ceiling(attempt: failures, initialDelay: initialDelay, maxDelay: maxDelay, multiplier: multiplier)
    return ceiling <= 0 ? 0 : Double.random(in: (ceiling / 2)...ceiling)
  }

  /// Forgets past failures (after a success).
  public mutating func reset() { failures = 0 }

  static func ceiling(attempt: Int, initialDelay: Double, maxDelay: Double, multiplier: Double) -> Double {
    var delay = initialDelay
    for _ in 1..<max(attempt, 1) {
      delay *= multiplier
      if delay >= maxDelay { return maxDelay }
    }
    return min(delay, maxDelay)
  }
}

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

/// Monotonic time and sleeping, without Foundation.
public enum MonotonicClock {
  /// Seconds since an arbitrary fixed point; never goes back.
  public static func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }

  /// Sleeps for `seconds`, waking every 50 ms to ask `shouldStop`; returns false if it stopped early.
  @discardableResult
  public static func sleep(_ seconds: Double, shouldStop: () -> Bool = { false }) -> Bool {
    let deadline = now() + seconds
    while true {
      if shouldStop() { return false }
      let left = deadline - now()
      if left <= 0 { return true }
      let step = min(left, 0.05)
      var request = timespec(tv_sec: Int(step), tv_nsec: Int((step - Double(Int(step))) * 1e9))
      var remaining = timespec()
      _ = nanosleep(&request, &remaining)
    }
  }
}
