import CCurl
package import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How an `HTTPClient` connects, times out, checks TLS and retries.
package struct HTTPClientSettings: Sendable {
  /// Seconds allowed to resolve, connect and finish the TLS handshake.
  package var connectTimeout: Double = 15
  /// Total seconds allowed for a plain request (`send`); streams have no total limit.
  package var requestTimeout: Double = 300
  /// Seconds without a single byte after which a transfer is abandoned (0 = never). Applies to
  /// `stream`; for `send` the total timeout covers it.
  package var stallTimeout: Double = 45
  /// Skips verification of the server's certificate and host name. Only with an explicit flag.
  package var insecure = false
  /// A PEM file of CA certificates to trust instead of the system's.
  package var caBundle: String?
  /// A proxy URL; nil lets libcurl use `http_proxy`, `https_proxy`, `all_proxy` and `no_proxy`.
  package var proxy: String?
  /// Hosts that bypass the proxy (libcurl's CURLOPT_NOPROXY syntax); nil uses `no_proxy`.
  package var noProxy: String?
  package var followRedirects = false
  /// Largest body `send` keeps in memory: an answer announcing more is refused from its headers
  /// (CURLOPT_MAXFILESIZE_LARGE), one that grows past it while arriving is cut off.
  package var maxResponseBytes = 1 << 30
  /// Largest GraphQL answer `HTTPGraphQLTransport` accepts (CTI_MAX_GRAPHQL_RESPONSE_BYTES): the
  /// platform's answers to the tools' operations are ids, a version, a connector, a few entities.
  package var maxGraphQLResponseBytes = HTTPClientSettings.defaultMaxGraphQLResponseBytes
  /// 16 MiB: thousands of times the biggest answer the tools ask for.
  package static let defaultMaxGraphQLResponseBytes = 16 << 20
  package var userAgent = "cti/0.1 (libcurl)"
  package var retry = RetryPolicy()

  package init() {}
}

