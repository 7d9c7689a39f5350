/// Where an S3-compatible service is and how to sign for it.
package struct S3Endpoint: Sendable, Equatable {
  /// Host name or address, without a scheme.
  package var host: String
  package var port: Int?
  package var useSSL: Bool
  package var region: String
  package var accessKey: String
  package var secretKey: String
  package var sessionToken: String?
  /// CA certificates to trust for an https endpoint (CTI_CA_BUNDLE); nil: the system's.
  package var caBundle: String?

  package init(
    host: String, port: Int? = nil, useSSL: Bool = true, region: String = "us-east-1", accessKey: String,
    secretKey: String, sessionToken: String? = nil, caBundle: String? = nil
  ) {
    self.host = host
    self.port = port
    self.useSSL = useSSL
    self.region = region
    self.accessKey = accessKey
    self.secretKey = secretKey
    self.sessionToken = sessionToken
    self.caBundle = caBundle
  }

  /// The HTTP client settings for this endpoint: its CA bundle, the rest as the client's defaults.
  package var httpSettings: HTTPClientSettings {
    var settings = HTTPClientSettings()
    settings.caBundle = caBundle
    return settings
  }

  /// `http[s]://host[:port]`, as boto3's endpoint_url.
  package var baseURL: String {
    (useSSL ? "https://" : "http://") + host + (port.map { ":\($0)" } ?? "")
  }
}

/// One object in a listing.
package struct S3Object: Sendable, Equatable {
  package var key: String
  package var size: Int
  /// LastModified, seconds since 1970 (S3 gives whole seconds or milliseconds).
  package var lastModified: Double

  package init(key: String, size: Int, lastModified: Double) {
    self.key = key
    self.size = size
    self.lastModified = lastModified
  }
}

/// An S3 request that failed: the service's error code and message when it sent one.
package struct S3Error: ToolError, Equatable {
  package var operation: String
  package var target: String
  package var status: Int
  /// `<Code>` of the error document (`SignatureDoesNotMatch`, `NoSuchBucket`, …), if any.
  package var code: String?
  package var message: String?
  /// Set when the request never got an answer.
  package var transport: HTTPError?

  package var exitStatus: ExitStatus {
    if let transport { return transport.exitStatus }
    switch status {
    case 401, 403: return .noPermission
    case 404: return .noInput
    case 429, 500...599: return .unavailable
    default: return .protocolError
    }
  }

  package var description: String {
    if let transport { return "S3 \(operation) \(target): \(transport)" }
    var text = "S3 \(operation) \(target): HTTP \(status)"
    if let code { text += " \(code)" }
    if let message, !message.isEmpty { text += ": \(message)" }
    return text
  }
}

