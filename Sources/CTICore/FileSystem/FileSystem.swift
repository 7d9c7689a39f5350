#if canImport(Glibc)
  package import Glibc
#elseif canImport(Darwin)
  package import Darwin
#endif

/// A failed file-system call, with the path and the system's reason.
package struct FileSystemError: ToolError, Equatable {
  package var operation: String
  package var path: String
  package var code: Int32
  package var exitStatus: ExitStatus {
    switch code {
    case ENOENT: .noInput
    case EFBIG: .dataError  // over a size limit: the data, not the disk, is at fault
    default: .ioError
    }
  }
  package var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }

  init(_ operation: String, _ path: String, _ code: Int32 = errno) {
    self.operation = operation
    self.path = path
    self.code = code
  }
}

/// Small, direct file-system operations (POSIX calls, no Foundation) used by the tools.
package enum FileSystem {
  /// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part:
  /// a temporary file in the same directory, then `rename`. With `durable`, the file is
  /// fsync'ed before the rename and the directory after it.
  package static func writeAtomically(
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
    if failure == nil, systemRename(temporary, path) != 0 { failure = FileSystemError("rename", path) }
    if let failure {
      unlink(temporary)
      throw failure
    }
    if durable { try syncDirectory(directory) }
  }

  /// A fresh name beside `path` for writing it atomically: `.<name>.tmp-<pid>-<random>`. Hidden
  /// and without a `.json` ending, so no reader (ours, restore-files, the diode importers) takes
  /// it for a finished file; `isTemporaryName` recognises it after a crash.
  package static func temporaryPath(for path: String) -> String {
    // The name part is shortened so that the temporary stays within NAME_MAX even for a target
    // whose own name is close to it.
    let stem = SafeName.truncated(baseName(of: path), toBytes: maxNameBytes - 32)
    return parent(of: path) + "/." + stem + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
  }

  /// Whether a directory entry is one of `temporaryPath`'s names.
  package static func isTemporaryName(_ name: String) -> Bool {
    isTemporaryName(Array(name.utf8)[...])
  }

  /// `isTemporaryName` on the bytes of a name.
  package static func isTemporaryName(_ name: ArraySlice<UInt8>) -> Bool {
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
  package static let staleTemporaryAge = 60.0

  /// Removes `temporaryPath` leftovers older than `age` seconds from `folder` (a process killed
  /// between creating and renaming them); returns how many went. Younger ones may belong to a
  /// writer still at work and are left alone.
  @discardableResult
  package static func removeStaleTemporaries(in folder: String, olderThan age: Double = staleTemporaryAge) throws(FileSystemError)
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
  package static func removeIfStaleTemporary(_ path: String, olderThan age: Double = staleTemporaryAge) throws(FileSystemError)
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
  package static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
    bytes.withUnsafeBytes { writeAll($0, to: descriptor).error == nil }
  }

  /// Writes all of `raw`, retrying short writes and EINTR: how many bytes went out, and the
  /// `errno` that stopped it early (nil when everything was written).
  package static func writeAll(_ raw: UnsafeRawBufferPointer, to descriptor: Int32) -> (written: Int, error: Int32?) {
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
  package static func syncDirectory(_ path: String) throws(FileSystemError) {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { throw FileSystemError("open", path) }
    defer { close(descriptor) }
    if fsync(descriptor) != 0 { throw FileSystemError("fsync", path) }
  }

  /// Reads a whole file, or a pipe to its end, refusing (EFBIG) one over `maxBytes` rather than
  /// holding it all in memory.
  package static func read(_ path: String, maxBytes: Int = defaultMaxFileBytes) throws(FileSystemError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw FileSystemError("open", path) }
    defer { close(descriptor) }
    var status = stat()
    let size = fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
    guard size <= maxBytes else { throw FileSystemError("read", path, EFBIG) }
    // One byte more than the size, so that reading the end does not double the buffer.
    var result = [UInt8](repeating: 0, count: max(size + 1, 4096))
    var count = 0
    while true {
      if count == result.count { result.append(contentsOf: repeatElement(0, count: result.count)) }
      let got = result.withUnsafeMutableBytes { readRetrying(descriptor, $0.baseAddress! + count, $0.count - count) }
      if got < 0 { throw FileSystemError("read", path) }
      if got == 0 { break }
      count += got
      // A pipe or a file that grows: never hold more than the limit.
      guard count <= maxBytes else { throw FileSystemError("read", path, EFBIG) }
    }
    result.removeSubrange(count...)
    return result
  }

  /// NAME_MAX on Linux and the BSDs: the longest name one directory entry can have, in bytes.
  package static let maxNameBytes = 255

  /// The default of `--max-file-bytes` (CTI_MAX_FILE_BYTES): 256 MiB. Far above the biggest
  /// bundles connectors write (MITRE ATT&CK's is some 45 MB), under the 512 MiB message limit
  /// OpenCTI's RabbitMQ is deployed with, and small enough that holding one such file and its
  /// parsed form stays well under a gigabyte.
  package static let defaultMaxFileBytes = 256 << 20

  /// Reads a whole file from input that is not trusted (a diode folder, a backup tree): only a
  /// regular file of at most `maxBytes` bytes. A FIFO, device, socket, directory or symbolic link
  /// is refused without being read, so nothing blocks and nothing endless is read; the file is
  /// opened non-blocking and without following a link, checked with fstat on the open
  /// descriptor, and never more than `maxBytes + 1` bytes are read, even when it grows.
  package static func readRegularFile(_ path: String, maxBytes: Int) throws(FileReadError) -> [UInt8] {
    try readRegularFile(pathBytes: Array(path.utf8), displayPath: path, maxBytes: maxBytes)
  }

  /// `readRegularFile` for a path given as bytes (a name that is not valid UTF-8).
  package static func readRegularFile(pathBytes: [UInt8], displayPath: String, maxBytes: Int) throws(FileReadError)
    -> [UInt8]
  {
    let result: Result<[UInt8], FileReadError> = withCPath(pathBytes) { cPath in
      var status = stat()
      // A first look without opening: opening a device can have effects of its own.
      if lstat(cPath, &status) == 0, let kind = nonRegularKind(status.st_mode) {
        return .failure(FileReadError(path: displayPath, reason: .notRegular(kind)))
      }
      let descriptor = open(cPath, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC)
      guard descriptor >= 0 else {
        let code = errno
        // O_NOFOLLOW on a link: the name was replaced by a link since the lstat above.
        if code == ELOOP { return .failure(FileReadError(path: displayPath, reason: .notRegular("symbolic link"))) }
        return .failure(FileReadError(path: displayPath, reason: .system(operation: "open", code: code)))
      }
      defer { close(descriptor) }
      guard fstat(descriptor, &status) == 0 else {
        return .failure(FileReadError(path: displayPath, reason: .system(operation: "fstat", code: errno)))
      }
      if let kind = nonRegularKind(status.st_mode) {
        return .failure(FileReadError(path: displayPath, reason: .notRegular(kind)))
      }
      let size = Int(status.st_size)
      guard size <= maxBytes else {
        return .failure(FileReadError(path: displayPath, reason: .tooLarge(size: size, limit: maxBytes)))
      }
      var bytes = [UInt8](repeating: 0, count: size + 1)
      var count = 0
      while true {
        if count == bytes.count {
          // It grew while being read: go on, but never past the limit.
          guard count <= maxBytes else {
            return .failure(FileReadError(path: displayPath, reason: .tooLarge(size: count, limit: maxBytes)))
          }
          bytes.append(contentsOf: repeatElement(0, count: min(max(bytes.count, 4096), maxBytes + 1 - count)))
        }
        let got = bytes.withUnsafeMutableBytes { readRetrying(descriptor, $0.baseAddress! + count, $0.count - count) }
        if got < 0 {
          return .failure(FileReadError(path: displayPath, reason: .system(operation: "read", code: errno)))
        }
        if got == 0 { break }
        count += got
      }
      bytes.removeSubrange(count...)
      return .success(bytes)
    }
    return try result.get()
  }

  /// What a file is when it is not a regular file, for messages; nil for a regular file.
  static func nonRegularKind(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFREG: nil
    case S_IFIFO: "FIFO"
    case S_IFCHR: "character device"
    case S_IFBLK: "block device"
    case S_IFSOCK: "socket"
    case S_IFDIR: "directory"
    case S_IFLNK: "symbolic link"
    default: "special file"
    }
  }

  /// Calls `body` with `bytes` as a NUL-terminated C path.
  static func withCPath<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
    var terminated = bytes
    terminated.append(0)
    return terminated.withUnsafeBufferPointer { buffer in
      buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0) }
    }
  }

  /// Like `attributes`, for a path given as bytes and without following a final symbolic
  /// link: what the directory entry itself is.
  package static func entryAttributes(pathBytes: [UInt8]) -> (size: Int, modified: Double, kind: String?)? {
    var status = stat()
    guard withCPath(pathBytes, { lstat($0, &status) }) == 0 else { return nil }
    let modified = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
    return (Int(status.st_size), modified, nonRegularKind(status.st_mode))
  }

  /// Removes a file named by bytes. Returns false when there was nothing to remove.
  @discardableResult
  package static func removeFile(pathBytes: [UInt8], displayPath: String) throws(FileSystemError) -> Bool {
    if withCPath(pathBytes, { unlink($0) }) == 0 { return true }
    if errno == ENOENT { return false }
    throw FileSystemError("unlink", displayPath)
  }

  /// Renames a file named by bytes to `target`.
  package static func rename(pathBytes: [UInt8], displayPath: String, to target: String) throws(FileSystemError) {
    let result = withCPath(pathBytes) { source in target.withCString { systemRename(source, $0) } }
    if result != 0 { throw FileSystemError("rename", displayPath) }
  }

  /// Whether `path` names an existing directory.
  package static func isDirectory(_ path: String) -> Bool {
    var status = stat()
    return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
  }

  /// Whether something exists at `path`.
  package static func exists(_ path: String) -> Bool {
    access(path, F_OK) == 0
  }

  /// Creates a directory; an existing directory is fine.
  package static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(FileSystemError) {
    if mkdir(path, mode) != 0 && !(errno == EEXIST && isDirectory(path)) {
      throw FileSystemError("mkdir", path)
    }
  }

  /// Creates a directory and its missing parents.
  package static func makeDirectories(_ path: String) throws(FileSystemError) {
    if isDirectory(path) { return }
    let up = parent(of: path)
    if up != path, !up.isEmpty { try makeDirectories(up) }
    try makeDirectory(path)
  }

  /// Removes a file. Returns false when there was nothing to remove.
  @discardableResult
  package static func removeFile(_ path: String) throws(FileSystemError) -> Bool {
    if unlink(path) == 0 { return true }
    if errno == ENOENT { return false }
    throw FileSystemError("unlink", path)
  }

  /// Removes a directory if it is empty; says whether it did.
  @discardableResult
  package static func removeDirectoryIfEmpty(_ path: String) -> Bool {
    rmdir(path) == 0
  }

  /// The names in a directory (without `.` and `..`), unsorted. Names that are not valid UTF-8
  /// cannot be a `String` and are left out: callers that must see or report them use `entries`.
  package static func list(_ path: String) throws(FileSystemError) -> [String] {
    try entries(path).compactMap(\.name)
  }

  /// The entries of a directory (without `.` and `..`), unsorted, with their names' bytes as the
  /// file system holds them.
  package static func entries(_ path: String) throws(FileSystemError) -> [DirectoryEntry] {
    guard let directory = opendir(path) else { throw FileSystemError("opendir", path) }
    defer { closedir(directory) }
    var entries: [DirectoryEntry] = []
    while let entry = readdir(directory) {
      let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
      if bytes != [0x2E] && bytes != [0x2E, 0x2E] { entries.append(DirectoryEntry(bytes: bytes)) }
    }
    return entries
  }

  /// Calls `body` with each name in a directory (without `.` and `..`), unsorted, as bytes that
  /// are valid only during the call: no string is made per entry, for folders of many files.
  package static func forEachName(in path: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) throws(FileSystemError) {
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
  package static func move(_ from: String, to: String) throws(FileSystemError) {
    if systemRename(from, to) != 0 { throw FileSystemError("rename", from) }
  }

  /// Size and modification time of a file, or nil when it does not exist.
  package static func attributes(_ path: String) -> (size: Int, modified: Double, isDirectory: Bool)? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    let modified = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
    return (Int(status.st_size), modified, (status.st_mode & S_IFMT) == S_IFDIR)
  }

  /// The directory part of a path (`.` for a bare name).
  package static func parent(of path: String) -> String {
    var utf8 = Array(path.utf8)
    while utf8.count > 1, utf8.last == UInt8(ascii: "/") { utf8.removeLast() }
    guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    return slash == 0 ? "/" : String(decoding: utf8[..<slash], as: UTF8.self)
  }

  /// The last component of a path.
  package static func baseName(of path: String) -> String {
    var utf8 = Array(path.utf8)
    while utf8.count > 1, utf8.last == UInt8(ascii: "/") { utf8.removeLast() }
    guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
    return String(decoding: utf8[(slash + 1)...], as: UTF8.self)
  }
}

