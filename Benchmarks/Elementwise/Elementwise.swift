import Autodiff
import Benchmark
import Dispatch
import ElementwiseFloor

// The gradient of f(x) = Σ relu(x)² + σ(x) for 1,048,576 Float values: the cost of the tape and
// of unfused elementwise kernels when there is no BLAS work. Traffic is counted as the bytes a
// fused pass must move, reading x and writing dx (8 bytes per element, 8 MiB per step), so
// GB/s = 8 × 2²⁰ / time.
// Floor: the same value and gradient in one fused C loop (ElementwiseFloor), split into as many
// ranges as Autodiff's own loops would use (Parallelism.threadCount), each on a thread of
// Dispatch's pool.

let count = 1 << 20

/// The input, from a seeded normal distribution. A global is initialized on first use, so it is
/// drawn once per benchmark process, not before every sample.
let input: Tensor<Float> = {
  var rng = SeededGenerator(seed: 1)
  return Tensor(randomNormal: [count], using: &rng)
}()

/// The floor's buffers, made once per process (package-benchmark calls a benchmark's closure once
/// per sample and times it to its return, so arrays made in the closure would be freed inside
/// the timed region), and its loop: the C function on `Parallelism.threadCount` equal ranges at
/// once, through Dispatch's pool as Autodiff's own loops split, the ranges' sums added in order.
final class Floor: @unchecked Sendable {
  /// The fewest elements Autodiff's elementwise loops give a thread (its `elementwiseGrain`).
  static let grain = 1 << 16
  let x = UnsafeMutablePointer<Float>.allocate(capacity: count)
  let dx = UnsafeMutablePointer<Float>.allocate(capacity: count)
  let sums = UnsafeMutablePointer<Float>.allocate(capacity: count / grain)

  init() {
    x.initialize(from: input.scalars, count: count)
    dx.initialize(repeating: 0, count: count)
    sums.initialize(repeating: 0, count: count / Self.grain)
  }

  func valueAndGradient() -> Float {
    // As many ranges as Autodiff's loops would use: its threads, each with a grain or more.
    let parts = max(1, min(Parallelism.threadCount, count / Self.grain))
    DispatchQueue.concurrentPerform(iterations: parts) { part in
      let (start, end) = (part * count / parts, (part + 1) * count / parts)
      sums[part] = elementwise_floor_value_and_gradient(x + start, dx + start, end - start)
    }
    return (0..<parts).reduce(0) { $0 + sums[$1] }
  }
}

let floor = Floor()

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal], timeUnits: .nanoseconds,
    units: [.mallocCountTotal: .count], warmupIterations: 5, maxDuration: .seconds(3),
    maxIterations: 10_000)

  Benchmark("elementwise 1M") { benchmark in
    let x = input
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      blackHole(valueWithGradient(at: x) { x in (relu(x).squared() + sigmoid(x)).sum() })
    }
  }

  Benchmark("elementwise floor 1M") { benchmark in
    let floor = floor
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      blackHole((floor.valueAndGradient(), floor.dx[0]))
    }
  }
}
