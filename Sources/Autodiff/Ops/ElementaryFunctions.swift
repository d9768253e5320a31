// On `@_specialize`, see the Performance article in Documentation.docc.

// Elementwise functions. The Jacobian of an elementwise function is diagonal, so its pullback
// and its tangent rule are one and the same product v·f′(x), where v is the upstream gradient
// (reverse mode) or the operand's tangent (forward mode), x the operand and y the output. The
// rules of the functions of one tensor are their `ElementwiseOperation`'s. Rules that need a
// derivative mask build it unrecorded: the mask is piecewise constant, so its own derivative
// is 0.

/// `function(v, u)` in one fused loop when neither tensor is recorded (a first-order sweep, the
/// common case), else `composite()`: the same expression as tensor operations, which record, so
/// that the gradient can be differentiated again.
func fused<Scalar>(
  _ function: BinaryFunction, _ v: Tensor<Scalar>, _ u: Tensor<Scalar>,
  else composite: () -> Tensor<Scalar>
) -> Tensor<Scalar> {
  if v.isRecorded || u.isRecorded { return composite() }
  return zipped(function, v, u, "pullback")
}

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

/// `max(x, 0)` elementwise. ∂/∂x = v where x > 0, and 0 where x ≤ 0 (0 at 0 included).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func relu<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.relu, x) }

/// The absolute value elementwise. ∂/∂x = v·sign(x), 0 at 0.
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
/// `x` is `12`. A negative base with a fractional exponent gives NaN, as in C.
///
/// ∂/∂x = v·y·x^(y−1) (0 where y = 0); ∂/∂y = g·xʸ·log x (0 where x = 0; NaN for x < 0, where
/// xʸ is not differentiable in y).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func pow<Scalar>(
  _ x: Tensor<Scalar>, _ y: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  return record(
    "pow", output: zipped(.pow, x, y, "pow", at: location), operands: x, y, at: location,
    rule: .binary { g, x, y, z, wanted in
      (
        wanted.lhs
          // Where y = 0 the exponent y − 1 is replaced by 1: the term is 0 either way, and this
          // keeps 0·0⁻¹ from making a NaN at x = 0.
          ? g * y * pow(x, y - 1 + zipped(.equalMask, y, Tensor(0), "pow")) : nil,
        wanted.rhs
          // Where x = 0, log 1 = 0 stands in for log 0 = −∞, whose product with 0ˣ would be NaN.
          ? g * z * log(x + zipped(.equalMask, x, Tensor(0), "pow")) : nil
      )
    },
    tangent: .elementwise)
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
  let location = SourceLocation(file: file, line: line)
  return record(
    "maximum", output: zipped(.maximum, a, b, "max", at: location), operands: a, b, at: location,
    rule: .binary { g, a, b, _, wanted in
      (
        wanted.lhs ? g * zipped(.selectionMask, a, b, "max") : nil,
        wanted.rhs ? g * zipped(.selectionMask, b, a, "max") : nil
      )
    },
    tangent: .elementwise)
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
  let location = SourceLocation(file: file, line: line)
  return record(
    "minimum", output: zipped(.minimum, a, b, "min", at: location), operands: a, b, at: location,
    rule: .binary { g, a, b, _, wanted in
      (
        wanted.lhs ? g * zipped(.selectionMask, b, a, "min") : nil,
        wanted.rhs ? g * zipped(.selectionMask, a, b, "min") : nil
      )
    },
    tangent: .elementwise)
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
