import Logging

/// Problems that stop cti-diode before or between passes.
package enum DiodeError: ToolError {
  case missingFolder(String)
  case noSource

  package var exitStatus: ExitStatus {
    switch self {
    case .missingFolder: .noInput
    case .noSource: .config
    }
  }

  package var description: String {
    switch self {
    case .missingFolder(let path): "\(path): no such folder"
    case .noSource:
      "nothing to read: give a folder, or set DIODE_IMPORT_GET_FROM_DIRECTORY_PATH"
    }
  }

  /// The folder to import from must exist (a missing one may be a drive not mounted yet).
  static func checkFolder(_ path: String) throws {
    switch FileSystem.kind(of: path) {
    case .folder: return
    case .missing: throw DiodeError.missingFolder(path)
    case .other: throw NotAFolderError(path, expected: "a diode folder holding *.json files")
    }
  }

  /// The folder to export to is created when missing, with a notice (pycti's writer fails
  /// instead, and a first run then needs a `mkdir`).
  static func prepareExportFolder(_ path: String, logger: Logger) throws {
    switch FileSystem.kind(of: path) {
    case .folder: return
    case .other: throw NotAFolderError(path, exitStatus: .ioError, expected: "the folder to write diode files into")
    case .missing:
      try FileSystem.makeDirectories(path)
      logger.notice("created the export folder \(path), which did not exist")
    }
  }
}
