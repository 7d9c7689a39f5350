/// A path given where a folder is expected names a file (or something else): said plainly,
/// since the system's own message for it ("No such file or directory", "Not a directory")
/// points the wrong way.
package struct NotAFolderError: ToolError, Equatable {
  package var path: String
  /// What the path is for, in front of it in the message (`backup path`).
  package var role: String?
  package var exitStatus: ExitStatus
  /// What the folder should hold, for the message (`a MISP feed: manifest.json and <uuid>.json`).
  package var expected: String?

  package init(_ path: String, role: String? = nil, exitStatus: ExitStatus = .noInput, expected: String? = nil) {
    self.path = path
    self.role = role
    self.exitStatus = exitStatus
    self.expected = expected
  }

  package var description: String {
    (role.map { $0 + " " } ?? "") + "\(path) is not a folder" + (expected.map { " (expected \($0))" } ?? "")
  }
}

extension FileSystem {
  /// What is at a path, for messages that tell a missing folder from a file given by mistake.
  package enum PathKind: Sendable, Equatable {
    case missing
    case folder
    case other
  }

  package static func kind(of path: String) -> PathKind {
    if isDirectory(path) { return .folder }
    return exists(path) ? .other : .missing
  }
}
