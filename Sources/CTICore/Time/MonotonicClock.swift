#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Monotonic time and sleeping, without Foundation.
package enum MonotonicClock {
  /// Seconds since an arbitrary fixed point; never goes back.
  package static func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }

  /// Sleeps for `seconds`, waking every 50 ms to ask `shouldStop`; returns false if it stopped early.
  @discardableResult
  package static func sleep(_ seconds: Double, shouldStop: () -> Bool = { false }) -> Bool {
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
