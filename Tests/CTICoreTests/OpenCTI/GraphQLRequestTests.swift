import Testing
@testable import CTICore

@Suite struct GraphQLRequestTests {
  func parsed(_ request: GraphQLRequest) throws -> JSONValue { try JSONParser.parse(request.body) }

  @Test func everyDocumentNamesItsOperation() {
    for operation in GraphQLOperation.allCases {
      let document = operation.document
      let isQuery = operation == .about || operation == .stixDomainObjects || operation == .getConnector
      #expect(document.hasPrefix((isQuery ? "query " : "mutation ") + operation.rawValue))
    }
    #expect(GraphQLOperation.stixBundlePush.document.contains("stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $work_id)"))
    #expect(GraphQLOperation.addExpectations.document.contains("workEdit(id: $id) { addExpectations(expectations: $expectations) }"))
    #expect(GraphQLOperation.workToProcessed.document.contains("toProcessed(message: $message, inError: $inError)"))
    #expect(GraphQLOperation.pingConnector.document.contains(
      "($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) { pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) { id connector_state }"))
    #expect(GraphQLOperation.legacyPingDocument.contains("pingConnector(id: $id, state: $state) { id connector_state }"))
    #expect(GraphQLOperation.getConnector.document.contains("connector(id: $id) { id connector_queue_details { messages_number messages_size } }"))
    #expect(GraphQLOperation.stixMerge.document.contains("merge(stixObjectsIds: $stixObjectsIds)"))
  }

  @Test func bodyHasOperationQueryAndVariables() throws {
    let body = try parsed(.workAdd(connectorId: "c1", friendlyName: "cti-push run"))
    #expect(body["operationName"] == "WorkAdd")
    #expect(body["query"]?.stringValue == GraphQLOperation.workAdd.document)
    #expect(body["variables"] == ["connectorId": "c1", "friendlyName": "cti-push run"])
  }

  @Test func pingSendsStateAsJSONText() throws {
    let body = try parsed(.pingConnector(id: "c1", state: ConnectorState.encode(nil)))
    #expect(body["variables"]?["state"] == "null")
    let withState = try parsed(.pingConnector(id: "c1", state: ConnectorState.encode(["last_run": 12])))
    #expect(withState["variables"]?["state"] == "{\"last_run\":12}")
    #expect(withState["query"]?.stringValue == GraphQLOperation.legacyPingDocument, "no info: the document without the argument")
    let withInfo = try parsed(.pingConnector(id: "c1", state: "null", info: ConnectorInfo(queueThreshold: 2.5, queueMessagesSize: 0.25)))
    #expect(withInfo["operationName"] == "PingConnector")
    #expect(withInfo["query"]?.stringValue == GraphQLOperation.pingConnector.document)
    #expect(withInfo["variables"]?["connectorInfo"]?.objectValue?.keys == [
      "run_and_terminate", "buffering", "queue_threshold", "queue_messages_size", "next_run_datetime", "last_run_datetime",
    ])
    #expect(withInfo["variables"]?["connectorInfo"]?["queue_threshold"] == .number("2.5"))
    #expect(withInfo["variables"]?["connectorInfo"]?["queue_messages_size"] == .number("0.25"))
  }

  @Test func registrationInputHasPyctiKeys() throws {
    let connector = ConnectorRegistration(id: "c1", name: "Feed", type: .externalImport, scope: ["identity", "report"])
    let input = try parsed(.registerConnector(connector))["variables"]?["input"]
    #expect(input?.objectValue?.keys == ["id", "name", "type", "scope", "auto", "only_contextual", "playbook_compatible", "auto_update", "enrichment_resolution"])
    #expect(input?["type"] == "EXTERNAL_IMPORT")
    #expect(input?["scope"] == ["identity", "report"])
    #expect(input?["enrichment_resolution"] == "none")
  }

  @Test func bundleIsSplicedAsAStringVariableByteForByte() throws {
    let bundle = Array("{\"type\":\"bundle\",\"objects\":[{\"name\":\"Caf\u{e9} \\\"q\\\" \\\\ \\n 😀\"}]}".utf8)
    let request = GraphQLRequest.stixBundlePush(connectorId: "c1", bundle: bundle, objectCount: 1, workId: "w1")
    let body = try parsed(request)
    #expect(body["variables"]?["bundle"]?.stringValue.map { Array($0.utf8) } == bundle)
    #expect(body["variables"]?["connectorId"] == "c1")
    #expect(body["variables"]?["work_id"] == "w1")
    #expect(request.objectCount == 1)
    let withoutWork = try parsed(.stixBundlePush(connectorId: "c1", bundle: bundle, objectCount: 1, workId: nil))
    #expect(withoutWork["variables"]?["work_id"] == .null)
  }

  @Test func controlCharactersInBytesAreEscaped() throws {
    var writer = JSONWriter()
    writer.writeBytesAsString([0x61, 0x01, 0x22, 0x5C, 0x0A, 0x62])
    #expect(String(decoding: writer.bytes, as: UTF8.self) == "\"a\\u0001\\\"\\\\\\nb\"")
  }

  @Test func mergeAndDeleteVariables() throws {
    #expect(try parsed(.stixDelete(id: "indicator--1"))["variables"] == ["id": "indicator--1"])
    #expect(try parsed(.stixMerge(targetId: "t", sourceIds: ["a", "b"]))["variables"] == ["id": "t", "stixObjectsIds": ["a", "b"]])
    #expect(try parsed(.addExpectations(workId: "w", count: 1))["variables"] == ["id": "w", "expectations": 1])
    #expect(try parsed(.workToProcessed(workId: "w", message: "done", inError: true))["variables"] == ["id": "w", "message": "done", "inError": true])
  }

  @Test func threatLookupAsksTheFourTypesByNameMitreIdAndAliases() throws {
    let document = GraphQLOperation.stixDomainObjects.document
    #expect(document.contains("query StixDomainObjects($types: [String], $filters: FilterGroup, $first: Int)"))
    #expect(document.contains("stixDomainObjects(types: $types, filters: $filters, first: $first)"))
    #expect(document.contains("... on AttackPattern { name x_mitre_id }"))
    #expect(GraphQLOperation.stixDomainObjects.mayRepeat)
    let body = try parsed(.threatLookup(value: "Fancy \"Bear\""))
    #expect(body["operationName"] == "StixDomainObjects")
    #expect(body["variables"]?["types"] == ["Intrusion-Set", "Malware", "Tool", "Attack-Pattern"])
    #expect(body["variables"]?["first"] == 1)
    let filters = body["variables"]?["filters"]
    #expect(filters?.objectValue?.keys == ["mode", "filters", "filterGroups"])
    #expect(filters?["mode"] == "and")
    #expect(filters?["filterGroups"] == [])
    #expect(filters?["filters"]?.arrayValue?.count == 1)
    #expect(filters?["filters"]?.arrayValue?.first?["key"] == ["name", "x_mitre_id", "aliases", "x_opencti_aliases"])
    #expect(filters?["filters"]?.arrayValue?.first?["values"] == ["Fancy \"Bear\""])
  }
}

