import AutodiffNN

// Data parallelism: every rank holds the whole model and sees every global batch, differentiates
// the loss on its own rows of the batch, and the ranks average their gradients, each weighted by
// its row count. For a loss that is a mean over rows, L = (1/B)·Σᵢ ℓᵢ, and rank r's rows Rᵣ
// (|Rᵣ| = nᵣ, Σ nᵣ = B):
//
//   ∇L = (1/B)·Σᵣ Σᵢ∈Rᵣ ∇ℓᵢ = (1/B)·Σᵣ nᵣ·∇Lᵣ,   where Lᵣ = (1/nᵣ)·Σᵢ∈Rᵣ ℓᵢ
//
// which is ``MPIContext/allreduceMean(loss:gradients:weight:)`` with weight nᵣ: the full batch's
// gradient, up to rounding, however unevenly B divides. Every rank then applies the same update
// to the same parameters, so the ranks stay equal without exchanging parameters again.
//
// On `@_specialize`, see the note at the top of MPIContext+Collectives.swift.

extension MPIContext {
  /// This rank's rows of a batch of `count` examples:
  /// `rank·count/size ..< (rank + 1)·count/size`.
  ///
  /// The shares differ by at most one row and cover the batch in rank order; a batch smaller
  /// than the number of ranks leaves some ranks an empty range.
  ///
  /// - Precondition: `count ≥ 0`.
  public func shardRange(ofBatchOf count: Int) -> Range<Int> {
    Self.shardRange(ofBatchOf: count, rank: rank, size: size)
  }

  /// Rank `rank`'s rows of a batch of `count` examples split over `size` ranks:
  /// `rank·count/size ..< (rank + 1)·count/size`.
  ///
  /// - Precondition: `count ≥ 0`, `size ≥ 1` and `rank` is in `0..<size`.
  public static func shardRange(ofBatchOf count: Int, rank: Int, size: Int) -> Range<Int> {
    guard count >= 0, size >= 1, (0..<size).contains(rank) else {
      fatalError(
        "MPIContext.shardRange: needs a batch size ≥ 0 and a rank in 0..<size, got batch "
          + "\(count), rank \(rank), size \(size)")
    }
    return (rank * count / size)..<((rank + 1) * count / size)
  }

  /// This rank's rows of `batch` (see ``shardRange(ofBatchOf:)``).
  ///
  /// - Precondition: `batch.labels` has one entry per row of `batch.inputs`.
  public func shard<Scalar: TensorScalar>(
    of batch: (inputs: Tensor<Scalar>, labels: [Int])
  ) -> (inputs: Tensor<Scalar>, labels: [Int]) {
    let count = batch.labels.count
    guard batch.inputs.rank >= 1, batch.inputs.shape[0] == count else {
      fatalError(
        "MPIContext.shard: \(count) labels for inputs of shape \(batch.inputs.shape); "
          + "a batch has one label per row")
    }
    let rows = shardRange(ofBatchOf: count)
    if rows.count == count { return batch }
    return (batch.inputs[rows], Array(batch.labels[rows]))
  }

