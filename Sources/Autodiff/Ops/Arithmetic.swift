// On `@_specialize`, see the Performance article in Documentation.docc.

// Arithmetic with NumPy broadcasting: + - * / and negation, their compound assignments, and
// their mixing with scalars. The gradient of a broadcast operand is summed back to its shape by
// the sweep (see `Rule.binary`).

extension Tensor {
  /// `a + b`, broadcast. ∂/∂a = g, ∂/∂b = g.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { elementwise(.add, lhs, rhs, "+") }

  /// `a − b`, broadcast. ∂/∂a = g, ∂/∂b = −g.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
    elementwise(.subtract, lhs, rhs, "-")
  }

  /// `a · b` elementwise, broadcast. ∂/∂a = g·b, ∂/∂b = g·a.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
    elementwise(.multiply, lhs, rhs, "*")
  }

  /// `a / b` elementwise, broadcast. ∂/∂a = g/b, ∂/∂b = −g·a/b² = −(g/b)·y where y = a/b.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { elementwise(.divide, lhs, rhs, "/") }

  /// `−x`. ∂/∂x = −g.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static prefix func - (x: Tensor) -> Tensor { elementwise(.negate, x) }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Scalar, rhs: Tensor) -> Tensor { Tensor(lhs) + rhs }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { lhs + Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Scalar, rhs: Tensor) -> Tensor { Tensor(lhs) - rhs }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { lhs - Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { Tensor(lhs) * rhs }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { lhs * Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Scalar, rhs: Tensor) -> Tensor { Tensor(lhs) / rhs }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func / (lhs: Tensor, rhs: Scalar) -> Tensor { lhs / Tensor(rhs) }

  // An integer with a tensor, as NumPy mixes them: `2 * x`, `1 - x`, `n * x` for an `Int` n. The
  // integer converts to `Scalar` first, so the result is that of the `Scalar` forms above.
  //
  // These forms also keep long expressions quick to type-check: an integer literal takes its
  // default type, `Int`, here, which Swift's solver tries first, instead of `Scalar`, a
  // non-default type it reaches only after the other overloads of every operator around it.
  // `1 / (1 + exp(-x)) * (1 - 1 / (1 + exp(-x))) + 2 * x - 3` type-checks in milliseconds
  // instead of failing after seconds, without Foundation imported (the Performance article has
  // the figures; .ci/typecheck-speed keeps them).

  /// `Scalar(lhs) + rhs`: an integer and a tensor, broadcast.
  @_specialize(where Scalar == Float, Integer == Int)
  @_specialize(where Scalar == Double, Integer == Int)
  public static func + <Integer: BinaryInteger>(lhs: Integer, rhs: Tensor) -> Tensor {
    Scalar(lhs) + rhs
  }
  /// `lhs + Scalar(rhs)`: a tensor with an integer, broadcast.
  @_specialize(where Scalar == Float, Integer == Int)
  @_specialize(where Scalar == Double, Integer == Int)
  public static func + <Integer: BinaryInteger>(lhs: Tensor, rhs: Integer) -> Tensor {
    lhs + Scalar(rhs)
  }

  /// `Scalar(lhs) - rhs`: an integer and a tensor, broadcast.
  @_specialize(where Scalar == Float, Integer == Int)
  @_specialize(where Scalar == Double, Integer == Int)
  public static func - <Integer: BinaryInteger>(lhs: Integer, rhs: Tensor) -> Tensor {
    Scalar(lhs) - rhs
  }
  /// `lhs - Scalar(rhs)`: a tensor with an integer, broadcast.
  @_specialize(where Scalar == Float, Integer == Int)
  @_specialize(where Scalar == Double, Integer == Int)
  public static func - <Integer: BinaryInteger>(lhs: Tensor, rhs: Integer) -> Tensor {
    lhs - Scalar(rhs)
  }

  /// `Scalar(lhs) * rhs`: an integer and a tensor, broadcast.
  @_specialize(where Scalar == Float, Integer == Int)
  @_specialize(where Scalar == Double, Integer == Int)
  public static func * <Integer: BinaryInteger>(lhs: Integer, rhs: Tensor) -> Tensor {
    Scalar(lhs) * rhs
  }
  /// `lhs * Scalar(rhs)`: a tensor with an integer, broadcast.
  @_specialize(where Scalar == Float, Integer == Int)
  @_specialize(where Scalar == Double, Integer == Int)
  public static func * <Integer: BinaryInteger>(lhs: Tensor, rhs: Integer) -> Tensor {
    lhs * Scalar(rhs)
  }

  /// `Scalar(lhs) / rhs`: an integer and a tensor, broadcast.
  @_specialize(where Scalar == Float, Integer == Int)
  @_specialize(where Scalar == Double, Integer == Int)
  public static func / <Integer: BinaryInteger>(lhs: Integer, rhs: Tensor) -> Tensor {
    Scalar(lhs) / rhs
  }
  /// `lhs / Scalar(rhs)`: a tensor with an integer, broadcast.
  @_specialize(where Scalar == Float, Integer == Int)
  @_specialize(where Scalar == Double, Integer == Int)
  public static func / <Integer: BinaryInteger>(lhs: Tensor, rhs: Integer) -> Tensor {
    lhs / Scalar(rhs)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func += (lhs: inout Tensor, rhs: Tensor) { lhs.update(.add, rhs, "+=") { $0 + $1 } }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func -= (lhs: inout Tensor, rhs: Tensor) {
    lhs.update(.subtract, rhs, "-=") { $0 - $1 }
  }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func *= (lhs: inout Tensor, rhs: Tensor) {
    lhs.update(.multiply, rhs, "*=") { $0 * $1 }
  }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func /= (lhs: inout Tensor, rhs: Tensor) {
    lhs.update(.divide, rhs, "/=") { $0 / $1 }
  }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func += (lhs: inout Tensor, rhs: Scalar) { lhs += Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func -= (lhs: inout Tensor, rhs: Scalar) { lhs -= Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func *= (lhs: inout Tensor, rhs: Scalar) { lhs *= Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func /= (lhs: inout Tensor, rhs: Scalar) { lhs /= Tensor(rhs) }

  /// `self = self ⊕ rhs`: in place when neither side is recorded and `self` owns its buffer (the
  /// usual optimizer update); otherwise through the recorded op.
  ///
  /// - Precondition: `rhs` broadcasts to `self`'s shape: a compound assignment keeps the shape of
  ///   its left side, as in NumPy and PyTorch.
  private mutating func update(
    _ function: BinaryFunction, _ rhs: Tensor, _ name: StaticString,
    recorded: (Tensor, Tensor) -> Tensor
  ) {
    if shape != rhs.shape {
      let result = broadcastShape(shape, rhs.shape)
      check(
        result == shape,
        "\(name): the right side's shape \(rhs.shape.shapeDescription) "
          + (result.map { "would make the result \($0.shapeDescription)" } ?? "does not broadcast")
          + ", but a compound assignment keeps its left side's shape "
          + "\(shape.shapeDescription); write x = x \(String("\(name)".dropLast())) y to change it")
    }
    guard trace == nil, rhs.trace == nil, isKnownUniquelyReferenced(&storage) else {
      self = recorded(self, rhs)
      return
    }
    let strides = broadcastStrides(from: rhs.shape, to: shape)
    let target = storage
    target.withUnsafeMutableBufferPointer { c in
      rhs.withUnsafeBufferPointer { b in
        broadcastBinaryKernel(
          function, UnsafeBufferPointer(c), stridesA: shape.rowMajorStrides, b, stridesB: strides,
          c, shape: shape)
      }
    }
  }
}

extension Tensor {
  /// `function` applied to each element, unrecorded; pending when large (Execution/Fusion/).
  func mapped(_ function: UnaryFunction) -> Tensor {
    if scalarCount >= Fusion.minimumCount {
      return .pending(shape: shape, .unary(function, storage))
    }
    let result = Storage<Scalar>.uninitialized(count: scalarCount)
    storage.withUnsafeBufferPointer { x in
      result.withUnsafeMutableBufferPointer { y in unaryKernel(function, x, y) }
    }
    return Tensor(shape: shape, storage: result)
  }

  /// `−self`, written over `self`'s own buffer when nothing else holds it and it is neither
  /// recorded nor pending: a pullback's last step on a temporary it just made (divide's
  /// −(g/b)·y), which then costs no allocation (scalar-graph benchmark). Otherwise the recorded
  /// negation, which a pending temporary fuses with instead of being written out first.
  consuming func negated() -> Tensor {
    guard trace == nil, !storage.isPending, isKnownUniquelyReferenced(&storage) else {
      return -self
    }
    storage.withUnsafeMutableBufferPointer { x in unaryKernel(.negate, UnsafeBufferPointer(x), x) }
    return self
  }

  /// Sums a gradient computed at a broadcast shape back to `shape`, the operand's.
  func unbroadcast(to shape: [Int]) -> Tensor {
    if self.shape == shape { return self }
    return sum(alongAxes: broadcastAxes(from: shape, to: self.shape)).reshaped(to: shape)
  }

  /// Adds `other` (of the same shape) into `self`, unrecorded: in place, or as a pending sum
  /// when either side is pending (computing it would cost a pass the fused sum saves).
  mutating func addUnrecorded(_ other: Tensor) {
    assert(shape == other.shape && trace == nil)
    if storage.isPending || other.storage.isPending {
      self = .pending(shape: shape, .binary(.add, .elements(storage), .elements(other.storage)))
      return
    }
    makeUnique()
    storage.withUnsafeMutableBufferPointer { y in
      other.withUnsafeBufferPointer { x in addKernel(x, into: y) }
    }
  }
}

/// `function` applied to `a` and `b` broadcast together, unrecorded; pending when large and each
/// operand is of the result's count or a single element (Execution/Fusion/).
///
/// - Precondition: The shapes broadcast (see ``Tensor``); `name` names the operation.
func zipped<Scalar>(
  _ function: BinaryFunction, _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, _ name: StaticString,
  at location: SourceLocation? = nil
) -> Tensor<Scalar> {
  // Two scalars need no broadcasting (a scalar graph: `broadcastShape` made and checked a shape).
  guard let shape = a.shape.isEmpty && b.shape.isEmpty ? a.shape : broadcastShape(a.shape, b.shape)
  else {
    fail(
      "\(name): shapes \(a.shape.shapeDescription) and \(b.shape.shapeDescription) do not "
        + "broadcast: aligned from the last axis, each pair of extents must be equal or contain 1",
      at: location)
  }
  // A broadcast of two valid shapes can hold more elements than either: [1 << 40, 1] and
  // [1, 1 << 40].
  let count =
    shape == a.shape || shape == b.shape
    ? shape.elementCount : checkShape(shape, of: Scalar.self, "\(name)", at: location)
  if count >= Fusion.minimumCount, let x = a.pendingOperand(count: count),
    let y = b.pendingOperand(count: count)
  {
    return .pending(shape: shape, .binary(function, x, y))
  }
  let result = Storage<Scalar>.uninitialized(count: count)
  a.withUnsafeBufferPointer { x in
    b.withUnsafeBufferPointer { y in
      result.withUnsafeMutableBufferPointer { z in
        guard z.count > 0 else { return }
        if x.count == z.count && y.count == z.count {
          binaryKernel(
            function, x.baseAddress!, strideA: 1, y.baseAddress!, strideB: 1,
            z.baseAddress!, count: z.count)
        } else if x.count == z.count && y.count == 1 {
          binaryKernel(
            function, x.baseAddress!, strideA: 1, y.baseAddress!, strideB: 0,
            z.baseAddress!, count: z.count)
        } else if x.count == 1 && y.count == z.count {
          binaryKernel(
            function, x.baseAddress!, strideA: 0, y.baseAddress!, strideB: 1,
            z.baseAddress!, count: z.count)
        } else {
          broadcastBinaryKernel(
            function, x, stridesA: broadcastStrides(from: a.shape, to: shape),
            y, stridesB: broadcastStrides(from: b.shape, to: shape), z, shape: shape)
        }
      }
    }
  }
  return Tensor(shape: shape, storage: result)
}

extension Tensor {
  /// The tensor as an operand of a pending operation of `count` elements: its storage when it has
  /// that many, its value when it has one; `nil` when it broadcasts another way.
  fileprivate func pendingOperand(count: Int) -> PendingOperand<Scalar>? {
    if scalarCount == count { return .elements(storage) }
    if scalarCount == 1 { return .scalar(storage.first) }
    return nil
  }
}
