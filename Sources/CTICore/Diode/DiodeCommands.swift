import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Problems that stop cti-diode before or between passes.
public enum DiodeError: ToolError {
  case missingFolder(String)
  case noSource

  public var exitStatus: ExitStatus {
    switch self {
    case .missingFolder: .noInput
    case .noSource: .config
    }
  }

  public var description: String {
    switch self {
    case .missingFolder(let path): "\(path): no such folder"
    case .noSource:
      "nothing to read: give a folder, or set DIODE_IMPORT_GET_FROM_DIRECTORY_PATH"
    }
  }

  /// The folder to import from must exist (a missing one may be a drive not mounted yet).
  static func checkFolder(_ path: String) throws {
    switch FileSystem.kind(of: path) {
    case .folder: return
    case .missing: throw DiodeError.missingFolder(path)
    case .other: throw NotAFolderError(path, expected: "a diode folder holding *.json files")
    }
  }

  /// The folder to export to is created when missing, with a notice (pycti's writer fails
  /// instead, and a first run then needs a `mkdir`).
  static func prepareExportFolder(_ path: String, logger: Logger) throws {
    switch FileSystem.kind(of: path) {
    case .folder: return
    case .other: throw NotAFolderError(path, exitStatus: .ioError, expected: "the folder to write diode files into")
    case .missing:
      try FileSystem.makeDirectories(path)
      logger.notice("created the export folder \(path), which did not exist")
    }
  }
}

/// S3 connection settings given on the command line (nil: not given).
public struct S3Flags: Sendable {
  public var endpoint: String?
  public var port: Int?
  public var region: String?
  public var useSSL: Bool?

  public init(endpoint: String? = nil, port: Int? = nil, region: String? = nil, useSSL: Bool? = nil) {
    self.endpoint = endpoint
    self.port = port
    self.region = region
    self.useSSL = useSSL
  }

  /// Resolves the endpoint. `prefix` is `DIODE_IMPORT_` for the importer's own names (yaml
  /// `diode_import.s3_*`); pycti's `S3_*` (yaml `s3.*`) and the AWS_* names come after.
  public func endpoint(configuration: Configuration, importer: Bool) throws(ConfigError) -> S3Endpoint {
    func setting(_ suffix: String, aws: [String] = [], secret: Bool = false) -> Setting {
      var names = importer ? ["DIODE_IMPORT_S3_" + suffix] : []
      names += ["S3_" + suffix] + aws
      var result = Setting(key: (importer ? "diode_import.s3_" : "s3.") + suffix.lowercased(), secret: secret)
      result.environment = names
      return result
    }
    guard var host = configuration.string(setting("ENDPOINT", aws: ["AWS_ENDPOINT_URL"]), flag: endpoint) else {
      throw ConfigError("S3 needs an endpoint: --s3-endpoint or \(importer ? "DIODE_IMPORT_S3_ENDPOINT / " : "")S3_ENDPOINT")
    }
    var ssl = try configuration.bool(setting("USE_SSL"), flag: useSSL, default: true)
    if host.hasPrefix("http://") || host.hasPrefix("https://") {
      if useSSL == nil { ssl = host.hasPrefix("https://") }
      host = String(host.drop { $0 != "/" }.dropFirst(2))
    }
    while host.hasSuffix("/") { host.removeLast() }
    var portNumber = try configuration.int(setting("PORT"), flag: port, default: 0)
    if let colon = host.lastIndex(of: ":"), let inline = Int(host[host.index(after: colon)...]) {
      if portNumber == 0 { portNumber = inline }
      host = String(host[..<colon])
    }
    guard let access = configuration.string(setting("ACCESS_KEY", aws: ["AWS_ACCESS_KEY_ID"])),
      let secretKey = configuration.string(setting("SECRET_KEY", aws: ["AWS_SECRET_ACCESS_KEY"], secret: true))
    else {
      throw ConfigError("S3 needs an access key and a secret key (\(importer ? "DIODE_IMPORT_S3_ACCESS_KEY, " : "")S3_ACCESS_KEY or AWS_ACCESS_KEY_ID and the matching secret)")
    }
    return S3Endpoint(
      host: host, port: portNumber > 0 ? portNumber : nil, useSSL: ssl,
      region: configuration.string(setting("BUCKET_REGION", aws: ["AWS_REGION", "AWS_DEFAULT_REGION"]), flag: region, default: "us-east-1"),
      accessKey: access, secretKey: secretKey, sessionToken: configuration.string(Setting(env: "AWS_SESSION_TOKEN")))
  }
}

