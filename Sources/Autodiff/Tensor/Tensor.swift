/// A multidimensional array of `Float` or `Double` whose operations can be differentiated.
///
/// ## Values
///
/// `Tensor` is a value type. Its elements live in one contiguous, row-major buffer that copies of
/// a tensor share until one of them is written to (copy-on-write), so passing and returning
/// tensors copies no elements. A tensor has any rank: a shape `[]` holds one scalar, `[n]` a
/// vector, `[rows, columns]` a matrix. A scalar keeps its element in the tensor itself, with no
/// buffer, so computing with scalars allocates nothing for their values.
///
/// ```swift
/// let x = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let y = 3 * x * x + 1           // elementwise; scalars mix with tensors
/// print(y.sum())                  // 280.0
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
  // `@unchecked`: `elements` may refer to a class, shared only under copy-on-write, and `trace`
  // refers to a tape whose single-task use is documented on `Tape`.

  /// The shape and the elements, in row-major order.
  var elements: Elements<Scalar>

  /// Where the tensor was recorded, or `nil` for a constant.
  var trace: Trace?

  init(_ elements: Elements<Scalar>, trace: Trace? = nil) {
    self.elements = elements
    self.trace = trace
  }

  init(shape: [Int], storage: Storage<Scalar>) {
    assert(shape.elementCount == storage.count, "shape \(shape) for \(storage.count) elements")
    self.init(.buffer(shape: shape, storage: storage))
  }

  /// A tensor of `shape` whose elements `initialize` writes, every one of them: held inline for
  /// a scalar (rank 0), else in a new buffer.
  init(
    shape: [Int], initializingWith initialize: (UnsafeMutableBufferPointer<Scalar>) throws -> Void
  ) rethrows {
    if shape.isEmpty {
      var value = Scalar.zero
      try withUnsafeMutablePointer(to: &value) { try initialize(.init(start: $0, count: 1)) }
      self.init(.scalar(value))
    } else {
      let storage = Storage<Scalar>.uninitialized(count: shape.elementCount)
      try storage.withUnsafeMutableBufferPointer(initialize)
      self.init(shape: shape, storage: storage)
    }
  }

  /// The extent of each axis, outermost first; `[]` for a scalar.
  public var shape: [Int] {
    switch elements {
    case .buffer(let shape, _): shape
    case .scalar: []
    }
  }

  /// The number of axes.
  public var rank: Int { shape.count }

  /// The number of elements: the product of the shape's extents.
  public var scalarCount: Int {
    switch elements {
    case .buffer(_, let storage): storage.count
    case .scalar: 1
    }
  }

  /// The elements in row-major order.
  public var scalars: [Scalar] { withUnsafeBufferPointer { Array($0) } }

  /// The only element of a tensor that has exactly one.
  ///
  /// - Precondition: `scalarCount == 1`.
  public var scalar: Scalar {
    if case .scalar(let bits) = elements { return Elements.value(of: bits) }
    check(
      scalarCount == 1,
      "scalar: a tensor of shape \(shape.shapeDescription) has \(scalarCount) elements, not 1")
    return withUnsafeBufferPointer { $0[0] }
  }

  /// Whether operations on this tensor are being recorded on a tape.
  public var isRecorded: Bool { trace != nil }

  /// Calls `body` with the elements, in row-major order.
  public func withUnsafeBufferPointer<R>(
    _ body: (UnsafeBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    switch elements {
    case .buffer(_, let storage):
      try storage.withUnsafeBufferPointer(body)
    case .scalar(let bits):
      try withUnsafePointer(to: Elements.value(of: bits)) {
        try body(UnsafeBufferPointer(start: $0, count: 1))
      }
    }
  }

  /// Calls `body` with the elements, writable, copying them first if another tensor shares them.
  ///
  /// Writing through the pointer is not recorded on a tape.
  public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    if !isUniquelyReferenced(), case .buffer(let shape, let storage) = elements {
      elements = .buffer(shape: shape, storage: storage.copy())
    }
    switch elements {
    case .buffer(_, let storage):
      return try storage.withUnsafeMutableBufferPointer(body)
    case .scalar(let bits):
      var value = Elements<Scalar>.value(of: bits)
      defer { elements = .scalar(value) }
      return try withUnsafeMutablePointer(to: &value) {
        try body(UnsafeMutableBufferPointer(start: $0, count: 1))
      }
    }
  }

  /// Whether no other tensor shares the elements, so that they can be written in place. An
  /// element held inline is never shared.
  mutating func isUniquelyReferenced() -> Bool {
    guard case .buffer(let shape, var storage) = elements else { return true }
    // The reference read out of `elements` is a second one: drop the tensor's own while asking.
    elements = .scalar(bits: 0)
    defer { elements = .buffer(shape: shape, storage: storage) }
    return isKnownUniquelyReferenced(&storage)
  }

  /// The heap buffer of the elements, or `nil` for a scalar held inline.
  var storage: Storage<Scalar>? {
    if case .buffer(_, let storage) = elements { return storage }
    return nil
  }

  /// The same elements with shape `shape`, which has as many; unrecorded.
  func withShape(_ shape: [Int]) -> Tensor {
    assert(shape.elementCount == scalarCount && trace == nil)
    switch elements {
    case .buffer(_, let storage):
      return Tensor(shape: shape, storage: storage)
    case .scalar(let bits):
      let value = Elements<Scalar>.value(of: bits)
      return shape.isEmpty ? self : Tensor(shape: shape) { $0[0] = value }
    }
  }

  /// Whether the elements are still to be computed (Fusion.swift).
  var isPending: Bool { storage?.isPending ?? false }

  /// The number of elementwise operations that computing the elements takes (Fusion.swift).
  var pendingCost: Int { storage?.pendingCost ?? 0 }

  /// The same value, no longer recorded: a constant for every tape.
  var detached: Tensor { Tensor(elements) }

  /// The same value, recorded as `node` of `tape`.
  func recorded(as node: Int, on tape: Tape) -> Tensor {
    Tensor(elements, trace: Trace(tape: tape, node: node))
  }
}

