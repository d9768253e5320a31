// The time of each of many operations on 2²⁰ Floats (a [1024, 1024] matrix where the operation
// has axes), with its cost per element, to find one far slower than its kind: a copy or an
// arithmetic operation takes well under a nanosecond an element, a transcendental function a
// nanosecond or so. Each figure is the median of repeated calls in this process, results read
// in full inside the timed call.
//
//   swift build -c release --package-path Benchmarks --product OpCosts
//   OPENBLAS_NUM_THREADS=T AUTODIFF_NUM_THREADS=T taskset -c 0-(T-1) \
//     Benchmarks/.build/release/OpCosts [--filter SUBSTRING]...
//
// Prints one line per operation: median µs, ns per element, name. With one or more filters,
// only the operations whose names contain one of them (`--filter tiled --filter "x + y"`: an
// operation beside its baseline in one run).

import Autodiff
import Foundation

let filters = CommandLine.arguments.indices.dropLast()
  .filter { CommandLine.arguments[$0] == "--filter" }.map { CommandLine.arguments[$0 + 1] }

/// Prints the median time of `body`: two calls to warm up, then calls for 0.2 s, at least 5 and
/// at most 50.
func time(_ name: String, _ body: () -> Void) {
  if !filters.isEmpty, !filters.contains(where: { name.contains($0) }) { return }
  for _ in 0..<2 { body() }
  var times: [Double] = []
  let start = Date()
  while times.count < 5 || (Date().timeIntervalSince(start) < 0.2 && times.count < 50) {
    let before = DispatchTime.now().uptimeNanoseconds
    body()
    times.append(Double(DispatchTime.now().uptimeNanoseconds - before) * 1e-9)
  }
  let median = times.sorted()[times.count / 2]
  print(
    String(format: "%9.1f µs  %6.2f ns/element  ", median * 1e6, median * 1e9 / Double(1 << 20))
      + name)
}

/// Reads every element, so that a pending result is computed inside the timed call.
func computed<Scalar>(_ tensor: Tensor<Scalar>) {
  tensor.withUnsafeBufferPointer { withExtendedLifetime($0) {} }
}

// OpenBLAS's threads look for work for their first 2²⁸ cycles or so (its THREAD_TIMEOUT, about
// 0.1 s), taking a core from the first rows at two threads: the matmul of stacks took 1.85 ms at
// two threads without this wait, 1.10 ms with it.
Thread.sleep(forTimeInterval: 0.5)
var rng = SeededGenerator(seed: 1)
let count = 1 << 20
let x = Tensor<Float>(randomNormal: [1024, 1024], using: &rng)
let y = Tensor<Float>(randomNormal: [1024, 1024], using: &rng)
let row = Tensor<Float>(randomNormal: [1024], using: &rng)
let doubles = Tensor<Double>(x)
let elements = x.scalars
let rows = (0..<1024).map { ($0 * 37) % 1024 }
// Stacks of 256 matrices [64, 64], and a [64, 64] matrix.
let (stack, otherStack) = (x.reshaped(to: [256, 64, 64]), y.reshaped(to: [256, 64, 64]))
let matrix = y[0..<64, 0..<64]
// Inside asin's and acos's domain [−1, 1] (a normal x is NaN for a third of its elements).
var unitRNG = SeededGenerator(seed: 2)
let unit = Tensor<Float>(randomUniform: [1024, 1024], in: -1..<1, using: &unitRNG)

print(
  "OpCosts: Parallelism.threadCount \(Parallelism.threadCount), BLAS.threadCount "
    + "\(BLAS.threadCount); 2^20 Floats ([1024, 1024] where there are axes)")
