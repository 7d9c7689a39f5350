import CTITestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@testable import CTICore

/// The HTTP client against the fake platform's real HTTP server on 127.0.0.1.
@Suite struct HTTPClientTests {
  let platform = FakePlatform.shared

  func client(_ configure: (inout HTTPClientSettings) -> Void = { _ in }) -> HTTPClient {
    var options = HTTPClientSettings()
    options.retry = RetryPolicy(maxAttempts: 3, initialDelay: 0.01, maxDelay: 0.05)
    configure(&options)
    return HTTPClient(options: options)
  }

  func echo(_ response: HTTPResponse) throws -> JSONValue {
    try JSONParser.parse(response.body)
  }

  func header(_ echo: JSONValue, _ name: String) -> String? {
    echo["headers"]?.arrayValue?.first { $0.arrayValue?.first?.stringValue?.lowercased() == name.lowercased() }?
      .arrayValue?.last?.stringValue
  }

  @Test func get_sends_headers_and_bearer_token_and_reads_status_and_headers() throws {
    var request = HTTPRequest(.get, platform.baseURL + "/_echo/get", headers: ["X-Test": "yes"], bearerToken: "secret-1")
    request.headers.add("Accept", "application/json")
    let response = try client().send(request)
    #expect(response.status == 200)
    #expect(response.headers["content-type"] == "application/json")
    let echoed = try echo(response)
    #expect(echoed["method"] == "GET")
    #expect(header(echoed, "Authorization") == "Bearer secret-1")
    #expect(header(echoed, "X-Test") == "yes")
    #expect(header(echoed, "User-Agent")?.hasPrefix("cti/") == true)
  }

