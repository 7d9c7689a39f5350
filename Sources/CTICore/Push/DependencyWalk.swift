import Foundation

/// A top-level `*_ref` or `*_refs` member of a STIX object, as pycti's splitter walks it.
package struct ReferenceField: Sendable, Equatable {
  package enum Value: Sendable, Equatable {
    /// A `*_ref` key: an id, or nil for null.
    case one(String?)
    /// A `*_refs` key holding a list (a null list is not a reference field).
    case many([String])
  }

  package var key: String
  package var value: Value

  package init(key: String, value: Value) {
    self.key = key
    self.value = value
  }

  /// The reference fields of `object`, in key order. `strict` throws on values pycti cannot
  /// walk (a `*_refs` that is not a list, an id that is not a string), where pycti raises;
  /// otherwise such values are skipped.
  package static func fields(of object: RawObject, strict: Bool) throws(SplitError) -> [ReferenceField] {
    var fields: [ReferenceField] = []
    for member in object.members {
      let first = object.source[member.value.lowerBound]
      if member.key.hasSuffix("_refs") {
        if first == UInt8(ascii: "n") { continue }
        guard first == UInt8(ascii: "["), let elements = object.arrayElements(member.key) else {
          if strict { throw SplitError("\(member.key) is not a list") }
          continue
        }
        var ids: [String] = []
        ids.reserveCapacity(elements.count)
        for range in elements {
          if object.source[range.lowerBound] == UInt8(ascii: "\""),
            let id = try? object.source.withUnsafeBufferPointer({ buffer throws(JSONError) in try JSONParser.string(buffer, in: range) })
          {
            ids.append(id)
          } else if strict {
            throw SplitError("\(member.key) holds something other than an id")
          }
        }
        fields.append(ReferenceField(key: member.key, value: .many(ids)))
      } else if member.key.hasSuffix("_ref") {
        if first == UInt8(ascii: "n") {
          fields.append(ReferenceField(key: member.key, value: .one(nil)))
        } else if let id = object.string(member.key) {
          fields.append(ReferenceField(key: member.key, value: .one(id)))
        } else if strict {
          throw SplitError("\(member.key) is not an id")
        }
      }
    }
    return fields
  }
}

/// A bundle pycti's splitter cannot handle (where pycti raises an exception).
package struct SplitError: ToolError, Equatable, Sendable {
  package var message: String
  package init(_ message: String) { self.message = message }
  package var exitStatus: ExitStatus { .dataError }
  package var description: String { message }
}

/// The walk of pycti's `OpenCTIStix2Splitter.enlist_element` (client-python 6.8,
/// `pycti/utils/opencti_stix2_splitter.py`), reproduced step for step because its side effects
/// are part of what the platform receives:
///
/// - each object gets `nb_deps`: 1, plus the count of every reference it keeps, followed
///   recursively (a reference missing from the bundle adds 0);
/// - a reference is dropped (`*_refs`) or nulled (`*_ref`) when its type is not one OpenCTI
///   supports, it points to the object itself or to an object on the current path (a cycle),
///   or the referenced object already references this one;
/// - results are cached by the id they were reached by, so an object reached through its
///   `x_opencti_id` may be walked (and sent) twice, as pycti does;
/// - relationships without both ends and sightings without `sighting_of_ref` or any
///   `where_sighted_refs` are incompatible and not sent.
///
/// The AMQP push splits bundles with it (`SplitBundle`); every push orders objects by its
/// counts (`DependencyOrder`).
struct DependencyWalk {
  struct Node {
    var id: String
    var aliases: [String]
    var type: String
    var fields: [ReferenceField]
    var changed: [Bool]
    var nbDeps: Int?
  }

  /// pycti raises RecursionError near 1000 nested calls; a Swift thread's stack is smaller
  /// still, so deeper chains are refused.
  static let maxDepth = 900

  var nodes: [Node]
  let cleanupInconsistentBundle: Bool
  private(set) var rawData: [String: Int] = [:]
  private var cacheIndex: [String: Int] = [:]
  private var cacheRefs: [String: Set<String>] = [:]
  /// Compatible objects in the order their walk finished (an object may appear twice).
  private(set) var elements: [Int] = []
  private(set) var incompatible: [Int] = []
  private var path: [String] = []
  private var onPath: [String: Int] = [:]

  init(nodes: [Node], cleanupInconsistentBundle: Bool = false) {
    self.nodes = nodes
    self.cleanupInconsistentBundle = cleanupInconsistentBundle
    for (index, node) in nodes.enumerated() {
      rawData[node.id] = index
      for alias in node.aliases { rawData[alias] = index }
    }
  }

  /// Walks every object in input order.
  mutating func run() throws(SplitError) {
    for index in nodes.indices { _ = try enlist(nodes[index].id) }
  }

  /// The compatible objects sorted by `nb_deps`, stable (Python's `list.sort`).
  func sortedElements() -> [Int] {
    elements.enumerated().sorted { left, right in
      let l = nodes[left.element].nbDeps ?? 0
      let r = nodes[right.element].nbDeps ?? 0
      return l != r ? l < r : left.offset < right.offset
    }.map(\.element)
  }

