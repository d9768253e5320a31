// The scenarios of AutodiffDistributedTests, run as one process per rank:
//
//   mpirun -np 2 --oversubscribe .build/debug/mpi-tests <scenario>
//
// Rank 0 prints `PASS <check>` or `FAIL <check>: <why>` for each check, after gathering every
// rank's findings, and every rank exits with status 1 if any check failed anywhere. The
// scenarios `mismatch-*`, `disagree-*` and `rank-dies` fail on purpose; the test reads their
// messages.

import AutodiffDistributed
import AutodiffNN
import Foundation

// The article's code starts MPI itself.
if CommandLine.arguments.dropFirst().first == "article" { articleScenario() }
var scenarios = Scenarios(context: MPIContext.initialize())
scenarios.run(CommandLine.arguments.dropFirst().first ?? "")

// MARK: Scenarios

struct Scenarios {
  let context: MPIContext
  var checks: Checks

  init(context: MPIContext) {
    self.context = context
    checks = Checks(context: context)
  }

  mutating func run(_ scenario: String) -> Never {
    switch scenario {
    case "collectives": collectives()
    case "equivalence": equivalence()
    case "sharded": sharded()
    case "mismatch-shapes": mismatchedShapes()
    case "mismatch-seed": mismatchedConfiguration(field: "seed")
    case "mismatch-batch-size": mismatchedConfiguration(field: "batch size")
    case "rank-dies": rankDies()
    case "sharded-wrong-shapes": shardedWrongShapes()
    case "disagree-shape", "disagree-type", "disagree-count", "disagree-collective":
      disagreeingCollective(scenario)
    default:
      if context.isRoot {
        print(
          "usage: mpi-tests collectives | equivalence | sharded | article | sharded-wrong-shapes | mismatch-shapes | mismatch-seed | "
            + "mismatch-batch-size | rank-dies | disagree-shape | disagree-type | "
            + "disagree-count | disagree-collective")
      }
      context.exit(failure: "mpi-tests: unknown scenario '\(scenario)'")
    }
    checks.finish()
  }

  /// Allreduce, broadcast and allgather of known values give the known results.
  mutating func collectives() {
    let (rank, size) = (Double(context.rank), Double(context.size))
    // Rank r holds (r + 1)·(i + 1) at position i of a [3, 4] Double tensor and r + 0.5 in a [5]
    // Float tensor; the sums are (i + 1)·size·(size + 1)/2 and size·(size − 1)/2 + size/2, exact
    // in binary floating point for small sizes.
    let doubles = Tensor<Double>(
      shape: [3, 4], scalars: (0..<12).map { (rank + 1) * Double($0 + 1) })
    let floats = Tensor<Float>(repeating: Float(rank) + 0.5, shape: [5])
    let before = context.reductionCount
    let summedDoubles = context.allreduceSum([doubles, doubles * 2])
    let summedFloats = context.allreduceSum([floats])
    let triangle = size * (size + 1) / 2
    checks.expect(
      "allreduceSum of a known Double buffer gives the known sum",
      summedDoubles[0].scalars == (0..<12).map { Double($0 + 1) * triangle }
        && summedDoubles[1].scalars == (0..<12).map { 2 * Double($0 + 1) * triangle }
        && summedDoubles[0].shape == [3, 4],
      "got \(summedDoubles[0].scalars) and \(summedDoubles[1].scalars)")
    checks.expect(
      "allreduceSum of a known Float buffer gives the known sum",
      summedFloats[0].scalars
        == Array(repeating: Float(size * (size - 1) / 2 + size / 2), count: 5),
      "got \(summedFloats[0].scalars)")
    checks.expect(
      "allreduceSum makes one MPI_Allreduce per call, whatever the number of tensors",
      context.reductionCount - before == 2, "\(context.reductionCount - before) calls for 2")

    // Rank r holds the value r with weight r + 1: the mean is Σ r(r + 1) / Σ (r + 1).
    let weighted = context.allreduceMean(
      [Tensor<Double>(repeating: rank, shape: [2])], weight: context.rank + 1)
    let expected = (0..<context.size).reduce(0.0) { $0 + Double($1 * ($1 + 1)) } / triangle
    checks.expect(
      "allreduceMean weights each rank by its weight",
      weighted[0].scalars.allSatisfy { abs($0 - expected) <= 1e-15 },
      "got \(weighted[0].scalars), expected \(expected)")

    let fromLast = try! context.broadcast(
      [Tensor<Double>(repeating: rank, shape: [2, 2]), Tensor(rank * 10)], from: context.size - 1)
    checks.expect(
      "broadcast gives every rank the root's tensors",
      fromLast[0].scalars == Array(repeating: size - 1, count: 4)
        && fromLast[1].scalar == (size - 1) * 10,
      "got \(fromLast[0].scalars), \(fromLast[1].scalar)")
    let text = context.broadcast(context.isRoot ? "from rank 0 ✓" : "", from: 0)
    checks.expect("broadcast of text", text == "from rank 0 ✓", "got '\(text)'")
    let gathered = context.allgather(
      String(repeating: "r", count: context.rank) + "\(context.rank)")
    checks.expect(
      "allgather gives every rank's text in rank order",
      gathered == (0..<context.size).map { String(repeating: "r", count: $0) + "\($0)" },
      "got \(gathered)")

    // The ranks' threads: a share of the cores each may run on, and never more threads in all
    // than cores, unless there are more ranks than cores (the test's runner sets
    // OPENBLAS_NUM_THREADS=1, so BLAS keeps 1).
    let threads = context.shareCores()
    let cores = Parallelism.availableCoreCount
    let counts = context.allgather("\(threads) \(cores)").map { $0.split(separator: " ") }
    let total = counts.reduce(0) { $0 + Int($1[0])! }
    let machine = counts.map { Int($0[1])! }.max()!
    checks.expect(
      "shareCores gives the ranks \(counts.map { String($0[0]) }.joined(separator: " + ")) "
        + "threads on \(machine) cores",
      Parallelism.threadCount == threads && BLAS.threadCount == 1
        && (total <= machine || threads == 1),
      "\(threads) threads of \(cores) cores; \(total) in all; BLAS \(BLAS.threadCount)")
  }