/// The settings of `cti-diode import`, resolved flag > environment > config.yml > default with
/// the official diode-import names.
public struct DiodeImportSettings: Sendable {
  /// What the command line said (nil: not given).
  public struct Flags: Sendable {
    public var source: String?
    public var state: String?
    public var deleteAfterImport: Bool?
    public var retention: Int?
    public var interval: String?
    public var applicantMappings: String?
    public var settle: String?
    public var durableState: Bool
    /// `--push`: push each file to OpenCTI instead of writing it to stdout.
    public var push: Bool?
    /// `--max-file-bytes`, as given.
    public var maxFileBytes: String?

    public init(
      source: String? = nil, state: String? = nil, deleteAfterImport: Bool? = nil, retention: Int? = nil,
      interval: String? = nil, applicantMappings: String? = nil, settle: String? = nil, durableState: Bool = false,
      push: Bool? = nil, maxFileBytes: String? = nil
    ) {
      self.source = source
      self.state = state
      self.deleteAfterImport = deleteAfterImport
      self.retention = retention
      self.interval = interval
      self.applicantMappings = applicantMappings
      self.settle = settle
      self.durableState = durableState
      self.push = push
      self.maxFileBytes = maxFileBytes
    }
  }

  public static let getFromDirectory = Setting(env: "DIODE_IMPORT_GET_FROM_DIRECTORY", key: "diode_import.get_from_directory")
  public static let directoryPath = Setting(
    env: "DIODE_IMPORT_GET_FROM_DIRECTORY_PATH", key: "diode_import.get_from_directory_path")
  public static let directoryRetention = Setting(
    env: "DIODE_IMPORT_GET_FROM_DIRECTORY_RETENTION", key: "diode_import.get_from_directory_retention")
  public static let deleteAfterImport = Setting(
    env: "DIODE_IMPORT_DELETE_AFTER_IMPORT", key: "diode_import.delete_after_import")
  public static let applicantMappings = Setting(
    env: "DIODE_IMPORT_APPLICANT_MAPPINGS", key: "diode_import.applicant_mappings")
  public static let stateFile = Setting(env: "CTI_DIODE_IMPORT_STATE", key: "cti.diode_import_state")
  public static let getFromS3 = Setting(env: "DIODE_IMPORT_GET_FROM_S3", key: "diode_import.get_from_s3")
  public static let s3Bucket = Setting(
    env: "DIODE_IMPORT_GET_FROM_S3_BUCKET", "CONNECTOR_SEND_TO_S3_BUCKET", key: "diode_import.get_from_s3_bucket")
  public static let s3Folder = Setting(env: "DIODE_IMPORT_GET_FROM_S3_FOLDER", key: "diode_import.get_from_s3_folder")
  public static let s3Retention = Setting(env: "DIODE_IMPORT_GET_FROM_S3_RETENTION", key: "diode_import.get_from_s3_retention")

