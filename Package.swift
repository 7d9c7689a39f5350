// swift-tools-version:6.0
import PackageDescription

/// The command-line tools. Each is a thin executable over CTICommand and CTICore and its own product;
/// scripts/generate-man writes man/<tool>.1 for each one named here.
let tools = [
  "cti-backup",
  "cti-stream",
  "cti-misp",
  "cti-push",
  "cti-diode",
]

let package = Package(
  name: "cti",
  platforms: [.macOS(.v13)],
  products: [
    // The fuzz targets' checks, for the libFuzzer driver in Fuzz/ and the replay tests.
    .library(name: "CTIFuzzChecks", targets: ["CTIFuzzChecks"]),
  ]
    + tools.map { .executable(name: $0, targets: [$0]) },
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    .systemLibrary(
      name: "CCurl",
      pkgConfig: "libcurl",
      providers: [.apt(["libcurl4-openssl-dev"])]
    ),
    .systemLibrary(
      name: "CRabbitMQ",
      pkgConfig: "librabbitmq",
      providers: [.apt(["librabbitmq-dev"])]
    ),
    .systemLibrary(
      name: "CCrypto",
      pkgConfig: "libcrypto",
      providers: [.apt(["libssl-dev"])]
    ),
    .target(
      name: "CTICore",
      dependencies: [
        "CCurl",
        "CCrypto",
        "CRabbitMQ",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Yams", package: "Yams"),
      ]
    ),
    // The command-line side: option groups shared by the tools and the one entry point
    // (logging, signals, exit codes, summary). CTICore itself knows nothing of the command line.
    .target(
      name: "CTICommand",
      dependencies: [
        "CTICore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    .target(
      name: "CTITestSupport",
      dependencies: ["CTICore", "CRabbitMQ"],
      path: "Tests/Support",
      exclude: ["fake_opencti.py", "fake_graphql.py", "moto_s3.py"]
    ),
    .target(
      name: "CTIFuzzChecks",
      dependencies: ["CTICore"],
      path: "Tests/FuzzChecks"
    ),
    .testTarget(
      name: "CTICoreTests",
      dependencies: ["CTICore", "CCurl", "CTITestSupport", "CTIFuzzChecks"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "CTICommandTests",
      dependencies: ["CTICommand", "CTICore"]
    ),
    .testTarget(
      name: "EndToEndTests",
      dependencies: ["CTICore", "CTITestSupport"],
      resources: [.copy("Fixtures")]
    ),
  ]
    + tools.map { tool in
      .executableTarget(
        name: tool,
        dependencies: ["CTICommand", "CTICore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
      )
    }
)

// Every Swift target writes existentials as `any P`, and its imports stay internal unless a file
// says otherwise (`package import` where a package-wide declaration shows an imported type).
for target in package.targets where target.type != .system {
  target.swiftSettings = (target.swiftSettings ?? []) + [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
  ]
}
