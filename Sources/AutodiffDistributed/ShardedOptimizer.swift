import AutodiffNN

/// An optimizer whose state is split across the ranks: each rank updates only its shard of the
/// parameters, with only its shard of the state (ZeRO stage 1, as PyTorch's
/// `ZeroRedundancyOptimizer` and DeepSpeed do).
///
/// A step differentiates the loss on this rank's rows of the batch. During the backward sweep the
/// gradients travel in buckets, last layer first, each bucket reduce-scattered
/// (`MPI_Ireduce_scatter`) as soon as the sweep has finished it, so that each rank receives the
/// batch's mean gradient for its block of every bucket. Each rank then updates its blocks of the
/// parameters with the wrapped optimizer, and the updated blocks are all-gathered
/// (`MPI_Iallgatherv`), leaving every rank with the whole updated model.
///
/// ```swift
/// var model = Sequential<Float>(
///   Dense(inputSize: 784, outputSize: 512, activation: .relu, using: &rng),
///   Dense(inputSize: 512, outputSize: 10, using: &rng))
/// try context.synchronize(&model)
/// let optimizer = ShardedOptimizer(context, for: model.parameters) { shard in
///   Adam(for: shard, learningRate: 1e-3)
/// }
/// for batch in batches {
///   let loss = optimizer.step(&model, on: batch) { model, inputs, labels in
///     softmaxCrossEntropy(logits: model(inputs), labels: labels)
///   }
/// }
/// ```
///
/// Compared with ``MPIContext/valueWithGradient(at:on:bucketCapacity:of:)`` followed by a whole
/// optimizer's update on every rank, each rank does 1/N of the update and holds 1/N of its
/// state; the data that travels is the same (a reduce-scatter and an all-gather are the two
/// halves of an allreduce).
///
/// The results are those of the unsharded update: the wrapped optimizer runs the same
/// arithmetic on each element, and each gradient element is reduced by one MPI reduction
/// either way. On two ranks, whose sums have one order, they agree bit for bit (the tests check
/// this); with more ranks, MPI may add in another order, so they agree to rounding.
///
/// The wrapped optimizer must update each element from that element's parameter, gradient and
/// state alone, as `SGD`, `Adam`, `AdamW`, `RMSprop` and `Adagrad` do: it is created over this
/// rank's pieces of the parameters, as vectors.
///
/// A checkpoint holds the whole optimizer (``wholeOptimizer()``), so it resumes on any number of
/// ranks (``restore(from:)``).
public final class ShardedOptimizer<Base: Optimizer> {
  public typealias Scalar = Base.Scalar

  /// The job the state is split across.
  public let context: MPIContext

  /// The least size of a bucket of gradients in bytes (see
  /// ``MPIContext/valueWithGradient(at:on:bucketCapacity:of:)``).
  public let bucketCapacity: Int

  /// The optimizer of this rank's shard, created over its pieces of the parameters: one vector
  /// per run of a parameter's elements in the shard. In a job of one, the whole optimizer.
  public private(set) var shardOptimizer: Base

  /// The step size of the next update.
  public var learningRate: Scalar {
    get { shardOptimizer.learningRate }
    set { shardOptimizer.learningRate = newValue }
  }

  private let makeOptimizer: ([Tensor<Scalar>]) -> Base
  private let shapes: [[Int]]
  /// The layout and the buffers of the exchange; `nil` in a job of one.
  private let buckets: GradientBuckets<Scalar>?
  /// This rank's nonempty blocks of the buckets, and its parameters' values there.
  private let pieces: [Piece]
  private var pieceParameters: [Tensor<Scalar>]
  /// The prefixes of the wrapped optimizer's state entries that hold one value per element
  /// (`"m"` and `"v"` for Adam, whose entries are `"m.0"`, `"m.1"`, ...).
  private let elementStatePrefixes: [String]

  /// This rank's block of one bucket: consecutive elements of the buckets' layout, which may
  /// span parameters (small ones share a bucket).
  private struct Piece {
    let bucket: Int
    /// Its elements in the buckets' layout.
    let elements: Range<Int>
  }

