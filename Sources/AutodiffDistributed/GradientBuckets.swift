import AutodiffNN

/// The gradients of a data-parallel step on their way between the ranks, in buckets that travel
/// while the backward sweep still runs.
///
/// The parameters lie end to end in one buffer, last parameter first: the order in which a
/// backward sweep finishes a network's layers. The buffer is cut at parameter boundaries into
/// buckets of at least `bucketCapacity` bytes (the last may be smaller). During the sweep each
/// gradient is copied to its place as soon as it is final (`valueWithGradient(at:of:whenReady:)`);
/// the buckets whose gradients are all in start their nonblocking reductions, in bucket order on
/// every rank (MPI matches nonblocking collectives by the order they start), and MPI moves them
/// forward after each node of the sweep. Without those polls, Open MPI's shared-memory transport
/// makes no progress until the wait.
///
/// The ranks' gradients come scaled already: each rank differentiates its mean loss times its
/// share of the batch, nᵣ/B (`MPIContext.reduceGradients`), so that the sums are the batch's mean
/// gradients, with no pass over the elements before or after the reduction.
///
/// With `.allreduce`, every rank ends with every sum. With `.reduceScatter`, each bucket is cut
/// into one block per rank, rank r's block being
/// `MPIContext.shardRange(ofBatchOf: bucket size, rank: r, size: ranks)`, and rank r ends with
/// the sums of its blocks only: its shard, which ``ShardedOptimizer`` updates. Every element is
/// summed by one MPI reduction whichever way it travels, so for two ranks (where a sum has one
/// order) the results are the same bit for bit.
final class GradientBuckets<Scalar: TensorScalar> {
  enum Reduction { case allreduce, reduceScatter }

  struct Bucket {
    /// Its elements in `flat`.
    let range: Range<Int>
    /// The parameters in it, in layout order (descending).
    let parameters: [Int]
    /// This rank's block, relative to the bucket's start.
    let myBlock: Range<Int>
    /// Where this rank's block lies in `shard`.
    let shardOffset: Int
  }

  let shapes: [[Int]]
  let reduction: Reduction
  let bucketCapacity: Int
  let rank: Int
  let size: Int
  /// Where each parameter's elements start in `flat`.
  let offsets: [Int]
  let buckets: [Bucket]
  /// The bucket of each parameter.
  private let bucketOf: [Int]
  /// Every parameter's elements, laid out as above.
  let flat: UnsafeMutableBufferPointer<Scalar>
  /// This rank's blocks of the buckets, end to end (`.reduceScatter` only).
  let shard: UnsafeMutableBufferPointer<Scalar>
  /// Each bucket's block counts and displacements, `size` of each per bucket, for MPI; they must
  /// not move while a collective is in flight.
  private let counts: UnsafeMutablePointer<Int32>
  private let displacements: UnsafeMutablePointer<Int32>
  /// One request per bucket, and the loss's after them.
  private let requests: MPIRequests
  /// The scaled loss, reduced beside the buckets.
  private let lossBuffer: UnsafeMutableBufferPointer<Scalar>

  // The step in progress.
  /// Whether this rank sends zeros (it has no rows), whatever its gradients hold.
  private var sendsZeros = false
  private var isIn: [Bool]
  private var missing: [Int]
  private var started = 0

  /// How many buckets of the step in progress have started their reductions.
  var startedCount: Int { started }

  /// Plans the buckets of parameters of `shapes` over `size` ranks.
  init(
    shapes: [[Int]], reduction: Reduction, bucketCapacity: Int, rank: Int, size: Int
  ) {
    self.shapes = shapes
    self.reduction = reduction
    self.bucketCapacity = bucketCapacity
    self.rank = rank
    self.size = size
    let sizes = shapes.map { $0.reduce(1, *) }
    var offsets = Array(repeating: 0, count: shapes.count)
    var bucketOf = offsets
    var buckets: [Bucket] = []
    var members: [Int] = []
    var start = 0
    var end = 0
    var shardOffset = 0
    func close() {
      let myBlock = MPIContext.shardRange(ofBatchOf: end - start, rank: rank, size: size)
      buckets.append(
        Bucket(
          range: start..<end, parameters: members, myBlock: myBlock, shardOffset: shardOffset))
      shardOffset += myBlock.count
      members = []
      start = end
    }
    for parameter in shapes.indices.reversed() {
      offsets[parameter] = end
      bucketOf[parameter] = buckets.count
      members.append(parameter)
      end += sizes[parameter]
      if (end - start) * MemoryLayout<Scalar>.stride >= bucketCapacity { close() }
    }
    if !members.isEmpty || buckets.isEmpty { close() }
    self.offsets = offsets
    self.bucketOf = bucketOf
    self.buckets = buckets
    flat = .allocate(capacity: max(end, 1))
    flat.initialize(repeating: 0)
    shard = .allocate(capacity: max(shardOffset, 1))
    shard.initialize(repeating: 0)
    counts = .allocate(capacity: buckets.count * size)
    displacements = .allocate(capacity: buckets.count * size)
    for (index, bucket) in buckets.enumerated() {
      for other in 0..<size {
        let block = MPIContext.shardRange(ofBatchOf: bucket.range.count, rank: other, size: size)
        counts[index * size + other] = Int32(block.count)
        displacements[index * size + other] = Int32(bucket.range.lowerBound + block.lowerBound)
      }
    }
    requests = MPIRequests(capacity: buckets.count + 1)
    lossBuffer = .allocate(capacity: 1)
    lossBuffer.initialize(repeating: 0)
    isIn = Array(repeating: false, count: shapes.count)
    missing = buckets.map(\.parameters.count)
  }

