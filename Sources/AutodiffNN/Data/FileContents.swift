import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why a file could not be read, before it is parsed.
enum FileReadFailure: Error {
  /// Nothing exists at the path.
  case notFound
  /// Something exists but could not be read as a file; the reason in words.
  case unreadable(String)
}

/// The contents of the file at `url`, mapped into memory when the system allows it, or why they
/// cannot be had, in words a user can act on ("it is a directory, not a file", "Permission
/// denied") rather than Foundation's generic "The operation could not be completed".
func contentsOfFile(at url: URL) -> Result<Data, FileReadFailure> {
  // Opened first, for the system's own reason ("Permission denied") where Foundation says only
  // that the operation could not be completed.
  let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
  guard descriptor >= 0 else {
    if errno == ENOENT || errno == ENOTDIR { return .failure(.notFound) }
    return .failure(.unreadable(String(cString: strerror(errno))))
  }
  defer { close(descriptor) }
  var status = stat()
  guard fstat(descriptor, &status) == 0 else {
    return .failure(.unreadable(String(cString: strerror(errno))))
  }
  let type = status.st_mode & S_IFMT
  if type == S_IFDIR { return .failure(.unreadable("it is a directory, not a file")) }
  // Read here to its end: a pipe or a device; a file of size 0, which is empty or, as in /proc,
  // has contents its size does not count (and `Data(contentsOf:)` leaks a 4 KiB buffer on an
  // empty file: the address sanitizer's leak check, swift-corelibs-foundation in Swift 6.3).
  if type != S_IFREG || status.st_size == 0 { return readToEnd(descriptor) }
  do {
    return .success(try Data(contentsOf: url, options: .mappedIfSafe))
  } catch {
    return .failure(.unreadable(systemReason(for: error)))
  }
}

/// The most specific message in a Foundation file error: the POSIX error under it, if any.
private func systemReason(for error: any Error) -> String {
  let error = error as NSError
  if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError {
    if underlying.domain == NSPOSIXErrorDomain {
      return String(cString: strerror(Int32(underlying.code)))
    }
    return underlying.localizedDescription
  }
  if let code = error.userInfo["NSPOSIXErrorCode"] as? Int32 {
    return String(cString: strerror(code))
  }
  return error.localizedDescription
}

/// Everything that can be read from `descriptor` until its end: a pipe's or a device's bytes.
private func readToEnd(_ descriptor: Int32) -> Result<Data, FileReadFailure> {
  var data = Data()
  var buffer = [UInt8](repeating: 0, count: 1 << 16)
  while true {
    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
    if count < 0 {
      if errno == EINTR { continue }
      return .failure(.unreadable(String(cString: strerror(errno))))
    }
    if count == 0 { return .success(data) }
    data.append(contentsOf: buffer[..<count])
  }
}
