package import Logging

/// Sends GraphQL documents to `<url>/graphql` over the libcurl `HTTPClient`, one keep-alive
/// connection per transport. Network errors and 5xx are retried by the client with backoff for
/// the operations that may be repeated (`GraphQLOperation.mayRepeat`: pushes are upserts);
/// 429 and refused connections are retried for all, since the platform did not act on them. A
/// 200 with `errors[]` is an answer and is not retried. The token goes in `Authorization: Bearer`, kept out of every log line.
/// Answers are capped at `HTTPClientSettings.maxGraphQLResponseBytes`, refused from the headers
/// when announced bigger.
package final class HTTPGraphQLTransport: GraphQLTransport {
  package let endpoint: String
  private let token: String
  private let client: HTTPClient

  package init(url: String, token: String, options: HTTPClientSettings = HTTPClientSettings(), logger: Logger) throws(ConfigError) {
    // Read as every location is (Location), so the scheme means the same as in the other tools.
    guard let base = url.httpBaseURL else {
      throw ConfigError("OPENCTI_URL '\(url)' must start with http:// or https://")
    }
    endpoint = base + "/graphql"
    self.token = token
    var capped = options
    capped.maxResponseBytes = min(options.maxResponseBytes, options.maxGraphQLResponseBytes)
    client = HTTPClient(options: capped, logger: logger)
  }

  package func send(_ request: GraphQLRequest, applicant: String?) throws(OpenCTIError) -> [UInt8] {
    var http = HTTPRequest.postJSON(endpoint, body: request.body, bearerToken: token)
    http.retryable = request.operation.mayRepeat
    if let applicant { http.headers.set("opencti-applicant-id", applicant) }
    let response: HTTPResponse
    do {
      response = try client.send(http)
    } catch {
      switch error {
      case .status(let code, _, let excerpt):
        if code == 401 || code == 403 { throw .permissionDenied(status: code, operation: request.operation) }
        throw .httpStatus(code, operation: request.operation, body: excerpt)
      default:
        throw .network(error.description, operation: request.operation)
      }
    }
    switch response.status {
    case 200..<300: return response.body
    case 401, 403: throw .permissionDenied(status: response.status, operation: request.operation)
    default:
      // A document the schema refuses comes back as 400 with errors[] (Apollo's validation).
      if response.status < 500, case .graphQL(let error)? = Self.graphQLError(response.body, request.operation) {
        throw .graphQL(error)
      }
      throw .httpStatus(response.status, operation: request.operation, body: HTTPError.excerpt(response.body))
    }
  }

  private static func graphQLError(_ body: [UInt8], _ operation: GraphQLOperation) -> OpenCTIError? {
    do {
      _ = try GraphQLResponse.data(body, operation: operation)
      return nil
    } catch {
      return error
    }
  }
}
