// swift-tools-version:6.0
import PackageDescription

/// The libFuzzer driver: one executable, `cti-fuzz <target> [libFuzzer options] [corpus…]`, over
/// the checks in the root package's CTIFuzzChecks. Kept out of the root package because it only
/// links with `-sanitize=fuzzer`; scripts/fuzz builds it into .build-fuzz.
let package = Package(
  name: "cti-fuzz",
  platforms: [.macOS(.v13)],
  dependencies: [.package(name: "cti", path: "..")],
  targets: [
    .executableTarget(name: "cti-fuzz", dependencies: [.product(name: "CTIFuzzChecks", package: "cti")])
  ]
)