  /// The loss and its gradient on a whole batch, computed by the ranks together: each rank
  /// differentiates `loss` on its rows of `batch` (``shard(of:)``), then one `MPI_Allreduce`
  /// averages the losses and gradients weighted by row counts.
  ///
  /// The result is the same on every rank and equals, up to rounding, what
  /// `valueWithGradient(at:of:)` gives for the whole batch in one process, as long as `loss` is
  /// a mean over rows (as AutodiffNN's `softmaxCrossEntropy(logits:labels:)` and
  /// `meanSquaredError(predictions:targets:)` are):
  ///
  /// ```swift
  /// let (loss, gradients) = context.valueWithGradient(at: model.parameters, on: batch) {
  ///   parameters, inputs, labels in
  ///   softmaxCrossEntropy(
  ///     logits: model.replacingParameters(with: parameters)(inputs), labels: labels)
  /// }
  /// optimizer.update(&model.parameters, along: gradients)
  /// ```
  ///
  /// A rank whose share is empty (a batch smaller than the job) does not call `loss`.
  ///
  /// - Parameters:
  ///   - parameters: The parameters to differentiate with respect to; the same on every rank.
  ///   - batch: The whole global batch, the same on every rank.
  ///   - loss: The mean loss of some rows: given the parameters, those rows' inputs and labels.
  /// - Returns: The whole batch's loss and its gradient with respect to each parameter.
  /// - Complexity: A forward and backward pass on this rank's rows, and one `MPI_Allreduce`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func valueWithGradient<Scalar: TensorScalar>(
    at parameters: [Tensor<Scalar>], on batch: (inputs: Tensor<Scalar>, labels: [Int]),
    of loss: ([Tensor<Scalar>], Tensor<Scalar>, [Int]) -> Tensor<Scalar>
  ) -> (value: Scalar, gradient: [Tensor<Scalar>]) {
    let mine = shard(of: batch)
    let value: Tensor<Scalar>
    var gradients: [Tensor<Scalar>]
    if mine.labels.isEmpty {
      (value, gradients) = (Tensor(0), parameters.map { Tensor(zeros: $0.shape) })
    } else {
      // Destructured, so that the gradients' storage is unshared and takes the averages in place.
      (value, gradients) = Autodiff.valueWithGradient(at: parameters) { parameters in
        loss(parameters, mine.inputs, mine.labels)
      }
    }
    var losses = [value.scalar]
    combineInPlace(&gradients, &losses, weight: mine.labels.count, .valueWithGradient)
    return (losses[0], gradients)
  }

  /// Makes every rank's model equal `root`'s: its parameters travel in one `MPI_Bcast`.
  ///
  /// - Throws: ``DistributedError/configurationMismatch(_:)`` on every rank when the ranks'
  ///   models have different parameter names or shapes; the models are then unchanged.
  public func synchronize<Model: Layer>(
    _ model: inout Model, from root: Int = 0
  ) throws(DistributedError) {
    try requireAgreement(on: ["model parameters": describe(model)])
    model.parameters = try broadcast(model.parameters, from: root)
  }

  /// Makes every rank's model and optimizer equal `root`'s: the parameters and the optimizer's
  /// state (moments, step count) travel together in one `MPI_Bcast`.
  ///
  /// Call it at start, after creating the model on every rank and, on `root`, loading a
  /// checkpoint: a checkpoint holds the whole model and optimizer, so it resumes on any number
  /// of ranks, and only `root` needs to read it.
  ///
  /// - Throws: ``DistributedError/configurationMismatch(_:)`` on every rank when the ranks'
  ///   models have different parameter names or shapes, or their optimizers different state;
  ///   the models and optimizers are then unchanged.
  public func synchronize<Model: Layer, Optimizer: AutodiffNN.Optimizer>(
    _ model: inout Model, optimizer: inout Optimizer, from root: Int = 0
  ) throws(DistributedError) where Optimizer.Scalar == Model.Scalar {
    let state = optimizer.state
    let keys = state.keys.sorted()
    try requireAgreement(on: [
      "model parameters": describe(model),
      "optimizer state": keys.map { "\($0) \(state[$0]!.shape)" }.joined(separator: ", "),
    ])
    let parameterCount = model.parameters.count
    let received = try broadcast(model.parameters + keys.map { state[$0]! }, from: root)
    do {
      try optimizer.restore(
        state: Dictionary(uniqueKeysWithValues: zip(keys, received[parameterCount...])))
    } catch {
      fatalError("MPIContext.synchronize: the optimizer rejected its own state: \(error)")
    }
    model.parameters = Array(received[..<parameterCount])
  }

  /// `"0.weight [784, 256], 0.bias [256], ..."`: what the ranks compare of a model.
  private func describe<Model: Layer>(_ model: Model) -> String {
    zip(model.parameterNames, model.parameters).map { "\($0) \($1.shape)" }
      .joined(separator: ", ")
  }
}
