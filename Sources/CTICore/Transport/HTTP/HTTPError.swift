/// Why an HTTP exchange failed, phrased so that a user can tell what to fix.
package enum HTTPError: ToolError, Equatable, Sendable {
  /// The URL or a header could not be used.
  case invalidRequest(String)
  /// The host name did not resolve.
  case dns(host: String, detail: String)
  /// Nothing accepted the connection.
  case connectionRefused(url: String, detail: String)
  /// The connection could not be set up in time.
  case connectTimeout(url: String, seconds: Double)
  /// TLS failed: handshake, or the server's certificate was not trusted.
  case tls(url: String, detail: String)
  /// A plain request took longer than its total time limit.
  case timedOut(url: String, seconds: Double)
  /// No byte arrived for `seconds` (a dead or stuck connection).
  case stalled(url: String, seconds: Double)
  /// The connection broke before the response was complete.
  case connectionLost(url: String, detail: String)
  /// The server answered with a status the caller does not accept.
  case status(code: Int, url: String, excerpt: String)
  /// The response body was bigger than allowed.
  case tooLarge(url: String, limit: Int)
  /// The caller asked to stop (signal, limit reached).
  case cancelled
  /// Any other libcurl failure.
  case transport(code: Int, url: String, detail: String)

  /// Whether trying again later may succeed.
  package var isTransient: Bool {
    switch self {
    case .dns, .connectionRefused, .connectTimeout, .timedOut, .stalled, .connectionLost: true
    case .status(let code, _, _): HTTPError.isRetryableStatus(code)
    case .transport(let code, _, _): code == 16 || code == 92  // HTTP/2 framing and stream errors
    case .invalidRequest, .tls, .tooLarge, .cancelled: false
    }
  }

  package var exitStatus: ExitStatus {
    switch self {
    case .invalidRequest: .config
    case .dns, .connectionRefused, .connectTimeout: .unavailable
    case .tls: .config
    case .timedOut, .stalled, .connectionLost: .tempFail
    case .status(let code, _, _):
      switch code {
      case 401, 403: .noPermission
      case 429, 500...599: .unavailable
      default: .protocolError
      }
    case .tooLarge: .protocolError
    case .cancelled: .ok
    case .transport: .unavailable
    }
  }

  package var description: String {
    switch self {
    case .invalidRequest(let detail): "invalid request: \(detail)"
    case .dns(let host, let detail): "cannot resolve host \(host) (\(detail))"
    case .connectionRefused(let url, let detail): "cannot connect to \(url): \(detail)"
    case .connectTimeout(let url, let seconds): "no connection to \(url) within \(Self.seconds(seconds))"
    case .tls(let url, let detail):
      "TLS failure with \(url): \(detail) (use --ca-bundle for a private CA; --insecure disables the check)"
    case .timedOut(let url, let seconds): "\(url) did not answer within \(Self.seconds(seconds))"
    case .stalled(let url, let seconds): "no data from \(url) for \(Self.seconds(seconds)), connection considered dead"
    case .connectionLost(let url, let detail): "connection to \(url) lost: \(detail)"
    case .status(let code, let url, let excerpt):
      "HTTP \(code)\(Self.reason(code).isEmpty ? "" : " " + Self.reason(code)) from \(url)"
        + (excerpt.isEmpty ? "" : ": \(excerpt)")
    case .tooLarge(let url, let limit): "response from \(url) is larger than \(limit) bytes"
    case .cancelled: "cancelled"
    case .transport(let code, let url, let detail): "transfer with \(url) failed (curl \(code)): \(detail)"
    }
  }

  /// 429 and 5xx except those that say the server will not do it (501, 505).
  package static func isRetryableStatus(_ code: Int) -> Bool {
    code == 429 || code == 408 || ((500...599).contains(code) && code != 501 && code != 505)
  }

  /// A URL fit for messages: user name and password removed.
  package static func displayURL(_ url: String) -> String {
    let parts = URLParts(url)
    guard let at = parts.userInfoEnd else { return url }
    return String(decoding: parts.bytes[..<parts.authorityStart] + parts.bytes[(at + 1)...], as: UTF8.self)
  }

  /// The host part of a URL, for DNS messages.
  static func host(of url: String) -> String {
    let parts = URLParts(url)
    var authority = parts.bytes[(parts.userInfoEnd.map { $0 + 1 } ?? parts.authorityStart)..<parts.authorityEnd]
    if authority.first == UInt8(ascii: "["), let close = authority.firstIndex(of: UInt8(ascii: "]")) {
      return String(decoding: authority[...close], as: UTF8.self)
    }
    if let colon = authority.firstIndex(of: UInt8(ascii: ":")) { authority = authority[..<colon] }
    return String(decoding: authority, as: UTF8.self)
  }

  /// Where the authority of a URL starts and ends, found without Foundation.
  private struct URLParts {
    let bytes: [UInt8]
    var authorityStart = 0
    var authorityEnd = 0
    /// The index of the `@` that ends a user-info part, if there is one.
    var userInfoEnd: Int?

    init(_ url: String) {
      bytes = Array(url.utf8)
      var index = 0
      while index + 2 < bytes.count {
        if bytes[index] == UInt8(ascii: ":"), bytes[index + 1] == UInt8(ascii: "/"), bytes[index + 2] == UInt8(ascii: "/") {
          authorityStart = index + 3
          break
        }
        index += 1
      }
      authorityEnd = bytes[authorityStart...].firstIndex {
        $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#")
      } ?? bytes.count
      userInfoEnd = bytes[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@"))
    }
  }

  /// The start of a response body as one short line of text.
  package static func excerpt(_ body: [UInt8], limit: Int = 200) -> String {
    var text = ""
    var pendingSpace = false
    for character in String(decoding: body.prefix(limit), as: UTF8.self) {
      if character.isWhitespace || character.asciiValue.map({ $0 < 0x20 || $0 == 0x7F }) == true {
        pendingSpace = !text.isEmpty
        continue
      }
      if pendingSpace { text.append(" ") }
      pendingSpace = false
      text.append(character)
    }
    return body.count > limit ? text + "…" : text
  }

  static func seconds(_ value: Double) -> String {
    value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
  }

  static func reason(_ code: Int) -> String {
    switch code {
    case 400: "Bad Request"
    case 401: "Unauthorized"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 408: "Request Timeout"
    case 410: "Gone"
    case 429: "Too Many Requests"
    case 500: "Internal Server Error"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    case 504: "Gateway Timeout"
    default: ""
    }
  }
}
