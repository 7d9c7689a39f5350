/// An HTTP method. The common ones are constants; any other token can be used.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  public var rawValue: String
  public init(rawValue: String) { self.rawValue = rawValue }

  public static let get = HTTPMethod(rawValue: "GET")
  public static let head = HTTPMethod(rawValue: "HEAD")
  public static let post = HTTPMethod(rawValue: "POST")
  public static let put = HTTPMethod(rawValue: "PUT")
  public static let delete = HTTPMethod(rawValue: "DELETE")
  public static let patch = HTTPMethod(rawValue: "PATCH")

  /// Whether sending the request twice has the same effect as once (RFC 9110 §9.2.2).
  public var isIdempotent: Bool {
    switch rawValue {
    case "GET", "HEAD", "PUT", "DELETE", "OPTIONS": true
    default: false
    }
  }

  public var description: String { rawValue }
}

/// HTTP header fields in the order they were given. Names compare case-insensitively.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
  public private(set) var entries: [(name: String, value: String)] = []

  public init() {}

  public init(dictionaryLiteral elements: (String, String)...) {
    entries = elements.map { (name: $0.0, value: $0.1) }
  }

  /// The first value of `name`, or nil.
  public subscript(name: String) -> String? {
    let wanted = name.lowercased()
    return entries.first { $0.name.lowercased() == wanted }?.value
  }

  /// Every value of `name`, in order.
  public func values(_ name: String) -> [String] {
    let wanted = name.lowercased()
    return entries.filter { $0.name.lowercased() == wanted }.map(\.value)
  }

  /// Adds a field, keeping any others of the same name.
  public mutating func add(_ name: String, _ value: String) {
    entries.append((name, value))
  }

  /// Sets a field, replacing every other of the same name.
  public mutating func set(_ name: String, _ value: String) {
    remove(name)
    entries.append((name, value))
  }

  public mutating func remove(_ name: String) {
    let wanted = name.lowercased()
    entries.removeAll { $0.name.lowercased() == wanted }
  }

  public var isEmpty: Bool { entries.isEmpty }

  public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
    entries.makeIterator()
  }

  /// The fields as `Name: value` lines, with credentials hidden.
  public var description: String {
    entries.map { entry in
      let secret = ["authorization", "proxy-authorization", "x-amz-security-token", "cookie"]
        .contains(entry.name.lowercased())
      return "\(entry.name): \(secret ? "<redacted>" : entry.value)"
    }.joined(separator: "\n")
  }
}

/// AWS Signature Version 4 signing done by libcurl (CURLOPT_AWS_SIGV4), for S3.
public struct AWSSigV4Signing: Sendable {
  /// libcurl's provider string, e.g. `aws:amz:eu-west-1:s3`.
  public var provider: String
  public var accessKey: String
  public var secretKey: String
  /// Sent as `x-amz-security-token` for temporary credentials.
  public var sessionToken: String?

  public init(provider: String, accessKey: String, secretKey: String, sessionToken: String? = nil) {
    self.provider = provider
    self.accessKey = accessKey
    self.secretKey = secretKey
    self.sessionToken = sessionToken
  }

  /// The usual S3 provider string for a region.
  public static func s3(region: String, accessKey: String, secretKey: String, sessionToken: String? = nil) -> Self {
    AWSSigV4Signing(provider: "aws:amz:\(region):s3", accessKey: accessKey, secretKey: secretKey, sessionToken: sessionToken)
  }
}

/// One HTTP request. Credentials (`bearerToken`, `awsSigV4`) are kept apart from `headers` so that
/// they are never printed: `description` shows neither.
public struct HTTPRequest: Sendable, CustomStringConvertible {
  public var method: HTTPMethod
  public var url: String
  public var headers: HTTPHeaders
  public var body: [UInt8]?
  /// Sent as `Authorization: Bearer <token>` (only to the host of `url`, also after redirects).
  public var bearerToken: String?
  public var awsSigV4: AWSSigV4Signing?
  /// Total time allowed for a plain request; nil uses the client's `requestTimeout`.
  /// Streaming requests have no total limit (stall detection instead).
  public var timeout: Double?
  /// Whether failed attempts may be sent again; nil means "if the method is idempotent".
  public var retryable: Bool?

  public init(
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
  public static func postJSON(_ url: String, body: [UInt8], bearerToken: String? = nil) -> HTTPRequest {
    HTTPRequest(.post, url, headers: ["Content-Type": "application/json", "Accept": "application/json"], body: body,
                bearerToken: bearerToken)
  }

  public var isRetryable: Bool { retryable ?? method.isIdempotent }

  public var description: String { "\(method) \(HTTPError.displayURL(url))" }
}

/// The status line and header fields of a response.
public struct HTTPResponseHead: Sendable {
  public var status: Int
  public var headers: HTTPHeaders
  /// The URL that answered (after redirects).
  public var url: String

  public var isSuccess: Bool { (200..<300).contains(status) }
}

/// A complete response.
public struct HTTPResponse: Sendable {
  public var head: HTTPResponseHead
  public var body: [UInt8]

  public var status: Int { head.status }
  public var headers: HTTPHeaders { head.headers }

  /// The response itself when its status is 2xx; otherwise an `HTTPError.status` with the start of
  /// the body.
  @discardableResult
  public func requireSuccess() throws(HTTPError) -> HTTPResponse {
    guard head.isSuccess else {
      throw .status(code: status, url: HTTPError.displayURL(head.url), excerpt: HTTPError.excerpt(body))
    }
    return self
  }
}
