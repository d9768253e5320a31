// The table of elementwise primitives: each row declares its name, its kernel (the function of
// Kernels/Elementwise.swift and Modules/CElementwise that computes it, on numbers and on
// tensors, fused or not), the domain on which it is differentiable, and its pullback, written
// once over `ElementwiseAlgebra`: on numbers for a first-order sweep of scalar records
// (ScalarRecord.swift), on tensors for nodes, recorded when a sweep records itself so that the
// gradient can be differentiated again. The tangent rule is the pullback applied to the
// operands' tangents (the Jacobian of an elementwise function is diagonal). Every switch over
// the table is exhaustive: a new row that misses an entry does not build. The tests iterate over
// `allCases` (PrimitiveTableTests): a new row is checked against finite differences, forward
// mode, second order, and for the same bits on numbers, tensors and fused programs.
//
// When every operand is a scalar (rank 0), the operation is computed on numbers, through the same
// kernel as on tensors, and recorded as a scalar record: its tensor machinery (shape checks, the
// broadcasting kernels, a node) cost about five times the rest (scalar-graph benchmark).

// The algebra's arithmetic as operators, for the rules below only (see ElementwiseAlgebra).
@inline(__always) private func + <A: ElementwiseAlgebra>(lhs: A, rhs: A) -> A { A.sum(lhs, rhs) }
@inline(__always) private func - <A: ElementwiseAlgebra>(lhs: A, rhs: A) -> A {
  A.difference(lhs, rhs)
}
@inline(__always) private func * <A: ElementwiseAlgebra>(lhs: A, rhs: A) -> A {
  A.product(lhs, rhs)
}
@inline(__always) private func / <A: ElementwiseAlgebra>(lhs: A, rhs: A) -> A {
  A.quotient(lhs, rhs)
}
@inline(__always) private prefix func - <A: ElementwiseAlgebra>(x: A) -> A { A.negative(x) }

/// An elementwise primitive: a row of the table.
enum ElementwiseOperation: UInt8, CaseIterable {
  /// A watched tensor: a leaf, or the identity when it was already recorded on the tape.
  case watch
  case add, subtract, multiply, divide, negate
  case exp, log, sqrt, sin, cos, tanh, sigmoid, softplus, relu, abs, square
  case log1p, expm1, erf
  case tan, asin, acos, atan, sinh, cosh
  /// Piecewise constant: their derivative is 0 wherever it exists (and taken as 0 at the jumps).
  case sign, floor, ceil, round
  case pow, maximum, minimum
  /// `atan2(y, x)`: the angle of the point (x, y), y the first operand.
  case atan2
  /// `max(x, low)` and `min(x, high)`, as in NumPy (NaN where either is NaN), with PyTorch's
  /// gradient: all of it to `x` at the bound.
  case clampMin, clampMax
  /// `x` where the mask (the first operand) is not 0, else −0: one side of `where`.
  case select

  /// The node's name, as in messages and graphs.
  var name: StaticString {
    switch self {
    case .watch: "watch"
    case .add: "add"
    case .subtract: "subtract"
    case .multiply: "multiply"
    case .divide: "divide"
    case .negate: "negate"
    case .exp: "exp"
    case .log: "log"
    case .sqrt: "sqrt"
    case .sin: "sin"
    case .cos: "cos"
    case .tanh: "tanh"
    case .sigmoid: "sigmoid"
    case .softplus: "softplus"
    case .relu: "relu"
    case .abs: "abs"
    case .square: "square"
    case .log1p: "log1p"
    case .expm1: "expm1"
    case .erf: "erf"
    case .tan: "tan"
    case .asin: "asin"
    case .acos: "acos"
    case .atan: "atan"
    case .sinh: "sinh"
    case .cosh: "cosh"
    case .sign: "sign"
    case .floor: "floor"
    case .ceil: "ceil"
    case .round: "round"
    case .pow: "pow"
    case .maximum: "maximum"
    case .minimum: "minimum"
    case .atan2: "atan2"
    case .clampMin: "clamp_min"
    case .clampMax: "clamp_max"
    case .select: "select"
    }
  }