  deinit {
    flat.deallocate()
    shard.deallocate()
    counts.deallocate()
    displacements.deallocate()
    lossBuffer.deallocate()
  }

  /// Whether this plan fits a step over parameters of `shapes` with these settings.
  func fits(shapes: [[Int]], reduction: Reduction, bucketCapacity: Int) -> Bool {
    self.shapes == shapes && self.reduction == reduction && self.bucketCapacity == bucketCapacity
  }

  // MARK: One step

  /// Starts a step; a rank with no rows sends zeros.
  func begin(hasRows: Bool) {
    sendsZeros = !hasRows
    for index in isIn.indices { isIn[index] = false }
    for index in buckets.indices { missing[index] = buckets[index].parameters.count }
    started = 0
  }

  /// Takes parameter `index`'s final gradient, and starts the buckets that are now complete.
  func add(_ gradient: Tensor<Scalar>, of index: Int) {
    let target = flat.baseAddress! + offsets[index]
    if sendsZeros {
      target.update(repeating: 0, count: gradient.scalarCount)
    } else {
      gradient.withUnsafeBufferPointer { copyElements($0.count, from: $0.baseAddress, to: target) }
    }
    isIn[index] = true
    missing[bucketOf[index]] -= 1
    while started < buckets.count, missing[started] == 0 {
      start(started)
      started += 1
    }
  }

  /// Lets MPI move the started reductions forward.
  func poll() {
    if started > 0 { MPI.test(requests, count: started) }
  }

  /// Ends the step: zeros for the gradients this rank did not produce, the loss reduced beside
  /// them, and every reduction waited for. Returns the sum of the ranks' (scaled) losses.
  func finish(loss: Scalar) -> Scalar {
    for index in isIn.indices where !isIn[index] {
      add(Tensor(zeros: shapes[index]), of: index)
    }
    lossBuffer[0] = sendsZeros ? 0 : loss
    MPI.startAllreduceSum(
      UnsafeMutableRawBufferPointer(lossBuffer), of: .scalar(Scalar.self), as: buckets.count,
      of: requests)
    MPI.wait(requests, count: buckets.count + 1)
    return lossBuffer[0]
  }

  /// Replaces `tensors` (which must have the plan's shapes) by their elements in `flat`.
  func unpack(into tensors: inout [Tensor<Scalar>]) {
    for index in tensors.indices {
      tensors[index].withUnsafeMutableBufferPointer { target in
        copyElements(target.count, from: flat.baseAddress! + offsets[index], to: target.baseAddress)
      }
    }
  }

  /// Gathers every rank's blocks of `flat` into every rank's `flat`: one nonblocking
  /// `MPI_Iallgatherv` per bucket, all in flight together.
  func allgatherBlocks() {
    for index in buckets.indices {
      MPI.startAllgather(
        inPlace: UnsafeMutableRawBufferPointer(flat), counts: counts + index * size,
        displacements: displacements + index * size, of: .scalar(Scalar.self), as: index,
        of: requests)
    }
    MPI.wait(requests, count: buckets.count)
  }

  private func start(_ index: Int) {
    let bucket = buckets[index]
    let elements = UnsafeMutableBufferPointer(rebasing: flat[bucket.range])
    switch reduction {
    case .allreduce:
      MPI.startAllreduceSum(
        UnsafeMutableRawBufferPointer(elements), of: .scalar(Scalar.self), as: index,
        of: requests)
    case .reduceScatter:
      let mine = UnsafeMutableBufferPointer(
        rebasing: shard[bucket.shardOffset..<(bucket.shardOffset + bucket.myBlock.count)])
      MPI.startReduceScatterSum(
        UnsafeRawBufferPointer(elements), into: UnsafeMutableRawBufferPointer(mine),
        counts: counts + index * size, of: .scalar(Scalar.self), as: index, of: requests)
    }
  }
}

/// Copies `count` elements from `source` to `target`, as bytes.
func copyElements<Scalar: TensorScalar>(
  _ count: Int, from source: UnsafePointer<Scalar>?, to target: UnsafeMutablePointer<Scalar>?
) {
  guard count > 0, let source, let target else { return }
  UnsafeMutableRawPointer(target).copyMemory(
    from: source, byteCount: count * MemoryLayout<Scalar>.stride)
}