/// rename(2), out of the reach of `FileSystem.rename`'s name.
private func systemRename(_ source: UnsafePointer<CChar>, _ target: UnsafePointer<CChar>) -> Int32 {
  rename(source, target)
}

/// A directory entry's name exactly as the file system holds it. File names are bytes, and a
/// folder filled by another system (a diode medium, a restored tree) may hold names that are
/// not UTF-8, which a `String` cannot carry.
package struct DirectoryEntry: Sendable, Hashable {
  /// The name's bytes.
  package var bytes: [UInt8]
  /// The name, when it is valid UTF-8.
  package var name: String? { String(validating: bytes, as: UTF8.self) }

  package init(bytes: [UInt8]) { self.bytes = bytes }

  /// The name for messages: itself when it is UTF-8, else with each byte that is not part of a
  /// valid UTF-8 sequence written as `%XX`.
  package var displayName: String {
    if let name { return name }
    var text = ""
    var index = 0
    while index < bytes.count {
      let length = DirectoryEntry.validSequenceLength(bytes, at: index)
      if length > 0 {
        text += String(decoding: bytes[index..<(index + length)], as: UTF8.self)
        index += length
      } else {
        let hex = Array("0123456789ABCDEF".utf8)
        text += String(decoding: [UInt8(ascii: "%"), hex[Int(bytes[index] >> 4)], hex[Int(bytes[index] & 15)]], as: UTF8.self)
        index += 1
      }
    }
    return text
  }

  /// The length of the valid UTF-8 sequence starting at `index`, 0 when none starts there.
  static func validSequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
    let first = bytes[index]
    let length: Int
    switch first {
    case 0x00...0x7F: return 1
    case 0xC2...0xDF: length = 2
    case 0xE0...0xEF: length = 3
    case 0xF0...0xF4: length = 4
    default: return 0
    }
    guard index + length <= bytes.count else { return 0 }
    return String(validating: bytes[index..<(index + length)], as: UTF8.self) == nil ? 0 : length
  }
}

