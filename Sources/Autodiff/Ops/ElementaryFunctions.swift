// On `@_specialize`, see the Performance article in Documentation.docc.

// Elementwise functions. The Jacobian of an elementwise function is diagonal, so its pullback
// and its tangent rule are one and the same product v·f′(x), where v is the upstream gradient
// (reverse mode) or the operand's tangent (forward mode), x the operand and y the output. Each
// function is a row of the table of primitives (ElementwiseOperation.swift), where its rule is.

/// `eˣ` elementwise. ∂/∂x = v·y.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func exp<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.exp, x) }

/// The natural logarithm elementwise. ∂/∂x = v/x.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func log<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.log, x) }

/// The square root elementwise. ∂/∂x = v/(2y).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sqrt<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.sqrt, x) }

/// The sine elementwise. ∂/∂x = v·cos x.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sin<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.sin, x) }

/// The cosine elementwise. ∂/∂x = −v·sin x.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func cos<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.cos, x) }

/// The hyperbolic tangent elementwise. ∂/∂x = v·(1 − y²).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func tanh<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.tanh, x) }

/// The logistic function 1/(1 + e⁻ˣ) elementwise, without overflow for large |x|.
/// ∂/∂x = v·y·(1 − y).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sigmoid<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.sigmoid, x) }

/// `log(1 + eˣ)` elementwise, without overflow for large x and exact to the last bits for very
/// negative x (where it is about eˣ): a smooth ReLU. ∂/∂x = v·σ(x).
///
/// PyTorch's `softplus` returns x itself above its `threshold` of 20, and its gradient 1; this
/// one computes `log(1 + eˣ)` there too, larger by about e⁻ˣ (1.4·10⁻¹¹ at 25, invisible in
/// Float).
///
/// ```swift
/// softplus(Tensor<Double>([-1, 0, 1]))   // [0.3132616875182228, 0.6931471805599453, 1.3132616875182228]
/// ```
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softplus<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.softplus, x) }

/// `log(1 + x)` elementwise, exact to the last bits where x is small (where `log(1 + x)` loses
/// the digits of x to the rounding of 1 + x): within an ulp of C's `log1p`, vectorized as `log`
/// is.
///
/// ```swift
/// log1p(Tensor<Double>([1e-10, 0, 1]))   // [9.999999999500001e-11, 0.0, 0.6931471805599453]
/// ```
///
/// ∂/∂x = v/(1 + x).
///
/// - Parameter x: The tensor, whose elements are above −1 for a finite result (−1 gives −∞,
///   below it NaN).
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func log1p<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.log1p, x) }

/// `eˣ − 1` elementwise, exact to the last bits where x is small (where `exp(x) − 1` cancels to
/// a few digits): within 2 ulps of C's `expm1`, vectorized as `exp` is.
///
/// ```swift
/// expm1(Tensor<Double>([1e-10, 0, -1]))   // [1.00000000005e-10, 0.0, -0.6321205588285577]
/// ```
///
/// ∂/∂x = v·eˣ (computed as such: y + 1 would lose every digit of a small eˣ).
///
/// - Parameter x: The tensor.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func expm1<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.expm1, x) }

/// The error function `erf(x) = 2/√π ∫₀ˣ e^(−t²) dt` elementwise: C's `erf` for Double, and
/// for Float a vectorized form within 1.17 ulps of the correctly rounded value (Performance.md).
///
/// ```swift
/// erf(Tensor<Double>([-1, 0, 0.5]))   // [-0.8427007929497149, 0.0, 0.5204998778130465]
/// ```
///
/// ∂/∂x = v·(2/√π)·e^(−x²).
///
/// - Parameter x: The tensor.
/// - Returns: A tensor of `x`'s shape, with elements in [−1, 1].
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func erf<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.erf, x) }

/// The tangent elementwise: NumPy's `tan`, PyTorch's `torch.tan`. For Float, a vectorized form
/// computed in Double and rounded once, within an ulp of C's `tanf`; for Double, C's `tan`.
///
/// ```swift
/// tan(Tensor<Double>([-1, 0, 1.5]))   // [-1.5574077246549023, 0.0, 14.101419947171719]
/// ```
///
/// ∂/∂x = v·(1 + y²).
///
/// - Parameter x: The tensor, in radians. No floating-point number is a pole (π/2 + kπ): next
///   to one, the result is large and finite. ±∞ and NaN give NaN.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func tan<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.tan, x) }

