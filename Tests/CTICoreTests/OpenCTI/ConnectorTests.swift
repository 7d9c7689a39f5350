import Testing
@testable import CTICore

@Suite struct ConnectorTests {
  @Test func remoteResetIsDetected() {
    #expect(!ConnectorState.wasReset(sent: nil, returned: "null"))
    #expect(!ConnectorState.wasReset(sent: .null, returned: "null"), "a null sent and a null returned are the same")
    #expect(!ConnectorState.wasReset(sent: .null, returned: nil))
    #expect(!ConnectorState.wasReset(sent: nil, returned: nil))
    #expect(!ConnectorState.wasReset(sent: nil, returned: ""))
    #expect(!ConnectorState.wasReset(sent: ["start_from": "1-0"], returned: "{\"start_from\":\"1-0\"}"))
    #expect(!ConnectorState.wasReset(sent: ["start_from": "1-0"], returned: "{ \"start_from\" : \"1-0\" }"))
    #expect(ConnectorState.wasReset(sent: ["start_from": "1-0"], returned: ""))
    #expect(ConnectorState.wasReset(sent: ["start_from": "1-0"], returned: "null"))
    #expect(ConnectorState.wasReset(sent: nil, returned: "{\"start_from\":\"2-0\"}"))
  }

  @Test func versionsCompareNumerically() throws {
    let minimum = PlatformVersion.bundlePushMinimum
    #expect(try #require(PlatformVersion("6.10.0")) > minimum)
    #expect(try #require(PlatformVersion("6.3.0")) == minimum)
    #expect(try #require(PlatformVersion("6.2.21")) < minimum)
    #expect(try #require(PlatformVersion("7.261026.0")) > minimum)
    #expect(try #require(PlatformVersion("6.9.0-rc1")).parts == [6, 9, 0])
    #expect(PlatformVersion("dev") == nil)
  }

  @Test func typesAndScopes() {
    #expect(ConnectorType(parsing: "external_import") == .externalImport)
    #expect(ConnectorType(parsing: "STREAM") == .stream)
    #expect(ConnectorType(parsing: "IMPORT") == nil)
    #expect(ConnectorRegistration.scope(from: " identity, ,report ") == ["identity", "report"])
  }

  @Test func applicantMappingWarnsAboutBadEntries() {
    var warnings: [String] = []
    let map = ApplicantMap(parsing: "a:b, c : d ,,bad,e:,:f,g:h:i", warnings: &warnings)
    #expect(map.mappings == ["a": "b", "c": "d"])
    #expect(warnings.count == 4)
    #expect(warnings.first?.contains("'bad'") == true)
    #expect(map["x"] == nil)
  }
}