  @Test func post_put_delete_and_head_use_their_method_and_body() throws {
    let http = client()
    let body = Array(#"{"query":"{ me { id } }"}"#.utf8)
    let posted = try echo(http.send(.postJSON(platform.baseURL + "/_echo/graphql", body: body)))
    #expect(posted["method"] == "POST")
    #expect(posted["body_base64"]?.stringValue == base64(body))
    #expect(header(posted, "Content-Type") == "application/json")
    #expect(header(posted, "Expect") == nil)

    let binary: [UInt8] = Array(0...255) + [0, 0, 13, 10]
    let put = try echo(http.send(HTTPRequest(.put, platform.baseURL + "/_echo/object", body: binary)))
    #expect(put["method"] == "PUT")
    #expect(put["body_base64"]?.stringValue == base64(binary))

    #expect(try echo(http.send(HTTPRequest(.delete, platform.baseURL + "/_echo/x")))["method"] == "DELETE")
    let head = try http.send(HTTPRequest(.head, platform.baseURL + "/_echo/x"))
    #expect(head.status == 200)
    #expect(head.body.isEmpty)
  }

  @Test func consecutive_requests_reuse_the_connection() throws {
    let http = client()
    let first = try echo(http.send(HTTPRequest(.get, platform.baseURL + "/_echo/1")))
    let second = try echo(http.send(HTTPRequest(.get, platform.baseURL + "/_echo/2")))
    #expect(first["client_port"] != nil)
    #expect(first["client_port"] == second["client_port"])
  }

  @Test func idempotent_requests_are_retried_on_5xx_until_they_succeed() throws {
    let key = FakePlatform.unique("flaky")
    let response = try client().send(HTTPRequest(.get, platform.baseURL + "/_test/flaky/\(key)/2/503"))
    #expect(response.status == 200)
    #expect(String(decoding: response.body, as: UTF8.self) == "ok after 3")
  }

  @Test func retries_stop_after_max_attempts_and_the_error_has_status_and_excerpt() throws {
    let key = FakePlatform.unique("down")
    let response = try client().send(HTTPRequest(.get, platform.baseURL + "/_test/flaky/\(key)/10/502"))
    #expect(response.status == 502)
    #expect(try requests(key) == 3)
    #expect(throws: HTTPError.status(code: 502, url: platform.baseURL + "/_test/flaky/\(key)/10/502",
                                     excerpt: "failure 3 of 10 for \(key)")) {
      try response.requireSuccess()
    }
    #expect("\(HTTPError.status(code: 502, url: "u", excerpt: "e"))" == "HTTP 502 Bad Gateway from u: e")
  }

  @Test func post_is_not_retried_on_5xx_but_is_on_429() throws {
    let failing = FakePlatform.unique("post5xx")
    let response = try client().send(HTTPRequest(.post, platform.baseURL + "/_test/flaky/\(failing)/1/500", body: [1]))
    #expect(response.status == 500)
    #expect(try requests(failing) == 1)

    let limited = FakePlatform.unique("post429")
    let retried = try client().send(
      HTTPRequest(.post, platform.baseURL + "/_test/flaky/\(limited)/1/429?retry_after=0", body: [1]))
    #expect(retried.status == 200)
    #expect(try requests(limited) == 2)

    var explicitly = HTTPRequest(.post, platform.baseURL + "/_test/flaky/\(FakePlatform.unique("q"))/1/503", body: [1])
    explicitly.retryable = true
    #expect(try client().send(explicitly).status == 200)
  }

  @Test func client_errors_are_not_retried() throws {
    let key = FakePlatform.unique("notfound")
    #expect(try client().send(HTTPRequest(.get, platform.baseURL + "/_test/flaky/\(key)/5/404")).status == 404)
    #expect(try requests(key) == 1)
  }

  @Test func refused_connection_is_reported_with_the_url() throws {
    let url = "http://127.0.0.1:\(try closedPort())/x"
    let error = try #require(throws: HTTPError.self) { try client().send(HTTPRequest(.get, url)) }
    guard case .connectionRefused(let where_, _) = error else { Issue.record("got \(error)"); return }
    #expect(where_ == url)
    #expect(error.isTransient)
    #expect(error.exitStatus == .unavailable)
    #expect(error.description.contains("cannot connect to \(url)"))
  }

  @Test func total_timeout_ends_a_slow_plain_request() throws {
    var request = HTTPRequest(.get, platform.baseURL + "/_test/slow/3")
    request.timeout = 0.5
    let started = MonotonicClock.now()
    let error = try #require(throws: HTTPError.self) { try client { $0.retry = .none }.send(request) }
    #expect(error == .timedOut(url: platform.baseURL + "/_test/slow/3", seconds: 0.5))
    #expect(MonotonicClock.now() - started < 2.5)
  }

  @Test func a_stream_without_bytes_is_detected_as_stalled() throws {
    let http = client { $0.stallTimeout = 1 }
    let started = MonotonicClock.now()
    var received: [UInt8] = []
    let error = try #require(throws: HTTPError.self) {
      try http.stream(HTTPRequest(.get, platform.baseURL + "/_test/stall/20")) { received.append(contentsOf: $0) }
    }
    #expect(error == .stalled(url: platform.baseURL + "/_test/stall/20", seconds: 1))
    #expect(String(decoding: received, as: UTF8.self) == ": hello\n\n")
    let elapsed = MonotonicClock.now() - started
    #expect(elapsed >= 1 && elapsed < 4)
  }

  @Test func stream_hands_over_the_whole_body_in_chunks() throws {
    var head: HTTPResponseHead?
    var received: [UInt8] = []
    var chunks = 0
    try client().stream(
      HTTPRequest(.get, platform.baseURL + "/_test/bytes/300000"), onResponse: { head = $0 },
      onData: {
        #expect(head != nil)
        received.append(contentsOf: $0)
        chunks += 1
      })
    #expect(head?.status == 200)
    #expect(received.count == 300_000)
    #expect(received.enumerated().allSatisfy { $0.element == UInt8($0.offset % 256) })
    #expect(chunks > 1)
  }

  @Test func stream_turns_an_error_status_into_an_error_with_the_body_excerpt() throws {
    var called = false
    let error = try #require(throws: HTTPError.self) {
      try client().stream(HTTPRequest(.get, platform.baseURL + "/_test/status/410?body=stream%20is%20stopped")) { _ in
        called = true
      }
    }
    #expect(error == .status(code: 410, url: platform.baseURL + "/_test/status/410?body=stream%20is%20stopped",
                             excerpt: "stream is stopped"))
    #expect(!called)
  }

  @Test func errors_thrown_by_the_data_handler_come_back_unchanged() throws {
    struct Full: Error, Equatable {}
    #expect(throws: Full()) {
      try client().stream(HTTPRequest(.get, platform.baseURL + "/_test/bytes/100000")) { _ in throw Full() }
    }
  }

  @Test func should_stop_cancels_a_stream() throws {
    var chunks = 0
    #expect(throws: HTTPError.cancelled) {
      try client().stream(HTTPRequest(.get, platform.baseURL + "/_test/bytes/10000000"), shouldStop: { chunks >= 2 }) { _ in
        chunks += 1
      }
    }
    #expect(chunks == 2)
  }

  @Test func a_connection_dropped_mid_body_is_connection_lost() throws {
    let error = try #require(throws: HTTPError.self) {
      try client { $0.retry = .none }.send(HTTPRequest(.get, platform.baseURL + "/_test/drop"))
    }
    guard case .connectionLost = error else { Issue.record("got \(error)"); return }
    #expect(error.isTransient)
  }

  @Test func tls_is_verified_by_default_and_can_trust_a_ca_bundle_or_be_disabled() throws {
    let url = platform.tlsBaseURL + "/_echo/tls"
    let error = try #require(throws: HTTPError.self) { try client().send(HTTPRequest(.get, url)) }
    guard case .tls = error else { Issue.record("expected a TLS error, got \(error)"); return }
    #expect(!error.isTransient)
    #expect(try client { $0.caBundle = platform.certificatePath }.send(HTTPRequest(.get, url)).status == 200)
    #expect(try client { $0.insecure = true }.send(HTTPRequest(.get, url)).status == 200)
  }

  @Test func requests_go_through_a_configured_proxy() throws {
    let response = try client { $0.proxy = platform.baseURL }.send(HTTPRequest(.get, "http://opencti.example:8080/_echo/p"))
    #expect(try echo(response)["proxied_host"] == "opencti.example:8080")
  }

  @Test func aws_sigv4_signing_is_done_by_libcurl() throws {
    var request = HTTPRequest(.get, platform.baseURL + "/_echo/bucket/key", headers: ["x-amz-content-sha256": "UNSIGNED-PAYLOAD"])
    request.awsSigV4 = .s3(region: "eu-west-1", accessKey: "AKIDEXAMPLE", secretKey: "s3cr3t", sessionToken: "tok")
    let echoed = try echo(client().send(request))
    let authorization = try #require(header(echoed, "Authorization"))
    #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
    #expect(authorization.contains("/eu-west-1/s3/aws4_request"))
    #expect(header(echoed, "X-Amz-Date") != nil)
    #expect(header(echoed, "x-amz-security-token") == "tok")
    #expect(!"\(request)".contains("s3cr3t"))
  }

  @Test func credentials_never_appear_in_descriptions() throws {
    let request = HTTPRequest(.get, "https://user:pw@octi.example/stream/live", headers: ["Authorization": "Bearer abc"], bearerToken: "abc")
    #expect("\(request)" == "GET https://octi.example/stream/live")
    #expect("\(request.headers)" == "Authorization: <redacted>")
    let error = try #require(throws: HTTPError.self) {
      try client().stream(HTTPRequest(.get, platform.baseURL + "/_test/status/401", bearerToken: "top-secret")) { _ in }
    }
    #expect(!error.description.contains("top-secret"))
    #expect(error.exitStatus == .noPermission)
  }

  @Test func header_injection_is_refused() throws {
    let request = HTTPRequest(.get, platform.baseURL + "/_echo/x", headers: ["X-Evil": "a\r\nHost: other"])
    #expect(throws: HTTPError.self) { try client().send(request) }
  }

  @Test func error_classification_of_urls_and_excerpts() {
    #expect(HTTPError.displayURL("http://u:p@h:1/a@b") == "http://h:1/a@b")
    #expect(HTTPError.host(of: "https://user@octi.example:8443/x") == "octi.example")
    #expect(HTTPError.host(of: "http://[::1]:80/") == "[::1]")
    #expect(HTTPError.excerpt(Array("<html>\n  <body>  Not\tfound </body>".utf8)) == "<html> <body> Not found </body>")
    #expect(HTTPError.excerpt(Array(repeating: UInt8(ascii: "a"), count: 300), limit: 5) == "aaaaa…")
    #expect(HTTPError.dns(host: "octi", detail: "x").description == "cannot resolve host octi (x)")
    #expect(HTTPError.isRetryableStatus(503) && HTTPError.isRetryableStatus(429) && !HTTPError.isRetryableStatus(501))
  }

  // MARK: helpers

  func requests(_ key: String) throws -> Int? {
    try platform.control("GET", "/_test/count/\(key)")["count"]?.intValue
  }

  func closedPort() throws -> Int {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
        bind(listener, pointer, length)
        return getsockname(listener, pointer, &length)
      }
    }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    var text = ""
    var index = 0
    while index < bytes.count {
      let chunk = bytes[index..<min(index + 3, bytes.count)]
      let value = chunk.enumerated().reduce(0) { $0 | (Int($1.element) << (16 - 8 * $1.offset)) }
      for position in 0..<4 {
        text.append(position <= chunk.count ? alphabet[(value >> (18 - 6 * position)) & 63] : "=")
      }
      index += 3
    }
    return text
  }
}

