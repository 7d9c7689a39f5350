import ArgumentParser
import CTICore

@main
struct CTIDiode: ParsableCommand {
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

/// Where an S3-compatible service is (keys come from the environment or config.yml only).
struct S3Options: ParsableArguments {
  @Option(name: .customLong("s3-endpoint"), help: ArgumentHelp("S3 host[:port] or URL (env DIODE_IMPORT_S3_ENDPOINT, S3_ENDPOINT).", valueName: "host"))
  var endpoint: String?

  @Option(name: .customLong("s3-port"), help: ArgumentHelp("S3 port (env …S3_PORT).", valueName: "port"))
  var port: Int?

  @Option(name: .customLong("s3-region"), help: ArgumentHelp("SigV4 region (env …S3_BUCKET_REGION, AWS_REGION; default us-east-1).", valueName: "region"))
  var region: String?

  @Flag(name: .customLong("s3-ssl"), inversion: .prefixedNo, help: "Use https (env …S3_USE_SSL; default on).")
  var useSSL: Bool?

  var flags: S3Flags { S3Flags(endpoint: endpoint, port: port, region: region, useSSL: useSSL) }
}

struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Read diode files; write each one's envelope as an NDJSON line on stdout, or push it to OpenCTI.",
    discussion: """
      Files are read in modification-time order, then by name. What was imported is remembered \
      by name, size and SHA-256 in --state, never by timestamp, so files copied with old or \
      equal mtimes (rsync -a, cp -p) are imported exactly once. Invalid files are moved to \
      DIR/.rejected/ with a .reason note; so are entries that are not regular files (FIFOs, \
      devices, symbolic links) and files over --max-file-bytes, which are never read. One pass \
      by default; --interval (or CONNECTOR_DURATION_PERIOD) passes again that long after each \
      pass, each pass ending with a checkpoint; SIGTERM stops cleanly between files, and at once \
      between passes.

      With --push each file is pushed to OPENCTI_URL instead, as the official importer does: \
      as its own connector (registered once per run), impersonating its applicant mapped \
      through --applicant-mappings (unmapped: the token's user, with a warning), into a work \
      of its own closed when the file is done (in error if its push failed). A file is \
      recorded in --state and deleted only after its push succeeded; a file whose push fails \
      stays where it is for the next run, the other files go on, and the run exits 1 (69 if \
      OpenCTI cannot be reached at the start, 77 if the token is refused).

      Examples:
        cti-diode import /mnt/usb | cti-push
        cti-diode import outbox --state diode.state --no-delete-after-import
        S3_ACCESS_KEY=… S3_SECRET_KEY=… cti-diode import s3://diode/connectors \\
          --s3-endpoint minio:9000 --no-s3-ssl
        DIODE_IMPORT_GET_FROM_DIRECTORY_PATH=/data \\
          CONNECTOR_RUN_AND_TERMINATE=false cti-diode import
        OPENCTI_URL=http://opencti:8080 OPENCTI_TOKEN=… \\
          cti-diode import /mnt/usb --push --applicant-mappings src:dst
      """)

  @Argument(
    help: ArgumentHelp(
      "Folder or s3://bucket/folder to read (env DIODE_IMPORT_GET_FROM_DIRECTORY_PATH; DIODE_IMPORT_GET_FROM_S3*).",
      valueName: "source"))
  var source: String?

  @Option(help: ArgumentHelp("Remember imported files in this journal (env CTI_DIODE_IMPORT_STATE).", valueName: "file"))
  var state: String?

  @Flag(
    inversion: .prefixedNo,
    help: "Delete each file once its envelope is written and flushed, or pushed (env DIODE_IMPORT_DELETE_AFTER_IMPORT; default on).")
  var deleteAfterImport: Bool?

  @Option(
    help: ArgumentHelp(
      "Remove imported files older than this many days; 0 = never (env DIODE_IMPORT_GET_FROM_DIRECTORY_RETENTION; default 7).",
      valueName: "days"))
  var retention: Int?

  @Option(
    help: ArgumentHelp(
      "Pass again this long after each pass ends, ISO-8601 or seconds, e.g. PT60S; 0: one pass (env CONNECTOR_DURATION_PERIOD; default: one pass, or every 60 s with CONNECTOR_RUN_AND_TERMINATE=false).",
      valueName: "duration"))
  var interval: String?

  @Option(
    help: ArgumentHelp(
      "Map source users to target users, src:dst,… (env DIODE_IMPORT_APPLICANT_MAPPINGS); rewrites applicant_id (unmapped → null), or with --push picks the user to impersonate.",
      valueName: "pairs"))
  var applicantMappings: String?

  @Option(
    help: ArgumentHelp(
      "A file whose JSON ends early and that changed less than this long ago is left for the next pass (default PT60S).",
      valueName: "duration"))
  var settle: String?

  @Flag(help: "fsync the state journal after each file.")
  var durableState = false

  @Option(
    help: ArgumentHelp(
      "Refuse unread, and quarantine, files larger than this, e.g. 512M (env CTI_MAX_FILE_BYTES; default 256M).",
      valueName: "size"))
  var maxFileBytes: String?

  @Flag(help: "Push each file to OpenCTI (OPENCTI_URL, OPENCTI_TOKEN) instead of writing it to stdout (env CTI_DIODE_IMPORT_PUSH).")
  var push = false

  @OptionGroup(title: "OpenCTI (with --push)") var opencti: OpenCTIOptions

  @OptionGroup(title: "S3") var s3: S3Options

  @OptionGroup var sourceState: SourceStateOptions

  @OptionGroup var common: CommonOptions

  func run() throws {
    try ToolMain.run(tool: "cti-diode") {
      let configuration = try common.configuration()
      let diagnostics = try common.diagnostics(tool: "cti-diode", configuration: configuration)
      let flags = DiodeImportSettings.Flags(
        source: source, state: state, deleteAfterImport: deleteAfterImport, retention: retention, interval: interval,
        applicantMappings: applicantMappings, settle: settle, durableState: durableState, push: push ? true : nil,
        maxFileBytes: maxFileBytes)
      var settings = try DiodeImportSettings(
        flags: flags, s3Flags: s3.flags, opencti: opencti, configuration: configuration, diagnostics: diagnostics)
      settings.commitOnWrite = sourceState.commitOnWrite
      return try DiodeImportRun(settings: settings, diagnostics: diagnostics, quiet: common.quiet).run()
    }
  }
}

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write bundles or envelopes from stdin as diode files, in pycti's format.",
    discussion: """
      Each input line (a STIX bundle, a diode envelope or a single STIX object) becomes one file \
      <connector name>-<YYYYMMDD-HHMMSS>-<epoch>.json, written as a hidden temporary then renamed, with \
      modification times that strictly increase. Envelopes keep their own connector and applicant.

      A missing folder is created, with a notice (pycti's writer fails instead).

      Examples:
        CONNECTOR_ID=$ID CONNECTOR_NAME=MISP \\
          cti-diode export outbox < bundles.ndjson
        cti-misp --feed https://… |
          cti-diode export /mnt/usb --connector-id $ID --connector-name MISP
        cti-diode export s3://diode/connectors --s3-endpoint minio:9000 \\
          --no-s3-ssl --connector-id $ID --connector-name MISP < bundles.ndjson
        CONNECTOR_ID=… CONNECTOR_NAME="Common Vulnerabilities and Exposures" \\
          cti-diode export /mnt/usb < bundles.ndjson
      """)

  @Argument(
    help: ArgumentHelp(
      "Folder or s3://bucket/folder to write to (env CONNECTOR_SEND_TO_DIRECTORY_PATH; CONNECTOR_SEND_TO_S3*).",
      valueName: "destination"))
  var destination: String?

  @Option(help: ArgumentHelp("Connector id written in the files (env CONNECTOR_ID).", valueName: "uuid"))
  var connectorId: String?

  @Option(help: ArgumentHelp("Connector name (env CONNECTOR_NAME); also names the files.", valueName: "name"))
  var connectorName: String?

  @Option(help: ArgumentHelp("Connector type (env CONNECTOR_TYPE; default EXTERNAL_IMPORT).", valueName: "type"))
  var connectorType: String?

  @Option(help: ArgumentHelp("Connector scope, comma-separated (env CONNECTOR_SCOPE).", valueName: "types"))
  var connectorScope: String?

  @Flag(inversion: .prefixedNo, help: "connector.auto (env CONNECTOR_AUTO; default false).")
  var connectorAuto: Bool?

  @Flag(inversion: .prefixedNo, help: "connector.validate_before_import (env CONNECTOR_VALIDATE_BEFORE_IMPORT; default false).")
  var validateBeforeImport: Bool?

  @Option(help: ArgumentHelp("applicant_id written in the files (env CTI_DIODE_APPLICANT_ID; default null).", valueName: "uuid"))
  var applicantId: String?

  @Flag(help: "Write \"update\": true in files made from bundles.")
  var update = false

  @Option(
    help: ArgumentHelp(
      "Remove this connector's own files older than this many days (env CONNECTOR_SEND_TO_DIRECTORY_RETENTION; default 0 = never).",
      valueName: "days"))
  var retention: Int?

  @Flag(help: "fsync each file and the folder.")
  var durable = false

  @Option(help: ArgumentHelp("Commit the checkpoints of the input's source into this file (the source's --state file) once the files before them are written.", valueName: "file"))
  var state: String?

  @OptionGroup(title: "S3") var s3: S3Options

  @OptionGroup var common: CommonOptions

  func run() throws {
    try ToolMain.run(tool: "cti-diode") {
      let configuration = try common.configuration()
      let diagnostics = try common.diagnostics(tool: "cti-diode", configuration: configuration)
      let flags = DiodeExportSettings.Flags(
        destination: destination, connectorID: connectorId, connectorName: connectorName, connectorType: connectorType,
        connectorScope: connectorScope, connectorAuto: connectorAuto, validateBeforeImport: validateBeforeImport,
        applicantID: applicantId, update: update, retention: retention, durable: durable)
      let settings = try DiodeExportSettings(flags: flags, s3Flags: s3.flags, configuration: configuration)
      return try DiodeExportRun(settings: settings, diagnostics: diagnostics, quiet: common.quiet).run(statePath: state)
    }
  }
}