  private mutating func enlist(_ itemId: String) throws(SplitError) -> Int {
    guard let index = rawData[itemId] else { return 0 }
    if let cached = cacheIndex[itemId] { return nodes[cached].nbDeps ?? 0 }
    guard path.count < Self.maxDepth else {
      throw SplitError("references nest deeper than \(Self.maxDepth) objects")
    }
    if cacheRefs[itemId] == nil { cacheRefs[itemId] = [] }
    var nbDeps = 1
    for field in nodes[index].fields.indices {
      switch nodes[index].fields[field].value {
      case .many(let list):
        var kept: [String] = []
        for reference in list {
          if accepts(reference, from: itemId) {
            cacheRefs[itemId, default: []].insert(reference)
            nbDeps += try follow(reference)
            if !kept.contains(reference) { kept.append(reference) }
          }
          // pycti assigns the list after every element, so a walk that comes back to this
          // object in the middle sees the references kept so far.
          set(index, field, .many(kept))
        }
      case .one(let reference):
        if let reference, accepts(reference, from: itemId) {
          cacheRefs[itemId, default: []].insert(reference)
          nbDeps += try follow(reference)
        } else if reference != nil {
          set(index, field, .one(nil))
        }
      }
    }
    nodes[index].nbDeps = nbDeps
    if cacheIndex[itemId] == nil {
      if isCompatible(nodes[index], reachedAs: itemId) {
        elements.append(index)
      } else {
        incompatible.append(index)
      }
      cacheIndex[itemId] = index
      for alias in nodes[index].aliases { cacheIndex[alias] = index }
    }
    return nbDeps
  }

  private mutating func follow(_ reference: String) throws(SplitError) -> Int {
    path.append(reference)
    onPath[reference, default: 0] += 1
    defer {
      path.removeLast()
      if onPath[reference] == 1 { onPath[reference] = nil } else { onPath[reference]? -= 1 }
    }
    return try enlist(reference)
  }

  private func accepts(_ reference: String, from itemId: String) -> Bool {
    let missing = rawData[reference] == nil
    if missing && cleanupInconsistentBundle { return false }
    if onPath[reference] != nil || reference == itemId { return false }
    if let references = cacheRefs[reference], references.contains(itemId) { return false }
    return PyctiTypes.isSupported(id: reference)
  }

  private mutating func set(_ index: Int, _ field: Int, _ value: ReferenceField.Value) {
    if nodes[index].fields[field].value != value {
      nodes[index].fields[field].value = value
      nodes[index].changed[field] = true
    }
  }

  private func isCompatible(_ node: Node, reachedAs itemId: String) -> Bool {
    func one(_ key: String) -> String? {
      for field in node.fields where field.key == key {
        if case .one(let value) = field.value { return value }
      }
      return nil
    }
    func many(_ key: String) -> [String] {
      for field in node.fields where field.key == key {
        if case .many(let value) = field.value { return value }
      }
      return []
    }
    switch node.type {
    case "relationship": return one("source_ref") != nil && one("target_ref") != nil
    case "sighting": return one("sighting_of_ref") != nil && !many("where_sighted_refs").isEmpty
    default: return PyctiTypes.isSupported(id: itemId)
    }
  }
}

/// The STIX types OpenCTI imports, as pycti lists them (`opencti_stix2_utils.py`, 6.8): entities,
/// meta objects, internal objects, observables, relationships, sightings and `pir`.
package enum PyctiTypes {
  package static let supported: Set<String> = [
    // SUPPORTED_STIX_ENTITY_OBJECTS (meta, then core)
    "label", "vocabulary", "kill-chain-phase",
    "attack-pattern", "campaign", "case-incident", "x-opencti-case-incident", "case-rfi", "x-opencti-case-rfi",
    "case-rft", "x-opencti-case-rft", "channel", "course-of-action", "data-component", "x-mitre-data-component",
    "data-source", "x-mitre-data-source", "event", "external-reference", "feedback", "x-opencti-feedback",
    "grouping", "identity", "incident", "indicator", "infrastructure", "intrusion-set", "language", "location",
    "malware", "malware-analysis", "marking-definition", "narrative", "note", "observed-data", "opinion", "report",
    "task", "x-opencti-task", "threat-actor", "tool", "vulnerability", "security-coverage",
    // SUPPORTED_INTERNAL_OBJECTS
    "user", "group", "capability", "role", "settings", "notification", "work", "trash", "draftworkspace",
    "playbook", "deleteoperation", "workspace", "publicdashboard",
    // STIX_CYBER_OBSERVABLE_MAPPING keys
    "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "email-mime-part-type",
    "artifact", "file", "x509-certificate", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic",
    "process", "software", "url", "user-account", "windows-registry-key", "windows-registry-value-type",
    "hostname", "cryptographic-key", "cryptocurrency-wallet", "text", "user-agent", "bank-account", "phone-number",
    "credential", "tracking-number", "payment-card", "media-content", "simple-observable", "persona", "ssh-key",
    // relationships and the rest
    "relationship", "sighting", "pir",
  ]

  /// pycti's `is_id_supported`: an id without `--` is always accepted; otherwise the part
  /// before the first `--` must be a supported type.
  package static func isSupported(id: String) -> Bool {
    guard let separator = id.range(of: "--") else { return true }
    return supported.contains(String(id[..<separator.lowerBound]))
  }
}

/// The other ids pycti indexes an object under: `x_opencti_id` and the OpenCTI extension's `id`.
func pyctiAliases(_ object: RawObject) -> [String] {
  var aliases: [String] = []
  if let internalId = object.string("x_opencti_id"), !internalId.isEmpty { aliases.append(internalId) }
  if let extensionId = object.object("extensions")?.object(openCTIExtensionID)?.string("id"), !extensionId.isEmpty {
    aliases.append(extensionId)
  }
  return aliases
}
