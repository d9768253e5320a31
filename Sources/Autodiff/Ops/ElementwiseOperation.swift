// The elementwise operations that a tape can record on scalars by value.
//
// Each operation has two rules side by side: its tensor rule (a pullback written with tensor
// operations, so that a sweep that records itself can differentiate it again) and its pullback on
// plain numbers, which a first-order sweep uses for a scalar record (ScalarRecord.swift). The
// two compute the same operations in the same order, so they give the same bits
// (ScalarSweepTests).
//
// When every operand is a scalar (rank 0), the operation is computed on numbers, through the same
// kernel as on tensors, and recorded as a scalar record: its tensor machinery (shape checks, the
// broadcasting kernels, a node) cost about five times the rest (scalar-graph benchmark).

/// An elementwise operation of one or two operands that a tape can record on scalars by value.
enum ElementwiseOperation: UInt8, CaseIterable {
  /// A watched tensor: a leaf, or the identity when it was already recorded on the tape.
  case watch
  case add, subtract, multiply, divide, negate
  case exp, log, sqrt, sin, cos, tanh, sigmoid, relu, abs, square

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
    case .relu: "relu"
    case .abs: "abs"
    case .square: "square"
    }
  }

  /// The kernel of an operation of two operands.
  var binaryFunction: BinaryFunction {
    switch self {
    case .add: .add
    case .subtract: .subtract
    case .multiply: .multiply
    case .divide: .divide
    default: preconditionFailure("\(name) has one operand")
    }
  }

  /// The kernel of an operation of one operand.
  var unaryFunction: UnaryFunction {
    switch self {
    case .negate: .negate
    case .exp: .exp
    case .log: .log
    case .sqrt: .sqrt
    case .sin: .sin
    case .cos: .cos
    case .tanh: .tanh
    case .sigmoid: .sigmoid
    case .relu: .relu
    case .abs: .abs
    case .square: .square
    default: preconditionFailure("\(name) has no kernel of one operand")
    }
  }

  /// The operation's value at `a` and `b` (`b` unused by an operation of one operand): the bits
  /// its kernel gives on tensors.
  @inline(__always)
  func value<Scalar: TensorScalar>(_ a: Scalar, _ b: Scalar) -> Scalar {
    switch self {
    case .watch: a
    // One correctly rounded IEEE operation each, as in the kernels.
    case .add: a + b
    case .subtract: a - b
    case .multiply: a * b
    case .divide: a / b
    default: unaryFunction.value(a)
    }
  }

  /// The rule on tensors, for a node.
  func rule<Scalar>() -> Rule<Scalar> {
    switch self {
    case .watch: .unary { g, _, _ in g }
    case .add: .binary { g, _, _, _, wanted in (wanted.lhs ? g : nil, wanted.rhs ? g : nil) }
    case .subtract:
      .binary { g, _, _, _, wanted in (wanted.lhs ? g : nil, wanted.rhs ? -g : nil) }
    case .multiply:
      .binary { g, a, b, _, wanted in (wanted.lhs ? g * b : nil, wanted.rhs ? g * a : nil) }
    case .divide:
      .binary { g, _, b, y, wanted in
        // Both sides start from g/b: three operations where −(g·y/b) on its own took four.
        let quotient = g / b
        return (wanted.lhs ? quotient : nil, wanted.rhs ? (quotient * y).negated() : nil)
      }
    case .negate: .unary { g, _, _ in -g }
    case .exp: .unary { v, _, y in v * y }
    case .log: .unary { v, x, _ in v / x }
    case .sqrt: .unary { v, _, y in v / (2 * y) }
    case .sin: .unary { v, x, _ in v * Autodiff.cos(x) }
    case .cos: .unary { v, x, _ in (v * Autodiff.sin(x)).negated() }
    case .tanh: .unary { v, _, y in fused(.tanhGradient, v, y) { v * (1 - y.squared()) } }
    case .sigmoid: .unary { v, _, y in fused(.sigmoidGradient, v, y) { v * y * (1 - y) } }
    case .relu: .unary { v, x, _ in fused(.reluGradient, v, x) { v * x.mapped(.positiveMask) } }
    case .abs: .unary { v, x, _ in v * x.mapped(.sign) }
    case .square: .unary { v, x, _ in fused(.squareGradient, v, x) { 2 * v * x } }
    }
  }

  /// The rule on numbers: the operands' gradients from the upstream gradient `g`, the operands
  /// `a` and `b` (0 when missing) and the output `y`; the second is 0 for an operation of one
  /// operand. The same operations in the same order as `rule()`.
  @inline(__always)
  func pullback<Scalar: TensorScalar>(
    _ g: Scalar, _ a: Scalar, _ b: Scalar, _ y: Scalar
  ) -> (Scalar, Scalar) {
    switch self {
    case .watch: return (g, 0)
    case .add: return (g, g)
    case .subtract: return (g, -g)
    case .multiply: return (g * b, g * a)
    case .divide:
      let quotient = g / b
      return (quotient, -(quotient * y))
    case .negate: return (-g, 0)
    case .exp: return (g * y, 0)
    case .log: return (g / a, 0)
    case .sqrt: return (g / (2 * y), 0)
    case .sin: return (g * UnaryFunction.cos.value(a), 0)
    case .cos: return (-(g * UnaryFunction.sin.value(a)), 0)
    case .tanh: return (g * (1 - y * y), 0)
    case .sigmoid: return (g * y * (1 - y), 0)
    case .relu: return (g * UnaryFunction.positiveMask.value(a), 0)
    case .abs: return (g * UnaryFunction.sign.value(a), 0)
    case .square: return (2 * g * a, 0)
    }
  }
}

