import CTITestSupport
import CTICore
import Foundation
import Testing

/// `--print-config`: every setting a tool resolved, with its origin, secrets as `***`, on
/// stdout; nothing is contacted and the tool exits 0.
@Suite struct PrintConfigEndToEndTests {
  @Test func settingsAreNamedWithTheirSourcesAndSecretsHidden() throws {
    let config = FileManager.default.temporaryDirectory.appendingPathComponent(FakePlatform.unique("config") + ".yml")
    defer { try? FileManager.default.removeItem(at: config) }
    try "opencti:\n  url: http://127.0.0.1:9\n".write(to: config, atomically: true, encoding: .utf8)
    let result = try ToolRunner.run(
      "cti-stream", ["--print-config", "--config", config.path, "--stall-timeout", "PT45S"],
      environment: ["OPENCTI_TOKEN": "tok-hidden-1", "CONNECTOR_LIVE_STREAM_ID": "live"])
    #expect(result.status == 0)
    let lines = result.stdoutLines
    #expect(lines.contains("OPENCTI_TOKEN=*** (from environment OPENCTI_TOKEN)"))
    #expect(lines.contains("OPENCTI_URL=http://127.0.0.1:9 (from \(config.path) opencti.url)"))
    #expect(lines.contains("CONNECTOR_LIVE_STREAM_ID=live (from environment CONNECTOR_LIVE_STREAM_ID)"))
    #expect(lines.contains("CONNECTOR_LIVE_STREAM_LISTEN_DELETE=true (default)"))
    #expect(lines.contains("CTI_STREAM_STATE (unset)"))
    #expect(!result.stdoutText.contains("tok-hidden") && !result.stderr.contains("tok-hidden"))
  }

  @Test func anS3SecretKeyIsHiddenAndFlagsAreNamed() throws {
    let result = try ToolRunner.run(
      "cti-misp", ["--print-config", "--source", "s3", "--bucket", "b"],
      environment: [
        "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "sek-hidden-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_SESSION_TOKEN": "sek-hidden-3",
      ])
    #expect(result.status == 0)
    let lines = result.stdoutLines
    #expect(lines.contains("AWS_SECRET_ACCESS_KEY=*** (from environment AWS_SECRET_ACCESS_KEY)"))
    #expect(lines.contains("AWS_SESSION_TOKEN=*** (from environment AWS_SESSION_TOKEN)"), "\(lines)")
    #expect(lines.contains("MISP_FEED_BUCKET_NAME=b (from command line)"))
    #expect(lines.contains("AWS_REGION=us-east-1 (default)"))
    #expect(!result.stdoutText.contains("sek-hidden"))
  }
}