/// An HTTP client on one libcurl easy handle. The handle (and with it libcurl's connection
/// cache) is reused from request to request, so consecutive requests to one server share a
/// keep-alive connection. Not thread-safe: use one client per thread.
package final class HTTPClient {
  package let options: HTTPClientSettings
  package var logger: Logger
  private let handle: UnsafeMutableRawPointer
  private let errorBuffer: UnsafeMutablePointer<CChar>

  /// Initialises libcurl once. With CURLOPT_NOSIGNAL libcurl does not ignore SIGPIPE itself: the
  /// process must (the tools' entry point does), so that a peer closing a socket is an error.
  private static let globalInit: Void = {
    _ = curl_global_init(CTI_CURL_GLOBAL_DEFAULT)
  }()

  package init(options: HTTPClientSettings = HTTPClientSettings(), logger: Logger = Logger(label: "cti.http")) {
    HTTPClient.globalInit
    guard let handle = curl_easy_init() else { fatalError("libcurl could not allocate an easy handle") }
    self.handle = handle
    self.options = options
    self.logger = logger
    errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
  }

  deinit {
    curl_easy_cleanup(handle)
    errorBuffer.deallocate()
  }

  /// Sends `request` and returns the whole response, whatever its status. Transient failures
  /// (connection problems, 429 and 5xx) are retried with backoff when the request is retryable;
  /// 429 and refused connections are retried for any method, as the server did not act on them.
  /// Call `requireSuccess()` on the result to turn a non-2xx status into an error.
  package func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
    var backoff = options.retry.makeBackoff()
    var attempt = 1
    while true {
      let outcome: Result<HTTPResponse, HTTPError>
      do {
        outcome = .success(try sendOnce(request))
      } catch let error as HTTPError {
        outcome = .failure(error)
      } catch {
        outcome = .failure(.transport(code: -1, url: HTTPError.displayURL(request.url), detail: "\(error)"))
      }
      let retryAfter: Double?
      switch outcome {
      case .success(let response):
        guard HTTPError.isRetryableStatus(response.status),
          request.isRetryable || response.status == 429, attempt < options.retry.maxAttempts
        else { return response }
        retryAfter = response.headers["Retry-After"].flatMap { Double($0) }
        logRetry(request, reason: "HTTP \(response.status)", attempt: attempt)
      case .failure(let error):
        let safeToRepeat: Bool
        if case .connectionRefused = error { safeToRepeat = true } else { safeToRepeat = request.isRetryable }
        guard error.isTransient, safeToRepeat, attempt < options.retry.maxAttempts else { throw error }
        retryAfter = nil
        logRetry(request, reason: error.description, attempt: attempt)
      }
      let delay = min(max(backoff.nextDelay(), retryAfter ?? 0), options.retry.maxDelay)
      MonotonicClock.sleep(delay)
      attempt += 1
    }
  }

  private func logRetry(_ request: HTTPRequest, reason: String, attempt: Int) {
    logger.warning("\(request): \(reason); retrying (attempt \(attempt + 1) of \(options.retry.maxAttempts))")
  }

  private func sendOnce(_ request: HTTPRequest) throws -> HTTPResponse {
    var head: HTTPResponseHead?
    var body: [UInt8] = []
    let limit = options.maxResponseBytes
    let url = HTTPError.displayURL(request.url)
    let finalHead = try perform(
      request, streaming: false, shouldStop: nil, maxBodyBytes: limit,
      onResponse: { head = $0 },
      onData: { chunk throws(HTTPError) in
        if body.count + chunk.count > limit { throw .tooLarge(url: url, limit: limit) }
        body.append(contentsOf: chunk)
      })
    return HTTPResponse(head: head ?? finalHead, body: body)
  }

  /// Sends `request` once and hands the body to `onData` as it arrives, chunk by chunk, after
  /// `onResponse` has seen the status and headers. Only a 2xx body is handed on: any other status
  /// ends in `HTTPError.status` with the start of the body. There is no total time limit; a
  /// transfer that receives nothing for `stallTimeout` seconds fails with `HTTPError.stalled`.
  /// `shouldStop` is asked at least once a second and after every chunk; when it says yes the
  /// transfer ends with `HTTPError.cancelled`. Errors thrown by the handlers end the transfer and
  /// are rethrown unchanged. No retries: the caller decides how to resume.
  @discardableResult
  package func stream(
    _ request: HTTPRequest,
    shouldStop: (() -> Bool)? = nil,
    onResponse: (HTTPResponseHead) throws -> Void = { _ in },
    onData: (UnsafeRawBufferPointer) throws -> Void
  ) throws -> HTTPResponseHead {
    try perform(request, streaming: true, shouldStop: shouldStop, maxBodyBytes: nil, onResponse: onResponse, onData: onData)
  }

  private func perform(
    _ request: HTTPRequest, streaming: Bool, shouldStop: (() -> Bool)?, maxBodyBytes: Int?,
    onResponse: (HTTPResponseHead) throws -> Void,
    onData: (UnsafeRawBufferPointer) throws -> Void
  ) throws -> HTTPResponseHead {
    try withoutActuallyEscaping(onResponse) { onResponse in
      try withoutActuallyEscaping(onData) { onData in
        try withoutActuallyEscaping(shouldStop ?? { false }) { shouldStop in
          let transfer = Transfer(
            onHead: onResponse, onData: onData, shouldStop: shouldStop, deliverAnyStatus: !streaming,
            stallTimeout: streaming ? options.stallTimeout : 0, handle: handle)
          return try run(
            request, transfer: transfer, totalTimeout: streaming ? nil : (request.timeout ?? options.requestTimeout),
            maxBodyBytes: maxBodyBytes)
        }
      }
    }
  }

  private func run(_ request: HTTPRequest, transfer: Transfer, totalTimeout: Double?, maxBodyBytes: Int?) throws
    -> HTTPResponseHead
  {
    let url = HTTPError.displayURL(request.url)
    curl_easy_reset(handle)
    let headerList = try configure(request, totalTimeout: totalTimeout)
    defer { curl_slist_free_all(headerList) }
    // libcurl refuses an announced Content-Length over the limit before any of the body arrives.
    if let maxBodyBytes { _ = cti_curl_setopt_offset(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(maxBodyBytes)) }
    let context = Unmanaged.passUnretained(transfer).toOpaque()
    set(CURLOPT_WRITEFUNCTION, writeCallback)
    set(CURLOPT_WRITEDATA, context)
    set(CURLOPT_HEADERFUNCTION, headerCallback)
    set(CURLOPT_HEADERDATA, context)
    set(CURLOPT_NOPROGRESS, 0)
    _ = cti_curl_setopt_xferinfo_callback(handle, CURLOPT_XFERINFOFUNCTION, progressCallback)
    set(CURLOPT_XFERINFODATA, context)
    errorBuffer[0] = 0
    transfer.lastActivity = MonotonicClock.now()

    let code = withExtendedLifetime(transfer) { curl_easy_perform(handle) }

    if let failure = transfer.failure { throw failure }
    if transfer.stopped { throw HTTPError.cancelled }
    if transfer.stalled { throw HTTPError.stalled(url: url, seconds: transfer.stallTimeout) }
    var status = 0
    _ = cti_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
    let head = transfer.head(status: status, url: effectiveURL() ?? request.url)
    if status >= 200, !head.isSuccess, !transfer.deliverAnyStatus {
      throw HTTPError.status(code: status, url: url, excerpt: HTTPError.excerpt(transfer.errorBody))
    }
    guard code == CURLE_OK else { throw describe(code, url: url, request: request) }
    if !transfer.headDelivered {
      transfer.headDelivered = true
      try transfer.onHead(head)
    }
    return head
  }

  private func configure(_ request: HTTPRequest, totalTimeout: Double?) throws(HTTPError) -> UnsafeMutablePointer<curl_slist>? {
    set(CURLOPT_URL, request.url)
    set(CURLOPT_NOSIGNAL, 1)
    set(CURLOPT_PROTOCOLS_STR, "http,https")
    set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
    set(CURLOPT_USERAGENT, options.userAgent)
    set(CURLOPT_ERRORBUFFER, UnsafeRawPointer(errorBuffer))
    set(CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
    if let totalTimeout, totalTimeout > 0 { set(CURLOPT_TIMEOUT_MS, Int(totalTimeout * 1000)) }
    set(CURLOPT_TCP_KEEPALIVE, 1)
    set(CURLOPT_TCP_KEEPIDLE, 30)
    set(CURLOPT_TCP_KEEPINTVL, 15)
    set(CURLOPT_ACCEPT_ENCODING, "")
    set(CURLOPT_SSLVERSION, CTI_CURL_SSLVERSION_TLSv1_2)
    if options.insecure {
      set(CURLOPT_SSL_VERIFYPEER, 0)
      set(CURLOPT_SSL_VERIFYHOST, 0)
    }
    if let caBundle = options.caBundle { set(CURLOPT_CAINFO, caBundle) }
    if let proxy = options.proxy { set(CURLOPT_PROXY, proxy) }
    if let noProxy = options.noProxy { set(CURLOPT_NOPROXY, noProxy) }
    if options.followRedirects {
      set(CURLOPT_FOLLOWLOCATION, 1)
      set(CURLOPT_MAXREDIRS, 5)
    }

    switch request.method {
    case .get: set(CURLOPT_HTTPGET, 1)
    case .head: set(CURLOPT_NOBODY, 1)
    case .post: set(CURLOPT_POST, 1)
    default: set(CURLOPT_CUSTOMREQUEST, request.method.rawValue)
    }
    if let body = request.body {
      _ = cti_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
      body.withUnsafeBytes { _ = cti_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)) }
    } else if request.method == .post {
      _ = cti_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, 0)
    }

    if let token = request.bearerToken {
      set(CURLOPT_HTTPAUTH, Int(CTI_CURLAUTH_BEARER))
      set(CURLOPT_XOAUTH2_BEARER, token)
    }
    var headers = request.headers
    if let signing = request.awsSigV4 {
      set(CURLOPT_AWS_SIGV4, signing.provider)
      set(CURLOPT_USERPWD, signing.accessKey + ":" + signing.secretKey)
      if let token = signing.sessionToken { headers.set("x-amz-security-token", token) }
    }
    // libcurl 7.88's SigV4 signs an empty-valued header it then does not send (checked against
    // moto: 403), so signed requests keep curl's own Expect handling.
    if request.body != nil, request.awsSigV4 == nil, headers["Expect"] == nil { headers.add("Expect", "") }

    var list: UnsafeMutablePointer<curl_slist>?
    for (name, value) in headers {
      guard !name.isEmpty, !name.contains(where: { $0 == ":" || $0.isNewline || $0 == " " }),
        !value.contains(where: \.isNewline)
      else {
        curl_slist_free_all(list)
        throw .invalidRequest("header \(name.debugDescription) has a name or value that cannot be sent")
      }
      // "Name;" is libcurl's way to send a header with an empty value; "Name:" would remove it.
      let line = value.isEmpty && name.lowercased() != "expect" ? name + ";" : name + ": " + value
      guard let appended = curl_slist_append(list, line) else {
        curl_slist_free_all(list)
        throw .invalidRequest("out of memory building headers")
      }
      list = appended
    }
    if let list { set(CURLOPT_HTTPHEADER, UnsafeRawPointer(list)) }
    return list
  }

  private func effectiveURL() -> String? {
    var pointer: UnsafeMutablePointer<CChar>?
    guard cti_curl_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &pointer) == CURLE_OK, let pointer else { return nil }
    return String(cString: pointer)
  }

  private func describe(_ code: CURLcode, url: String, request: HTTPRequest) -> HTTPError {
    let detail = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
    switch code {
    case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
      return .invalidRequest("\(url): \(detail)")
    case CURLE_COULDNT_RESOLVE_HOST:
      return .dns(host: HTTPError.host(of: request.url), detail: detail)
    case CURLE_COULDNT_RESOLVE_PROXY:
      return .dns(host: options.proxy.map { HTTPError.host(of: $0) } ?? "proxy", detail: detail)
    case CURLE_COULDNT_CONNECT:
      return .connectionRefused(url: url, detail: detail)
    case CURLE_OPERATION_TIMEDOUT:
      var connectTime: curl_off_t = 0
      _ = cti_curl_getinfo_offset(handle, CURLINFO_CONNECT_TIME_T, &connectTime)
      if connectTime == 0 { return .connectTimeout(url: url, seconds: options.connectTimeout) }
      return .timedOut(url: url, seconds: request.timeout ?? options.requestTimeout)
    case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
      CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
      CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_SHUTDOWN_FAILED:
      return .tls(url: url, detail: detail)
    case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE:
      return .connectionLost(url: url, detail: detail)
    case CURLE_FILESIZE_EXCEEDED:
      return .tooLarge(url: url, limit: options.maxResponseBytes)
    default:
      return .transport(code: Int(code.rawValue), url: url, detail: detail)
    }
  }

  private func set(_ option: CURLoption, _ value: Int) {
    _ = cti_curl_setopt_long(handle, option, value)
  }

  private func set(_ option: CURLoption, _ value: String) {
    _ = cti_curl_setopt_pointer(handle, option, value)
  }

  private func set(_ option: CURLoption, _ value: UnsafeRawPointer) {
    _ = cti_curl_setopt_pointer(handle, option, value)
  }

  private func set(_ option: CURLoption, _ value: curl_write_callback) {
    _ = cti_curl_setopt_write_callback(handle, option, value)
  }
}

