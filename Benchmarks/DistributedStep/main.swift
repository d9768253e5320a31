// The step time of data-parallel training and its parts: a ReLU network in Float with Adam and
// softmax cross-entropy, a global batch split over the ranks, on random inputs.
//
//   swift build -c release --package-path Benchmarks --product DistributedStep
//   Benchmarks/.build/release/DistributedStep                         # 1 process
//   OPENBLAS_NUM_THREADS=1 AUTODIFF_NUM_THREADS=1 \
//     mpirun -np 2 Benchmarks/.build/release/DistributedStep [options]
//
// Options (every rank gets the same):
//   --batch N          the global batch (default 1024)
//   --layers A,B,...   the layer widths (default 784,1024,1024,10)
//   --steps N          measured steps per round and mode (default 30), after 5 warm-up steps
//   --rounds N         rounds; each runs every mode once, so that they share the noise (default 3)
//   --bucket-kib N     the bucket capacity of the overlapped and sharded modes (default 1024)
//   --modes A,B,...    which of the modes below to run (default all three)
//
// The modes, each a whole training step:
//   blocking    MPIContext.valueWithGradient with one bucket, which starts when the sweep ends
//               (the former single MPI_Allreduce), then Adam over the whole model on every rank
//   overlapped  the same with buckets that travel during the backward sweep
//   sharded     ShardedOptimizer: buckets reduce-scattered during the sweep, Adam on this rank's
//               shard, parameters all-gathered
//
// And the parts, each timed alone: forward and backward on each rank's rows until the slowest
// rank is done (no MPI but a barrier); Adam over the whole model and over 1/ranks of it; the
// allreduce of all gradients after a barrier. The exposed communication of a mode is its step
// minus the forward and backward and its update: the time the step spends on communication that
// nothing hides. Rank 0 prints medians.

import AutodiffDistributed
import AutodiffNN
import Foundation

let context = MPIContext.initialize()
// Each rank's BLAS and Autodiff threads: its share of the cores it is bound to, unless
// OPENBLAS_NUM_THREADS or AUTODIFF_NUM_THREADS say otherwise (as the documentation's programs
// do). Without it, ranks bound to a socket would each run a thread per core of it.
context.shareCores()

/// The value of `--name`, or `default`.
@MainActor
func option(_ name: String, _ default: String) -> String {
  let arguments = CommandLine.arguments
  guard let index = arguments.firstIndex(of: "--\(name)") else { return `default` }
  guard index + 1 < arguments.count else { context.exit(failure: "--\(name) needs a value") }
  return arguments[index + 1]
}

@MainActor
func integer(_ name: String, _ default: Int) -> Int {
  guard let value = Int(option(name, "\(`default`)")), value > 0 else {
    context.exit(failure: "--\(name) takes a whole number > 0")
  }
  return value
}

let globalBatch = integer("batch", 1024)
let widths = option("layers", "784,1024,1024,10").split(separator: ",").map { Int($0) ?? 0 }
let measuredSteps = integer("steps", 30)
let rounds = integer("rounds", 3)
let bucketCapacity = integer("bucket-kib", 1024) * 1024
let warmUpSteps = 5
guard widths.count >= 2, widths.allSatisfy({ $0 > 0 }) else {
  context.exit(failure: "--layers takes two widths or more, each a whole number > 0")
}

var rng = SeededGenerator(seed: 42)
var model = Sequential<Float>(
  (0..<(widths.count - 1)).map { index -> any Layer<Float> in
    index == widths.count - 2
      ? Dense(
        inputSize: widths[index], outputSize: widths[index + 1], initialization: .glorotUniform,
        using: &rng)
      : Dense(
        inputSize: widths[index], outputSize: widths[index + 1], activation: .relu, using: &rng)
  })
try! context.synchronize(&model)
let initialParameters = model.parameters
let parameterCount = initialParameters.reduce(0) { $0 + $1.scalarCount }
let batches = (0..<4).map { _ in
  (
    inputs: Tensor<Float>(randomNormal: [globalBatch, widths[0]], using: &rng),
    labels: (0..<globalBatch).map { _ in Int(rng.next() % UInt64(widths.last!)) }
  )
}

@MainActor
func loss(_ parameters: [Tensor<Float>], _ inputs: Tensor<Float>, _ labels: [Int])
  -> Tensor<Float>
{
  softmaxCrossEntropy(logits: model.replacingParameters(with: parameters)(inputs), labels: labels)
}

