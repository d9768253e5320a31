import Autodiff
import Benchmark
import Networks

// One training step of a ReLU network on a random batch: forward pass, softmax cross-entropy,
// gradients of all parameters, SGD update (learning rate 10⁻³, no momentum), in Float, written
// as AutodiffNN's documentation writes a step (Networks/Networks.swift).
//   mlp-small: 64-128-128-10, batch 64      mlp-wide: 784-512-512-10, batch 128
//   mlp-large: 784-2048-2048-10, batch 512 (where the work between the products is large enough
//   to run on every core)
// Floor: the bare cblas_sgemm calls of one forward and backward pass on preallocated buffers,
// 3 forward (Zₗ = Hₗ₋₁·Wₗ) and 5 backward (dWₗ = Hₗ₋₁ᵀ·dZₗ for each layer, dHₗ = dZₗ₊₁·Wₗ₊₁ᵀ for
// the two hidden layers; the input needs no gradient). Bias, ReLU, loss and update are not in
// it: the floor is what BLAS alone costs. Both run on state made once per process.

// Globals are initialized on first use: each benchmark process makes only its own network's
// state, and once, not before every sample.
let small = MLP(sizes: [64, 128, 128, 10], batch: 64)
let wide = MLP(sizes: [784, 512, 512, 10], batch: 128)
let large = MLP(sizes: [784, 2048, 2048, 10], batch: 512)
nonisolated(unsafe) var trainings: [String: Training] = [:]
nonisolated(unsafe) var floors: [String: Floor] = [:]

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal], timeUnits: .nanoseconds,
    units: [.mallocCountTotal: .count], warmupIterations: 10, maxDuration: .seconds(3),
    maxIterations: 20_000)

  for (name, mlp) in [("mlp-small", { small }), ("mlp-wide", { wide }), ("mlp-large", { large })] {
    Benchmark("\(name) step") { benchmark in
      let training = trainings[name] ?? Training(mlp())
      trainings[name] = training
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations { blackHole(training.step()) }
    }

    Benchmark("\(name) floor") { benchmark in
      let floor = floors[name] ?? Floor(mlp())
      floors[name] = floor
      // The kernels Autodiff runs on: it may have replaced OpenBLAS's generic choice.
      _ = BLAS.coreName
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations { floor.run() }
    }
  }
}
