// Package-wide: the test suite's RabbitMQ launcher declares queues on this connection's
// channel with rabbitmq-c calls of its own.
package import CRabbitMQ

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where a RabbitMQ broker is and how to log in: what registerConnector's `config.connection`
/// gives, after the MQ_* overrides (`AMQPSettings`).
package struct AMQPEndpoint: Sendable, Hashable, CustomStringConvertible {
  package var host: String
  package var port: Int
  package var vhost: String
  package var user: String
  package var password: String
  /// nil: plain TCP (`use_ssl` false).
  package var tls: AMQPTLS?

  package init(host: String, port: Int, vhost: String = "/", user: String, password: String, tls: AMQPTLS? = nil) {
    self.host = host
    self.port = port
    self.vhost = vhost
    self.user = user
    self.password = password
    self.tls = tls
  }

  /// `amqp://user@host:port/vhost` (`amqps` with TLS), never the password.
  package var description: String {
    "\(tls == nil ? "amqp" : "amqps")://\(user)@\(host):\(port)/\(vhost == "/" ? "" : vhost)"
  }
}

/// TLS for the broker connection, with pycti's settings (MQ_USE_SSL_CA, MQ_USE_SSL_CERT,
/// MQ_USE_SSL_KEY, MQ_USE_SSL_PASSPHRASE, MQ_USE_SSL_REJECT_UNAUTHORIZED). The certificate
/// values are file paths or PEM text, as pycti accepts both.
package struct AMQPTLS: Sendable, Hashable {
  package var caCertificate: String?
  package var certificate: String?
  package var key: String?
  package var passphrase: String?
  /// Check the broker's certificate and host name. pycti's default is false (an unverified
  /// context), so it is ours too; MQ_USE_SSL_REJECT_UNAUTHORIZED=true turns it on.
  package var verifyPeer: Bool

  package init(
    caCertificate: String? = nil, certificate: String? = nil, key: String? = nil, passphrase: String? = nil,
    verifyPeer: Bool = false
  ) {
    self.caCertificate = caCertificate
    self.certificate = certificate
    self.key = key
    self.passphrase = passphrase
    self.verifyPeer = verifyPeer
  }
}

/// What can go wrong talking to the broker.
package enum AMQPError: ToolError, Equatable, Sendable {
  /// No connection could be made (refused, timed out, name not found, TLS handshake failed),
  /// or it kept dropping for longer than the outage tolerance.
  case unreachable(String)
  /// The broker refused the user, the password or the vhost.
  case accessRefused(String)
  /// The connection broke while in use (a reconnect may cure it).
  case connectionLost(String)
  /// The broker closed the channel: publishing to an exchange that does not exist (404), or
  /// another protocol error. Sending again will fail the same way.
  case channelClosed(code: Int, text: String)
  /// The broker kept refusing (nack) a message for longer than the outage tolerance.
  case nacked(String)
  /// The settings cannot be used (no host for the broker, unreadable certificate or key).
  case settings(String)

  package var exitStatus: ExitStatus {
    switch self {
    case .unreachable, .connectionLost, .nacked: .unavailable
    case .accessRefused: .noPermission
    case .channelClosed: .protocolError
    case .settings: .config
    }
  }

  package var description: String {
    switch self {
    case .unreachable(let message): "RabbitMQ unreachable: \(message)"
    case .accessRefused(let message): "RabbitMQ refused the login: \(message) (check MQ_USER, MQ_PASS, MQ_VHOST)"
    case .connectionLost(let message): "RabbitMQ connection lost: \(message)"
    case .channelClosed(let code, let text): "RabbitMQ closed the channel: \(code) \(text)"
    case .nacked(let message): "RabbitMQ refused messages: \(message)"
    case .settings(let message): "RabbitMQ settings: \(message)"
    }
  }
}