/// `operation` of `x`, elementwise, recorded when `x` is: on numbers when `x` is a scalar.
///
/// - Precondition: `operation` has one operand.
func elementwise<Scalar>(_ operation: ElementwiseOperation, _ x: Tensor<Scalar>) -> Tensor<Scalar> {
  guard x.shape.isEmpty else {
    return record(
      operation.name, output: x.mapped(operation.unaryFunction), operands: x,
      rule: operation.rule(), tangent: .elementwise)
  }
  let a = x.scalar
  let y = operation.value(a, 0)
  guard let trace = x.trace else { return Tensor(y) }
  if trace.tape.recordsScalars(of: Scalar.self) {
    return trace.tape.append(
      ScalarRecord(
        operation: operation, operandCount: 1, lhs: trace.node, rhs: nil, a: a, b: 0, y: y),
      storage: ScalarStorages.make(y))
  }
  return record(
    operation.name, output: Tensor(y), operands: x, rule: operation.rule(), tangent: .elementwise)
}

/// `operation` of `a` and `b`, elementwise and broadcast, recorded when either is: on numbers when
/// both are scalars. `symbol` names the operation in a message about shapes.
///
/// - Precondition: `operation` has two operands.
func elementwise<Scalar>(
  _ operation: ElementwiseOperation, _ a: Tensor<Scalar>, _ b: Tensor<Scalar>,
  _ symbol: StaticString
) -> Tensor<Scalar> {
  guard a.shape.isEmpty, b.shape.isEmpty else {
    return record(
      operation.name, output: zipped(operation.binaryFunction, a, b, symbol), operands: a, b,
      rule: operation.rule(), tangent: .elementwise)
  }
  let (x, y) = (a.scalar, b.scalar)
  let z = operation.value(x, y)
  guard let tape = a.trace?.tape ?? b.trace?.tape else { return Tensor(z) }
  if tape.recordsScalars(of: Scalar.self),
    a.trace == nil || b.trace == nil || a.trace!.tape === b.trace!.tape
  {
    return tape.append(
      ScalarRecord(
        operation: operation, operandCount: 2, lhs: a.trace?.node, rhs: b.trace?.node, a: x, b: y,
        y: z),
      storage: ScalarStorages.make(z))
  }
  // Also where the operands are on different tapes, which `record` stops on.
  return record(
    operation.name, output: Tensor(z), operands: a, b, rule: operation.rule(),
    tangent: .elementwise)
}