  /// N steps of data-parallel training over a global batch split across the ranks give the
  /// parameters of N steps of single-process training on the whole batch, for SGD with momentum
  /// and for Adam, for uneven shares and for a last batch smaller than the job; and a checkpoint
  /// written by one process resumes on all of them.
  mutating func equivalence() {
    let data = syntheticData(count: 22)
    // Batches of 7 give shares of 3 and 4 on 2 ranks, and a last batch of 1 (22 = 3·7 + 1) that
    // leaves rank 0 nothing.
    let batchSize = 7
    for optimizerName in ["SGD", "Adam"] {
      // Single-process reference: 2 epochs on whole batches.
      var reference = model(seed: 100)
      var referenceOptimizer = makeOptimizer(optimizerName, for: reference)
      let referenceLosses = train(
        &reference, &referenceOptimizer, data, epochs: 0..<2, batchSize: batchSize, context: nil)

      // Distributed: each rank starts from its own seed; synchronize gives all rank 0's.
      var distributed = model(seed: 100 + UInt64(context.rank))
      var optimizer = makeOptimizer(optimizerName, for: distributed)
      try! context.synchronize(&distributed, optimizer: &optimizer)
      let reductionsBefore = context.reductionCount
      let losses = train(
        &distributed, &optimizer, data, epochs: 0..<2, batchSize: batchSize, context: context)
      let steps = losses.count

      let difference = maxDifference(distributed.parameters, reference.parameters)
      checks.expect(
        "\(optimizerName): \(steps) steps of batch \(batchSize) on \(context.size) ranks equal "
          + "single-process training to 1e-12 (max difference \(difference))",
        difference <= 1e-12, "max |Δparameter| = \(difference)")
      let lossDifference = zip(losses, referenceLosses).map { abs($0 - $1) }.max() ?? .infinity
      checks.expect(
        "\(optimizerName): the averaged losses equal the single-process losses",
        losses.count == referenceLosses.count && lossDifference <= 1e-12,
        "max |Δloss| = \(lossDifference)")
      checks.expect(
        "\(optimizerName): one reduction of the gradients (one bucket) and one of the loss per step",
        context.reductionCount - reductionsBefore == 2 * steps,
        "\(context.reductionCount - reductionsBefore) reductions for \(steps) steps")
      let rootParameters = try! context.broadcast(distributed.parameters, from: 0)
      let spread = maxDifference(distributed.parameters, rootParameters)
      checks.expect(
        "\(optimizerName): every rank holds rank 0's parameters exactly", spread == 0,
        "differs from rank 0 by \(spread)")
    }

    // Resume: one process trains an epoch and writes a checkpoint; all ranks resume from it for a
    // second epoch; the result equals two epochs in one process.
    var reference = model(seed: 100)
    var referenceOptimizer = makeOptimizer("Adam", for: reference)
    _ = train(
      &reference, &referenceOptimizer, data, epochs: 0..<1, batchSize: batchSize, context: nil)
    let path = saveOnRoot(model: reference, optimizer: referenceOptimizer, as: "single")
    _ = train(
      &reference, &referenceOptimizer, data, epochs: 1..<2, batchSize: batchSize, context: nil)

    var resumed = model(seed: 200 + UInt64(context.rank))
    var resumedOptimizer = makeOptimizer("Adam", for: resumed)
    if context.isRoot {
      try! Checkpoint.load(
        into: &resumed, optimizer: &resumedOptimizer, from: URL(fileURLWithPath: path))
      try? FileManager.default.removeItem(atPath: path)
    }
    try! context.synchronize(&resumed, optimizer: &resumedOptimizer)
    _ = train(
      &resumed, &resumedOptimizer, data, epochs: 1..<2, batchSize: batchSize, context: context)
    let difference = maxDifference(resumed.parameters, reference.parameters)
    checks.expect(
      "a checkpoint of single-process training resumes on \(context.size) ranks "
        + "(max difference \(difference))",
      difference <= 1e-12, "max |Δparameter| = \(difference)")
  }

