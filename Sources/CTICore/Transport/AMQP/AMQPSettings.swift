/// How records reach the platform: `stixBundlePush` over HTTPS (`api`, our default: it needs no
/// broker access) or straight into the platform's RabbitMQ (`amqp`, pycti's default, for volume).
package enum QueueProtocol: String, Sendable, CaseIterable {
  case api
  case amqp

  /// `--queue-protocol`, CONNECTOR_QUEUE_PROTOCOL or `connector.queue_protocol`; the older
  /// QUEUE_PROTOCOL is still read, with a deprecation warning, as pycti does.
  package static func resolve(_ configuration: Configuration, flag: String?, warnings: inout [String]) throws(ConfigError)
    -> QueueProtocol
  {
    var source = configuration.lookup(AMQPKeys.queueProtocol, flag: flag)
    if source == nil, let legacy = configuration.lookup(AMQPKeys.legacyQueueProtocol) {
      warnings.append("QUEUE_PROTOCOL is deprecated, please use CONNECTOR_QUEUE_PROTOCOL instead")
      source = legacy
    }
    guard let (text, from) = source else { return .api }
    guard let value = QueueProtocol(rawValue: text.trimmingSpaces.lowercased()) else {
      throw ConfigError("\(from): '\(text)' is not a queue protocol (api or amqp)")
    }
    return value
  }
}

/// pycti's names for the broker settings (`opencti_connector_helper.py`): MQ_* in the
/// environment, `mq.*` in config.yml.
package enum AMQPKeys {
  package static let queueProtocol = Setting(env: "CONNECTOR_QUEUE_PROTOCOL", key: "connector.queue_protocol")
  package static let legacyQueueProtocol = Setting(env: "QUEUE_PROTOCOL")
  package static let host = Setting(env: "MQ_HOST", key: "mq.host")
  package static let port = Setting(env: "MQ_PORT", key: "mq.port")
  package static let vhost = Setting(env: "MQ_VHOST", key: "mq.vhost")
  package static let useSSL = Setting(env: "MQ_USE_SSL", key: "mq.use_ssl")
  package static let user = Setting(env: "MQ_USER", key: "mq.user")
  package static let password = Setting(env: "MQ_PASS", key: "mq.pass", secret: true)
  package static let caCertificate = Setting(env: "MQ_USE_SSL_CA", key: "mq.use_ssl_ca")
  package static let certificate = Setting(env: "MQ_USE_SSL_CERT", key: "mq.use_ssl_cert")
  package static let key = Setting(env: "MQ_USE_SSL_KEY", key: "mq.use_ssl_key", secret: true)
  package static let passphrase = Setting(env: "MQ_USE_SSL_PASSPHRASE", key: "mq.use_ssl_passphrase", secret: true)
  package static let rejectUnauthorized = Setting(env: "MQ_USE_SSL_REJECT_UNAUTHORIZED", key: "mq.use_ssl_reject_unauthorized")
}

/// What registerConnector's `config` says about the connector's queues: the platform's
/// RabbitMQ (`connection`, which carries its credentials) and where to publish.
package struct ConnectorQueueConfig: Sendable, Equatable {
  package var host: String?
  package var port: Int?
  package var vhost: String?
  package var useSSL: Bool?
  package var user: String?
  package var password: String?
  package var pushExchange: String?
  package var pushRouting: String?
  package var push: String?
  package var listen: String?
  package var listenRouting: String?
  package var listenExchange: String?

  package init(
    host: String? = nil, port: Int? = nil, vhost: String? = nil, useSSL: Bool? = nil, user: String? = nil,
    password: String? = nil, pushExchange: String? = nil, pushRouting: String? = nil, push: String? = nil,
    listen: String? = nil, listenRouting: String? = nil, listenExchange: String? = nil
  ) {
    self.host = host
    self.port = port
    self.vhost = vhost
    self.useSSL = useSSL
    self.user = user
    self.password = password
    self.pushExchange = pushExchange
    self.pushRouting = pushRouting
    self.push = push
    self.listen = listen
    self.listenRouting = listenRouting
    self.listenExchange = listenExchange
  }

  /// Reads a `ConnectorConfig` object; nil when there is none.
  package init?(_ config: RawObject?) {
    guard let config else { return nil }
    let connection = config.object("connection")
    host = connection?.string("host")
    port = connection?.value("port").flatMap { $0.intValue ?? $0.stringValue.flatMap { Int($0) } }
    vhost = connection?.string("vhost")
    useSSL = connection?.value("use_ssl")?.boolValue
    user = connection?.string("user")
    password = connection?.string("pass")
    pushExchange = config.string("push_exchange")
    pushRouting = config.string("push_routing")
    push = config.string("push")
    listen = config.string("listen")
    listenRouting = config.string("listen_routing")
    listenExchange = config.string("listen_exchange")
  }
}

