import AutodiffNN

/// The gradients of a data-parallel step on their way between the ranks, in buckets that travel
/// while the backward sweep still runs.
///
/// The parameters are taken last first: the order in which a backward sweep finishes a network's
/// layers. A parameter of `bucketCapacity` bytes or more is a bucket of its own, which MPI reads
/// from the gradient's own elements and writes into the result's: no copy. Smaller ones gather,
/// in the same order, into buckets of at least `bucketCapacity` bytes (the last one holds what
/// is left), whose gradients are copied end to end into one buffer, `flat` (which holds only
/// these shared buckets), so that one message carries them: a network's biases travel together
/// rather than one small message each. During the sweep each gradient is taken as soon as it is
/// final (`valueWithGradient(at:of:whenReady:)`); the buckets whose gradients are all in start
/// their nonblocking reductions, in bucket order on every rank (MPI matches nonblocking
/// collectives by the order they start), and MPI moves them forward after each node of the
/// sweep. Without those polls, Open MPI's shared-memory transport makes no progress until the
/// wait.
///
/// The ranks' gradients come scaled already: each rank differentiates its mean loss times its
/// share of the batch, nᵣ/B (`MPIContext.reduceGradients`), so that the sums are the batch's mean
/// gradients, with no pass over the elements before or after the reduction.
///
/// With `.allreduce`, every rank ends with every sum. With `.reduceScatter`, each bucket is cut
/// into one block per rank, rank r's block being
/// `MPIContext.shardRange(ofBatchOf: bucket size, rank: r, size: ranks)`, and rank r ends with
/// the sums of its blocks only, in `blocks`: its shard, which ``ShardedOptimizer`` updates.
/// Every element is summed by one MPI reduction whichever way it travels, so for two ranks
/// (where a sum has one order) the results are the same bit for bit.
final class GradientBuckets<Scalar: TensorScalar> {
  enum Reduction { case allreduce, reduceScatter }

  struct Bucket {
    /// Its elements' place in the buckets' layout, all buckets end to end: the coordinates of
    /// `offsets` and of ``ShardedOptimizer``'s pieces; `range.count` elements travel.
    let range: Range<Int>
    /// Where its elements start in `flat`; only a bucket of several parameters has a place there.
    let flatStart: Int
    /// The parameters in it, in layout order (descending).
    let parameters: [Int]
    /// This rank's block, relative to the bucket's start.
    let myBlock: Range<Int>

    /// Whether MPI reads and writes the one parameter's tensors directly, without `flat`.
    var isDirect: Bool { parameters.count == 1 }
  }

  let shapes: [[Int]]
  let reduction: Reduction
  let bucketCapacity: Int
  /// Where each parameter's elements start in the buckets' layout (see `Bucket.range`).
  let offsets: [Int]
  let buckets: [Bucket]
  /// The bucket of each parameter.
  let bucketOf: [Int]
  /// The elements of the buckets of several parameters, bucket after bucket: a parameter that
  /// travels alone needs no room here.
  let flat: UnsafeMutableBufferPointer<Scalar>
  /// The sums of this rank's block of each bucket (`.reduceScatter` only; empty otherwise):
  /// MPI writes them in place, and ``ShardedOptimizer`` updates along them.
  private(set) var blocks: [Tensor<Scalar>] = []
  /// Each bucket's block counts and displacements (relative to the bucket's start), `size` of
  /// each per bucket, for MPI; they must not move while a collective is in flight.
  private let counts: UnsafeMutablePointer<Int32>
  private let displacements: UnsafeMutablePointer<Int32>
  private let size: Int
  /// One request per bucket, and the loss's after them.
  private let requests: MPIRequests
  /// The scaled loss, reduced beside the buckets.
  private let lossBuffer: UnsafeMutableBufferPointer<Scalar>

  // The step in progress.
  /// Whether each parameter's gradient is in, and how many each bucket still waits for.
  private var isIn: [Bool]
  private var missing: [Int]
  /// How many buckets of the step in progress have started their reductions.
  private(set) var started = 0
  /// The gradients that direct buckets send, held until their reductions complete.
  private var sent: [Tensor<Scalar>?]
  /// The tensors that direct buckets receive into: sums (`.allreduce`) or parameters
  /// (``allgather(into:sources:)``).
  private var received: [Tensor<Scalar>?]

  /// Whether a step has begun and not finished.
  private(set) var isInStep = false

