import Logging

/// One cti-push run: start the session, ping in the background, feed every input line to the
/// pipeline, close the works (in error when something was rejected) and report.
package final class PushRun {
  package let settings: PushSettings
  package let session: PushSession
  /// The AMQP target when the queue protocol is `amqp` (nil: stixBundlePush through `session`).
  package let amqp: AMQPPushTarget?
  package let pipeline: PushPipeline
  package let pinger: ConnectorPinger?
  /// Pauses the input while the connector's queue is full (nil in a dry run).
  package let backPressure: QueueBackPressure?
  private let diagnostics: Diagnostics
  private let rejects: RejectFile?
  /// Why reading stopped early, for the summary.
  package private(set) var stopReason: String?
  /// Records taken in when the input last went idle with everything pushed: a burst of input
  /// after it is a new run in the pings' `last_run_datetime`.
  private var recordsAtLastRun = 0
  /// The transport only prints the requests (`--dry-run`): the messages say what would be done,
  /// and the platform version, which the transport makes up, is not shown.
  package let dryRun: Bool

  /// `transport` carries the run's requests; `pingTransport`, when given, carries the pings
  /// from their own thread.
  package init(
    settings: PushSettings, transport: any GraphQLTransport, pingTransport: (any GraphQLTransport)?, diagnostics: Diagnostics,
    rejects: RejectFile?, checkpoints: CheckpointCommitter? = nil, dryRun: Bool = false
  ) {
    self.settings = settings
    self.dryRun = dryRun
    self.diagnostics = diagnostics
    self.rejects = rejects
    session = PushSession(client: OpenCTIClient(transport: transport), connector: settings.connector)
    amqp = settings.queueProtocol == .amqp ? AMQPPushTarget(session: session, settings: settings.amqp, logger: diagnostics.logger) : nil
    pipeline = PushPipeline(
      target: amqp ?? session, connector: settings.connector, options: settings.pipeline, diagnostics: diagnostics,
      rejects: rejects, checkpoints: checkpoints)
    let info = ConnectorInfo(runAndTerminate: settings.runAndTerminate, queueThreshold: settings.queueThreshold)
    let pinger = pingTransport.map {
      ConnectorPinger(
        client: OpenCTIClient(transport: $0), connectorId: settings.connector.id, interval: settings.pingInterval, info: info,
        logger: diagnostics.logger)
    }
    self.pinger = pinger
    // The queue is read over the run's own transport, between records, on the reading thread.
    backPressure = pingTransport == nil ? nil : QueueBackPressure(
      threshold: settings.queueThreshold, checkInterval: settings.queueCheckInterval, client: session.client,
      connectorIds: { [session] in Array(session.registrations.keys).sorted() }, pinger: pinger, logger: diagnostics.logger)
  }

  /// The run the settings describe: its reject file and checkpoint file opened, over the
  /// platform's HTTPS connections (one for the run, one for the pings), or over a transport that
  /// only prints the requests in a dry run.
  package convenience init(settings: PushSettings, diagnostics: Diagnostics) throws {
    let checkpoints = try CheckpointCommitter(path: settings.statePath, diagnostics: diagnostics)
    if settings.dryRun { checkpoints.block("a dry run pushes nothing") }
    let rejects = try settings.rejectPath.map { path throws(FileSystemError) in try RejectFile(path: path) }
    let transport: any GraphQLTransport
    let pingTransport: (any GraphQLTransport)?
    if settings.dryRun {
      transport = DryRunTransport(output: RecordWriter(descriptor: 1))
      pingTransport = nil
    } else {
      transport = try HTTPGraphQLTransport(
        url: settings.url, token: settings.token, options: settings.http, logger: diagnostics.logger)
      pingTransport = try HTTPGraphQLTransport(
        url: settings.url, token: settings.token, options: settings.http, logger: diagnostics.logger)
    }
    self.init(
      settings: settings, transport: transport, pingTransport: pingTransport, diagnostics: diagnostics, rejects: rejects,
      checkpoints: checkpoints, dryRun: settings.dryRun)
  }

  /// `--check`: URL, token and platform version, nothing else.
  package static func check(settings: PushSettings, diagnostics: Diagnostics) throws -> ExitStatus {
    let client = OpenCTIClient(
      transport: try HTTPGraphQLTransport(url: settings.url, token: settings.token, options: settings.http, logger: diagnostics.logger))
    let version = try client.requireBundlePush()
    diagnostics.logger.notice("OpenCTI \(version) at \(settings.url): token accepted, stixBundlePush available")
    return .ok
  }

  /// Runs over the settings' input files and returns the exit status; the reject file is
  /// flushed whatever happens.
  package func run() throws -> ExitStatus {
    defer { try? rejects?.flush() }
    return try run(readers: settings.inputs)
  }

  /// Runs over the input files in turn (`-` is stdin) and returns the exit status.
  package func run(readers paths: [String]) throws -> ExitStatus {
    do {
      if let amqp { try amqp.start() } else { try session.start() }
    } catch {
      // Nothing can be sent. With a reject file every record read goes there; without one,
      // nothing is read. Either way no checkpoint is committed.
      guard rejects != nil else { throw error }
      diagnostics.error("\(error); every record goes to the reject file")
      pipeline.abandon(because: error)
      try readAll(paths)
      try pipeline.finish()
      return error.exitStatus
    }
    if dryRun {
      diagnostics.logger.info(
        "dry run: nothing is sent; the requests that would be sent as connector \(settings.connector.name) (\(settings.connector.id)) go to stdout")
    } else {
      diagnostics.logger.info(
        "pushing to OpenCTI \(session.platformVersion ?? "?") as connector \(settings.connector.name) (\(settings.connector.id))")
    }
    // The first ping, right after registering, already tells the queue's size.
    backPressure?.check()
    pinger?.start()
    defer { pinger?.stop() }
    do {
      try readAll(paths)
      try pipeline.finish()
    } catch {
      // --strict stopped the run, or the output failed. Objects collected from the good lines
      // before the bad one are still pushed (or rejected); the works get closed, in error.
      if error is StrictStop {
        do { try pipeline.finish() } catch { diagnostics.error("pushing the objects read before the stop failed: \(error)") }
      }
      closeWorks(rejected: max(diagnostics.skipped, 1))
      throw error
    }
    if pipeline.platformFailure == nil || !session.works.isEmpty {
      closeWorks(rejected: diagnostics.skipped)
    }
    if let pinger, pipeline.platformFailure == nil {
      // As pycti's force_ping at the end of a run: the platform shows this run as the last one.
      pinger.stop()
      pinger.update { $0.lastRun = .now }
      pinger.pingNow()
    }
    return pipeline.platformFailure?.exitStatus ?? diagnostics.finalStatus
  }

  private func closeWorks(rejected: Int) {
    let message = rejected > 0 ? "\(rejected) record(s) could not be pushed" : "Connector successfully run"
    do {
      // Over AMQP the works close only once the broker has confirmed every message.
      if let amqp {
        try amqp.finish(inError: rejected > 0, message: message)
      } else {
        try session.finish(inError: rejected > 0, message: message)
      }
    } catch {
      diagnostics.error("closing the works failed: \(error)")
    }
    amqp?.close()
  }

  /// Feeds every line to the pipeline. Collected objects are pushed whenever the input pauses
  /// for `settings.flushDelay`; a stop signal ends the input after the current record.
  private func readAll(_ paths: [String]) throws {
    for path in paths {
      let reader = path == "-" ? LineReader() : try LineReader(path: path)
      reader.idleInterval = settings.flushDelay
      reader.idle = { [self] in
        try pipeline.flushIdle()
        if pipeline.counts.records != recordsAtLastRun {
          // Everything read so far is pushed and nothing more comes: a run of the source ended.
          recordsAtLastRun = pipeline.counts.records
          pinger?.update { $0.lastRun = .now }
        }
      }
      reader.overlongLines = rejects
      while true {
        if let backPressure, !(try backPressure.waitWhileFull(drain: { try pipeline.flushIdle() })) {
          stopReason = "stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal") while the connector queue was full"
          return
        }
        guard let line = try reader.next(reportingTo: diagnostics) else { break }
        try rejects?.checkOverlong()
        try pipeline.process(line)
      }
      try rejects?.checkOverlong()
      if reader.stoppedBySignal {
        stopReason = "stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal")"
        return
      }
    }
  }

  /// The summary with its counts, told at notice level (a push is worth telling).
  package var runSummary: RunSummary {
    let counts = pipeline.counts
    var told = RunSummary(summary, level: .notice)
    told.count("records", counts.records)
    told.count("bundles", counts.bundles)
    told.count("objects", counts.objects)
    told.count("rejected", diagnostics.skipped)
    told.count("works", session.works.count)
    if let amqp {
      told.count("amqp_messages", amqp.counts.messages)
      told.count("amqp_incompatible", amqp.counts.incompatible)
    }
    told.count("deletes", counts.deletes)
    told.count("merges", counts.merges)
    told.count("deletes_skipped", counts.deletesSkipped)
    told.count("merges_skipped", counts.mergesSkipped)
    if dryRun { told.detail("dry_run", "true") }
    told.detail("checkpoints", pipeline.checkpoints?.summary)
    told.detail("stop_reason", stopReason)
    return told
  }

  /// The summary line: `N records, N bundles, N objects pushed, N rejected, N works opened`;
  /// a dry run says `dry run: …` and what would have been pushed, opened, deleted and merged.
  package var summary: String {
    let counts = pipeline.counts
    let done = dryRun ? "would be " : ""
    var text = dryRun ? "dry run: " : ""
    text += "\(counts.records) records, \(counts.bundles) bundles, \(counts.objects) objects \(done)pushed, "
    text += "\(diagnostics.skipped) rejected"
    if let rejects { text += " (\(rejects.count) in \(rejects.path))" }
    text += ", \(session.works.count) works \(done)opened"
    if let amqp {
      text += ", \(amqp.counts.messages) messages published over AMQP"
      if amqp.counts.incompatible > 0 { text += ", \(amqp.counts.incompatible) objects OpenCTI would not import" }
    }
    if counts.deletes > 0 { text += ", \(counts.deletes) \(done)deleted" }
    if counts.merges > 0 { text += ", \(counts.merges) \(done)merged" }
    if counts.deletesSkipped > 0 { text += ", \(counts.deletesSkipped) deletes skipped (--apply-deletes)" }
    if counts.mergesSkipped > 0 { text += ", \(counts.mergesSkipped) merges skipped (--apply-merges)" }
    if let checkpoints = pipeline.checkpoints?.summary { text += ", " + checkpoints }
    if let paused = backPressure?.summary { text += ", " + paused }
    if let stopReason { text += "; " + stopReason }
    return text
  }
}
