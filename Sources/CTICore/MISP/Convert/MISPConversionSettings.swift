/// How MISP events become STIX: the official `misp-feed` connector's options (reference §3.1,
/// same names and defaults) plus the compatibility switch.
package struct MISPConversionSettings: Sendable, Equatable {
  /// Which behaviour to follow where the official connector loses data or writes invalid STIX.
  package enum Compatibility: String, Sendable, CaseIterable {
    /// Correct output (the default): every part of composite values, object references as
    /// relationships, valid STIX, deterministic timestamps (`MISPQuirks.none`).
    case fixed
    /// The official connector's output, quirks included, for identical ids when migrating
    /// (`MISPQuirks.official`).
    case official
  }

  package var compatibility: Compatibility = .fixed
  package var createReports = true
  package var reportType = "misp-event"
  package var createIndicators = false
  package var createObservables = false
  package var createObjectObservables = false
  package var createTagsAsLabels = true
  package var guessThreatsFromTags = false
  package var authorFromTags = false
  package var markingsFromTags = false
  /// The score of attributes whose `to_ids` is false, when set.
  package var importToIdsNoScore: Int?
  package var importUnsupportedObservablesAsText = false
  package var importUnsupportedObservablesAsTextTransparent = true
  package var importWithAttachments = false

  package init() {}

  /// The official connector's quirks this conversion reproduces: all of them or none.
  var quirks: MISPQuirks { compatibility == .official ? .official : .none }
}
