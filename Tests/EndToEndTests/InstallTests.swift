import CTICore
import Foundation
import Testing

/// The tree scripts/install writes (scripts/test unpacks scripts/package's tarball of it and
/// names it in CTI_INSTALLED_PREFIX): what it holds, that the binaries run on a host without a
/// Swift toolchain, and that scripts/uninstall removes it.
@Suite(.enabled(if: Installation.prefix != nil, "CTI_INSTALLED_PREFIX is not set (scripts/test sets it)"))
struct InstallTests {
  static var prefix: String? { Installation.prefix }
  static let tools = ["cti-stream", "cti-backup", "cti-misp", "cti-push", "cti-diode"]

  /// Every file the installation must hold, relative to the prefix.
  static let expectedFiles: [String] = tools.flatMap { tool in
    [
      "bin/\(tool)", "share/man/man1/\(tool).1", "share/bash-completion/completions/\(tool)",
      "share/zsh/site-functions/_\(tool)", "share/fish/vendor_completions.d/\(tool).fish",
    ]
  }

  static func files(under root: String) -> [String] {
    let enumerator = FileManager.default.enumerator(atPath: root)
    var found: [String] = []
    while let path = enumerator?.nextObject() as? String {
      var isFolder: ObjCBool = false
      if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isFolder), !isFolder.boolValue {
        found.append(path)
      }
    }
    return found.sorted()
  }

  static func shell(_ script: String, in folder: String? = nil) throws -> ToolResult {
    try ToolRunner.runProgram("/bin/bash", ["-euo", "pipefail", "-c", (folder.map { "cd '\($0)'\n" } ?? "") + script])
  }

  @Test func theTreeHoldsTheToolsManPagesAndCompletions() throws {
    let prefix = try #require(Self.prefix)
    #expect(Self.files(under: prefix) == Self.expectedFiles.sorted())
    for tool in Self.tools {
      let version = try ToolRunner.runProgram(prefix + "/bin/" + tool, ["--version"])
      #expect(version.stdoutText == CTIVersion.current + "\n", "\(tool): \(version.stderr)")
      let bash = try String(contentsOfFile: "\(prefix)/share/bash-completion/completions/\(tool)", encoding: .utf8)
      #expect(bash.contains("complete ") && bash.contains(tool))
      let zsh = try String(contentsOfFile: "\(prefix)/share/zsh/site-functions/_\(tool)", encoding: .utf8)
      #expect(zsh.hasPrefix("#compdef \(tool)"))
      let fish = try String(contentsOfFile: "\(prefix)/share/fish/vendor_completions.d/\(tool).fish", encoding: .utf8)
      #expect(fish.contains("complete -c '\(tool)'"))
      let man = try String(contentsOfFile: "\(prefix)/share/man/man1/\(tool).1", encoding: .utf8)
      #expect(man.contains(".Nm \(tool)") || man.contains(tool.uppercased()))
    }
  }

  /// The libraries a binary may load: the C library, the C++ runtime the Swift runtime uses,
  /// and the distribution's libcurl, OpenSSL and librabbitmq. Nothing from
  /// the toolchain.
  static let allowedLibraries: Set<String> = [
    "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1", "libstdc++.so.6",
    "libgcc_s.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "libcurl.so.4", "libcrypto.so.3", "libssl.so.3",
    "libz.so.1", "librabbitmq.so.4",
  ]

  @Test func theBinariesNeedOnlyDistributionLibraries() throws {
    let prefix = try #require(Self.prefix)
    for tool in Self.tools {
      let dynamic = try ToolRunner.runProgram("/usr/bin/readelf", ["-d", prefix + "/bin/" + tool])
      #expect(dynamic.status == 0, "\(dynamic.stderr)")
      let needed = dynamic.stdoutLines.filter { $0.contains("(NEEDED)") }.compactMap { line -> String? in
        guard let open = line.lastIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
        return String(line[line.index(after: open)..<close])
      }
      #expect(!needed.isEmpty)
      #expect(Set(needed).isSubset(of: Self.allowedLibraries), "\(tool) needs \(needed)")
      #expect(!needed.contains { $0.hasPrefix("libswift") || $0.contains("Foundation") || $0.contains("dispatch") })
      let paths = dynamic.stdoutLines.filter { $0.contains("(RUNPATH)") || $0.contains("(RPATH)") }
      #expect(paths.allSatisfy { !$0.contains("/swift") }, "\(tool): \(paths)")
    }
  }

  static var toolchain: String? { Installation.toolchain }
}

/// What the installation tests depend on, worked out once.
enum Installation {
  static let prefix = ProcessInfo.processInfo.environment["CTI_INSTALLED_PREFIX"]

