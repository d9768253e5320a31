internal import CElementwise

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// C's `pow` and `powf`, named apart from the generic `pow` of swift-numerics' `Real`.
@inline(__always) private func libmPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
@inline(__always) private func libmPowf(_ x: Float, _ y: Float) -> Float { powf(x, y) }

// Elementwise loops over tensor buffers. The arithmetic runs in the C kernels of
// Modules/CElementwise, compiled for AVX-512, AVX2 and the baseline x86-64 with the best the CPU
// has picked at load time: Swift compiles this module for the baseline only, four Floats per SSE
// instruction (Elementwise.c says more). The loops here split the work across threads and pick
// the kernel.
//
// `@_specialize` makes the compiler emit a Float and a Double copy of each kernel and makes the
// generic entry point jump to them. The tensor operations that call these kernels are generic and
// are not specialized for their callers in other modules, so without it each call would look up
// the type at run time (see the "elementwise" benchmarks).

/// A function of one element: a kernel of Modules/CElementwise, by the same name
/// (`autodiff_` and the name in snake case; PrimitiveTableTests compares the two lists).
enum UnaryFunction: CaseIterable {
  case negate, exp, log, sqrt, sin, cos, tanh, sigmoid, softplus, relu, abs, square
  case log1p, expm1, erf, floor, ceil
  case tan, sinh, cosh, asin, acos, atan
  /// To the nearest integer, a tie to the even one (NumPy's `round`).
  case round
  /// 1 where the element is positive, 0 where it is zero or negative, NaN where it is NaN:
  /// relu's derivative, with 0 at 0.
  case positiveMask
  /// -1, 0 or 1; NaN for NaN.
  case sign
}

/// A function of two elements: a kernel of Modules/CElementwise, by the same name, except `pow`,
/// which calls libm per element in Swift.
enum BinaryFunction: CaseIterable {
  case add, subtract, multiply, divide, pow, maximum, minimum
  /// C's `atan2(a, b)`: the angle of the point (b, a).
  case atan2
  /// 1 where `a >= b`, else 0.
  case greaterOrEqualMask
  /// 1 where `a > b`, else 0.
  case greaterMask
  /// 1 where `a == b`, else 0.
  case equalMask
  /// 1 where `a != b` (NaN included), else 0.
  case notEqualMask
  /// 1 where `a > b`, ½ where `a == b`, 0 where `a < b`, NaN where either is NaN: which share of
  /// `max(a, b)`'s gradient goes to `a` (a tie splits it, as in PyTorch and JAX).
  case selectionMask
  /// 1 where `a >= b`, 0 where `a < b`, NaN where either is NaN: which share of a clamp's
  /// gradient goes to the clamped value (all of it at the bound).
  case clampMask
  /// `b` where `a` is not 0, else −0 (which adds to any number as that number exactly): one side
  /// of `where(mask, x, y)`.
  case select
  // Pullbacks of elementwise functions, fused: `a` is the upstream gradient, `b` the operand or
  // the output. Each computes what the rule's tensor expression computes, in the same order.
  /// `a·b·(1 − b)`: sigmoid's, from its output.
  case sigmoidGradient
  /// `a·(1 − b²)`: tanh's, from its output.
  case tanhGradient
  /// `a` where `b > 0`, −0 where `b ≤ 0` (whatever `a` is), NaN where `b` is NaN: relu's, from
  /// its operand.
  case reluGradient
  /// `a·b` where the mask `b` is not 0, else −0 (whatever `a` is): a gradient's share through a
  /// kink (`b` a selection or clamp mask), none of an infinite gradient on the flat side.
  case gatedProduct
  /// `2a·b`: square's, from its operand.
  case squareGradient
}

