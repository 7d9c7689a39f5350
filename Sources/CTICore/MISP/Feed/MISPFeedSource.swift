/// A problem fetching one feed file (missing, unreadable, HTTP error after retries).
package struct MISPFetchError: ToolError {
  package var message: String
  package var exitStatus: ExitStatus
  package init(_ message: String, exitStatus: ExitStatus = .noInput) {
    self.message = message
    self.exitStatus = exitStatus
  }
  package var description: String { message }
}

/// Where a MISP feed's files come from: a folder on disk, or a URL.
package protocol MISPFeedSource {
  /// A short description for messages (the folder or URL).
  var location: String { get }
  /// The bytes of `manifest.json` or `<uuid>.json`.
  func file(_ name: String) throws(MISPFetchError) -> [UInt8]
}

/// A feed laid out in a local folder. A file over `maxFileBytes` fails its event (exit 65)
/// rather than being read into memory whole.
package struct MISPDirectorySource: MISPFeedSource {
  package let path: String
  package let maxFileBytes: Int
  package init(path: String, maxFileBytes: Int = FileSystem.defaultMaxFileBytes) {
    self.path = path
    self.maxFileBytes = maxFileBytes
  }
  package var location: String { path }

  package func file(_ name: String) throws(MISPFetchError) -> [UInt8] {
    let full: String
    do { full = try SafeName.join(path, name) } catch { throw MISPFetchError("\(error)", exitStatus: .dataError) }
    do { return try FileSystem.read(full, maxBytes: maxFileBytes) } catch {
      throw MISPFetchError("\(error)", exitStatus: error.exitStatus)
    }
  }
}

/// A feed served over HTTP(S): `<url>/manifest.json` and `<url>/<uuid>.json`, fetched with the
/// libcurl client (transient failures and 5xx retried with backoff by the client).
package final class MISPHTTPSource: MISPFeedSource {
  package let url: String
  let client: HTTPClient
  let authorization: String?

  /// `authorization` is sent verbatim as the `Authorization` header
  /// (MISP_FEED_HTTP_AUTHORIZATION_HEADER, e.g. `Basic …` or `Bearer …`).
  package init(url: String, authorization: String?, client: HTTPClient) {
    var base = url
    while base.hasSuffix("/") { base.removeLast() }
    self.url = base
    self.authorization = authorization
    self.client = client
  }

  package var location: String { HTTPError.displayURL(url) }

  package func file(_ name: String) throws(MISPFetchError) -> [UInt8] {
    // Names come from the manifest: one plain path component, never `..` or a query.
    do { try SafeName.check(name) } catch { throw MISPFetchError("\(error)", exitStatus: .dataError) }
    guard !name.contains(where: { $0 == "?" || $0 == "#" || $0 == "%" || $0 == " " }) else {
      throw MISPFetchError("unsafe file name '\(name)' in the manifest", exitStatus: .dataError)
    }
    var headers = HTTPHeaders()
    if let authorization, !authorization.isEmpty { headers.set("Authorization", authorization) }
    do {
      return try client.send(HTTPRequest(.get, url + "/" + name, headers: headers)).requireSuccess().body
    } catch {
      throw MISPFetchError("\(error)", exitStatus: error.exitStatus)
    }
  }
}
