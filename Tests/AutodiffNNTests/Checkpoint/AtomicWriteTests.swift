import Foundation
import Testing

@testable import AutodiffNN

#if canImport(Glibc)
  import Glibc
#endif

/// Saves (``SafeTensors/write(_:metadata:to:)``, ``NumPyArray/write(_:to:)`` and
/// ``Checkpoint``, all through `writeAtomically`) keep the target's permissions, write through
/// symbolic links, and leave no temporary file behind, even when the saving process is killed.
@Suite struct AtomicWriteTests {
  /// Both ways of making the temporary file: Linux's anonymous `O_TMPFILE`, and the named file
  /// of systems and file systems without it.
  static let strategies = [true, false]

  static func permissions(of url: URL) throws -> Int {
    try #require(FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int)
  }

  /// The process's umask, read without changing it (`umask(2)` can only set it, racing with
  /// the other tests' files): Linux's /proc/self/status has it since 4.7.
  static func currentUmask() throws -> Int {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Umask:") })
    return try #require(
      Int(line.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8))
  }

  @Test(
    "Overwriting a file keeps its permissions; a new file gets 0666 less the umask",
    arguments: strategies)
  func permissionsKept(anonymous: Bool) throws {
    let directory = ScratchDirectory()
    let url = directory.file("private.safetensors")
    try writeAtomically(Data("new".utf8), to: url, anonymousTemporary: anonymous)
    #expect(try Self.permissions(of: url) == 0o666 & ~Self.currentUmask())
    for mode in [0o600, 0o640, 0o604] {
      try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
      try writeAtomically(Data("again".utf8), to: url, anonymousTemporary: anonymous)
      #expect(try Self.permissions(of: url) == mode)
    }
    #expect(directory.contents == ["private.safetensors"])
  }

  @Test("Overwriting a set-user-ID or set-group-ID file keeps the bit", arguments: strategies)
  func specialModeBitsKept(anonymous: Bool) throws {
    // The write and the owner each clear these bits: the mode is set again after both.
    let directory = ScratchDirectory()
    let url = directory.file("tool.npy")
    try writeAtomically(Data("new".utf8), to: url, anonymousTemporary: anonymous)
    for mode: mode_t in [0o4755, 0o2775, 0o6750] {
      #expect(chmod(url.path, mode) == 0)
      try writeAtomically(Data("again".utf8), to: url, anonymousTemporary: anonymous)
      var status = stat()
      #expect(stat(url.path, &status) == 0 && status.st_mode & 0o7777 == mode, "\(mode)")
    }
  }

  @Test("A FIFO or a device is written through, not replaced by a regular file")
  func specialFilesWrittenThrough() throws {
    let directory = ScratchDirectory()
    let fifo = directory.file("pipe")
    #expect(mkfifo(fifo.path, 0o600) == 0)
    // A reader on another thread: opening a FIFO to write waits for one.
    nonisolated(unsafe) var received = Data()
    let reader = Thread {
      received = FileHandle(forReadingAtPath: fifo.path)?.readDataToEndOfFile() ?? Data()
    }
    reader.start()
    let tensor = Tensor<Float>([1, 2, 3])
    try NumPyArray.write(tensor, to: fifo)
    while !reader.isFinished { usleep(1_000) }
    #expect(try NumPyArray(bytes: received).tensor(as: Float.self) == tensor)
    var status = stat()
    #expect(stat(fifo.path, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
    // /dev/null stays the device (as root, a rename would have replaced it for every process).
    try SafeTensors.write(["w": tensor], to: URL(fileURLWithPath: "/dev/null"))
    #expect(stat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
  }

  @Test("SafeTensors, NumPyArray and Checkpoint saves over a 0600 file keep 0600")
  func publicWritersKeepPermissions() throws {
    let directory = ScratchDirectory()
    let (safetensors, npy) = (directory.file("w.safetensors"), directory.file("w.npy"))
    try SafeTensors.write(["w": Tensor<Float>([1])], to: safetensors)
    try NumPyArray.write(Tensor<Float>([1]), to: npy)
    for url in [safetensors, npy] {
      try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }
    try SafeTensors.write(["w": Tensor<Float>([2])], to: safetensors)
    var generator = SeededGenerator(seed: 1)
    let model = Dense<Float>(inputSize: 2, outputSize: 1, using: &generator)
    try Checkpoint.save(model: model, to: safetensors)
    try NumPyArray.write(Tensor<Float>([2]), to: npy)
    #expect(try Self.permissions(of: safetensors) == 0o600)
    #expect(try Self.permissions(of: npy) == 0o600)
  }

  @Test(
    "Saving to a symbolic link writes the file it names and keeps the link",
    arguments: strategies)
  func symbolicLinks(anonymous: Bool) throws {
    let directory = ScratchDirectory()
    let manager = FileManager.default
    try manager.createDirectory(at: directory.file("real"), withIntermediateDirectories: false)
    let target = directory.file("real/model.safetensors")
    try Data("old".utf8).write(to: target)
    // An absolute link, a relative link to it (a chain), and a link to nothing yet.
    try manager.createSymbolicLink(
      atPath: directory.file("absolute").path, withDestinationPath: target.path)
    try manager.createSymbolicLink(
      atPath: directory.file("relative").path, withDestinationPath: "absolute")
    try manager.createSymbolicLink(
      atPath: directory.file("dangling").path, withDestinationPath: "real/new.safetensors")

    try writeAtomically(
      Data("via relative".utf8), to: directory.file("relative"), anonymousTemporary: anonymous)
    #expect(try Data(contentsOf: target) == Data("via relative".utf8))
    #expect(
      try manager.destinationOfSymbolicLink(atPath: directory.file("relative").path) == "absolute")
    #expect(
      try manager.destinationOfSymbolicLink(atPath: directory.file("absolute").path) == target.path)

    try writeAtomically(
      Data("created".utf8), to: directory.file("dangling"), anonymousTemporary: anonymous)
    #expect(try Data(contentsOf: directory.file("real/new.safetensors")) == Data("created".utf8))
    #expect(
      try manager.destinationOfSymbolicLink(atPath: directory.file("dangling").path)
        == "real/new.safetensors")
    #expect(
      try manager.contentsOfDirectory(atPath: directory.file("real").path).sorted() == [
        "model.safetensors", "new.safetensors",
      ])
    #expect(directory.contents == ["absolute", "dangling", "real", "relative"])
  }

  @Test("A loop of symbolic links throws writeFailed saying so")
  func linkLoop() throws {
    let directory = ScratchDirectory()
    try FileManager.default.createSymbolicLink(
      atPath: directory.file("a").path, withDestinationPath: "b")
    try FileManager.default.createSymbolicLink(
      atPath: directory.file("b").path, withDestinationPath: "a")
    #expect(
      throws: CheckpointError.writeFailed(
        path: directory.file("a").path, reason: "too many levels of symbolic links")
    ) {
      try SafeTensors.write(["w": Tensor<Float>([1])], to: directory.file("a"))
    }
  }

  @Test("A save removes the temporary files of dead processes' saves to its target, and only those")
  func staleTemporariesRemoved() throws {
    let directory = ScratchDirectory()
    let url = directory.file("c.safetensors")
    let dead = try Self.deadProcessID()
    let names = [
      ".c.safetensors.\(dead).00000000deadbeef.tmp",  // a killed save to this target: removed
      ".c.safetensors.\(getpid()).0123456789abcdef.tmp",  // this process may be saving: kept
      ".c.safetensors.1.0123456789abcdef.tmp",  // pid 1 lives: kept
      ".other.\(dead).00000000deadbeef.tmp",  // another target's: kept
      ".c.safetensors.junk.tmp",  // not our pattern: kept
    ]
    for name in names { directory.write(Data("partial".utf8), to: name) }
    try SafeTensors.write(["w": Tensor<Float>([1])], to: url)
    #expect(directory.contents == (names.dropFirst() + ["c.safetensors"]).sorted())
  }

  /// The id of a process that has exited and been reaped.
  static func deadProcessID() throws -> pid_t {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
  }

  /// A directory shared with the exit tests' child processes, which cannot capture values:
  /// named by the parent's process id, which the child reads as `getppid()`.
  static func killDirectory(parent: pid_t, anonymous: Bool) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent(
      "AutodiffNNTests-kill-\(parent)-\(anonymous ? "anonymous" : "named")", isDirectory: true)
  }

  /// The child's body: saves a 32 MiB checkpoint over and over until a thread kills the process
  /// with SIGKILL, 300 ms in, in the middle of some save.
  static func saveUntilKilled(anonymous: Bool) -> Never {
    let url = killDirectory(parent: getppid(), anonymous: anonymous).appendingPathComponent(
      "c.safetensors")
    let data = SafeTensors.encode(["w": Tensor<Float>(zeros: [8 << 20])])
    Thread.detachNewThread {
      usleep(300_000)
      kill(getpid(), SIGKILL)
    }
    while true { try? writeAtomically(data, to: url, anonymousTemporary: anonymous) }
  }

  @Test(
    "A save killed by SIGKILL leaves a whole file or none, and its temporary file is gone after the next save",
    arguments: strategies)
  func killedSave(anonymous: Bool) async throws {
    let directory = Self.killDirectory(parent: getpid(), anonymous: anonymous)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    if anonymous {
      await #expect(processExitsWith: .signal(SIGKILL)) { Self.saveUntilKilled(anonymous: true) }
    } else {
      await #expect(processExitsWith: .signal(SIGKILL)) { Self.saveUntilKilled(anonymous: false) }
    }
    let url = directory.appendingPathComponent("c.safetensors")
    let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
    if left.contains("c.safetensors") {
      #expect(try SafeTensors(contentsOf: url).entry(named: "w")?.shape == [8 << 20])
    }
    try SafeTensors.write(["w": Tensor<Float>([1])], to: url)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["c.safetensors"])
  }
}
