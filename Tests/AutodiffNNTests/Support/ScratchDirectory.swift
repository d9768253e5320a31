import Foundation

/// A fresh directory under the system's temporary directory, removed with everything in it when
/// the value is released: one per test, so tests running in parallel never share files.
final class ScratchDirectory {
  let url: URL

  init() {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("AutodiffNNTests-\(UUID().uuidString)", isDirectory: true)
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// The URL of `name` in the directory (the file need not exist).
  func file(_ name: String) -> URL { url.appendingPathComponent(name) }

  /// Writes `data` to `name` in the directory and returns its URL.
  @discardableResult
  func write(_ data: Data, to name: String) -> URL {
    let target = file(name)
    try! data.write(to: target)
    return target
  }

  /// The names of the entries in the directory, hidden ones included, sorted.
  var contents: [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: url.path).sorted()) ?? []
  }
}
