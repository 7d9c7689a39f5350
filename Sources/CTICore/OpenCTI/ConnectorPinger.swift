import Foundation
import Logging

/// Pings a connector on its own thread while a tool runs (every 40 s, as pycti does), so the
/// platform shows it active, and keeps the connector state: the local state is sent, and when the
/// platform answers another one (a reset in the UI) the remote one is adopted and reported.
/// Give it its own transport: transports are not shared between threads.
public final class ConnectorPinger: @unchecked Sendable {
  public static let defaultInterval = 40.0

  private let client: OpenCTIClient
  private let connectorId: String
  private let interval: Double
  private let logger: Logger
  private let condition = NSCondition()
  private var started = false
  private var stopping = false
  private var finished = false
  private var state: JSONValue?
  private var onReset: (@Sendable (JSONValue?) -> Void)?
  /// Pings sent (successful or not) and resets seen, for tests and the summary.
  public private(set) var pings = 0
  public private(set) var resets = 0

  public init(
    client: OpenCTIClient, connectorId: String, state: JSONValue? = nil, interval: Double = ConnectorPinger.defaultInterval,
    logger: Logger, onReset: (@Sendable (JSONValue?) -> Void)? = nil
  ) {
    self.client = client
    self.connectorId = connectorId
    self.state = state
    self.interval = interval
    self.logger = logger
    self.onReset = onReset
  }

  /// The state sent with the next ping.
  public var currentState: JSONValue? {
    condition.lock()
    defer { condition.unlock() }
    return state
  }

  public func update(state: JSONValue?) {
    condition.lock()
    self.state = state
    condition.unlock()
  }

  /// Pings once now, on the calling thread (pycti's `force_ping`).
  public func pingNow() {
    let sent = currentState
    do {
      let returned = try client.ping(connectorId: connectorId, state: sent)
      condition.lock()
      pings += 1
      let reset = ConnectorState.wasReset(sent: sent, returned: returned) && state == sent
      if reset {
        resets += 1
        state = ConnectorState.decode(returned)
      }
      condition.unlock()
      if reset {
        logger.warning("connector \(connectorId): the platform's state differs from ours (reset in the UI?); adopting it")
        onReset?(ConnectorState.decode(returned))
      }
    } catch {
      condition.lock()
      pings += 1
      condition.unlock()
      logger.warning("connector \(connectorId): ping failed: \(error)")
    }
  }

  /// Starts the ping thread: the first ping goes after one interval.
  public func start() {
    condition.lock()
    started = true
    condition.unlock()
    let thread = Thread { [self] in
      condition.lock()
      while !stopping {
        let deadline = Date(timeIntervalSinceNow: interval)
        while !stopping, condition.wait(until: deadline) {}
        if stopping { break }
        condition.unlock()
        pingNow()
        condition.lock()
      }
      finished = true
      condition.broadcast()
      condition.unlock()
    }
    thread.name = "cti-ping"
    thread.start()
  }

  /// Stops the ping thread and waits for it (at most one ping in flight).
  public func stop() {
    condition.lock()
    guard started else {
      condition.unlock()
      return
    }
    stopping = true
    condition.broadcast()
    while !finished { condition.wait() }
    condition.unlock()
  }
}
