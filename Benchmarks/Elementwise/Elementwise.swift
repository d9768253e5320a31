import Autodiff
import Benchmark
import ElementwiseFloor

// The gradient of f(x) = Σ relu(x)² + σ(x) for 1,048,576 Float values: the cost of the tape and
// of unfused elementwise kernels when there is no BLAS work. Traffic is counted as the bytes a
// fused pass must move, reading x and writing dx (8 bytes per element, 8 MiB per step), so
// GB/s = 8 × 2²⁰ / time.
// Floor: the same value and gradient in one fused C loop on two threads (ElementwiseFloor).

let count = 1 << 20

/// The input, from a seeded normal distribution. A global is initialized on first use, so it is
/// drawn once per benchmark process, not before every sample.
let input: Tensor<Float> = {
  var rng = SeededGenerator(seed: 1)
  return Tensor(randomNormal: [count], using: &rng)
}()

/// The floor's input and gradient buffers, made once per process: package-benchmark calls a
/// benchmark's closure once per sample and times it to its return, so arrays made in the closure
/// would be freed inside the timed region.
nonisolated(unsafe) let floorInput: UnsafeMutablePointer<Float> = {
  let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
  buffer.initialize(from: input.scalars, count: count)
  return buffer
}()
nonisolated(unsafe) let floorGradient: UnsafeMutablePointer<Float> = {
  let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
  buffer.initialize(repeating: 0, count: count)
  return buffer
}()

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
    let (x, dx) = (floorInput, floorGradient)
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      blackHole((elementwise_floor_value_and_gradient(x, dx, count), dx[0]))
    }
  }
}
