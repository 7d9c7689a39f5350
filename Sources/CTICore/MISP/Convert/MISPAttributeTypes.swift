#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What one MISP attribute value becomes (reference §3.6): the observable kind, its value and
/// the pattern.
struct MISPResolved: Equatable {
  enum Kind: Equatable {
    case fileName, pdbPath, fileMD5, fileSHA1, fileSHA256
    case ipv4, ipv6, hostname, domain, url, emailAddress, emailSubject, registryKey
    case userAgent, phoneNumber, text, githubUser, individual
    case yara, sigma
    /// A file known by its name and a hash (`filename|md5`, `malware-sample`; not with
    /// `MISPQuirks.filenameHashGivesNameOnly`).
    case fileNameAndHash(hashAlgorithm: String, hash: String)
    /// The connection of `ip-src|port` / `ip-dst|port` (value: the address; not with
    /// `MISPQuirks.ipPortGivesAddressOnly`).
    case connection(toDestination: Bool, port: Int, ipv6: Bool)
  }

  var kind: Kind
  var value: String

  /// The OpenCTI observable type (`x_opencti_main_observable_type`), nil for yara/sigma.
  var openCTIType: String? {
    switch kind {
    case .fileName, .pdbPath, .fileMD5, .fileSHA1, .fileSHA256, .fileNameAndHash: "File"
    case .ipv4: "IPv4-Addr"
    case .ipv6: "IPv6-Addr"
    case .hostname: "Hostname"
    case .domain: "Domain-Name"
    case .url: "Url"
    case .emailAddress: "Email-Addr"
    case .emailSubject: "Email-Message"
    case .registryKey: "Windows-Registry-Key"
    case .userAgent: "User-Agent"
    case .phoneNumber: "Phone-Number"
    case .text: "Text"
    case .githubUser: "User-Account"
    case .individual: "Identity"
    case .connection: "Network-Traffic"
    case .yara, .sigma: nil
    }
  }

  /// The STIX pattern type and pattern, or nil when the kind has none (an individual).
  var pattern: (type: String, pattern: String)? {
    func stix(_ object: String, _ path: String) -> (String, String) {
      ("stix", "[\(object):\(path) = '\(MISPResolved.escape(value))']")
    }
    switch kind {
    case .yara: return ("yara", value)
    case .sigma: return ("sigma", value)
    case .fileName, .pdbPath: return stix("file", "name")
    case .fileMD5: return stix("file", "hashes.MD5")
    case .fileSHA1: return stix("file", "hashes.'SHA-1'")
    case .fileSHA256: return stix("file", "hashes.'SHA-256'")
    case .fileNameAndHash(let algorithm, let hash):
      let path = algorithm.contains("-") ? "hashes.'\(algorithm)'" : "hashes.\(algorithm)"
      return ("stix", "[file:name = '\(Self.escape(value))' AND file:\(path) = '\(Self.escape(hash))']")
    case .ipv4: return stix("ipv4-addr", "value")
    case .ipv6: return stix("ipv6-addr", "value")
    case .hostname: return stix("hostname", "value")
    case .domain: return stix("domain-name", "value")
    case .url: return stix("url", "value")
    case .emailAddress: return stix("email-addr", "value")
    case .emailSubject: return stix("email-message", "subject")
    case .registryKey: return stix("windows-registry-key", "key")
    case .userAgent: return stix("user-agent", "value")
    case .phoneNumber: return stix("phone-number", "value")
    case .text: return stix("text", "value")
    case .githubUser: return stix("user-account", "account_login")
    case .individual: return nil
    case .connection(let toDestination, let port, _):
      let side = toDestination ? "dst" : "src"
      return (
        "stix",
        "[network-traffic:\(side)_ref.value = '\(Self.escape(value))' AND network-traffic:\(side)_port = \(port)]"
      )
    }
  }

  /// A string constant in a STIX pattern: `\` and `'` escaped with a backslash.
  static func escape(_ value: String) -> String {
    guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "'") }) else { return value }
    var result = ""
    for character in value {
      if character == "\\" || character == "'" { result.append("\\") }
      result.append(character)
    }
    return result
  }
}

