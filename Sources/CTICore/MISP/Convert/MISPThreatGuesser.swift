import Foundation
package import Logging

/// `guess_threats_from_tags` (reference §3.5): each tag's value is looked up in OpenCTI among
/// intrusion sets, malware, tools and attack patterns, and a hit becomes a threat entity of
/// the bundle. Every distinct value is asked once per run; answers, misses included, are kept.
/// After an outage (network failure, 5xx or 429 after the client's retries) later lookups fail
/// at once with the same error instead of waiting on a platform that is down.
package final class MISPThreatGuesser: @unchecked Sendable {
  package typealias Lookup = (String) throws(OpenCTIError) -> GraphQLResponse.DomainObject?

  private let lookup: Lookup
  private let lock = NSLock()
  private var answers: [String: GraphQLResponse.DomainObject?] = [:]
  private var outage: OpenCTIError?
  private var queries = 0

  package init(lookup: @escaping Lookup) { self.lookup = lookup }

  /// Looks values up with `client.findThreat`.
  package convenience init(client: OpenCTIClient) {
    self.init { (value: String) throws(OpenCTIError) in try client.findThreat(value) }
  }

  /// How many lookups were sent to the platform so far.
  package var queryCount: Int { lock.withLock { queries } }

  /// The platform's entity for `value`, or nil when it knows none.
  package func threat(for value: String) throws(OpenCTIError) -> GraphQLResponse.DomainObject? {
    lock.lock()
    defer { lock.unlock() }
    if let known = answers[value] { return known }
    if let outage { throw outage }
    queries += 1
    do {
      let answer = try lookup(value)
      answers[value] = .some(answer)
      return answer
    } catch {
      if error.isPlatformFailure { outage = error }
      throw error
    }
  }

  /// The value the official connector looks up for a tag name: the text after the first `=`
  /// (quotes removed), then after the first `:` of that (quotes removed), e.g.
  /// `misp-galaxy:threat-actor="APT 28"` → `APT 28`, `type:OSINT` → `OSINT`, `APT28` → `APT28`.
  /// Nil when nothing is left.
  package static func lookupValue(_ tagName: String) -> String? {
    var value = tagName
    for separator in ["=", ":"] {
      let parts = MISPTags.pythonSplit(value, separator)
      if parts.count > 1 { value = parts[1].replacingOccurrences(of: "\"", with: "") }
    }
    return value.isEmpty ? nil : value
  }

  /// The lookups an event needs, done up front so converting it cannot fail half-way: the
  /// values of the event's tags and of every attribute's (objects' attributes included).
  func answers(for event: JSONObject) throws(OpenCTIError) -> [String: GraphQLResponse.DomainObject] {
    var found: [String: GraphQLResponse.DomainObject] = [:]
    var seen: Set<String> = []
    func visit(_ tags: JSONValue?) throws(OpenCTIError) {
      for tag in tags?.arrayValue ?? [] {
        guard let name = tag["name"]?.stringValue, let value = Self.lookupValue(name), seen.insert(value).inserted
        else { continue }
        if let hit = try threat(for: value) { found[value] = hit }
      }
    }
    try visit(event["Tag"])
    for attribute in event["Attribute"]?.arrayValue ?? [] { try visit(attribute["Tag"]) }
    for object in event["Object"]?.arrayValue ?? [] {
      for attribute in object["Attribute"]?.arrayValue ?? [] { try visit(attribute["Tag"]) }
    }
    return found
  }
}

/// The platform `guess_threats_from_tags` needs could not be used.
package struct MISPPlatformError: ToolError {
  package var url: String
  package var underlying: OpenCTIError
  package var exitStatus: ExitStatus { underlying.exitStatus }
  package var description: String {
    "guess_threats_from_tags needs OpenCTI at \(url), which did not answer: \(underlying)"
  }
}

extension MISPThreatGuesser {
  /// The guesser for the platform at OPENCTI_URL (config `opencti.url`) with OPENCTI_TOKEN,
  /// checked with `about { version }` first so a platform that is down stops the run before
  /// any event is read. Nil when no URL is set: the option is then unavailable.
  package static func connect(_ configuration: Configuration, tls: TLSFlags = TLSFlags(), logger: Logger) throws -> MISPThreatGuesser? {
    guard let url = configuration.string(OpenCTIKeys.url), !url.trimmingSpaces.isEmpty else { return nil }
    guard let token = configuration.string(OpenCTIKeys.token), !token.isEmpty else {
      throw ConfigError("guess_threats_from_tags: OPENCTI_URL is set but OPENCTI_TOKEN (config opencti.token) is not")
    }
    var options = HTTPClientSettings()
    try options.applyTLS(tls, verify: OpenCTIKeys.sslVerify, configuration)
    options.maxGraphQLResponseBytes = try configuration.byteCount(
      OpenCTIKeys.maxGraphQLResponseBytes, default: HTTPClientSettings.defaultMaxGraphQLResponseBytes)
    let client = OpenCTIClient(transport: try HTTPGraphQLTransport(url: url, token: token, options: options, logger: logger))
    do {
      _ = try client.version()
    } catch {
      throw MISPPlatformError(url: url, underlying: error)
    }
    return MISPThreatGuesser(client: client)
  }
}
