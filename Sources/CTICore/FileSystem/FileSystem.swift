#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failed file-system call, with the path and the system's reason.
public struct FileSystemError: Error, Equatable, ExitCoded, CustomStringConvertible {
  public var operation: String
  public var path: String
  public var code: Int32
  public var exitStatus: ExitStatus { code == ENOENT ? .noInput : .ioError }
  public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }

  init(_ operation: String, _ path: String, _ code: Int32 = errno) {
    self.operation = operation
    self.path = path
    self.code = code
  }
}

/// Small, direct file-system operations (POSIX calls, no Foundation) used by the tools.
public enum FileSystem {
  /// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part:
  /// a temporary file in the same directory, then `rename`. With `durable`, the file is
  /// fsync'ed before the rename and the directory after it.
  public static func writeAtomically(
    _ bytes: [UInt8], to path: String, durable: Bool = false, mode: mode_t = 0o644
  ) throws(FileSystemError) {
    let directory = parent(of: path)
    let temporary = temporaryPath(for: path)
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard descriptor >= 0 else { throw FileSystemError("create", temporary) }
    var failure: FileSystemError?
    if !writeAll(bytes, to: descriptor) { failure = FileSystemError("write", temporary) }
    if failure == nil, durable, fsync(descriptor) != 0 { failure = FileSystemError("fsync", temporary) }
    if close(descriptor) != 0, failure == nil { failure = FileSystemError("close", temporary) }
    if failure == nil, rename(temporary, path) != 0 { failure = FileSystemError("rename", path) }
    if let failure {
      unlink(temporary)
      throw failure
    }
    if durable { try syncDirectory(directory) }
  }

  /// A fresh name beside `path` for writing it atomically: `.<name>.tmp-<pid>-<random>`. Hidden
  /// and without a `.json` ending, so no reader (ours, restore-files, the diode importers) takes
  /// it for a finished file; `isTemporaryName` recognises it after a crash.
  public static func temporaryPath(for path: String) -> String {
    parent(of: path) + "/." + baseName(of: path) + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
  }

  /// Whether a directory entry is one of `temporaryPath`'s names.
  public static func isTemporaryName(_ name: String) -> Bool {
    isTemporaryName(Array(name.utf8)[...])
  }

  /// `isTemporaryName` on the bytes of a name.
  public static func isTemporaryName(_ name: ArraySlice<UInt8>) -> Bool {
    guard name.first == UInt8(ascii: "."), let lastDash = name.lastIndex(of: UInt8(ascii: "-")) else { return false }
    let random = name[(lastDash + 1)...]
    let head = name[..<lastDash]
    guard let pidDash = head.lastIndex(of: UInt8(ascii: "-")) else { return false }
    let pid = head[(pidDash + 1)...]
    let isDigits = { (part: ArraySlice<UInt8>) in !part.isEmpty && part.allSatisfy { (48...57).contains($0) } }
    let stem = head[..<pidDash]
    return isDigits(random) && isDigits(pid) && stem.count > 5 && stem.suffix(4).elementsEqual(".tmp".utf8)
  }

  /// How old a temporary must be before a later run takes it for the leftover of a killed one.
  public static let staleTemporaryAge = 60.0

  /// Removes `temporaryPath` leftovers older than `age` seconds from `folder` (a process killed
  /// between creating and renaming them); returns how many went. Younger ones may belong to a
  /// writer still at work and are left alone.
  @discardableResult
  public static func removeStaleTemporaries(in folder: String, olderThan age: Double = staleTemporaryAge) throws(FileSystemError)
    -> Int
  {
    var removed = 0
    for name in try list(folder) where isTemporaryName(name) {
      if try removeIfStaleTemporary(folder + "/" + name, olderThan: age) { removed += 1 }
    }
    return removed
  }

