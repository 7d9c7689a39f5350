import CRabbitMQ
package import CTICore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A real RabbitMQ broker for tests: Debian's rabbitmq-server (scripts/install-deps installs it)
/// on a free loopback port, with its own node name and its own mnesia, log, feature-flags,
/// enabled-plugins and config files in a temporary folder. As root the folder belongs to the
/// `rabbitmq` user and the broker runs as that user, as the Debian wrapper does; otherwise it
/// runs as the current user. One broker per test process, started on first use (about 5 s)
/// and stopped when the process exits; a watchdog stops it too if the process dies.
///
/// Tests that stop, kill or restart it must not run beside other tests that use it (keep them
/// in one `.serialized` suite).
package final class RabbitMQ: @unchecked Sendable {
  package struct Failure: Error, CustomStringConvertible {
    package var description: String
  }

  package static let serverScript = "/usr/lib/rabbitmq/bin/rabbitmq-server"

  package let port: Int
  /// The AMQPS listener, with a self-signed certificate for `localhost` (`certificatePath`).
  package let tlsPort: Int
  package let certificatePath: String
  package let nodeName: String
  package let directory: String
  package let user = "guest"
  package let password = "guest"
  private var watchdog: pid_t?
  private let lock = NSLock()

  /// The shared broker (started once).
  package static func shared() throws -> RabbitMQ {
    try startLock.withLock {
      if let started { return started }
      let broker = try RabbitMQ()
      started = broker
      atexit { RabbitMQ.stopShared() }
      return broker
    }
  }

  nonisolated(unsafe) private static var started: RabbitMQ?
  private static let startLock = NSLock()

  private static func stopShared() {
    guard let broker = started else { return }
    broker.stop()
    try? FileManager.default.removeItem(atPath: broker.directory)
  }

  /// A loopback port nothing listens on (yet).
  package static func unusedPort() throws -> Int { try MotoS3.freePort() }

  /// Whether rabbitmq-server is installed here.
  package static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: serverScript) }

  package var endpoint: AMQPEndpoint { AMQPEndpoint(host: "127.0.0.1", port: port, vhost: "/", user: user, password: password) }

  /// The TLS listener as `localhost` (the certificate's name), with `tls` settings.
  package func tlsEndpoint(_ tls: AMQPTLS) -> AMQPEndpoint {
    AMQPEndpoint(host: "localhost", port: tlsPort, vhost: "/", user: user, password: password, tls: tls)
  }

  private var runsAsRabbitMQUser: Bool { getuid() == 0 }

  private init() throws {
    guard Self.isInstalled else {
      throw Failure(description: "rabbitmq-server is not installed (scripts/install-deps installs Debian's rabbitmq-server)")
    }
    port = try MotoS3.freePort()
    nodeName = "cti-test-\(getpid())-\(port)@localhost"
    var template = Array("/tmp/cti-rabbitmq-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw Failure(description: "cannot create a folder for the broker")
    }
    directory = String(cString: made)
    chmod(directory, 0o755)
    for folder in ["mnesia", "log", "plugins-expand"] {
      try FileManager.default.createDirectory(atPath: "\(directory)/\(folder)", withIntermediateDirectories: true)
    }
    tlsPort = try MotoS3.freePort()
    certificatePath = "\(directory)/certificate.pem"
    try Self.makeCertificate(certificate: certificatePath, key: "\(directory)/key.pem")
    // No plugins (a faster start), a small disk limit so a full /tmp does not block tests, a
    // modest memory limit on a shared machine, and a TLS listener beside the plain one.
    try Data("[].\n".utf8).write(to: URL(fileURLWithPath: "\(directory)/enabled_plugins"))
    let config = """
      disk_free_limit.absolute = 10MB
      vm_memory_high_watermark.absolute = 1GB
      listeners.ssl.1 = 127.0.0.1:\(tlsPort)
      ssl_options.cacertfile = \(certificatePath)
      ssl_options.certfile = \(certificatePath)
      ssl_options.keyfile = \(directory)/key.pem
      ssl_options.verify = verify_none
      ssl_options.fail_if_no_peer_cert = false

      """
    try Data(config.utf8).write(to: URL(fileURLWithPath: "\(directory)/rabbitmq.conf"))
    try Data().write(to: URL(fileURLWithPath: "\(directory)/rabbitmq-env.conf"))
    if runsAsRabbitMQUser {
      guard let account = getpwnam("rabbitmq") else { throw Failure(description: "there is no rabbitmq user (is rabbitmq-server installed?)") }
      try chownTree(directory, uid: account.pointee.pw_uid, gid: account.pointee.pw_gid)
    }
    try start()
  }

  /// A self-signed certificate for `localhost`, with openssl's command line.
  private static func makeCertificate(certificate: String, key: String) throws {
    let pid = try spawn(
      [
        "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", certificate,
      ], environment: ["PATH": "/usr/bin:/bin"], log: "/dev/null")
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    guard status == 0, FileManager.default.fileExists(atPath: certificate) else {
      throw Failure(description: "openssl could not make a certificate for the broker")
    }
  }

  private func chownTree(_ path: String, uid: uid_t, gid: gid_t) throws {
    guard chown(path, uid, gid) == 0 else { throw Failure(description: "cannot give \(path) to the rabbitmq user") }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
      for entry in try FileManager.default.contentsOfDirectory(atPath: path) {
        try chownTree("\(path)/\(entry)", uid: uid, gid: gid)
      }
    }
  }

  /// The RABBITMQ_* variables rabbitmq-env and the broker read (see rabbitmq-env and
  /// rabbitmq-defaults in /usr/lib/rabbitmq/bin): everything points into `directory`.
  private var environment: [String: String] {
    [
      "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME": directory,
      "LANG": "C.UTF-8",
      "RABBITMQ_NODENAME": nodeName,
      "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
      "RABBITMQ_NODE_PORT": String(port),
      "RABBITMQ_DIST_PORT": String(distributionPort),
      "RABBITMQ_MNESIA_BASE": "\(directory)/mnesia",
      "RABBITMQ_LOG_BASE": "\(directory)/log",
      "RABBITMQ_CONFIG_FILE": "\(directory)/rabbitmq.conf",
      "RABBITMQ_CONF_ENV_FILE": "\(directory)/rabbitmq-env.conf",
      "RABBITMQ_ENABLED_PLUGINS_FILE": "\(directory)/enabled_plugins",
      "RABBITMQ_FEATURE_FLAGS_FILE": "\(directory)/feature_flags",
      "RABBITMQ_PLUGINS_EXPAND_DIR": "\(directory)/plugins-expand",
      "RABBITMQ_PID_FILE": "\(directory)/pid",
    ]
  }

  /// Erlang's distribution port (the broker listens there too); chosen once, reused on restarts.
  private lazy var distributionPort: Int = (try? MotoS3.freePort()) ?? (port + 1)

  /// Starts the broker (again, after `stop` or `kill`) and waits until it accepts logins.
  package func start() throws {
    try lock.withLock {
      guard watchdog == nil else { return }
      // The watchdog runs the broker and stops it when this process is gone, or on SIGTERM.
      let server = runsAsRabbitMQUser
        ? "setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \(Self.serverScript)" : Self.serverScript
      let script = """
        cd "$2" || exit 1
        parent=$1
        \(server) &
        child=$!
        trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM
        while kill -0 $child 2>/dev/null; do
          [ -d /proc/$parent ] || { kill -TERM $child; wait $child; exit 0; }
          sleep 0.2
        done
        wait $child
        """
      watchdog = try Self.spawn(
        ["/bin/sh", "-c", script, "watchdog", String(getpid()), directory], environment: environment,
        log: "\(directory)/log/console.log")
    }
    try waitUntilReady()
  }

  /// posix_spawn with an empty signal mask and default handlers: Foundation's Process passes on
  /// the test thread's blocked signals, and a shell that cannot receive SIGCHLD waits for ever.
  private static func spawn(_ arguments: [String], environment: [String: String], log: String) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
    guard status == 0 else { throw Failure(description: "cannot start \(arguments[0]): \(String(cString: strerror(status)))") }
    return pid
  }

  /// Whether the watchdog still runs (reaps it when it has exited).
  private func watchdogRuns() -> Bool {
    lock.withLock {
      guard let pid = watchdog else { return false }
      var status: Int32 = 0
      if waitpid(pid, &status, WNOHANG) == pid {
        watchdog = nil
        return false
      }
      return true
    }
  }

  private func waitUntilReady() throws {
    let deadline = MonotonicClock.now() + 60
    var last = "no answer"
    while MonotonicClock.now() < deadline {
      if !watchdogRuns() {
        throw Failure(description: "rabbitmq-server exited at start: see \(directory)/log")
      }
      if MotoS3.canConnect(port) {
        do {
          let connection = try AMQPConnection(endpoint: endpoint, connectTimeout: 2)
          connection.close()
          return
        } catch {
          last = "\(error)"
        }
      }
      usleep(100_000)
    }
    throw Failure(description: "rabbitmq-server did not accept logins within 60 s (\(last)); see \(directory)/log")
  }

  /// Stops the broker politely (it saves its queues) and waits until it has exited.
  package func stop() {
    guard let pid = takeWatchdog() else { return }
    Glibc.kill(pid, SIGTERM)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
  }

  /// Kills the broker's Erlang VM at once (SIGKILL), as a crash would, and waits for the
  /// watchdog to notice.
  package func kill() throws {
    guard let text = try? String(contentsOfFile: "\(directory)/pid", encoding: .utf8),
      let vm = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    else { throw Failure(description: "no pid file for the broker") }
    Glibc.kill(vm, SIGKILL)
    guard let pid = takeWatchdog() else { return }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
  }

  private func takeWatchdog() -> pid_t? {
    lock.withLock {
      defer { watchdog = nil }
      return watchdog
    }
  }

  /// Stops and starts the broker (same port, node and mnesia: durable queues survive).
  package func restart() throws {
    stop()
    try start()
  }
}

