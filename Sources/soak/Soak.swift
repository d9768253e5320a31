// Long runs that do not belong in the test suite: each prints its figures and exits non-zero when
// a figure is out of bounds. Build in release:
//
//   swift run -c release soak train          # 20,000 Adam steps of 784-256-128-10, RSS start/end
//   swift run -c release soak graph          # a 1,000,000-op graph: record, sweep, free
//   swift run -c release soak scalar-graph   # the tape's per-operation cost on scalars
//   swift run -c release soak buffer-cache   # varying batch sizes with the buffer cache on, off
//
// Options: `--steps N`, `--batch N` (train), `--ops N` (graph), `--iterations N` (scalar-graph).

import AutodiffNN
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The resident set size in bytes, from /proc/self/statm (its second field, in pages).
func residentBytes() -> Int {
  guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else {
    return -1
  }
  let fields = text.split(separator: " ")
  guard fields.count > 1, let pages = Int(fields[1]) else { return -1 }
  return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func megabytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

func seconds(since start: ContinuousClock.Instant) -> Double {
  let elapsed = ContinuousClock.now - start
  return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

/// Asks glibc's allocator to return its free pages to the system (`malloc_trim(0)`), so that the
/// resident set size shows what is still allocated. Looked up at run time: Swift's Glibc module
/// does not import <malloc.h>.
func returnFreePages() {
  typealias Trim = @convention(c) (Int) -> Int32
  guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
  _ = unsafeBitCast(symbol, to: Trim.self)(0)
}

/// The CPU time this thread has used, in seconds: steadier than the wall clock on a shared machine.
func threadCPUSeconds() -> Double {
  var time = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
  return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}

/// The value of `--name N` on the command line, or `fallback`.
func option(_ name: String, _ fallback: Int) -> Int {
  let arguments = CommandLine.arguments
  guard let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count,
    let value = Int(arguments[index + 1].replacingOccurrences(of: "_", with: ""))
  else { return fallback }
  return value
}

/// Trains the Fashion-MNIST network on random data of the right shapes and reports the resident
/// set size: after the first step (allocator and BLAS buffers warmed up) and at the end.
func train() -> Bool {
  let steps = option("steps", 20_000)
  let batchSize = option("batch", 64)
  var rng = SeededGenerator(seed: 20_000)
  var model = Sequential<Float>(
    Dense(inputSize: 784, outputSize: 256, activation: .relu, using: &rng),
    Dense(inputSize: 256, outputSize: 128, activation: .relu, using: &rng),
    Dense(inputSize: 128, outputSize: 10, initialization: .glorotUniform, using: &rng))
  var optimizer = Adam(for: model.parameters, learningRate: 1e-3)
  // A fixed pool of batches, cycled, so that the inputs themselves take no new memory.
  let batches = (0..<8).map { _ in
    (
      inputs: Tensor<Float>(randomNormal: [batchSize, 784], using: &rng),
      labels: (0..<batchSize).map { _ in Int.random(in: 0..<10, using: &rng) }
    )
  }
  print("train: \(steps) steps of 784-256-128-10, batch \(batchSize), Adam, random data")
  print("RSS before the first step: \(megabytes(residentBytes()))")
  let start = ContinuousClock.now
  var first = 0
  var lastLoss: Float = 0
  for step in 1...steps {
    let batch = batches[step % batches.count]
    let (loss, gradients) = valueWithGradient(at: model.parameters) { parameters in
      softmaxCrossEntropy(
        logits: model.replacingParameters(with: parameters)(batch.inputs), labels: batch.labels)
    }
    optimizer.update(&model.parameters, along: gradients)
    lastLoss = loss.scalar
    if step == 1 { first = residentBytes() }
    if step == 1 || step % (steps / 10 == 0 ? 1 : steps / 10) == 0 {
      print(
        "step \(step): loss \(lastLoss), RSS \(megabytes(residentBytes())), "
          + String(format: "%.1f s", seconds(since: start)))
      fflush(nil)
    }
  }
  let last = residentBytes()
  let growth = Double(last - first) / Double(first)
  print(
    "RSS first step \(megabytes(first)), last step \(megabytes(last)) "
      + String(format: "(%+.1f%%)", growth * 100) + ", loss \(lastLoss)")
  // Flat: within 10% of the first step (allocator noise), where a leak of one step's tape
  // (~1 MB of saved activations) per step would grow it by gigabytes.
  return growth < 0.10 && lastLoss.isFinite
}

/// Records a chain of `--ops` operations, differentiates it, and frees it; twice, so that the
/// second round shows the first one's memory was freed (reused, not added to).
func graph() -> Bool {
  let count = option("ops", 1_000_000)
  let before = residentBytes()
  var peaks: [Int] = []
  var correct = true
  for round in 1...2 {
    var start = ContinuousClock.now
    do {
      let tape = Tape()
      let x = tape.watch(Tensor<Double>(1))
      var y = x
      // y ← y·c and y ← y − ε alternately: each operation depends on the one before.
      for index in 0..<(count - 1) {
        y = index.isMultiple(of: 2) ? y * 1.000_001 : y - 1e-9
      }
      let recorded = seconds(since: start)
      start = ContinuousClock.now
      let g = tape.gradient(of: y, wrt: [x])[0].scalar
      let swept = seconds(since: start)
      peaks.append(residentBytes())
      // d/dx of x·c^(n/2) − ... is c^(n/2), n/2 multiplications by c.
      let expected = Foundation.pow(1.000_001, Double(count / 2))
      correct = correct && abs(g - expected) <= 1e-9 * expected
      print(
        "graph round \(round): \(tape.count) nodes recorded in "
          + String(format: "%.2f s, swept in %.2f s", recorded, swept)
          + ", gradient \(g) (expected \(expected)), RSS \(megabytes(peaks.last!))")
      start = ContinuousClock.now
    }
    let freed = seconds(since: start)
    let retained = residentBytes()
    returnFreePages()
    print(
      "  freed in \(String(format: "%.2f s", freed)); RSS \(megabytes(retained)) as the "
        + "allocator keeps it, \(megabytes(residentBytes())) once it returns free pages")
  }
  let after = residentBytes()
  print("RSS at the start \(megabytes(before)), at the end \(megabytes(after))")
  // Freed: the second round reuses the first one's memory instead of adding to it, and at the
  // end all but a few MiB of the ~500 MiB that each graph held are back with the system.
  return correct && Double(peaks[1]) < 1.1 * Double(peaks[0]) && after < before + (64 << 20)
}

/// Times the gradient of the scalar graph of Benchmarks/ScalarGraph, the tape's overhead per
/// operation: f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²) at (2, −4), 11 recorded nodes.
func scalarGraph() -> Bool {
  let iterations = option("iterations", 200_000)
  let (x, y) = (Tensor<Double>(2), Tensor<Double>(-4))
  var sink = 0.0
  var best = Double.infinity
  for round in 1...5 {
    let start = ContinuousClock.now
    let cpuStart = threadCPUSeconds()
    for _ in 0..<iterations {
      let (dx, _) = gradient(at: x, y) { x, y in
        (x + sigmoid(y)) / (sigmoid(x) + (x + y).squared())
      }
      sink += dx.scalar
    }
    let wall = seconds(since: start) / Double(iterations) * 1e9
    let cpu = (threadCPUSeconds() - cpuStart) / Double(iterations) * 1e9
    best = min(best, cpu)
    print(
      "scalar-graph round \(round): \(String(format: "%.0f", cpu)) ns CPU, "
        + "\(String(format: "%.0f", wall)) ns wall per gradient")
  }
  print("scalar-graph: best \(String(format: "%.0f", best)) ns CPU per gradient (11 nodes)")
  return sink.isFinite
}

/// The minor page faults of this thread so far (first touches of fresh pages).
func threadMinorFaults() -> Int {
  var usage = rusage()
  getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD, which Swift's Glibc does not import
  return usage.ru_minflt
}

/// Training steps of a 64-128-128-10 network on batches whose row count changes every step (the
/// workload of Benchmarks/BufferCache's "mlp varying batch"), in rounds with the buffer cache on
/// and off in turn, on one thread: thread CPU time (page faults included) and minor page faults
/// per step, which a busy machine disturbs less than the wall clock.
func bufferCache() -> Bool {
  let steps = option("steps", 2048)
  let rounds = option("rounds", 5)
  let fixed = option("rows", 0)
  Parallelism.threadCount = 1
  BLAS.setThreadCount(1)
  var rng = SeededGenerator(seed: 1)
  let sizes = [64, 128, 128, 10]
  let parameters = (1...3).flatMap { l -> [Tensor<Float>] in
    let initialization: WeightInitialization = l == 3 ? .glorotUniform : .heNormal
    return [
      initialization.weight(fanIn: sizes[l - 1], fanOut: sizes[l], using: &rng),
      Tensor(zeros: [sizes[l]]),
    ]
  }
  let x = Tensor<Float>(randomNormal: [1056, sizes[0]], using: &rng)
  let labels = (0..<1056).map { _ in Int.random(in: 0..<sizes[3], using: &rng) }
  let defaultLimit = option("limit", BufferCache.limit >> 20) << 20
  var cpu: [Bool: [Double]] = [true: [], false: []]
  var sink: Float = 0
  for round in 0..<(2 * rounds + 2) {
    let on = round % 2 == 0
    BufferCache.limit = on ? defaultLimit : 0
    var model = Sequential(
      Dense(weight: parameters[0], bias: parameters[1], activation: .relu),
      Dense(weight: parameters[2], bias: parameters[3], activation: .relu),
      Dense(weight: parameters[4], bias: parameters[5]))
    var optimizer = SGD(for: model.parameters, learningRate: 1e-3)
    let (cpuStart, faultsStart) = (threadCPUSeconds(), threadMinorFaults())
    for step in 0..<steps {
      let count = fixed > 0 ? fixed : 32 + (step &* 37) % 1024
      let batch = x[0..<count]
      let batchLabels = Array(labels[0..<count])
      let (loss, gradients) = valueWithGradient(at: model.parameters) { parameters in
        softmaxCrossEntropy(
          logits: model.replacingParameters(with: parameters)(batch), labels: batchLabels)
      }
      optimizer.update(&model.parameters, along: gradients)
      sink += loss.scalar
    }
    let perStep = (threadCPUSeconds() - cpuStart) / Double(steps) * 1e6
    let faults = Double(threadMinorFaults() - faultsStart) / Double(steps)
    guard round >= 2 else { continue }  // the first pair warms up
    cpu[on]!.append(perStep)
    print(
      "buffer-cache round \(round / 2): cache \(on ? "on " : "off"): "
        + String(format: "%.1f µs CPU, %.1f minor faults per step", perStep, faults)
        + (on ? ", \(megabytes(BufferCache.cachedByteCount)) cached" : ""))
    fflush(nil)
  }
  func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
  let (on, off) = (median(cpu[true]!), median(cpu[false]!))
  print(
    String(
      format: "buffer-cache: median %.1f µs on, %.1f µs off per step: on/off %.3f", on, off,
      on / off))
  return sink.isFinite
}

let mode = CommandLine.arguments.dropFirst().first ?? ""
let passed: Bool
switch mode {
case "train": passed = train()
case "graph": passed = graph()
case "scalar-graph": passed = scalarGraph()
case "buffer-cache": passed = bufferCache()
default:
  print(
    "usage: soak train [--steps N] [--batch N] | graph [--ops N] | scalar-graph [--iterations N]"
      + " | buffer-cache [--steps N] [--rounds N] [--rows N] [--limit MiB]")
  exit(2)
}
exit(passed ? 0 : 1)
