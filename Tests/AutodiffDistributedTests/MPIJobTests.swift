import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The MPI scenarios of the `mpi-tests` executable, each run as a job of two ranks (some also of
/// three) on this machine: `mpirun -np N --oversubscribe mpi-tests <scenario>`. Skipped when mpirun is not
/// installed; a job that does not end within its time limit is killed and fails the test.
@Suite(
  .serialized,
  .enabled(
    if: MPIJob.mpirun != nil,
    "mpirun is not installed: apt-get install openmpi-bin libopenmpi-dev to run the MPI tests"))
struct MPIJobTests {
  @Test("Allreduce, broadcast and allgather of known buffers give the known results")
  func collectives() async throws {
    let job = try await MPIJob.run("collectives")
    job.expectPasses([
      "allreduceSum of a known Double buffer gives the known sum", "shareCores gives the ranks",
    ])
  }

  @Test(
    "Training on 2 and 3 ranks equals single-process training on the whole batch to 1e-12",
    arguments: [2, 3])
  func dataParallelEqualsSingleProcess(ranks: Int) async throws {
    let job = try await MPIJob.run("equivalence", ranks: ranks)
    job.expectPasses(
      ["SGD", "Adam"].map { "\($0): 8 steps of batch 7 on \(ranks) ranks equal" }
        + ["a checkpoint of single-process training resumes on \(ranks) ranks"])
  }

  @Test(
    "Sharded and overlapped steps on 2 and 3 ranks equal the blocking allreduce and one process",
    arguments: [2, 3])
  func shardedAndOverlappedSteps(ranks: Int) async throws {
    let job = try await MPIJob.run("sharded", ranks: ranks)
    job.expectPasses(
      ["SGD", "Adam"].flatMap { optimizer in
        [
          "\(optimizer): buckets of 256 bytes give the parameters of one bucket on \(ranks) ranks",
          "\(optimizer): sharded steps give the parameters of allreduced steps on \(ranks) ranks",
          "\(optimizer): sharded updates along allreduced gradients give the whole updates'",
        ]
      } + [
        "the gathered Adam state equals one process's",
        "a sharded Adam resumes from a checkpoint on \(ranks) ranks",
      ])
  }

  @Test("The article's code (the data-parallel loop, the sharded optimizer) runs on 2 ranks")
  func article() async throws {
    let job = try await MPIJob.run("article")
    job.expectPasses(["the article's loops ran 8 steps"])
  }

  @Test(
    "Ranks with different configurations stop together, each naming the field",
    arguments: [
      ("mismatch-shapes", "model parameters differs across ranks: 0.weight [5, 8]"),
      ("mismatch-seed", "seed differs across ranks: 42 on rank 0; 7 on rank 1"),
      ("mismatch-batch-size", "batch size differs across ranks: 128 on rank 0; 64 on rank 1"),
    ])
  func mismatchedConfiguration(scenario: String, message: String) async throws {
    let job = try await MPIJob.run(scenario)
    #expect(job.status != 0)
    #expect(job.output.contains("mpi-tests: rank 0 of 2: \(message)"), "\(job.output)")
    #expect(job.output.contains("mpi-tests: rank 1 of 2: \(message)"), "\(job.output)")
  }

  @Test(
    "Ranks that disagree on a collective's tensors or routine stop together, naming what differs",
    arguments: [
      (
        "disagree-shape", "allreduceSum",
        "shape list differs across ranks: [3, 2] on rank 0; [2, 3] on rank 1"
      ),
      (
        "disagree-type", "allreduceSum",
        "scalar type differs across ranks: Float on rank 0; Double on rank 1"
      ),
      (
        "disagree-count", "allreduceMean",
        "tensor count differs across ranks: 2 on rank 0; 1 on rank 1"
      ),
      (
        "disagree-collective", "allreduceSum",
        "collective differs across ranks: allreduceSum on rank 0; allreduceMean on rank 1"
      ),
    ])
  func disagreeingCollective(scenario: String, collective: String, message: String) async throws {
    let job = try await MPIJob.run(scenario)
    #expect(job.status != 0)
    #expect(
      job.output.contains(
        "AutodiffDistributed: rank 0 of 2: MPIContext.\(collective): the ranks' calls differ"),
      "\(job.output)")
    #expect(job.output.contains("AutodiffDistributed: rank 1 of 2: MPIContext."), "\(job.output)")
    #expect(job.output.components(separatedBy: message).count == 3, "\(job.output)")
    #expect(!job.output.contains("PASS"), "\(job.output)")
  }

  @Test("A rank that dies ends the job, with a message from the other rank, instead of a hang")
  func deadRank() async throws {
    let job = try await MPIJob.run("rank-dies")
    #expect(job.status != 0)
    #expect(job.output.contains("mpi-tests: rank 1 of 2: failing on purpose"), "\(job.output)")
    #expect(
      job.output.contains("mpi-tests: rank 0 of 2: ended by mpirun because another rank stopped")
        || job.output.contains("rank 0: MPI_Allreduce failed"), "\(job.output)")
  }

  @Test("A sharded step on parameters of other shapes stops, naming the shapes and the call site")
  func shardedWrongShapes() async throws {
    let job = try await MPIJob.run("sharded-wrong-shapes")
    #expect(job.status != 0)
    #expect(
      job.output.contains(
        "ShardedOptimizer.step(_:on:of:): the optimizer was created for shapes [[5, 8], [8], [8, 3], "
          + "[3]], got [[5, 4], [4], [4, 3], [3]] (at mpi-tests/Scenarios+Failures.swift:"),
      "\(job.output)")
    #expect(!job.output.contains("PASS"), "\(job.output)")
  }
}