// MARK: What the platform declares, and reading queues back

/// A message read back from a queue.
package struct QueuedMessage: Sendable {
  package var body: [UInt8]
  package var deliveryMode: UInt8?
  package var contentEncoding: String?
  package var contentType: String?
  package var exchange: String
  package var routingKey: String
}

extension RabbitMQ {
  /// The exchanges and queues OpenCTI's registerConnector declares for a connector
  /// (`registerConnectorQueues` in the platform's rabbitmq.js): two durable direct exchanges,
  /// `amqp.worker.exchange` and `amqp.connector.exchange`, and the durable queues
  /// `push_<id>` and `listen_<id>` bound with `push_routing_<id>` and `listen_routing_<id>`.
  package func declareConnectorQueues(connectorId: String) throws {
    try withConnection { connection in
      for exchange in ["amqp.worker.exchange", "amqp.connector.exchange"] {
        withBytes(exchange) { name in
          withBytes("direct") { type in
            _ = amqp_exchange_declare(connection.state, connection.channel, name, type, 0, 1, 0, 0, amqp_empty_table)
          }
        }
        try connection.check(amqp_get_rpc_reply(connection.state), during: "exchange.declare", refusedMeansAccess: false)
      }
      for (queue, routing, exchange) in [
        ("push_\(connectorId)", "push_routing_\(connectorId)", "amqp.worker.exchange"),
        ("listen_\(connectorId)", "listen_routing_\(connectorId)", "amqp.connector.exchange"),
      ] {
        withBytes(queue) { name in
          _ = amqp_queue_declare(connection.state, connection.channel, name, 0, 1, 0, 0, amqp_empty_table)
        }
        try connection.check(amqp_get_rpc_reply(connection.state), during: "queue.declare", refusedMeansAccess: false)
        try bind(queue, to: exchange, routingKey: routing, on: connection)
      }
    }
  }