/// A tensor's shape and elements: a heap buffer, or, for a scalar (rank 0), the element itself,
/// so that computing with scalars allocates nothing for their values (scalar-graph benchmark).
///
/// The element is held as its bit pattern, not as a `Scalar`, so that the layout is the same for
/// `Float` and `Double` and known to the compiler: code that runs unspecialized (a tape node's
/// `deinit`) copies and destroys tensors directly, where a `Scalar` payload made it look up type
/// metadata for every field. And it is one enum (two words) rather than a shape, a buffer and an
/// element side by side, because a `Tensor` of more than four words is copied through value
/// witnesses (a call and a metadata lookup per field), which cost more than the allocations
/// saved.
enum Elements<Scalar: TensorScalar> {
  /// A buffer, which copies of the tensor share until one of them writes, and the shape it is
  /// read with (of any rank, `[]` included).
  case buffer(shape: [Int], storage: Storage<Scalar>)
  /// The element of a scalar, as its bit pattern. A scalar type is at most 64 bits wide
  /// (`Float`, `Double`).
  case scalar(bits: UInt64)

  static func scalar(_ value: Scalar) -> Elements {
    var bits: UInt64 = 0
    withUnsafeMutableBytes(of: &bits) { $0.storeBytes(of: value, as: Scalar.self) }
    return .scalar(bits: bits)
  }

  /// The element whose bit pattern `bits` is.
  static func value(of bits: UInt64) -> Scalar {
    withUnsafeBytes(of: bits) { $0.load(as: Scalar.self) }
  }
}

/// The place of a recorded tensor: its tape and the node that produced it.
struct Trace {
  let tape: Tape
  let node: Int
}
