/// Where `cti-diode import --push` sends the files: the platform, its token and TLS setup, and
/// the applicant mapping.
package struct DiodePushSettings: Sendable {
  package var url: String
  package var token: String
  package var http: HTTPClientSettings
  package var pipeline: PushPipeline.Settings

  /// Resolves URL and token (both required) and TLS as every tool that talks to OpenCTI.
  package init(flags: OpenCTIFlags, configuration: Configuration, applicants: ApplicantMap?) throws(ConfigError) {
    let platform = try OpenCTISettings(flags: flags, configuration: configuration)
    url = platform.url
    guard let token = platform.token?.trimmingSpaces, !token.isEmpty else {
      throw ConfigError("--push needs an API token: give --token, or set OPENCTI_TOKEN or opencti.token in config.yml")
    }
    self.token = token
    http = platform.http
    pipeline = PushPipeline.Settings(applicants: applicants ?? ApplicantMap())
  }
}

/// Pushes imported diode files with the push client, as the official importer does: each file
/// is pushed as its own connector (registered once per run), impersonating its applicant through
/// the mapping, into a work of its own that is closed after the file (in error when the push
/// failed). Delivery results tell the importer whether to record and delete the file.
package final class DiodePusher {
  package let session: PushSession
  private let pusher: BundlePusher
  private let diagnostics: Diagnostics
  /// Files pushed and files whose push failed, over the whole run.
  package private(set) var pushed = 0
  package private(set) var failed = 0

  package init(transport: any GraphQLTransport, options: PushPipeline.Settings, diagnostics: Diagnostics) {
    self.diagnostics = diagnostics
    session = PushSession(client: OpenCTIClient(transport: transport), connector: nil)
    pusher = BundlePusher(target: session, options: options, diagnostics: diagnostics)
  }

  /// Checks the platform's version and the token before any file is touched.
  package func start() throws(OpenCTIError) {
    try session.start()
  }

  /// Called before each pass: a platform that failed in an earlier pass is tried again.
  package func beginPass() {
    pusher.retryPlatform()
  }

  /// Pushes one file. A file that cannot be pushed as it is (unknown connector type, an object
  /// too big for any bundle) is refused, so it is quarantined; a platform failure leaves it in
  /// place for the next run.
  package func deliver(_ file: DiodeFile, _ item: DiodeItem) -> DiodeDelivery {
    let connector: ConnectorRegistration
    do {
      connector = try ConnectorRegistration(file.connector)
    } catch {
      return .refused(error.message)
    }
    var failure: PushError?
    if let platformFailure = pusher.platformFailure {
      failure = .notSent(cause: platformFailure)
    } else {
      do {
        // A session leaves nothing out (only an AMQP target does); were an object left out,
        // it is reported and the rest of the file counts as delivered.
        for (object, _) in try pusher.pushEnvelope(file, line: nil) {
          diagnostics.error("\(item.name): \(PushError.leftOut(object))")
        }
      } catch {
        failure = error
      }
    }
    do {
      try session.closeWork(
        of: connector, message: failure.map { "push failed: \($0)" } ?? "Connector successfully run", inError: failure != nil)
    } catch {
      diagnostics.warning("\(item.name): closing its work failed: \(error)")
    }
    switch failure {
    case nil:
      pushed += 1
      return .delivered
    case .unpushable(let problem):
      return .refused(problem.message)
    case let failure?:
      failed += 1
      diagnostics.error("\(item.name): push failed, the file stays for the next run: \(failure)")
      return .failed
    }
  }

  /// `pushed N files (N bundles, N objects) in N works`, and the failures.
  package var summary: String {
    var text = "pushed \(pushed) file\(pushed == 1 ? "" : "s") (\(pusher.bundles) bundles, "
    text += "\(pusher.objects) objects) in \(session.works.count) work\(session.works.count == 1 ? "" : "s")"
    if failed > 0 { text += ", \(failed) push\(failed == 1 ? "" : "es") failed" }
    return text
  }
}
