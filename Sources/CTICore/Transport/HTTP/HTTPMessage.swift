/// An HTTP method. The common ones are constants; any other token can be used.
package struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  package var rawValue: String
  package init(rawValue: String) { self.rawValue = rawValue }

  package static let get = HTTPMethod(rawValue: "GET")
  package static let head = HTTPMethod(rawValue: "HEAD")
  package static let post = HTTPMethod(rawValue: "POST")
  package static let put = HTTPMethod(rawValue: "PUT")
  package static let delete = HTTPMethod(rawValue: "DELETE")
  package static let patch = HTTPMethod(rawValue: "PATCH")

  /// Whether sending the request twice has the same effect as once (RFC 9110 §9.2.2).
  package var isIdempotent: Bool {
    switch rawValue {
    case "GET", "HEAD", "PUT", "DELETE", "OPTIONS": true
    default: false
    }
  }

  package var description: String { rawValue }
}

/// HTTP header fields in the order they were given. Names compare case-insensitively.
package struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
  package private(set) var entries: [(name: String, value: String)] = []

  package init() {}

  package init(dictionaryLiteral elements: (String, String)...) {
    entries = elements.map { (name: $0.0, value: $0.1) }
  }

  /// The first value of `name`, or nil.
  package subscript(name: String) -> String? {
    let wanted = name.lowercased()
    return entries.first { $0.name.lowercased() == wanted }?.value
  }

  /// Every value of `name`, in order.
  package func values(_ name: String) -> [String] {
    let wanted = name.lowercased()
    return entries.filter { $0.name.lowercased() == wanted }.map(\.value)
  }

  /// Adds a field, keeping any others of the same name.
  package mutating func add(_ name: String, _ value: String) {
    entries.append((name, value))
  }

  /// Sets a field, replacing every other of the same name.
  package mutating func set(_ name: String, _ value: String) {
    remove(name)
    entries.append((name, value))
  }

  package mutating func remove(_ name: String) {
    let wanted = name.lowercased()
    entries.removeAll { $0.name.lowercased() == wanted }
  }

  package var isEmpty: Bool { entries.isEmpty }

  package func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
    entries.makeIterator()
  }

  /// The fields as `Name: value` lines, with credentials hidden.
  package var description: String {
    entries.map { entry in
      let secret = ["authorization", "proxy-authorization", "x-amz-security-token", "cookie"]
        .contains(entry.name.lowercased())
      return "\(entry.name): \(secret ? "<redacted>" : entry.value)"
    }.joined(separator: "\n")
  }
}

/// AWS Signature Version 4 signing done by libcurl (CURLOPT_AWS_SIGV4), for S3.
package struct AWSSigV4Signing: Sendable {
  /// libcurl's provider string, e.g. `aws:amz:eu-west-1:s3`.
  package var provider: String
  package var accessKey: String
  package var secretKey: String
  /// Sent as `x-amz-security-token` for temporary credentials.
  package var sessionToken: String?

  package init(provider: String, accessKey: String, secretKey: String, sessionToken: String? = nil) {
    self.provider = provider
    self.accessKey = accessKey
    self.secretKey = secretKey
    self.sessionToken = sessionToken
  }

  /// The usual S3 provider string for a region.
  package static func s3(region: String, accessKey: String, secretKey: String, sessionToken: String? = nil) -> Self {
    AWSSigV4Signing(provider: "aws:amz:\(region):s3", accessKey: accessKey, secretKey: secretKey, sessionToken: sessionToken)
  }
}

/// One HTTP request. Credentials (`bearerToken`, `awsSigV4`) are kept apart from `headers` so that
/// they are never printed: `description` shows neither.
package struct HTTPRequest: Sendable, CustomStringConvertible {
  package var method: HTTPMethod
  package var url: String
  package var headers: HTTPHeaders
  package var body: [UInt8]?
  /// Sent as `Authorization: Bearer <token>` (only to the host of `url`, also after redirects).
  package var bearerToken: String?
  package var awsSigV4: AWSSigV4Signing?
  /// Total time allowed for a plain request; nil uses the client's `requestTimeout`.
  /// Streaming requests have no total limit (stall detection instead).
  package var timeout: Double?
  /// Whether failed attempts may be sent again; nil means "if the method is idempotent".
  package var retryable: Bool?

  package init(
    _ method: HTTPMethod = .get, _ url: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8]? = nil,
    bearerToken: String? = nil
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.bearerToken = bearerToken
  }

  /// A POST of a JSON document (for GraphQL and similar APIs).
  package static func postJSON(_ url: String, body: [UInt8], bearerToken: String? = nil) -> HTTPRequest {
    HTTPRequest(.post, url, headers: ["Content-Type": "application/json", "Accept": "application/json"], body: body,
                bearerToken: bearerToken)
  }

  package var isRetryable: Bool { retryable ?? method.isIdempotent }

  package var description: String { "\(method) \(HTTPError.displayURL(url))" }
}

/// The status line and header fields of a response.
package struct HTTPResponseHead: Sendable {
  package var status: Int
  package var headers: HTTPHeaders
  /// The URL that answered (after redirects).
  package var url: String

  package var isSuccess: Bool { (200..<300).contains(status) }
}

/// A complete response.
package struct HTTPResponse: Sendable {
  package var head: HTTPResponseHead
  package var body: [UInt8]

  package var status: Int { head.status }
  package var headers: HTTPHeaders { head.headers }

  /// The response itself when its status is 2xx; otherwise an `HTTPError.status` with the start of
  /// the body.
  @discardableResult
  package func requireSuccess() throws(HTTPError) -> HTTPResponse {
    guard head.isSuccess else {
      throw .status(code: status, url: HTTPError.displayURL(head.url), excerpt: HTTPError.excerpt(body))
    }
    return self
  }
}
