import AutodiffNN
import Benchmark

// Per-example gradients of a ReLU network's cross-entropy, in Float, two ways:
//   outer products: one forward and one backward pass over the batch, then hᵢᵀ·δᵢ per example
//   loop:           one forward and one backward pass per example, on its row alone
// Both are exact (the test suite checks them against each other); the result holds
// batch × parameters elements either way.
//   per-example-small: 64-128-10, batch 32     per-example-wide: 784-256-10, batch 64

/// A network's layer sizes and batch, with its model, a batch of inputs and labels.
struct Network: Sendable {
  let model: Sequential<Float>
  let x: Tensor<Float>
  let labels: [Int]

  init(sizes: [Int], batch: Int) {
    var rng = SeededGenerator(seed: 1)
    model = Sequential(
      Dense(inputSize: sizes[0], outputSize: sizes[1], activation: .relu, using: &rng),
      Dense(inputSize: sizes[1], outputSize: sizes[2], using: &rng))
    x = Tensor(randomNormal: [batch, sizes[0]], using: &rng)
    labels = (0..<batch).map { _ in Int.random(in: 0..<sizes[2], using: &rng) }
  }

  /// Each example's cross-entropy, one per row of `logits`.
  func losses(_ logits: Tensor<Float>, _ rows: Range<Int>) -> Tensor<Float> {
    let onehot = oneHot(Array(labels[rows]), classes: logits.shape[1], as: Float.self)
    return -(logSoftmax(logits, alongAxis: 1) * onehot).sum(squeezingAxes: [1])
  }
}

// Globals are initialized on first use: each benchmark process draws only its own network.
let small = Network(sizes: [64, 128, 10], batch: 32)
let wide = Network(sizes: [784, 256, 10], batch: 64)

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal], timeUnits: .microseconds,
    units: [.mallocCountTotal: .count], warmupIterations: 3, maxDuration: .seconds(3),
    maxIterations: 2_000)

  for (name, network) in [("per-example-small", { small }), ("per-example-wide", { wide })] {
    for (method, label) in [
      (PerExampleGradientMethod.outerProducts, "outer products"), (.loop, "loop"),
    ] {
      Benchmark("\(name) \(label)") { benchmark in
        let network = network()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
          blackHole(
            perExampleGradients(
              of: network.model, inputs: network.x, method: method, loss: network.losses))
        }
      }
    }
  }
}