/// The inverse sine elementwise, in [−π/2, π/2]: NumPy's `arcsin`, PyTorch's `torch.asin`. For
/// Float, a vectorized form computed in Double and rounded once, within an ulp of C's `asinf`;
/// for Double, C's `asin`.
///
/// ```swift
/// asin(Tensor<Double>([-1, 0, 0.5]))   // [-1.5707963267948966, 0.0, 0.5235987755982989]
/// ```
///
/// ∂/∂x = v/√(1 − x²): infinite at ±1, as in PyTorch and JAX.
///
/// - Parameter x: The tensor, whose elements are in [−1, 1]; an element outside gives NaN, as in
///   NumPy (without its warning) and PyTorch, and so does its gradient.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func asin<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.asin, x) }

/// The inverse cosine elementwise, in [0, π]: NumPy's `arccos`, PyTorch's `torch.acos`. For
/// Float, a vectorized form computed in Double and rounded once, within an ulp of C's `acosf`;
/// for Double, C's `acos`.
///
/// ```swift
/// acos(Tensor<Double>([-1, 0, 0.5]))   // [3.141592653589793, 1.5707963267948966, 1.0471975511965979]
/// ```
///
/// ∂/∂x = −v/√(1 − x²): −∞ at ±1, as in PyTorch and JAX.
///
/// - Parameter x: The tensor, whose elements are in [−1, 1]; an element outside gives NaN, as in
///   NumPy (without its warning) and PyTorch, and so does its gradient.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func acos<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.acos, x) }

/// The inverse tangent elementwise, in [−π/2, π/2] (±π/2 at ±∞): NumPy's `arctan`, PyTorch's
/// `torch.atan`. For Float, a vectorized form computed in Double and rounded once, within an ulp
/// of C's `atanf`; for Double, C's `atan`.
///
/// ```swift
/// atan(Tensor<Double>([-1, 0, 2]))   // [-0.7853981633974483, 0.0, 1.1071487177940904]
/// ```
///
/// ∂/∂x = v/(1 + x²) (0 at ±∞).
///
/// - Parameter x: The tensor.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func atan<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.atan, x) }

/// The hyperbolic sine `(eˣ − e⁻ˣ)/2` elementwise: NumPy's `sinh`, PyTorch's `torch.sinh`.
/// Vectorized: below |x| = 1 its Taylor series, which keeps the digits of a small x, beyond it
/// from `expm1`; within 2 ulps of C's `sinh`. It overflows to ±∞ beyond |x| ≈ 89.4 in Float,
/// 710.5 in Double.
///
/// ```swift
/// sinh(Tensor<Double>([-1, 0, 1e-10]))   // [-1.1752011936438014, 0.0, 1e-10]
/// ```
///
/// ∂/∂x = v·cosh x.
///
/// - Parameter x: The tensor.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sinh<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.sinh, x) }

/// The hyperbolic cosine `(eˣ + e⁻ˣ)/2` elementwise, at least 1: NumPy's `cosh`, PyTorch's
/// `torch.cosh`. Vectorized from `exp`, within 2 ulps of C's `cosh`. It overflows to +∞ beyond
/// |x| ≈ 89.4 in Float, 710.5 in Double.
///
/// ```swift
/// cosh(Tensor<Double>([-1, 0, 2]))   // [1.543080634815244, 1.0, 3.7621956910836314]
/// ```
///
/// ∂/∂x = v·sinh x.
///
/// - Parameter x: The tensor.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func cosh<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.cosh, x) }

/// `max(x, 0)` elementwise. ∂/∂x = v where x > 0, and 0 where x ≤ 0 (0 at 0 included).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func relu<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.relu, x) }

/// The absolute value elementwise. ∂/∂x = v·sign(x), 0 at 0 and NaN at a NaN (PyTorch gives 0
/// there, JAX −1).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func abs<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.abs, x) }

extension Tensor {
  /// Each element squared. ∂/∂x = 2v·x.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func squared() -> Tensor { elementwise(.square, self) }
}

