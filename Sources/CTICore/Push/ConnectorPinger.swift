import Foundation
package import Logging

/// Pings a connector on its own thread while a tool runs, as pycti's `PingAlive` does: once right
/// away (so even a short run shows the connector active), then every 40 s. It keeps the connector
/// state: the local state is sent, and when the platform answers another one (a reset in the UI)
/// the remote one is adopted and reported. With `info`, each ping also carries pycti's
/// `connector_info` (buffering, queue size and threshold, last and next run); a platform whose
/// schema has no `ConnectorInfoInput` refuses that argument, and the pinger then goes on without
/// it. Give it its own transport: transports are not shared between threads.
package final class ConnectorPinger: @unchecked Sendable {
  package static let defaultInterval = 40.0

  private let client: OpenCTIClient
  private let connectorId: String
  private let interval: Double
  private let logger: Logger
  /// Told the platform's state when it differs from ours; set once, so read without the lock.
  private let onReset: (@Sendable (JSONValue?) -> Void)?
  /// Guards every member below: the ping thread and the tool's thread both use them.
  private let condition = NSCondition()
  private var started = false
  private var stopping = false
  private var finished = false
  private var state: JSONValue?
  private var info: ConnectorInfo?
  /// False once the platform refused `connectorInfo` (an older schema).
  private var platformTakesInfo = true
  private var pingCount = 0
  private var resetCount = 0

  package init(
    client: OpenCTIClient, connectorId: String, state: JSONValue? = nil, interval: Double = ConnectorPinger.defaultInterval,
    info: ConnectorInfo? = nil, logger: Logger, onReset: (@Sendable (JSONValue?) -> Void)? = nil
  ) {
    self.client = client
    self.connectorId = connectorId
    self.state = state
    self.interval = interval
    self.info = info
    self.logger = logger
    self.onReset = onReset
  }

  private func locked<T>(_ body: () -> T) -> T {
    condition.lock()
    defer { condition.unlock() }
    return body()
  }

  /// Pings sent (successful or not) and resets seen, for tests and the summary.
  package var pings: Int { locked { pingCount } }
  package var resets: Int { locked { resetCount } }

  /// Whether pings still carry `connectorInfo` (false once the platform refused it).
  package var sendsInfo: Bool { locked { info != nil && platformTakesInfo } }

  /// The state sent with the next ping.
  package var currentState: JSONValue? { locked { state } }

  package func update(state: JSONValue?) {
    locked { self.state = state }
  }

  /// The connector info sent with the next ping.
  package var currentInfo: ConnectorInfo? { locked { info } }

  /// Changes the connector info sent with the next pings (nothing when there is none).
  package func update(info change: (inout ConnectorInfo) -> Void) {
    locked {
      guard var current = info else { return }
      change(&current)
      info = current
    }
  }

  /// Pings once now, on the calling thread (pycti's `force_ping`).
  package func pingNow() {
    let (sent, sentInfo) = locked { (state, platformTakesInfo ? info : nil) }
    do {
      let returned: String?
      do {
        returned = try client.ping(connectorId: connectorId, state: sent, info: sentInfo)
      } catch .graphQL(let error) where error.isValidation && sentInfo != nil {
        // The schema has no ConnectorInfoInput (or not this form of it): ping as before it.
        locked { platformTakesInfo = false }
        logger.info("the platform does not take connector info in pings (\(error.message)); pinging without it")
        returned = try client.ping(connectorId: connectorId, state: sent)
      }
      let reset = locked {
        pingCount += 1
        guard ConnectorState.wasReset(sent: sent, returned: returned), state == sent else { return false }
        resetCount += 1
        state = ConnectorState.decode(returned)
        return true
      }
      if reset {
        logger.warning("connector \(connectorId): the platform's state differs from ours (reset in the UI?); adopting it")
        onReset?(ConnectorState.decode(returned))
      }
    } catch {
      locked { pingCount += 1 }
      logger.warning("connector \(connectorId): ping failed: \(error)")
    }
  }

  /// Pings at once, on the caller's thread (so the platform hears from the connector before
  /// anything is pushed), then starts the thread that pings every interval.
  package func start() {
    locked { started = true }
    pingNow()
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
  package func stop() {
    condition.lock()
    defer { condition.unlock() }
    guard started else { return }
    stopping = true
    condition.broadcast()
    while !finished { condition.wait() }
  }
}
