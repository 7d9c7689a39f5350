import Testing
@testable import CTICore

@Suite struct AMQPSettingsTests {
  let platform = ConnectorQueueConfig(
    host: "rabbitmq", port: 5672, vhost: "/", useSSL: false, user: "opencti", password: "secret",
    pushExchange: "amqp.worker.exchange", pushRouting: "push_routing_c1")

  @Test func thePlatformsConnectionStandsWithoutOverrides() throws {
    let settings = try AMQPSettings.resolve(Configuration(environment: [:]))
    #expect(settings == AMQPSettings())
    #expect(try settings.endpoint(for: platform) == AMQPEndpoint(host: "rabbitmq", port: 5672, vhost: "/", user: "opencti", password: "secret"))
  }

  @Test func mqVariablesOverrideThePlatform() throws {
    let environment = [
      "MQ_HOST": "127.0.0.1", "MQ_PORT": "5671", "MQ_VHOST": "octi", "MQ_USE_SSL": "true", "MQ_USER": "me", "MQ_PASS": "pw",
      "MQ_USE_SSL_CA": "/etc/ca.pem", "MQ_USE_SSL_CERT": "/etc/c.pem", "MQ_USE_SSL_KEY": "/etc/k.pem",
      "MQ_USE_SSL_PASSPHRASE": "pp", "MQ_USE_SSL_REJECT_UNAUTHORIZED": "true",
    ]
    let endpoint = try AMQPSettings.resolve(Configuration(environment: environment)).endpoint(for: platform)
    #expect(
      endpoint
        == AMQPEndpoint(
          host: "127.0.0.1", port: 5671, vhost: "octi", user: "me", password: "pw",
          tls: AMQPTLS(caCertificate: "/etc/ca.pem", certificate: "/etc/c.pem", key: "/etc/k.pem", passphrase: "pp", verifyPeer: true)))
    #expect(endpoint.description == "amqps://me@127.0.0.1:5671/octi")
  }

  @Test func configFileKeysAreMqDotted() throws {
    let configuration = Configuration(environment: ["MQ_PORT": "6000"], file: ["mq.host": "broker", "mq.port": "5000", "mq.use_ssl": "false"])
    let endpoint = try AMQPSettings.resolve(configuration).endpoint(for: ConnectorQueueConfig(host: "rabbitmq", port: 5672, useSSL: true, user: "u"))
    // Environment before config.yml, as everywhere.
    #expect(endpoint.host == "broker" && endpoint.port == 6000 && endpoint.tls == nil)
  }

  @Test func tlsFollowsUseSSLAndPyctiDoesNotVerifyByDefault() throws {
    let endpoint = try AMQPSettings.resolve(Configuration(environment: [:])).endpoint(for: ConnectorQueueConfig(host: "h", port: 5671, useSSL: true, user: "u"))
    #expect(endpoint.tls == AMQPTLS(verifyPeer: false))
    #expect(endpoint.description.hasPrefix("amqps://"))
  }

  @Test func badOrMissingValuesAreConfigErrors() throws {
    #expect(throws: ConfigError.self) { try AMQPSettings.resolve(Configuration(environment: ["MQ_PORT": "x"])) }
    #expect(throws: ConfigError.self) { try AMQPSettings.resolve(Configuration(environment: ["MQ_USE_SSL": "maybe"])) }
    #expect(throws: ConfigError.self) { try AMQPSettings().endpoint(for: nil) }
    #expect(throws: ConfigError.self) { try AMQPSettings(host: "h").endpoint(for: nil) }
    #expect(throws: ConfigError.self) { try AMQPSettings(host: "h", port: 1).endpoint(for: nil) }
    #expect(try AMQPSettings(host: "h", port: 1, user: "u").endpoint(for: nil).password == "")
  }

  @Test func queueProtocolIsApiByDefaultAndReadsPyctisNames() throws {
    var warnings: [String] = []
    #expect(try QueueProtocol.resolve(Configuration(environment: [:]), flag: nil, warnings: &warnings) == .api)
    #expect(try QueueProtocol.resolve(Configuration(environment: ["CONNECTOR_QUEUE_PROTOCOL": "AMQP"]), flag: nil, warnings: &warnings) == .amqp)
    #expect(try QueueProtocol.resolve(Configuration(environment: [:], file: ["connector.queue_protocol": "amqp"]), flag: nil, warnings: &warnings) == .amqp)
    #expect(try QueueProtocol.resolve(Configuration(environment: ["CONNECTOR_QUEUE_PROTOCOL": "amqp"]), flag: "api", warnings: &warnings) == .api)
    #expect(warnings.isEmpty)
    #expect(try QueueProtocol.resolve(Configuration(environment: ["QUEUE_PROTOCOL": "amqp"]), flag: nil, warnings: &warnings) == .amqp)
    #expect(warnings == ["QUEUE_PROTOCOL is deprecated, please use CONNECTOR_QUEUE_PROTOCOL instead"])
    #expect(throws: ConfigError.self) {
      var ignored: [String] = []
      _ = try QueueProtocol.resolve(Configuration(environment: ["CONNECTOR_QUEUE_PROTOCOL": "kafka"]), flag: nil, warnings: &ignored)
    }
  }

  @Test func registrationAnswerCarriesTheQueueConfig() throws {
    let answer = try GraphQLResponse.registeredConnector(
      Array(
        #"{"data":{"registerConnector":{"id":"c1","connector_state":null,"connector_user_id":"u1","config":{"connection":{"host":"rabbitmq","vhost":"/","use_ssl":false,"port":5672,"user":"opencti","pass":"secret"},"listen":"listen_c1","listen_routing":"listen_routing_c1","listen_exchange":"amqp.connector.exchange","push":"push_c1","push_routing":"push_routing_c1","push_exchange":"amqp.worker.exchange"}}}}"#
          .utf8))
    #expect(answer.config == ConnectorQueueConfig(
      host: "rabbitmq", port: 5672, vhost: "/", useSSL: false, user: "opencti", password: "secret",
      pushExchange: "amqp.worker.exchange", pushRouting: "push_routing_c1", push: "push_c1", listen: "listen_c1",
      listenRouting: "listen_routing_c1", listenExchange: "amqp.connector.exchange"))
    #expect(GraphQLOperation.registerConnector.document.contains("config { connection { host vhost use_ssl port user pass } listen listen_routing listen_exchange push push_routing push_exchange }"))
  }

  @Test func brokerErrorsMapToExitCodes() {
    #expect(OpenCTIError.broker(.unreachable("x")).exitStatus == .unavailable)
    #expect(OpenCTIError.broker(.accessRefused("x")).exitStatus == .noPermission)
    #expect(OpenCTIError.broker(.settings("x")).exitStatus == .config)
    #expect(OpenCTIError.broker(.unreachable("x")).isPlatformFailure)
    #expect(!OpenCTIError.broker(.unreachable("x")).isOutage)
    #expect(!OpenCTIError.unsplittable("x").isPlatformFailure)
  }
}