  /// Plans the buckets of parameters of `shapes` for this `rank` of `size`.
  init(shapes: [[Int]], reduction: Reduction, bucketCapacity: Int, rank: Int, size: Int) {
    self.shapes = shapes
    self.reduction = reduction
    self.bucketCapacity = bucketCapacity
    self.size = size
    let stride = MemoryLayout<Scalar>.stride
    var offsets = Array(repeating: 0, count: shapes.count)
    var bucketOf = offsets
    var buckets: [Bucket] = []
    var (end, flatCount) = (0, 0)
    /// Appends a bucket of `members`, laid out after the buckets before it.
    func emit(_ members: [Int]) {
      let start = end
      for member in members {
        offsets[member] = end
        bucketOf[member] = buckets.count
        end += shapes[member].reduce(1, *)
      }
      let myBlock = MPIContext.shardRange(ofBatchOf: end - start, rank: rank, size: size)
      buckets.append(
        Bucket(range: start..<end, flatStart: flatCount, parameters: members, myBlock: myBlock))
      if members.count > 1 { flatCount += end - start }
    }
    // A large parameter travels alone as soon as it is final; the small ones (biases, say)
    // gather in one bucket until it holds `bucketCapacity` bytes, or to the end.
    var pending: [Int] = []
    var pendingBytes = 0
    for parameter in shapes.indices.reversed() {
      let bytes = shapes[parameter].reduce(1, *) * stride
      if bytes >= bucketCapacity {
        emit([parameter])
        continue
      }
      pending.append(parameter)
      pendingBytes += bytes
      if pendingBytes >= bucketCapacity {
        emit(pending)
        (pending, pendingBytes) = ([], 0)
      }
    }
    if !pending.isEmpty { emit(pending) }
    self.offsets = offsets
    self.bucketOf = bucketOf
    self.buckets = buckets
    flat = .allocate(capacity: max(flatCount, 1))
    flat.initialize(repeating: 0)
    counts = .allocate(capacity: max(buckets.count * size, 1))
    displacements = .allocate(capacity: max(buckets.count * size, 1))
    for (index, bucket) in buckets.enumerated() {
      for other in 0..<size {
        let block = MPIContext.shardRange(ofBatchOf: bucket.range.count, rank: other, size: size)
        counts[index * size + other] = Int32(block.count)
        displacements[index * size + other] = Int32(block.lowerBound)
      }
    }
    requests = MPIRequests(capacity: buckets.count + 1)
    if reduction == .reduceScatter {
      blocks = buckets.map { Tensor(zeros: [$0.myBlock.count]) }
    }
    lossBuffer = .allocate(capacity: 1)
    lossBuffer.initialize(repeating: 0)
    missing = buckets.map(\.parameters.count)
    isIn = Array(repeating: false, count: shapes.count)
    sent = Array(repeating: nil, count: shapes.count)
    received = sent
  }

  deinit {
    flat.deallocate()
    counts.deallocate()
    displacements.deallocate()
    lossBuffer.deallocate()
  }

  // MARK: One step

  /// Starts a step.
  func begin() {
    isInStep = true
    for index in isIn.indices { isIn[index] = false }
    for index in buckets.indices { missing[index] = buckets[index].parameters.count }
    started = 0
  }

  /// Takes parameter `index`'s final gradient, and starts the buckets that are now complete.
  func add(_ gradient: Tensor<Scalar>, of index: Int) {
    let bucket = bucketOf[index]
    if buckets[bucket].isDirect {
      sent[index] = gradient
    } else {
      gradient.withUnsafeBufferPointer {
        copyElements($0.count, from: $0.baseAddress, to: flatElements(of: index))
      }
    }
    isIn[index] = true
    missing[bucket] -= 1
    while started < buckets.count, missing[started] == 0 {
      start(started)
      started += 1
    }
  }

  /// Lets MPI move the started reductions forward.
  func poll() {
    if started > 0 { MPI.test(requests, count: started) }
  }

  /// Ends the step: `gradients` for the parameters whose gradients were not added during it
  /// (all of them on a rank with no rows, which runs no sweep and sends zeros), the loss reduced
  /// beside them, and every reduction waited for. Returns the sum of the ranks' (scaled) losses.
  func finish(loss: Scalar, gradients: [Tensor<Scalar>]) -> Scalar {
    for parameter in isIn.indices where !isIn[parameter] {
      add(gradients[parameter], of: parameter)
    }
    lossBuffer[0] = loss
    MPI.startAllreduceSum(
      from: nil, into: lossBuffer.baseAddress!, count: 1, of: .scalar(Scalar.self),
      as: buckets.count, of: requests)
    MPI.wait(requests, count: buckets.count + 1)
    for index in sent.indices { sent[index] = nil }
    isInStep = false
    return lossBuffer[0]
  }