/// A small S3 client (ListObjectsV2, GetObject, PutObject, DeleteObject, CreateBucket) over
/// CTICore's libcurl client, with path-style addresses (`/bucket/key`, which MinIO-like services
/// need) and SigV4 signed by libcurl.
///
/// libcurl 7.88 signs the query string raw and adds no payload hash, so this client builds the
/// query itself (sorted by name, RFC 3986 encoded, `k=` for empty values), percent-encodes keys,
/// and always sends `x-amz-content-sha256`. Pre-encoded text survives newer libcurl's own
/// canonicalisation, so the same requests stay correct there.
package final class S3Client {
  package let endpoint: S3Endpoint
  private let http: HTTPClient

  /// `http`: a client of the caller's (for its logger); by default one with the endpoint's settings.
  package init(endpoint: S3Endpoint, http: HTTPClient? = nil) {
    self.endpoint = endpoint
    self.http = http ?? HTTPClient(options: endpoint.httpSettings)
  }

  /// The settings its HTTP client runs with.
  var httpOptions: HTTPClientSettings { http.options }

  /// Every object under `prefix`, all pages (no delimiter: "sub-folders" are included).
  package func listObjects(bucket: String, prefix: String) throws(S3Error) -> [S3Object] {
    var objects: [S3Object] = []
    var token: String?
    repeat {
      var query = [("list-type", "2"), ("prefix", prefix)]
      if let token { query.append(("continuation-token", token)) }
      let response = try send(.get, bucket: bucket, key: nil, query: query, operation: "ListObjectsV2", target: "s3://\(bucket)/\(prefix)")
      let page = S3XML(response.body)
      for contents in page.elements("Contents") {
        guard let key = contents.first("Key") else { continue }
        let modified = contents.first("LastModified").flatMap(ISO8601.parse).map { Double($0.seconds) + Double($0.nanoseconds) / 1e9 } ?? 0
        objects.append(S3Object(key: key, size: contents.first("Size").flatMap { Int($0) } ?? 0, lastModified: modified))
      }
      token = page.first("IsTruncated") == "true" ? page.first("NextContinuationToken") : nil
    } while token != nil
    return objects
  }

  /// Streams an object's content to `onData` as it arrives.
  package func getObject(bucket: String, key: String, onData: (UnsafeRawBufferPointer) throws -> Void) throws {
    let request = signedRequest(.get, bucket: bucket, key: key, query: [], body: nil)
    do {
      try http.stream(request, onData: onData)
    } catch let error as HTTPError {
      if case .status(let status, _, let excerpt) = error {
        throw S3Error.from(status: status, body: Array(excerpt.utf8), operation: "GetObject", target: "s3://\(bucket)/\(key)")
      }
      throw S3Error(operation: "GetObject", target: "s3://\(bucket)/\(key)", status: 0, transport: error)
    }
  }

  /// An object's whole content, refused (`FileReadError.tooLarge`) as soon as it passes
  /// `maxBytes`, whatever the listing or the answer's headers said.
  package func getObject(bucket: String, key: String, maxBytes: Int = FileSystem.defaultMaxFileBytes) throws -> [UInt8] {
    var content: [UInt8] = []
    try getObject(bucket: bucket, key: key) { chunk in
      guard content.count + chunk.count <= maxBytes else {
        throw FileReadError(path: "s3://\(bucket)/\(key)", reason: .tooLarge(size: content.count + chunk.count, limit: maxBytes))
      }
      content.append(contentsOf: chunk)
    }
    return content
  }

  package func putObject(bucket: String, key: String, body: [UInt8], contentType: String = "application/json") throws(S3Error) {
    _ = try send(.put, bucket: bucket, key: key, body: body, headers: ["Content-Type": contentType], operation: "PutObject",
                 target: "s3://\(bucket)/\(key)")
  }

  /// Copies an object inside the server (CopyObject), so one too large to read can still be
  /// moved aside. S3 may answer 200 and still fail a copy part-way, with an `<Error>` document
  /// for body: that is a failure too, so the original is never deleted after a failed copy.
  package func copyObject(bucket: String, key: String, to destination: String) throws(S3Error) {
    var headers = HTTPHeaders()
    headers.set("x-amz-copy-source", "/" + Self.encode(bucket, keepSlash: false) + "/" + Self.encode(key, keepSlash: true))
    let target = "s3://\(bucket)/\(key)"
    let response = try send(.put, bucket: bucket, key: destination, body: [], headers: headers, operation: "CopyObject",
                            target: target)
    try Self.checkCopied(response.body, target: target)
  }

  /// Throws when a 200 answer to CopyObject is an `<Error>` document rather than a
  /// `<CopyObjectResult>`.
  static func checkCopied(_ body: [UInt8], target: String) throws(S3Error) {
    let document = S3XML(body)
    guard document.elements("CopyObjectResult").isEmpty, !document.elements("Error").isEmpty else { return }
    throw S3Error.from(status: 500, body: body, operation: "CopyObject", target: target)
  }

  package func deleteObject(bucket: String, key: String) throws(S3Error) {
    _ = try send(.delete, bucket: bucket, key: key, operation: "DeleteObject", target: "s3://\(bucket)/\(key)")
  }

  package func createBucket(_ bucket: String) throws(S3Error) {
    _ = try send(.put, bucket: bucket, key: nil, body: [], operation: "CreateBucket", target: "s3://\(bucket)")
  }

  // MARK: Requests

  private func send(
    _ method: HTTPMethod, bucket: String, key: String?, query: [(String, String)] = [], body: [UInt8]? = nil,
    headers: HTTPHeaders = HTTPHeaders(), operation: String, target: String
  ) throws(S3Error) -> HTTPResponse {
    var request = signedRequest(method, bucket: bucket, key: key, query: query, body: body)
    for (name, value) in headers { request.headers.set(name, value) }
    let response: HTTPResponse
    do {
      response = try http.send(request)
    } catch {
      throw S3Error(operation: operation, target: target, status: 0, transport: error)
    }
    guard response.head.isSuccess else {
      throw S3Error.from(status: response.status, body: response.body, operation: operation, target: target)
    }
    return response
  }

  func signedRequest(_ method: HTTPMethod, bucket: String, key: String?, query: [(String, String)], body: [UInt8]?) -> HTTPRequest {
    var path = "/" + Self.encode(bucket, keepSlash: false)
    if let key { path += "/" + Self.encode(key, keepSlash: true) }
    var url = endpoint.baseURL + path
    if !query.isEmpty { url += "?" + Self.canonicalQuery(query) }
    var request = HTTPRequest(method, url, body: body)
    request.headers.set("x-amz-content-sha256", Digest.sha256.hex(body ?? []))
    request.awsSigV4 = .s3(
      region: endpoint.region, accessKey: endpoint.accessKey, secretKey: endpoint.secretKey, sessionToken: endpoint.sessionToken)
    return request
  }

  /// RFC 3986 percent-encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - _ . ~` (and `/`
  /// in paths) as upper-case `%XX` of the UTF-8 bytes.
  package static func encode(_ text: String, keepSlash: Bool) -> String {
    PercentEncoding.encode(text, keeping: keepSlash ? "/" : "")
  }

  /// The query as SigV4 canonicalises it: encoded names and values, sorted by name then value.
  package static func canonicalQuery(_ items: [(String, String)]) -> String {
    let encoded: [(name: String, value: String)] = items.map { (encode($0.0, keepSlash: false), encode($0.1, keepSlash: false)) }
    let sorted = encoded.sorted { lhs, rhs in lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name }
    return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
  }
}

