/// Which bucket folder holds each id's file, so that the writer keeps one file per id in the
/// whole tree: built from one directory listing per bucket folder, kept current as files are
/// written, moved and removed. An id `<type>--<uuid>` with a lower-case uuid is held as the
/// uuid's 128 bits and a number for its type (no string per id, ~40 bytes an entry); any other
/// file name is held as a string.
struct BackupIndex {
  /// Bucket folder names, by number.
  private(set) var bucketNames: [String] = []
  private var bucketNumbers: [String: UInt32] = [:]
  private var typeNumbers: [String: UInt32] = [:]
  private var compact: [CompactID: UInt32] = [:]
  private var others: [String: UInt32] = [:]

  struct CompactID: Hashable {
    var high: UInt64
    var low: UInt64
    var type: UInt32
  }

  /// How many ids have a file.
  var count: Int { compact.count + others.count }

  /// The number of a bucket folder name, adding it when new.
  mutating func bucketNumber(_ name: String) -> UInt32 {
    if let number = bucketNumbers[name] { return number }
    let number = UInt32(bucketNames.count)
    bucketNames.append(name)
    bucketNumbers[name] = number
    return number
  }

  /// The bucket holding `id`'s file.
  func bucket(of id: String) -> UInt32? {
    var id = id
    return id.withUTF8 { bytes in
      switch key(bytes) {
      case .compact(let key): compact[key]
      case .other(let name): others[name]
      case .newType: nil
      }
    }
  }

  /// Records that `id`'s file is in `bucket`; returns the bucket it was in before.
  @discardableResult
  mutating func set(_ id: String, bucket: UInt32) -> UInt32? {
    var id = id
    return id.withUTF8 { set($0, bucket: bucket) }
  }

  /// `set` for an id given as bytes (a file name without `.json`).
  @discardableResult
  mutating func set(_ id: UnsafeBufferPointer<UInt8>, bucket: UInt32) -> UInt32? {
    switch key(id) {
    case .compact(let key):
      return compact.updateValue(bucket, forKey: key)
    case .other(let name):
      return others.updateValue(bucket, forKey: name)
    case .newType(let type, let high, let low):
      let number = UInt32(typeNumbers.count)
      typeNumbers[type] = number
      compact[CompactID(high: high, low: low, type: number)] = bucket
      return nil
    }
  }

  /// Forgets `id`; returns the bucket it was in.
  @discardableResult
  mutating func remove(_ id: String) -> UInt32? {
    var id = id
    return id.withUTF8 { bytes in
      switch key(bytes) {
      case .compact(let key): compact.removeValue(forKey: key)
      case .other(let name): others.removeValue(forKey: name)
      case .newType: nil
      }
    }
  }

  private enum Key {
    case compact(CompactID)
    case other(String)
    /// A compact id whose type has no number yet (so no entry either).
    case newType(String, UInt64, UInt64)
  }

  private func key(_ bytes: UnsafeBufferPointer<UInt8>) -> Key {
    guard bytes.count > 38, bytes[bytes.count - 37] == UInt8(ascii: "-"), bytes[bytes.count - 38] == UInt8(ascii: "-"),
      let (high, low) = Self.lowerCaseUUID(UnsafeBufferPointer(rebasing: bytes[(bytes.count - 36)...]))
    else { return .other(String(decoding: bytes, as: UTF8.self)) }
    let type = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<(bytes.count - 38)]), as: UTF8.self)
    guard let number = typeNumbers[type] else { return .newType(type, high, low) }
    return .compact(CompactID(high: high, low: low, type: number))
  }

  /// The 128 bits of a canonical uuid written in lower-case hex; nil for any other text.
  private static func lowerCaseUUID(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
    guard bytes.count == 36 else { return nil }
    var high: UInt64 = 0
    var low: UInt64 = 0
    var digits = 0
    for position in 0..<36 {
      let byte = bytes[position]
      if position == 8 || position == 13 || position == 18 || position == 23 {
        guard byte == UInt8(ascii: "-") else { return nil }
        continue
      }
      let value: UInt64
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt64(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): value = UInt64(byte - UInt8(ascii: "a") + 10)
      default: return nil
      }
      if digits < 16 { high = high << 4 | value } else { low = low << 4 | value }
      digits += 1
    }
    return (high, low)
  }
}