extension TensorScalar {
  /// `x` raised to `y`: C's `pow`, with every special case as C gives it. A negative base with
  /// an integer exponent is exact (`(-2)³ = -8`, and every finite `y` beyond 2⁵³ is an even
  /// integer: `(-2)^1e30 = inf`), with a fractional exponent it is NaN; `(-1)^±inf = 1`,
  /// `(-inf)^0.5 = inf`, `x⁰ = 1`.
  @inline(__always)  // Inlined into the loop of `binaryLoop`.
  static func power(_ x: Self, _ y: Self) -> Self {
    if y == 2 { return x * x }
    // swift-numerics' pow(x, y) is NaN for every negative x and for 0⁰, unlike C; libm's is C.
    if Self.self == Double.self {
      return unsafeBitCast(
        libmPow(unsafeBitCast(x, to: Double.self), unsafeBitCast(y, to: Double.self)),
        to: Self.self)
    }
    if Self.self == Float.self {
      return unsafeBitCast(
        libmPowf(unsafeBitCast(x, to: Float.self), unsafeBitCast(y, to: Float.self)),
        to: Self.self)
    }
    return Self(libmPow(Double(x), Double(y)))
  }
}

@_specialize(where T == Float)
@_specialize(where T == Double)
func unaryKernel<T: TensorScalar>(
  _ function: UnaryFunction, _ x: UnsafeBufferPointer<T>, _ y: UnsafeMutableBufferPointer<T>
) {
  assert(x.count == y.count)
  guard x.count > 0 else { return }
  forEachRange(
    count: x.count, grain: function.isTranscendental ? transcendentalGrain : elementwiseGrain
  ) {
    range in
    unaryLoop(
      function, UnsafeBufferPointer(rebasing: x[range]),
      UnsafeMutableBufferPointer(rebasing: y[range]))
  }
}

extension UnaryFunction {
  /// Whether the function costs a vectorized exp, log, sin or cos, or a call to libm, per
  /// element.
  var isTranscendental: Bool {
    switch self {
    case .exp, .log, .sin, .cos, .tanh, .sigmoid, .softplus, .log1p, .expm1, .erf, .tan, .sinh,
      .cosh, .asin, .acos, .atan:
      true
    case .negate, .sqrt, .relu, .abs, .square, .positiveMask, .sign, .floor, .ceil, .round: false
    }
  }
}

/// `y[i] = function(x[i])` on one thread: the loop of `unaryKernel`'s ranges and of fused
/// programs' blocks.
@inline(__always)
func unaryLoop<T: TensorScalar>(
  _ function: UnaryFunction, _ x: UnsafeBufferPointer<T>, _ y: UnsafeMutableBufferPointer<T>
) {
  T._unary(function.kernel, x.baseAddress!, y.baseAddress!, count: x.count)
}

/// `x[i] ← eˣ⁽ⁱ⁾` on one thread, with the vectorized kernel of ``exp(_:)``: for the losses
/// in AutodiffNN that fuse a softmax.
package func exponentiateInPlace<T: TensorScalar>(_ x: UnsafeMutableBufferPointer<T>) {
  guard !x.isEmpty else { return }
  unaryLoop(.exp, UnsafeBufferPointer(x), x)
}

extension UnaryFunction {
  /// The function of one number: the bits `unaryKernel` gives for it in a tensor.
  @inline(__always)
  func value<T: TensorScalar>(_ x: T) -> T {
    var (x, y) = (x, T.zero)
    T._unary(kernel, &x, &y, count: 1)
    return y
  }

