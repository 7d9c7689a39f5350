/// Where pushes go: a `PushSession` talking to OpenCTI, an `AMQPPushTarget`, or a test double.
package protocol PushTarget: AnyObject {
  /// Pushes one bundle (its JSON text) as `connector` (the tool's own, or the connector of a
  /// diode envelope), impersonating `applicant` (nil: the token's user).
  func pushBundle(_ bundle: [UInt8], objectCount: Int, as connector: ConnectorRegistration, applicant: String?)
    throws(OpenCTIError)
  func deleteObject(id: String) throws(OpenCTIError)
  func mergeObjects(targetId: String, sourceIds: [String]) throws(OpenCTIError)
  /// Returns once everything pushed so far is applied where it went (a broker has confirmed
  /// it): what is pushed before a checkpoint counts as applied only after this.
  func settle() throws(OpenCTIError)
}

extension PushTarget {
  /// A target whose pushes return once they are accepted has nothing to wait for.
  package func settle() throws(OpenCTIError) {}
}

/// Why a record, or a diode envelope, was not pushed (or not all of it). cti-push writes it to
/// the rejects with the record; cti-diode import --push quarantines a file that is
/// `unpushable` and leaves it in place for the next pass otherwise.
package enum PushError: ToolError {
  /// It cannot be pushed as it is (not a usable record, an unknown connector type, an object
  /// too big for a bundle): sending it again will not help.
  case unpushable(RecordError)
  /// An object pycti's splitter leaves out (AMQP push); the rest of its bundle went.
  case leftOut(IncompatibleObject)
  /// The platform refused or failed a request (after the transport's retries).
  case failed(OpenCTIError)
  /// Not sent: the platform had already failed.
  case notSent(cause: OpenCTIError)

  package var exitStatus: ExitStatus {
    switch self {
    case .unpushable(let error): error.exitStatus
    case .leftOut: .dataError
    case .failed(let error), .notSent(let error): error.exitStatus
    }
  }

  package var description: String {
    switch self {
    case .unpushable(let error): error.description
    case .leftOut(let object): object.description
    case .failed(let error): error.description
    case .notSent(let cause): "not sent, the platform failed earlier: \(cause)"
    }
  }
}