/// What the libcurl callbacks of one transfer share.
private final class Transfer {
  let onHead: (HTTPResponseHead) throws -> Void
  let onData: (UnsafeRawBufferPointer) throws -> Void
  let shouldStop: () -> Bool
  /// Whether non-2xx bodies go to `onData` (plain requests) or are kept as an excerpt (streams).
  let deliverAnyStatus: Bool
  let stallTimeout: Double
  /// The easy handle, to look up the effective URL when the head is handed on.
  let handle: UnsafeMutableRawPointer
  var status = 0
  var headers = HTTPHeaders()
  var headDelivered = false
  var errorBody: [UInt8] = []
  var failure: (any Error)?
  var lastActivity = 0.0
  var stalled = false
  var stopped = false

  init(
    onHead: @escaping (HTTPResponseHead) throws -> Void, onData: @escaping (UnsafeRawBufferPointer) throws -> Void,
    shouldStop: @escaping () -> Bool, deliverAnyStatus: Bool, stallTimeout: Double, handle: UnsafeMutableRawPointer
  ) {
    self.handle = handle
    self.onHead = onHead
    self.onData = onData
    self.shouldStop = shouldStop
    self.deliverAnyStatus = deliverAnyStatus
    self.stallTimeout = stallTimeout
  }

  func head(status: Int, url: String) -> HTTPResponseHead {
    HTTPResponseHead(status: status, headers: headers, url: url)
  }

