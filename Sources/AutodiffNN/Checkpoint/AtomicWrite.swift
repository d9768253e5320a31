import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes `data` to `url` so that no reader ever sees a partial file there.
///
/// The steps, each of which may fail without touching `url`:
/// 1. create a new temporary file in `url`'s directory (so the rename below stays within one
///    file system, where POSIX makes it atomic) with `O_EXCL`, under a random name;
/// 2. write all of `data` and `fsync` it, so the new contents are on disk before they are
///    visible;
/// 3. `rename` it over `url`, which replaces the old file in one step;
/// 4. `fsync` the directory, so the rename itself survives a crash (best effort).
///
/// On a failure in steps 1–3 the temporary file is removed and the old file at `url`, if any, is
/// unchanged.
///
/// - Throws: ``CheckpointError/writeFailed(path:reason:)`` with the system's reason.
func writeAtomically(_ data: Data, to url: URL) throws(CheckpointError) {
  let path = url.path
  let directory = url.deletingLastPathComponent().path
  // A hidden name that stays within NAME_MAX (255 bytes) whatever the target's name is.
  let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
  let temporary =
    directory + "/." + String(decoding: url.lastPathComponent.utf8.prefix(200), as: UTF8.self) + "."
    + random + ".tmp"

  let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
  guard descriptor >= 0 else {
    throw .writeFailed(
      path: path, reason: "cannot create a file in \(directory): \(systemMessage(errno))")
  }
  var failure: String?
  data.withUnsafeBytes { bytes in
    var written = 0
    while written < bytes.count {
      let result = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
      if result < 0 {
        if errno == EINTR { continue }
        failure = systemMessage(errno)
        return
      }
      written += result
    }
  }
  if failure == nil && fsync(descriptor) != 0 { failure = systemMessage(errno) }
  if close(descriptor) != 0 && failure == nil { failure = systemMessage(errno) }
  if failure == nil && rename(temporary, path) != 0 { failure = systemMessage(errno) }
  if let failure {
    unlink(temporary)
    throw .writeFailed(path: path, reason: failure)
  }
  let directoryDescriptor = open(directory, O_RDONLY | O_CLOEXEC)
  if directoryDescriptor >= 0 {
    _ = fsync(directoryDescriptor)
    close(directoryDescriptor)
  }
}

/// The system's message for an `errno` value: "No such file or directory".
private func systemMessage(_ code: Int32) -> String {
  String(cString: strerror(code))
}
