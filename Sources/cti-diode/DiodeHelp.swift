import CTICommand
import CTICore

/// The S3 settings each subcommand's options name in their help: pycti's for export, the
/// diode importer's own first for import.
enum ImportS3Names: S3SettingNames { static let keys = S3Keys.diodeImport }
enum ExportS3Names: S3SettingNames { static let keys = S3Keys.diodeExport }

/// The long help texts of `cti-diode import` and `export`, kept apart from their options.
enum DiodeHelp {
  static let importDiscussion = """
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
    """

  static let exportDiscussion = """
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
    """
}
