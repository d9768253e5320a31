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