/// Seconds since `start`.
func elapsed(since start: DispatchTime) -> Double {
  Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func milliseconds(_ seconds: Double) -> String { String(format: "%7.2f ms", seconds * 1000) }

/// Times `body` over the measured steps after the warm-up steps, appending to `times`; every
/// rank starts each step together.
@MainActor
func time(into times: inout [Double], _ body: (Int) -> Void) {
  for step in 0..<(warmUpSteps + measuredSteps) {
    context.barrier()
    let start = DispatchTime.now()
    body(step)
    if step >= warmUpSteps { times.append(elapsed(since: start)) }
  }
}

let allModes = "blocking,overlapped,sharded"
let modes =
  context.size == 1
  ? ["plain"] : option("modes", allModes).split(separator: ",").map(String.init)
for mode in modes where mode != "plain" && !allModes.split(separator: ",").contains(Substring(mode))
{
  context.exit(failure: "--modes: unknown mode \(mode); the modes are \(allModes)")
}
var stepTimes = Dictionary(uniqueKeysWithValues: modes.map { ($0, [Double]()) })
var (computeTimes, wholeUpdateTimes, shardUpdateTimes, allreduceTimes) = (
  [Double](), [Double](), [Double](), [Double]()
)
var bucketsPerStep = 0
for _ in 0..<rounds {
  for mode in modes {
    var parameters = initialParameters
    switch mode {
    case "plain":
      var optimizer = Adam(for: parameters, learningRate: 1e-3)
      time(into: &stepTimes[mode]!) { step in
        let batch = batches[step % batches.count]
        let (_, gradients) = valueWithGradient(at: parameters) {
          loss($0, batch.inputs, batch.labels)
        }
        optimizer.update(&parameters, along: gradients)
      }
    case "blocking", "overlapped":
      var optimizer = Adam(for: parameters, learningRate: 1e-3)
      let capacity = mode == "blocking" ? Int.max : bucketCapacity
      let reductionsBefore = context.reductionCount
      time(into: &stepTimes[mode]!) { step in
        let (_, gradients) = context.valueWithGradient(
          at: parameters, on: batches[step % batches.count], bucketCapacity: capacity, of: loss)
        optimizer.update(&parameters, along: gradients)
      }
      // Each step reduces its buckets and the loss.
      if mode == "overlapped" {
        bucketsPerStep =
          (context.reductionCount - reductionsBefore) / (warmUpSteps + measuredSteps) - 1
      }
    default:
      let optimizer = ShardedOptimizer(context, for: parameters, bucketCapacity: bucketCapacity) {
        Adam(for: $0, learningRate: 1e-3)
      }
      var stepped = model
      time(into: &stepTimes[mode]!) { step in
        _ = optimizer.step(&stepped, on: batches[step % batches.count]) { model, inputs, labels in
          softmaxCrossEntropy(logits: model(inputs), labels: labels)
        }
      }
    }
  }
  // Followed by a barrier, as a step ends only when the slowest rank's part is in: the
  // baseline of the exposed communication.
  time(into: &computeTimes) { step in
    let mine = context.shard(of: batches[step % batches.count])
    _ = valueWithGradient(at: initialParameters) { loss($0, mine.inputs, mine.labels) }
    context.barrier()
  }
  var parameters = initialParameters
  var whole = Adam(for: parameters, learningRate: 1e-3)
  let small = parameters.map { $0 * 1e-6 }
  time(into: &wholeUpdateTimes) { _ in whole.update(&parameters, along: small) }
  var shardParameters = [Tensor<Float>(zeros: [parameterCount / context.size])]
  var shard = Adam(for: shardParameters, learningRate: 1e-3)
  let shardGradients = shardParameters.map { $0 + 1e-6 }
  time(into: &shardUpdateTimes) { _ in shard.update(&shardParameters, along: shardGradients) }
  if context.size > 1 {
    time(into: &allreduceTimes) { _ in
      _ = context.allreduceMean(initialParameters.map { $0 * 1 }, weight: 1)
    }
  }
}

if context.isRoot {
  let load =
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
    .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
  let environment = ProcessInfo.processInfo.environment
  print(
    "\(widths.map(String.init).joined(separator: "-")) Float (\(parameterCount) parameters), "
      + "Adam, global batch \(globalBatch) over \(context.size) rank(s) "
      + "(\(globalBatch / context.size) rows each); per rank \(BLAS.threadCount) BLAS and "
      + "\(Parallelism.threadCount) elementwise thread(s) (OPENBLAS_NUM_THREADS="
      + "\(environment["OPENBLAS_NUM_THREADS"] ?? "unset"), AUTODIFF_NUM_THREADS="
      + "\(environment["AUTODIFF_NUM_THREADS"] ?? "unset")), \(Parallelism.availableCoreCount) "
      + "cores available to rank 0; buckets of \(bucketCapacity / 1024) KiB; load average "
      + "\(load); medians of \(rounds)×\(measuredSteps) steps")
  let compute = median(computeTimes)
  let (wholeUpdate, shardUpdate) = (median(wholeUpdateTimes), median(shardUpdateTimes))
  print("  forward+backward, slowest rank:       \(milliseconds(compute))")
  print("  Adam over the whole model:            \(milliseconds(wholeUpdate))")
  if context.size > 1 {
    print("  Adam over 1/\(context.size) of it:                 \(milliseconds(shardUpdate))")
    print("  allreduce of all gradients, alone:    \(milliseconds(median(allreduceTimes)))")
  }
  print("  mode         step        exposed communication (step − compute − update)")
  for mode in modes {
    let step = median(stepTimes[mode]!)
    let update = mode == "sharded" ? shardUpdate : wholeUpdate
    let exposed = context.size == 1 ? "" : milliseconds(step - compute - update)
    print(
      "  \(mode.padding(toLength: 11, withPad: " ", startingAt: 0))\(milliseconds(step))  \(exposed)"
    )
  }
  if context.size > 1 { print("  buckets per step (overlapped, sharded): \(bucketsPerStep)") }
}
context.finalize()
