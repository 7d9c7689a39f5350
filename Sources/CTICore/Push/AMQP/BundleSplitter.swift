import Foundation

/// An object pycti's splitter does not send, and why.
package struct IncompatibleObject: Sendable, Equatable, CustomStringConvertible {
  package var id: String
  package var type: String
  package var reason: String
  package var description: String { "\(type) \(id) not sent: \(reason)" }
}

/// pycti's `OpenCTIStix2Splitter.split_bundle_with_expectations`: one bundle per object,
/// ordered by `nb_deps`, each `{"type":"bundle","id":<bundle id>,"spec_version":"2.1",
/// "x_opencti_seq":<nb_deps>,"objects":[<object>]}` (+ `x_opencti_event_version` when given).
/// The object carries what the walk changed (dropped or nulled references, `nb_deps`) and has
/// its external references and kill chain phases de-duplicated; every other member keeps its
/// original bytes. The expectations to add to the work are the number of bundles.
package struct SplitBundle: Sendable {
  /// The bundle's `id` value as JSON text (a fresh `bundle--<uuid4>` when it had none).
  package let bundleIdJSON: [UInt8]
  package let eventVersion: String?
  /// The objects sent, in order, with the `x_opencti_seq` of each.
  package let count: Int
  package let incompatible: [IncompatibleObject]
  private let objects: [RawObject]
  private let walk: DependencyWalk
  private let order: [Int]

  /// `expectations` in pycti's terms: one per bundle.
  package var expectations: Int { count }

  /// The id of the k-th object sent.
  package func objectId(_ position: Int) -> String { walk.nodes[order[position]].id }

  /// The k-th `x_opencti_seq` (the object's `nb_deps`).
  package func sequence(_ position: Int) -> Int { walk.nodes[order[position]].nbDeps ?? 0 }

  /// Splits `bundle`; see the type's comment. Throws where pycti would raise (no `objects`
  /// list, an object without an id, references that are not ids…).
  package init(_ bundle: RawObject, eventVersion: String? = nil, cleanupInconsistentBundle: Bool = false) throws(SplitError) {
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
  package func bundle(_ position: Int) -> [UInt8] {
    var writer = JSONWriter(capacity: objects[order[position]].bytes.count + 256)
    writeBundle(position, into: &writer)
    return writer.bytes
  }

  /// Appends the JSON text of the k-th bundle to `writer`.
  package func writeBundle(_ position: Int, into writer: inout JSONWriter) {
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
