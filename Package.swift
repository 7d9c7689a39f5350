// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "cti",
  platforms: [.macOS(.v13)],
  products: [
    .library(name: "CTICore", targets: ["CTICore"]),
    .executable(name: "cti-backup", targets: ["cti-backup"]),
    .executable(name: "cti-diode", targets: ["cti-diode"]),
    .executable(name: "cti-stream", targets: ["cti-stream"]),
  ],
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
      name: "CCrypto",
      pkgConfig: "libcrypto",
      providers: [.apt(["libssl-dev"])]
    ),
    .target(
      name: "CTICore",
      dependencies: [
        "CCurl",
        "CCrypto",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .executableTarget(
      name: "cti-backup",
      dependencies: [
        "CTICore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .executableTarget(
      name: "cti-diode",
      dependencies: [
        "CTICore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .executableTarget(
      name: "cti-stream",
      dependencies: [
        "CTICore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .target(
      name: "CTITestSupport",
      dependencies: ["CTICore"],
      path: "Tests/Support",
      exclude: ["fake_opencti.py"]
    ),
    .testTarget(
      name: "CTICoreTests",
      dependencies: ["CTICore", "CCurl", "CTITestSupport"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "EndToEndTests",
      dependencies: ["CTICore", "CTITestSupport"],
      resources: [.copy("Fixtures")]
    ),
  ]
)