  /// The folder `swift` on PATH comes from (/opt/swift for /opt/swift/usr/bin/swift), or nil.
  static let toolchain: String? = {
    for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
      let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("swift")
      guard FileManager.default.isExecutableFile(atPath: candidate.path) else { continue }
      let resolved = candidate.resolvingSymlinksInPath()
      // <toolchain>/usr/bin/swift; a toolchain installed in / or /usr cannot be hidden whole,
      // so its runtime folder is hidden instead.
      let root = resolved.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
      return ["/", "/usr", "/usr/local"].contains(root) ? root + "/usr/lib/swift" : root
    }
    return nil
  }()

  /// Whether this process may make a private mount namespace (root, or user namespaces).
  static let canUnshare: Bool = {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return false }
    return (try? ToolRunner.runProgram("/usr/bin/unshare", ["-m", "true"]).status) == 0
  }()

}

extension InstallTests {
  @Test(
    .enabled(if: Installation.toolchain != nil, "no swift on PATH: nothing to hide"),
    .enabled(if: Installation.canUnshare, "unshare -m is not permitted here (it needs root): toolchain-free run skipped"))
  func theInstalledToolsRunWithTheToolchainHidden() throws {
    let prefix = try #require(Self.prefix)
    let toolchain = try #require(Self.toolchain)
    let folder = try TemporaryFolder()
    try FileManager.default.createDirectory(atPath: folder.path + "/empty", withIntermediateDirectories: true)
    let examples = ToolRunner.packageRoot.appendingPathComponent("examples").path
    // In a private mount namespace an empty folder covers the toolchain; the installed tools
    // then run a pipeline of each kind on the bundled data.
    let script = """
      mount --bind '\(folder.path)/empty' '\(toolchain)'
      test -z "$(ls -A '\(toolchain)')"
      export PATH='\(prefix)/bin':/usr/bin:/bin
      cd '\(folder.path)'
      for tool in \(Self.tools.joined(separator: " ")); do "$tool" --version >/dev/null; done
      mkdir backup
      cti-stream --quiet --replay '\(examples)/stream-capture.sse' | cti-backup --quiet ./backup
      cti-backup restore --quiet ./backup | wc -l > restored
      cti-misp --quiet --feed '\(examples)/misp-feed' --import-from-date 2000-01-01 --create-indicators > misp.ndjson
      cti-diode export diode --quiet --connector-id 2a1c3d4e-0000-4000-8000-000000000001 --connector-name demo < misp.ndjson
      cti-diode import diode --quiet | cti-push --quiet --dry-run | grep -c StixBundlePush > pushed
      """
    let result = try ToolRunner.runProgram("/usr/bin/unshare", ["-m", "/bin/bash", "-euo", "pipefail", "-c", script])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(folder.read("restored") == "4\n")
    #expect(folder.read("pushed") == "3\n")
    // The same check catches a binary that needs the toolchain: the debug build does.
    let debug = try ToolRunner.runProgram(
      "/usr/bin/unshare",
      ["-m", "/bin/bash", "-c", "mount --bind '\(folder.path)/empty' '\(toolchain)' && '\(ToolRunner.binDirectory.path)/cti-misp' --version"])
    #expect(debug.status != 0)
    #expect(debug.stderr.contains("libswift"), "\(debug.stderr)")
  }

  @Test func uninstallRemovesEveryInstalledFileAndNothingElse() throws {
    let prefix = try #require(Self.prefix)
    let folder = try TemporaryFolder()
    let copy = folder.path + "/prefix"
    try FileManager.default.copyItem(atPath: prefix, toPath: copy)
    try folder.write("prefix/bin/other-tool", "#!/bin/sh\n")
    let script = ToolRunner.packageRoot.appendingPathComponent("scripts/uninstall").path
    let result = try ToolRunner.runProgram(script, ["--prefix", copy])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(Self.files(under: copy) == ["bin/other-tool"])
    #expect(result.stderr.contains("removed \(Self.expectedFiles.count) files"))
  }

  @Test(.enabled(if: ProcessInfo.processInfo.environment["CTI_PACKAGE"] != nil, "CTI_PACKAGE is not set"))
  func thePackageIsNamedWithVersionAndArchitecture() throws {
    let package = try #require(ProcessInfo.processInfo.environment["CTI_PACKAGE"])
    let architecture = try ToolRunner.runProgram("/usr/bin/uname", ["-m"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(URL(fileURLWithPath: package).lastPathComponent == "cti-\(CTIVersion.current)-linux-\(architecture).tar.gz")
  }
}