/// Why `FileSystem.readRegularFile` did not read a file.
package struct FileReadError: ToolError, Equatable {
  package enum Reason: Equatable, Sendable {
    /// A FIFO, device, socket, directory or symbolic link: never read.
    case notRegular(String)
    /// Bigger than the limit (`--max-file-bytes`).
    case tooLarge(size: Int, limit: Int)
    /// A system call failed (permissions, I/O): a later attempt may succeed.
    case system(operation: String, code: Int32)
  }

  package var path: String
  package var reason: Reason

  package init(path: String, reason: Reason) {
    self.path = path
    self.reason = reason
  }

  /// Whether the file as it is can never be read (its kind or its size), rather than a failure
  /// a later attempt may not meet.
  package var disqualifies: Bool {
    if case .system = reason { return false }
    return true
  }

  package var exitStatus: ExitStatus {
    switch reason {
    case .notRegular, .tooLarge: .dataError
    case .system(_, let code): code == ENOENT ? .noInput : .ioError
    }
  }

  /// The reason alone, without the path (for a quarantine note).
  package var explanation: String {
    switch reason {
    case .notRegular(let kind): "not a regular file (a \(kind))"
    case .tooLarge(let size, let limit): "\(size) bytes, over the limit of \(limit) (--max-file-bytes, CTI_MAX_FILE_BYTES)"
    case .system(let operation, let code): "\(operation): \(String(cString: strerror(code)))"
    }
  }

  package var description: String { "\(path): \(explanation)" }
}

/// `read(2)` that retries on EINTR.
func readRetrying(_ descriptor: Int32, _ pointer: UnsafeMutableRawPointer, _ count: Int) -> Int {
  while true {
    let result = read(descriptor, pointer, count)
    if result < 0 && errno == EINTR { continue }
    return result
  }
}
