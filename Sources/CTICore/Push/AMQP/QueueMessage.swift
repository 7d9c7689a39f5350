/// The body of one message on a connector's push queue, as pycti's `_send_bundle` writes it
/// (client-python 6.8, `opencti_connector_helper.py`): the members in pycti's order,
/// `{"bundle_type":"QUEUE_BUNDLE","applicant_id","action_sequence","entities_types","content",
/// "update","draft_id","work_id"}`, with `content` the base64 of the bundle's UTF-8 JSON and
/// `work_id` left out when there is no work. The text is compact JSON (pycti's json.dumps puts
/// a space after `:` and `,`); the worker parses it, so only the values matter.
package struct QueueMessage: Sendable {
  /// The user the worker writes as (`opencti-applicant-id`): the connector's
  /// `connector_user_id`, or a diode envelope's mapped applicant. nil is written as null.
  package var applicantId: String?
  /// 1-based position of the bundle in its split (the worker ignores it).
  package var actionSequence: Int
  package var entitiesTypes: [String]
  package var update: Bool
  package var draftId: String?
  /// pycti 6.x does not send `no_split` (one object per message never needs splitting); when
  /// set it is written before `work_id`.
  package var noSplit: Bool?
  package var workId: String?

  package init(
    applicantId: String?, actionSequence: Int, workId: String?, entitiesTypes: [String] = [], update: Bool = false,
    draftId: String? = nil, noSplit: Bool? = nil
  ) {
    self.applicantId = applicantId
    self.actionSequence = actionSequence
    self.workId = workId
    self.entitiesTypes = entitiesTypes
    self.update = update
    self.draftId = draftId
    self.noSplit = noSplit
  }

  /// The message body for `bundle` (the bundle's JSON text).
  package func body(bundle: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    var writer = JSONWriter(capacity: Base64.encodedCount(bundle.count) + 256 + (applicantId?.utf8.count ?? 4) + (workId?.utf8.count ?? 0))
    write(bundle: bundle, into: &writer)
    return writer.bytes
  }

  package func body(bundle: [UInt8]) -> [UInt8] {
    bundle.withUnsafeBufferPointer { body(bundle: $0) }
  }

  package func write(bundle: UnsafeBufferPointer<UInt8>, into writer: inout JSONWriter) {
    writer.append("{\"bundle_type\":\"QUEUE_BUNDLE\",\"applicant_id\":")
    if let applicantId { writer.writeString(applicantId) } else { writer.append("null") }
    writer.append(",\"action_sequence\":")
    writer.write(.int(actionSequence))
    writer.append(",\"entities_types\":[")
    for (position, type) in entitiesTypes.enumerated() {
      if position > 0 { writer.append(",") }
      writer.writeString(type)
    }
    writer.append("],\"content\":\"")
    Base64.encode(bundle, into: &writer)
    writer.append("\",\"update\":")
    writer.append(update ? "true" : "false")
    writer.append(",\"draft_id\":")
    if let draftId { writer.writeString(draftId) } else { writer.append("null") }
    if let noSplit {
      writer.append(",\"no_split\":")
      writer.append(noSplit ? "true" : "false")
    }
    if let workId {
      writer.append(",\"work_id\":")
      writer.writeString(workId)
    }
    writer.append("}")
  }
}

/// Standard base64 with padding (RFC 4648 §4), what Python's `base64.b64encode` writes.
package enum Base64 {
  private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

  package static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

  /// Appends the base64 text of `bytes` to `writer`, in chunks through a small stack buffer.
  package static func encode(_ bytes: UnsafeBufferPointer<UInt8>, into writer: inout JSONWriter) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { chunk in
      alphabet.withUnsafeBufferPointer { table in
        var input = 0
        var used = 0
        let count = bytes.count
        while input + 3 <= count {
          let value = UInt32(bytes[input]) << 16 | UInt32(bytes[input + 1]) << 8 | UInt32(bytes[input + 2])
          chunk[used] = table[Int(value >> 18)]
          chunk[used + 1] = table[Int(value >> 12 & 63)]
          chunk[used + 2] = table[Int(value >> 6 & 63)]
          chunk[used + 3] = table[Int(value & 63)]
          used += 4
          input += 3
          if used == 4096 {
            writer.writeRaw(UnsafeBufferPointer(rebasing: chunk[0..<used]))
            used = 0
          }
        }
        let left = count - input
        if left > 0 {
          let value = UInt32(bytes[input]) << 16 | (left == 2 ? UInt32(bytes[input + 1]) << 8 : 0)
          chunk[used] = table[Int(value >> 18)]
          chunk[used + 1] = table[Int(value >> 12 & 63)]
          chunk[used + 2] = left == 2 ? table[Int(value >> 6 & 63)] : UInt8(ascii: "=")
          chunk[used + 3] = UInt8(ascii: "=")
          used += 4
        }
        if used > 0 { writer.writeRaw(UnsafeBufferPointer(rebasing: chunk[0..<used])) }
      }
    }
  }

  package static func encode(_ bytes: [UInt8]) -> String {
    var writer = JSONWriter(capacity: encodedCount(bytes.count) + 16)
    bytes.withUnsafeBufferPointer { encode($0, into: &writer) }
    return String(decoding: writer.bytes, as: UTF8.self)
  }

  /// Decodes standard base64 (padding required, no white space); nil on anything else.
  package static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
    guard text.count % 4 == 0 else { return nil }
    var reverse = [Int16](repeating: -1, count: 256)
    for (value, byte) in alphabet.enumerated() { reverse[Int(byte)] = Int16(value) }
    var output: [UInt8] = []
    output.reserveCapacity(text.count / 4 * 3)
    var quad: [Int16] = []
    quad.reserveCapacity(4)
    var index = 0
    let total = text.count
    for byte in text {
      index += 1
      if byte == UInt8(ascii: "=") {
        guard index > total - 2 else { return nil }
        quad.append(-2)
      } else {
        let value = reverse[Int(byte)]
        guard value >= 0 else { return nil }
        quad.append(value)
      }
      if quad.count == 4 {
        let a = Int(quad[0]), b = Int(quad[1]), c = Int(quad[2]), d = Int(quad[3])
        guard a >= 0, b >= 0 else { return nil }
        output.append(UInt8(a << 2 | b >> 4))
        if c >= 0 {
          output.append(UInt8((b & 15) << 4 | c >> 2))
          if d >= 0 { output.append(UInt8((c & 3) << 6 | d)) } else if d != -2 { return nil }
        } else if c != -2 || d != -2 {
          return nil
        }
        quad.removeAll(keepingCapacity: true)
      }
    }
    return output
  }
}
