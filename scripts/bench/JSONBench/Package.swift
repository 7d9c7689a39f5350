// swift-tools-version:6.0
// A separate package so the benchmark is not one of cti's tools (no man page, not installed).
import PackageDescription

let package = Package(
  name: "json-bench",
  dependencies: [.package(name: "cti", path: "../../..")],
  targets: [
    .executableTarget(name: "json-bench", dependencies: [.product(name: "CTICore", package: "cti")])
  ]
)
