// Where a training step's time goes: the step of MLPStep's networks, its forward and backward
// passes and its update, their bare products (the floor), and the operations between the
// products at a hidden layer's shape, each the median of repeated calls in this process. On a
// machine with many cores it names what does not scale: a part that takes as long at 16 threads
// as at 1 runs on one core.
//
//   swift build -c release --package-path Benchmarks --product StepParts
//   OPENBLAS_NUM_THREADS=T AUTODIFF_NUM_THREADS=T taskset -c 0-(T-1) \
//     Benchmarks/.build/release/StepParts [--networks small,wide,large] [--seconds S]
//
// --seconds is each part's time (default 0.5; at least 7 calls whatever it says). Prints one
// Markdown table per network.

import Autodiff
import AutodiffNN
import Foundation
import Networks

/// The value of `--name`, or `default`.
func option(_ name: String, _ default: String) -> String {
  let arguments = CommandLine.arguments
  guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else {
    return `default`
  }
  return arguments[index + 1]
}

let networks: [(name: String, mlp: MLP)] = [
  ("small", MLP(sizes: [64, 128, 128, 10], batch: 64)),
  ("wide", MLP(sizes: [784, 512, 512, 10], batch: 128)),
  ("large", MLP(sizes: [784, 2048, 2048, 10], batch: 512)),
]
let chosen = option("networks", "small,wide,large").split(separator: ",").map(String.init)
guard let seconds = Double(option("seconds", "0.5")), seconds > 0,
  chosen.allSatisfy({ name in networks.contains { $0.name == name } })
else {
  FileHandle.standardError.write(
    Data("StepParts: --networks takes small, wide, large; --seconds a positive number\n".utf8))
  exit(2)
}

/// The median time of `body` in seconds: three calls to warm up, then calls until `seconds`
/// have passed, at least seven.
func median(_ body: () -> Void) -> Double {
  for _ in 0..<3 { body() }
  var times: [Double] = []
  let start = Date()
  while times.count < 7 || Date().timeIntervalSince(start) < seconds {
    let before = DispatchTime.now().uptimeNanoseconds
    body()
    times.append(Double(DispatchTime.now().uptimeNanoseconds - before) * 1e-9)
  }
  return times.sorted()[times.count / 2]
}

/// Reads every element, so that a pending result is computed inside the timed call.
func computed(_ tensor: Tensor<Float>) {
  tensor.withUnsafeBufferPointer { withExtendedLifetime($0) {} }
}

print(
  "StepParts: Parallelism.threadCount \(Parallelism.threadCount), BLAS.threadCount "
    + "\(BLAS.threadCount), OpenBLAS kernels \(BLAS.coreName), \(seconds) s a part")
for (name, mlp) in networks where chosen.contains(name) {
  let training = Training(mlp)
  let floor = Floor(mlp)
  let (_, gradients) = training.lossAndGradients()
  // A hidden layer's shapes: its input h [b, s₁], weight [s₁, s₂] and bias [s₂], and the
  // logits [b, s₃] that the loss reads.
  let (b, s) = (mlp.batch, mlp.sizes)
  var rng = SeededGenerator(seed: 2)
  let h = Tensor<Float>(randomNormal: [b, s[1]], using: &rng)
  let (weight, bias) = (mlp.parameters[2], Tensor<Float>(randomNormal: [s[2]], using: &rng))
  let logits = Tensor<Float>(randomNormal: [b, s[3]], using: &rng)
  // The other optimizers' updates, each of its own copy of the parameters.
  var (adamParameters, rmspropParameters) = (mlp.model().parameters, mlp.model().parameters)
  var adam = Adam(for: adamParameters)
  var rmsprop = RMSprop(for: rmspropParameters)
  let parts: [(String, () -> Void)] = [
    ("step", { training.step() }),
    ("forward and loss, unrecorded", { _ = training.loss() }),
    ("forward and backward", { _ = training.lossAndGradients() }),
    ("SGD update", { training.update(along: gradients) }),
    ("Adam update", { adam.update(&adamParameters, along: gradients) }),
    ("RMSprop update", { rmsprop.update(&rmspropParameters, along: gradients) }),
    ("gradients clipped by global norm", { _ = clippedByGlobalNorm(gradients, maxNorm: 1e-3) }),
    ("bare products: forward (3)", { floor.forward() }),
    ("bare products: backward (5)", { floor.backward() }),
    (
      "bare products and update (saxpy)",
      {
        floor.run()
        floor.update()
      }
    ),
    ("matmul [b, s₁]·[s₁, s₂]", { computed(matmul(h, weight)) }),
    ("  plus bias", { computed(matmul(h, weight, plus: bias)) }),
    ("  plus bias, relu", { computed(matmul(h, weight, plus: bias, activation: .relu)) }),
    ("h + bias, broadcast", { computed(h + bias) }),
    ("h.sum(alongAxes: [0])", { computed(h.sum(alongAxes: [0])) }),
    ("relu(h) value and gradient", { computed(gradient(at: h) { relu($0).sum() }) }),
    (
      "softmaxCrossEntropy value and gradient",
      {
        computed(gradient(at: logits) { softmaxCrossEntropy(logits: $0, labels: mlp.labels) })
      }
    ),
  ]
  print("\n## mlp-\(name): \(s.map(String.init).joined(separator: "-")), batch \(b)\n")
  print("| part | median |\n|---|---|")
  for (part, body) in parts {
    let time = median(body)
    let text =
      time >= 1e-3 ? String(format: "%.3g ms", time * 1e3) : String(format: "%.3g µs", time * 1e6)
    print("| \(part) | \(text) |")
  }
}
