import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `cti-diode import`: passes over the sources until done or stopped.
package final class DiodeImportRun {
  package let settings: DiodeImportSettings
  package let diagnostics: Diagnostics
  /// What the run did, once it has ended.
  package private(set) var summary: RunSummary?

  package init(settings: DiodeImportSettings, diagnostics: Diagnostics) {
    self.settings = settings
    self.diagnostics = diagnostics
  }

  package func run() throws -> ExitStatus {
    guard settings.directory != nil || settings.s3 != nil else { throw DiodeError.noSource }
    if settings.statePath == nil, !settings.options.deleteAfterImport {
      diagnostics.warning("without --state, files kept after import are imported again by the next run")
    }
    var options = settings.options
    let deliver: (DiodeFile, DiodeItem) throws -> DiodeDelivery
    var pusher: DiodePusher?
    var sourceState: SourceState?
    if let push = settings.push {
      let transport = try HTTPGraphQLTransport(url: push.url, token: push.token, options: push.http, logger: diagnostics.logger)
      let started = DiodePusher(transport: transport, options: push.pipeline, diagnostics: diagnostics)
      try started.start()
      diagnostics.logger.info("pushing to OpenCTI \(started.session.platformVersion ?? "?") at \(push.url)")
      deliver = { file, item in started.deliver(file, item) }
      pusher = started
    } else {
      let output = RecordWriter()
      let outputState = try SourceState(
        path: settings.statePath, tool: "cti-diode", output: output, commitOnWrite: settings.commitOnWrite)
      sourceState = outputState
      if outputState.mode == .none, options.deleteAfterImport, !settings.commitOnWrite, SourceState.isPipe(1) {
        diagnostics.warning(
          "files are not deleted after import: stdout is a pipe and without --state nothing tells when the pipeline's last stage has their data; give --state FILE here and to the last tool (or --commit-on-write to delete once written)")
        options.deleteAfterImport = false
      }
      let mappings = settings.mappings
      let diagnostics = diagnostics
      deliver = { file, item in
        let line = mappings.map { map in file.line(replacingApplicant: .some(file.applicantID.flatMap { map[$0] })) } ?? file.line()
        do {
          try output.writeRecord(line)
        } catch OutputError.tooLarge(let size, let limit) {
          diagnostics.error(
            "\(item.name): its envelope makes a line of \(size) bytes, over the line limit of \(limit) bytes; left in place (raise --max-line-bytes / CTI_MAX_LINE_BYTES on every tool of the pipeline)")
          return .failed
        }
        return .delivered
      }
    }
    let downstream = sourceState?.mode == .downstream
    let state = try ImportState(path: settings.statePath, persists: !downstream, durable: settings.durableState)
    let checkpoints = sourceState.flatMap { downstream ? ImportCheckpoints(sourceState: $0, state: state) : nil }
    // The official order: the folder first, then S3.
    var importers: [(check: () throws -> Void, importer: DiodeImporter)] = []
    if let directory = settings.directory {
      let importer = DiodeImporter(
        source: DirectorySource(path: directory, maxFileBytes: settings.maxFileBytes), state: state, options: options,
        diagnostics: diagnostics, checkpoints: checkpoints, deliver: deliver)
      importers.append(({ try DiodeError.checkFolder(directory) }, importer))
    }
    if let s3 = settings.s3 {
      let source = S3Source(client: S3Client(endpoint: s3.endpoint), location: s3.location, maxFileBytes: settings.maxFileBytes)
      var s3Options = s3.options
      s3Options.deleteAfterImport = s3Options.deleteAfterImport && options.deleteAfterImport
      let importer = DiodeImporter(
        source: source, state: state, options: s3Options, diagnostics: diagnostics, checkpoints: checkpoints,
        deliver: deliver)
      importers.append(({}, importer))
    }
    var total = DiodeImportSummary()
    var closed = false
    let scheduler = Scheduler(schedule: settings.schedule, logger: diagnostics.logger)
    let periodic = settings.schedule.isPeriodic
    do {
      try scheduler.run { _ in
        for (check, importer) in importers where !total.stopped {
          do {
            try check()
            pusher?.beginPass()
            let summary = try importer.runPass()
            total += summary
            if periodic, summary.imported + summary.rejected > 0 {
              diagnostics.logger.info("\(importer.source.location): \(Self.describe(summary))")
            }
          } catch let error where periodic && Self.isTransient(error) {
            diagnostics.error("\(error); trying again on the next pass, in \(Scheduler.describe(settings.schedule.period ?? 0))")
          }
        }
        return total.stopped ? .stop : .again
      }
    } catch OutputError.closed {
      closed = true
    }
    sourceState?.finish(logger: diagnostics.logger)
    try checkpoints?.deleteCommitted()
    var text = Self.describe(total)
    let waiting = checkpoints?.waitingDeletions ?? 0
    if waiting > 0 {
      text += "; \(waiting) file\(waiting == 1 ? "" : "s") kept until the pipeline commits \(waiting == 1 ? "it" : "them")"
    }
    if closed { text += "; output closed by the reader (EPIPE)" }
    if let runs = scheduler.summary { text += "; " + runs }
    if scheduler.stoppedWaiting { text += "; stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal") between passes" }
    if let pusher { text += "; " + pusher.summary }
    var told = RunSummary(text)
    told.count("files_imported", total.imported)
    told.count("already_imported", total.alreadyImported)
    told.count("rejected", total.rejected)
    told.count("not_pushed", total.failed)
    told.count("left_for_later", total.deferred)
    told.count("removed_by_retention", total.expired)
    told.count("kept_until_committed", waiting)
    if let pusher {
      told.count("files_pushed", pusher.pushed)
      told.count("files_push_failed", pusher.failed)
    }
    told.detail("runs", scheduler.summary)
    if total.stopped || scheduler.stoppedWaiting { told.detail("stop_reason", "stopped by a signal") }
    if closed { told.detail("output", "closed by the reader (EPIPE)") }
    summary = told
    return diagnostics.finalStatus
  }

  /// Errors that a later pass may not have (a folder not mounted yet, a full disk); bad output
  /// and --strict stops end the run.
  static func isTransient(_ error: any Error) -> Bool {
    !(error is OutputError || error is StrictStop || error is ConfigError)
  }

  static func describe(_ summary: DiodeImportSummary) -> String {
    var text = "imported \(summary.imported) file\(summary.imported == 1 ? "" : "s")"
    var details: [String] = []
    if summary.alreadyImported > 0 { details.append("\(summary.alreadyImported) already imported") }
    if summary.rejected > 0 { details.append("\(summary.rejected) rejected") }
    if summary.failed > 0 { details.append("\(summary.failed) not pushed, left in place") }
    if summary.deferred > 0 { details.append("\(summary.deferred) left for later") }
    if summary.expired > 0 { details.append("\(summary.expired) removed by retention") }
    if summary.stopped { details.append("stopped by a signal") }
    if !details.isEmpty { text += " (" + details.joined(separator: ", ") + ")" }
    return text
  }
}

