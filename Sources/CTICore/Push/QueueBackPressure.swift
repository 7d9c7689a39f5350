package import Logging

/// cti-push's back-pressure, pycti's `check_connector_buffering` applied while reading: the
/// platform's workers drain each connector's queue; when the queue already holds
/// `CONNECTOR_QUEUE_THRESHOLD` MB or more, pushing more only grows it. So between input records
/// (at most every `checkInterval` seconds) the sizes of the queues of the connectors pushed as
/// are read (`connector(id){connector_queue_details}`); while the biggest is at or over the
/// threshold, the tool pushes what it holds, stops reading its input (the pipe fills and the
/// tools upstream block on their writes) and reads the sizes again every `checkInterval`
/// seconds until the queue is under the threshold, or a stop signal ends the wait.
package final class QueueBackPressure {
  package static let defaultThreshold = 500.0
  package static let defaultCheckInterval = 5.0

  /// MB (1,000,000 bytes, as pycti counts).
  package let threshold: Double
  package let checkInterval: Double
  private let client: OpenCTIClient
  private let connectorIds: () -> [String]
  private let logger: Logger
  private let pinger: ConnectorPinger?
  private var lastCheck = -Double.infinity
  /// Set when the sizes cannot be read at all (the token may not see connectors): no more checks.
  package private(set) var disabledBecause: String?
  private var warnedFailure = false
  /// Whether the queue was at or over the threshold at the last check.
  package private(set) var buffering = false
  /// The biggest queue at the last check, in MB.
  package private(set) var queueSize = 0.0
  /// Pauses so far and the seconds spent in them, for the summary.
  package private(set) var pauses = 0
  package private(set) var pausedSeconds = 0.0

  /// `connectorIds` lists the connectors whose queues count (the tool's own, and those it pushed
  /// as); `pinger` gets `buffering` and the queue size for its `connector_info`.
  package init(
    threshold: Double, checkInterval: Double, client: OpenCTIClient, connectorIds: @escaping () -> [String],
    pinger: ConnectorPinger?, logger: Logger
  ) {
    self.threshold = threshold
    self.checkInterval = checkInterval
    self.client = client
    self.connectorIds = connectorIds
    self.pinger = pinger
    self.logger = logger
  }

  /// Reads the queue sizes now and says whether the biggest is at or over the threshold. A size
  /// that cannot be read counts as under it (as in pycti), with a warning.
  @discardableResult
  package func check() -> Bool {
    lastCheck = MonotonicClock.now()
    guard disabledBecause == nil else { return false }
    var biggest = 0.0
    do {
      for id in connectorIds() {
        if let details = try client.queueDetails(connectorId: id) { biggest = max(biggest, details.megabytes) }
      }
      warnedFailure = false
    } catch {
      if case .graphQL = error {
        // The platform refuses the query itself (a token without access to connectors, an old
        // schema): asking again will not help.
        disabledBecause = "\(error)"
        logger.warning("cannot read the connector queue's size (\(error)): no back-pressure in this run")
      } else if !warnedFailure {
        warnedFailure = true
        logger.warning("cannot read the connector queue's size (\(error)); going on as if it were under the threshold")
      }
      record(buffering: false, size: queueSize)
      return false
    }
    record(buffering: biggest >= threshold, size: biggest)
    return buffering
  }

  private func record(buffering: Bool, size: Double) {
    self.buffering = buffering
    queueSize = size
    pinger?.update { info in
      info.buffering = buffering
      info.queueMessagesSize = size
      info.queueThreshold = threshold
    }
  }

  /// Called between input records. When the last check (made again when due) found the queue
  /// full: `drain` pushes what is held, then this waits (reading the sizes every
  /// `checkInterval`) until the queue is under the threshold. Returns false when a stop signal
  /// ended the wait: the caller stops reading.
  package func waitWhileFull(drain: () throws -> Void) throws -> Bool {
    guard disabledBecause == nil else { return true }
    if MonotonicClock.now() - lastCheck >= checkInterval { check() }
    guard buffering else { return true }
    try drain()
    let started = MonotonicClock.now()
    pauses += 1
    logger.notice(
      "the connector queue holds \(Self.megabytes(queueSize)) MB, at or over the threshold of \(Self.megabytes(threshold)) MB (CONNECTOR_QUEUE_THRESHOLD): input paused until the platform's workers drain it")
    defer { pausedSeconds += MonotonicClock.now() - started }
    while true {
      guard MonotonicClock.sleep(checkInterval, shouldStop: { StopSignals.requested }) else { return false }
      if !check() { break }
    }
    logger.notice(
      "the connector queue is down to \(Self.megabytes(queueSize)) MB: reading the input again after \(Int((MonotonicClock.now() - started).rounded())) s")
    return true
  }

  /// `The input paused twice (75 s) for the connector queue` for the summary; nil if it never did.
  package var summary: String? {
    guard pauses > 0 else { return nil }
    return "input paused \(pauses) time\(pauses == 1 ? "" : "s") (\(Int(pausedSeconds.rounded())) s) while the connector queue was full"
  }

  static func megabytes(_ value: Double) -> String {
    value == value.rounded() ? String(Int64(value)) : String(format2(value))
  }

  private static func format2(_ value: Double) -> String {
    let hundredths = (value * 100).rounded()
    let whole = Int64(hundredths / 100)
    let fraction = Int64(abs(hundredths.truncatingRemainder(dividingBy: 100)))
    return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
  }
}
