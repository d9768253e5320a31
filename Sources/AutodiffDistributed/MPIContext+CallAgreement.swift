import AutodiffNN

// MPI matches collective calls by their order alone, and an allreduce checks neither the element
// type nor, when the byte counts agree, the count: rank 0 summing 4 Floats while rank 1 sums 2
// Doubles "succeeds" with garbage on both. So before its data travels, every collective compares
// what the ranks pass, cheaply: each rank hashes the call, the scalar type, the number of tensors
// and their shapes into 64 bits h, and one MPI_Allreduce with MPI_MAX of the pair (h, ~h) gives
// every rank max h and ~min h (~ reverses the order of signed integers). The ranks agree exactly
// when max h = min h. Only then do they describe their calls to each other (one allgather), so
// that each can name what differs, with every rank's value, before all stop together.

/// A collective as the ranks compare it: the routine, and its root for a broadcast.
enum CollectiveCall {
  case allreduceSum, allreduceMean, allreduceMeanWithLoss
  case valueWithGradient(bucketCapacity: Int)
  case shardedStep(bucketCapacity: Int)
  case shardedUpdate(bucketCapacity: Int)
  case shardedState
  case broadcast(root: Int)
  case broadcastText(root: Int)
  case allgather, requireAgreement, barrier

  /// The call as messages name it: `"broadcast from rank 0"`.
  var name: String {
    switch self {
    case .allreduceSum: "allreduceSum"
    case .allreduceMean: "allreduceMean"
    case .allreduceMeanWithLoss: "allreduceMean(loss:gradients:weight:)"
    case .valueWithGradient(let capacity):
      "valueWithGradient(at:on:bucketCapacity:of:) with buckets of \(capacity) bytes"
    case .shardedStep(let capacity):
      "ShardedOptimizer.step(_:on:of:) with buckets of \(capacity) bytes"
    case .shardedUpdate(let capacity):
      "ShardedOptimizer.update(_:along:) with buckets of \(capacity) bytes"
    case .shardedState: "ShardedOptimizer.wholeOptimizer()"
    case .broadcast(let root): "broadcast from rank \(root)"
    case .broadcastText(let root): "broadcast of text from rank \(root)"
    case .allgather: "allgather"
    case .requireAgreement: "requireAgreement(on:)"
    case .barrier: "barrier"
    }
  }

  /// Adds the call to `hash`, with no text (the name of a broadcast would allocate).
  func combine(into hash: inout AgreementHash) {
    switch self {
    case .allreduceSum: hash.combine(1)
    case .allreduceMean: hash.combine(2)
    case .allreduceMeanWithLoss: hash.combine(3)
    case .valueWithGradient(let capacity): hash.combine(4, capacity)
    case .shardedStep(let capacity): hash.combine(10, capacity)
    case .shardedUpdate(let capacity): hash.combine(11, capacity)
    case .shardedState: hash.combine(12)
    case .broadcast(let root): hash.combine(5, root)
    case .broadcastText(let root): hash.combine(6, root)
    case .allgather: hash.combine(7)
    case .requireAgreement: hash.combine(8)
    case .barrier: hash.combine(9)
    }
  }
}

/// A 64-bit hash of integers that is the same in every process, as Swift's `Hasher` (seeded per
/// process) is not.
struct AgreementHash {
  private(set) var value: UInt64 = 0x9E37_79B9_7F4A_7C15

  /// Mixes in each word with splitmix64's finalizer, a bijection of 64-bit words that spreads
  /// every input bit over the output, so that sequences that differ (`[2, 3]` and `[3, 2]`)
  /// give different values but with probability 2⁻⁶⁴.
  mutating func combine(_ words: Int...) {
    for word in words {
      var z = (value ^ UInt64(bitPattern: Int64(word))) &+ 0x9E37_79B9_7F4A_7C15
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      value = z ^ (z >> 31)
    }
  }

  /// Mixes in the scalar type (by name), the number of tensors, and each one's shape (its rank,
  /// then its dimensions, so that no two lists of shapes mix the same words).
  mutating func combine<Scalar: TensorScalar>(_ tensors: [Tensor<Scalar>]) {
    for byte in "\(Scalar.self)".utf8 { combine(Int(byte)) }
    combine(tensors.count)
    for tensor in tensors {
      combine(tensor.shape.count)
      for dimension in tensor.shape { combine(dimension) }
    }
  }
}

extension MPIContext {
  /// Stops every rank, each with a message naming `call` and what differs with each rank's
  /// value, unless every rank makes the same call with tensors of the same scalar type and
  /// shapes.
  ///
  /// - Complexity: One `MPI_Allreduce` of two integers, and work in the number of dimensions;
  ///   none in a job of one.
  func requireSameCall<Scalar: TensorScalar>(_ call: CollectiveCall, _ tensors: [Tensor<Scalar>]) {
    if let mismatches = mismatches(call, tensors) { stop(call, mismatches) }
  }

  /// Stops every rank, each with a message naming `call` and what differs with each rank's
  /// value, unless every rank makes the same call (a collective on text, or a barrier).
  func requireSameCall(_ call: CollectiveCall) {
    var hash = AgreementHash()
    call.combine(into: &hash)
    if let mismatches = mismatches(call, hash, { [("collective", call.name)] }) {
      stop(call, mismatches)
    }
  }

  /// Throws on every rank, naming what differs with each rank's value, unless every rank makes
  /// the same call with tensors of the same scalar type and shapes.
  func checkSameCall<Scalar: TensorScalar>(
    _ call: CollectiveCall, _ tensors: [Tensor<Scalar>]
  ) throws(DistributedError) {
    if let mismatches = mismatches(call, tensors) { throw .configurationMismatch(mismatches) }
  }

  private func mismatches<Scalar: TensorScalar>(
    _ call: CollectiveCall, _ tensors: [Tensor<Scalar>]
  ) -> [ConfigurationMismatch]? {
    var hash = AgreementHash()
    call.combine(into: &hash)
    hash.combine(tensors)
    return mismatches(call, hash) {
      [
        ("collective", call.name), ("scalar type", "\(Scalar.self)"),
        ("tensor count", "\(tensors.count)"),
        (
          "shape list",
          tensors.isEmpty ? "(none)" : tensors.map { "\($0.shape)" }.joined(separator: " ")
        ),
      ]
    }
  }

  /// What differs between the ranks' calls, or nil when every rank's `hash` is the same.
  ///
  /// Only when some rank's hash differs does each rank describe its call (`fields`) and learn
  /// every other's, to name what differs.
  private func mismatches(
    _ call: CollectiveCall, _ hash: AgreementHash, _ fields: () -> [(String, String)]
  ) -> [ConfigurationMismatch]? {
    guard size > 1 else { return nil }
    let value = Int64(bitPattern: hash.value)
    var extremes = (value, ~value)
    withUnsafeMutableBytes(of: &extremes) { MPI.allreduceMax($0, of: .int64) }
    // extremes.0 = max h, extremes.1 = max ~h = ~min h.
    guard extremes.0 != ~extremes.1 else { return nil }
    return mismatches(among: fields())
  }

  /// Ends every rank with status 1 after printing what differs: every rank detects the mismatch
  /// at the same call, so every rank stops here and finalizes together.
  private func stop(_ call: CollectiveCall, _ mismatches: [ConfigurationMismatch]) -> Never {
    exit(
      failure: "AutodiffDistributed: \(name): MPIContext.\(call.name): the ranks' calls differ:\n"
        + mismatches.map(\.description).joined(separator: "\n")
        + "\nEvery rank must make the same collective calls, in the same order, with tensors of "
        + "the same scalar type and shapes.")
  }
}
