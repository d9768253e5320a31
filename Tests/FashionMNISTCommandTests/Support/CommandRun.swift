import AutodiffNN
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// One run of the built `fashion-mnist` executable: its exit status and what it printed.
struct CommandRun {
  var status: Int32
  var standardOutput: String
  var standardError: String

  /// The executable: `$FASHION_MNIST_EXECUTABLE` if set, else `fashion-mnist` beside this test
  /// bundle (`swift build --build-tests` and `swift test` build every product of the package
  /// into the same folder), else in the package's `.build/debug`.
  static let executable: URL? = {
    let environment = ProcessInfo.processInfo.environment
    var candidates: [URL] = []
    if let path = environment["FASHION_MNIST_EXECUTABLE"] {
      candidates.append(URL(fileURLWithPath: path))
    }
    let bundleFolder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
      .deletingLastPathComponent()
    candidates.append(bundleFolder.appendingPathComponent("fashion-mnist"))
    candidates.append(
      Bundle.main.bundleURL.deletingLastPathComponent()
        .appendingPathComponent("fashion-mnist"))
    candidates.append(sourceRoot.appendingPathComponent(".build/debug/fashion-mnist"))
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }()

  /// The package's root directory, from this file's path.
  static let sourceRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// Runs `fashion-mnist` (or another `executable`) with `arguments` in `folder`, with one BLAS
  /// thread, standard input
  /// from /dev/null and its output to files (not a terminal); kills it and throws when it has
  /// not ended after `timeLimit` seconds.
  static func run(
    _ arguments: [String], in folder: URL, environment extra: [String: String] = [:],
    executable: URL? = CommandRun.executable, timeLimit: Double = 120
  ) async throws -> CommandRun {
    guard let executable else {
      throw Failure(
        description: "the fashion-mnist executable is missing: build it with `swift build "
          + "--build-tests` (or `swift build --product fashion-mnist`), or name it in "
          + "FASHION_MNIST_EXECUTABLE")
    }
    let id = UUID().uuidString
    let outputURL = FileManager.default.temporaryDirectory.appendingPathComponent("\(id).out")
    let errorURL = FileManager.default.temporaryDirectory.appendingPathComponent("\(id).err")
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: outputURL)
      try? FileManager.default.removeItem(at: errorURL)
    }
    let output = try FileHandle(forWritingTo: outputURL)
    let error = try FileHandle(forWritingTo: errorURL)

    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = folder
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_NUM_THREADS"] = "1"
    environment["AUTODIFF_NUM_THREADS"] = "1"
    process.environment = environment.merging(extra) { $1 }
    process.standardOutput = output
    process.standardError = error
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeLimit)
    while process.isRunning && Date() < deadline {
      try await Task.sleep(for: .milliseconds(20))
    }
    let hung = process.isRunning
    if hung { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    try output.close()
    try error.close()
    let run = CommandRun(
      status: process.terminationStatus, standardOutput: try text(of: outputURL),
      standardError: try text(of: errorURL))
    if hung {
      throw Failure(description: "fashion-mnist \(arguments) did not end in \(timeLimit) s: \(run)")
    }
    return run
  }

  /// The file's text, read through a file handle: `String(contentsOf:encoding:)` leaks its
  /// buffer for an empty file (Swift 6.3's FoundationEssentials), which the address-sanitizer
  /// pass reports.
  private static func text(of url: URL) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    return String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
  }
}

/// A fresh folder with a small synthetic Fashion-MNIST (in its four IDX files, two gzipped)
/// where to run the command; removed with everything in it when released.
final class JobFolder {
  let url: URL

  /// `trainCount` training and `testCount` test images, each class a bright band of rows over
  /// noise, so that a small network learns them in an epoch or two.
  init(trainCount: Int = 96, testCount: Int = 40) {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("FashionMNISTCommandTests-\(UUID().uuidString)", isDirectory: true)
    try! FileManager.default.createDirectory(
      at: url.appendingPathComponent("data"), withIntermediateDirectories: true)
    var generator = SeededGenerator(seed: 7)
    func images(_ labels: [UInt8]) -> Data {
      var pixels: [UInt8] = []
      for label in labels {
        for pixel in 0..<784 {
          let band = pixel / 78 == Int(label)
          pixels.append(UInt8((band ? 180 : 30) + Int.random(in: 0..<60, using: &generator)))
        }
      }
      return Self.idx(type: 0x08, shape: [labels.count, 28, 28], payload: pixels)
    }
    let training = (0..<trainCount).map { UInt8($0 % 10) }
    let test = (0..<testCount).map { UInt8(($0 * 7) % 10) }
    write(Gzip.compress(images(training)), to: "data/train-images-idx3-ubyte.gz")
    write(
      Self.idx(type: 0x08, shape: [trainCount], payload: training),
      to: "data/train-labels-idx1-ubyte")
    write(images(test), to: "data/t10k-images-idx3-ubyte")
    write(
      Gzip.compress(Self.idx(type: 0x08, shape: [testCount], payload: test)),
      to: "data/t10k-labels-idx1-ubyte.gz")
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// The data folder, for `--data`.
  var data: String { url.appendingPathComponent("data").path }

  /// The options every run of the tests passes: the synthetic data, a small model and batch.
  var small: [String] { ["--data", data, "--hidden", "32", "--batch-size", "16"] }

  func file(_ name: String) -> URL { url.appendingPathComponent(name) }

  func write(_ data: Data, to name: String) {
    try! data.write(to: file(name))
  }

  func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }

  func contents(_ name: String) -> Data? { try? Data(contentsOf: file(name)) }

  /// Runs `fashion-mnist` in this folder.
  func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandRun {
    try await CommandRun.run(arguments, in: url, environment: environment)
  }

  /// An IDX file: magic (two zero bytes, the type, the rank), big-endian sizes, the payload.
  static func idx(type: UInt8, shape: [Int], payload: [UInt8]) -> Data {
    var data = Data([0, 0, type, UInt8(shape.count)])
    for size in shape {
      withUnsafeBytes(of: UInt32(size).bigEndian) { data.append(contentsOf: $0) }
    }
    data.append(contentsOf: payload)
    return data
  }
}

/// The epochs a checkpoint's metadata says it holds.
func epochsHeld(by checkpoint: URL) throws -> Int? {
  try SafeTensors(contentsOf: checkpoint).metadata["epochs"].flatMap(Int.init)
}
