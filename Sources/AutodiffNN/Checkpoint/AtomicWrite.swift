import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes `data` to `url` so that no reader ever sees a partial file there, and no temporary
/// file outlives the process that made it.
///
/// The steps, each of which may fail without touching the target:
/// 1. follow `url` through symbolic links to the file they name, so that a link to a
///    checkpoint is written through, not replaced by a file;
/// 2. remove the temporary files that saves to the same target left behind when their process
///    was killed (the name of each holds its process id, which no longer exists);
/// 3. create the new file in the target's directory (so the rename below stays within one file
///    system, where POSIX makes it atomic): on Linux an anonymous file (`O_TMPFILE`), which
///    the kernel deletes if the process dies before step 5; where the file system or the system
///    has none, a hidden file named `.<target>.<pid>.<random>.tmp`, created with `O_EXCL`;
/// 4. give it the target's permission bits (and owner, where the user may) when the target
///    exists, else the default mode, 0666 less the umask; write all of `data` and `fsync` it;
/// 5. give the anonymous file that hidden name (`linkat` through `/proc/self/fd`), then
///    `rename` it over the target, which replaces the old file in one step;
/// 6. `fsync` the directory, so the rename itself survives a crash (best effort).
///
/// On a failure the temporary file is removed and the old file, if any, is unchanged. A process
/// killed during a save leaves no file at all (step 3's anonymous file), or, where it had to use
/// a named file or was killed between `linkat` and `rename`, one that the next save to the same
/// target removes. A hard link to the target keeps the old contents, as with any atomic save.
///
/// A target that is neither a regular file nor a directory (a FIFO, a device such as
/// `/dev/stdout`) is written through, as NumPy's `save` writes it: there is no file to replace
/// atomically, and a rename would put a regular file in its place.
///
/// - Throws: ``CheckpointError/writeFailed(path:reason:)`` with the system's reason.
func writeAtomically(_ data: Data, to url: URL) throws(CheckpointError) {
  try writeAtomically(data, to: url, anonymousTemporary: true)
}

/// ``writeAtomically(_:to:)``, with `anonymousTemporary: false` taking the named temporary file
/// of systems without `O_TMPFILE` (for tests of that path).
func writeAtomically(
  _ data: Data, to url: URL, anonymousTemporary: Bool
) throws(CheckpointError) {
  guard let path = resolvingSymbolicLinks(url.path) else {
    throw .writeFailed(path: url.path, reason: "too many levels of symbolic links")
  }
  if isSpecialFile(at: path) { return try writeThrough(data, to: path, named: url.path) }
  let (directory, name) = split(path)
  removeStaleTemporaries(of: name, in: directory)
  let existing = existingFile(at: path)
  let temporary = temporaryPath(for: name, in: directory)

  var descriptor: Int32 = -1
  var isAnonymous = false
  #if os(Linux)
    if anonymousTemporary {
      // O_TMPFILE is __O_TMPFILE | O_DIRECTORY; Swift cannot import the macro.
      descriptor = open(directory, 0o2000_0000 | O_DIRECTORY | O_WRONLY | O_CLOEXEC, 0o666)
      isAnonymous = descriptor >= 0
    }
  #endif
  if descriptor < 0 {
    descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
  }
  guard descriptor >= 0 else {
    throw .writeFailed(
      path: url.path, reason: "cannot create a file in \(directory): \(systemMessage(errno))")
  }
  var failure = fill(descriptor, with: data, like: existing)
  var linkFailed = false
  #if os(Linux)
    if failure == nil && isAnonymous
      && linkat(AT_FDCWD, "/proc/self/fd/\(descriptor)", AT_FDCWD, temporary, AT_SYMLINK_FOLLOW)
        != 0
    {
      linkFailed = true
      failure = "cannot link the new file into \(directory): \(systemMessage(errno))"
    }
  #endif
  if close(descriptor) != 0 && failure == nil { failure = systemMessage(errno) }
  if failure == nil && rename(temporary, path) != 0 { failure = systemMessage(errno) }
  if let failure {
    unlink(temporary)  // our own name (pid and random), if it was made
    // Without /proc (a minimal container), an anonymous file cannot be given a name: write
    // again, through a named one.
    if linkFailed { return try writeAtomically(data, to: url, anonymousTemporary: false) }
    throw .writeFailed(path: url.path, reason: failure)
  }
  let directoryDescriptor = open(directory, O_RDONLY | O_CLOEXEC)
  if directoryDescriptor >= 0 {
    _ = fsync(directoryDescriptor)
    close(directoryDescriptor)
  }
}

/// Whether something other than a regular file or a directory is at `path`: a FIFO, a device.
private func isSpecialFile(at path: String) -> Bool {
  var status = stat()
  guard stat(path, &status) == 0 else { return false }
  let type = status.st_mode & S_IFMT
  return type != S_IFREG && type != S_IFDIR
}

