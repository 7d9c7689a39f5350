/// How MISP events become STIX: the official `misp-feed` connector's options (reference §3.1,
/// same names and defaults) plus the compatibility switch.
public struct MISPConversionSettings: Sendable, Equatable {
  /// Which behaviour to follow where the official connector loses data or writes invalid STIX.
  public enum Compatibility: String, Sendable, CaseIterable {
    /// Correct output (the default): every part of composite values, object references as
    /// relationships, valid STIX, deterministic timestamps (`MISPQuirks.none`).
    case fixed
    /// The official connector's output, quirks included, for identical ids when migrating
    /// (`MISPQuirks.official`).
    case official
  }

  public var compatibility: Compatibility = .fixed
  public var createReports = true
  public var reportType = "misp-event"
  public var createIndicators = false
  public var createObservables = false
  public var createObjectObservables = false
  public var createTagsAsLabels = true
  public var guessThreatsFromTags = false
  public var authorFromTags = false
  public var markingsFromTags = false
  /// The score of attributes whose `to_ids` is false, when set.
  public var importToIdsNoScore: Int?
  public var importUnsupportedObservablesAsText = false
  public var importUnsupportedObservablesAsTextTransparent = true
  public var importWithAttachments = false

  public init() {}

  /// The official connector's quirks this conversion reproduces: all of them or none.
  var quirks: MISPQuirks { compatibility == .official ? .official : .none }
}
