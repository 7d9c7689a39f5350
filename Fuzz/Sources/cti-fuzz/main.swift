import CTIFuzzChecks

#if canImport(Glibc)
  import Glibc
#endif

// libFuzzer's driver, linked in by -sanitize=fuzzer. SwiftPM gives executables their own main,
// so this main hands libFuzzer the arguments after the target's name (toolchain notes §5).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
  _ argc: UnsafeMutablePointer<CInt>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

nonisolated(unsafe) var selected = FuzzTarget.json

/// Writes a message on stderr.
func say(_ text: String) {
  let bytes = Array(text.utf8)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
  let problems = selected.check(bytes)
  if !problems.isEmpty {
    // An abort is what libFuzzer keeps as a crash input.
    say("cti-fuzz \(selected.rawValue): \(problems.joined(separator: "; "))\n")
    abort()
  }
  return 0
}

// The target is the first argument. libFuzzer's -fork and -jobs modes run this binary again
// with only their own arguments, so the choice is also passed down in CTI_FUZZ_TARGET.
var arguments = CommandLine.arguments
if arguments.count > 1, let target = FuzzTarget(rawValue: arguments[1]) {
  selected = target
  arguments.remove(at: 1)
  setenv("CTI_FUZZ_TARGET", target.rawValue, 1)
} else if let name = getenv("CTI_FUZZ_TARGET").map({ String(cString: $0) }), let target = FuzzTarget(rawValue: name) {
  selected = target
} else {
  let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
  say("usage: cti-fuzz <\(names)> [libFuzzer options] [corpus or input files]\n")
  exit(64)
}
atexit { FuzzTarget.cleanUp() }
var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
var argc = CInt(argv.count - 1)
exit(
  argv.withUnsafeMutableBufferPointer { buffer in
    var pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
    return LLVMFuzzerRunDriver(&argc, &pointer, fuzzOne)
  })
