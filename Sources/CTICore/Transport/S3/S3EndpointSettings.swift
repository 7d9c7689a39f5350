/// The settings that say where an S3 service is and how to sign for it. Each tool reads them
/// under its official connector's names: `diodeImport` and `diodeExport` as pycti and the
/// diode-import connector, `misp` as the misp-feed connector (boto3's AWS_* names).
package struct S3Keys: Sendable, Equatable {
  package var endpoint: Setting
  package var port: Setting
  package var useSSL: Setting
  package var region: Setting
  package var accessKey: Setting
  package var secretKey: Setting
  package var sessionToken: Setting

  package init(
    endpoint: Setting, port: Setting = Setting(), useSSL: Setting = Setting(), region: Setting, accessKey: Setting,
    secretKey: Setting, sessionToken: Setting = Setting(env: "AWS_SESSION_TOKEN", secret: true)
  ) {
    self.endpoint = endpoint
    self.port = port
    self.useSSL = useSSL
    self.region = region
    self.accessKey = accessKey
    self.secretKey = secretKey
    self.sessionToken = sessionToken
  }

  /// pycti's `S3_*` names (config.yml `s3.*`), after the importer's own `DIODE_IMPORT_S3_*`
  /// (config.yml `diode_import.s3_*`) when `importer`, then boto3's AWS_* names.
  static func pycti(importer: Bool) -> S3Keys {
    func setting(_ suffix: String, aws: [String] = [], secret: Bool = false) -> Setting {
      var result = Setting(key: (importer ? "diode_import.s3_" : "s3.") + suffix.lowercased(), secret: secret)
      result.environment = (importer ? ["DIODE_IMPORT_S3_" + suffix] : []) + ["S3_" + suffix] + aws
      return result
    }
    return S3Keys(
      endpoint: setting("ENDPOINT", aws: ["AWS_ENDPOINT_URL"]), port: setting("PORT"), useSSL: setting("USE_SSL"),
      region: setting("BUCKET_REGION", aws: ["AWS_REGION", "AWS_DEFAULT_REGION"]),
      accessKey: setting("ACCESS_KEY", aws: ["AWS_ACCESS_KEY_ID"]),
      secretKey: setting("SECRET_KEY", aws: ["AWS_SECRET_ACCESS_KEY"], secret: true))
  }

  package static let diodeImport = S3Keys.pycti(importer: true)
  package static let diodeExport = S3Keys.pycti(importer: false)
}

/// S3 connection settings given on the command line (nil: not given).
package struct S3Flags: Sendable, Equatable {
  package var endpoint: String?
  package var port: Int?
  package var region: String?
  package var useSSL: Bool?

  package init(endpoint: String? = nil, port: Int? = nil, region: String? = nil, useSSL: Bool? = nil) {
    self.endpoint = endpoint
    self.port = port
    self.region = region
    self.useSSL = useSSL
  }
}

extension S3Endpoint {
  /// The one S3 endpoint resolution. The endpoint is `host[:port]` or `http[s]://host[:port]`;
  /// https is the `--[no-]s3-ssl` flag, else the URL's scheme, else the use-SSL setting, else on;
  /// the port is `--s3-port` or the port setting, else the one in the endpoint. Access and
  /// secret keys come from the environment or config.yml only, never from flags.
  package init(keys: S3Keys, flags: S3Flags, configuration: Configuration) throws(ConfigError) {
    guard let text = configuration.string(keys.endpoint, flag: flags.endpoint), !text.trimmingSpaces.isEmpty else {
      throw ConfigError(
        "S3 needs an endpoint: give --s3-endpoint, or set \(keys.endpoint.environment.joined(separator: " or ")) (host[:port] or http[s]://host[:port])"
      )
    }
    let address = ServerAddress(parsing: text)
    let ssl: Bool
    if let flag = flags.useSSL {
      ssl = flag
    } else if let secure = address.secure {
      ssl = secure
    } else {
      ssl = try configuration.bool(keys.useSSL, default: true)
    }
    let port = try configuration.int(keys.port, flag: flags.port, default: 0)
    guard let access = configuration.string(keys.accessKey), let secret = configuration.string(keys.secretKey) else {
      throw ConfigError(
        "S3 needs an access key and a secret key: set \(keys.accessKey.environment.joined(separator: " or ")) and \(keys.secretKey.environment.joined(separator: " or "))"
      )
    }
    self.init(
      host: address.host, port: port > 0 ? port : address.port, useSSL: ssl,
      region: configuration.string(keys.region, flag: flags.region, default: "us-east-1"), accessKey: access,
      secretKey: secret, sessionToken: configuration.string(keys.sessionToken),
      caBundle: try TLSKeys.caBundle(configuration))
  }
}