/// `xʸ` elementwise, broadcast.
///
/// A negative base with an integer exponent is exact: `pow(-2, 3)` is `-8` and its derivative in
/// `x` is `12`. A negative base with a fractional exponent gives NaN; the signed zeros and
/// infinities follow C's `pow` and IEEE 754: `pow(-∞, 0.5)` is +∞ and `pow(-0, 0.5)` is +0,
/// where NumPy and PyTorch, which take a ½ power as a square root, give NaN and −0.
///
/// ∂/∂x = v·y·x^(y−1) (0 where y = 0); ∂/∂y = g·xʸ·log x (0 where x = 0 and y ≥ 0, infinite where
/// x = 0 and y < 0, as in PyTorch; NaN for x < 0, where xʸ is not differentiable in y).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func pow<Scalar>(
  _ x: Tensor<Scalar>, _ y: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  elementwise(.pow, x, y, "pow", at: SourceLocation(file: file, line: line))
}

/// `xᵖ` elementwise for a scalar exponent `p`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func pow<Scalar>(
  _ x: Tensor<Scalar>, _ p: Scalar, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> { pow(x, Tensor(p), file: file, line: line) }

/// `bˣ` elementwise for a scalar base `b`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func pow<Scalar>(
  _ b: Scalar, _ x: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> { pow(Tensor(b), x, file: file, line: line) }

/// The angle of the point (x, y) from the positive x-axis, in [−π, π], elementwise and
/// broadcast: NumPy's `arctan2`, PyTorch's `torch.atan2`. For Float, a vectorized form computed
/// in Double and rounded once, within an ulp of C's `atan2f`; for Double, C's `atan2`.
///
/// The signs of both operands pick the quadrant, so that, unlike `atan(y / x)`, the result
/// covers the whole circle; signed zeros and infinities follow C: `atan2(0, -1)` is π,
/// `atan2(-0.0, -1)` is −π, `atan2(0, 0)` is 0 and `atan2(1, 0)` is π/2.
///
/// ```swift
/// atan2(Tensor<Double>([1, 1, -1, 0]), Tensor<Double>([1, -1, -1, -1]))
/// // [0.7853981633974483, 2.356194490192345, -2.356194490192345, 3.141592653589793]
/// ```
///
/// ∂/∂y = v·x/(x² + y²); ∂/∂x = −v·y/(x² + y²). Both are 0 where x² + y² is 0: at the origin,
/// where atan2 is not differentiable, and where x and y are so small that their squares
/// underflow (below about 10⁻¹⁶² in Double, 10⁻²³ in Float). That is PyTorch's rule; JAX
/// gives NaN at the origin and ±∞ where the squares underflow.
///
/// - Parameters:
///   - y: The ordinates.
///   - x: The abscissas, of a shape that broadcasts with `y`'s.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: A tensor of the broadcast shape.
/// - Precondition: The shapes of `y` and `x` broadcast.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func atan2<Scalar>(
  _ y: Tensor<Scalar>, _ x: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  elementwise(.atan2, y, x, "atan2", at: SourceLocation(file: file, line: line))
}

/// `atan2(y, x)` elementwise for a scalar abscissa `x`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func atan2<Scalar>(
  _ y: Tensor<Scalar>, _ x: Scalar, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> { atan2(y, Tensor(x), file: file, line: line) }

/// `atan2(y, x)` elementwise for a scalar ordinate `y`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func atan2<Scalar>(
  _ y: Scalar, _ x: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> { atan2(Tensor(y), x, file: file, line: line) }

/// The larger of `a` and `b` elementwise, broadcast: NumPy's `maximum`, NaN where either is NaN.
///
/// The gradient goes to the input that was selected; on a tie (`a == b`) each input gets half,
/// as in PyTorch and JAX; where either input is NaN both get NaN.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func max<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  elementwise(.maximum, a, b, "max", at: SourceLocation(file: file, line: line))
}

/// The smaller of `a` and `b` elementwise, broadcast: NumPy's `minimum`, NaN where either is NaN.
///
/// The gradient goes to the input that was selected; on a tie (`a == b`) each input gets half,
/// as in PyTorch and JAX; where either input is NaN both get NaN.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func min<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  elementwise(.minimum, a, b, "min", at: SourceLocation(file: file, line: line))
}

@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func max<Scalar>(
  _ a: Tensor<Scalar>, _ b: Scalar, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> { max(a, Tensor(b), file: file, line: line) }
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func max<Scalar>(
  _ a: Scalar, _ b: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> { max(Tensor(a), b, file: file, line: line) }
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func min<Scalar>(
  _ a: Tensor<Scalar>, _ b: Scalar, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> { min(a, Tensor(b), file: file, line: line) }
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func min<Scalar>(
  _ a: Scalar, _ b: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> { min(Tensor(a), b, file: file, line: line) }
