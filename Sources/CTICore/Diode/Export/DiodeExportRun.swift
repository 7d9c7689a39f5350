/// `cti-diode export`: stdin records to diode files. Checkpoints in the input are committed to
/// `statePath` as soon as the files before them are written; a stop signal ends the input after
/// the current record.
package final class DiodeExportRun {
  package let settings: DiodeExportSettings
  package let diagnostics: Diagnostics
  /// What the run did, once it has ended.
  package private(set) var summary: RunSummary?

  package init(settings: DiodeExportSettings, diagnostics: Diagnostics) {
    self.settings = settings
    self.diagnostics = diagnostics
  }

  /// Exports `input`, else the settings' input file, else standard input.
  package func run(input given: LineReader? = nil) throws -> ExitStatus {
    let input = try given ?? settings.input.map { path throws in try LineReader(path: path) } ?? LineReader()
    let checkpoints = try CheckpointCommitter(path: settings.statePath, diagnostics: diagnostics)
    let sink: any DiodeSink
    switch settings.destination {
    case .directory(let folder):
      try DiodeError.prepareExportFolder(folder, logger: diagnostics.logger)
      sink = DirectorySink(path: folder, durable: settings.durable)
    case .s3(let location, let endpoint):
      sink = S3Sink(client: S3Client(endpoint: endpoint), location: location)
    }
    let exporter = try DiodeExporter(sink: sink, options: settings.options)
    if exporter.staleTemporariesRemoved > 0 {
      diagnostics.logger.notice("removed \(exporter.staleTemporariesRemoved) temporary files left by an interrupted run")
    }
    var removed = try exporter.applyRetention()
    var taken = 0
    var deletesSkipped = 0
    while let line = try input.next(reportingTo: diagnostics) {
      let record: Record
      do {
        record = try Record(line)
      } catch {
        try diagnostics.reject(error)
        continue
      }
      switch record.kind {
      case .checkpoint:
        checkpoints.receive(record, position: taken)
        try checkpoints.commit(appliedThrough: taken)
        continue
      case .controlEvent:
        continue
      case .streamEvent where record.object.string("event") == "delete":
        deletesSkipped += 1
        continue
      default:
        taken += 1
      }
      do {
        try exporter.export(record)
      } catch let error as RecordError {
        try diagnostics.reject(error)
      }
    }
    if exporter.written > 0 { removed += try exporter.applyRetention() }
    var text = "wrote \(exporter.written) file\(exporter.written == 1 ? "" : "s") to \(sink.location)"
    if removed > 0 { text += ", removed \(removed) by retention" }
    if deletesSkipped > 0 { text += ", \(deletesSkipped) delete event\(deletesSkipped == 1 ? "" : "s") not exported (diode files carry no deletions)" }
    if let summary = checkpoints.summary { text += ", " + summary }
    let stop = input.stoppedBySignal ? "stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal")" : nil
    if let stop { text += "; " + stop }
    var told = RunSummary(text)
    told.count("files_written", exporter.written)
    told.count("files_removed", removed)
    told.count("deletes_skipped", deletesSkipped)
    told.detail("checkpoints", checkpoints.summary)
    told.detail("stop_reason", stop)
    summary = told
    return diagnostics.finalStatus
  }
}
