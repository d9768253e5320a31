// What the elementwise rules are written in (ElementwiseOperation.swift), so that each rule is
// written once and serves every path: plain numbers, for a first-order sweep of scalar records;
// tensors, for nodes, whose operations record when a sweep records itself (second order), and
// fuse when they are large (Execution/Fusion/).

/// Numbers or tensors: the arithmetic, the primitives and the masks that elementwise rules use.
protocol ElementwiseAlgebra {
  associatedtype Scalar: TensorScalar

  // Named, not operators: operator requirements of a protocol join every `+` overload set the
  // type checker sees, and long tensor expressions in client code then took minutes to check.
  // The rules' file spells them as operators (ElementwiseOperation.swift).
  static func sum(_ lhs: Self, _ rhs: Self) -> Self
  static func difference(_ lhs: Self, _ rhs: Self) -> Self
  static func product(_ lhs: Self, _ rhs: Self) -> Self
  static func quotient(_ lhs: Self, _ rhs: Self) -> Self
  static func negative(_ x: Self) -> Self

  /// `value`, everywhere.
  static func constant(_ value: Scalar) -> Self
  /// The primitive `operation` of `x`: recorded when `x` is a recorded tensor.
  static func apply(_ operation: ElementwiseOperation, _ x: Self) -> Self
  /// The primitive `operation` of `x` and `y`: recorded when either is a recorded tensor.
  static func apply(_ operation: ElementwiseOperation, _ x: Self, _ y: Self) -> Self
  /// A piecewise-constant kernel of `x` (a mask, a sign): a constant, whose derivative is 0.
  static func mask(_ function: UnaryFunction, _ x: Self) -> Self
  /// A piecewise-constant kernel of `x` and `y`: a constant.
  static func mask(_ function: BinaryFunction, _ x: Self, _ y: Self) -> Self
  /// `kernel(a, b)`, a rule's expression in one pass, where it computes `composite()` (the same
  /// operations in the same order, so the same bits) as a first-order sweep does; `composite()`
  /// itself where that must record.
  static func fused(
    _ kernel: BinaryFunction, _ a: Self, _ b: Self, _ composite: () -> Self
  ) -> Self
  /// `−self`, in place where nothing else holds it.
  consuming func negated() -> Self
}

/// A number as an `ElementwiseAlgebra`: what a first-order sweep of scalar records computes on.
/// A wrapper, inlined away, because `TensorScalar` is public and the algebra is not.
struct Number<Scalar: TensorScalar>: ElementwiseAlgebra {
  var value: Scalar

  @inline(__always) init(_ value: Scalar) { self.value = value }

  @inline(__always) static func sum(_ lhs: Self, _ rhs: Self) -> Self {
    Self(lhs.value + rhs.value)
  }
  @inline(__always) static func difference(_ lhs: Self, _ rhs: Self) -> Self {
    Self(lhs.value - rhs.value)
  }
  @inline(__always) static func product(_ lhs: Self, _ rhs: Self) -> Self {
    Self(lhs.value * rhs.value)
  }
  @inline(__always) static func quotient(_ lhs: Self, _ rhs: Self) -> Self {
    Self(lhs.value / rhs.value)
  }
  @inline(__always) static func negative(_ x: Self) -> Self { Self(-x.value) }

  @inline(__always) static func constant(_ value: Scalar) -> Self { Self(value) }
  @inline(__always) static func apply(_ operation: ElementwiseOperation, _ x: Self) -> Self {
    Self(operation.value(x.value, 0))
  }
  @inline(__always)
  static func apply(_ operation: ElementwiseOperation, _ x: Self, _ y: Self) -> Self {
    Self(operation.value(x.value, y.value))
  }
  @inline(__always) static func mask(_ function: UnaryFunction, _ x: Self) -> Self {
    Self(function.value(x.value))
  }
  @inline(__always)
  static func mask(_ function: BinaryFunction, _ x: Self, _ y: Self) -> Self {
    Self(function.value(x.value, y.value))
  }
  /// The composite: the kernel computes the same operations in the same order, so the same bits
  /// (PrimitiveTableTests), and on one number the composite costs less than a call.
  @inline(__always)
  static func fused(
    _ kernel: BinaryFunction, _ a: Self, _ b: Self, _ composite: () -> Self
  ) -> Self {
    composite()
  }
  @inline(__always) func negated() -> Self { Self(-value) }
}

extension Tensor: ElementwiseAlgebra {
  static func sum(_ lhs: Tensor, _ rhs: Tensor) -> Tensor { lhs + rhs }
  static func difference(_ lhs: Tensor, _ rhs: Tensor) -> Tensor { lhs - rhs }
  static func product(_ lhs: Tensor, _ rhs: Tensor) -> Tensor { lhs * rhs }
  static func quotient(_ lhs: Tensor, _ rhs: Tensor) -> Tensor { lhs / rhs }
  static func negative(_ x: Tensor) -> Tensor { -x }
  static func constant(_ value: Scalar) -> Tensor { Tensor(value) }

  static func apply(_ operation: ElementwiseOperation, _ x: Tensor) -> Tensor {
    elementwise(operation, x)
  }

  static func apply(_ operation: ElementwiseOperation, _ x: Tensor, _ y: Tensor) -> Tensor {
    elementwise(operation, x, y, operation.name)
  }

  static func mask(_ function: UnaryFunction, _ x: Tensor) -> Tensor { x.mapped(function) }

  static func mask(_ function: BinaryFunction, _ x: Tensor, _ y: Tensor) -> Tensor {
    zipped(function, x, y, "pullback")
  }

  /// One fused kernel when neither tensor is recorded (a first-order sweep, the common case);
  /// else the composite, whose operations record so that the gradient can be differentiated
  /// again.
  static func fused(
    _ kernel: BinaryFunction, _ a: Tensor, _ b: Tensor, _ composite: () -> Tensor
  ) -> Tensor {
    if a.isRecorded || b.isRecorded { return composite() }
    return zipped(kernel, a, b, "pullback")
  }
}