  /// The kernel that computes the primitive.
  var kernel: Kernel {
    switch self {
    case .watch: .identity
    case .add: .binary(.add)
    case .subtract: .binary(.subtract)
    case .multiply: .binary(.multiply)
    case .divide: .binary(.divide)
    case .negate: .unary(.negate)
    case .exp: .unary(.exp)
    case .log: .unary(.log)
    case .sqrt: .unary(.sqrt)
    case .sin: .unary(.sin)
    case .cos: .unary(.cos)
    case .tanh: .unary(.tanh)
    case .sigmoid: .unary(.sigmoid)
    case .softplus: .unary(.softplus)
    case .relu: .unary(.relu)
    case .abs: .unary(.abs)
    case .square: .unary(.square)
    case .log1p: .unary(.log1p)
    case .expm1: .unary(.expm1)
    case .erf: .unary(.erf)
    case .tan: .unary(.tan)
    case .asin: .unary(.asin)
    case .acos: .unary(.acos)
    case .atan: .unary(.atan)
    case .sinh: .unary(.sinh)
    case .cosh: .unary(.cosh)
    case .sign: .unary(.sign)
    case .floor: .unary(.floor)
    case .ceil: .unary(.ceil)
    case .round: .unary(.round)
    case .pow: .binary(.pow)
    case .atan2: .binary(.atan2)
    case .maximum, .clampMin: .binary(.maximum)
    case .minimum, .clampMax: .binary(.minimum)
    case .select: .binary(.select)
    }
  }

  /// Where the primitive is differentiable, as the table-driven tests draw its operands.
  var domain: Domain {
    switch self {
    case .watch, .add, .subtract, .multiply, .negate, .exp, .sin, .cos, .tanh, .sigmoid,
      .softplus, .square, .expm1, .erf, .atan, .sinh, .cosh:
      .real
    case .tan: .betweenPoles
    case .asin, .acos: .insideUnitInterval
    case .atan2: .offBranchCut
    case .divide: .nonzeroDivisor
    case .log, .sqrt: .positive
    case .log1p: .aboveMinusOne
    case .relu, .abs, .sign: .awayFromZero
    case .floor, .ceil, .round: .betweenSteps
    case .pow: .positiveBase
    case .maximum, .minimum, .clampMin, .clampMax: .distinctOperands
    case .select: .maskFirst
    }
  }

