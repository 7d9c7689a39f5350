import Foundation

/// A STIX object waiting to be pushed: its raw bytes, the ids it is known by and the ids it
/// references, and the input line it came from.
package struct StagedObject: Sendable {
  package let id: String
  package let bytes: ArraySlice<UInt8>
  /// The values of its top-level `*_ref` and `*_refs` keys, in key order.
  package var references: [String] {
    referenceFields.flatMap { field -> [String] in
      switch field.value {
      case .one(let id): id.map { [$0] } ?? []
      case .many(let ids): ids
      }
    }
  }
  /// Its top-level `*_ref` and `*_refs` keys, in key order, as pycti's splitter walks them.
  package let referenceFields: [ReferenceField]
  /// Other ids pycti indexes an object under: `x_opencti_id` and the OpenCTI extension's `id`.
  package let aliases: [String]
  package let line: Int

  package init(_ object: RawObject, line: Int) throws(RecordError) {
    guard let id = object.string("id"), !id.isEmpty else { throw RecordError("STIX object has no id") }
    guard object.string("type") != nil else { throw RecordError("STIX object \(id) has no type") }
    self.id = id
    bytes = object.bytes
    self.line = line
    referenceFields = (try? ReferenceField.fields(of: object, strict: false)) ?? []
    aliases = pyctiAliases(object)
  }
}

/// Orders objects the way pycti's bundle splitter does, so that an object comes after the
/// objects it references: each object gets pycti's dependency count `nb_deps` (the walk of
/// `DependencyWalk`: 1, plus the counts of the objects of the same set it references, followed
/// recursively; references to objects outside the set add nothing, cycles are cut), then
/// objects are sorted by that count, keeping input order between equal counts. Nothing is
/// dropped or changed here: the platform's worker splits the bundles it receives itself.
package enum DependencyOrder {
  package static func sorted(_ objects: [StagedObject]) -> [StagedObject] {
    let counts = dependencyCounts(objects)
    let order = objects.indices.sorted { counts[$0] != counts[$1] ? counts[$0] < counts[$1] : $0 < $1 }
    return order.map { objects[$0] }
  }

  /// The dependency count of each object (pycti's `nb_deps`). References nested deeper than
  /// pycti can follow leave every count at 1 (input order).
  package static func dependencyCounts(_ objects: [StagedObject]) -> [Int] {
    let nodes = objects.map {
      DependencyWalk.Node(
        id: $0.id, aliases: $0.aliases, type: "", fields: $0.referenceFields,
        changed: Array(repeating: false, count: $0.referenceFields.count))
    }
    var walk = DependencyWalk(nodes: nodes)
    do {
      try walk.run()
    } catch {
      return Array(repeating: 1, count: objects.count)
    }
    return objects.map { object in walk.rawData[object.id].flatMap { walk.nodes[$0].nbDeps } ?? 1 }
  }
}

/// Cuts an ordered list of objects into bundles of at most `maxObjects` objects and
/// `maxBytes` bytes of bundle JSON, keeping the order.
package struct BundleBatcher: Sendable {
  /// 8 MiB: under the platform's 50 MB body limit even when every byte is escaped, and under
  /// RabbitMQ's 16 MiB message limit after base64.
  package static let defaultMaxBytes = 8 << 20
  package static let defaultMaxObjects = 1000

  package var maxObjects: Int
  package var maxBytes: Int

  package init(maxObjects: Int = BundleBatcher.defaultMaxObjects, maxBytes: Int = BundleBatcher.defaultMaxBytes) {
    self.maxObjects = max(1, maxObjects)
    self.maxBytes = maxBytes
  }

  /// The bytes a bundle with this id adds around its objects.
  package static func overhead(bundleId: String) -> Int {
    header(bundleId: bundleId).count + 2
  }

  /// The overhead of a bundle with a `newBundleId()` id (they all have the same length).
  package static let freshBundleOverhead = overhead(bundleId: "bundle--00000000-0000-4000-8000-000000000000")

  private static func header(bundleId: String) -> [UInt8] {
    var writer = JSONWriter()
    writer.append("{\"type\":\"bundle\",\"id\":")
    writer.writeString(bundleId)
    writer.append(",\"spec_version\":\"2.1\",\"objects\":[")
    return writer.bytes
  }

  /// Groups `objects` (already ordered) into batches. An object too big for a bundle of its
  /// own is returned in `oversized` instead.
  package func batches(_ objects: [StagedObject], bundleId: String) -> (batches: [[StagedObject]], oversized: [StagedObject]) {
    let overhead = Self.overhead(bundleId: bundleId)
    var batches: [[StagedObject]] = []
    var oversized: [StagedObject] = []
    var current: [StagedObject] = []
    var size = overhead
    for object in objects {
      if overhead + object.bytes.count > maxBytes {
        oversized.append(object)
        continue
      }
      let added = object.bytes.count + (current.isEmpty ? 0 : 1)
      if !current.isEmpty, current.count >= maxObjects || size + added > maxBytes {
        batches.append(current)
        current = []
        size = overhead
      }
      size += object.bytes.count + (current.isEmpty ? 0 : 1)
      current.append(object)
    }
    if !current.isEmpty { batches.append(current) }
    return (batches, oversized)
  }

  /// The bundle JSON for a batch: `{"type":"bundle","id":…,"spec_version":"2.1","objects":[…]}`
  /// with each object's original bytes.
  package static func bundle(_ objects: [StagedObject], bundleId: String) -> [UInt8] {
    var bytes = header(bundleId: bundleId)
    bytes.reserveCapacity(bytes.count + objects.reduce(2) { $0 + $1.bytes.count + 1 })
    for (position, object) in objects.enumerated() {
      if position > 0 { bytes.append(UInt8(ascii: ",")) }
      bytes.append(contentsOf: object.bytes)
    }
    bytes.append(UInt8(ascii: "]"))
    bytes.append(UInt8(ascii: "}"))
    return bytes
  }

  /// A fresh `bundle--<uuid4>` id for objects that arrived without a bundle.
  package static func newBundleId() -> String {
    "bundle--" + UUID().uuidString.lowercased()
  }
}
