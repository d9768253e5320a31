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
  /// - Parameter tensors: This rank's tensors; every rank passes tensors of the same shapes in
  ///   the same order.
  /// - Returns: The sums, in the shapes of `tensors`.
  /// - Complexity: One `MPI_Allreduce` of all the elements together; none in a job of one.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func allreduceSum<Scalar: TensorScalar>(_ tensors: [Tensor<Scalar>]) -> [Tensor<Scalar>] {
    // A job of one: the sum is the input, with no copy and no MPI call.
    guard size > 1 else { return tensors }
    var buffer = packed(tensors, weight: 1, extras: [])
    allreduceSum(&buffer)
    return unpacked(buffer, shapes: tensors.map(\.shape), dividedBy: 1)
  }

  /// The average of every rank's `gradients`, each rank's weighted by `weight`, on every rank:
  /// `Σᵣ weightᵣ·gradientsᵣ / Σᵣ weightᵣ`.
  ///
  /// When each rank's gradients are the mean over its share of a batch, passing the share's size
  /// as `weight` gives exactly the mean over the whole batch, however unevenly it was divided.
  /// A rank with `weight` 0 contributes nothing; its gradients are not read (pass zeros).
  ///
  /// - Parameters:
  ///   - gradients: This rank's gradients; every rank passes tensors of the same shapes in the
  ///     same order.
  ///   - weight: This rank's weight in the average, ≥ 0: the number of examples it used.
  /// - Returns: The weighted averages, in the shapes of `gradients`.
  /// - Precondition: `weight ≥ 0`, and some rank's weight is positive.
  /// - Complexity: One `MPI_Allreduce` of all the elements together, and the weight with them;
  ///   none in a job of one.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func allreduceMean<Scalar: TensorScalar>(
    _ gradients: [Tensor<Scalar>], weight: Int = 1
  ) -> [Tensor<Scalar>] {
    fusedMean(gradients, extras: [], weight: weight, "allreduceMean").tensors
  }

  /// The weighted average of every rank's loss and gradients, as
  /// ``allreduceMean(_:weight:)`` computes it, with the loss in the same `MPI_Allreduce`.
  ///
  /// - Parameters:
  ///   - loss: This rank's loss (ignored when `weight` is 0).
  ///   - gradients: This rank's gradients.
  ///   - weight: This rank's weight in the average, ≥ 0.
  /// - Returns: The averaged loss and gradients.
  /// - Precondition: `weight ≥ 0`, and some rank's weight is positive.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func allreduceMean<Scalar: TensorScalar>(
    loss: Scalar, gradients: [Tensor<Scalar>], weight: Int
  ) -> (loss: Scalar, gradients: [Tensor<Scalar>]) {
    let (tensors, extras) = fusedMean(gradients, extras: [loss], weight: weight, "allreduceMean")
    return (extras[0], tensors)
  }

  // MARK: Broadcast

  /// `root`'s tensors, on every rank.
  ///
  /// The ranks first check that they all hold tensors of the same shapes (one
  /// ``requireAgreement(on:)``), then `root`'s elements travel in one `MPI_Bcast`.
  ///
  /// - Parameters:
  ///   - tensors: This rank's tensors, of the same shapes on every rank; only `root`'s values
  ///     are read.
  ///   - root: The rank whose values everyone gets.
  /// - Returns: `root`'s tensors.
  /// - Throws: ``DistributedError/configurationMismatch(_:)`` on every rank when the shapes
  ///   differ between ranks.
  /// - Precondition: `root` is in `0..<size`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func broadcast<Scalar: TensorScalar>(
    _ tensors: [Tensor<Scalar>], from root: Int = 0
  ) throws(DistributedError) -> [Tensor<Scalar>] {
    requireRank(root, "broadcast")
    try requireAgreement(on: [
      "element type": Scalar._name,
      "tensor shapes": tensors.map { "[" + $0.shape.map(String.init).joined(separator: ", ") + "]" }
        .joined(separator: " "),
    ])
    var buffer = packed(tensors, weight: 1, extras: [])
    buffer.withUnsafeMutableBytes { MPI.broadcast($0, of: .scalar(Scalar.self), from: root) }
    return rank == root ? tensors : unpacked(buffer, shapes: tensors.map(\.shape), dividedBy: 1)
  }

  /// `root`'s text, on every rank.
  ///
  /// - Precondition: `root` is in `0..<size`.
  public func broadcast(_ text: String, from root: Int = 0) -> String {
    requireRank(root, "broadcast")
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

  /// The fused weighted mean: one allreduce of `[w·tensors…, w·extras…, w]`, then everything
  /// divided by `Σw`.
  func fusedMean<Scalar: TensorScalar>(
    _ tensors: [Tensor<Scalar>], extras: [Scalar], weight: Int, _ caller: String
  ) -> (tensors: [Tensor<Scalar>], extras: [Scalar]) {
    guard weight >= 0 else {
      fatalError("MPIContext.\(caller): the weight must be ≥ 0, got \(weight)")
    }
    // A job of one: the mean is the input, exactly, with no copy and no MPI call.
    guard size > 1 || weight == 0 else { return (tensors, extras) }
    var buffer = packed(tensors, weight: Scalar(weight), extras: extras + [1])
    allreduceSum(&buffer)
    let total = buffer.removeLast()
    guard total > 0 else {
      fatalError("MPIContext.\(caller): every rank passed weight 0; nothing to average")
    }
    let extrasStart = buffer.count - extras.count
    let averagedExtras = buffer[extrasStart...].map { $0 / total }
    buffer.removeLast(extras.count)
    return (unpacked(buffer, shapes: tensors.map(\.shape), dividedBy: total), averagedExtras)
  }

  /// One `MPI_Allreduce` summing `buffer` across ranks, in place.
  func allreduceSum<Scalar: TensorScalar>(_ buffer: inout [Scalar]) {
    countAllreduce()
    buffer.withUnsafeMutableBytes { MPI.allreduceSum($0, of: .scalar(Scalar.self)) }
  }

  /// `weight·tensors` followed by `weight·extras`, in one array; zeros throughout when `weight`
  /// is 0, whatever the tensors hold (an unused rank's values may be NaN).
  private func packed<Scalar: TensorScalar>(
    _ tensors: [Tensor<Scalar>], weight: Scalar, extras: [Scalar]
  ) -> [Scalar] {
    let count = tensors.reduce(0) { $0 + $1.scalarCount } + extras.count
    guard weight != 0 else { return [Scalar](repeating: 0, count: count) }
    return [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
      var offset = 0
      for tensor in tensors {
        tensor.withUnsafeBufferPointer { source in
          if weight == 1 {
            _ = UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + source.count)])
              .initialize(fromContentsOf: source)
          } else {
            for index in source.indices { buffer[offset + index] = weight * source[index] }
          }
        }
        offset += tensor.scalarCount
      }
      for extra in extras {
        buffer[offset] = weight * extra
        offset += 1
      }
      initialized = count
    }
  }

  /// `buffer` divided by `divisor` and cut into tensors of `shapes`, in order.
  private func unpacked<Scalar: TensorScalar>(
    _ buffer: [Scalar], shapes: [[Int]], dividedBy divisor: Scalar
  ) -> [Tensor<Scalar>] {
    var offset = 0
    return shapes.map { shape in
      var tensor = Tensor<Scalar>(zeros: shape)
      tensor.withUnsafeMutableBufferPointer { target in
        buffer.withUnsafeBufferPointer { source in
          if divisor == 1 {
            _ = target.update(fromContentsOf: source[offset..<(offset + target.count)])
          } else {
            for index in target.indices { target[index] = source[offset + index] / divisor }
          }
        }
        offset += target.count
      }
      return tensor
    }
  }

  /// Stops with a message unless `root` names a rank.
  func requireRank(_ root: Int, _ caller: String) {
    guard (0..<size).contains(root) else {
      fatalError("MPIContext.\(caller): rank \(root) is outside 0..<\(size)")
    }
  }
}