@Suite struct GraphQLResponseTests {
  func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

  @Test func errorsBecomeTypedErrors() {
    let answer = bytes(#"{"errors":[{"message":"You are not allowed to do this.","name":"ForbiddenAccess","extensions":{"code":"FORBIDDEN_ACCESS"}}],"data":null}"#)
    #expect(throws: OpenCTIError.graphQL(GraphQLError(message: "You are not allowed to do this.", code: "FORBIDDEN_ACCESS", name: "ForbiddenAccess", operation: .workAdd))) {
      try GraphQLResponse.workId(answer)
    }
    do {
      try GraphQLResponse.check(answer, operation: .workAdd)
      Issue.record("no error thrown")
    } catch {
      #expect(error.exitStatus == .noPermission)
      #expect(error.isPlatformFailure)
    }
  }

  @Test func validationErrorIsNotAPlatformFailure() {
    let answer = bytes(#"{"errors":[{"message":"Unknown argument \"x\"","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}"#)
    do {
      try GraphQLResponse.check(answer, operation: .stixBundlePush)
      Issue.record("no error thrown")
    } catch {
      guard case .graphQL(let graphQL) = error else { Issue.record("wrong error \(error)"); return }
      #expect(graphQL.isValidation)
      #expect(!error.isPlatformFailure)
      #expect("\(error)".contains("Unknown argument"))
    }
  }

  @Test func answersAreRead() throws {
    #expect(try GraphQLResponse.version(bytes(#"{"data":{"about":{"version":"6.8.10"}}}"#)) == "6.8.10")
    #expect(try GraphQLResponse.workId(bytes(#"{"data":{"workAdd":{"id":"work_c1_2024"}}}"#)) == "work_c1_2024")
    let registered = try GraphQLResponse.registeredConnector(bytes(#"{"data":{"registerConnector":{"id":"c1","connector_state":"{\"a\":1}","connector_user_id":"u1"}}}"#))
    #expect(registered == .init(id: "c1", connectorState: "{\"a\":1}", connectorUserId: "u1"))
    #expect(try GraphQLResponse.pingedState(bytes(#"{"data":{"pingConnector":{"id":"c1","connector_state":null}}}"#)) == nil)
    let queue = try GraphQLResponse.queueDetails(
      bytes(#"{"data":{"connector":{"id":"c1","connector_queue_details":{"messages_number":12,"messages_size":612345678.0}}}}"#))
    #expect(queue == ConnectorQueueDetails(messagesNumber: 12, messagesSize: 612_345_678))
    #expect(queue?.megabytes == 612.345678)
    #expect(try GraphQLResponse.queueDetails(bytes(#"{"data":{"connector":null}}"#)) == nil)
    try GraphQLResponse.check(bytes(#"{"data":{"stixBundlePush":true}}"#), operation: .stixBundlePush)
    #expect(throws: OpenCTIError.self) { try GraphQLResponse.check(bytes(#"{"data":{"stixBundlePush":false}}"#), operation: .stixBundlePush) }
    #expect(throws: OpenCTIError.self) { try GraphQLResponse.version(bytes("<html>")) }
    #expect(throws: OpenCTIError.self) { try GraphQLResponse.workId(bytes(#"{"data":{}}"#)) }
  }

  @Test func threatLookupAnswersAreRead() throws {
    let hit = try GraphQLResponse.firstDomainObject(
      bytes(
        #"{"data":{"stixDomainObjects":{"edges":[{"node":{"id":"i1","standard_id":"attack-pattern--x","entity_type":"Attack-Pattern","name":"Phishing","x_mitre_id":"T1566"}}]}}}"#
      ))
    #expect(hit == .init(id: "i1", standardId: "attack-pattern--x", entityType: "Attack-Pattern", name: "Phishing", mitreId: "T1566"))
    #expect(try GraphQLResponse.firstDomainObject(bytes(#"{"data":{"stixDomainObjects":{"edges":[]}}}"#)) == nil)
    #expect(throws: OpenCTIError.self) { try GraphQLResponse.firstDomainObject(bytes(#"{"data":{}}"#)) }
    #expect(throws: OpenCTIError.self) {
      try GraphQLResponse.firstDomainObject(bytes(#"{"data":{"stixDomainObjects":{"edges":[{"node":{"id":"i1"}}]}}}"#))
    }
  }
}