  /// Steps whose gradients travel in many small buckets, and sharded steps, give the parameters
  /// of steps with one bucket; a sharded optimizer's gathered state is one process's, and it
  /// resumes from a checkpoint.
  mutating func sharded() {
    let data = syntheticData(count: 22)
    // Batches of 7: on 3 ranks, shares of 2, 2 and 3, and a last batch of 1 that leaves two
    // ranks nothing.
    let batchSize = 7
    shardedEquivalence("SGD", data, batchSize) { SGD(for: $0, learningRate: 0.1, momentum: 0.9) }
    shardedEquivalence("Adam", data, batchSize) { Adam(for: $0, learningRate: 0.01) }
    shardedEquivalence("AdamW with AMSGrad", data, batchSize) {
      AdamW(for: $0, learningRate: 0.01, amsgrad: true)
    }
    shardedEquivalence("Adagrad", data, batchSize) { Adagrad(for: $0, learningRate: 0.05) }

    // The whole state after one sharded epoch is one process's after one epoch.
    var reference = model(seed: 100)
    var referenceOptimizer: any Optimizer<Double> = Adam(
      for: reference.parameters, learningRate: 0.01)
    _ = train(
      &reference, &referenceOptimizer, data, epochs: 0..<1, batchSize: batchSize, context: nil)
    var distributed = model(seed: 100)
    let optimizer = ShardedOptimizer(context, for: distributed.parameters, bucketCapacity: 256) {
      Adam(for: $0, learningRate: 0.01)
    }
    trainSharded(&distributed, optimizer, data, epochs: 0..<1, batchSize: batchSize)
    let whole = optimizer.wholeOptimizer()
    let referenceState = referenceOptimizer.state
    let stateDifference =
      whole.state.map { key, tensor in
        referenceState[key].map { maxDifference([tensor], [$0]) } ?? .infinity
      }.max() ?? .infinity
    checks.expect(
      "the gathered Adam state equals one process's (max difference \(stateDifference))",
      whole.state.keys.sorted() == referenceState.keys.sorted() && stateDifference <= 1e-12,
      "keys \(whole.state.keys.sorted()), max difference \(stateDifference)")

    // Resume: rank 0 writes the whole optimizer; fresh models and sharded optimizers on every
    // rank resume from it for a second epoch, which equals two epochs in one process.
    let path = saveOnRoot(model: distributed, optimizer: whole, as: "sharded")
    _ = train(
      &reference, &referenceOptimizer, data, epochs: 1..<2, batchSize: batchSize, context: nil)
    var resumed = model(seed: 200 + UInt64(context.rank))
    var loaded = Adam(for: resumed.parameters, learningRate: 0.01)
    if context.isRoot {
      try! Checkpoint.load(into: &resumed, optimizer: &loaded, from: URL(fileURLWithPath: path))
      try? FileManager.default.removeItem(atPath: path)
    }
    try! context.synchronize(&resumed, optimizer: &loaded)
    let resumedOptimizer = ShardedOptimizer(context, for: resumed.parameters, bucketCapacity: 256) {
      Adam(for: $0, learningRate: 0.01)
    }
    try! resumedOptimizer.restore(from: loaded)
    trainSharded(&resumed, resumedOptimizer, data, epochs: 1..<2, batchSize: batchSize)
    let difference = maxDifference(resumed.parameters, reference.parameters)
    checks.expect(
      "a sharded Adam resumes from a checkpoint on \(context.size) ranks "
        + "(max difference \(difference))",
      difference <= 1e-12, "max |Δparameter| = \(difference)")
  }

