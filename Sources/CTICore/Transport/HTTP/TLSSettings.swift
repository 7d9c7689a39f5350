/// The toolkit-wide TLS settings: one CA bundle for every HTTPS connection a tool makes.
package enum TLSKeys {
  package static let caBundle = Setting(env: "CTI_CA_BUNDLE", key: "cti.ca_bundle")

  /// The CA bundle: `flag`, else CTI_CA_BUNDLE; nil: the system's. It must exist.
  package static func caBundle(_ configuration: Configuration, flag: String? = nil) throws(ConfigError) -> String? {
    let bundle = configuration.string(caBundle, flag: flag)
    if let bundle, !FileSystem.exists(bundle) {
      throw ConfigError("CA bundle \(bundle) does not exist", fromCommandLine: flag != nil)
    }
    return bundle
  }
}

/// What the command line said about TLS (`--insecure`, `--ca-bundle`; nil: not given).
package struct TLSFlags: Sendable, Equatable {
  /// false: `--insecure`; true: verification asked for explicitly (cti-misp's older
  /// `--ssl-verify`, for its feed only); nil: the tool's verification setting decides.
  package var verify: Bool?
  package var caBundle: String?

  package init(verify: Bool? = nil, caBundle: String? = nil) {
    self.verify = verify
    self.caBundle = caBundle
  }
}

extension HTTPClientSettings {
  /// Sets certificate verification and the CA bundle. Verification: the flag, else `verify`
  /// (OPENCTI_SSL_VERIFY for the platform, MISP_FEED_SSL_VERIFY for a feed; only an explicit
  /// false turns it off), else on. CA bundle: `--ca-bundle`, else CTI_CA_BUNDLE; it must exist.
  package mutating func applyTLS(_ flags: TLSFlags, verify setting: Setting, _ configuration: Configuration)
    throws(ConfigError)
  {
    insecure = !(try configuration.bool(setting, flag: flags.verify, default: true))
    caBundle = try TLSKeys.caBundle(configuration, flag: flags.caBundle)
  }
}
