/// A transport that sends nothing: each request is written to `output` as one NDJSON line,
/// `{"operation":…,"applicant":…,"request":<GraphQL body>}`, and answered the way the platform
/// would answer a success, so a whole run can be rehearsed (`--dry-run`).
package final class DryRunTransport: GraphQLTransport {
  private let output: RecordWriter
  private var works = 0

  package init(output: RecordWriter) { self.output = output }

  package func send(_ request: GraphQLRequest, applicant: String?) throws(OpenCTIError) -> [UInt8] {
    var writer = JSONWriter(capacity: request.body.count + 96)
    writer.append("{\"operation\":")
    writer.writeString(request.operation.rawValue)
    writer.append(",\"applicant\":")
    if let applicant { writer.writeString(applicant) } else { writer.append("null") }
    writer.append(",\"request\":")
    writer.writeRaw(request.body)
    writer.append("}")
    do {
      try output.writeRecord(writer.bytes)
    } catch {
      throw .network("dry run output: \(error)", operation: request.operation)
    }
    return answer(request)
  }

  private func answer(_ request: GraphQLRequest) -> [UInt8] {
    let data: JSONValue
    switch request.operation {
    // The oldest version the session accepts: a made-up answer, so PushRun never shows it.
    case .about: data = ["about": ["version": .string(PlatformVersion.bundlePushMinimum.text)]]
    case .registerConnector: data = ["registerConnector": ["id": "dry-run", "connector_state": .null, "connector_user_id": .null]]
    case .pingConnector: data = ["pingConnector": ["id": "dry-run", "connector_state": "null"]]
    case .workAdd:
      works += 1
      data = ["workAdd": ["id": .string("dry-run-work-\(works)")]]
    case .addExpectations: data = ["workEdit": ["addExpectations": "dry-run"]]
    case .workToProcessed: data = ["workEdit": ["toProcessed": "dry-run"]]
    case .stixBundlePush: data = ["stixBundlePush": true]
    case .stixDelete: data = ["stixEdit": ["delete": "dry-run"]]
    case .stixMerge: data = ["stixEdit": ["merge": ["id": "dry-run"]]]
    case .stixDomainObjects: data = ["stixDomainObjects": ["edges": []]]
    case .getConnector:
      data = ["connector": ["id": "dry-run", "connector_queue_details": ["messages_number": .int(0), "messages_size": .int(0)]]]
    }
    return JSONWriter.serialize(["data": data])
  }
}
