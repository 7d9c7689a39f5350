package import Logging

/// Pushes bundles the way pycti's `send_stix2_bundle` does with `queue_protocol=amqp`: each
/// bundle is split by pycti's splitter (`SplitBundle`), the connector's work gets
/// `addExpectations(work, N)`, then the N one-object bundles are published as persistent
/// messages on the connector's `push_exchange` with its `push_routing`, confirmed by the broker.
///
/// Each connector pushed as (the tool's own, or a diode envelope's) uses its own registration:
/// its queues, its broker details (`config.connection` with the MQ_* overrides) and its
/// applicant (`connector_user_id`, unless the pipeline maps an envelope's applicant).
///
/// `pushBundle` returns once the messages are written to the broker, not confirmed:
/// `settle()` is the call that means "everything pushed so far is safe in RabbitMQ" and must
/// come before recording progress (a checkpoint, a closed work).
package final class AMQPPushTarget: PushTarget {
  /// What the target did, for the run's summary.
  package struct Counts: Sendable, Equatable {
    package var bundles = 0
    /// Messages published (one object each).
    package var messages = 0
    /// Objects pycti's splitter leaves out (reported through `onIncompatible`).
    package var incompatible = 0
  }

  package let session: PushSession
  package let settings: AMQPSettings
  package let publisherOptions: AMQPPublisher.Settings
  package private(set) var counts = Counts()
  /// Called for each object the splitter leaves out; the default logs a warning.
  package var onIncompatible: (IncompatibleObject, ConnectorRegistration) -> Void

  private let logger: Logger
  private var publishers: [AMQPEndpoint: AMQPPublisher] = [:]
  private var routes: [String: Route] = [:]

  /// Where a connector's messages go.
  private struct Route {
    var endpoint: AMQPEndpoint
    var exchange: String
    var routingKey: String
    var applicant: String?
  }

  package init(session: PushSession, settings: AMQPSettings, publisherOptions: AMQPPublisher.Settings = AMQPPublisher.Settings(), logger: Logger) {
    self.session = session
    self.settings = settings
    self.publisherOptions = publisherOptions
    self.logger = logger
    onIncompatible = { object, connector in
      logger.warning("\(object) (connector \(connector.name))")
    }
  }

  /// Checks the platform, registers the tool's connector and connects to its broker, so that
  /// an unreachable broker fails the run before any record is read.
  package func start() throws(OpenCTIError) {
    try session.start(requireBundlePush: false)
    if let connector = session.connector {
      let route = try route(for: connector)
      do {
        try publisher(for: route.endpoint).connect()
      } catch {
        throw .broker(error)
      }
      logger.info("publishing to \(route.endpoint), exchange \(route.exchange), routing key \(route.routingKey)")
    }
  }

  package func pushBundle(_ bundle: [UInt8], objectCount: Int, as pushedAs: ConnectorRegistration, applicant: String?)
    throws(OpenCTIError)
  {
    let split: SplitBundle
    do {
      split = try SplitBundle(try RawObject(bundle))
    } catch let error as SplitError {
      throw .unsplittable(error.message)
    } catch {
      throw .unsplittable("not a JSON object: \(error)")
    }
    for object in split.incompatible {
      counts.incompatible += 1
      onIncompatible(object, pushedAs)
    }
    guard split.count > 0 else { throw .unsplittable("nothing to import (no object OpenCTI accepts)") }
    let route = try route(for: pushedAs)
    let workId = try session.work(for: pushedAs)
    try session.client.addExpectations(workId: workId, count: split.count)
    let publisher = publisher(for: route.endpoint)
    let applicantId = applicant ?? route.applicant
    do {
      for position in 0..<split.count {
        var content = JSONWriter(capacity: 4096)
        split.writeBundle(position, into: &content)
        let message = QueueMessage(applicantId: applicantId, actionSequence: position + 1, workId: workId)
        let body = content.withBytes { message.body(bundle: $0) }
        try publisher.publish(exchange: route.exchange, routingKey: route.routingKey, body: body)
        counts.messages += 1
      }
    } catch {
      throw .broker(error)
    }
    counts.bundles += 1
  }

  /// Returns once the broker has confirmed every message published so far, on every
  /// connection.
  package func settle() throws(OpenCTIError) {
    for publisher in publishers.values {
      do {
        try publisher.waitForConfirms()
      } catch {
        throw .broker(error)
      }
    }
  }

  /// Settles, then closes the open works (in error when `inError`, or when the broker did not
  /// confirm everything: then the works close in error and the broker's failure is thrown).
  package func finish(inError: Bool, message: String) throws(OpenCTIError) {
    do {
      try settle()
    } catch {
      try? session.finish(inError: true, message: "RabbitMQ did not confirm every message: \(error)")
      throw error
    }
    try session.finish(inError: inError, message: message)
  }

  /// Closes the broker connections (settle first when nothing may be lost).
  package func close() {
    for publisher in publishers.values { publisher.close() }
  }

  /// The publishers' counts added up.
  package var publisherCounts: AMQPPublisher.Counts {
    publishers.values.reduce(into: AMQPPublisher.Counts()) { total, publisher in
      let counts = publisher.counts
      total.published += counts.published
      total.confirmed += counts.confirmed
      total.resent += counts.resent
      total.nacked += counts.nacked
      total.reconnects += counts.reconnects
      total.confirmedBytes += counts.confirmedBytes
    }
  }

  package func deleteObject(id: String) throws(OpenCTIError) { try session.deleteObject(id: id) }

  package func mergeObjects(targetId: String, sourceIds: [String]) throws(OpenCTIError) {
    try session.mergeObjects(targetId: targetId, sourceIds: sourceIds)
  }

  // MARK: Routes

  private func route(for connector: ConnectorRegistration) throws(OpenCTIError) -> Route {
    if let known = routes[connector.id] { return known }
    let registration = try session.registration(for: connector)
    guard let config = registration.config, let exchange = config.pushExchange, let routingKey = config.pushRouting else {
      throw .badResponse(
        "registerConnector gave no config.push_exchange/push_routing for connector \(connector.id)", operation: .registerConnector)
    }
    let endpoint: AMQPEndpoint
    do {
      endpoint = try settings.endpoint(for: config)
    } catch {
      throw .broker(.settings(error.message))
    }
    let route = Route(endpoint: endpoint, exchange: exchange, routingKey: routingKey, applicant: registration.connectorUserId)
    routes[connector.id] = route
    return route
  }

  private func publisher(for endpoint: AMQPEndpoint) -> AMQPPublisher {
    if let known = publishers[endpoint] { return known }
    let created = AMQPPublisher(endpoint: endpoint, options: publisherOptions, logger: logger)
    publishers[endpoint] = created
    return created
  }
}
