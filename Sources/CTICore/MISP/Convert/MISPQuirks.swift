/// Where the official misp-feed connector loses data or writes invalid STIX, one switch per
/// difference: all on with `--compat official` (`.official`, which reproduces the connector's
/// output), all off by default (`.none`). Each is a row of the table "Differences from the
/// official connector" in docs/cti-misp.md, quoted by its first words after `Row:`; a test
/// checks every row is quoted here or listed as not a quirk. Only the two sets are offered:
/// other combinations are not tested.
///
/// The other rows are the same in both modes, or concern the feed run rather than conversion:
/// Not a quirk: "`hostname\|port`" (the host only in both modes; the split is `splitsCompositesOnEveryBar`)
/// Not a quirk: "time zone of the report date"
/// Not a quirk: "a first run without `import_from_date`"
/// Not a quirk: "a failed event download"
/// Not a quirk: "S3 source"
/// Not a quirk: "`guess_threats_from_tags`, an empty tag value"
/// Not a quirk: "a timestamp near the ends of a 64-bit integer" (the official connector crashes; both modes skip the event)
/// Not a quirk: "a manifest entry with an unusable timestamp" (both modes report it and go on)
struct MISPQuirks: Sendable, Equatable {
  // MARK: Attribute values

  /// `filename|md5` and the like give only the file name; a hash that is not one of the
  /// declared type drops the name too.
  /// Row: "composite types"
  var filenameHashGivesNameOnly: Bool
  /// `domain|ip` gives the domain only.
  /// Row: "`domain\|ip`"
  var domainIPGivesDomainOnly: Bool
  /// `ip-src|port` and `ip-dst|port` give the address only, no network-traffic.
  /// Row: "`ip-src\|port`, `ip-dst\|port`"
  var ipPortGivesAddressOnly: Bool
  /// A composite value is split on every `|` and dropped unless that gives two parts; else it
  /// is split on the last `|`.
  /// Row: "composites that do not split in two"
  var splitsCompositesOnEveryBar: Bool
  /// `malware-sample` is an unsupported type (Text with the as-text option).
  /// Row: "`malware-sample`"
  var dropsMalwareSamples: Bool
  /// `windows-scheduled-task` is dropped even with the as-text option.
  /// Row: "`windows-scheduled-task`"
  var dropsScheduledTasks: Bool
  /// Values are used untrimmed, so a padded hash fails its check and padded names stay padded.
  /// Row: "values padded with spaces"
  var keepsPaddedValues: Bool
  /// A hash must be of its attribute's declared type, and a value that is no hash is dropped
  /// (not kept as Text).
  /// Row: "a hash filed under the wrong hash type"
  var trustsHashTypes: Bool
  /// IPv4 or IPv6 is decided by the connector's regular expression; anything failing it is
  /// IPv6, with no refanging and the port kept.
  /// Row: "IPs failing the connector's IPv4 regex"
  var typesIPsByTheConnectorsRegex: Bool
  /// `HKLM\…` stays abbreviated, which STIX does not allow.
  /// Row: "abbreviated registry hives"
  var keepsAbbreviatedHives: Bool
  /// `user-agent` gives an indicator and no observable.
  /// Row: "`user-agent`"
  var userAgentWithoutObservable: Bool
  /// `threat_level_id` is compared as a string: an integer level scores 50.
  /// Row: "integer `threat_level_id`"
  var threatLevelComparedAsText: Bool

  // MARK: Tags

  /// The real galaxy tags `misp-galaxy:ransomware=`, `tool=` and `malpedia=` are not malware
  /// (the connector's list has `misp-` forms that MISP does not use).
  /// Row: "`misp-galaxy:ransomware\|tool\|malpedia=` tags"
  var ignoresGalaxyMalwareTags: Bool
  /// `malware`, `tool` and `intrusion-set` match tags as bare prefixes, so
  /// `malware_classification:…` names a malware; the words that keep tags out of labels
  /// (`marking`, `creator`, `mitre` too) match the same way.
  /// Row: "`malware…`, `tool…`, `intrusion-set…` prefixes"
  var looseThreatTagPrefixes: Bool
  /// Tags are kept out of labels by their exact case (`TLP:AMBER`, `Creator=x` become labels)
  /// and TLP only by the five names the connector lists (`tlp:clear` becomes a label).
  /// Row: "`TLP:AMBER` (upper case)"
  var caseSensitiveLabelFilter: Bool
  /// A platform's answer to a tag lookup gets an id generated from its name, not the
  /// platform's standard id (for attack patterns too, without the MITRE id).
  /// Row: "`guess_threats_from_tags`, other threats found"
  var guessedThreatIDsFromNames: Bool
  /// A guessed attack pattern has no `x_mitre_id`.
  /// Row: "`guess_threats_from_tags`, attack pattern found"
  var guessedAttackPatternsWithoutMitreID: Bool