  /// An optimizer for `parameters` whose state is split across `context`'s ranks.
  ///
  /// - Parameters:
  ///   - context: The job; every rank creates the optimizer, with the same shapes.
  ///   - parameters: The model's parameters, in the order steps pass them.
  ///   - bucketCapacity: The least size of a bucket of gradients in bytes, > 0.
  ///   - makeOptimizer: Creates the wrapped optimizer for the tensors it is given (this rank's
  ///     pieces of the parameters, as vectors), with its hyperparameters.
  public init(
    _ context: MPIContext, for parameters: [Tensor<Scalar>],
    bucketCapacity: Int = MPIContext.defaultBucketCapacity,
    _ makeOptimizer: @escaping ([Tensor<Scalar>]) -> Base
  ) {
    guard bucketCapacity > 0 else {
      failDistributed("ShardedOptimizer: bucketCapacity must be > 0, got \(bucketCapacity)")
    }
    self.context = context
    self.bucketCapacity = bucketCapacity
    self.makeOptimizer = makeOptimizer
    shapes = parameters.map(\.shape)
    elementStatePrefixes = makeOptimizer([Tensor(zeros: [1])]).state
      .filter { $0.key.hasSuffix(".0") && $0.value.shape == [1] }
      .map { String($0.key.dropLast(2)) }.sorted()
    guard context.size > 1 else {
      buckets = nil
      (pieces, pieceParameters) = ([], [])
      shardOptimizer = makeOptimizer(parameters)
      return
    }
    let buckets = GradientBuckets<Scalar>(
      shapes: shapes, reduction: .reduceScatter, bucketCapacity: bucketCapacity,
      rank: context.rank, size: context.size)
    pieces = buckets.buckets.indices.compactMap { index in
      let bucket = buckets.buckets[index]
      let start = bucket.range.lowerBound
      let elements = (start + bucket.myBlock.lowerBound)..<(start + bucket.myBlock.upperBound)
      return elements.isEmpty ? nil : Piece(bucket: index, elements: elements)
    }
    self.buckets = buckets
    pieceParameters = pieces.map { Tensor(zeros: [$0.elements.count]) }
    shardOptimizer = makeOptimizer(pieceParameters)
  }

  // MARK: Steps

  /// One training step on a whole batch: each rank differentiates `loss` on its rows of `batch`,
  /// the gradients are reduce-scattered while the backward sweep runs, each rank updates its
  /// shard, and the parameters are all-gathered into `model`. Returns the loss of the whole batch.
  ///
  /// - Parameters:
  ///   - model: The model, the same on every rank; its parameters are updated in place.
  ///   - batch: The whole global batch, the same on every rank.
  ///   - loss: The mean loss of some rows: given the model (with the parameters being
  ///     differentiated), those rows' inputs and labels.
  /// - Precondition: The model's parameters have the shapes the optimizer was created for, on
  ///   every rank.
  public func step<Model: Layer<Scalar>>(
    _ model: inout Model, on batch: (inputs: Tensor<Scalar>, labels: [Int]),
    of loss: (Model, Tensor<Scalar>, [Int]) -> Tensor<Scalar>
  ) -> Scalar {
    let current = model
    var parameters = model.parameters
    // The ranks compare their calls first, so that one rank's wrong shapes stop them all.
    if buckets != nil {
      context.requireSameCall(.shardedStep(bucketCapacity: bucketCapacity), parameters)
    }
    checkShapes(parameters, "step(_:on:of:)")
    let (value, gradients) = context.reduceGradients(at: parameters, on: batch, through: buckets) {
      parameters, inputs, labels in
      loss(current.replacingParameters(with: parameters), inputs, labels)
    }
    if let buckets {
      // The reduce-scatter left the sums of this rank's blocks where the update reads them.
      updateShard(&parameters, along: pieces.map { buckets.blocks[$0.bucket] }, buckets)
    } else {
      shardOptimizer.update(&parameters, along: gradients)
    }
    model.parameters = parameters
    return value
  }

  /// Updates `parameters` along `gradients`, the batch's mean gradients, the same on every rank
  /// (from ``MPIContext/valueWithGradient(at:on:bucketCapacity:of:)``, say, then clipped): each
  /// rank updates its shard, then the parameters are all-gathered.
  ///
  /// - Precondition: `parameters` and `gradients` have the shapes the optimizer was created
  ///   for, on every rank.
  public func update(_ parameters: inout [Tensor<Scalar>], along gradients: [Tensor<Scalar>]) {
    if buckets != nil {
      context.requireSameCall(.shardedUpdate(bucketCapacity: bucketCapacity), parameters)
    }
    checkShapes(parameters, "update(_:along:)")
    checkShapes(gradients, "update(_:along:)")
    guard let buckets else {
      shardOptimizer.update(&parameters, along: gradients)
      return
    }
    updateShard(&parameters, along: pieces.map { extract($0, of: gradients) }, buckets)
  }

  /// Updates this rank's pieces along `gradients` (one per piece), then gathers every rank's
  /// pieces into `parameters`.
  private func updateShard(
    _ parameters: inout [Tensor<Scalar>], along gradients: [Tensor<Scalar>],
    _ buckets: GradientBuckets<Scalar>
  ) {
    for (index, piece) in pieces.enumerated() {
      copy(piece, of: parameters, into: &pieceParameters[index])
    }
    shardOptimizer.update(&pieceParameters, along: gradients)
    buckets.allgather(into: &parameters, sources: sources(pieceParameters))
  }

  /// `values` (one per piece) by bucket, what `GradientBuckets.allgather(into:sources:)`
  /// sends from this rank.
  private func sources(_ values: [Tensor<Scalar>]) -> [Int: Tensor<Scalar>] {
    Dictionary(uniqueKeysWithValues: zip(pieces.map(\.bucket), values))
  }

