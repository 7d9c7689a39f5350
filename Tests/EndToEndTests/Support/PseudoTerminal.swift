import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A pseudo-terminal, so that a tool can be run with stdin or stderr on a terminal, as a person
/// at a shell would run it: the tool sees `isatty` true, the test reads and writes the other end.
final class PseudoTerminal {
  let controller: Int32
  private(set) var device: Int32

  init() throws {
    // The Glibc module leaves out the pseudo-terminal calls (they need _XOPEN_SOURCE): look them
    // up in the C library.
    typealias IntCall = @convention(c) (Int32) -> Int32
    typealias NameCall = @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?
    guard let open_ = dlsym(nil, "posix_openpt"), let grant = dlsym(nil, "grantpt"), let unlock = dlsym(nil, "unlockpt"),
      let name_ = dlsym(nil, "ptsname")
    else { throw POSIXError(.ENOSYS) }
    controller = unsafeBitCast(open_, to: IntCall.self)(O_RDWR | O_NOCTTY)
    guard controller >= 0, unsafeBitCast(grant, to: IntCall.self)(controller) == 0,
      unsafeBitCast(unlock, to: IntCall.self)(controller) == 0,
      let name = unsafeBitCast(name_, to: NameCall.self)(controller)
    else { throw POSIXError(.ENODEV) }
    device = open(name, O_RDWR | O_NOCTTY)
    guard device >= 0 else { throw POSIXError(.ENODEV) }
  }

  deinit {
    closeDevice()
    close(controller)
  }

  /// The terminal end, for a child process.
  var handle: FileHandle { FileHandle(fileDescriptor: device, closeOnDealloc: false) }

  /// Closes this process's copy of the terminal end, so reads see the end when the child exits.
  func closeDevice() {
    if device >= 0 { close(device) }
    device = -1
  }

  func write(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { Glibc.write(controller, $0.baseAddress, $0.count) }
  }

  /// Everything the child writes to the terminal until it closes it (read fails with EIO).
  func readToEnd() -> String {
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(controller, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { break }
      output += buffer[0..<count]
    }
    return String(decoding: output, as: UTF8.self)
  }
}