  // MARK: Objects and references

  /// MISP ObjectReferences give no relationships (they are looked up among ids ending with the
  /// MISP uuid, which deterministic ids never do).
  /// Row: "MISP ObjectReferences"
  var objectReferencesLookedUpBySuffix: Bool
  /// An object observable is written even when an attribute already wrote one with its id.
  /// Row: "object observables with the same id"
  var objectObservablesBesideEqualIDs: Bool
  /// An object observable carries the object's description as `description`, which
  /// observables do not have.
  /// Row: "object observables' description"
  var objectObservableDescriptionAsSTIX: Bool
  /// An object without `description` fails its whole event (a KeyError in the connector).
  /// Row: "object without `description`"
  var failsOnObjectWithoutDescription: Bool
  /// Relationships are told apart by source and target, whatever their type.
  /// Row: "relationships de-duplicated"
  var relationshipsBySourceAndTarget: Bool

  // MARK: Report and notes

  /// A report with nothing to reference points at `placeholderIntrusionSet`.
  /// Row: "event with nothing to reference"
  var placeholderInEmptyReports: Bool
  /// The report's `modified` is the event timestamp even when that is before `created`.
  /// Row: "report `modified`"
  var reportModifiedBeforeCreated: Bool
  /// `to_ids`, event-report names and `link` values are copied whatever their type or form.
  /// Row: "odd field types"
  var copiesOddFieldTypes: Bool
  /// yara and sigma indicators with a comment of 2 characters or fewer have no name.
  /// Row: "yara/sigma with a comment"
  var unnamedShortRules: Bool
  /// Event-report links `@[attribute](uuid)` point at the MISP uuid.
  /// Row: "event-report links"
  var noteLinksToMISPUUIDs: Bool
  /// Deleted and blank event reports become notes.
  /// Row: "deleted or empty event reports"
  var keepsDeletedAndEmptyNotes: Bool

  // MARK: Time and ids

  /// Objects without a time of their own are created and modified at the time of the run.
  /// Row: "`created`/`modified` of author"
  var runClockTimestamps: Bool
  /// Bundle ids are random.
  /// Row: "bundle id"
  var randomBundleIDs: Bool

  /// The connector's hard-coded report `object_refs` entry when there is nothing to reference
  /// (STIX requires at least one); no object in the bundle has this id.
  static let placeholderIntrusionSet = "intrusion-set--fc5ee88d-7987-4c00-991e-a863e9aa8a0e"

  /// Every quirk on: the official connector's output.
  static let official = MISPQuirks(all: true)
  /// Every quirk fixed: cti-misp's default.
  static let none = MISPQuirks(all: false)

  private init(all value: Bool) {
    filenameHashGivesNameOnly = value
    domainIPGivesDomainOnly = value
    ipPortGivesAddressOnly = value
    splitsCompositesOnEveryBar = value
    dropsMalwareSamples = value
    dropsScheduledTasks = value
    keepsPaddedValues = value
    trustsHashTypes = value
    typesIPsByTheConnectorsRegex = value
    keepsAbbreviatedHives = value
    userAgentWithoutObservable = value
    threatLevelComparedAsText = value
    ignoresGalaxyMalwareTags = value
    looseThreatTagPrefixes = value
    caseSensitiveLabelFilter = value
    guessedThreatIDsFromNames = value
    guessedAttackPatternsWithoutMitreID = value
    objectReferencesLookedUpBySuffix = value
    objectObservablesBesideEqualIDs = value
    objectObservableDescriptionAsSTIX = value
    failsOnObjectWithoutDescription = value
    relationshipsBySourceAndTarget = value
    placeholderInEmptyReports = value
    reportModifiedBeforeCreated = value
    copiesOddFieldTypes = value
    unnamedShortRules = value
    noteLinksToMISPUUIDs = value
    keepsDeletedAndEmptyNotes = value
    runClockTimestamps = value
    randomBundleIDs = value
  }
}
