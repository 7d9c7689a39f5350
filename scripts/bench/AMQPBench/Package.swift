// swift-tools-version:6.0
// A separate package so the benchmark harness is not one of cti's tools (no man page, not
// installed). It drives CTICore's AMQP push target until cti-push has --queue-protocol amqp.
import PackageDescription

let package = Package(
  name: "amqp-bench",
  dependencies: [
    .package(name: "cti", path: "../../.."),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
  ],
  targets: [
    .executableTarget(
      name: "amqp-bench",
      dependencies: [.product(name: "CTICore", package: "cti"), .product(name: "Logging", package: "swift-log")])
  ]
)