/// MISP attribute types to `MISPResolved` values, with the official resolver's quirks
/// (`_resolve_type`) where `MISPQuirks` asks for them.
enum MISPAttributeTypes {
  /// The types that give one value of one kind, as the official resolver has them.
  private static let singleKinds: [String: MISPResolved.Kind] = [
    "yara": .yara, "sigma": .sigma, "filename": .fileName, "pdb": .pdbPath, "hostname": .hostname, "domain": .domain,
    "email-subject": .emailSubject, "email": .emailAddress, "email-src": .emailAddress, "email-dst": .emailAddress,
    "whois-registrant-email": .emailAddress, "url": .url, "user-agent": .userAgent, "phone-number": .phoneNumber,
    "text": .text, "github-username": .githubUser, "full-name": .individual,
  ]

  private static let hashLengths: [Int: (kind: MISPResolved.Kind, algorithm: String)] = [
    32: (.fileMD5, "MD5"), 40: (.fileSHA1, "SHA-1"), 64: (.fileSHA256, "SHA-256"),
  ]

  /// The hash kind an attribute type declares (`md5`, `filename|md5`…); nil for others.
  private static func declaredHashKind(_ type: String) -> MISPResolved.Kind? {
    if type.hasSuffix("md5") { return .fileMD5 }
    if type.hasSuffix("sha1") { return .fileSHA1 }
    if type.hasSuffix("sha256") { return .fileSHA256 }
    return nil
  }

  /// What an attribute becomes. nil: nothing (unsupported type, or a value the official
  /// connector drops).
  static func resolve(type: String, value rawValue: String, options: MISPConversionSettings) -> [MISPResolved]? {
    let quirks = options.quirks
    let value = quirks.keepsPaddedValues ? rawValue : PythonText.strip(rawValue)
    func unsupported(_ value: String) -> [MISPResolved]? {
      guard options.importUnsupportedObservablesAsText else { return nil }
      return [MISPResolved(kind: .text, value: value + " (type=" + type + ")")]
    }
    /// The two halves of a composite value; nil when it has none.
    func halves(_ value: String) -> (String, String)? {
      if quirks.splitsCompositesOnEveryBar {
        let parts = MISPTags.pythonSplit(value, "|")
        return parts.count == 2 ? (parts[0], parts[1]) : nil
      }
      guard let bar = value.lastIndex(of: "|") else { return nil }
      return (String(value[..<bar]), String(value[value.index(after: bar)...]))
    }
    func address(_ value: String) -> MISPResolved? {
      if quirks.typesIPsByTheConnectorsRegex {
        return MISPResolved(kind: officialIPv4Pattern(value) ? .ipv4 : .ipv6, value: value)
      }
      return ip(value)
    }
    switch type {
    case "md5", "sha1", "sha256":
      // A hash filed under the wrong type is still a hash: the length tells which.
      guard let (kind, _) = hashKind(value) else { return quirks.trustsHashTypes ? nil : unsupported(value) }
      if quirks.trustsHashTypes, kind != declaredHashKind(type) { return nil }
      return [MISPResolved(kind: kind, value: value)]
    case "filename|md5", "filename|sha1", "filename|sha256", "malware-sample":
      if type == "malware-sample", quirks.dropsMalwareSamples { return unsupported(value) }
      guard let (name, rawHash) = halves(value) else { return quirks.splitsCompositesOnEveryBar ? nil : unsupported(value) }
      let hash = quirks.keepsPaddedValues ? rawHash : PythonText.strip(rawHash)
      var algorithm: String?
      if let (kind, detected) = hashKind(hash), !quirks.trustsHashTypes || kind == declaredHashKind(type) {
        algorithm = detected
      }
      if quirks.filenameHashGivesNameOnly {
        return algorithm == nil ? nil : [MISPResolved(kind: .fileName, value: name)]
      }
      guard let algorithm else { return [MISPResolved(kind: .fileName, value: name)] }
      return [MISPResolved(kind: .fileNameAndHash(hashAlgorithm: algorithm, hash: hash), value: name)]
    case "ip-src", "ip-dst":
      return address(value).map { [$0] } ?? unsupported(value)
    case "ip-src|port", "ip-dst|port":
      if quirks.ipPortGivesAddressOnly {
        return halves(value).flatMap { address($0.0) }.map { [$0] }
      }
      guard let (host, portText) = halves(value), let resolved = address(host) else {
        return address(value).map { [$0] } ?? unsupported(value)
      }
      guard let port = Int(PythonText.strip(portText)), (0...65535).contains(port) else { return [resolved] }
      let connection = MISPResolved.Kind.connection(
        toDestination: type == "ip-dst|port", port: port, ipv6: resolved.kind == .ipv6)
      return [resolved, MISPResolved(kind: connection, value: resolved.value)]
    case "hostname|port":
      guard let (host, _) = halves(value) else {
        return quirks.splitsCompositesOnEveryBar ? nil : [MISPResolved(kind: .hostname, value: value)]
      }
      return [MISPResolved(kind: .hostname, value: host)]
    case "domain|ip":
      let parts = MISPTags.pythonSplit(value, "|")
      guard parts.count == 2 else { return quirks.splitsCompositesOnEveryBar ? nil : unsupported(value) }
      let domain = MISPResolved(kind: .domain, value: parts[0])
      if quirks.domainIPGivesDomainOnly { return [domain] }
      return [domain] + (ip(parts[1]).map { [$0] } ?? [])
    case "regkey":
      return [MISPResolved(kind: .registryKey, value: quirks.keepsAbbreviatedHives ? value : expandRegistryHive(value))]
    case "windows-scheduled-task":
      return quirks.dropsScheduledTasks ? nil : unsupported(value)
    default:
      guard let kind = singleKinds[type] else { return unsupported(rawValue) }
      // Patterns and free text keep their exact input.
      let kept = kind == .yara || kind == .sigma || kind == .text ? rawValue : value
      return [MISPResolved(kind: kind, value: kept)]
    }
  }

