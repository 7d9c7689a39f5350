import Foundation
import Testing
@testable import CTICore

/// Every error a tool can end on has one message and one exit status: its description is also
/// its `localizedDescription`, and wrappers take the status of what they wrap.
@Suite struct ToolErrorTests {
  static var samples: [(any ToolError, CTICore.ExitStatus)] {
    [
      (RecordError(line: 3, "not JSON: x"), .dataError),
      (MISPEventError("the event has no Orgc.name (its author)"), .dataError),
      (MISPEventFailure(uuid: "u1", underlying: MISPFetchError("gone", exitStatus: .noInput)), .noInput),
      (MISPEventFailure(bucket: "b", key: "k.json", underlying: MISPEventError("not valid JSON")), .dataError),
      (StreamEventError(id: "1-0", message: "empty payload"), .dataError),
      (SSEEventTooLarge(id: "1-0", size: 20, limit: 10, whole: true), .dataError),
      (DiodeValidationError("no \"connector\" key"), .dataError),
      (DiodeReadDeferral("a.json changed while it was read"), .tempFail),
      (DiodeRejection(name: "a.json", reason: "not JSON", movedTo: "/q/a.json"), .dataError),
      (JSONError("unexpected end", at: 4), .dataError),
      (SplitError("references nest too deep"), .dataError),
      (GraphQLError(message: "no", code: "FORBIDDEN_ACCESS", operation: .stixBundlePush), .noPermission),
      (PushError.unpushable(RecordError("bundle has no objects")), .dataError),
      (PushError.leftOut(IncompatibleObject(id: "x--1", type: "x", reason: "unsupported type")), .dataError),
      (PushError.failed(.network("refused", operation: .stixBundlePush)), .unavailable),
      (PushError.notSent(cause: .permissionDenied(status: 401, operation: .stixBundlePush)), .noPermission),
      (ConfigError("bad", fromCommandLine: true), .usage),
    ]
  }

  @Test func theMessageIsTheLocalizedDescriptionAndTheStatusIsTheDocumentedOne() {
    for (error, status) in Self.samples {
      #expect(error.localizedDescription == "\(error)")
      #expect(error.errorDescription == error.description)
      #expect(error.exitStatus == status, "\(error)")
    }
  }

  @Test func aRecordErrorNamesItsLineOnlyWhenItKnowsIt() {
    #expect("\(RecordError(line: 7, "not a JSON object"))" == "line 7: not a JSON object")
    #expect("\(RecordError("bundle has no objects"))" == "bundle has no objects")
  }

  @Test func pushErrorsSayWhatTheyWrap() {
    let refused = OpenCTIError.permissionDenied(status: 401, operation: .stixBundlePush)
    #expect("\(PushError.failed(refused))" == "\(refused)")
    #expect("\(PushError.notSent(cause: refused))" == "not sent, the platform failed earlier: \(refused)")
    #expect("\(PushError.unpushable(RecordError("bundle has no objects")))" == "bundle has no objects")
  }
}
