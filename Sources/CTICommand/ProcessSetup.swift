#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import CTICore

/// What the entry point does to the process before a tool runs; CTICore itself never touches
/// process-wide signal dispositions.
enum ProcessSetup {
  /// Ignores SIGPIPE, so a closed stdout or a peer closing a socket shows up as EPIPE (a clean
  /// end, or an error) instead of killing the tool. libcurl runs with CURLOPT_NOSIGNAL and so
  /// relies on this too.
  static func ignoreBrokenPipe() {
    signal(SIGPIPE, SIG_IGN)
  }

  /// Turns SIGINT and SIGTERM into a request to stop (`StopSignals`), and unblocks them (a
  /// parent may have blocked them).
  static func installStopHandlers() {
    for number in [SIGINT, SIGTERM] {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { number in StopSignals.record(number) }
      sigemptyset(&action.sa_mask)
      action.sa_flags = 0
      sigaction(number, &action, nil)
      var set = sigset_t()
      sigemptyset(&set)
      sigaddset(&set, number)
      pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
  }
}