  private static func hashKind(_ value: String) -> (MISPResolved.Kind, String)? {
    guard let entry = hashLengths[value.utf8.count], value.utf8.allSatisfy(isHexDigit) else { return nil }
    return (entry.kind, entry.algorithm)
  }

  private static func isHexDigit(_ byte: UInt8) -> Bool {
    (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
  }

  /// An IPv4 or IPv6 address or network, refanged (`[.]`), without a `:port`;
  /// nil when it is neither.
  static func ip(_ raw: String) -> MISPResolved? {
    var value = PythonText.strip(raw).replacingOccurrences(of: "[.]", with: ".")
    if isIPv4Network(value) { return MISPResolved(kind: .ipv4, value: value) }
    if isIPv6Network(value) { return MISPResolved(kind: .ipv6, value: value) }
    // 198.51.100.7:8080
    if let colon = value.lastIndex(of: ":"), value.firstIndex(of: ":") == colon,
      value[value.index(after: colon)...].allSatisfy({ $0.isASCII && $0.isNumber })
    {
      value = String(value[..<colon])
      if isIPv4Network(value) { return MISPResolved(kind: .ipv4, value: value) }
    }
    return nil
  }

  static func isIPv4Network(_ value: String) -> Bool {
    let (address, prefix) = splitPrefix(value)
    guard let prefix else { return isIPv4(address) }
    return isIPv4(address) && prefix <= 32
  }

  static func isIPv6Network(_ value: String) -> Bool {
    let (address, prefix) = splitPrefix(value)
    var buffer = in6_addr()
    guard address.contains(":"), inet_pton(AF_INET6, address, &buffer) == 1 else { return false }
    return (prefix ?? 0) <= 128
  }

  private static func isIPv4(_ value: String) -> Bool {
    let parts = value.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return false }
    return parts.allSatisfy { part in
      guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(part) else {
        return false
      }
      return number <= 255 && (part.count == 1 || part.first != "0")
    }
  }

  private static func splitPrefix(_ value: String) -> (String, Int?) {
    guard let slash = value.firstIndex(of: "/") else { return (value, nil) }
    let digits = value[value.index(after: slash)...]
    guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return (value, 999) }
    return (String(value[..<slash]), Int(digits))
  }

  /// The official check (`_detect_ip_version`): anything that fails this regular expression is
  /// taken for IPv6: `^((25[0-5]|(2[0-4]|1\d|[1-9]|)\d)\.?\b){4}(\/([1-9]|[1-2]\d|3[0-2]))?$`.
  static func officialIPv4Pattern(_ value: String) -> Bool {
    var matcher = OfficialIPv4Matcher(Array(value.utf8))
    return matcher.matches()
  }

  /// Full registry hive names, as STIX requires (`HKLM\…` → `HKEY_LOCAL_MACHINE\…`).
  static func expandRegistryHive(_ key: String) -> String {
    let hives = [
      "HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKCR": "HKEY_CLASSES_ROOT", "HKU": "HKEY_USERS",
      "HKCC": "HKEY_CURRENT_CONFIG",
    ]
    let end = key.firstIndex(where: { $0 == "\\" || $0 == "/" }) ?? key.endIndex
    let head = key[..<end]
    guard let full = hives[head.uppercased()] else { return key }
    return full + key[end...]
  }
}