  /// Replaces `gradients` by the sums (`.allreduce`): the tensors MPI wrote for direct buckets,
  /// copies out of `flat` for the others.
  func takeSums(into gradients: inout [Tensor<Scalar>]) {
    for index in gradients.indices {
      if let sums = received[index].take() {
        gradients[index] = sums
      } else {
        copy(parameter: index, into: &gradients[index])
      }
    }
  }

  /// Gathers every rank's block of every bucket into `tensors`, this rank's block of bucket `b`
  /// being `sources[b]` (absent where the block is empty). A parameter alone in its bucket gets a
  /// new tensor that MPI writes; the others arrive in `flat` and are copied out. One nonblocking
  /// `MPI_Iallgatherv` per bucket, all in flight together.
  func allgather(into tensors: inout [Tensor<Scalar>], sources: [Int: Tensor<Scalar>]) {
    for (index, bucket) in buckets.enumerated() {
      let source =
        sources[index].map { elements(of: $0) } ?? UnsafeRawPointer(lossBuffer.baseAddress!)
      let target: UnsafeMutableRawPointer
      if bucket.isDirect {
        let gathered = Tensor<Scalar>(uninitializedShape: shapes[bucket.parameters[0]])
        received[bucket.parameters[0]] = gathered
        target = UnsafeMutableRawPointer(mutating: elements(of: gathered))
      } else {
        target = UnsafeMutableRawPointer(flat.baseAddress! + bucket.flatStart)
      }
      MPI.startAllgather(
        from: source, into: target, counts: counts + index * size,
        displacements: displacements + index * size, of: .scalar(Scalar.self), as: index,
        of: requests)
    }
    MPI.wait(requests, count: buckets.count)
    for index in tensors.indices {
      if let gathered = received[index].take() {
        tensors[index] = gathered
      } else {
        copy(parameter: index, into: &tensors[index])
      }
    }
  }

  private func start(_ index: Int) {
    let bucket = buckets[index]
    let element = MPIElement.scalar(Scalar.self)
    // A direct bucket sends from the gradient's elements, held in `sent` until `finish`.
    let source =
      bucket.isDirect
      ? elements(of: sent[bucket.parameters[0]]!)
      : UnsafeRawPointer(flat.baseAddress! + bucket.flatStart)
    switch reduction {
    case .allreduce:
      if bucket.isDirect {
        let sums = Tensor<Scalar>(uninitializedShape: shapes[bucket.parameters[0]])
        received[bucket.parameters[0]] = sums
        MPI.startAllreduceSum(
          from: source, into: UnsafeMutableRawPointer(mutating: elements(of: sums)),
          count: bucket.range.count, of: element, as: index, of: requests)
      } else {
        MPI.startAllreduceSum(
          from: nil, into: flat.baseAddress! + bucket.flatStart,
          count: bucket.range.count, of: element, as: index, of: requests)
      }
    case .reduceScatter:
      // Unique, so that writing into it changes no other tensor (the optimizer read the last
      // step's sums; it keeps no reference).
      let sums = blocks[index].withUnsafeMutableBufferPointer {
        UnsafeMutableRawPointer($0.baseAddress)
      }
      MPI.startReduceScatterSum(
        from: source, into: sums ?? UnsafeMutableRawPointer(lossBuffer.baseAddress!),
        counts: counts + index * size, of: element, as: index, of: requests)
    }
  }

  /// The address of `tensor`'s elements, which stays valid while `tensor` (or a copy) lives and
  /// nothing writes to it through the tensor: a tensor's storage never moves. Here a held
  /// tensor (in `sent` or `received`) is MPI's buffer while a collective is in flight.
  private func elements(of tensor: Tensor<Scalar>) -> UnsafeRawPointer {
    tensor.withUnsafeBufferPointer {
      UnsafeRawPointer($0.baseAddress ?? UnsafePointer(lossBuffer.baseAddress!))
    }
  }

  /// Copies parameter `index`'s elements out of `flat` into `tensor`.
  private func copy(parameter index: Int, into tensor: inout Tensor<Scalar>) {
    tensor.withUnsafeMutableBufferPointer { target in
      copyElements(target.count, from: flatElements(of: index), to: target.baseAddress)
    }
  }

  /// Where parameter `index`'s elements lie in `flat` (it shares its bucket).
  private func flatElements(of index: Int) -> UnsafeMutablePointer<Scalar> {
    let bucket = buckets[bucketOf[index]]
    return flat.baseAddress! + bucket.flatStart + (offsets[index] - bucket.range.lowerBound)
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