/// Writes `data` into the special file at `path` (see ``writeAtomically(_:to:)``); `name` is
/// the path as the caller gave it, for messages.
private func writeThrough(_ data: Data, to path: String, named name: String) throws(CheckpointError)
{
  let descriptor = open(path, O_WRONLY | O_CLOEXEC)
  guard descriptor >= 0 else { throw .writeFailed(path: name, reason: systemMessage(errno)) }
  var failure = write(data, to: descriptor)
  if close(descriptor) != 0 && failure == nil { failure = systemMessage(errno) }
  if let failure { throw .writeFailed(path: name, reason: failure) }
}

/// Writes all of `data` at `descriptor`, again where a signal interrupts it; returns the
/// system's reason for a failure.
private func write(_ data: Data, to descriptor: Int32) -> String? {
  data.withUnsafeBytes { bytes in
    var written = 0
    while written < bytes.count {
      let result = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
      if result < 0 {
        if errno == EINTR { continue }
        return systemMessage(errno)
      }
      written += result
    }
    return nil
  }
}

/// The permission bits, owner and group of the regular file at `path`, if there is one.
private func existingFile(at path: String) -> (mode: mode_t, owner: uid_t, group: gid_t)? {
  var status = stat()
  guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
  return (status.st_mode & 0o7777, status.st_uid, status.st_gid)
}

/// Writes `data` to the file open at `descriptor`, gives it the permissions of `existing` (if
/// any) and flushes it to disk; returns the system's reason for a failure.
private func fill(
  _ descriptor: Int32, with data: Data, like existing: (mode: mode_t, owner: uid_t, group: gid_t)?
) -> String? {
  if let failure = write(data, to: descriptor) { return failure }
  if let existing {
    // After the write and the owner, each of which clears the set-user-ID and set-group-ID
    // bits, so that fchmod sets them again. Only root may give a file away, and only a member
    // of the group may set it; otherwise the new file keeps the saving user's, as a new file
    // would.
    _ = fchown(descriptor, existing.owner, existing.group)
    if fchmod(descriptor, existing.mode) != 0 { return systemMessage(errno) }
  }
  return fsync(descriptor) != 0 ? systemMessage(errno) : nil
}

// MARK: Paths

/// The file that `path` names once symbolic links in its last component are followed (the
/// system follows those in the directories), or `path` itself when it is no link; `nil` for a
/// loop of links.
private func resolvingSymbolicLinks(_ path: String) -> String? {
  var path = path
  // Linux's own limit on the links followed in resolving one path (ELOOP past it).
  for _ in 0..<40 {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX))
    let length = buffer.withUnsafeMutableBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) { readlink(path, $0.baseAddress!, $0.count) }
    }
    // EINVAL: not a link; ENOENT: nothing there yet (the save creates it). Other errors
    // surface when the file is created.
    guard length >= 0 else { return path }
    let target = String(decoding: buffer[..<length], as: UTF8.self)
    path = target.hasPrefix("/") ? target : split(path).directory + "/" + target
  }
  return nil
}

/// The directory part and the last component of `path`.
private func split(_ path: String) -> (directory: String, name: String) {
  guard let slash = path.lastIndex(of: "/") else { return (".", path) }
  let directory = String(path[..<slash])
  return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
}

/// The target's name as temporary names hold it: at most 200 bytes, so that a temporary name
/// stays within NAME_MAX (255 bytes) whatever the target's.
private func temporaryStem(of name: String) -> String {
  "." + String(decoding: name.utf8.prefix(200), as: UTF8.self) + "."
}

/// A new hidden name in `directory` for a temporary file of the target `name`:
/// `.<name>.<pid>.<16 hex digits>.tmp`.
private func temporaryPath(for name: String, in directory: String) -> String {
  let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
  let digits = String(repeating: "0", count: 16 - random.count) + random
  return directory + "/" + temporaryStem(of: name) + "\(getpid()).\(digits).tmp"
}

/// Removes the temporary files of saves to `name` in `directory` whose process no longer
/// exists; those of living processes (this one included) may be in use. A process id reused
/// since keeps its file until that process too is gone.
private func removeStaleTemporaries(of name: String, in directory: String) {
  guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
    return
  }
  let stem = temporaryStem(of: name)
  for entry in entries where entry.hasPrefix(stem) && entry.hasSuffix(".tmp") {
    let fields = entry.dropFirst(stem.count).dropLast(4).split(
      separator: ".", omittingEmptySubsequences: false)
    guard fields.count == 2, let pid = pid_t(fields[0]), pid > 0, pid != getpid(),
      fields[1].count == 16, fields[1].allSatisfy(\.isHexDigit)
    else { continue }
    if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + entry) }
  }
}

/// The system's message for an `errno` value: "No such file or directory".
private func systemMessage(_ code: Int32) -> String {
  String(cString: strerror(code))
}
