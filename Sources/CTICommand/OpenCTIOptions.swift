package import ArgumentParser
package import CTICore

/// `--insecure` and `--ca-bundle`: TLS, spelled the same in every tool.
package struct TLSOptions: ParsableArguments {
  @Flag(name: .long, help: "Do not verify TLS certificates (also OPENCTI_SSL_VERIFY=false, and MISP_FEED_SSL_VERIFY=false for a MISP feed).")
  package var insecure = false

  @Option(name: .long, help: ArgumentHelp("PEM file of CA certificates to trust (env CTI_CA_BUNDLE).", valueName: "file"))
  package var caBundle: String?

  package init() {}

  package var flags: TLSFlags { TLSFlags(verify: insecure ? false : nil, caBundle: caBundle) }
}

/// The options every tool that talks to OpenCTI shares: URL, token and TLS.
package struct OpenCTIOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("OpenCTI base URL (env OPENCTI_URL, config opencti.url).", valueName: "url"))
  package var url: String?

  @Option(name: .long, help: ArgumentHelp("API token, sent as a Bearer token and never logged (env OPENCTI_TOKEN, config opencti.token).", valueName: "token"))
  package var token: String?

  @OptionGroup package var tls: TLSOptions

  package init() {}

  package var flags: OpenCTIFlags { OpenCTIFlags(url: url, token: token, tls: tls.flags) }
}

/// Which settings a tool's S3 options stand for: their help texts name them.
package protocol S3SettingNames {
  static var keys: S3Keys { get }
}

/// Where an S3-compatible service is (keys come from the environment or config.yml only). The
/// help texts name the environment variables of the tool's own `S3Keys`.
package struct S3Options<Names: S3SettingNames>: ParsableArguments {
  @Option(name: .customLong("s3-endpoint"), help: ArgumentHelp("S3 host[:port] or http[s]://host[:port]\(environmentNote(Names.keys.endpoint)).", valueName: "host"))
  var endpoint: String?

  @Option(name: .customLong("s3-port"), help: ArgumentHelp("S3 port\(environmentNote(Names.keys.port)).", valueName: "port"))
  var port: Int?

  @Option(name: .customLong("s3-region"), help: ArgumentHelp("SigV4 region\(environmentNote(Names.keys.region, default: "us-east-1")).", valueName: "region"))
  var region: String?

  @Flag(name: .customLong("s3-ssl"), inversion: .prefixedNo, help: ArgumentHelp("Use https\(environmentNote(Names.keys.useSSL, default: "on, or the endpoint URL's scheme"))."))
  var useSSL: Bool?

  package init() {}

  package var flags: S3Flags { S3Flags(endpoint: endpoint, port: port, region: region, useSSL: useSSL) }
}

/// ` (env A, B or C; default d)` for a help text, from the setting itself.
func environmentNote(_ setting: Setting, default fallback: String? = nil) -> String {
  var parts: [String] = []
  let names = setting.environment
  if let last = names.last {
    parts.append("env " + (names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + last : last))
  }
  if let fallback { parts.append("default " + fallback) }
  return parts.isEmpty ? "" : " (" + parts.joined(separator: "; ") + ")"
}

/// The connector a tool registers as or writes into its files, with pycti's CONNECTOR_* names.
package struct ConnectorOptions: ParsableArguments {
  @Option(name: .customLong("connector-id"), help: ArgumentHelp("The connector's UUID, stable between runs (env CONNECTOR_ID).", valueName: "uuid"))
  var id: String?

  @Option(name: .customLong("connector-name"), help: ArgumentHelp("Connector name (env CONNECTOR_NAME).", valueName: "name"))
  var name: String?

  @Option(name: .customLong("connector-type"), help: ArgumentHelp("Connector type (env CONNECTOR_TYPE; default EXTERNAL_IMPORT).", valueName: "type"))
  var type: String?

  @Option(name: .customLong("connector-scope"), help: ArgumentHelp("Connector scope, comma-separated (env CONNECTOR_SCOPE).", valueName: "list"))
  var scope: String?

  package init() {}

  package var flags: ConnectorFlags { ConnectorFlags(id: id, name: name, type: type, scope: scope) }
}
