import AutodiffNN

// Data parallelism: every rank holds the whole model and sees every global batch, differentiates
// the loss on its own rows of the batch, and the ranks add their gradients, each scaled by its
// share of the rows. For a loss that is a mean over rows, L = (1/B)·Σᵢ ℓᵢ, and rank r's rows Rᵣ
// (|Rᵣ| = nᵣ, Σ nᵣ = B):
//
//   ∇L = (1/B)·Σᵣ Σᵢ∈Rᵣ ∇ℓᵢ = Σᵣ ∇((nᵣ/B)·Lᵣ),   where Lᵣ = (1/nᵣ)·Σᵢ∈Rᵣ ℓᵢ
//
// the full batch's gradient, up to rounding, however unevenly B divides. Each rank
// differentiates (nᵣ/B)·Lᵣ, and the sum travels in buckets during the backward sweep
// (GradientBuckets.swift). Every rank then applies the same update to the same parameters, so
// the ranks stay equal without exchanging parameters again; or each updates its shard and the
// ranks exchange parameters (ShardedOptimizer.swift).
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

  /// The default size of a bucket of gradients, in bytes: 1 MiB.
  ///
  /// A bucket's reduction starts once the backward sweep has finished all its gradients; smaller
  /// buckets start sooner but each costs a message's latency. PyTorch's DistributedDataParallel
  /// uses 25 MiB, sized for GPUs and large models; the networks this package trains on CPUs
  /// have a few MiB of parameters, which 1 MiB cuts into a few buckets.
  public static let defaultBucketCapacity = 1 << 20

  /// The loss and its gradient on a whole batch, computed by the ranks together: each rank
  /// differentiates `loss` on its rows of `batch` (``shard(of:)``), and the ranks average the
  /// losses and gradients weighted by row counts, while the backward sweep runs.
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
  /// The gradients travel in buckets, last layer first: a parameter of `bucketCapacity` bytes
  /// or more alone, the smaller ones gathered into buckets of at least that size. Each bucket's
  /// nonblocking `MPI_Iallreduce` starts as soon as the sweep has finished its gradients, so that
  /// it travels while the sweep computes the earlier layers' (as PyTorch's
  /// DistributedDataParallel does). On two ranks the bucket size changes when data travels, not
  /// the results (a sum of two has one order); on more, MPI may pick another reduction order for
  /// another message size, which changes the last bits.
  ///
  /// A rank whose share is empty (a batch smaller than the job) does not call `loss`.
  ///
  /// - Parameters:
  ///   - parameters: The parameters to differentiate with respect to; the same on every rank.
  ///   - batch: The whole global batch, the same on every rank.
  ///   - bucketCapacity: The size in bytes from which a parameter travels alone, and the least
  ///     size of a bucket of smaller ones (the last may hold less), > 0; a parameter is never
  ///     split. ``defaultBucketCapacity`` unless given.
  ///   - loss: The mean loss of some rows: given the parameters, those rows' inputs and labels.
  /// - Returns: The whole batch's loss and its gradient with respect to each parameter.
  /// - Precondition: Every rank passes parameters of the same shapes and the same bucket
  ///   capacity; when not, every rank stops with a message naming what differs.
  /// - Complexity: A forward and backward pass on this rank's rows; one `MPI_Iallreduce` per
  ///   bucket and one for the loss.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func valueWithGradient<Scalar: TensorScalar>(
    at parameters: [Tensor<Scalar>], on batch: (inputs: Tensor<Scalar>, labels: [Int]),
    bucketCapacity: Int = MPIContext.defaultBucketCapacity,
    of loss: ([Tensor<Scalar>], Tensor<Scalar>, [Int]) -> Tensor<Scalar>
  ) -> (value: Scalar, gradient: [Tensor<Scalar>]) {
    let buckets = allreduceBuckets(for: parameters, bucketCapacity: bucketCapacity)
    var (value, gradients) = reduceGradients(
      at: parameters, on: batch, through: buckets, of: loss)
    if let buckets { buckets.takeSums(into: &gradients) }
    return (value, gradients)
  }

  /// The allreduce buckets for a step over `parameters`, planned once for a run of steps of the
  /// same shapes and capacity, after checking that every rank makes the same call (with the
  /// capacity, and the shapes); `nil` in a job of one.
  private func allreduceBuckets<Scalar: TensorScalar>(
    for parameters: [Tensor<Scalar>], bucketCapacity: Int
  ) -> GradientBuckets<Scalar>? {
    let call = CollectiveCall.valueWithGradient(bucketCapacity: bucketCapacity)
    // The ranks compare their calls (the capacity with them) first, so that one rank's bad
    // value stops them all.
    if size > 1 { requireSameCall(call, parameters) }
    guard bucketCapacity > 0 else {
      failDistributed("MPIContext.\(call.name): bucketCapacity must be > 0, got \(bucketCapacity)")
    }
    guard size > 1 else { return nil }
    let shapes = parameters.map(\.shape)
    if let planned = gradientBuckets as? GradientBuckets<Scalar>, planned.shapes == shapes,
      planned.bucketCapacity == bucketCapacity
    {
      return planned
    }
    let planned = GradientBuckets<Scalar>(
      shapes: shapes, reduction: .allreduce, bucketCapacity: bucketCapacity, rank: rank,
      size: size)
    gradientBuckets = planned
    return planned
  }

  /// This rank's loss and gradients on its rows of `batch`, and their reduction through
  /// `buckets`, started during the backward sweep and finished: returns the batch's mean loss
  /// and this rank's own gradients (the reduced ones are in `buckets`). In a job of one
  /// (`buckets` nil), the loss and gradients of the whole batch.
  ///
  /// Rank r differentiates its rows' mean loss times nᵣ/B, its share of the batch, so that the
  /// sums over the ranks are the batch's means (the formula at the top of this file) and no pass
  /// over the gradients scales them: the factor enters the backward sweep with the seed.
  func reduceGradients<Scalar: TensorScalar>(
    at parameters: [Tensor<Scalar>], on batch: (inputs: Tensor<Scalar>, labels: [Int]),
    through buckets: GradientBuckets<Scalar>?,
    of loss: ([Tensor<Scalar>], Tensor<Scalar>, [Int]) -> Tensor<Scalar>
  ) -> (value: Scalar, gradient: [Tensor<Scalar>]) {
    guard let buckets else {
      let (value, gradients) = Autodiff.valueWithGradient(at: parameters) { parameters in
        loss(parameters, batch.inputs, batch.labels)
      }
      return (value.scalar, gradients)
    }
    let mine = shard(of: batch)
    guard !buckets.isInStep else {
      failDistributed(
        "MPIContext: a data-parallel step was started inside another one's loss; call "
          + "valueWithGradient(at:on:bucketCapacity:of:) and ShardedOptimizer.step one at a time")
    }
    buckets.begin()
    var value: Scalar = 0
    var gradients: [Tensor<Scalar>]
    if mine.labels.isEmpty {
      gradients = parameters.map { Tensor(zeros: $0.shape) }
    } else {
      let share = Tensor(Scalar(mine.labels.count) / Scalar(batch.labels.count))
      let result = Autodiff.valueWithGradient(
        at: parameters, of: { loss($0, mine.inputs, mine.labels) * share },
        whenReady: { index, gradient in buckets.add(gradient, of: index) },
        afterEachNode: { buckets.poll() }, file: #fileID, line: #line)
      (value, gradients) = (result.value.scalar, result.gradient)
      // Inside an outer differentiation the gradients come back recorded, and the reduced ones
      // would silently not be: second derivatives across ranks are not supported.
      if gradients.contains(where: \.isRecorded) {
        failDistributed(
          "MPIContext: a data-parallel step inside another differentiation; its gradients "
            + "cannot be differentiated again across ranks")
      }
    }
    countReductions(buckets.buckets.count + 1, overlapped: buckets.started)
    return (buckets.finish(loss: value, gradients: gradients), gradients)
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
