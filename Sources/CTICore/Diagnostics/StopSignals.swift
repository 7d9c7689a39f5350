import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

private let receivedStopSignal = Atomic<Int32>(0)

/// SIGINT and SIGTERM as a polite request to stop: the handler only records the signal; a
/// long-running tool asks `requested` between records, finishes the current one, saves its state
/// and exits 0. The handlers are installed by the entry point (CTICommand), not here.
package enum StopSignals {
  /// Records a stop signal: called from the signal handler the tools' entry point installs
  /// (async-signal-safe: one atomic store).
  package static func record(_ number: Int32) {
    receivedStopSignal.store(number, ordering: .relaxed)
  }

  /// The signal received, if any.
  package static var received: Int32? {
    let number = receivedStopSignal.load(ordering: .relaxed)
    return number == 0 ? nil : number
  }

  package static var requested: Bool { received != nil }

  /// The signal's name for messages.
  package static func name(_ number: Int32) -> String {
    switch number {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    default: "signal \(number)"
    }
  }
}