  /// Write the state journal even when stdout is a pipe (no checkpoints), and delete files once
  /// their envelopes are written.
  public var commitOnWrite = false
  /// The folder to read, if any.
  public var directory: String?
  /// The bucket and prefix to read, if any, with the endpoint.
  public var s3: (location: S3Location, endpoint: S3Endpoint, options: DiodeImportOptions)?
  public var statePath: String?
  public var durableState: Bool
  public var options: DiodeImportOptions
  /// One pass, or a pass every period (`--interval`, CONNECTOR_DURATION_PERIOD, or 60 s with
  /// CONNECTOR_RUN_AND_TERMINATE=false as the official importer).
  public var schedule: Schedule
  /// Deprecation notes met while resolving.
  public var warnings: [String] = []
  /// nil: applicant ids pass through unchanged.
  public var mappings: ApplicantMap?
  /// Set with `--push`: where each file is pushed instead of being written to stdout.
  public var push: DiodePushSettings?
  /// Larger files (and S3 objects) are refused unread and quarantined.
  public var maxFileBytes = FileSystem.defaultMaxFileBytes

  /// `opencti` (URL, token, TLS) is only read with `--push`.
  public init(
    flags: Flags, s3Flags: S3Flags = S3Flags(), opencti: OpenCTIOptions = OpenCTIOptions(), configuration: Configuration,
    diagnostics: Diagnostics
  ) throws(ConfigError) {
    var s3Location: S3Location?
    if let source = flags.source {
      if source.hasPrefix("s3://") {
        guard let location = S3Location(url: source) else { throw ConfigError("'\(source)' is not s3://bucket/folder") }
        s3Location = location
      } else {
        directory = source
      }
    } else {
      if try configuration.bool(Self.getFromDirectory, default: true) {
        directory = configuration.string(Self.directoryPath)
      }
      if try configuration.bool(Self.getFromS3, default: false) {
        guard let bucket = configuration.string(Self.s3Bucket) else {
          throw ConfigError("DIODE_IMPORT_GET_FROM_S3 is on but no bucket is set (DIODE_IMPORT_GET_FROM_S3_BUCKET)")
        }
        s3Location = S3Location(bucket: bucket, folder: configuration.string(Self.s3Folder, default: "connectors"))
      }
    }
    statePath = configuration.string(Self.stateFile, flag: flags.state)
    durableState = flags.durableState
    maxFileBytes = try configuration.byteCount(
      InputLimits.maxFileBytes, flag: flags.maxFileBytes, default: FileSystem.defaultMaxFileBytes)
    let retention = try configuration.int(Self.directoryRetention, flag: flags.retention, default: 7)
    guard retention >= 0 else { throw ConfigError("retention must be 0 or more days, not \(retention)") }
    let settle = try configuration.duration(Setting(), flag: flags.settle, default: 60) ?? 60
    options = DiodeImportOptions(
      deleteAfterImport: try configuration.bool(Self.deleteAfterImport, flag: flags.deleteAfterImport, default: true),
      retentionDays: retention, settleSeconds: settle)
    // The official importer waits a fixed 60 s between passes when it does not run and terminate.
    schedule = try Schedule.resolve(configuration, interval: flags.interval, loopingDefault: 60, warnings: &warnings)
    if let text = configuration.string(Self.applicantMappings, flag: flags.applicantMappings) {
      var warnings: [String] = []
      mappings = ApplicantMap(parsing: text, warnings: &warnings)
      for warning in warnings { diagnostics.warning(warning) }
    }
    if try configuration.bool(DiodePushSettings.push, flag: flags.push, default: false) {
      push = try DiodePushSettings(configuration: configuration, opencti: opencti, applicants: mappings)
    }
    if let s3Location {
      let s3Retention = try configuration.int(Self.s3Retention, flag: flags.retention, default: 7)
      var s3Options = options
      s3Options.retentionDays = max(s3Retention, 0)
      // S3 puts are atomic: an object never shows half written.
      s3Options.settleSeconds = 0
      s3 = (s3Location, try s3Flags.endpoint(configuration: configuration, importer: true), s3Options)
    }
  }
}

/// `cti-diode import`: passes over the sources until done or stopped.
public final class DiodeImportRun {
  public let settings: DiodeImportSettings
  public let diagnostics: Diagnostics
  public let quiet: Bool

