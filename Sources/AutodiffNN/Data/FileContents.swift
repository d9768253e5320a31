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
  var isDirectory: ObjCBool = false
  guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
    return .failure(.notFound)
  }
  if isDirectory.boolValue { return .failure(.unreadable("it is a directory, not a file")) }
  // Opened first, for the system's own reason ("Permission denied") where Foundation says only
  // that the operation could not be completed; a pipe or a device is read to its end here.
  let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
  guard descriptor >= 0 else { return .failure(.unreadable(String(cString: strerror(errno)))) }
  defer { close(descriptor) }
  var status = stat()
  if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
    return readToEnd(descriptor)
  }
  // An empty file is read without Foundation: `Data(contentsOf:)` leaks a 4 KiB buffer on one
  // (found by the address sanitizer's leak check, swift-corelibs-foundation in Swift 6.3).
  if let size = try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int,
    size == 0, FileManager.default.isReadableFile(atPath: url.path)
  {
    return .success(Data())
  }
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
