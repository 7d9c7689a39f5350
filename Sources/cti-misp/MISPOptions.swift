import ArgumentParser
import CTICommand
import CTICore

/// The official defaults, as MISPKeys.options applies them.
private let defaults = MISPConversionSettings()

/// How events are converted: the official connector's MISP_FEED_* switches, and `--compat`.
struct MISPConversionOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("fixed or official: reproduce the official connector's output, quirks included (env CTI_MISP_COMPAT; default \(defaults.compatibility.rawValue)).", valueName: "mode"))
  var compat: String?

  @Flag(inversion: .prefixedNo, help: "Wrap each event in a report (env MISP_FEED_CREATE_REPORTS; default \(onOff(defaults.createReports))).")
  var createReports: Bool?

  @Option(help: ArgumentHelp("report_types of the reports (env MISP_FEED_REPORT_TYPE; default \(defaults.reportType)).", valueName: "type"))
  var reportType: String?

  @Flag(inversion: .prefixedNo, help: "Create indicators (env MISP_FEED_CREATE_INDICATORS; default \(onOff(defaults.createIndicators))).")
  var createIndicators: Bool?

  @Flag(inversion: .prefixedNo, help: "Create observables (env MISP_FEED_CREATE_OBSERVABLES; default \(onOff(defaults.createObservables))).")
  var createObservables: Bool?

  @Flag(inversion: .prefixedNo, help: "A Text observable per MISP object (env MISP_FEED_CREATE_OBJECT_OBSERVABLES; default \(onOff(defaults.createObjectObservables))).")
  var createObjectObservables: Bool?

  @Flag(inversion: .prefixedNo, help: "Tags become labels (env MISP_FEED_CREATE_TAGS_AS_LABELS; default \(onOff(defaults.createTagsAsLabels))).")
  var createTagsAsLabels: Bool?

  @Flag(inversion: .prefixedNo, help: "Look tag values up in the OpenCTI at OPENCTI_URL (with OPENCTI_TOKEN) and add the intrusion sets, malware, tools and attack patterns found (env MISP_FEED_GUESS_THREATS_FROM_TAGS; default \(onOff(defaults.guessThreatsFromTags))).")
  var guessThreatsFromTags: Bool?

  @Flag(inversion: .prefixedNo, help: "A creator=<name> tag names the author (env MISP_FEED_AUTHOR_FROM_TAGS; default \(onOff(defaults.authorFromTags))).")
  var authorFromTags: Bool?

  @Flag(inversion: .prefixedNo, help: "marking:<type>=<name> tags become markings (env MISP_FEED_MARKINGS_FROM_TAGS; default \(onOff(defaults.markingsFromTags))).")
  var markingsFromTags: Bool?

  @Option(help: ArgumentHelp("Score of attributes with to_ids false (env MISP_FEED_IMPORT_TO_IDS_NO_SCORE).", valueName: "score"))
  var importToIdsNoScore: Int?

  @Flag(inversion: .prefixedNo, help: "Unsupported attribute types become Text observables (env MISP_FEED_IMPORT_UNSUPPORTED_OBSERVABLES_AS_TEXT; default \(onOff(defaults.importUnsupportedObservablesAsText))).")
  var importUnsupportedObservablesAsText: Bool?

  @Flag(inversion: .prefixedNo, help: "Object Text value is the first attribute's value (env MISP_FEED_IMPORT_UNSUPPORTED_OBSERVABLES_AS_TEXT_TRANSPARENT; default \(onOff(defaults.importUnsupportedObservablesAsTextTransparent))).")
  var importUnsupportedObservablesAsTextTransparent: Bool?

  @Flag(inversion: .prefixedNo, help: "PDF attachments go into the report's x_opencti_files (env MISP_FEED_IMPORT_WITH_ATTACHMENTS; default \(onOff(defaults.importWithAttachments))).")
  var importWithAttachments: Bool?

  var flags: MISPKeys.Flags {
    var flags = MISPKeys.Flags()
    flags.compatibility = compat
    flags.createReports = createReports
    flags.reportType = reportType
    flags.createIndicators = createIndicators
    flags.createObservables = createObservables
    flags.createObjectObservables = createObjectObservables
    flags.createTagsAsLabels = createTagsAsLabels
    flags.guessThreatsFromTags = guessThreatsFromTags
    flags.authorFromTags = authorFromTags
    flags.markingsFromTags = markingsFromTags
    flags.importToIdsNoScore = importToIdsNoScore
    flags.unsupportedAsText = importUnsupportedObservablesAsText
    flags.unsupportedAsTextTransparent = importUnsupportedObservablesAsTextTransparent
    flags.withAttachments = importWithAttachments
    return flags
  }
}

/// cti-misp's long help text.
enum MISPHelp {
  static let discussion = """
    With --feed URL or DIR, reads manifest.json and converts every event newer than the \
    state's high-water mark (else MISP_FEED_IMPORT_FROM_DATE, else now), oldest first. With \
    --source s3, converts every object under a bucket prefix. Otherwise reads MISP events \
    ({"Event": …} or bare) from standard input, one per line. Ids equal the official \
    connector's; --compat official also reproduces its quirks.

    Settings: flags, then the official MISP_FEED_* environment variables, then config.yml \
    (misp_feed.*), then the official defaults.

    --guess-threats-from-tags asks the OpenCTI at OPENCTI_URL (token OPENCTI_TOKEN) for each \
    distinct tag value once per run; without OPENCTI_URL it warns and is ignored. A platform \
    that is down at start ends the run before any event (exit 69; 77 if the token is refused); \
    a lookup failing later skips that event without advancing the state (exit 1).

    Examples:
      cti-misp --feed https://feed.example.org/misp --state s.json | cti-push
      cti-misp --feed ./feed --import-from-date 2000-01-01 --create-indicators
      MISP_FEED_IMPORT_FROM_DATE=P30D cti-misp --feed /srv/feed --state s.json
      jq -c . events/*.json | cti-misp --create-indicators > bundles.ndjson
      cti-misp --source s3 --bucket misp --prefix events/ --delete-consumed
      cti-misp --compat official --feed ./feed --import-from-date 2024-01-01
      cti-misp --feed ./feed --jobs 1 --create-indicators   # one event at a time
      OPENCTI_URL=http://octi cti-misp --feed ./feed --guess-threats-from-tags

    With --state and stdout a pipe, the high-water mark goes down the pipe as checkpoint \
    records; give the last tool the same --state and it saves the mark once the bundles \
    before it are applied (cti-misp --feed F --state s.json | cti-push --state s.json). \
    Reading standard input, cti-misp passes checkpoints and other records through unchanged.

    A feed or bucket is read once by default. --interval (or CONNECTOR_DURATION_PERIOD, as \
    the official connector's schedule; MISP_FEED_INTERVAL in minutes is still read) runs \
    again that long after each run ends, each run ending with a checkpoint, until SIGTERM \
    (at once between runs): cti-misp --feed F --interval PT5M --state s.json | cti-push \
    --state s.json keeps a feed in sync. CONNECTOR_RUN_AND_TERMINATE=true runs once.

    \(ExitStatus.helpSection)
    """
}