  /// `piece`'s elements of `tensors` (of the parameters' shapes), as a vector.
  private func extract(_ piece: Piece, of tensors: [Tensor<Scalar>]) -> Tensor<Scalar> {
    var part = Tensor<Scalar>(uninitializedShape: [piece.elements.count])
    copy(piece, of: tensors, into: &part)
    return part
  }

  /// Copies `piece`'s elements of `tensors` (of the parameters' shapes) into `target`: from each
  /// parameter of its bucket, the run of its elements that falls in the piece.
  private func copy(_ piece: Piece, of tensors: [Tensor<Scalar>], into target: inout Tensor<Scalar>)
  {
    let buckets = buckets!
    target.withUnsafeMutableBufferPointer { target in
      for parameter in buckets.buckets[piece.bucket].parameters {
        let start = buckets.offsets[parameter]
        let overlap = piece.elements.clamped(to: start..<(start + tensors[parameter].scalarCount))
        guard !overlap.isEmpty else { continue }
        tensors[parameter].withUnsafeBufferPointer { source in
          copyElements(
            overlap.count, from: source.baseAddress! + (overlap.lowerBound - start),
            to: target.baseAddress! + (overlap.lowerBound - piece.elements.lowerBound))
        }
      }
    }
  }

  private func checkShapes(_ tensors: [Tensor<Scalar>], _ function: String) {
    guard tensors.map(\.shape) != shapes else { return }
    failDistributed(
      "ShardedOptimizer.\(function): the optimizer was created for shapes \(shapes), got "
        + "\(tensors.map(\.shape))")
  }

  // MARK: Whole state

  /// The whole optimizer, as one process training the whole model would hold it: every rank's
  /// shard of the state gathered, on every rank. Save it in a checkpoint with
  /// `Checkpoint.save(model:optimizer:metadata:to:)`; it resumes on any number of ranks.
  ///
  /// It is made by the closure given at creation, with the current ``learningRate``; other
  /// hyperparameters changed since are not carried over. Every rank must call it (it
  /// all-gathers the state), even if only one writes the file:
  ///
  /// ```swift
  /// let whole = optimizer.wholeOptimizer()
  /// if context.isRoot {
  ///   try Checkpoint.save(model: model, optimizer: whole, metadata: [:], to: url)
  /// }
  /// ```
  public func wholeOptimizer() -> Base {
    guard let buckets else { return shardOptimizer }
    let zeros = shapes.map { Tensor<Scalar>(zeros: $0) }
    context.requireSameCall(.shardedState, zeros)
    var whole = makeOptimizer(zeros)
    whole.learningRate = shardOptimizer.learningRate
    let shardState = shardOptimizer.state
    var state = sharedEntries(of: shardState)
    for prefix in elementStatePrefixes {
      // Copy-on-write: the gathered elements replace these or are copied into copies of them.
      var tensors = zeros
      buckets.allgather(
        into: &tensors,
        sources: sources(pieces.indices.map { shardState["\(prefix).\($0)"]! }))
      for (index, tensor) in tensors.enumerated() { state["\(prefix).\(index)"] = tensor }
    }
    do {
      try whole.restore(state: state)
    } catch {
      fatalError(
        "ShardedOptimizer.wholeOptimizer: the optimizer rejected its gathered state: \(error)")
    }
    return whole
  }

  /// The entries of an optimizer's `state` that do not hold one value per parameter element
  /// (its step count, say): those are the same whole and sharded.
  private func sharedEntries(of state: [String: Tensor<Scalar>]) -> [String: Tensor<Scalar>] {
    state.filter { entry in !elementStatePrefixes.contains { entry.key.hasPrefix($0 + ".") } }
  }

  /// Takes this rank's shard of a whole optimizer's state: one read from a checkpoint, say,
  /// written by any number of ranks.
  ///
  /// - Throws: `CheckpointError` when a state entry is missing or has the wrong shape; the
  ///   optimizer is then unchanged.
  public func restore(from whole: Base) throws {
    let state = whole.state
    guard buckets != nil else {
      try shardOptimizer.restore(state: state)
      return
    }
    var shardState = sharedEntries(of: state)
    for prefix in elementStatePrefixes {
      let tensors = try shapes.indices.map { index in
        let name = "\(prefix).\(index)"
        guard let tensor = state[name] else { throw CheckpointError.missingTensor(name: name) }
        guard tensor.shape == shapes[index] else {
          throw CheckpointError.shapeMismatch(
            name: name, expected: shapes[index], found: tensor.shape)
        }
        return tensor
      }
      for (index, piece) in pieces.enumerated() {
        shardState["\(prefix).\(index)"] = extract(piece, of: tensors)
      }
    }
    try shardOptimizer.restore(state: shardState)
  }
}
