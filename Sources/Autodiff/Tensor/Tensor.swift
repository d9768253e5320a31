/// A multidimensional array of `Float` or `Double` whose operations can be differentiated.
///
/// ## Values
///
/// `Tensor` is a value type. Its elements live in one contiguous, row-major buffer that copies of
/// a tensor share until one of them is written to (copy-on-write), so passing and returning
/// tensors copies no elements. A tensor has any rank: a shape `[]` holds one scalar, `[n]` a
/// vector, `[rows, columns]` a matrix.
///
/// ```swift
/// let x = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let y = 3 * x * x + 1           // elementwise; scalars mix with tensors
/// print(y.sum())                  // 279.0
/// ```
///
/// Elementwise results of 2¹⁵ elements or more are computed when first read, all the pending
/// operations of a chain in one fused pass (see the Performance article). That changes when the
/// work happens, never the values.
///
/// ## Differentiation
///
/// A tensor returned by ``Tape/watch(_:)`` is *recorded*: every operation that takes it appends
/// a node to the tape, and so does every operation on the results. ``Tape/gradient(of:wrt:seed:createGraph:file:line:)``
/// sweeps the tape backwards and returns exact gradients. The functional forms
/// `gradient(at:of:)` and `valueWithGradient(at:of:)` manage a tape for you.
/// Operations on tensors that are not recorded cost nothing extra.
///
/// ## Thread safety
///
/// A tensor's elements are never shared mutably, so tensors may cross tasks freely. A recorded
/// tensor refers to its tape, which one task at a time may use: computing with recorded tensors
/// of one tape on two tasks at once stops the program (see ``Tape``).
public struct Tensor<Scalar: TensorScalar>: @unchecked Sendable {
  // `@unchecked`: `storage` is a class, shared only under copy-on-write, and `trace` refers to a
  // tape whose single-task use is documented on `Tape`.

  /// The extent of each axis, outermost first; `[]` for a scalar.
  public let shape: [Int]

  /// The elements, in row-major order.
  var storage: Storage<Scalar>

  /// Where the tensor was recorded, or `nil` for a constant. The tape may be finished (see
  /// `liveTrace`); its own sweeps read it either way.
  var trace: Trace?

  /// Where the tensor was recorded, when that tape is not finished (`Tape.isFinished`): where an
  /// operation on it records. A tensor recorded on a finished tape, which a functional
  /// differentiation made and has returned from, is a constant: operations on it record nothing,
  /// and nothing nests on that tape. Read once per operation, by the recording functions, not
  /// by every read of `trace` (a computed `trace` cost 12% of the scalar-graph benchmark).
  var liveTrace: Trace? { liveNode != nil ? trace : nil }

  /// The node of `liveTrace`, read in place: where only the node (or whether there is one) is
  /// needed, binding the trace to a local would copy it, retaining and releasing its tape.
  var liveNode: Int? {
    trace?.tape.isFinished == false ? trace.unsafelyUnwrapped.node : nil
  }

  init(shape: [Int], storage: Storage<Scalar>, trace: Trace? = nil) {
    assert(shape.elementCount == storage.count, "shape \(shape) for \(storage.count) elements")
    self.shape = shape
    self.storage = storage
    self.trace = trace
  }

  /// A tensor of `shape` whose elements are not initialized: for AutodiffNN's losses and
  /// AutodiffDistributed (where MPI writes them). Every element must be written before any is
  /// read.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package init(uninitializedShape shape: [Int]) {
    self.init(shape: shape, storage: .uninitialized(count: shape.elementCount))
  }

  /// The number of axes.
  public var rank: Int { shape.count }

  /// The number of elements: the product of the shape's extents.
  public var scalarCount: Int { storage.count }

  /// The elements in row-major order.
  public var scalars: [Scalar] { storage.withUnsafeBufferPointer { Array($0) } }

  /// The only element of a tensor that has exactly one.
  ///
  /// - Precondition: `scalarCount == 1`.
  public var scalar: Scalar {
    check(
      scalarCount == 1,
      "scalar: a tensor of shape \(shape.shapeDescription) has \(scalarCount) elements, not 1")
    return storage.first
  }

  /// Whether operations on this tensor are being recorded on a tape.
  public var isRecorded: Bool { liveNode != nil }

  /// Calls `body` with the elements, in row-major order.
  @_specialize(where Scalar == Float, R == Void)
  @_specialize(where Scalar == Double, R == Void)
  public func withUnsafeBufferPointer<R>(
    _ body: (UnsafeBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    try storage.withUnsafeBufferPointer(body)
  }

  /// Calls `body` with the elements, writable, copying them first if another tensor shares them.
  ///
  /// Writing through the pointer is not recorded on a tape.
  ///
  /// (Specialized: AutodiffNN's optimizers and losses write their tensors through it.)
  @_specialize(where Scalar == Float, R == Void)
  @_specialize(where Scalar == Double, R == Void)
  public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    makeUnique()
    return try storage.withUnsafeMutableBufferPointer(body)
  }

  /// Copies the elements if another tensor shares them, so they can be written in place.
  mutating func makeUnique() {
    if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
  }

  /// The same value, no longer recorded: a constant for every tape.
  var detached: Tensor { Tensor(shape: shape, storage: storage) }
}

/// The place of a recorded tensor: its tape and the node that produced it.
struct Trace {
  let tape: Tape
  let node: Int
}
