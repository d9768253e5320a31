// Elementwise loops over tensor buffers. Each loop is a plain `for` over unsafe buffers that the
// compiler vectorizes where the function allows (add, multiply, compare, relu, ...).
//
// `@_specialize` makes the compiler emit a Float and a Double copy of each kernel and makes the
// generic entry point jump to them. The tensor operations that call these kernels are generic and
// are not specialized for their callers in other modules, so without it each element would cost
// a protocol-witness call (see the "elementwise" benchmarks).

/// A function of one element.
enum UnaryFunction {
  case negate, exp, log, sqrt, sin, cos, tanh, sigmoid, relu, abs, square
  /// 1 where the element is positive, else 0: relu's derivative, with 0 at 0.
  case positiveMask
  /// -1, 0 or 1.
  case sign
}

/// A function of two elements.
enum BinaryFunction {
  case add, subtract, multiply, divide, pow, maximum, minimum
  /// 1 where `a >= b`, else 0.
  case greaterOrEqualMask
  /// 1 where `a > b`, else 0.
  case greaterMask
  /// 1 where `a == b`, else 0.
  case equalMask
  // Pullbacks of elementwise functions, fused: `a` is the upstream gradient, `b` the operand or
  // the output. Each computes what the rule's tensor expression computes, in the same order.
  /// `a·b·(1 − b)`: sigmoid's, from its output.
  case sigmoidGradient
  /// `a·(1 − b²)`: tanh's, from its output.
  case tanhGradient
  /// `a·[b > 0]`: relu's, from its operand.
  case reluGradient
  /// `2a·b`: square's, from its operand.
  case squareGradient
}

extension TensorScalar {
  /// The logistic function, computed without overflow for large |x|: for x < 0 it is written
  /// eˣ/(1 + eˣ), whose exponential cannot overflow.
  @inline(__always)  // Inlined into the vectorized loop below; a call would stop vectorization.
  static func sigmoid(_ x: Self) -> Self {
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
  }

  /// `x` raised to `y`. Real powers follow C's `pow`: a negative base with an integer exponent
  /// is exact (`(-2)³ = -8`), with a fractional exponent it is NaN.
  @inline(__always)  // As for `sigmoid`.
  static func power(_ x: Self, _ y: Self) -> Self {
    if y == 2 { return x * x }
    // swift-numerics' pow(x, y) is NaN for every negative x and for 0⁰, unlike C. Its
    // pow(x, n: Int) is C's pow, so an integer exponent goes through it: (−2)³ = −8, x⁰ = 1.
    if let n = Int(exactly: y) { return pow(x, n) }
    return pow(x, y)
  }
}

@_specialize(where T == Float)
@_specialize(where T == Double)
func unaryKernel<T: TensorScalar>(
  _ function: UnaryFunction, _ x: UnsafeBufferPointer<T>, _ y: UnsafeMutableBufferPointer<T>
) {
  assert(x.count == y.count)
  guard x.count > 0 else { return }
  forEachRange(count: x.count, grain: function.isTranscendental ? transcendentalGrain : elementwiseGrain) {
    range in
    unaryLoop(function, UnsafeBufferPointer(rebasing: x[range]), UnsafeMutableBufferPointer(rebasing: y[range]))
  }
}

extension UnaryFunction {
  /// Whether the function costs a vectorized exp, log, sin or cos per element.
  var isTranscendental: Bool {
    switch self {
    case .exp, .log, .sin, .cos, .tanh, .sigmoid: true
    default: false
    }
  }
}

/// `y[i] = function(x[i])` on one thread: the loop of `unaryKernel`'s ranges and of fused
/// programs' blocks.
@inline(__always)
func unaryLoop<T: TensorScalar>(
  _ function: UnaryFunction, _ x: UnsafeBufferPointer<T>, _ y: UnsafeMutableBufferPointer<T>
) {
  let n = x.count
  guard !vectorMath(function, x, y) else { return }
  switch function {
  case .negate: for i in 0..<n { y[i] = -x[i] }
  case .exp: for i in 0..<n { y[i] = T.exp(x[i]) }
  case .log: for i in 0..<n { y[i] = T.log(x[i]) }
  case .sqrt: for i in 0..<n { y[i] = x[i].squareRoot() }
  case .sin: for i in 0..<n { y[i] = T.sin(x[i]) }
  case .cos: for i in 0..<n { y[i] = T.cos(x[i]) }
  case .tanh: for i in 0..<n { y[i] = T.tanh(x[i]) }
  case .sigmoid: for i in 0..<n { y[i] = T.sigmoid(x[i]) }
  case .relu: for i in 0..<n { y[i] = x[i] > 0 ? x[i] : 0 }
  case .abs: for i in 0..<n { y[i] = Swift.abs(x[i]) }
  case .square: for i in 0..<n { y[i] = x[i] * x[i] }
  case .positiveMask: for i in 0..<n { y[i] = x[i] > 0 ? 1 : 0 }
  case .sign: for i in 0..<n { y[i] = x[i] > 0 ? 1 : (x[i] < 0 ? -1 : 0) }
  }
}

