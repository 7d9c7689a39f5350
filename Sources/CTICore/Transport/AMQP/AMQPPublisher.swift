package import Logging

/// Publishes messages to RabbitMQ with publisher confirms, many at a time, and keeps every
/// message until the broker has confirmed it:
///
/// - a message counts as sent only once the broker acknowledges it; a nack sends it again
///   later (pycti waits and sends again too);
/// - at most `window` messages and `windowBytes` bytes are unconfirmed at once, which bounds
///   memory and keeps the broker's acknowledgements flowing;
/// - when the connection drops, it reconnects with backoff and publishes every unconfirmed
///   message again, in order: at least once, never lost, and a confirmed message is never
///   sent twice (it is forgotten as soon as it is confirmed);
/// - it gives up (`AMQPError.unreachable` or `.nacked`) when the broker stays away, or keeps
///   refusing, for longer than `outageTolerance`.
///
/// Each message gets a sequence number (1, 2, 3… for the publisher's life, across
/// reconnects). `confirmedThrough` is the highest number up to which everything is confirmed;
/// `waitForConfirms()` returns once everything published so far is confirmed. Not thread-safe.
package final class AMQPPublisher {
  package struct Settings: Sendable {
    /// Most unconfirmed messages at once.
    package var window: Int
    /// Most bytes of unconfirmed message bodies at once (a single bigger message still goes).
    package var windowBytes: Int
    /// Seconds to wait for any acknowledgement while messages are unconfirmed before taking
    /// the connection for dead (heartbeats are off, see `AMQPConnection`).
    package var confirmTimeout: Double
    /// Seconds to keep reconnecting, or sending refused messages again, before giving up.
    package var outageTolerance: Double
    package var initialBackoff: Double
    package var maxBackoff: Double
    package var connectTimeout: Double
    package var heartbeat: Int
    package var properties: AMQPConnection.Properties
    /// Acknowledgements are read after every this many publishes (and whenever the window is
    /// full): reading costs a system call, and the broker batches its acks anyway.
    package var pollEvery: Int

    package init(
      window: Int = 2048, windowBytes: Int = 32 << 20, confirmTimeout: Double = 120, outageTolerance: Double = 900,
      initialBackoff: Double = 1, maxBackoff: Double = 30, connectTimeout: Double = 10, heartbeat: Int = 0,
      properties: AMQPConnection.Properties = AMQPConnection.Properties(), pollEvery: Int = 64
    ) {
      self.window = max(1, window)
      self.windowBytes = max(1, windowBytes)
      self.confirmTimeout = confirmTimeout
      self.outageTolerance = outageTolerance
      self.initialBackoff = initialBackoff
      self.maxBackoff = maxBackoff
      self.connectTimeout = connectTimeout
      self.heartbeat = heartbeat
      self.properties = properties
      self.pollEvery = max(1, pollEvery)
    }
  }

  /// What the publisher has done, for summaries and tests.
  package struct Counts: Sendable, Equatable {
    /// Messages handed to `publish`.
    package var published: UInt64 = 0
    /// Messages the broker confirmed.
    package var confirmed: UInt64 = 0
    /// Messages sent again after a reconnect or a nack.
    package var resent: UInt64 = 0
    package var nacked: UInt64 = 0
    /// Connections opened again after one was lost.
    package var reconnects: Int = 0
    package var confirmedBytes: UInt64 = 0
  }

  package let endpoint: AMQPEndpoint
  package let options: Settings
  package private(set) var counts = Counts()
  /// Asked while waiting to reconnect: true stops the wait with `.unreachable`.
  package var shouldStop: () -> Bool = { StopSignals.requested }

  private let logger: Logger
  private var connection: AMQPConnection?
  /// Set once the publisher gave up (the broker stayed away, refused, or closed the channel):
  /// every later call fails at once with it rather than waiting out another outage.
  package private(set) var failure: AMQPError?

  /// One message kept until confirmed.
  private struct Entry {
    var exchange: String
    var routingKey: String
    var body: [UInt8]
    var confirmed = false
    /// Refused by the broker: to be sent again once `retryAt` has passed.
    var nacked = false
  }

  /// Unconfirmed messages (and confirmed ones not yet dropped from the front), by sequence:
  /// `entries[head + k]` is message `baseSequence + k`.
  private var entries: [Entry?] = []
  private var head = 0
  private var baseSequence: UInt64 = 1
  private var unconfirmedCount = 0
  private var unconfirmedBytes = 0
  /// The sequence numbers of the messages sent on the current channel, in delivery-tag order:
  /// `inFlight[inFlightHead + k]` has delivery tag `firstTag + k`; 0 once acknowledged.
  private var inFlight: [UInt64] = []
  private var inFlightHead = 0
  private var firstTag: UInt64 = 1
  /// Sequence numbers refused by the broker, waiting to be sent again.
  private var toResend: [UInt64] = []
  private var retryAt = 0.0
  private var nackBackoff: Backoff
  private var refusedSince: Double?
  private var lastProgress = 0.0
  private var sinceLastPoll = 0

  package init(endpoint: AMQPEndpoint, options: Settings = Settings(), logger: Logger) {
    self.endpoint = endpoint
    self.options = options
    self.logger = logger
    nackBackoff = Backoff(initialDelay: options.initialBackoff, maxDelay: options.maxBackoff)
  }

  deinit { connection?.close() }

  /// Everything up to this sequence number is confirmed (0: nothing yet).
  package var confirmedThrough: UInt64 {
    var sequence = baseSequence
    var index = head
    while index < entries.count, entries[index]?.confirmed == true {
      index += 1
      sequence += 1
    }
    return sequence - 1
  }

  /// Messages published and not confirmed yet.
  package var unconfirmed: Int { unconfirmedCount }

  /// Connects now, so that a broker that cannot be reached fails the run before any record is
  /// read (`.unreachable`, `.accessRefused`). Publishing connects by itself otherwise.
  package func connect() throws(AMQPError) {
    if let failure { throw failure }
    guard connection == nil else { return }
    connection = try openConnection()
  }

  /// Publishes one message and returns its sequence number. It returns once the message is
  /// written to the connection (not yet confirmed); it blocks while the window is full, and
  /// through reconnects.
  @discardableResult
  package func publish(exchange: String, routingKey: String, body: [UInt8]) throws(AMQPError) -> UInt64 {
    if let failure { throw failure }
    let sequence = baseSequence + UInt64(entries.count - head)
    entries.append(Entry(exchange: exchange, routingKey: routingKey, body: body))
    counts.published += 1
    unconfirmedCount += 1
    unconfirmedBytes += body.count
    if unconfirmedCount == 1 { lastProgress = MonotonicClock.now() }
    do throws(AMQPError) {
      if connection == nil { connection = try openConnection() }
      try send(sequence)
    } catch {
      try recover(from: error)
    }
    sinceLastPoll += 1
    if sinceLastPoll >= options.pollEvery {
      sinceLastPoll = 0
      try pump(wait: 0)
    }
    while unconfirmedCount >= options.window || (unconfirmedBytes > options.windowBytes && unconfirmedCount > 1) {
      try pump(wait: options.confirmTimeout)
    }
    return sequence
  }

  /// Returns once the broker has confirmed every message published so far: the call to make
  /// before recording that the input behind them is done.
  package func waitForConfirms() throws(AMQPError) {
    if let failure { throw failure }
    while unconfirmedCount > 0 {
      try pump(wait: options.confirmTimeout)
    }
    compact()
  }

  /// Closes the connection (after `waitForConfirms` when nothing may be lost).
  package func close() {
    connection?.close()
    connection = nil
  }

  // MARK: Sending

  private func openConnection() throws(AMQPError) -> AMQPConnection {
    let opened = try AMQPConnection(endpoint: endpoint, heartbeat: options.heartbeat, connectTimeout: options.connectTimeout)
    do throws(AMQPError) {
      try opened.selectConfirms()
    } catch {
      opened.abandon()
      throw error
    }
    inFlight.removeAll(keepingCapacity: true)
    inFlightHead = 0
    firstTag = 1
    return opened
  }

  private func send(_ sequence: UInt64) throws(AMQPError) {
    guard let connection else { throw .connectionLost("not connected") }
    let index = head + Int(sequence - baseSequence)
    guard let entry = entries[index] else { return }
    // withUnsafeBytes rethrows untyped errors: the failure is carried out by hand.
    let failure = entry.body.withUnsafeBytes { body -> AMQPError? in
      do throws(AMQPError) {
        try connection.publish(exchange: entry.exchange, routingKey: entry.routingKey, body: body, properties: options.properties)
        return nil
      } catch {
        return error
      }
    }
    if let failure { throw failure }
    inFlight.append(sequence)
  }

  /// Reads what the broker sent (waiting up to `wait` seconds for the first event when
  /// messages are unconfirmed), applies acknowledgements, and sends refused messages again
  /// when their time has come. A silent broker past `confirmTimeout` counts as a lost
  /// connection.
  private func pump(wait: Double) throws(AMQPError) {
    do throws(AMQPError) {
      if connection == nil { connection = try openConnection() }
      try resendRefused()
      guard let connection else { return }
      let awaitingAck = unconfirmedCount - toResend.count
      var waitFor = awaitingAck > 0 ? wait : 0
      if !toResend.isEmpty {
        let untilRetry = max(0, retryAt - MonotonicClock.now())
        if awaitingAck > 0 {
          waitFor = min(waitFor, untilRetry)
        } else if wait > 0, !MonotonicClock.sleep(untilRetry, shouldStop: shouldStop) {
          throw AMQPError.nacked("stopped while waiting to send \(toResend.count) refused message(s) again")
        }
      }
      var first = true
      while let event = try connection.nextEvent(timeout: first ? waitFor : 0) {
        first = false
        handle(event)
      }
      connection.releaseBuffers()
      if first, waitFor > 0, awaitingAck > 0,
        MonotonicClock.now() - lastProgress >= options.confirmTimeout
      {
        throw AMQPError.connectionLost("no acknowledgement for \(Int(options.confirmTimeout)) s")
      }
    } catch {
      try recover(from: error)
    }
  }

  private func handle(_ event: AMQPConnection.Event) {
    switch event {
    case .ack(let tag, let multiple):
      settle(through: tag, multiple: multiple) { sequence in confirm(sequence) }
      lastProgress = MonotonicClock.now()
      nackBackoff.reset()
      if toResend.isEmpty { refusedSince = nil }
    case .nack(let tag, let multiple):
      settle(through: tag, multiple: multiple) { sequence in refuse(sequence) }
      lastProgress = MonotonicClock.now()
    case .blocked(let reason):
      logger.warning("RabbitMQ stopped accepting messages (\(reason)); waiting")
    case .unblocked:
      logger.notice("RabbitMQ accepts messages again")
    case .other:
      break
    }
  }

  /// Calls `action` for the in-flight message with delivery tag `tag`, or for all those up to
  /// it when `multiple`.
  private func settle(through tag: UInt64, multiple: Bool, _ action: (UInt64) -> Void) {
    guard tag >= firstTag else { return }
    let last = Int(tag - firstTag)
    if multiple {
      var index = inFlightHead
      while index < inFlight.count, index - inFlightHead <= last {
        if inFlight[index] != 0 { action(inFlight[index]) }
        inFlight[index] = 0
        index += 1
      }
    } else if inFlightHead + last < inFlight.count, inFlight[inFlightHead + last] != 0 {
      action(inFlight[inFlightHead + last])
      inFlight[inFlightHead + last] = 0
    }
    // Drop acknowledged tags from the front; the tag numbering moves with it.
    while inFlightHead < inFlight.count, inFlight[inFlightHead] == 0 {
      inFlightHead += 1
      firstTag += 1
    }
    if inFlightHead > 4096, inFlightHead * 2 > inFlight.count {
      inFlight.removeFirst(inFlightHead)
      inFlightHead = 0
    }
  }

  private func confirm(_ sequence: UInt64) {
    let index = head + Int(sequence - baseSequence)
    guard index < entries.count, var entry = entries[index], !entry.confirmed else { return }
    counts.confirmed += 1
    counts.confirmedBytes += UInt64(entry.body.count)
    unconfirmedCount -= 1
    unconfirmedBytes -= entry.body.count
    entry.confirmed = true
    entry.body = []
    entries[index] = entry
    compact()
  }

  private func refuse(_ sequence: UInt64) {
    let index = head + Int(sequence - baseSequence)
    guard index < entries.count, entries[index]?.confirmed == false else { return }
    entries[index]?.nacked = true
    counts.nacked += 1
    if toResend.isEmpty {
      let delay = nackBackoff.nextDelay()
      retryAt = MonotonicClock.now() + delay
      logger.warning("RabbitMQ refused a message (nack); sending it again in \(Int(delay.rounded(.up))) s")
    }
    refusedSince = refusedSince ?? MonotonicClock.now()
    toResend.append(sequence)
  }

  private func resendRefused() throws(AMQPError) {
    guard !toResend.isEmpty else { return }
    if let refusedSince, MonotonicClock.now() - refusedSince > options.outageTolerance {
      throw .nacked("\(toResend.count) message(s) refused for more than \(Int(options.outageTolerance)) s")
    }
    guard MonotonicClock.now() >= retryAt else { return }
    let sequences = toResend
    toResend = []
    for sequence in sequences {
      let index = head + Int(sequence - baseSequence)
      guard index < entries.count, entries[index]?.confirmed == false else { continue }
      entries[index]?.nacked = false
      counts.resent += 1
      try send(sequence)
    }
  }

  /// Drops confirmed messages from the front.
  private func compact() {
    while head < entries.count, entries[head]?.confirmed == true {
      entries[head] = nil
      head += 1
      baseSequence += 1
    }
    if head == entries.count {
      entries.removeAll(keepingCapacity: true)
      head = 0
    } else if head > 4096, head * 2 > entries.count {
      entries.removeFirst(head)
      head = 0
    }
  }

  // MARK: Reconnecting

  /// After a failure: permanent ones are thrown; otherwise reconnects with backoff and sends
  /// every unconfirmed message again, in order, until it works or the outage tolerance is
  /// spent.
  private func recover(from error: AMQPError) throws(AMQPError) {
    do throws(AMQPError) {
      try reconnect(after: error)
    } catch {
      failure = error
      throw error
    }
  }

  private func reconnect(after error: AMQPError) throws(AMQPError) {
    switch error {
    case .accessRefused, .channelClosed, .settings, .nacked:
      connection?.abandon()
      connection = nil
      throw error
    case .unreachable, .connectionLost:
      break
    }
    connection?.abandon()
    connection = nil
    let started = MonotonicClock.now()
    var backoff = Backoff(initialDelay: options.initialBackoff, maxDelay: options.maxBackoff)
    var last = error
    logger.warning("\(error); reconnecting to \(endpoint), \(unconfirmedCount) message(s) to send again")
    while true {
      let waited = MonotonicClock.now() - started
      if waited >= options.outageTolerance {
        throw .unreachable("\(endpoint) failed for \(Int(waited)) s (\(last)); \(unconfirmedCount) message(s) not confirmed")
      }
      let delay = min(backoff.nextDelay(), options.outageTolerance - waited)
      if !MonotonicClock.sleep(delay, shouldStop: shouldStop) {
        throw .unreachable("stopped while waiting for \(endpoint) (\(last)); \(unconfirmedCount) message(s) not confirmed")
      }
      do throws(AMQPError) {
        connection = try openConnection()
        counts.reconnects += 1
        try resendUnconfirmed()
        lastProgress = MonotonicClock.now()
        logger.notice("reconnected to \(endpoint)")
        return
      } catch {
        switch error {
        case .accessRefused, .channelClosed, .settings, .nacked:
          connection?.abandon()
          connection = nil
          throw error
        case .unreachable, .connectionLost:
          connection?.abandon()
          connection = nil
          last = error
        }
      }
    }
  }

  /// Sends every unconfirmed message again on the new channel, in sequence order.
  private func resendUnconfirmed() throws(AMQPError) {
    toResend = []
    var sequence = baseSequence
    for index in head..<entries.count {
      defer { sequence += 1 }
      guard let entry = entries[index], !entry.confirmed else { continue }
      entries[index]?.nacked = false
      counts.resent += 1
      try send(sequence)
    }
  }
}
