import AutodiffDistributed
import AutodiffNN
import Foundation

/// The code of AutodiffDistributed's article, run as a job: the data-parallel loop, then the
/// sharded optimizer with its checkpoint. AutodiffDistributedTests checks that the snippets are
/// the article's, and runs this on 2 ranks. It starts MPI itself, as the article's code does.
func articleScenario() -> Never {
  let seed: UInt64 = 7
  let batchSize = 16
  var rng = SeededGenerator(seed: 1)
  let data = LabeledDataset(
    inputs: Tensor<Float>(randomNormal: [64, 4], using: &rng),
    labels: (0..<64).map { _ in Int(rng.next() % 3) })
  var model = Sequential<Float>(
    Dense(inputSize: 4, outputSize: 8, activation: .relu, using: &rng),
    Dense(inputSize: 8, outputSize: 3, initialization: .glorotUniform, using: &rng))
  var optimizer = Adam(for: model.parameters, learningRate: 1e-2)
  var losses: [Float] = []
  let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("mpi-tests-article-\(getppid()).safetensors")
  do {
    // snippet: data-parallel-loop
    let context = MPIContext.initialize()
    context.shareCores()  // this rank's share of the machine's cores, for BLAS and Autodiff
    try context.requireAgreement(on: ["seed": "\(seed)", "batch size": "\(batchSize)"])
    try context.synchronize(&model, optimizer: &optimizer)  // rank 0's values everywhere
    var shuffle = SeededGenerator(seed: seed)  // the same order on every rank
    for batch in data.shuffled(using: &shuffle).batches(ofSize: batchSize) {
      let (loss, gradients) = context.valueWithGradient(at: model.parameters, on: batch) {
        parameters, inputs, labels in  // this rank's rows only
        softmaxCrossEntropy(
          logits: model.replacingParameters(with: parameters)(inputs), labels: labels)
      }
      optimizer.update(&model.parameters, along: gradients)
      losses.append(loss)
    }
    if context.isRoot { try Checkpoint.save(model: model, optimizer: optimizer, to: url) }
    // end snippet
    context.barrier()

    // snippet: sharded-optimizer
    let sharded = ShardedOptimizer(context, for: model.parameters) { shard in
      Adam(for: shard, learningRate: 1e-3)
    }
    for batch in data.shuffled(using: &shuffle).batches(ofSize: batchSize) {
      let loss = sharded.step(&model, on: batch) { model, inputs, labels in
        softmaxCrossEntropy(logits: model(inputs), labels: labels)
      }
      losses.append(loss)
    }
    let whole = sharded.wholeOptimizer()  // on every rank: it gathers the shards
    if context.isRoot { try Checkpoint.save(model: model, optimizer: whole, to: url) }

    // Later, on any number of ranks: rank 0 reads the checkpoint, every rank takes its shard.
    var restored = Adam(for: model.parameters, learningRate: 1e-3)
    if context.isRoot { try Checkpoint.load(into: &model, optimizer: &restored, from: url) }
    try context.synchronize(&model, optimizer: &restored)
    try sharded.restore(from: restored)
    // end snippet

    if context.isRoot { try? FileManager.default.removeItem(at: url) }
    var checks = Checks(context: context)
    checks.expect(
      "the article's loops ran \(losses.count) steps with finite losses",
      losses.count == 8 && losses.allSatisfy(\.isFinite), "losses \(losses)")
    // Once, on every rank: gathering is a collective, so no rank may call it only when a check
    // fails.
    let gathered = sharded.wholeOptimizer()
    checks.expect(
      "the restored shard's state is the gathered one",
      gathered.state.keys.sorted() == whole.state.keys.sorted() && gathered.step == whole.step,
      "step \(gathered.step) against \(whole.step)")
    checks.finish()
  } catch {
    print("FAIL the article's code threw: \(error)")
    exit(1)
  }
}
