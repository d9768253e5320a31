// The step time of data-parallel training: a 784-512-512-10 ReLU network in Float with Adam and
// softmax cross-entropy, at a global batch of 128 split over the ranks, on random inputs.
//
//   swift build -c release --package-path Benchmarks --product DistributedStep
//   OPENBLAS_NUM_THREADS=2 Benchmarks/.build/release/DistributedStep              # 1 process
//   OPENBLAS_NUM_THREADS=1 mpirun -np 2 Benchmarks/.build/release/DistributedStep
//
// A step is AutodiffDistributed's `valueWithGradient(at:on:of:)` (forward and backward on this
// rank's rows, then one MPI_Allreduce of the gradients: 670k Floats, 2.7 MB) and Adam's update.
// Beside it: forward and backward alone on this rank's rows, and the allreduce alone after a
// barrier (so without waiting for a slower rank), and the check that the ranks agree on the
// shapes, which the allreduce makes first, alone. Run as a job of one, it also times the plain
// single-process step (no MPI at all). Rank 0 prints medians over the measured steps, after 20
// warm-up steps; an optional argument sets their number (default 200).

import AutodiffDistributed
import AutodiffNN
import Foundation

let context = MPIContext.initialize()
let measuredSteps = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 200
let warmUpSteps = 20
let globalBatch = 128

var rng = SeededGenerator(seed: 42)
var model = Sequential<Float>(
  Dense(inputSize: 784, outputSize: 512, activation: relu, using: &rng),
  Dense(inputSize: 512, outputSize: 512, activation: relu, using: &rng),
  Dense(inputSize: 512, outputSize: 10, initialization: .glorotUniform, using: &rng))
var optimizer = Adam(for: model.parameters, learningRate: 1e-3)
try! context.synchronize(&model, optimizer: &optimizer)
let batches = (0..<8).map { _ in
  (
    inputs: Tensor<Float>(randomNormal: [globalBatch, 784], using: &rng),
    labels: (0..<globalBatch).map { _ in Int(rng.next() % 10) }
  )
}

@MainActor
func loss(_ parameters: [Tensor<Float>], _ inputs: Tensor<Float>, _ labels: [Int])
  -> Tensor<Float>
{
  var model = model
  model.parameters = parameters
  return softmaxCrossEntropy(logits: model(inputs), labels: labels)
}

/// Seconds since `start`.
func elapsed(since start: DispatchTime) -> Double {
  Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func milliseconds(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }

/// The median time of `body` over the measured steps, after the warm-up steps.
@MainActor
func medianTime(_ body: (Int) -> Void) -> Double {
  var times: [Double] = []
  for step in 0..<(warmUpSteps + measuredSteps) {
    let start = DispatchTime.now()
    body(step)
    if step >= warmUpSteps { times.append(elapsed(since: start)) }
  }
  return median(times)
}

let plainStep =
  context.size == 1
  ? medianTime { step in
    let batch = batches[step % batches.count]
    let (_, gradients) = valueWithGradient(at: model.parameters) {
      loss($0, batch.inputs, batch.labels)
    }
    optimizer.update(&model.parameters, along: gradients)
  } : nil
let step = medianTime { step in
  let (_, gradients) = context.valueWithGradient(
    at: model.parameters, on: batches[step % batches.count], of: loss)
  optimizer.update(&model.parameters, along: gradients)
}
let computeAlone = medianTime { step in
  let mine = context.shard(of: batches[step % batches.count])
  _ = valueWithGradient(at: model.parameters) { loss($0, mine.inputs, mine.labels) }
}
let update = medianTime { _ in
  optimizer.update(&model.parameters, along: model.parameters.map { $0 * 1e-6 })
}
var allreduceTimes: [Double] = []
for step in 0..<(warmUpSteps + measuredSteps) {
  let gradients = model.parameters.map { $0 * 1 }  // Unshared, as fresh gradients are.
  context.barrier()  // So that no rank waits for another in the allreduce.
  let start = DispatchTime.now()
  _ = context.allreduceMean(consume gradients, weight: globalBatch / context.size)
  if step >= warmUpSteps { allreduceTimes.append(elapsed(since: start)) }
}
let allreduceAlone = median(allreduceTimes)
// The check that the ranks pass the same shapes and scalar type, which every collective makes
// first (one MPI_Allreduce of two integers): alone, it is an allreduceSum of no tensors.
var checkTimes: [Double] = []
for step in 0..<(warmUpSteps + measuredSteps) {
  context.barrier()
  let start = DispatchTime.now()
  _ = context.allreduceSum([Tensor<Float>]())
  if step >= warmUpSteps { checkTimes.append(elapsed(since: start)) }
}
let checkAlone = median(checkTimes)

if context.isRoot {
  let load =
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
    .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
  print(
    "784-512-512-10 Float, Adam, global batch \(globalBatch) over \(context.size) rank(s) "
      + "(\(globalBatch / context.size) rows each), \(BLAS.threadCount) BLAS thread(s) per rank, "
      + "\(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(load); "
      + "medians of \(measuredSteps) steps")
  if let plainStep { print("  plain single-process step (no MPI):  \(milliseconds(plainStep))") }
  print("  data-parallel step:                  \(milliseconds(step))")
  print("    forward+backward on this rank's rows: \(milliseconds(computeAlone))")
  print("    allreduce alone, after a barrier:     \(milliseconds(allreduceAlone))")
  print(
    "      of which the agreement check:         "
      + String(format: "%.1f µs", checkAlone * 1e6))
  print("    Adam's update:                        \(milliseconds(update))")
}
context.finalize()
