import ArgumentParser

/// Where an OpenCTI platform is and how to reach it, with pycti's environment names.
public enum OpenCTIKeys {
  public static let url = Setting(env: "OPENCTI_URL", key: "opencti.url")
  public static let token = Setting(env: "OPENCTI_TOKEN", key: "opencti.token", secret: true)
  /// pycti's switch; only an explicit false turns verification off here (the default is on).
  public static let sslVerify = Setting(env: "OPENCTI_SSL_VERIFY", key: "opencti.ssl_verify")
  public static let caBundle = Setting(env: "CTI_CA_BUNDLE", key: "cti.ca_bundle")
  /// The largest GraphQL answer accepted (`HTTPClientSettings.maxGraphQLResponseBytes`).
  public static let maxGraphQLResponseBytes = Setting(
    env: "CTI_MAX_GRAPHQL_RESPONSE_BYTES", key: "cti.max_graphql_response_bytes")
}

/// The options every tool that talks to OpenCTI shares: URL, token and TLS.
public struct OpenCTIOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("OpenCTI base URL (env OPENCTI_URL, config opencti.url).", valueName: "url"))
  public var url: String?

  @Option(name: .long, help: ArgumentHelp("API token, sent as a Bearer token and never logged (env OPENCTI_TOKEN, config opencti.token).", valueName: "token"))
  public var token: String?

  @Flag(name: .long, help: "Do not verify the server's TLS certificate (also OPENCTI_SSL_VERIFY=false).")
  public var insecure = false

  @Option(name: .long, help: ArgumentHelp("PEM file of CA certificates to trust (env CTI_CA_BUNDLE).", valueName: "file"))
  public var caBundle: String?

  public init() {}

  /// The base URL without a trailing slash; an error when none is set.
  public func baseURL(_ configuration: Configuration) throws(ConfigError) -> String {
    guard var url = configuration.string(OpenCTIKeys.url, flag: url), !url.isEmpty else {
      throw ConfigError("no OpenCTI URL: give --url, or set OPENCTI_URL or opencti.url in config.yml")
    }
    while url.hasSuffix("/") { url.removeLast() }
    return url
  }

  public func token(_ configuration: Configuration) -> String? {
    configuration.string(OpenCTIKeys.token, flag: token)
  }

  /// HTTP client options with this TLS setup.
  public func httpOptions(_ configuration: Configuration) throws(ConfigError) -> HTTPClientSettings {
    var options = HTTPClientSettings()
    let verify = try configuration.bool(OpenCTIKeys.sslVerify, default: true)
    options.insecure = insecure || !verify
    options.caBundle = configuration.string(OpenCTIKeys.caBundle, flag: caBundle)
    if let bundle = options.caBundle, !FileSystem.exists(bundle) {
      throw ConfigError("CA bundle \(bundle) does not exist")
    }
    options.maxGraphQLResponseBytes = try configuration.byteCount(
      OpenCTIKeys.maxGraphQLResponseBytes, default: HTTPClientSettings.defaultMaxGraphQLResponseBytes)
    return options
  }
}