  static let errorExcerptLimit = 4096

  /// Takes a body chunk; returns false to abort the transfer.
  func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
    lastActivity = MonotonicClock.now()
    if !deliverAnyStatus, !(200..<300).contains(status) {
      errorBody.append(contentsOf: chunk.prefix(Self.errorExcerptLimit - errorBody.count))
      return errorBody.count < Self.errorExcerptLimit
    }
    do {
      if !headDelivered {
        headDelivered = true
        var pointer: UnsafeMutablePointer<CChar>?
        _ = cti_curl_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &pointer)
        try onHead(head(status: status, url: pointer.map { String(cString: $0) } ?? ""))
      }
      try onData(chunk)
    } catch {
      failure = error
      return false
    }
    if shouldStop() {
      stopped = true
      return false
    }
    return true
  }

  /// Takes one header line (status line, field or the blank end).
  func receiveHeader(_ line: UnsafeRawBufferPointer) {
    lastActivity = MonotonicClock.now()
    var text = String(decoding: line, as: UTF8.self)
    while let last = text.last, last == "\r\n" || last == "\n" || last == "\r" { text.removeLast() }
    if text.hasPrefix("HTTP/") {
      // A new response begins (after a redirect or 100 Continue): forget the previous fields.
      headers = HTTPHeaders()
      let parts = text.split(separator: " ", maxSplits: 2)
      status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
    } else if let colon = text.firstIndex(of: ":") {
      let name = String(text[..<colon])
      let value = text[text.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
      headers.add(name, String(value))
    }
  }

  /// Called by libcurl at least once a second; returns false to abort.
  func tick() -> Bool {
    if shouldStop() {
      stopped = true
      return false
    }
    if stallTimeout > 0, MonotonicClock.now() - lastActivity > stallTimeout {
      stalled = true
      return false
    }
    return true
  }
}

private let writeCallback: curl_write_callback = { pointer, size, count, context in
  let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
  let length = size * count
  let chunk = UnsafeRawBufferPointer(start: pointer, count: length)
  return transfer.receive(chunk) ? length : 0
}

private let headerCallback: curl_write_callback = { pointer, size, count, context in
  let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
  transfer.receiveHeader(UnsafeRawBufferPointer(start: pointer, count: size * count))
  return size * count
}

private let progressCallback: curl_xferinfo_callback = { context, _, _, _, _ in
  let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
  return transfer.tick() ? 0 : 1
}