  /// The gradients of the operands, from the upstream gradient `g`, the operands `a` and `b` (for
  /// a primitive of one operand, `b` is `a` and unused) and the output `y`: only the sides
  /// `wanted` asks for, `nil` for the others (and for the missing operand of a primitive of one).
  /// Gradients are at the output's shape; the sweep sums a broadcast operand's back to its own.
  @inline(__always)
  func pullback<A: ElementwiseAlgebra>(
    _ g: A, _ a: A, _ b: A, _ y: A, _ wanted: Sides
  ) -> (A?, A?) {
    switch self {
    case .watch: return (g, nil)
    case .add: return (wanted.lhs ? g : nil, wanted.rhs ? g : nil)
    case .subtract: return (wanted.lhs ? g : nil, wanted.rhs ? -g : nil)
    case .multiply: return (wanted.lhs ? g * b : nil, wanted.rhs ? g * a : nil)
    case .divide:
      // Both sides start from g/b: three operations where −(g·y/b) on its own took four.
      let quotient = g / b
      return (wanted.lhs ? quotient : nil, wanted.rhs ? (quotient * y).negated() : nil)
    case .negate: return (-g, nil)
    case .exp: return (g * y, nil)
    case .log: return (g / a, nil)
    case .sqrt: return (g / (A.constant(2) * y), nil)
    case .sin: return (g * A.apply(.cos, a), nil)
    case .cos: return ((g * A.apply(.sin, a)).negated(), nil)
    case .tanh: return (A.fused(.tanhGradient, g, y) { g * (A.constant(1) - y * y) }, nil)
    case .sigmoid: return (A.fused(.sigmoidGradient, g, y) { g * y * (A.constant(1) - y) }, nil)
    case .softplus: return (g * A.apply(.sigmoid, a), nil)
    case .relu:
      return (A.fused(.reluGradient, g, a) { Self.gate(g, by: A.mask(.positiveMask, a)) }, nil)
    case .abs: return (g * A.mask(.sign, a), nil)
    case .square: return (A.fused(.squareGradient, g, a) { A.constant(2) * g * a }, nil)
    case .log1p: return (g / (A.constant(1) + a), nil)
    // eˣ itself, not y + 1, which loses every digit of a small eˣ (0 below x ≈ −37).
    case .expm1: return (g * A.apply(.exp, a), nil)
    case .erf:
      // erf′(x) = 2/√π · e^(−x²).
      let twoOverRootPi = A.constant(1.1283791670955126)
      return (g * twoOverRootPi * A.apply(.exp, -A.apply(.square, a)), nil)
    case .tan: return (g * (A.constant(1) + y * y), nil)
    // 1 − x² as (1 − x)(1 + x), which keeps its digits near |x| = 1, where the factor that
    // vanishes is exact.
    case .asin:
      let one = A.constant(1)
      return (g / A.apply(.sqrt, (one - a) * (one + a)), nil)
    case .acos:
      let one = A.constant(1)
      return ((g / A.apply(.sqrt, (one - a) * (one + a))).negated(), nil)
    case .atan: return (g / (A.constant(1) + a * a), nil)
    case .sinh: return (g * A.apply(.cosh, a), nil)
    case .cosh: return (g * A.apply(.sinh, a), nil)
    case .sign, .floor, .ceil, .round: return (Self.zeros(like: g), nil)
    case .pow:
      // ∂/∂x = g·y·x^(y−1), with the exponent y − 1 replaced by 1 where y = 0: the term is 0
      // either way, and this keeps 0·0⁻¹ from making a NaN at x = 0. ∂/∂y = g·xʸ·log x, with
      // log 1 = 0 standing in for log 0 = −∞ where x = 0 and y ≥ 0, whose product with 0ʸ = 0
      // would be NaN; where y < 0, 0ʸ = ∞ and the product is −∞, as in PyTorch.
      let zero = A.constant(0)
      return (
        wanted.lhs
          ? g * b * A.apply(.pow, a, b - A.constant(1) + A.mask(.equalMask, b, zero)) : nil,
        wanted.rhs
          ? g * y
            * A.apply(
              .log, a + A.mask(.equalMask, a, zero) * A.mask(.greaterOrEqualMask, b, zero))
          : nil
      )
    case .atan2:
      // With y = a and x = b: ∂/∂y = g·x/(x² + y²) and ∂/∂x = −g·y/(x² + y²), from g/(x² + y²)
      // selected where x² + y² is not 0 and 0 where it is (the origin, and points so near it
      // that the squares underflow), as in PyTorch; 0/0 would be NaN.
      let squaredNorm = a * a + b * b
      let scaled = A.apply(.select, squaredNorm, g / squaredNorm)
      return (wanted.lhs ? scaled * b : nil, wanted.rhs ? (scaled * a).negated() : nil)
    case .maximum:
      // The selection mask: 1 where this side is larger, ½ on a tie, NaN where either is NaN.
      return (
        wanted.lhs ? Self.gate(g, by: A.mask(.selectionMask, a, b)) : nil,
        wanted.rhs ? Self.gate(g, by: A.mask(.selectionMask, b, a)) : nil
      )
    case .minimum:
      return (
        wanted.lhs ? Self.gate(g, by: A.mask(.selectionMask, b, a)) : nil,
        wanted.rhs ? Self.gate(g, by: A.mask(.selectionMask, a, b)) : nil
      )
    case .clampMin:
      // The clamp mask: 1 where x ≥ low (the bound included), 0 below, NaN where either is NaN.
      let toX = A.mask(.clampMask, a, b)
      return (
        wanted.lhs ? Self.gate(g, by: toX) : nil,
        wanted.rhs ? Self.gate(g, by: A.constant(1) - toX) : nil
      )
    case .clampMax:
      let toX = A.mask(.clampMask, b, a)
      return (
        wanted.lhs ? Self.gate(g, by: toX) : nil,
        wanted.rhs ? Self.gate(g, by: A.constant(1) - toX) : nil
      )
    case .select:
      // The mask is piecewise constant; the selected elements get g, the others nothing.
      return (wanted.lhs ? Self.zeros(like: g) : nil, wanted.rhs ? A.apply(.select, a, g) : nil)
    }
  }

  /// `g` times a piecewise-constant `mask` of 1, ½, 0 or NaN, but exactly 0 (−0) where the
  /// mask is 0, even where `g` is infinite or NaN: the side of a kink that does not pass the
  /// input on gets no gradient, as in PyTorch (`sqrt(relu(x))` at x < 0 has the gradient 0, not
  /// ∞·0). A NaN mask (a NaN input) still gives NaN.
  @inline(__always)
  private static func gate<A: ElementwiseAlgebra>(_ g: A, by mask: A) -> A {
    A.fused(.gatedProduct, g, mask) { A.apply(.select, mask, g * mask) }
  }

  /// Zeros of `g`'s shape, even where `g` is NaN or infinite (as a piecewise-constant
  /// function's gradient is in PyTorch and JAX): `g > g` is false everywhere.
  @inline(__always)
  private static func zeros<A: ElementwiseAlgebra>(like g: A) -> A {
    A.mask(.greaterMask, g, g)
  }

  /// The primitive's value at `a` and `b` (`b` unused by a primitive of one operand): the bits
  /// its kernel gives on tensors.
  @inline(__always)
  func value<Scalar: TensorScalar>(_ a: Scalar, _ b: Scalar) -> Scalar {
    switch kernel {
    case .identity: a
    case .unary(let function): function.value(a)
    case .binary(let function): function.value(a, b)
    }
  }

  /// The number of operands: 1 or 2.
  var arity: Int {
    switch kernel {
    case .identity, .unary: 1
    case .binary: 2
    }
  }

  /// The kernel of a primitive.
  enum Kernel {
    /// No computation: a watched tensor.
    case identity
    case unary(UnaryFunction)
    case binary(BinaryFunction)
  }

