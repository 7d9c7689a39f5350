import ArgumentParser
import CTICommand
import CTICore

@main
struct CTIDiode: Tool {
  static let configuration = CommandConfiguration(
    commandName: "cti-diode",
    abstract: "Move STIX bundles across an air gap as OpenCTI diode files (folder or S3).",
    discussion: """
      Reads and writes the files pycti's send_to_directory writes, so it works with pycti \
      connectors and the official diode-import connector on either side.

      Examples:
        cti-misp --feed https://… --state m.json | CONNECTOR_ID=$ID \\
          CONNECTOR_NAME=MISP cti-diode export /mnt/usb --state m.json
        cti-diode import /mnt/usb --state d.state | cti-push --state d.state
        OPENCTI_URL=https://opencti OPENCTI_TOKEN=… \\
          cti-diode import /mnt/usb --push --state diode.state

      Into a pipe with --state, cti-diode import sends its journal as checkpoint records and \
      deletes a file only once the last tool (given the same --state) has committed it; \
      cti-diode export commits the checkpoints it reads once the files before them are written.

      \(ExitStatus.helpSection)
      """,
    version: CTIVersion.current,
    subcommands: [Import.self, Export.self]
  )
}

struct Import: ToolCommand {
  static let configuration = CommandConfiguration(
    abstract: "Read diode files; write each one's envelope as an NDJSON line on stdout, or push it to OpenCTI.",
    discussion: DiodeHelp.importDiscussion)

  @Argument(help: ArgumentHelp("Folder or s3://bucket/folder to read (env DIODE_IMPORT_GET_FROM_DIRECTORY_PATH; DIODE_IMPORT_GET_FROM_S3*).", valueName: "source"))
  var source: String?

  @Option(help: ArgumentHelp("Remember imported files in this journal (env CTI_DIODE_IMPORT_STATE).", valueName: "file"))
  var state: String?

  @Flag(inversion: .prefixedNo, help: "Delete each file once its envelope is written and flushed, or pushed (env DIODE_IMPORT_DELETE_AFTER_IMPORT; default \(onOff(DiodeImportSettings.defaults.deleteAfterImport))).")
  var deleteAfterImport: Bool?

  @Option(help: ArgumentHelp("Remove imported files older than this: days, or ISO-8601 such as P7D; 0 = never (env DIODE_IMPORT_GET_FROM_DIRECTORY_RETENTION; default \(seconds(DiodeImportSettings.defaults.retentionDays))).", valueName: "days"))
  var retention: String?

  @OptionGroup var schedule: ScheduleOptions

  @OptionGroup var applicants: ApplicantMappingsOptions

  @Option(help: ArgumentHelp("A file whose JSON ends early and that changed less than this long ago is left for the next pass (default \(seconds(DiodeImportSettings.defaults.settleSeconds)) s).", valueName: "duration"))
  var settle: String?

  @OptionGroup var durable: DurableOptions

  @OptionGroup var limits: FileLimitOptions

  @Flag(help: "Push each file to OpenCTI (OPENCTI_URL, OPENCTI_TOKEN) instead of writing it to stdout (env CTI_DIODE_IMPORT_PUSH).")
  var push = false

  @OptionGroup(title: "OpenCTI (with --push)") var opencti: OpenCTIOptions

  @OptionGroup(title: "S3") var s3: S3Options<ImportS3Names>

  @OptionGroup var sourceState: SourceStateOptions

  @OptionGroup var common: CommonOptions

  func settings(_ configuration: Configuration) throws -> DiodeImportSettings {
    var flags = DiodeImportSettings.Flags()
    flags.source = source
    flags.state = state
    flags.deleteAfterImport = deleteAfterImport
    flags.retention = retention
    flags.interval = schedule.interval
    flags.applicantMappings = applicants.value
    flags.settle = settle
    flags.fsync = durable.value ?? false
    flags.push = push ? true : nil
    flags.maxFileBytes = limits.maxFileBytes
    flags.commitOnWrite = sourceState.commitOnWrite
    flags.opencti = opencti.flags
    flags.s3 = s3.flags
    return try DiodeImportSettings(flags: flags, configuration: configuration)
  }

  func run(_ settings: DiodeImportSettings, _ tool: ToolContext) throws -> ExitStatus {
    let run = DiodeImportRun(settings: settings, diagnostics: tool.diagnostics)
    tool.summarize(alsoOnFailure: true) { run.summary }
    return try run.run()
  }
}

struct Export: ToolCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write bundles or envelopes from stdin as diode files, in pycti's format.",
    discussion: DiodeHelp.exportDiscussion)

  @Argument(help: ArgumentHelp("Folder or s3://bucket/folder to write to (env CONNECTOR_SEND_TO_DIRECTORY_PATH; CONNECTOR_SEND_TO_S3*).", valueName: "destination"))
  var destination: String?

  @OptionGroup(title: "Connector") var connector: ConnectorOptions

  @Flag(inversion: .prefixedNo, help: "connector.auto (env CONNECTOR_AUTO; default off).")
  var connectorAuto: Bool?

  @Flag(inversion: .prefixedNo, help: "connector.validate_before_import (env CONNECTOR_VALIDATE_BEFORE_IMPORT; default off).")
  var validateBeforeImport: Bool?

  @Option(help: ArgumentHelp("applicant_id written in the files (env CTI_DIODE_APPLICANT_ID; default null).", valueName: "uuid"))
  var applicantId: String?

  @Flag(help: "Write \"update\": true in files made from bundles.")
  var update = false

  @Option(help: ArgumentHelp("Remove this connector's own files older than this: days, or ISO-8601 such as P7D (env CONNECTOR_SEND_TO_DIRECTORY_RETENTION; default 0 = never).", valueName: "days"))
  var retention: String?

  @OptionGroup var durable: DurableOptions

  @OptionGroup var checkpoints: CheckpointOptions

  @OptionGroup var input: InputOptions

  @OptionGroup(title: "S3") var s3: S3Options<ExportS3Names>

  @OptionGroup var common: CommonOptions

  func settings(_ configuration: Configuration) throws -> DiodeExportSettings {
    var flags = DiodeExportSettings.Flags()
    flags.destination = destination
    flags.connector = connector.flags
    flags.connectorAuto = connectorAuto
    flags.validateBeforeImport = validateBeforeImport
    flags.applicantID = applicantId
    flags.update = update
    flags.retention = retention
    flags.fsync = durable.value ?? false
    flags.state = checkpoints.path
    flags.input = input.path
    flags.s3 = s3.flags
    return try DiodeExportSettings(flags: flags, configuration: configuration)
  }

  func run(_ settings: DiodeExportSettings, _ tool: ToolContext) throws -> ExitStatus {
    let run = DiodeExportRun(settings: settings, diagnostics: tool.diagnostics)
    tool.summarize { run.summary ?? RunSummary("") }
    return try run.run()
  }
}
