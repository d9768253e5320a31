import Autodiff
import Foundation

extension MPIContext {
  /// Gives this rank's BLAS and Autodiff threads its share of the cores, so that the ranks on a
  /// machine do not run more threads than it has cores. Returns the thread count it chose.
  ///
  /// A rank may run on the cores of its affinity mask: what `mpirun` bound it to (one core each
  /// by default for up to two ranks, a socket with `--bind-to socket`), or `taskset` and cgroup
  /// limits. The ranks on this machine with the same mask share those cores: each takes
  /// `cores / ranks` threads, at least one. So `mpirun -np 16` on 16 cores gives each rank one
  /// thread; `mpirun -np 2 --map-by socket --bind-to socket` on two 8-core sockets gives each
  /// eight; and ranks that are not bound at all split the machine.
  ///
  /// It sets Autodiff's `BLAS.setThreadCount(_:)` and `Parallelism.threadCount` for the whole process,
  /// except where you chose: `OPENBLAS_NUM_THREADS` or `AUTODIFF_NUM_THREADS` set in the
  /// environment keep their library's count.
  ///
  /// Every rank must call it: the ranks compare their machines and masks (one allgather).
  @discardableResult
  public func shareCores() -> Int {
    let cores = Parallelism.availableCoreCount
    let mask =
      (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
      .split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
      .map { String($0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)) }
      ?? "\(cores) cores"
    // gethostname, not ProcessInfo.hostName, which may ask DNS.
    var host = [CChar](repeating: 0, count: 256)
    _ = gethostname(&host, host.count - 1)
    let name = String(
      decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let mine = "\(name) \(mask)"
    let sharing = allgather(mine).filter { $0 == mine }.count
    let threads = max(1, cores / max(sharing, 1))
    let environment = ProcessInfo.processInfo.environment
    if environment["OPENBLAS_NUM_THREADS"] == nil { BLAS.setThreadCount(threads) }
    if environment["AUTODIFF_NUM_THREADS"] == nil { Parallelism.threadCount = threads }
    return threads
  }
}
