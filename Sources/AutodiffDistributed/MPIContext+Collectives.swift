import AutodiffNN

// The collectives on tensors. Each packs all its tensors into one contiguous buffer and makes one
// MPI call on it, whatever the number of tensors: a 784-512-512-10 network has 6 parameter
// tensors, and one message of 670k elements costs one latency where six would cost six.
//
// On `@_specialize`: called from another module (a training program), a generic function runs its
// generic body, with a protocol-witness call for every arithmetic operation on an element (see
// the note at the top of AutodiffNN's Optimizers/Adam.swift). The entry points with an element
// loop therefore have Float and Double copies.

extension MPIContext {
  // MARK: Allreduce

  /// The elementwise sum of every rank's `tensors`, on every rank.
  ///
  /// ```swift
  /// // On rank r of 2: [r + 1, 2·(r + 1)]
  /// let sums = context.allreduceSum([Tensor<Double>([Double(r + 1), Double(2 * (r + 1))])])
  /// // [3, 6] on both ranks
  /// ```
  ///
  /// The results take the storage of the tensors passed in where it is not shared (pass their
  /// last use, or `consume` them), so that a training step allocates nothing here.
  ///
  /// - Parameter tensors: This rank's tensors; every rank passes tensors of the same shapes in
  ///   the same order.
  /// - Returns: The sums, in the shapes of `tensors`.
  /// - Precondition: Every rank calls it with tensors of the same scalar type and shapes; when
  ///   not, every rank stops with a message naming what differs and each rank's value.
  /// - Complexity: One `MPI_Allreduce` of all the elements together, after one of two integers
  ///   that checks the precondition; none in a job of one.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func allreduceSum<Scalar: TensorScalar>(
    _ tensors: consuming [Tensor<Scalar>]
  ) -> [Tensor<Scalar>] {
    var sums = tensors
    var none: [Scalar] = []
    combineInPlace(&sums, &none, weight: nil, .allreduceSum)
    return sums
  }

  /// The average of every rank's `gradients`, each rank's weighted by `weight`, on every rank:
  /// `Σᵣ weightᵣ·gradientsᵣ / Σᵣ weightᵣ`.
  ///
  /// When each rank's gradients are the mean over its share of a batch, passing the share's size
  /// as `weight` gives exactly the mean over the whole batch, however unevenly it was divided.
  /// A rank with `weight` 0 contributes nothing; its gradients are not read (pass zeros).
  ///
  /// The results take the storage of the tensors passed in where it is not shared (pass their
  /// last use, or `consume` them), so that a training step allocates nothing here.
  ///
  /// - Parameters:
  ///   - gradients: This rank's gradients; every rank passes tensors of the same shapes in the
  ///     same order.
  ///   - weight: This rank's weight in the average, ≥ 0: the number of examples it used.
  /// - Returns: The weighted averages, in the shapes of `gradients`.
  /// - Precondition: `weight ≥ 0`, and some rank's weight is positive. Every rank calls it
  ///   with tensors of the same scalar type and shapes; when not, every rank stops with a
  ///   message naming what differs and each rank's value.
  /// - Complexity: One `MPI_Allreduce` of all the elements together, and the weight with them,
  ///   after one of two integers that checks the precondition; none in a job of one.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func allreduceMean<Scalar: TensorScalar>(
    _ gradients: consuming [Tensor<Scalar>], weight: Int = 1
  ) -> [Tensor<Scalar>] {
    var means = gradients
    var none: [Scalar] = []
    combineInPlace(&means, &none, weight: weight, .allreduceMean)
    return means
  }

  /// The weighted average of every rank's loss and gradients, as
  /// ``allreduceMean(_:weight:)`` computes it, with the loss in the same `MPI_Allreduce`.
  ///
  /// The results take the storage of the tensors passed in where it is not shared (pass their
  /// last use, or `consume` them), so that a training step allocates nothing here.
  ///
  /// - Parameters:
  ///   - loss: This rank's loss (ignored when `weight` is 0).
  ///   - gradients: This rank's gradients.
  ///   - weight: This rank's weight in the average, ≥ 0.
  /// - Returns: The averaged loss and gradients.
  /// - Precondition: `weight ≥ 0`, and some rank's weight is positive. Every rank calls it
  ///   with tensors of the same scalar type and shapes; when not, every rank stops with a
  ///   message naming what differs and each rank's value.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func allreduceMean<Scalar: TensorScalar>(
    loss: Scalar, gradients: consuming [Tensor<Scalar>], weight: Int
  ) -> (loss: Scalar, gradients: [Tensor<Scalar>]) {
    var means = gradients
    var losses = [loss]
    combineInPlace(&means, &losses, weight: weight, .allreduceMeanWithLoss)
    return (losses[0], means)
  }

  // MARK: Broadcast

  /// `root`'s tensors, on every rank.
  ///
  /// The ranks first check that they all broadcast from `root` tensors of the same scalar type
  /// and shapes (one `MPI_Allreduce` of a hash of them), then `root`'s elements travel in one
  /// `MPI_Bcast`.
  ///
  /// - Parameters:
  ///   - tensors: This rank's tensors, of the same shapes on every rank; only `root`'s values
  ///     are read.
  ///   - root: The rank whose values everyone gets.
  /// - Returns: `root`'s tensors.
  /// - Throws: ``DistributedError/configurationMismatch(_:)`` on every rank when the roots,
  ///   scalar types, numbers of tensors or shapes differ between ranks, naming each rank's.
  /// - Precondition: `root` is in `0..<size`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func broadcast<Scalar: TensorScalar>(
    _ tensors: [Tensor<Scalar>], from root: Int = 0
  ) throws(DistributedError) -> [Tensor<Scalar>] {
    requireRank(root, "broadcast")
    try checkSameCall(.broadcast(root: root), tensors)
    let count = tensors.reduce(0) { $0 + $1.scalarCount }
    let buffer = scratch.buffer(of: Scalar.self, count: count)
    if rank == root { pack(tensors, [], weight: 1, into: buffer) }
    MPI.broadcast(UnsafeMutableRawBufferPointer(buffer), of: .scalar(Scalar.self), from: root)
    guard rank != root else { return tensors }
    var received = tensors
    var none: [Scalar] = []
    unpack(buffer, into: &received, &none, dividedBy: 1)
    return received
  }

  /// `root`'s text, on every rank.
  ///
  /// - Precondition: `root` is in `0..<size`.
  public func broadcast(_ text: String, from root: Int = 0) -> String {
    requireRank(root, "broadcast")
    requireSameCall(.broadcastText(root: root))
    var length = [Int64(text.utf8.count)]
    length.withUnsafeMutableBytes { MPI.broadcast($0, of: .int64, from: root) }
    var bytes = rank == root ? Array(text.utf8) : [UInt8](repeating: 0, count: Int(length[0]))
    bytes.withUnsafeMutableBytes { MPI.broadcast($0, of: .byte, from: root) }
    return rank == root ? text : String(decoding: bytes, as: UTF8.self)
  }

  // MARK: Allgather

  /// Every rank's `text`, rank 0's first, on every rank.
  ///
  /// - Complexity: Two collectives: the lengths, then the bytes.
  public func allgather(_ text: String) -> [String] {
    requireSameCall(.allgather)
    return gather(text)
  }

  /// Every rank's `text`, as ``allgather(_:)`` gives it, without checking that every rank calls
  /// it: for the checks themselves.
  func gather(_ text: String) -> [String] {
    let bytes = Array(text.utf8)
    let counts = MPI.allgather(Int64(bytes.count)).map { Int($0) }
    let gathered = MPI.allgather(bytes, counts: counts)
    var texts: [String] = []
    var offset = 0
    for count in counts {
      texts.append(String(decoding: gathered[offset..<(offset + count)], as: UTF8.self))
      offset += count
    }
    return texts
  }

  // MARK: Support

  /// The fused collective behind the allreduces, in place: one `MPI_Allreduce` of
  /// `[w·tensors…, w·extras…, w]`, then each tensor and extra replaced by its sum divided by
  /// `Σw` (a weighted mean), or with `weight` nil, of `[tensors…, extras…]` replaced by the
  /// sums.
  ///
  /// The buffer is the context's scratch memory, reused from step to step; when a tensor's
  /// storage is not shared (as the gradients fresh from a backward pass are), the results go
  /// into it, so a training step's allreduce allocates nothing.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func combineInPlace<Scalar: TensorScalar>(
    _ tensors: inout [Tensor<Scalar>], _ extras: inout [Scalar], weight: Int?,
    _ call: CollectiveCall
  ) {
    if let weight, weight < 0 {
      fatalError("MPIContext.\(call.name): the weight must be ≥ 0, got \(weight)")
    }
    // A job of one: the sum and the mean are the input, exactly, with no MPI call.
    guard size > 1 || weight == 0 else { return }
    requireSameCall(call, tensors)
    let count = tensors.reduce(0) { $0 + $1.scalarCount } + extras.count + (weight == nil ? 0 : 1)
    let buffer = scratch.buffer(of: Scalar.self, count: count)
    if let weight {
      pack(tensors, extras + [1], weight: Scalar(weight), into: buffer)
    } else {
      pack(tensors, extras, weight: 1, into: buffer)
    }
    countReductions()
    MPI.allreduceSum(UnsafeMutableRawBufferPointer(buffer), of: .scalar(Scalar.self))
    var divisor: Scalar = 1
    if weight != nil {
      divisor = buffer[count - 1]
      guard divisor > 0 else {
        fatalError("MPIContext.\(call.name): every rank passed weight 0; nothing to average")
      }
    }
    unpack(buffer, into: &tensors, &extras, dividedBy: divisor)
  }

  /// Writes `weight·tensors` then `weight·extras` into `buffer`; zeros throughout when `weight`
  /// is 0, whatever the tensors hold (an unused rank's values may be NaN).
  private func pack<Scalar: TensorScalar>(
    _ tensors: [Tensor<Scalar>], _ extras: [Scalar], weight: Scalar,
    into buffer: UnsafeMutableBufferPointer<Scalar>
  ) {
    guard weight != 0 else {
      buffer.update(repeating: 0)
      return
    }
    var offset = 0
    for tensor in tensors {
      tensor.withUnsafeBufferPointer { source in
        let target = UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + source.count)])
        if weight == 1 {
          _ = target.update(fromContentsOf: source)
        } else {
          for index in source.indices { target[index] = weight * source[index] }
        }
      }
      offset += tensor.scalarCount
    }
    for extra in extras {
      buffer[offset] = weight * extra
      offset += 1
    }
  }

  /// Replaces `tensors` then `extras` by the leading elements of `buffer` divided by `divisor`.
  private func unpack<Scalar: TensorScalar>(
    _ buffer: UnsafeMutableBufferPointer<Scalar>, into tensors: inout [Tensor<Scalar>],
    _ extras: inout [Scalar], dividedBy divisor: Scalar
  ) {
    var offset = 0
    for index in tensors.indices {
      tensors[index].withUnsafeMutableBufferPointer { target in
        let source = UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + target.count)])
        if divisor == 1 {
          _ = target.update(fromContentsOf: source)
        } else {
          for index in target.indices { target[index] = source[index] / divisor }
        }
        offset += target.count
      }
    }
    for index in extras.indices {
      extras[index] = buffer[offset] / divisor
      offset += 1
    }
  }

  /// Stops with a message unless `root` names a rank.
  func requireRank(_ root: Int, _ caller: String) {
    guard (0..<size).contains(root) else {
      fatalError("MPIContext.\(caller): rank \(root) is outside 0..<\(size)")
    }
  }
}
