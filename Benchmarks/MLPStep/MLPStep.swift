import Autodiff
import Benchmark
import CBLASFloor
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

/// The floor's buffers, made once per process (see `Training`): H₀ = X, H₁, H₂ ([b, s[l]]; H₁
/// and H₂ stand in for the activations, any values do), W₁..W₃, and Z₁..Z₃, dZ₁..dZ₃ (dZ₃ the
/// upstream gradient) and dW₁..dW₃.
final class Floor: @unchecked Sendable {
  let sizes: [Int]
  let batch: Int
  let weights, activations: [[Float]]
  var z, dZ, dW: [[Float]]

  init(_ mlp: MLP) {
    let (s, b) = (mlp.sizes, mlp.batch)
    (sizes, batch) = (s, b)
    weights = [0, 2, 4].map { mlp.parameters[$0].scalars }
    activations = [mlp.x.scalars] + (1...2).map { [Float](repeating: 0.5, count: b * s[$0]) }
    z = (1...3).map { [Float](repeating: 0, count: b * s[$0]) }
    dZ = (1...3).map { [Float](repeating: 0.01, count: b * s[$0]) }
    dW = (1...3).map { [Float](repeating: 0, count: s[$0 - 1] * s[$0]) }
  }

  func run() {
    let (s, b) = (sizes, batch)
    for l in 0..<3 {  // Zₗ₊₁ = Hₗ·Wₗ₊₁: [b, s[l]]·[s[l], s[l+1]]
      sgemm(false, false, b, s[l + 1], s[l], activations[l], weights[l], &z[l])
    }
    for l in (0..<3).reversed() {
      // dWₗ₊₁ = Hₗᵀ·dZₗ₊₁: [s[l], b]·[b, s[l+1]]
      sgemm(true, false, s[l], s[l + 1], b, activations[l], dZ[l], &dW[l])
      // dHₗ = dZₗ₊₁·Wₗ₊₁ᵀ: [b, s[l+1]]·[s[l+1], s[l]], into dZₗ (where ReLU's mask would go)
      if l > 0 { sgemm(false, true, b, s[l], s[l + 1], dZ[l], weights[l], &dZ[l - 1]) }
    }
    blackHole((z[2][0], dW[0][0]))
  }
}

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

/// C ← op(A)·op(B) for row-major matrices, C of shape [m, n] and the inner dimension k.
func sgemm(
  _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int,
  _ a: [Float], _ b: [Float], _ c: inout [Float]
) {
  cblas_sgemm(
    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
    Int32(m), Int32(n), Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
    0, &c, Int32(n))
}