  /// A durable queue bound to `exchange` with `routingKey` that holds at most `maxLength`
  /// messages and refuses (nacks) publishes beyond that (`x-overflow: reject-publish`): a way
  /// to make the broker say no.
  package func declareBoundedQueue(_ queue: String, exchange: String, routingKey: String, maxLength: Int) throws {
    try withConnection { connection in
      withBytes("x-max-length") { lengthKey in
        withBytes("x-overflow") { overflowKey in
          withBytes("reject-publish") { overflow in
            var length = amqp_field_value_t()
            length.kind = UInt8(ascii: "I")
            length.value.i32 = Int32(maxLength)
            var policy = amqp_field_value_t()
            policy.kind = UInt8(ascii: "S")
            policy.value.bytes = overflow
            var entries = [amqp_table_entry_t(key: lengthKey, value: length), amqp_table_entry_t(key: overflowKey, value: policy)]
            entries.withUnsafeMutableBufferPointer { buffer in
              let arguments = amqp_table_t(num_entries: Int32(buffer.count), entries: buffer.baseAddress)
              withBytes(queue) { name in
                _ = amqp_queue_declare(connection.state, connection.channel, name, 0, 1, 0, 0, arguments)
              }
            }
          }
        }
      }
      try connection.check(amqp_get_rpc_reply(connection.state), during: "queue.declare", refusedMeansAccess: false)
      try bind(queue, to: exchange, routingKey: routingKey, on: connection)
    }
  }

