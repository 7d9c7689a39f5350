package import CTICore
package import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A real S3-compatible server for tests: moto's, on 127.0.0.1, checking SigV4 signatures,
/// started through Tests/Support/moto_s3.py (which fixes moto's canonicalisation of encoded
/// paths and queries). One server per test process, started on first use.
package final class MotoS3: @unchecked Sendable {
  package struct Failure: Error, CustomStringConvertible {
    package var description: String
  }

  package let port: Int
  package let accessKey: String
  package let secretKey: String
  private let process: Process

  /// The shared server (started once).
  package static func shared() throws -> MotoS3 {
    try lock.withLock {
      if let started { return started }
      // The client's sockets may close under a write: an error, not the end of the process.
      _ = signal(SIGPIPE, SIG_IGN)
      let server = try MotoS3()
      started = server
      return server
    }
  }

  nonisolated(unsafe) private static var started: MotoS3?
  private static let lock = NSLock()

  /// The package root, found from this file's place in Tests/Support.
  package static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  private init() throws {
    port = try Self.freePort()
    let launcher = Self.packageRoot.appendingPathComponent("Tests/Support/moto_s3.py").path
    process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", launcher, String(port)]
    let output = Pipe()
    let errors = FileHandle(forWritingAtPath: "/dev/null")
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // The first line is the user's keys; the rest of stdout is never read (moto logs on stderr).
    var line = Data()
    while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data([0x0A]) {
      line.append(byte)
    }
    guard let keys = try? JSONParser.parse(Array(line)), let access = keys["access_key"]?.stringValue,
      let secret = keys["secret_key"]?.stringValue
    else {
      process.terminate()
      throw Failure(
        description: "moto_s3.py did not start (is moto installed? scripts/install-deps installs it)")
    }
    accessKey = access
    secretKey = secret
    try waitForPort()
  }

  deinit { process.terminate() }

  /// An endpoint for this server, with the right keys unless told otherwise.
  package func endpoint(secretKey: String? = nil) -> S3Endpoint {
    S3Endpoint(host: "127.0.0.1", port: port, useSSL: false, region: "us-east-1", accessKey: accessKey, secretKey: secretKey ?? self.secretKey)
  }

  /// A bucket name no other test uses.
  package func freshBucket(_ client: S3Client) throws -> String {
    let name = "test-" + UUID().uuidString.lowercased().prefix(18)
    try client.createBucket(String(name))
    return String(name)
  }

  private func waitForPort() throws {
    for _ in 0..<200 {
      if Self.canConnect(port) { return }
      usleep(50_000)
    }
    throw Failure(description: "moto_s3.py did not listen on port \(port)")
  }

  static func canConnect(_ port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
  }

  static func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw Failure(description: "no free port") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
  }
}