/// Applies a transcendental `function` with the vectorized forms of VectorMath.swift; false for
/// the other functions. In `unaryKernel`'s specialized copies the type test is resolved at
/// compile time.
@inline(__always)
private func vectorMath<T: TensorScalar>(
  _ function: UnaryFunction, _ x: UnsafeBufferPointer<T>, _ y: UnsafeMutableBufferPointer<T>
) -> Bool {
  let (source, target) = (UnsafeRawPointer(x.baseAddress!), UnsafeMutableRawPointer(y.baseAddress!))
  if T.self == Float.self {
    return VectorMath.apply(
      function, source.assumingMemoryBound(to: Float.self),
      target.assumingMemoryBound(to: Float.self), count: x.count)
  }
  if T.self == Double.self {
    return VectorMath.apply(
      function, source.assumingMemoryBound(to: Double.self),
      target.assumingMemoryBound(to: Double.self), count: x.count)
  }
  return false
}

/// Applies `function` to `a` and `b`, both of the output's count (the common, unbroadcast case),
/// or with one of them holding a single element.
@_specialize(where T == Float)
@_specialize(where T == Double)
func binaryKernel<T: TensorScalar>(
  _ function: BinaryFunction,
  _ a: UnsafePointer<T>, strideA: Int,
  _ b: UnsafePointer<T>, strideB: Int,
  _ c: UnsafeMutablePointer<T>, count n: Int
) {
  forEachRange(count: n, grain: elementwiseGrain) { range in
    // A repeated operand (stride 0) stays at its one element.
    binaryLoop(
      function, a + range.lowerBound * strideA, strideA, b + range.lowerBound * strideB, strideB,
      c + range.lowerBound, range.count)
  }
}

/// `c[i] = function(a[i·strideA], b[i·strideB])` on one thread, for strides of 0 or 1.
@inline(__always)
func binaryLoop<T: TensorScalar>(
  _ function: BinaryFunction, _ a: UnsafePointer<T>, _ strideA: Int, _ b: UnsafePointer<T>,
  _ strideB: Int, _ c: UnsafeMutablePointer<T>, _ n: Int
) {
  // One loop nest per function, each specialized for its operation type, so the operation
  // inlines into plain loops over pointers that the compiler vectorizes. (Passing the element
  // reads as closures instead left an indirect call per element in the loop: mlp benchmarks.)
  switch function {
  case .add: binaryLoops(Add.self, a, strideA, b, strideB, c, n)
  case .subtract: binaryLoops(Subtract.self, a, strideA, b, strideB, c, n)
  case .multiply: binaryLoops(Multiply.self, a, strideA, b, strideB, c, n)
  case .divide: binaryLoops(Divide.self, a, strideA, b, strideB, c, n)
  case .pow: binaryLoops(Power.self, a, strideA, b, strideB, c, n)
  case .maximum: binaryLoops(Maximum.self, a, strideA, b, strideB, c, n)
  case .minimum: binaryLoops(Minimum.self, a, strideA, b, strideB, c, n)
  case .greaterOrEqualMask: binaryLoops(GreaterOrEqualMask.self, a, strideA, b, strideB, c, n)
  case .greaterMask: binaryLoops(GreaterMask.self, a, strideA, b, strideB, c, n)
  case .equalMask: binaryLoops(EqualMask.self, a, strideA, b, strideB, c, n)
  case .sigmoidGradient: binaryLoops(SigmoidGradient.self, a, strideA, b, strideB, c, n)
  case .tanhGradient: binaryLoops(TanhGradient.self, a, strideA, b, strideB, c, n)
  case .reluGradient: binaryLoops(ReluGradient.self, a, strideA, b, strideB, c, n)
  case .squareGradient: binaryLoops(SquareGradient.self, a, strideA, b, strideB, c, n)
  }
}

/// A function of two elements, as a type, so that a loop generic over it is specialized for it
/// and the function inlines.
private protocol BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T
}

