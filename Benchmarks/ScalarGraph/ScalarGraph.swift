import Autodiff
import Benchmark

// Forward and gradient of f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²) at (2, −4), in Double:
// the per-operation overhead of the tape, with nothing for BLAS to do.

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal], timeUnits: .nanoseconds,
    units: [.mallocCountTotal: .count], warmupIterations: 100, maxDuration: .seconds(3),
    maxIterations: 1_000_000)
  Benchmark("scalar-graph Double") { benchmark in
    let (x, y) = (Tensor<Double>(2), Tensor<Double>(-4))
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      blackHole(
        gradient(at: x, y) { x, y in (x + sigmoid(y)) / (sigmoid(x) + (x + y).squared()) })
    }
  }
}