/// A direct matcher for the official connector's IPv4 regular expression (with Python `re`
/// semantics: four groups of a decimal octet, each optionally followed by a dot and a word
/// boundary, then an optional `/1`…`/32`, and the end). Backtracking over the optional dots and
/// the octet alternatives is done by trying every split.
private struct OfficialIPv4Matcher {
  let bytes: [UInt8]
  init(_ bytes: [UInt8]) { self.bytes = bytes }

  mutating func matches() -> Bool { groups(from: 0, remaining: 4) }

  private func isDigit(_ index: Int) -> Bool { index < bytes.count && (48...57).contains(bytes[index]) }
  private func isWord(_ index: Int) -> Bool {
    guard index >= 0, index < bytes.count else { return false }
    let byte = bytes[index]
    return (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 95 || byte >= 0x80
  }
  private func boundary(_ index: Int) -> Bool { isWord(index - 1) != isWord(index) }

  /// The end positions of one octet alternative starting at `start`, in regex preference order.
  private func octetEnds(_ start: Int) -> [Int] {
    var ends: [Int] = []
    func digit(_ i: Int) -> Int? { isDigit(i) ? Int(bytes[i] - 48) : nil }
    // 25[0-5]
    if digit(start) == 2, digit(start + 1) == 5, let d = digit(start + 2), d <= 5 { ends.append(start + 3) }
    // (2[0-4]|1\d|[1-9]|)\d
    if digit(start) == 2, let d = digit(start + 1), d <= 4, digit(start + 2) != nil { ends.append(start + 3) }
    if digit(start) == 1, digit(start + 1) != nil, digit(start + 2) != nil { ends.append(start + 3) }
    if let d = digit(start), d >= 1, digit(start + 1) != nil { ends.append(start + 2) }
    if digit(start) != nil { ends.append(start + 1) }
    return ends
  }

  private func groups(from index: Int, remaining: Int) -> Bool {
    if remaining == 0 { return tail(from: index) }
    for end in octetEnds(index) {
      // \.? is greedy: with the dot first, then without.
      if end < bytes.count, bytes[end] == UInt8(ascii: "."), boundary(end + 1), groups(from: end + 1, remaining: remaining - 1) {
        return true
      }
      if boundary(end), groups(from: end, remaining: remaining - 1) { return true }
    }
    return false
  }

  /// `(\/([1-9]|[1-2]\d|3[0-2]))?$`
  private func tail(from index: Int) -> Bool {
    if index == bytes.count { return true }
    guard bytes[index] == UInt8(ascii: "/") else { return false }
    let text = String(decoding: bytes[(index + 1)...], as: UTF8.self)
    guard !text.isEmpty, text.utf8.allSatisfy({ (48...57).contains($0) }),
      text.first != "0", text.count <= 2, let number = Int(text)
    else { return false }
    return (1...32).contains(number)
  }
}

/// A rough check of the syntax STIX validators expect of values cti-misp copies verbatim
/// (domain names, URLs, e-mail addresses). Failing values are kept and counted, never dropped.
enum MISPValueSyntax {
  static func isValid(type: String, value: String) -> Bool {
    switch type {
    case "domain-name", "hostname": return isHostname(value)
    case "url":
      guard let colon = value.firstIndex(of: ":"), let first = value.first, first.isASCII, first.isLetter else { return false }
      return value[..<colon].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
        && !value.contains(" ")
    case "email-addr":
      guard let at = value.lastIndex(of: "@"), at != value.startIndex else { return false }
      return isHostname(String(value[value.index(after: at)...]))
    default: return true
    }
  }

  static func isHostname(_ value: String) -> Bool {
    let utf8 = value.utf8
    guard !utf8.isEmpty, utf8.count <= 253 else { return false }
    var labelLength = 0
    var previous: UInt8 = UInt8(ascii: ".")
    for byte in utf8 {
      if byte == UInt8(ascii: ".") {
        guard labelLength > 0, previous != UInt8(ascii: "-") else { return false }
        labelLength = 0
      } else {
        let allowed =
          byte >= 0x80 || (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
          || byte == UInt8(ascii: "-")
        guard allowed, !(labelLength == 0 && byte == UInt8(ascii: "-")) else { return false }
        labelLength += 1
        guard labelLength <= 63 else { return false }
      }
      previous = byte
    }
    return labelLength > 0 && previous != UInt8(ascii: "-")
  }
}
