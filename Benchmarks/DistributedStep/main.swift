// The step time of data-parallel training: a 784-512-512-10 ReLU network in Float with Adam and
// softmax cross-entropy, at a global batch of 128 split over the ranks, on random inputs.
//
//   swift build -c release --package-path Benchmarks --product DistributedStep
//   OPENBLAS_NUM_THREADS=2 Benchmarks/.build/release/DistributedStep              # 1 process
//   OPENBLAS_NUM_THREADS=1 mpirun -np 2 Benchmarks/.build/release/DistributedStep
//
// Each step is the one AutodiffDistributed's `valueWithGradient(at:on:of:)` takes, in its three
// parts, timed apart: forward and backward on this rank's rows, the one MPI_Allreduce of the
// gradients (670k Floats, 2.7 MB), and Adam's update; then the allreduce alone, after a barrier,
// without the wait for a slower rank. Run as a job of one, it also times the plain
// single-process step (no MPI call) for comparison. Rank 0 prints medians over the
// measured steps after 20 warm-up steps; an optional argument sets their number (default 200).

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
func loss(_ parameters: [Tensor<Float>], _ inputs: Tensor<Float>, _ labels: [Int]) -> Tensor<Float>
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

/// Times `measuredSteps` data-parallel steps: (step, compute, allreduce, update) medians.
@MainActor
func timeDataParallelSteps() -> (Double, Double, Double, Double) {
  var (steps, computes, allreduces, updates) = ([Double](), [Double](), [Double](), [Double]())
  for step in 0..<(warmUpSteps + measuredSteps) {
    let batch = batches[step % batches.count]
    let start = DispatchTime.now()
    let mine = context.shard(of: batch)
    let (value, gradients) = valueWithGradient(at: model.parameters) {
      loss($0, mine.inputs, mine.labels)
    }
    let computed = DispatchTime.now()
    let averaged = context.allreduceMean(
      loss: value.scalar, gradients: gradients, weight: mine.labels.count)
    let reduced = DispatchTime.now()
    optimizer.update(&model.parameters, along: averaged.gradients)
    guard step >= warmUpSteps else { continue }
    steps.append(elapsed(since: start))
    computes.append(elapsed(since: start) - elapsed(since: computed))
    allreduces.append(elapsed(since: computed) - elapsed(since: reduced))
    updates.append(elapsed(since: reduced))
  }
  return (median(steps), median(computes), median(allreduces), median(updates))
}

/// Times `measuredSteps` plain single-process steps: the step's median.
@MainActor
func timePlainSteps() -> Double {
  var steps: [Double] = []
  for step in 0..<(warmUpSteps + measuredSteps) {
    let batch = batches[step % batches.count]
    let start = DispatchTime.now()
    let (_, gradients) = valueWithGradient(at: model.parameters) {
      loss($0, batch.inputs, batch.labels)
    }
    optimizer.update(&model.parameters, along: gradients)
    if step >= warmUpSteps { steps.append(elapsed(since: start)) }
  }
  return median(steps)
}

/// Times `measuredSteps` allreduces of gradient-sized tensors alone, each after a barrier so
/// that no rank waits for another's computation: the median.
@MainActor
func timeAllreduces() -> Double {
  let gradients = model.parameters
  var times: [Double] = []
  for step in 0..<(warmUpSteps + measuredSteps) {
    context.barrier()
    let start = DispatchTime.now()
    _ = context.allreduceMean(loss: 0, gradients: gradients, weight: globalBatch / context.size)
    if step >= warmUpSteps { times.append(elapsed(since: start)) }
  }
  return median(times)
}

let plain = context.size == 1 ? timePlainSteps() : nil
let allreduceAlone = timeAllreduces()
let (step, compute, allreduce, update) = timeDataParallelSteps()
if context.isRoot {
  let load =
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
    .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
  print(
    "784-512-512-10 Float, Adam, global batch \(globalBatch) over \(context.size) rank(s) "
      + "(\(globalBatch / context.size) rows each), \(BLAS.threadCount) BLAS thread(s) per rank, "
      + "\(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(load); "
      + "medians of \(measuredSteps) steps")
  if let plain { print("  plain single-process step (no MPI): \(milliseconds(plain))") }
  print(
    "  data-parallel step: \(milliseconds(step)) = forward+backward \(milliseconds(compute)) "
      + "+ allreduce \(milliseconds(allreduce)) + Adam \(milliseconds(update))")
  print("  the allreduce alone, after a barrier: \(milliseconds(allreduceAlone))")
}
context.finalize()