extension S3Error {
  static func from(status: Int, body: [UInt8], operation: String, target: String) -> S3Error {
    let document = S3XML(body)
    return S3Error(operation: operation, target: target, status: status, code: document.first("Code"), message: document.first("Message"))
  }
}

/// Just enough XML for S3's answers: the text of named elements, entities decoded. S3 documents
/// are flat and machine-written; no attributes, namespaces or CDATA are needed.
struct S3XML {
  let text: Substring

  init(_ bytes: [UInt8]) { text = Substring(String(decoding: bytes, as: UTF8.self)) }
  private init(_ text: Substring) { self.text = text }

  /// The contents of each `<name>…</name>`.
  func elements(_ name: String) -> [S3XML] {
    var result: [S3XML] = []
    var rest = text[...]
    let open = "<" + name + ">"
    let close = "</" + name + ">"
    while let start = rest.range(of: open) {
      guard let end = rest[start.upperBound...].range(of: close) else { break }
      result.append(S3XML(rest[start.upperBound..<end.lowerBound]))
      rest = rest[end.upperBound...]
    }
    return result
  }

  /// The decoded text of the first `<name>` element.
  func first(_ name: String) -> String? {
    elements(name).first.map { Self.decodeEntities(String($0.text)) }
  }

  static func decodeEntities(_ text: String) -> String {
    guard text.contains("&") else { return text }
    var result = ""
    var rest = text[...]
    while let amp = rest.firstIndex(of: "&") {
      result += rest[..<amp]
      guard let semi = rest[amp...].firstIndex(of: ";") else { break }
      let entity = rest[rest.index(after: amp)..<semi]
      switch entity {
      case "amp": result += "&"
      case "lt": result += "<"
      case "gt": result += ">"
      case "quot": result += "\""
      case "apos": result += "'"
      default:
        var number: UInt32?
        if entity.hasPrefix("#x") {
          number = UInt32(entity.dropFirst(2), radix: 16)
        } else if entity.hasPrefix("#") {
          number = UInt32(entity.dropFirst())
        }
        if let number, let scalar = Unicode.Scalar(number) { result.unicodeScalars.append(scalar) } else { result += "&" + entity + ";" }
      }
      rest = rest[rest.index(after: semi)...]
    }
    return result + rest
  }
}
