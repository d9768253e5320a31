import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// An output file of the job: the option that names it, and its path.
struct OutputFile {
  var option: String
  var path: String

  var url: URL { URL(fileURLWithPath: path) }

  /// The folder the file goes in, as the path names it: `runs` for `runs/chart.svg`, `.` for
  /// `chart.svg`.
  var folder: String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }

  /// Checks, before any training, that the file can be written where it is named: the path is
  /// not a folder, its folder exists, and a file can be created there (tried, since permission
  /// bits do not tell for root or a read-only file system). Writes nothing that stays.
  ///
  /// - Throws: ``JobFailure/usage(_:)`` naming the option, the path and the reason.
  func checkWritable() throws(JobFailure) {
    func refuse(_ reason: String) -> JobFailure {
      .usage("cannot write --\(option) \(path): \(reason)")
    }
    guard !path.isEmpty else { throw .usage("--\(option) needs a file path") }
    var isFolder: ObjCBool = false
    if path.hasSuffix("/")
      || FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
    {
      throw refuse("it is a folder; name a file in it, such as \(suggestedPath)")
    }
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
      throw refuse("the folder \(folder) does not exist")
    }
    guard isFolder.boolValue else { throw refuse("\(folder) is not a folder") }
    let probe = temporaryPath()
    let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw refuse("cannot create a file in \(folder): \(systemMessage(errno))")
    }
    close(descriptor)
    unlink(probe)
  }

  /// The path with the default file name, for a path that names a folder.
  private var suggestedPath: String {
    let name = FashionMNISTCommand.defaultFileName(for: option)
    return path.hasSuffix("/") ? path + name : path + "/" + name
  }

  /// A new hidden name in the file's folder, so that a rename from it replaces the file in one
  /// step.
  private func temporaryPath() -> String {
    let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
    let name = String(decoding: url.lastPathComponent.utf8.prefix(200), as: UTF8.self)
    return folder + "/." + name + "." + random + ".tmp"
  }

  /// Replaces the file with `text`: written to a new file in the same folder, then renamed over
  /// it, so that a reader sees the old file or the whole new one.
  ///
  /// - Throws: ``JobFailure`` naming the option, the path and the system's reason; the file is
  ///   then unchanged.
  func write(_ text: String) throws(JobFailure) {
    let temporary = temporaryPath()
    var failure: String?
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    if descriptor < 0 {
      failure = systemMessage(errno)
    } else {
      let bytes = Array(text.utf8)
      var written = 0
      while written < bytes.count && failure == nil {
        let result = bytes.withUnsafeBytes { buffer in
          Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
        }
        if result >= 0 {
          written += result
        } else if errno != EINTR {
          failure = systemMessage(errno)
        }
      }
      if close(descriptor) != 0 && failure == nil { failure = systemMessage(errno) }
      if failure == nil && rename(temporary, path) != 0 { failure = systemMessage(errno) }
      if failure != nil { unlink(temporary) }
    }
    if let failure { throw JobFailure("cannot write --\(option) \(path): \(failure)") }
  }
}

/// The system's message for an `errno` value: "No such file or directory".
func systemMessage(_ code: Int32) -> String {
  String(cString: strerror(code))
}
