internal import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

// Large elementwise loops are split across the machine's cores. Each thread writes its own
// contiguous range, and every element is computed the same way however the work is split, so
// results do not depend on the thread count. (Reductions stay on one thread: splitting a sum
// would change its rounding with the thread count.)

/// The threads of Autodiff's own parallel loops: elementwise kernels, fused expressions,
/// optimizer updates, and the two products of a small layer's pullback side by side. (BLAS has
/// its own pool: ``BLAS/setThreadCount(_:)``.)
///
/// Results never depend on the thread count: each thread computes its own range of elements,
/// each element the same way.
public enum Parallelism {
  /// The cores this process may use: the CPUs of its affinity mask, which `taskset`, cgroup
  /// cpusets and MPI's core binding restrict, or fewer where a cgroup CPU limit
  /// (``cpuLimit``) allows less time, rather than every online core.
  ///
  /// A limit of 1.5 CPUs allows 2 cores, as Java and Go round it. Reads the affinity mask and
  /// the cgroup files each time.
  public static var availableCoreCount: Int {
    let affinity = affinityCoreCount()
    let count = affinity > 0 ? affinity : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    return min(count, cpuLimit.map(cgroupCoreCount) ?? count)
  }

  /// The CPU time this process's cgroups allow, in CPUs, or `nil` where none limits it.
  ///
  /// A container started with `docker run --cpus=2`, or a Kubernetes pod with a CPU limit of
  /// 2, may use 2 CPUs' worth of time per period however many cores it sees; threads beyond
  /// that wait for their turn at the quota, and throttling stops them all until the next
  /// period. It is the smallest `quota / period` of the cgroup v2 `cpu.max` or v1
  /// `cpu.cfs_quota_us` files from the process's cgroup up to the root of its hierarchy.
  /// ``availableCoreCount`` counts it, and so does OpenBLAS's thread count (see
  /// ``BLAS/threadCountBeforeCPULimit``).
  public static var cpuLimit: Double? { cgroupCPULimit() }

  /// The most threads a parallel loop uses; 1 turns the splitting off.
  ///
  /// It starts as `AUTODIFF_NUM_THREADS` when that is a positive number, else as
  /// ``availableCoreCount``. Setting it takes effect from the next loop, from any thread.
  ///
  /// - Precondition: The new value is at least 1.
  public static var threadCount: Int {
    get { elementwiseThreadCount.load(ordering: .relaxed) }
    set {
      check(newValue >= 1, "Parallelism.threadCount: \(newValue); it must be at least 1")
      elementwiseThreadCount.store(newValue, ordering: .relaxed)
    }
  }
}

/// ``Parallelism/threadCount``'s value.
private let elementwiseThreadCount = Atomic<Int>(
  getenv("AUTODIFF_NUM_THREADS").flatMap { Int(String(cString: $0)) }.flatMap { $0 > 0 ? $0 : nil }
    ?? Parallelism.availableCoreCount)

/// Calls `body` on consecutive ranges covering `0..<count`, concurrently when there is enough
/// work: each range holds at least `grain` elements, and starts at a multiple of `alignment` (a
/// power of two; the default of 64 elements keeps two threads from writing one cache line).
/// (`package`: AutodiffNN's optimizers split their updates with it.)
@inline(__always)
package func forEachRange(
  count: Int, grain: Int, alignment: Int = 64, _ body: (Range<Int>) -> Void
) {
  let parts = min(Parallelism.threadCount, count / grain)
  guard parts > 1 else {
    body(0..<count)
    return
  }
  let step = ((count + parts - 1) / parts + alignment - 1) & -alignment
  WorkerPool.shared.run(parts: parts) { part in
    let start = min(part * step, count)
    body(start..<min(start + step, count))
  }
}

/// Calls `body` for every row of a row-major `shape` (every index of its axes but the last),
/// with the row's number and its offsets in one or two operands whose `strides` give an
/// element's step along each axis of `shape` (`stridesB` empty: one operand, offset 0).
///
/// With a `rowWork` (the elements of one row), rows run concurrently when there is enough work:
/// each thread takes consecutive rows worth at least `grain` elements (`elementwiseGrain` unless
/// given). Without, they run on this thread (rows long enough to split themselves). Each thread
/// walks its rows with a counter, so a row's offsets cost an add or two.
@inline(__always)
func forEachRow(
  of shape: [Int], strides stridesA: [Int], _ stridesB: [Int] = [], splittingRowsOf rowWork: Int?,
  grain elementGrain: Int = elementwiseGrain,
  _ body: (_ row: Int, _ offsetA: Int, _ offsetB: Int) -> Void
) {
  let axes = shape.count - 1
  let rows = shape.dropLast().reduce(1, *)
  guard rows > 0 else { return }
  let grain = rowWork.map { max(1, elementGrain / max(1, $0)) } ?? rows
  forEachRange(count: rows, grain: grain, alignment: 1) { range in
    // The index and offsets of the range's first row.
    var index = [Int](repeating: 0, count: axes)
    var (offsetA, offsetB) = (0, 0)
    var remainder = range.lowerBound
    for axis in (0..<axes).reversed() {
      index[axis] = remainder % shape[axis]
      remainder /= shape[axis]
      offsetA += index[axis] * stridesA[axis]
      if !stridesB.isEmpty { offsetB += index[axis] * stridesB[axis] }
    }
    for row in range {
      body(row, offsetA, offsetB)
      var axis = axes - 1
      while axis >= 0 {
        index[axis] += 1
        let stepB = stridesB.isEmpty ? 0 : stridesB[axis]
        offsetA += stridesA[axis]
        offsetB += stepB
        if index[axis] < shape[axis] { break }
        offsetA -= stridesA[axis] * shape[axis]
        offsetB -= stepB * shape[axis]
        index[axis] = 0
        axis -= 1
      }
    }
  }
}

/// Runs `first` and `second` at the same time on two threads (this one among them), and returns
/// when both have.
func concurrently(_ first: () -> Void, and second: () -> Void) {
  WorkerPool.shared.run(parts: 2) { part in part == 0 ? first() : second() }
}

/// Elements per thread below which splitting costs more than it saves: a few tens of
/// microseconds of work, for the cheapest loops (an add moves 12 bytes per element).
package let elementwiseGrain = 1 << 16
/// The same for copies of contiguous elements (slicing, concatenation, broadcasts, gathers of
/// rows), which compute nothing: from the caches, two threads share the bandwidth one already
/// uses, and they gain only on data from memory (measured in the Performance article, "Threads").
package let copyGrain = 1 << 20
/// The same for the vectorized transcendental functions, which cost several times more per
/// element. (`package`: AutodiffNN's losses split their rows with it.)
package let transcendentalGrain = 1 << 13
