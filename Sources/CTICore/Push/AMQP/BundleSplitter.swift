import Foundation

/// A top-level `*_ref` or `*_refs` member of a STIX object, as pycti's splitter walks it.
public struct ReferenceField: Sendable, Equatable {
  public enum Value: Sendable, Equatable {
    /// A `*_ref` key: an id, or nil for null.
    case one(String?)
    /// A `*_refs` key holding a list (a null list is not a reference field).
    case many([String])
  }

  public var key: String
  public var value: Value

  public init(key: String, value: Value) {
    self.key = key
    self.value = value
  }

  /// The reference fields of `object`, in key order. `strict` throws on values pycti cannot
  /// walk (a `*_refs` that is not a list, an id that is not a string), where pycti raises;
  /// otherwise such values are skipped.
  public static func fields(of object: RawObject, strict: Bool) throws(SplitError) -> [ReferenceField] {
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
public struct SplitError: ToolError, Equatable, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var exitStatus: ExitStatus { .dataError }
  public var description: String { message }
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
public enum PyctiTypes {
  public static let supported: Set<String> = [
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
  public static func isSupported(id: String) -> Bool {
    guard let separator = id.range(of: "--") else { return true }
    return supported.contains(String(id[..<separator.lowerBound]))
  }
}

/// An object pycti's splitter does not send, and why.
public struct IncompatibleObject: Sendable, Equatable, CustomStringConvertible {
  public var id: String
  public var type: String
  public var reason: String
  public var description: String { "\(type) \(id) not sent: \(reason)" }
}

/// pycti's `OpenCTIStix2Splitter.split_bundle_with_expectations`: one bundle per object,
/// ordered by `nb_deps`, each `{"type":"bundle","id":<bundle id>,"spec_version":"2.1",
/// "x_opencti_seq":<nb_deps>,"objects":[<object>]}` (+ `x_opencti_event_version` when given).
/// The object carries what the walk changed (dropped or nulled references, `nb_deps`) and has
/// its external references and kill chain phases de-duplicated; every other member keeps its
/// original bytes. The expectations to add to the work are the number of bundles.
public struct SplitBundle: Sendable {
  /// The bundle's `id` value as JSON text (a fresh `bundle--<uuid4>` when it had none).
  public let bundleIdJSON: [UInt8]
  public let eventVersion: String?
  /// The objects sent, in order, with the `x_opencti_seq` of each.
  public let count: Int
  public let incompatible: [IncompatibleObject]
  private let objects: [RawObject]
  private let walk: DependencyWalk
  private let order: [Int]

  /// `expectations` in pycti's terms: one per bundle.
  public var expectations: Int { count }

  /// The id of the k-th object sent.
  public func objectId(_ position: Int) -> String { walk.nodes[order[position]].id }

  /// The k-th `x_opencti_seq` (the object's `nb_deps`).
  public func sequence(_ position: Int) -> Int { walk.nodes[order[position]].nbDeps ?? 0 }

  /// Splits `bundle`; see the type's comment. Throws where pycti would raise (no `objects`
  /// list, an object without an id, references that are not ids…).
  public init(_ bundle: RawObject, eventVersion: String? = nil, cleanupInconsistentBundle: Bool = false) throws(SplitError) {
    guard let ranges = bundle.arrayElements("objects") else { throw SplitError("the bundle has no objects list") }
    if let id = bundle.rawValue("id") {
      bundleIdJSON = Array(id)
    } else {
      var writer = JSONWriter(capacity: 48)
      writer.writeString(BundleBatcher.newBundleId())
      bundleIdJSON = writer.bytes
    }
    var objects: [RawObject] = []
    var nodes: [DependencyWalk.Node] = []
    objects.reserveCapacity(ranges.count)
    nodes.reserveCapacity(ranges.count)
    for (position, range) in ranges.enumerated() {
      guard bundle.source[range.lowerBound] == UInt8(ascii: "{"), let object = try? RawObject(bundle.source, range: range) else {
        throw SplitError("objects[\(position)] is not a JSON object")
      }
      guard let id = object.string("id") else { throw SplitError("objects[\(position)] has no id") }
      let fields: [ReferenceField]
      do {
        fields = try ReferenceField.fields(of: object, strict: true)
        try Self.checkEmbeddedLists(object)
      } catch {
        throw SplitError("objects[\(position)] (\(id)): \(error)")
      }
      objects.append(object)
      nodes.append(
        DependencyWalk.Node(
          id: id, aliases: pyctiAliases(object), type: object.string("type") ?? "", fields: fields,
          changed: Array(repeating: false, count: fields.count)))
    }
    var walk = DependencyWalk(nodes: nodes, cleanupInconsistentBundle: cleanupInconsistentBundle)
    try walk.run()
    self.objects = objects
    self.walk = walk
    order = walk.sortedElements()
    count = order.count
    self.eventVersion = eventVersion
    incompatible = walk.incompatible.map { index in
      let node = walk.nodes[index]
      return IncompatibleObject(id: node.id, type: node.type, reason: Self.reason(node))
    }
  }

  /// pycti reads `external_references` and `kill_chain_phases` (when not null) as lists of
  /// objects and raises on anything else.
  private static func checkEmbeddedLists(_ object: RawObject) throws(SplitError) {
    for key in ["external_references", "kill_chain_phases"] {
      guard let kind = object.valueKind(key), kind != UInt8(ascii: "n") else { continue }
      guard kind == UInt8(ascii: "["), let elements = object.arrayElements(key),
        elements.allSatisfy({ object.source[$0.lowerBound] == UInt8(ascii: "{") })
      else { throw SplitError("\(key) is not a list of objects") }
    }
  }

  private static func reason(_ node: DependencyWalk.Node) -> String {
    switch node.type {
    case "relationship": "a relationship needs both source_ref and target_ref in a type OpenCTI imports"
    case "sighting": "a sighting needs sighting_of_ref and at least one where_sighted_refs"
    default: "OpenCTI does not import objects of this type"
    }
  }

  /// The JSON text of the k-th bundle.
  public func bundle(_ position: Int) -> [UInt8] {
    var writer = JSONWriter(capacity: objects[order[position]].bytes.count + 256)
    writeBundle(position, into: &writer)
    return writer.bytes
  }

  /// Appends the JSON text of the k-th bundle to `writer`.
  public func writeBundle(_ position: Int, into writer: inout JSONWriter) {
    let index = order[position]
    writer.append("{\"type\":\"bundle\",\"id\":")
    writer.writeRaw(bundleIdJSON)
    writer.append(",\"spec_version\":\"2.1\",\"x_opencti_seq\":")
    writer.write(.int(walk.nodes[index].nbDeps ?? 0))
    writer.append(",\"objects\":[")
    writeObject(index, into: &writer)
    writer.append("]")
    if let eventVersion {
      writer.append(",\"x_opencti_event_version\":")
      writer.writeString(eventVersion)
    }
    writer.append("}")
  }

  /// The object as pycti leaves it: changed references, de-duplicated external references and
  /// kill chain phases, and `nb_deps` (in place when the object had one, else last).
  private func writeObject(_ index: Int, into writer: inout JSONWriter) {
    let object = objects[index]
    let node = walk.nodes[index]
    let nbDeps = node.nbDeps ?? 0
    writer.append("{")
    var wroteNbDeps = false
    var field = 0
    for (position, member) in object.members.enumerated() {
      if position > 0 { writer.append(",") }
      writer.writeString(member.key)
      writer.append(":")
      let isReference =
        field < node.fields.count && node.fields[field].key == member.key
        && (member.key.hasSuffix("_ref") || member.key.hasSuffix("_refs"))
      if isReference {
        if node.changed[field] {
          switch node.fields[field].value {
          case .one(let value):
            if let value { writer.writeString(value) } else { writer.append("null") }
          case .many(let values):
            writer.append("[")
            for (at, value) in values.enumerated() {
              if at > 0 { writer.append(",") }
              writer.writeString(value)
            }
            writer.append("]")
          }
        } else {
          writer.writeRaw(object.source[member.value])
        }
        field += 1
      } else if member.key == "nb_deps" {
        writer.write(.int(nbDeps))
        wroteNbDeps = true
      } else if member.key == "external_references" || member.key == "kill_chain_phases",
        object.source[member.value.lowerBound] == UInt8(ascii: "[")
      {
        writeDeduplicated(object, member, into: &writer)
      } else {
        writer.writeRaw(object.source[member.value])
      }
    }
    if !wroteNbDeps {
      if !object.members.isEmpty { writer.append(",") }
      writer.append("\"nb_deps\":")
      writer.write(.int(nbDeps))
    }
    writer.append("}")
  }

  /// External references de-duplicated by pycti's id (the uuid5 of `{url}` or of
  /// `{source_name, external_id}`; entries with neither are dropped), kill chain phases by the
  /// uuid5 of `{phase_name, kill_chain_name}`. Equal canonical texts give equal ids, so the
  /// texts are compared directly.
  private func writeDeduplicated(_ object: RawObject, _ member: (key: String, value: Range<Int>), into writer: inout JSONWriter) {
    let isExternal = member.key == "external_references"
    let elements = object.source.withUnsafeBufferPointer { buffer in
      (try? JSONParser.elements(of: buffer, in: member.value)) ?? []
    }
    var seen = Set<[UInt8]>()
    var first = true
    writer.append("[")
    for range in elements {
      guard object.source[range.lowerBound] == UInt8(ascii: "{"), let entry = try? RawObject(object.source, range: range) else {
        continue
      }
      let identity: JSONObject?
      if isExternal {
        let url = entry.value("url") ?? .null
        let sourceName = entry.value("source_name") ?? .null
        let externalId = entry.value("external_id") ?? .null
        if !url.isNull {
          identity = JSONObject([("url", url)])
        } else if !sourceName.isNull, !externalId.isNull {
          identity = JSONObject([("source_name", sourceName), ("external_id", externalId)])
        } else {
          identity = nil
        }
      } else {
        identity = JSONObject([
          ("phase_name", entry.value("phase_name") ?? .null), ("kill_chain_name", entry.value("kill_chain_name") ?? .null),
        ])
      }
      guard let identity, seen.insert(IDCanonicalJSON.bytes(.object(identity))).inserted else { continue }
      if !first { writer.append(",") }
      first = false
      writer.writeRaw(object.source[range])
    }
    writer.append("]")
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
