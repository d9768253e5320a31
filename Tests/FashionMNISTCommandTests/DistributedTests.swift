import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Open MPI's `mpirun`, if installed: the first on `PATH`, as MPIJobTests finds it.
private let mpirun: URL? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
  .split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
  .first { FileManager.default.isExecutableFile(atPath: $0.path) }

/// `fashion-mnist --distributed` under mpirun, as the AutodiffDistributed article runs it.
@Suite(
  .enabled(
    if: mpirun != nil,
    "mpirun is not installed: apt-get install openmpi-bin libopenmpi-dev to run it"))
struct DistributedTests {
  @Test("Two ranks train the epochs one process trains, to the same test accuracy and loss")
  func twoRanksEqualOneProcess() async throws {
    let (single, distributed) = (JobFolder(), JobFolder())
    let arguments = single.small + ["--epochs", "2"]
    let one = try await single.run(arguments)
    #expect(one.status == 0, "\(one)")
    let executable = try #require(CommandRun.executable)
    // Root may run MPI only when it says so (CI runs as root); --oversubscribe lets the ranks
    // share fewer cores.
    let two = try await CommandRun.run(
      ["-np", "2", "--oversubscribe"] + (getuid() == 0 ? ["--allow-run-as-root"] : [])
        + [executable.path] + distributed.small + ["--epochs", "2", "--distributed"],
      in: distributed.url,
      // Under the address sanitizer (CI's second pass), Open MPI's own allocations at
      // MPI_Finalize would make every rank's exit a leak report (as in MPIJobTests).
      environment: [
        "ASAN_OPTIONS": [ProcessInfo.processInfo.environment["ASAN_OPTIONS"], "detect_leaks=0"]
          .compactMap { $0 }.joined(separator: ":")
      ], executable: mpirun!)
    #expect(two.status == 0, "\(two)")
    #expect(two.standardOutput.contains("2 ranks"), "\(two.standardOutput)")
    // The last line of the table: epoch, train loss and accuracy, test loss and accuracy. The
    // ranks' gradients sum to the whole batch's, up to rounding, so the printed digits agree.
    func lastEpoch(_ output: String) -> [Substring] {
      output.split(separator: "\n").last { $0.hasPrefix("2/2") }?.split(separator: " ")
        .prefix(5).map { $0 } ?? []
    }
    #expect(!lastEpoch(one.standardOutput).isEmpty, "\(one.standardOutput)")
    #expect(lastEpoch(two.standardOutput) == lastEpoch(one.standardOutput), "\(two.standardOutput)")
    #expect(distributed.exists("fashion-mnist.safetensors"))
  }
}
