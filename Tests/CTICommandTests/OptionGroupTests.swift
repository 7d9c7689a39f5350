import ArgumentParser
import CTICore
import Testing

@testable import CTICommand

/// The shared option groups parse their hidden older spellings into the same values.
@Suite struct OptionGroupTests {
  @Test func durableTakesItsOlderSpellings() throws {
    #expect(try DurableOptions.parse([]).value == nil)
    #expect(try DurableOptions.parse(["--durable"]).value == true)
    #expect(try DurableOptions.parse(["--no-durable"]).value == false)
    #expect(try DurableOptions.parse(["--fsync"]).value == true)
    #expect(try DurableOptions.parse(["--no-fsync"]).value == false)
    #expect(try DurableOptions.parse(["--durable-state"]).value == true)
  }

  @Test func tlsIsInsecureAndCABundle() throws {
    #expect(try TLSOptions.parse([]).flags == TLSFlags())
    #expect(try TLSOptions.parse(["--insecure"]).flags.verify == false)
    // cti-misp's older --[no-]ssl-verify is its own (the feed's), not every tool's.
    #expect(throws: (any Error).self) { try TLSOptions.parse(["--no-ssl-verify"]) }
    #expect(try TLSOptions.parse(["--ca-bundle", "ca.pem"]).flags.caBundle == "ca.pem")
  }

  @Test func applicantMappingsTakesCtiPushsOlderName() throws {
    #expect(try ApplicantMappingsOptions.parse(["--applicant-mappings", "a:b"]).value == "a:b")
    #expect(try ApplicantMappingsOptions.parse(["--applicant-map", "a:b"]).value == "a:b")
  }

  @Test func legacyBooleansBecomeFlags() {
    let legacy = [LegacyBoolean.inverted("recover-x")]
    #expect(LegacyBoolean.rewrite(["--recover-x", "false", "a"], legacy) == ["--no-recover-x", "a"])
    #expect(LegacyBoolean.rewrite(["--recover-x=true"], legacy) == ["--recover-x"])
    #expect(LegacyBoolean.rewrite(["--recover-x", "a"], legacy) == ["--recover-x", "a"])
    #expect(LegacyBoolean.rewrite(["--", "--recover-x", "false"], legacy) == ["--", "--recover-x", "false"])
  }

  @Test func theStartupFormatIsReadBeforeParsing() {
    #expect(ToolMain.startupFormat(["--log-format", "json"], environment: [:]) == .json)
    #expect(ToolMain.startupFormat(["--log-format=json"], environment: [:]) == .json)
    #expect(ToolMain.startupFormat([], environment: ["CTI_LOG_FORMAT": "json"]) == .json)
    #expect(ToolMain.startupFormat(["--", "--log-format", "json"], environment: [:]) == .text)
  }
}