  /// Where a primitive is differentiable.
  enum Domain {
    /// Everywhere.
    case real
    /// Where its operand is positive.
    case positive
    /// Away from 0, where it has a kink.
    case awayFromZero
    /// Where the divisor (the second operand) is not 0.
    case nonzeroDivisor
    /// Where the base (the first operand) is positive, for every real exponent.
    case positiveBase
    /// Where its operands differ.
    case distinctOperands
    /// Where its operand is above −1.
    case aboveMinusOne
    /// Away from the integers and the halves between them, where floor, ceil and round jump.
    case betweenSteps
    /// Everywhere, with a first operand of 0s and 1s (a mask, which it is constant in).
    case maskFirst
    /// Inside (−1, 1): asin and acos, whose derivatives are infinite at ±1.
    case insideUnitInterval
    /// Between tan's poles at ±π/2.
    case betweenPoles
    /// Where the first operand (atan2's y) is not 0: away from the origin, where atan2 is not
    /// differentiable, and from the negative x-axis, where it jumps from π to −π.
    case offBranchCut
  }
}

/// `operation` of `x`, elementwise, recorded when `x` is: on numbers when `x` is a scalar.
///
/// - Precondition: `operation` has one operand.
func elementwise<Scalar>(_ operation: ElementwiseOperation, _ x: Tensor<Scalar>) -> Tensor<Scalar> {
  guard x.shape.isEmpty else {
    guard case .unary(let function) = operation.kernel else {
      preconditionFailure("\(operation.name) is not a function of one operand")
    }
    return record(
      operation.name, output: x.mapped(function), operands: x,
      rule: .elementwise(operation), tangent: .elementwise)
  }
  let a = x.scalar
  let y = operation.value(a, 0)
  // The trace is read in place (see the two-operand form).
  guard let node = x.liveNode else { return Tensor(y) }
  if let recorded = recordScalar(
    on: x.trace.unsafelyUnwrapped.tape,
    ScalarRecord(operation: operation, operandCount: 1, lhs: node, rhs: nil, a: a, b: 0, y: y),
    value: y)
  {
    return recorded
  }
  return record(
    operation.name, output: Tensor(y), operands: x, rule: .elementwise(operation),
    tangent: .elementwise)
}

/// `value`, the output of `record`, recorded on `tape` as that scalar record, or `nil` when the
/// tape records no scalars of this type (then the caller records a node).
private func recordScalar<Scalar>(on tape: Tape, _ record: ScalarRecord, value: Scalar)
  -> Tensor<Scalar>?
{
  guard tape.recordsScalars(of: Scalar.self) else { return nil }
  return tape.append(record, storage: ScalarStorages.make(value))
}

/// `operation` of `a` and `b`, elementwise and broadcast, recorded when either is: on numbers when
/// both are scalars. `symbol` names the operation in a message about shapes.
///
/// - Precondition: `operation` has two operands.
func elementwise<Scalar>(
  _ operation: ElementwiseOperation, _ a: Tensor<Scalar>, _ b: Tensor<Scalar>,
  _ symbol: StaticString, at location: SourceLocation? = nil
) -> Tensor<Scalar> {
  guard a.shape.isEmpty, b.shape.isEmpty else {
    guard case .binary(let function) = operation.kernel else {
      preconditionFailure("\(operation.name) is not a function of two operands")
    }
    return record(
      operation.name, output: zipped(function, a, b, symbol, at: location), operands: a, b,
      at: location, rule: .elementwise(operation), tangent: .elementwise)
  }
  let (x, y) = (a.scalar, b.scalar)
  let z = operation.value(x, y)
  // The traces are read in place and the tape is passed on borrowed: copies of the traces
  // (`let lhs = a.liveTrace`) retained and released their tapes, 8 of a scalar graph's 30
  // reference-count operations of each kind, and cost it 15% (scalar-graph benchmark).
  let (lhs, rhs) = (a.liveNode, b.liveNode)
  guard lhs != nil || rhs != nil else { return Tensor(z) }
  if lhs == nil || rhs == nil || a.trace.unsafelyUnwrapped.tape === b.trace.unsafelyUnwrapped.tape,
    let recorded = recordScalar(
      on: lhs != nil ? a.trace.unsafelyUnwrapped.tape : b.trace.unsafelyUnwrapped.tape,
      ScalarRecord(operation: operation, operandCount: 2, lhs: lhs, rhs: rhs, a: x, b: y, y: z),
      value: z)
  {
    return recorded
  }
  // Also where the operands are on different tapes, which `record` stops on.
  return record(
    operation.name, output: Tensor(z), operands: a, b, at: location,
    rule: .elementwise(operation), tangent: .elementwise)
}
