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
  let n = x.count
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
  // Strides are 1 (a contiguous run) or 0 (one element repeated); the three combinations get
  // their own loops so that each is a simple vectorizable loop.
  switch (strideA, strideB) {
  case (1, 1):
    binaryLoop(function, n, { a[$0] }, { b[$0] }, into: c)
  case (1, _):
    let s = b.pointee
    binaryLoop(function, n, { a[$0] }, { _ in s }, into: c)
  case (_, 1):
    let s = a.pointee
    binaryLoop(function, n, { _ in s }, { b[$0] }, into: c)
  default: let s = function.apply(a.pointee, b.pointee); for i in 0..<n { c[i] = s }
  }
}

@inline(__always)  // Inlined so the element readers fold into the loop and it vectorizes.
private func binaryLoop<T: TensorScalar>(
  _ function: BinaryFunction, _ n: Int, _ a: (Int) -> T, _ b: (Int) -> T,
  into c: UnsafeMutablePointer<T>
) {
  switch function {
  case .add: for i in 0..<n { c[i] = a(i) + b(i) }
  case .subtract: for i in 0..<n { c[i] = a(i) - b(i) }
  case .multiply: for i in 0..<n { c[i] = a(i) * b(i) }
  case .divide: for i in 0..<n { c[i] = a(i) / b(i) }
  case .pow: for i in 0..<n { c[i] = T.power(a(i), b(i)) }
  case .maximum: for i in 0..<n { c[i] = a(i) >= b(i) ? a(i) : b(i) }
  case .minimum: for i in 0..<n { c[i] = a(i) <= b(i) ? a(i) : b(i) }
  case .greaterOrEqualMask: for i in 0..<n { c[i] = a(i) >= b(i) ? 1 : 0 }
  case .greaterMask: for i in 0..<n { c[i] = a(i) > b(i) ? 1 : 0 }
  case .equalMask: for i in 0..<n { c[i] = a(i) == b(i) ? 1 : 0 }
  }
}

extension BinaryFunction {
  @inline(__always)
  func apply<T: TensorScalar>(_ a: T, _ b: T) -> T {
    var c = T.zero
    withUnsafeMutablePointer(to: &c) { out in
      binaryLoop(self, 1, { _ in a }, { _ in b }, into: out)
    }
    return c
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