  private func bind(_ queue: String, to exchange: String, routingKey: String, on connection: AMQPConnection) throws {
    withBytes(queue) { name in
      withBytes(exchange) { exchangeName in
        withBytes(routingKey) { key in
          _ = amqp_queue_bind(connection.state, connection.channel, name, exchangeName, key, amqp_empty_table)
        }
      }
    }
    try connection.check(amqp_get_rpc_reply(connection.state), during: "queue.bind", refusedMeansAccess: false)
  }

  /// How many messages wait in `queue`.
  package func messageCount(_ queue: String) throws -> Int {
    try withConnection { connection in
      let answer = withBytes(queue) { name in
        amqp_queue_declare(connection.state, connection.channel, name, 1, 0, 0, 0, amqp_empty_table)
      }
      try connection.check(amqp_get_rpc_reply(connection.state), during: "queue.declare passive", refusedMeansAccess: false)
      return Int(answer?.pointee.message_count ?? 0)
    }
  }

  /// Takes every message out of `queue` (basic.get with automatic acknowledgement).
  package func drain(_ queue: String) throws -> [QueuedMessage] {
    try withConnection { connection in
      var messages: [QueuedMessage] = []
      while true {
        let reply = withBytes(queue) { name in amqp_basic_get(connection.state, connection.channel, name, 1) }
        try connection.check(reply, during: "basic.get", refusedMeansAccess: false)
        guard reply.reply.id == CTI_AMQP_BASIC_GET_OK_METHOD else { return messages }
        let getOk = reply.reply.decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
        var message = amqp_message_t()
        try connection.check(amqp_read_message(connection.state, connection.channel, &message, 0), during: "reading a message", refusedMeansAccess: false)
        defer { amqp_destroy_message(&message) }
        let properties = message.properties
        messages.append(
          QueuedMessage(
            body: message.body.len > 0 ? Array(UnsafeRawBufferPointer(start: message.body.bytes, count: message.body.len)) : [],
            deliveryMode: properties._flags & CTI_AMQP_BASIC_DELIVERY_MODE_FLAG != 0 ? properties.delivery_mode : nil,
            contentEncoding: properties._flags & CTI_AMQP_BASIC_CONTENT_ENCODING_FLAG != 0 ? Self.text(properties.content_encoding) : nil,
            contentType: properties._flags & CTI_AMQP_BASIC_CONTENT_TYPE_FLAG != 0 ? Self.text(properties.content_type) : nil,
            exchange: Self.text(getOk.exchange), routingKey: Self.text(getOk.routing_key)))
        connection.releaseBuffers()
      }
    }
  }

  private static func text(_ bytes: amqp_bytes_t) -> String {
    guard let start = bytes.bytes, bytes.len > 0 else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: start, count: bytes.len), as: UTF8.self)
  }

  private func withConnection<Result>(_ body: (AMQPConnection) throws -> Result) throws -> Result {
    let connection = try AMQPConnection(endpoint: endpoint)
    defer { connection.close() }
    return try body(connection)
  }
}