/// One run of `mpi-tests` under mpirun.
struct MPIJob {
  /// mpirun's exit status.
  var status: Int32
  /// Everything the job wrote on standard output and standard error.
  var output: String

  /// The `mpirun` on the search path, if any.
  static let mpirun: URL? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map {
      URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun")
    }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }()

  /// The `mpi-tests` executable, built beside this test bundle (`swift build --build-tests` and
  /// `swift test` build every product of the package into the same folder).
  static var scenarios: URL {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
      .deletingLastPathComponent().appendingPathComponent("mpi-tests")
  }

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// Expects the job to have ended with status 0, printing `PASS <line>…` for each of `lines`
  /// and no failure.
  func expectPasses(
    _ lines: [String], sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(status == 0, "\(output)", sourceLocation: sourceLocation)
    for line in lines {
      #expect(output.contains("PASS \(line)"), "\(output)", sourceLocation: sourceLocation)
    }
    #expect(!output.contains("FAIL"), "\(output)", sourceLocation: sourceLocation)
  }

  /// Runs `scenario` on `ranks` ranks; kills the job and throws when it has not ended after
  /// `timeLimit` seconds.
  static func run(_ scenario: String, ranks: Int = 2, timeLimit: Double = 120) async throws
    -> MPIJob
  {
    guard let mpirun else { throw Failure(description: "mpirun is not installed") }
    guard FileManager.default.isExecutableFile(atPath: scenarios.path) else {
      throw Failure(
        description: "\(scenarios.path) is missing: build it with `swift build --product mpi-tests`"
      )
    }
    let log = FileManager.default.temporaryDirectory
      .appendingPathComponent("mpi-tests-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let output = try FileHandle(forWritingTo: log)

    let process = Process()
    process.executableURL = mpirun
    // Root may run MPI only when it says so (CI runs as root); --oversubscribe lets the ranks
    // share fewer cores.
    process.arguments =
      ["-np", "\(ranks)", "--oversubscribe"] + (getuid() == 0 ? ["--allow-run-as-root"] : [])
      + [scenarios.path, scenario]
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_NUM_THREADS"] = "1"
    // `shareCores` chooses the elementwise thread count, which the collectives scenario checks;
    // a count the runner's environment set would win.
    environment["AUTODIFF_NUM_THREADS"] = nil
    // Under the address sanitizer (CI's second pass), Open MPI's own allocations at
    // MPI_Finalize — many in plugins it has already unloaded, so no suppression can name them —
    // would turn every rank's exit status into a leak report. The ranks' memory errors are
    // still caught; only the leak check is off, for these processes.
    environment["ASAN_OPTIONS"] = [environment["ASAN_OPTIONS"], "detect_leaks=0"]
      .compactMap { $0 }.joined(separator: ":")
    process.environment = environment
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()

    let deadline = Date().addingTimeInterval(timeLimit)
    while process.isRunning && Date() < deadline {
      try await Task.sleep(for: .milliseconds(50))
    }
    let hung = process.isRunning
    if hung {
      process.terminate()  // mpirun passes it on to the ranks
      try await Task.sleep(for: .seconds(5))
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
    process.waitUntilExit()
    try output.close()
    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    if hung {
      throw Failure(description: "mpi-tests \(scenario) did not end in \(timeLimit) s:\n\(text)")
    }
    return MPIJob(status: process.terminationStatus, output: text)
  }
}