/// Answers bigger than the client keeps (issue 11, item 11).
@Suite struct HTTPAnswerSizeTests {
  let platform = FakePlatform.shared

  @Test func an_announced_length_over_the_limit_is_refused_from_the_headers() throws {
    var options = HTTPClientSettings()
    options.retry = .none
    options.maxResponseBytes = 8 << 20
    // 1 MiB every half second: reading up to the limit would take four seconds.
    let url = platform.baseURL + "/_test/huge/2147483648?pause=0.5"
    let started = MonotonicClock.now()
    let error = try #require(throws: HTTPError.self) { try HTTPClient(options: options).send(HTTPRequest(.get, url)) }
    #expect(error == .tooLarge(url: HTTPError.displayURL(url), limit: 8 << 20))
    #expect(MonotonicClock.now() - started < 2)
  }

  @Test func an_unannounced_body_is_cut_off_at_the_limit() throws {
    var options = HTTPClientSettings()
    options.retry = .none
    options.maxResponseBytes = 1 << 20
    let url = platform.baseURL + "/_test/huge/3000000?chunked=1"
    let error = try #require(throws: HTTPError.self) { try HTTPClient(options: options).send(HTTPRequest(.get, url)) }
    #expect(error == .tooLarge(url: HTTPError.displayURL(url), limit: 1 << 20))
  }

  @Test func graphql_answers_have_their_own_smaller_cap() throws {
    let token = FakePlatform.unique("huge-graphql")
    try platform.createGraphQLPlatform(token: token)
    try platform.injectGraphQLFault(token: token, operation: "About", .huge(2_147_483_648, pause: 0.5))
    var options = HTTPClientSettings()
    options.retry = .none
    #expect(options.maxGraphQLResponseBytes == 16 << 20)
    let transport = try HTTPGraphQLTransport(url: platform.baseURL, token: token, options: options, logger: .init(label: "t"))
    let started = MonotonicClock.now()
    #expect {
      _ = try transport.send(GraphQLRequest.about(), applicant: nil)
    } throws: { error in
      "\(error)".contains("larger than \(16 << 20) bytes")
    }
    #expect(MonotonicClock.now() - started < 2)
  }
}