  /// The function's number in CElementwise.
  fileprivate var kernel: Int32 {
    let function =
      switch self {
      case .negate: autodiff_negate
      case .exp: autodiff_exp
      case .log: autodiff_log
      case .sqrt: autodiff_sqrt
      case .sin: autodiff_sin
      case .cos: autodiff_cos
      case .tanh: autodiff_tanh
      case .sigmoid: autodiff_sigmoid
      case .softplus: autodiff_softplus
      case .relu: autodiff_relu
      case .abs: autodiff_abs
      case .square: autodiff_square
      case .log1p: autodiff_log1p
      case .expm1: autodiff_expm1
      case .erf: autodiff_erf
      case .tan: autodiff_tan
      case .sinh: autodiff_sinh
      case .cosh: autodiff_cosh
      case .asin: autodiff_asin
      case .acos: autodiff_acos
      case .atan: autodiff_atan
      case .floor: autodiff_floor
      case .ceil: autodiff_ceil
      case .round: autodiff_round
      case .positiveMask: autodiff_positive_mask
      case .sign: autodiff_sign
      }
    return Int32(bitPattern: function.rawValue)
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
  forEachRange(count: n, grain: function.grain) { range in
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
  guard let kernel = function.kernel else {
    // pow with one exponent of 2 or 1 (`pow(x, 2)`, and its gradient's `pow(x, 1)`): what
    // `power` gives each element, x·x or x itself (C's pow(x, 1) is x), vectorized.
    if n > 0, strideB == 0, b[0] == 2 || b[0] == 1 {
      let multiply = BinaryFunction.multiply.kernel!
      return b[0] == 2
        ? T._binary(multiply, a, strideA: strideA, a, strideB: strideA, c, count: n)
        : T._binary(multiply, a, strideA: strideA, b, strideB: 0, c, count: n)
    }
    // Other exponents call libm per element: nothing for C to vectorize.
    for i in 0..<n { c[i] = T.power(a[i * strideA], b[i * strideB]) }
    return
  }
  T._binary(kernel, a, strideA: strideA, b, strideB: strideB, c, count: n)
}

extension BinaryFunction {
  /// Whether the function costs a transcendental function's time per element: atan2, an
  /// arctangent in Double for Floats, libm's for Doubles.
  var isTranscendental: Bool {
    switch self {
    case .atan2: true
    // pow calls libm per element too, but its common exponents (2, and 1 in its gradient) are
    // vectorized multiplies.
    case .add, .subtract, .multiply, .divide, .pow, .maximum, .minimum, .greaterOrEqualMask,
      .greaterMask, .equalMask, .notEqualMask, .selectionMask, .clampMask, .select,
      .sigmoidGradient, .tanhGradient, .reluGradient, .gatedProduct, .squareGradient:
      false
    }
  }

  /// Elements per thread below which splitting the function's loop costs more than it saves.
  var grain: Int { isTranscendental ? transcendentalGrain : elementwiseGrain }

  /// The function's number in CElementwise, or `nil` for `pow`, which has no kernel there.
  fileprivate var kernel: Int32? {
    let function: autodiff_binary_function? =
      switch self {
      case .add: autodiff_add
      case .subtract: autodiff_subtract
      case .multiply: autodiff_multiply
      case .divide: autodiff_divide
      case .pow: nil
      case .maximum: autodiff_maximum
      case .minimum: autodiff_minimum
      case .atan2: autodiff_atan2
      case .greaterOrEqualMask: autodiff_greater_or_equal_mask
      case .greaterMask: autodiff_greater_mask
      case .equalMask: autodiff_equal_mask
      case .notEqualMask: autodiff_not_equal_mask
      case .selectionMask: autodiff_selection_mask
      case .clampMask: autodiff_clamp_mask
      case .select: autodiff_select
      case .sigmoidGradient: autodiff_sigmoid_gradient
      case .tanhGradient: autodiff_tanh_gradient
      case .reluGradient: autodiff_relu_gradient
      case .gatedProduct: autodiff_gated_product
      case .squareGradient: autodiff_square_gradient
      }
    return function.map { Int32(bitPattern: $0.rawValue) }
  }
}

extension BinaryFunction {
  /// The function of two single elements: the bits `binaryKernel` gives for them in tensors.
  @inline(__always)
  func value<T: TensorScalar>(_ a: T, _ b: T) -> T {
    switch self {
    // One correctly rounded IEEE operation each, as in the kernels.
    case .add: return a + b
    case .subtract: return a - b
    case .multiply: return a * b
    case .divide: return a / b
    case .pow: return T.power(a, b)
    case .maximum, .minimum, .atan2, .greaterOrEqualMask, .greaterMask, .equalMask, .notEqualMask,
      .selectionMask, .clampMask, .select, .sigmoidGradient, .tanhGradient, .reluGradient,
      .gatedProduct, .squareGradient:
      var (x, y, z) = (a, b, T.zero)
      T._binary(kernel!, &x, strideA: 0, &y, strideB: 0, &z, count: 1)
      return z
    }
  }
}

/// Applies `function` to `a` and `b` broadcast to `shape`, writing the row-major result to `c`.
///
/// `stridesA` and `stridesB` give each operand's step along each axis of `shape` (0 where it is
/// repeated). The last axis runs in the C kernel; the outer axes are walked with a counter. A
/// large result is split by rows across threads (a bias added to a batch), or, when its rows
/// are long, each row is (`binaryKernel`).
func broadcastBinaryKernel<T: TensorScalar>(
  _ function: BinaryFunction,
  _ a: UnsafeBufferPointer<T>, stridesA: [Int],
  _ b: UnsafeBufferPointer<T>, stridesB: [Int],
  _ c: UnsafeMutableBufferPointer<T>, shape: [Int]
) {
  guard let last = shape.indices.last else {
    c[0] = function.value(a[0], b[0])
    return
  }
  let inner = shape[last]
  guard inner > 0, c.count > 0 else { return }
  let (baseA, baseB, baseC) = (a.baseAddress!, b.baseAddress!, c.baseAddress!)
  let longRows = inner >= 2 * function.grain
  forEachRow(
    of: shape, strides: stridesA, stridesB, splittingRowsOf: longRows ? nil : inner,
    grain: function.grain
  ) {
    row, offsetA, offsetB in
    let (a, b, c) = (baseA + offsetA, baseB + offsetB, baseC + row * inner)
    if longRows {
      binaryKernel(
        function, a, strideA: stridesA[last], b, strideB: stridesB[last], c, count: inner)
    } else {
      binaryLoop(function, a, stridesA[last], b, stridesB[last], c, inner)
    }
  }
}

/// Adds `x` into `y` elementwise, in place: the accumulation of gradients at a fork. (Not BLAS's
/// axpy, whose call overhead dominates on the one-element tensors of a scalar graph.)
@_specialize(where T == Float)
@_specialize(where T == Double)
func addKernel<T: TensorScalar>(_ x: UnsafeBufferPointer<T>, into y: UnsafeMutableBufferPointer<T>)
{
  assert(x.count == y.count)
  guard let a = x.baseAddress, let b = y.baseAddress else { return }
  binaryKernel(.add, a, strideA: 1, UnsafePointer(b), strideB: 1, b, count: x.count)
}

// MARK: - The C kernels of the scalar type: each picks its precision's C function

private typealias Unary<T> = (Int32, UnsafePointer<T>?, UnsafeMutablePointer<T>?, Int) -> Void
private typealias Binary<T> = (
  Int32, UnsafePointer<T>?, Int, UnsafePointer<T>?, Int, UnsafeMutablePointer<T>?, Int
) -> Void
private typealias AddLanes<T> = (UnsafePointer<T>?, Int, UnsafeMutablePointer<T>?) -> Void
private typealias LanesTotal<T> = (UnsafePointer<T>?) -> T
private typealias ColumnSum<T> = (
  UnsafePointer<T>?, Int, Int, Int, UnsafeMutablePointer<T>?
) -> Void
private typealias Extremum<T> = (UnsafePointer<T>?, Int, Int32) -> T
private typealias ColumnExtremum<T> = (
  UnsafePointer<T>?, Int, Int, Int, UnsafeMutablePointer<T>?, Int32
) -> Void

// The kernels run one thread each: the callers split large buffers. `function` numbers a
// CElementwise function (`UnaryFunction.kernel`, `BinaryFunction.kernel`).

extension TensorScalar {
  /// `y[i] = function(x[i])` for `count` elements; `y` may be `x`.
  static func _unary(
    _ function: Int32, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int
  ) {
    let kernel: Unary<Self> = pick(
      single: autodiff_unary_float as Unary<Float>, double: autodiff_unary_double as Unary<Double>)
    kernel(function, x, y, count)
  }

  /// `c[i] = function(a[i·strideA], b[i·strideB])` for `count` elements, with strides of 0 (one
  /// element repeated) or 1; `c` may be `a` or `b`.
  static func _binary(
    _ function: Int32, _ a: UnsafePointer<Self>, strideA: Int, _ b: UnsafePointer<Self>,
    strideB: Int, _ c: UnsafeMutablePointer<Self>, count: Int
  ) {
    let kernel: Binary<Self> = pick(
      single: autodiff_binary_float as Binary<Float>,
      double: autodiff_binary_double as Binary<Double>)
    kernel(function, a, strideA, b, strideB, c, count)
  }

  /// Adds `x[16g + j]`, for every group `g < groups` and lane `j < 16`, to the state of a long
  /// sum (see `LaneSums`).
  static func _addLanes(
    _ x: UnsafePointer<Self>, groups: Int, into state: UnsafeMutablePointer<Self>
  ) {
    let kernel: AddLanes<Self> = pick(
      single: autodiff_add_lanes_float as AddLanes<Float>,
      double: autodiff_add_lanes_double as AddLanes<Double>)
    kernel(x, groups, state)
  }

  /// The sum so far of a long sum's state (see `LaneSums`).
  static func _lanesTotal(_ state: UnsafePointer<Self>) -> Self {
    let kernel: LanesTotal<Self> = pick(
      single: autodiff_lanes_total_float as LanesTotal<Float>,
      double: autodiff_lanes_total_double as LanesTotal<Double>)
    return kernel(state)
  }

  /// `y[j] = x[j] + x[stride + j] + … + x[(rows − 1)·stride + j]` for `j < count`, each column
  /// added in row order; `rows` ≥ 1.
  static func _columnSum(
    _ x: UnsafePointer<Self>, rows: Int, stride: Int, count: Int,
    into y: UnsafeMutablePointer<Self>
  ) {
    let kernel: ColumnSum<Self> = pick(
      single: autodiff_column_sum_float as ColumnSum<Float>,
      double: autodiff_column_sum_double as ColumnSum<Double>)
    kernel(x, rows, stride, count, y)
  }

  /// The largest (`maximum`) or smallest of `count` ≥ 1 contiguous elements, NaN when any is
  /// NaN (NumPy's max and min).
  static func _extremum(_ x: UnsafePointer<Self>, count: Int, maximum: Bool) -> Self {
    let kernel: Extremum<Self> = pick(
      single: autodiff_extremum_float as Extremum<Float>,
      double: autodiff_extremum_double as Extremum<Double>)
    return kernel(x, count, maximum ? 1 : 0)
  }

  /// `y[j]` = the largest (`maximum`) or smallest of `x[j]`, `x[stride + j]`, …,
  /// `x[(rows − 1)·stride + j]` for `j < count`, compared row by row; NaN wins; `rows` ≥ 1.
  static func _columnExtremum(
    _ x: UnsafePointer<Self>, rows: Int, stride: Int, count: Int,
    into y: UnsafeMutablePointer<Self>, maximum: Bool
  ) {
    let kernel: ColumnExtremum<Self> = pick(
      single: autodiff_column_extremum_float as ColumnExtremum<Float>,
      double: autodiff_column_extremum_double as ColumnExtremum<Double>)
    kernel(x, rows, stride, count, y, maximum ? 1 : 0)
  }
}

// MARK: - The C kernels' own names, for the test that compares the two tables

extension UnaryFunction {
  /// The name CElementwise gives this function's kernel ("positive_mask").
  var kernelName: String { String(cString: autodiff_unary_function_name(kernel)) }
  /// The number of CElementwise's functions of one element.
  static var kernelCount: Int { Int(autodiff_unary_function_count.rawValue) }
}

extension BinaryFunction {
  /// The name CElementwise gives this function's kernel, or `nil` for `pow`, which has none.
  var kernelName: String? {
    kernel.map { String(cString: autodiff_binary_function_name($0)) }
  }
  /// The number of CElementwise's functions of two elements.
  static var kernelCount: Int { Int(autodiff_binary_function_count.rawValue) }
}