  public init(settings: DiodeImportSettings, diagnostics: Diagnostics, quiet: Bool) {
    self.settings = settings
    self.diagnostics = diagnostics
    self.quiet = quiet
  }

  public func run() throws -> ExitStatus {
    guard settings.directory != nil || settings.s3 != nil else { throw DiodeError.noSource }
    for warning in settings.warnings { diagnostics.warning(warning) }
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
    if !quiet {
      var text = Self.describe(total)
      if let checkpoints, checkpoints.waitingDeletions > 0 {
        text += "; \(checkpoints.waitingDeletions) file\(checkpoints.waitingDeletions == 1 ? "" : "s") kept until the pipeline commits \(checkpoints.waitingDeletions == 1 ? "it" : "them")"
      }
      if closed { text += "; output closed by the reader (EPIPE)" }
      if let runs = scheduler.summary { text += "; " + runs }
      if scheduler.stoppedWaiting { text += "; stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal") between passes" }
      if let pusher { text += "; " + pusher.summary }
      diagnostics.logger.info("\(text)")
    }
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

/// The settings of `cti-diode export`, with pycti's CONNECTOR_* names.
public struct DiodeExportSettings: Sendable {
  public struct Flags: Sendable {
    public var destination: String?
    public var connectorID: String?
    public var connectorName: String?
    public var connectorType: String?
    public var connectorScope: String?
    public var connectorAuto: Bool?
    public var validateBeforeImport: Bool?
    public var applicantID: String?
    public var update: Bool
    public var retention: Int?
    public var durable: Bool

    public init(
      destination: String? = nil, connectorID: String? = nil, connectorName: String? = nil, connectorType: String? = nil,
      connectorScope: String? = nil, connectorAuto: Bool? = nil, validateBeforeImport: Bool? = nil,
      applicantID: String? = nil, update: Bool = false, retention: Int? = nil, durable: Bool = false
    ) {
      self.destination = destination
      self.connectorID = connectorID
      self.connectorName = connectorName
      self.connectorType = connectorType
      self.connectorScope = connectorScope
      self.connectorAuto = connectorAuto
      self.validateBeforeImport = validateBeforeImport
      self.applicantID = applicantID
      self.update = update
      self.retention = retention
      self.durable = durable
    }
  }

  public static let directoryPath = Setting(
    env: "CONNECTOR_SEND_TO_DIRECTORY_PATH", key: "connector.send_to_directory_path")
  public static let directoryRetention = Setting(
    env: "CONNECTOR_SEND_TO_DIRECTORY_RETENTION", key: "connector.send_to_directory_retention")
  public static let connectorID = Setting(env: "CONNECTOR_ID", key: "connector.id")
  public static let connectorName = Setting(env: "CONNECTOR_NAME", key: "connector.name")
  public static let connectorType = Setting(env: "CONNECTOR_TYPE", key: "connector.type")
  public static let connectorScope = Setting(env: "CONNECTOR_SCOPE", key: "connector.scope")
  public static let connectorAuto = Setting(env: "CONNECTOR_AUTO", key: "connector.auto")
  public static let validateBeforeImport = Setting(
    env: "CONNECTOR_VALIDATE_BEFORE_IMPORT", key: "connector.validate_before_import")
  public static let applicantID = Setting(env: "CTI_DIODE_APPLICANT_ID", key: "cti.diode_applicant_id")
  public static let sendToS3 = Setting(env: "CONNECTOR_SEND_TO_S3", key: "connector.send_to_s3")
  public static let s3Bucket = Setting(env: "CONNECTOR_SEND_TO_S3_BUCKET", key: "connector.send_to_s3_bucket")
  public static let s3Folder = Setting(env: "CONNECTOR_SEND_TO_S3_FOLDER", key: "connector.send_to_s3_folder")
  public static let s3Retention = Setting(env: "CONNECTOR_SEND_TO_S3_RETENTION", key: "connector.send_to_s3_retention")

  /// Where the files go.
  public enum Destination: Sendable {
    case directory(String)
    case s3(S3Location, S3Endpoint)
  }

  public var destination: Destination
  public var durable: Bool
  public var options: DiodeExportOptions

  public init(flags: Flags, s3Flags: S3Flags = S3Flags(), configuration: Configuration) throws(ConfigError) {
    var retentionSetting = Self.directoryRetention
    if let text = flags.destination, text.hasPrefix("s3://") {
      guard let location = S3Location(url: text) else { throw ConfigError("'\(text)' is not s3://bucket/folder") }
      destination = .s3(location, try s3Flags.endpoint(configuration: configuration, importer: false))
      retentionSetting = Self.s3Retention
    } else if let folder = configuration.string(Self.directoryPath, flag: flags.destination) {
      destination = .directory(folder)
    } else if try configuration.bool(Self.sendToS3, default: false), let bucket = configuration.string(Self.s3Bucket) {
      let location = S3Location(bucket: bucket, folder: configuration.string(Self.s3Folder, default: "connectors"))
      destination = .s3(location, try s3Flags.endpoint(configuration: configuration, importer: false))
      retentionSetting = Self.s3Retention
    } else {
      throw ConfigError(
        "nowhere to write: give a folder or s3://bucket/folder, or set CONNECTOR_SEND_TO_DIRECTORY_PATH or CONNECTOR_SEND_TO_S3_BUCKET")
    }
    durable = flags.durable
    let id = configuration.string(Self.connectorID, flag: flags.connectorID)
    let name = configuration.string(Self.connectorName, flag: flags.connectorName)
    var connector: DiodeConnector?
    if let id, let name {
      connector = DiodeConnector(
        id: id, name: name, type: configuration.string(Self.connectorType, flag: flags.connectorType, default: "EXTERNAL_IMPORT"),
        scope: configuration.list(Self.connectorScope, flag: flags.connectorScope),
        auto: try configuration.bool(Self.connectorAuto, flag: flags.connectorAuto, default: false),
        validateBeforeImport: try configuration.bool(Self.validateBeforeImport, flag: flags.validateBeforeImport, default: false))
    } else if id != nil || name != nil {
      throw ConfigError("set both the connector id and name (CONNECTOR_ID, CONNECTOR_NAME), or neither")
    }
    let retention = try configuration.int(retentionSetting, flag: flags.retention, default: 0)
    guard retention >= 0 else { throw ConfigError("retention must be 0 or more days, not \(retention)") }
    options = DiodeExportOptions(
      connector: connector, applicantID: configuration.string(Self.applicantID, flag: flags.applicantID),
      update: flags.update, retentionDays: retention)
  }
}

/// `cti-diode export`: stdin records to diode files. Checkpoints in the input are committed to
/// `statePath` as soon as the files before them are written; a stop signal ends the input after
/// the current record.
public final class DiodeExportRun {
  public let settings: DiodeExportSettings
  public let diagnostics: Diagnostics
  public let quiet: Bool

  public init(settings: DiodeExportSettings, diagnostics: Diagnostics, quiet: Bool) {
    self.settings = settings
    self.diagnostics = diagnostics
    self.quiet = quiet
  }

  public func run(input: LineReader = LineReader(), statePath: String? = nil) throws -> ExitStatus {
    let checkpoints = try CheckpointCommitter(path: statePath, diagnostics: diagnostics)
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
    if !quiet {
      var text = "wrote \(exporter.written) file\(exporter.written == 1 ? "" : "s") to \(sink.location)"
      if removed > 0 { text += ", removed \(removed) by retention" }
      if deletesSkipped > 0 { text += ", \(deletesSkipped) delete event\(deletesSkipped == 1 ? "" : "s") not exported (diode files carry no deletions)" }
      if let summary = checkpoints.summary { text += ", " + summary }
      if input.stoppedBySignal { text += "; stopped by \(StopSignals.received.map(StopSignals.name) ?? "a signal")" }
      diagnostics.logger.info("\(text)")
    }
    return diagnostics.finalStatus
  }
}