time("Tensor(randomNormal:)") {
  var r = SeededGenerator(seed: 3)
  computed(Tensor<Float>(randomNormal: [count], using: &r))
}
time("Tensor(randomUniform:)") {
  var r = SeededGenerator(seed: 3)
  computed(Tensor<Float>(randomUniform: [count], using: &r))
}
time("Tensor(zeros:)") { computed(Tensor<Float>(zeros: [count])) }
time("Tensor(shape:scalars:)") { computed(Tensor<Float>(shape: [count], scalars: elements)) }
time("scalars") { _ = x.scalars.count }
time("Tensor<Double>(Float tensor)") { computed(Tensor<Double>(x)) }
time("Tensor<Float>(Double tensor)") { computed(Tensor<Float>(doubles)) }
time("x + y") { computed(x + y) }
time("x + row, broadcast") { computed(x + row) }
time("x * 2") { computed(x * 2) }
time("pow(x, 2)") { computed(pow(x, 2)) }
time("pow(x, 3)") { computed(pow(x, 3)) }
time("abs") { computed(abs(x)) }
time("sqrt(abs(x))") { computed(sqrt(abs(x))) }
time("exp") { computed(exp(x)) }
time("log(abs(x) + 1)") { computed(log(abs(x) + 1)) }
time("tanh") { computed(tanh(x)) }
time("sigmoid") { computed(sigmoid(x)) }
time("softplus") { computed(softplus(x)) }
time("gelu") { computed(gelu(x)) }
time("silu") { computed(silu(x)) }
time("elu") { computed(elu(x)) }
time("erf") { computed(erf(x)) }
time("sin") { computed(sin(x)) }
time("tan") { computed(tan(x)) }
time("sinh") { computed(sinh(x)) }
time("cosh") { computed(cosh(x)) }
time("asin, x in [-1, 1]") { computed(asin(unit)) }
time("acos, x in [-1, 1]") { computed(acos(unit)) }
time("atan") { computed(atan(x)) }
time("atan2(x, y)") { computed(atan2(x, y)) }
time("clamp") { computed(clamp(x, min: -1, max: 1)) }
time("where(x .> y, x, y)") { computed(`where`(x .> y, x, y)) }
time("sum()") { _ = x.sum().scalar }
time("max()") { _ = x.max().scalar }
time("argmax()") { _ = x.argmax() }
time("sum(alongAxes: [0])") { computed(x.sum(alongAxes: [0])) }
time("sum(alongAxes: [1])") { computed(x.sum(alongAxes: [1])) }
let pairs = x.reshaped(to: [count / 2, 2])
time("sum(alongAxes: [1]) of [524288, 2]") { computed(pairs.sum(alongAxes: [1])) }
time("max(alongAxes: [0])") { computed(x.max(alongAxes: [0])) }
time("max(alongAxes: [1])") { computed(x.max(alongAxes: [1])) }
time("argmax(alongAxis: 1)") { _ = x.argmax(alongAxis: 1) }
time("product(alongAxes: [1])") { computed(x.product(alongAxes: [1])) }
time("variance(alongAxes: [0])") { computed(x.variance(alongAxes: [0])) }
time("logSumExp(alongAxes: [1])") { computed(x.logSumExp(alongAxes: [1])) }
time("cumulativeSum(alongAxis: 0)") { computed(x.cumulativeSum(alongAxis: 0)) }
time("cumulativeSum(alongAxis: 1)") { computed(x.cumulativeSum(alongAxis: 1)) }
time("softmax(alongAxis: 0)") { computed(softmax(x, alongAxis: 0)) }
time("softmax(alongAxis: 1)") { computed(softmax(x, alongAxis: 1)) }
time("logSoftmax(alongAxis: 1)") { computed(logSoftmax(x, alongAxis: 1)) }
time("transposed()") { computed(x.transposed()) }
time("x[0..<512]") { computed(x[0..<512]) }
time("x[.all, 0..<512]") { computed(x[.all, 0..<512]) }
time("gathering(atIndices:)") { computed(x.gathering(atIndices: rows)) }
// Flips, tiles, repeats and pads whose results have 2²⁰ elements: of x, or of its halves
// [512, 1024] and [1024, 512], or of its interior [1022, 1022].
let (upperHalf, leftHalf) = (x[0..<512], x[.all, 0..<512])
let interior = x[1..<1023, 1..<1023]
let counts = (0..<512).map { $0 % 2 == 0 ? 1 : 3 }
time("flipped(alongAxes: [0])") { computed(x.flipped(alongAxes: [0])) }
time("flipped(alongAxes: [1])") { computed(x.flipped(alongAxes: [1])) }
time("flipped(alongAxes: [0, 1])") { computed(x.flipped(alongAxes: [0, 1])) }
time("tiled([2, 1]) of [512, 1024]") { computed(upperHalf.tiled([2, 1])) }
time("tiled([1, 2]) of [1024, 512]") { computed(leftHalf.tiled([1, 2])) }
time("repeated(2, alongAxis: 0) of [512, 1024]") { computed(upperHalf.repeated(2, alongAxis: 0)) }
time("repeated(2, alongAxis: 1) of [1024, 512]") { computed(leftHalf.repeated(2, alongAxis: 1)) }
time("repeated([1, 3, 1, 3, …], alongAxis: 0) of [512, 1024]") {
  computed(upperHalf.repeated(counts, alongAxis: 0))
}
time("padded([(1, 1), (1, 1)]) of [1022, 1022]") {
  computed(interior.padded([(1, 1), (1, 1)]))
}
time("matmul of stacks [256, 64, 64]·[256, 64, 64]ᵀ") {
  computed(matmul(stack, transposed: false, otherStack, transposed: true))
}
time("  the same, one matmul per matrix") {
  for i in 0..<256 {
    computed(matmul(stack[i], transposed: false, otherStack[i], transposed: true))
  }
}
time("matmul of a stack [256, 64, 64] and a matrix [64, 64]") { computed(matmul(stack, matrix)) }
time("gradient of matmul of stacks, summed") {
  computed(
    gradient(at: stack) { matmul($0, transposed: false, otherStack, transposed: true).sum() })
}
time("sorted(alongAxis: 1)") { computed(x.sorted(alongAxis: 1).values) }
time("topK(10) along rows") { computed(x.topK(10).values) }
time("norm(alongAxes: [1])") { computed(x.norm(alongAxes: [1])) }
time("gradient of sum(x * y)") { computed(gradient(at: x) { ($0 * y).sum() }) }
time("gradient of logSoftmax(x).mean()") {
  computed(gradient(at: x) { logSoftmax($0, alongAxis: 1).mean() })
}
time("gradient of max(alongAxes: [1]).sum()") {
  computed(gradient(at: x) { $0.max(alongAxes: [1]).sum() })
}
time("gradient of (transposed() * y).sum()") {
  computed(gradient(at: x) { ($0.transposed() * y).sum() })
}
time("gradient of (flipped(alongAxes: [1]) * y).sum()") {
  computed(gradient(at: x) { ($0.flipped(alongAxes: [1]) * y).sum() })
}
time("gradient of (tiled([2, 1]) * y).sum() of [512, 1024]") {
  computed(gradient(at: upperHalf) { ($0.tiled([2, 1]) * y).sum() })
}
time("gradient of (repeated(2, alongAxis: 1) * y).sum() of [1024, 512]") {
  computed(gradient(at: leftHalf) { ($0.repeated(2, alongAxis: 1) * y).sum() })
}
time("gradient of (repeated([1, 3, 1, 3, …], alongAxis: 0) * y).sum() of [512, 1024]") {
  computed(gradient(at: upperHalf) { ($0.repeated(counts, alongAxis: 0) * y).sum() })
}
time("gradient of (padded([(1, 1), (1, 1)]) * y).sum() of [1022, 1022]") {
  computed(gradient(at: interior) { ($0.padded([(1, 1), (1, 1)]) * y).sum() })
}
time("gradient of cumulativeSum(alongAxis: 1).sum()") {
  computed(gradient(at: x) { $0.cumulativeSum(alongAxis: 1).sum() })
}
time("gradient of pow(x, 2).sum()") { computed(gradient(at: x) { pow($0, 2).sum() }) }
time("gradient of pow(x, 3).sum()") { computed(gradient(at: x) { pow($0, 3).sum() }) }
time("gradient of tan(x).sum()") { computed(gradient(at: x) { tan($0).sum() }) }
time("gradient of atan2(x, y).sum() in x and y") {
  let (dx, dy) = gradient(at: x, y) { atan2($0, $1).sum() }
  computed(dx)
  computed(dy)
}