private enum Add: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a + b }
}
private enum Subtract: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a - b }
}
private enum Multiply: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a * b }
}
private enum Divide: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a / b }
}
private enum Power: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { T.power(a, b) }
}
private enum Maximum: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a >= b ? a : b }
}
private enum Minimum: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a <= b ? a : b }
}
private enum GreaterOrEqualMask: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a >= b ? 1 : 0 }
}
private enum GreaterMask: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a > b ? 1 : 0 }
}
private enum EqualMask: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a == b ? 1 : 0 }
}
private enum SigmoidGradient: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a * b * (1 - b) }
}
private enum TanhGradient: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a * (1 - b * b) }
}
private enum ReluGradient: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a * (b > 0 ? 1 : 0) }
}
private enum SquareGradient: BinaryOperation {
  static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { 2 * a * b }
}

/// `c[i] = Op(a[i·strideA], b[i·strideB])` for strides of 1 (a contiguous run) or 0 (one element
/// repeated): each combination is its own simple loop.
@inline(__always)  // Inlined into binaryKernel's specialized copies, where Op is known.
private func binaryLoops<Op: BinaryOperation, T: TensorScalar>(
  _: Op.Type, _ a: UnsafePointer<T>, _ strideA: Int, _ b: UnsafePointer<T>, _ strideB: Int,
  _ c: UnsafeMutablePointer<T>, _ n: Int
) {
  switch (strideA, strideB) {
  case (1, 1):
    for i in 0..<n { c[i] = Op.apply(a[i], b[i]) }
  case (1, _):
    let s = b.pointee
    for i in 0..<n { c[i] = Op.apply(a[i], s) }
  case (_, 1):
    let s = a.pointee
    for i in 0..<n { c[i] = Op.apply(s, b[i]) }
  default:
    let s = Op.apply(a.pointee, b.pointee)
    for i in 0..<n { c[i] = s }
  }
}

extension UnaryFunction {
  /// The function of a single element.
  func apply<T: TensorScalar>(_ x: T) -> T {
    var y = T.zero
    withUnsafePointer(to: x) { x in
      withUnsafeMutablePointer(to: &y) { y in
        unaryKernel(self, UnsafeBufferPointer(start: x, count: 1), UnsafeMutableBufferPointer(start: y, count: 1))
      }
    }
    return y
  }
}

extension BinaryFunction {
  /// The function of two single elements.
  func apply<T: TensorScalar>(_ a: T, _ b: T) -> T {
    var (x, y, z) = (a, b, T.zero)
    binaryKernel(self, &x, strideA: 0, &y, strideB: 0, &z, count: 1)
    return z
  }
}

/// Applies `function` to `a` and `b` broadcast to `shape`, writing the row-major result to `c`.
///
/// `stridesA` and `stridesB` give each operand's step along each axis of `shape` (0 where it is
/// repeated). The last axis runs in `binaryKernel`; the outer axes are walked with a counter.
func broadcastBinaryKernel<T: TensorScalar>(
  _ function: BinaryFunction,
  _ a: UnsafeBufferPointer<T>, stridesA: [Int],
  _ b: UnsafeBufferPointer<T>, stridesB: [Int],
  _ c: UnsafeMutableBufferPointer<T>, shape: [Int]
) {
  guard let last = shape.indices.last else {
    c[0] = function.apply(a[0], b[0])
    return
  }
  let inner = shape[last]
  guard inner > 0, c.count > 0 else { return }
  var index = [Int](repeating: 0, count: last)
  var offsetA = 0
  var offsetB = 0
  var offsetC = 0
  let baseA = a.baseAddress!
  let baseB = b.baseAddress!
  let baseC = c.baseAddress!
  while true {
    binaryKernel(
      function, baseA + offsetA, strideA: stridesA[last], baseB + offsetB, strideB: stridesB[last],
      baseC + offsetC, count: inner)
    offsetC += inner
    // Advance the counter over the outer axes, innermost first.
    var axis = last - 1
    while axis >= 0 {
      index[axis] += 1
      offsetA += stridesA[axis]
      offsetB += stridesB[axis]
      if index[axis] < shape[axis] { break }
      offsetA -= stridesA[axis] * shape[axis]
      offsetB -= stridesB[axis] * shape[axis]
      index[axis] = 0
      axis -= 1
    }
    if axis < 0 { return }
  }
}

/// Adds `x` into `y` elementwise, in place: the accumulation of gradients at a fork.
func addKernel<T: TensorScalar>(_ x: UnsafeBufferPointer<T>, into y: UnsafeMutableBufferPointer<T>) {
  assert(x.count == y.count)
  T._axpy(count: x.count, alpha: 1, x: x.baseAddress!, y: y.baseAddress!)
}
