import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

private let receivedStopSignal = Atomic<Int32>(0)

/// SIGINT and SIGTERM as a polite request to stop: the handler only records the signal; a
/// long-running tool asks `requested` between records, finishes the current one, saves its state
/// and exits 0.
public enum StopSignals {
  /// Installs the handlers and unblocks the two signals (a parent may have blocked them).
  public static func install() {
    for number in [SIGINT, SIGTERM] {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { number in receivedStopSignal.store(number, ordering: .relaxed) }
      sigemptyset(&action.sa_mask)
      action.sa_flags = 0
      sigaction(number, &action, nil)
      var set = sigset_t()
      sigemptyset(&set)
      sigaddset(&set, number)
      pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
  }

  /// The signal received, if any.
  public static var received: Int32? {
    let number = receivedStopSignal.load(ordering: .relaxed)
    return number == 0 ? nil : number
  }

  public static var requested: Bool { received != nil }

  /// The signal's name for messages.
  public static func name(_ number: Int32) -> String {
    switch number {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    default: "signal \(number)"
    }
  }
}