  /// Removes one temporary (already known by its name) when its last change is older than
  /// `age` seconds; says whether it did.
  public static func removeIfStaleTemporary(_ path: String, olderThan age: Double = staleTemporaryAge) throws(FileSystemError)
    -> Bool
  {
    var status = stat()
    guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return false }
    let modified = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
    let now = ISO8601.Instant.now
    guard Double(now.seconds) + Double(now.nanoseconds) / 1e9 - modified > age else { return false }
    return try removeFile(path)
  }

  /// Writes all of `bytes` to an open descriptor, retrying short writes and EINTR; false on
  /// failure (with `errno` set).
  public static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
    bytes.withUnsafeBytes { writeAll($0, to: descriptor).error == nil }
  }

  /// Writes all of `raw`, retrying short writes and EINTR: how many bytes went out, and the
  /// `errno` that stopped it early (nil when everything was written).
  public static func writeAll(_ raw: UnsafeRawBufferPointer, to descriptor: Int32) -> (written: Int, error: Int32?) {
    var offset = 0
    while offset < raw.count {
      let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
      if written < 0 {
        if errno == EINTR { continue }
        return (offset, errno)
      }
      offset += written
    }
    return (offset, nil)
  }

  /// fsyncs a directory, so that entries created or renamed in it survive a crash.
  public static func syncDirectory(_ path: String) throws(FileSystemError) {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { throw FileSystemError("open", path) }
    defer { close(descriptor) }
    if fsync(descriptor) != 0 { throw FileSystemError("fsync", path) }
  }

  /// Reads a whole file.
  public static func read(_ path: String) throws(FileSystemError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw FileSystemError("open", path) }
    defer { close(descriptor) }
    var status = stat()
    let size = fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
    var result = [UInt8](repeating: 0, count: max(size, 4096))
    var count = 0
    while true {
      if count == result.count { result.append(contentsOf: repeatElement(0, count: result.count)) }
      let got = result.withUnsafeMutableBytes { readRetrying(descriptor, $0.baseAddress! + count, $0.count - count) }
      if got < 0 { throw FileSystemError("read", path) }
      if got == 0 { break }
      count += got
    }
    result.removeSubrange(count...)
    return result
  }

  /// Whether `path` names an existing directory.
  public static func isDirectory(_ path: String) -> Bool {
    var status = stat()
    return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
  }

  /// Whether something exists at `path`.
  public static func exists(_ path: String) -> Bool {
    access(path, F_OK) == 0
  }

  /// Creates a directory; an existing directory is fine.
  public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(FileSystemError) {
    if mkdir(path, mode) != 0 && !(errno == EEXIST && isDirectory(path)) {
      throw FileSystemError("mkdir", path)
    }
  }

  /// Creates a directory and its missing parents.
  public static func makeDirectories(_ path: String) throws(FileSystemError) {
    if isDirectory(path) { return }
    let up = parent(of: path)
    if up != path, !up.isEmpty { try makeDirectories(up) }
    try makeDirectory(path)
  }

  /// Removes a file. Returns false when there was nothing to remove.
  @discardableResult
  public static func removeFile(_ path: String) throws(FileSystemError) -> Bool {
    if unlink(path) == 0 { return true }
    if errno == ENOENT { return false }
    throw FileSystemError("unlink", path)
  }

  /// Removes a directory if it is empty; says whether it did.
  @discardableResult
  public static func removeDirectoryIfEmpty(_ path: String) -> Bool {
    rmdir(path) == 0
  }

  /// The names in a directory (without `.` and `..`), unsorted.
  public static func list(_ path: String) throws(FileSystemError) -> [String] {
    guard let directory = opendir(path) else { throw FileSystemError("opendir", path) }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }

  /// Calls `body` with each name in a directory (without `.` and `..`), unsorted, as bytes that
  /// are valid only during the call: no string is made per entry, for folders of many files.
  public static func forEachName(in path: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) throws(FileSystemError) {
    guard let directory = opendir(path) else { throw FileSystemError("opendir", path) }
    defer { closedir(directory) }
    while let entry = readdir(directory) {
      withUnsafeBytes(of: &entry.pointee.d_name) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let length = bytes.firstIndex(of: 0) ?? bytes.count
        let name = UnsafeBufferPointer(rebasing: bytes[..<length])
        if name.count == 1 && name[0] == UInt8(ascii: ".") { return }
        if name.count == 2 && name[0] == UInt8(ascii: ".") && name[1] == UInt8(ascii: ".") { return }
        body(name)
      }
    }
  }

  /// Moves a file within one file system (`rename`), replacing what `to` names.
  public static func move(_ from: String, to: String) throws(FileSystemError) {
    if rename(from, to) != 0 { throw FileSystemError("rename", from) }
  }

  /// Size and modification time of a file, or nil when it does not exist.
  public static func attributes(_ path: String) -> (size: Int, modified: Double, isDirectory: Bool)? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    let modified = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
    return (Int(status.st_size), modified, (status.st_mode & S_IFMT) == S_IFDIR)
  }

  /// The directory part of a path (`.` for a bare name).
  public static func parent(of path: String) -> String {
    var utf8 = Array(path.utf8)
    while utf8.count > 1, utf8.last == UInt8(ascii: "/") { utf8.removeLast() }
    guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    return slash == 0 ? "/" : String(decoding: utf8[..<slash], as: UTF8.self)
  }

  /// The last component of a path.
  public static func baseName(of path: String) -> String {
    var utf8 = Array(path.utf8)
    while utf8.count > 1, utf8.last == UInt8(ascii: "/") { utf8.removeLast() }
    guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
    return String(decoding: utf8[(slash + 1)...], as: UTF8.self)
  }
}
