import Foundation

/// Downloads the files an OpenCTI object lists in its extension (`files[]`, each with a `uri`
/// such as `/storage/get/import/Indicator/<id>/report.pdf`) and stores them base64 in the
/// entry's `data`, the form restore-files and pycti's import read back. Unlike the official
/// connector it checks the HTTP status, so an error page is never stored as the file.
package final class AttachmentFetcher {
  /// The platform URL with a trailing slash.
  package let baseURL: String
  private let token: String?
  private let client: HTTPClient
  package private(set) var fetched = 0
  package private(set) var failed = 0

  package init(baseURL: String, token: String?, options: HTTPClientSettings) {
    self.baseURL = baseURL.hasSuffix("/") ? baseURL : baseURL + "/"
    self.token = token
    client = HTTPClient(options: options)
  }

  /// The object's bytes with every missing `data` filled in, or nil when it lists no file that
  /// lacks data. A file that cannot be fetched is left without `data` and reported through
  /// `report` (its name and why); the rest of the object is kept.
  package func enrich(_ object: RawObject, report: (String) -> Void) throws(JSONError) -> [UInt8]? {
    guard let files = object.object("extensions")?.object(openCTIExtensionID)?.arrayElements("files"),
      files.contains(where: { range in (try? RawObject(object.source, range: range))?.valueRange("data") == nil })
    else { return nil }
    var tree = try object.parsed()
    guard var extensions = tree["extensions"]?.objectValue, var platform = extensions[openCTIExtensionID]?.objectValue,
      let entries = platform["files"]?.arrayValue
    else { return nil }
    let id = tree["id"]?.stringValue ?? "?"
    platform["files"] = .array(entries.map { entry in fill(entry, of: id, report: report) })
    extensions[openCTIExtensionID] = .object(platform)
    tree["extensions"] = .object(extensions)
    return JSONWriter.serialize(.object(tree))
  }

  /// A storage path with each segment percent-encoded, as pycti's requests sends it: OpenCTI
  /// puts the file name in the uri as it is (`…/schema incidents.csv`), which libcurl refuses.
  /// The characters a path segment may hold (RFC 3986 pchar) stay; `%`, `?` and `#` are
  /// encoded too, since the uri is never encoded already.
  static func encodedPath(_ path: Substring) -> String {
    path.split(separator: "/", omittingEmptySubsequences: false)
      .map { PercentEncoding.encode(String($0), keeping: "!$&'()*+,;=:@") }
      .joined(separator: "/")
  }

  private func fill(_ entry: JSONValue, of id: String, report: (String) -> Void) -> JSONValue {
    guard var file = entry.objectValue, file["data"] == nil else { return entry }
    let name = file["name"]?.stringValue ?? "(unnamed)"
    guard let uri = file["uri"]?.stringValue, let start = uri.range(of: "storage/get") else {
      failed += 1
      report("\(id): file \(name): uri '\(file["uri"]?.stringValue ?? "")' has no storage/get path; stored without data")
      return entry
    }
    let url = baseURL + Self.encodedPath(uri[start.lowerBound...])
    do {
      let response = try client.send(HTTPRequest(.get, url, bearerToken: token)).requireSuccess()
      file["data"] = .string(Data(response.body).base64EncodedString())
      fetched += 1
      return .object(file)
    } catch {
      failed += 1
      report("\(id): file \(name): \(error); stored without data")
      return entry
    }
  }
}
