/// Where a tool reads or writes, as given on its command line or in its settings: a local path,
/// an http(s) URL or an S3 bucket and prefix. Every place that takes such a text reads it here,
/// so `file://`, `s3://` and the schemes mean the same thing in every tool.
package enum Location: Sendable, Equatable, CustomStringConvertible {
  /// A local path (a `file://` URL is read as its path).
  case path(String)
  /// An `http://` or `https://` URL, as given.
  case http(String)
  case s3(S3Location)

  /// Reads `s3://bucket/prefix`, `http(s)://…`, `file:///path` or a plain path. Schemes are
  /// matched without regard to case; an `s3://` without a bucket is an error.
  package init(_ text: String) throws(ConfigError) {
    if let rest = Self.dropScheme("s3", from: text) {
      let bucket = rest.prefix { $0 != "/" }
      guard !bucket.isEmpty else { throw ConfigError("'\(text)' is not s3://bucket/folder") }
      self = .s3(S3Location(bucket: String(bucket), folder: String(rest.dropFirst(bucket.count))))
    } else if Self.dropScheme("http", from: text) != nil || Self.dropScheme("https", from: text) != nil {
      self = .http(text)
    } else if let path = Self.dropScheme("file", from: text) {
      self = .path(path.isEmpty ? "/" : String(path))
    } else {
      self = .path(text)
    }
  }

  /// The text after `scheme://`, or nil when `text` has another scheme or none.
  static func dropScheme(_ scheme: String, from text: String) -> Substring? {
    let marker = scheme + "://"
    guard text.count >= marker.count, text.prefix(marker.count).lowercased() == marker else { return nil }
    return text.dropFirst(marker.count)
  }

  /// The path of a `file://` URL; nil for any other text.
  package static func path(ofFileURL text: String) -> String? {
    guard Self.dropScheme("file", from: text) != nil, case .path(let path) = try? Location(text) else { return nil }
    return path
  }

  /// True for an `http(s)://` location.
  package var isHTTP: Bool {
    if case .http = self { return true }
    return false
  }

  package var description: String {
    switch self {
    case .path(let path): path
    case .http(let url): HTTPError.displayURL(url)
    case .s3(let location): location.description
    }
  }
}

/// A server given as `host`, `host:port` or `http[s]://host[:port][/]` (boto3's endpoint_url
/// form): the S3 endpoints and anything else that names a server rather than a resource.
package struct ServerAddress: Sendable, Equatable {
  package var host: String
  package var port: Int?
  /// true for https://, false for http://, nil when no scheme was given.
  package var secure: Bool?

  package init(host: String, port: Int? = nil, secure: Bool? = nil) {
    self.host = host
    self.port = port
    self.secure = secure
  }

  /// Reads the address; trailing slashes are dropped, and a `:port` that is a number is taken
  /// as the port.
  package init(parsing text: String) {
    var rest = Substring(text.trimmingSpaces)
    secure = nil
    if let afterScheme = Location.dropScheme("https", from: String(rest)) {
      secure = true
      rest = afterScheme
    } else if let afterScheme = Location.dropScheme("http", from: String(rest)) {
      secure = false
      rest = afterScheme
    }
    while rest.hasSuffix("/") { rest = rest.dropLast() }
    port = nil
    if let colon = rest.lastIndex(of: ":"), let number = Int(rest[rest.index(after: colon)...]) {
      port = number
      rest = rest[..<colon]
    }
    host = String(rest)
  }
}

extension String {
  /// An http(s) base URL without its trailing slashes, or nil when the text is not http(s).
  package var httpBaseURL: String? {
    var base = trimmingSpaces
    guard case .http = try? Location(base) else { return nil }
    while base.hasSuffix("/") { base.removeLast() }
    return base
  }
}