  /// Rank 0's checkpoint of `model` and `optimizer` after one epoch, in a temporary file named
  /// after `name` and rank 0's process; returns its path, on every rank.
  func saveOnRoot(
    model: Sequential<Double>, optimizer: some Optimizer<Double>, as name: String
  ) -> String {
    let path = context.broadcast(
      FileManager.default.temporaryDirectory
        .appendingPathComponent(
          "mpi-tests-\(name)-\(ProcessInfo.processInfo.processIdentifier).safetensors"
        )
        .path)
    if context.isRoot {
      try! Checkpoint.save(
        model: model, optimizer: optimizer, metadata: ["epochs": "1"],
        to: URL(fileURLWithPath: path))
    }
    return path
  }

  /// Two epochs with one bucket, with buckets of 256 bytes, and sharded, compared.
  mutating func shardedEquivalence<Base: Optimizer<Double>>(
    _ name: String, _ data: LabeledDataset<Double>, _ batchSize: Int,
    _ makeOptimizer: @escaping ([Tensor<Double>]) -> Base
  ) {
    var oneBucket = model(seed: 100)
    var oneBucketOptimizer: any Optimizer<Double> = makeOptimizer(oneBucket.parameters)
    _ = train(
      &oneBucket, &oneBucketOptimizer, data, epochs: 0..<2, batchSize: batchSize,
      context: context)
    var smallBuckets = model(seed: 100)
    var smallBucketsOptimizer: any Optimizer<Double> = makeOptimizer(smallBuckets.parameters)
    let (reductionsBefore, overlappedBefore) = (
      context.reductionCount, context.overlappedReductionCount
    )
    let steps = train(
      &smallBuckets, &smallBucketsOptimizer, data, epochs: 0..<2, batchSize: batchSize,
      context: context, bucketCapacity: 256
    ).count
    let bucketDifference = maxDifference(smallBuckets.parameters, oneBucket.parameters)
    checks.expect(
      "\(name): buckets of 256 bytes give the parameters of one bucket on \(context.size) ranks "
        + "(max difference \(bucketDifference), "
        + "\((context.reductionCount - reductionsBefore) / steps) reductions per step)",
      bucketDifference == 0 && context.reductionCount - reductionsBefore > 2 * steps,
      "max |Δparameter| = \(bucketDifference), "
        + "\(context.reductionCount - reductionsBefore) reductions in \(steps) steps")

    // Every bucket of a step starts before the sweep ends, except on a rank with no rows,
    // which runs no sweep (twice on 3 ranks: the last batch of each epoch has 1 row).
    let overlapped = context.overlappedReductionCount - overlappedBefore
    let bucketCount = (context.reductionCount - reductionsBefore) / steps - 1
    checks.expect(
      "\(name): \(overlapped) of \(bucketCount * steps) buckets started during the sweep",
      overlapped >= bucketCount * (steps - 2), "only \(overlapped)")

    var sharded = model(seed: 100)
    let optimizer = ShardedOptimizer(
      context, for: sharded.parameters, bucketCapacity: 256, makeOptimizer)
    trainSharded(&sharded, optimizer, data, epochs: 0..<2, batchSize: batchSize)
    // On 2 ranks each sum has one order, so the results agree bit for bit; with more, MPI's
    // reduce-scatter may add in another order than its allreduce.
    let shardedDifference = maxDifference(sharded.parameters, oneBucket.parameters)
    let bound = context.size == 2 ? 0 : 1e-14
    checks.expect(
      "\(name): sharded steps give the parameters of allreduced steps on \(context.size) ranks "
        + "(max difference \(shardedDifference), bound \(bound))",
      shardedDifference <= bound, "max |Δparameter| = \(shardedDifference)")
    let rootParameters = try! context.broadcast(sharded.parameters, from: 0)
    checks.expect(
      "\(name): after sharded steps every rank holds rank 0's parameters exactly",
      maxDifference(sharded.parameters, rootParameters) == 0, "they differ")

    // A sharded update along allreduced gradients (what a caller who clips them does) is the
    // whole update, exactly: the same gradients, the same arithmetic per element.
    var updated = model(seed: 100)
    let updater = ShardedOptimizer(
      context, for: updated.parameters, bucketCapacity: 256, makeOptimizer)
    for batch in batches(of: data, epochs: 0..<2, batchSize: batchSize) {
      let current = updated
      let (_, gradients) = context.valueWithGradient(at: updated.parameters, on: batch) {
        parameters, inputs, labels in
        softmaxCrossEntropy(
          logits: current.replacingParameters(with: parameters)(inputs), labels: labels)
      }
      updater.update(&updated.parameters, along: gradients)
    }
    let updateDifference = maxDifference(updated.parameters, oneBucket.parameters)
    checks.expect(
      "\(name): sharded updates along allreduced gradients give the whole updates' parameters "
        + "(max difference \(updateDifference))",
      updateDifference == 0, "max |Δparameter| = \(updateDifference)")
  }
}
