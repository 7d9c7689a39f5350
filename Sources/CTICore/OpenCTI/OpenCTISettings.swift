/// Where an OpenCTI platform is and how to reach it, with pycti's environment names.
package enum OpenCTIKeys {
  package static let url = Setting(env: "OPENCTI_URL", key: "opencti.url")
  package static let token = Setting(env: "OPENCTI_TOKEN", key: "opencti.token", secret: true)
  /// pycti's switch; only an explicit false turns verification off here (the default is on).
  package static let sslVerify = Setting(env: "OPENCTI_SSL_VERIFY", key: "opencti.ssl_verify")
  /// The largest GraphQL answer accepted (`HTTPClientSettings.maxGraphQLResponseBytes`).
  package static let maxGraphQLResponseBytes = Setting(
    env: "CTI_MAX_GRAPHQL_RESPONSE_BYTES", key: "cti.max_graphql_response_bytes")
}

/// What the command line said about the platform (nil: not given).
package struct OpenCTIFlags: Sendable, Equatable {
  package var url: String?
  package var token: String?
  package var tls: TLSFlags

  package init(url: String? = nil, token: String? = nil, tls: TLSFlags = TLSFlags()) {
    self.url = url
    self.token = token
    self.tls = tls
  }
}

/// A platform to talk to: base URL, token and the HTTP client's TLS and size limits.
package struct OpenCTISettings: Sendable {
  /// The base URL, without a trailing slash.
  package var url: String
  package var token: String?
  package var http: HTTPClientSettings

  /// Resolves the platform; the URL is required, the token is not (a tool that needs one says so).
  package init(flags: OpenCTIFlags, configuration: Configuration) throws(ConfigError) {
    guard let url = Self.url(flags, configuration) else {
      throw ConfigError("no OpenCTI URL: give --url, or set OPENCTI_URL or opencti.url in config.yml")
    }
    self.url = url
    token = configuration.string(OpenCTIKeys.token, flag: flags.token)
    http = try Self.http(flags.tls, configuration)
  }

  /// The URL when one is set (flag, environment, config.yml), without trailing slashes.
  package static func url(_ flags: OpenCTIFlags, _ configuration: Configuration) -> String? {
    guard var url = configuration.string(OpenCTIKeys.url, flag: flags.url)?.trimmingSpaces, !url.isEmpty else {
      return nil
    }
    while url.hasSuffix("/") { url.removeLast() }
    return url
  }

  /// HTTP client settings for the platform: TLS (`--insecure`, OPENCTI_SSL_VERIFY, `--ca-bundle`,
  /// CTI_CA_BUNDLE) and the GraphQL answer limit.
  package static func http(_ tls: TLSFlags, _ configuration: Configuration) throws(ConfigError) -> HTTPClientSettings {
    var http = HTTPClientSettings()
    try http.applyTLS(tls, verify: OpenCTIKeys.sslVerify, configuration)
    http.maxGraphQLResponseBytes = try configuration.byteCount(
      OpenCTIKeys.maxGraphQLResponseBytes, default: HTTPClientSettings.defaultMaxGraphQLResponseBytes)
    return http
  }
}
