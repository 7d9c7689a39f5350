#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Set from the signal handler; read between units of work.
nonisolated(unsafe) private var stopRequestedFlag: sig_atomic_t = 0

/// A polite stop for long-running tools: after `install`, SIGTERM and SIGINT only set a flag,
/// and the tool ends cleanly at the next point where it checks `requested` (between files,
/// between polls). A second signal of the same kind kills as usual.
public enum StopSignal {
  public static func install() {
    // A parent may hand down a mask that blocks them (some supervisors and test runners do).
    var unblock = sigset_t()
    sigemptyset(&unblock)
    sigaddset(&unblock, SIGTERM)
    sigaddset(&unblock, SIGINT)
    pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    for signalNumber in [SIGTERM, SIGINT] {
      signal(signalNumber) { number in
        stopRequestedFlag = 1
        signal(number, SIG_DFL)
      }
    }
  }

  /// Whether a stop was asked for.
  public static var requested: Bool { stopRequestedFlag != 0 }

  /// Sleeps up to `seconds`, waking early when a stop is asked for. Returns false if it was.
  public static func sleep(_ seconds: Double) -> Bool {
    var remaining = seconds
    while remaining > 0 {
      if requested { return false }
      let step = min(remaining, 0.2)
      usleep(UInt32(step * 1_000_000))
      remaining -= step
    }
    return !requested
  }
}