/// The broker settings of a run, resolved once: the MQ_* overrides (each nil when not given,
/// so the platform's value stands) and pycti's TLS settings. `endpoint(for:)` combines them
/// with a registration's `config.connection`, as pycti's helper does at start-up (the platform
/// reports its internal host name, often `rabbitmq`, hence the overrides).
package struct AMQPSettings: Sendable, Equatable {
  package var host: String?
  package var port: Int?
  package var vhost: String?
  package var useSSL: Bool?
  package var user: String?
  package var password: String?
  /// Used when TLS is on.
  package var tls: AMQPTLS

  package init(
    host: String? = nil, port: Int? = nil, vhost: String? = nil, useSSL: Bool? = nil, user: String? = nil,
    password: String? = nil, tls: AMQPTLS = AMQPTLS()
  ) {
    self.host = host
    self.port = port
    self.vhost = vhost
    self.useSSL = useSSL
    self.user = user
    self.password = password
    self.tls = tls
  }

  package static func resolve(_ configuration: Configuration) throws(ConfigError) -> AMQPSettings {
    var settings = AMQPSettings()
    settings.host = configuration.string(AMQPKeys.host)
    if let (text, source) = configuration.lookup(AMQPKeys.port) {
      guard let port = Int(text.trimmingSpaces), (1...65535).contains(port) else {
        throw ConfigError("\(source): '\(text)' is not a port number")
      }
      settings.port = port
    }
    settings.vhost = configuration.string(AMQPKeys.vhost)
    if configuration.lookup(AMQPKeys.useSSL) != nil {
      settings.useSSL = try configuration.bool(AMQPKeys.useSSL, default: false)
    }
    settings.user = configuration.string(AMQPKeys.user)
    settings.password = configuration.string(AMQPKeys.password)
    settings.tls = AMQPTLS(
      caCertificate: configuration.string(AMQPKeys.caCertificate),
      certificate: configuration.string(AMQPKeys.certificate),
      key: configuration.string(AMQPKeys.key),
      passphrase: configuration.string(AMQPKeys.passphrase),
      verifyPeer: try configuration.bool(AMQPKeys.rejectUnauthorized, default: false))
    return settings
  }

  /// The broker to publish to for a connector: its `config.connection` with the overrides.
  package func endpoint(for config: ConnectorQueueConfig?) throws(ConfigError) -> AMQPEndpoint {
    let platform = config ?? ConnectorQueueConfig()
    guard let host = host ?? platform.host, !host.isEmpty else {
      throw ConfigError("the platform gave no RabbitMQ host for the connector and MQ_HOST is not set")
    }
    guard let port = port ?? platform.port else {
      throw ConfigError("the platform gave no RabbitMQ port for the connector and MQ_PORT is not set")
    }
    guard let user = user ?? platform.user else {
      throw ConfigError("the platform gave no RabbitMQ user for the connector and MQ_USER is not set")
    }
    let secure = useSSL ?? platform.useSSL ?? false
    return AMQPEndpoint(
      host: host, port: port, vhost: vhost ?? platform.vhost ?? "/", user: user, password: password ?? platform.password ?? "",
      tls: secure ? tls : nil)
  }
}
