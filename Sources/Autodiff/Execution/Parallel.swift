import Dispatch

#if canImport(Glibc)
  import Glibc
#endif

// Large elementwise loops are split across the machine's cores. Each thread writes its own
// contiguous range, and every element is computed the same way however the work is split, so
// results do not depend on the thread count. (Reductions stay on one thread: splitting a sum
// would change its rounding with the thread count.)

/// The threads elementwise kernels use: the online cores, or `AUTODIFF_NUM_THREADS` when set to
/// a positive number (1 turns the splitting off). BLAS has its own setting,
/// `OPENBLAS_NUM_THREADS`.
let elementwiseThreadCount: Int = {
  if let text = getenv("AUTODIFF_NUM_THREADS").map({ String(cString: $0) }), let n = Int(text),
    n > 0
  {
    return n
  }
  return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}()

/// Calls `body` on consecutive ranges covering `0..<count`, concurrently when there is enough
/// work: each range holds at least `grain` elements, and starts at a multiple of `alignment` (a
/// power of two; the default of 64 elements keeps two threads from writing one cache line).
/// (`package`: AutodiffNN's optimizers split their updates with it.)
@inline(__always)
package func forEachRange(
  count: Int, grain: Int, alignment: Int = 64, _ body: (Range<Int>) -> Void
) {
  let parts = min(elementwiseThreadCount, count / grain)
  guard parts > 1 else {
    body(0..<count)
    return
  }
  let step = ((count + parts - 1) / parts + alignment - 1) & -alignment
  // `concurrentPerform` returns when every part has run, so `body` does not outlive this call,
  // and the parts write disjoint ranges: sharing it with the workers is safe, though the
  // compiler cannot tell (it sees pointers, which are not Sendable).
  withoutActuallyEscaping(body) { body in
    let shared = UncheckedSendable(body)
    DispatchQueue.concurrentPerform(iterations: parts) { part in
      let start = min(part * step, count)
      shared.value(start..<min(start + step, count))
    }
  }
}

private struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}

/// Elements per thread below which splitting costs more than it saves: a few tens of
/// microseconds of work, for the cheapest loops (an add moves 12 bytes per element).
package let elementwiseGrain = 1 << 16
/// The same for the vectorized transcendental functions, which cost several times more per
/// element.
let transcendentalGrain = 1 << 13