/// One AMQP 0-9-1 connection with one channel (number 1), over rabbitmq-c. It does what a
/// publisher needs (log in, confirm mode, publish, read acknowledgements) and declares nothing:
/// the platform owns its exchanges and queues. Not thread-safe; one owner at a time.
package final class AMQPConnection {
  package let endpoint: AMQPEndpoint
  /// The rabbitmq-c connection, for test support that declares and reads queues.
  package let state: amqp_connection_state_t
  package let channel: amqp_channel_t = 1
  private var open = true

  /// An event read from the broker.
  package enum Event: Equatable, Sendable {
    /// Messages up to `tag` (all of them when `multiple`, else only that one) are safe.
    case ack(tag: UInt64, multiple: Bool)
    /// Messages up to `tag` were refused; they must be sent again.
    case nack(tag: UInt64, multiple: Bool)
    /// The broker stopped reading publishes (a memory or disk alarm), or started again.
    case blocked(String)
    case unblocked
    /// Something this connection does not act on.
    case other
  }

  /// Connects, logs in and opens channel 1. `heartbeat` 0 turns heartbeats off: a publisher
  /// may sit idle for long between inputs and cannot answer heartbeats then.
  package init(endpoint: AMQPEndpoint, heartbeat: Int = 0, connectTimeout: Double = 10) throws(AMQPError) {
    self.endpoint = endpoint
    guard let state = amqp_new_connection() else { throw .unreachable("cannot allocate a connection") }
    self.state = state
    do {
      try connect(heartbeat: heartbeat, connectTimeout: connectTimeout)
    } catch {
      amqp_destroy_connection(state)
      open = false
      throw error
    }
  }

  deinit { close() }

  private func connect(heartbeat: Int, connectTimeout: Double) throws(AMQPError) {
    let socket: OpaquePointer?
    var temporaryFiles: [String] = []
    defer { for path in temporaryFiles { unlink(path) } }
    if let tls = endpoint.tls {
      socket = amqp_ssl_socket_new(state)
      guard let socket else { throw .unreachable("cannot create a TLS socket") }
      try Self.configure(socket, tls: tls, temporaryFiles: &temporaryFiles)
    } else {
      socket = amqp_tcp_socket_new(state)
      guard socket != nil else { throw .unreachable("cannot create a socket") }
    }
    var timeout = timeval(tv_sec: Int(connectTimeout), tv_usec: Int((connectTimeout - Double(Int(connectTimeout))) * 1e6))
    let status = amqp_socket_open_noblock(socket, endpoint.host, Int32(endpoint.port), &timeout)
    guard status == AMQP_STATUS_OK.rawValue else {
      throw .unreachable("\(endpoint): \(Self.statusText(status))")
    }
    // Calls that wait for the broker's answer (login, channel open, close) give up after a
    // while rather than hang on a broker that went silent.
    var rpcTimeout = timeval(tv_sec: max(Int(connectTimeout), 30), tv_usec: 0)
    amqp_set_rpc_timeout(state, &rpcTimeout)
    let login = cti_amqp_login_plain(
      state, endpoint.vhost, 0, CTI_AMQP_DEFAULT_FRAME_SIZE, Int32(heartbeat), endpoint.user, endpoint.password)
    try check(login, during: "login", refusedMeansAccess: true)
    amqp_channel_open(state, channel)
    try check(amqp_get_rpc_reply(state), during: "opening a channel", refusedMeansAccess: true)
  }

  private static func configure(_ socket: OpaquePointer, tls: AMQPTLS, temporaryFiles: inout [String]) throws(AMQPError) {
    amqp_ssl_socket_set_verify_peer(socket, tls.verifyPeer ? 1 : 0)
    amqp_ssl_socket_set_verify_hostname(socket, tls.verifyPeer ? 1 : 0)
    if tls.verifyPeer { _ = cti_amqp_ssl_use_default_verify_paths(socket) }
    if let ca = tls.caCertificate {
      let path = try file(for: ca, temporaryFiles: &temporaryFiles)
      guard amqp_ssl_socket_set_cacert(socket, path) == AMQP_STATUS_OK.rawValue else {
        throw .settings("cannot read the CA certificate \(isPEM(ca) ? "(PEM text)" : path)")
      }
    }
    if let certificate = tls.certificate {
      let certificatePath = try file(for: certificate, temporaryFiles: &temporaryFiles)
      // Like Python's load_cert_chain, a missing key means the key is in the certificate file.
      let keyPath = try tls.key.map { key throws(AMQPError) in try file(for: key, temporaryFiles: &temporaryFiles) } ?? certificatePath
      if let passphrase = tls.passphrase { amqp_ssl_socket_set_key_passwd(socket, passphrase) }
      guard amqp_ssl_socket_set_key(socket, certificatePath, keyPath) == AMQP_STATUS_OK.rawValue else {
        throw .settings("cannot use the client certificate and key (MQ_USE_SSL_CERT, MQ_USE_SSL_KEY, MQ_USE_SSL_PASSPHRASE)")
      }
    }
  }

  private static func isPEM(_ text: String) -> Bool { text.hasPrefix("-----BEGIN") }

  /// A path for a setting that is a path or PEM text (written to a private temporary file, as
  /// pycti does, and removed once the socket has read it).
  private static func file(for value: String, temporaryFiles: inout [String]) throws(AMQPError) -> String {
    guard isPEM(value) else { return value }
    var template = Array("/tmp/cti-amqp-XXXXXX".utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard descriptor >= 0 else { throw .settings("cannot write PEM text to a temporary file") }
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    temporaryFiles.append(path)
    let bytes = Array(value.utf8)
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    closeDescriptor(descriptor)
    guard written == bytes.count else { throw .settings("cannot write PEM text to a temporary file") }
    return path
  }

  /// Puts the channel in publisher-confirm mode: from now on the broker acknowledges every
  /// message, numbering them 1, 2, 3… on this channel.
  package func selectConfirms() throws(AMQPError) {
    amqp_confirm_select(state, channel)
    try check(amqp_get_rpc_reply(state), during: "confirm.select", refusedMeansAccess: false)
  }

  /// Message properties as pycti sets them: persistent (delivery mode 2), content encoding
  /// utf-8, no content type.
  package struct Properties: Sendable {
    package var persistent = true
    package var contentEncoding: String? = "utf-8"
    package var contentType: String? = nil
    package init() {}
  }

  /// Sends one message (the whole body, in frames; blocks while the socket is full).
  package func publish(exchange: String, routingKey: String, body: UnsafeRawBufferPointer, properties: Properties = Properties())
    throws(AMQPError)
  {
    var status: Int32 = 0
    var flags: amqp_flags_t = 0
    if properties.persistent { flags |= CTI_AMQP_BASIC_DELIVERY_MODE_FLAG }
    if properties.contentEncoding != nil { flags |= CTI_AMQP_BASIC_CONTENT_ENCODING_FLAG }
    if properties.contentType != nil { flags |= CTI_AMQP_BASIC_CONTENT_TYPE_FLAG }
    withBytes(exchange) { exchangeBytes in
      withBytes(routingKey) { routingBytes in
        withBytes(properties.contentEncoding ?? "") { encodingBytes in
          withBytes(properties.contentType ?? "") { typeBytes in
            var basic = amqp_basic_properties_t()
            basic._flags = flags
            basic.delivery_mode = 2
            basic.content_encoding = encodingBytes
            basic.content_type = typeBytes
            let message = amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress))
            status = amqp_basic_publish(state, channel, exchangeBytes, routingBytes, 0, 0, &basic, message)
          }
        }
      }
    }
    guard status == AMQP_STATUS_OK.rawValue else { throw .connectionLost("publish: \(Self.statusText(status))") }
  }

  /// The next event from the broker, waiting at most `timeout` seconds (0: only what has
  /// already arrived). nil when nothing came. A closed channel or connection throws.
  package func nextEvent(timeout: Double) throws(AMQPError) -> Event? {
    var frame = amqp_frame_t()
    let status = cti_amqp_wait_frame(state, &frame, Int(max(0, timeout) * 1e6))
    if status == AMQP_STATUS_TIMEOUT.rawValue {
      amqp_maybe_release_buffers(state)
      return nil
    }
    guard status == AMQP_STATUS_OK.rawValue else { throw .connectionLost(Self.statusText(status)) }
    guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return .other }
    let method = frame.payload.method
    switch method.id {
    case CTI_AMQP_BASIC_ACK_METHOD:
      let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
      return .ack(tag: ack.delivery_tag, multiple: ack.multiple != 0)
    case CTI_AMQP_BASIC_NACK_METHOD:
      let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
      return .nack(tag: nack.delivery_tag, multiple: nack.multiple != 0)
    case CTI_AMQP_CONNECTION_BLOCKED_METHOD:
      let blocked = method.decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
      return .blocked(Self.text(blocked.reason))
    case CTI_AMQP_CONNECTION_UNBLOCKED_METHOD:
      return .unblocked
    case CTI_AMQP_CHANNEL_CLOSE_METHOD:
      let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
      var ok = amqp_channel_close_ok_t()
      amqp_send_method(state, channel, CTI_AMQP_CHANNEL_CLOSE_OK_METHOD, &ok)
      throw .channelClosed(code: Int(close.reply_code), text: Self.text(close.reply_text))
    case CTI_AMQP_CONNECTION_CLOSE_METHOD:
      let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
      var ok = amqp_connection_close_ok_t()
      amqp_send_method(state, 0, CTI_AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
      throw .connectionLost("the broker closed the connection: \(close.reply_code) \(Self.text(close.reply_text))")
    default:
      return .other
    }
  }

  /// Frees the memory of frames already read (rabbitmq-c keeps it in pools until told).
  package func releaseBuffers() { amqp_maybe_release_buffers(state) }

  /// Closes the channel and the connection politely when they still work, and frees them.
  package func close() {
    guard open else { return }
    open = false
    _ = amqp_channel_close(state, channel, CTI_AMQP_REPLY_SUCCESS)
    _ = amqp_connection_close(state, CTI_AMQP_REPLY_SUCCESS)
    amqp_destroy_connection(state)
  }

  /// Drops the connection without a goodbye (after an error: the other side may be gone).
  package func abandon() {
    guard open else { return }
    open = false
    amqp_destroy_connection(state)
  }

  // MARK: Helpers

  package func check(_ reply: amqp_rpc_reply_t, during step: String, refusedMeansAccess: Bool) throws(AMQPError) {
    switch reply.reply_type {
    case AMQP_RESPONSE_NORMAL:
      return
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      let message = "\(step) at \(endpoint): \(Self.statusText(reply.library_error))"
      // RabbitMQ drops the socket after a failed PLAIN login when the client did not ask for
      // the authentication_failure_close capability.
      if refusedMeansAccess, step == "login", reply.library_error == AMQP_STATUS_CONNECTION_CLOSED.rawValue {
        throw .accessRefused(message)
      }
      throw step == "login" || step == "opening a channel" ? .unreachable(message) : .connectionLost(message)
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      switch reply.reply.id {
      case CTI_AMQP_CONNECTION_CLOSE_METHOD:
        let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
        var ok = amqp_connection_close_ok_t()
        amqp_send_method(state, 0, CTI_AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
        let text = "\(step) at \(endpoint): \(close.reply_code) \(Self.text(close.reply_text))"
        if refusedMeansAccess, close.reply_code == 403 || close.reply_code == 530 { throw .accessRefused(text) }
        throw .connectionLost(text)
      case CTI_AMQP_CHANNEL_CLOSE_METHOD:
        let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
        var ok = amqp_channel_close_ok_t()
        amqp_send_method(state, channel, CTI_AMQP_CHANNEL_CLOSE_OK_METHOD, &ok)
        throw .channelClosed(code: Int(close.reply_code), text: "\(step): \(Self.text(close.reply_text))")
      default:
        throw .connectionLost("\(step): unexpected method \(reply.reply.id)")
      }
    default:
      throw .connectionLost("\(step): no reply")
    }
  }

  static func statusText(_ status: Int32) -> String {
    guard let text = amqp_error_string2(status) else { return "status \(status)" }
    return String(cString: text)
  }

  static func text(_ bytes: amqp_bytes_t) -> String {
    guard let start = bytes.bytes, bytes.len > 0 else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: start, count: bytes.len), as: UTF8.self)
  }
}

/// Calls `body` with `text` as rabbitmq-c bytes (valid only inside `body`).
package func withBytes<Result>(_ text: String, _ body: (amqp_bytes_t) -> Result) -> Result {
  var copy = text
  return copy.withUTF8 { buffer in
    body(amqp_bytes_t(len: buffer.count, bytes: UnsafeMutableRawPointer(mutating: buffer.baseAddress)))
  }
}

private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }
