// On `@_specialize`, see the Performance article in Documentation.docc.

// Elementwise functions of one tensor, each with its pullback (g is the upstream gradient, x the
// operand, y the output). Rules that need a derivative mask build it unrecorded: the mask is
// piecewise constant, so its own derivative is 0.

/// `eˣ` elementwise. ∂/∂x = g·y.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func exp<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  record("exp", output: x.mapped(.exp), operands: x, rule: .unary { g, _, y in g * y })
}

/// The natural logarithm elementwise. ∂/∂x = g/x.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func log<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  record("log", output: x.mapped(.log), operands: x, rule: .unary { g, x, _ in g / x })
}

/// The square root elementwise. ∂/∂x = g/(2y).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sqrt<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  record("sqrt", output: x.mapped(.sqrt), operands: x, rule: .unary { g, _, y in g / (2 * y) })
}

/// The sine elementwise. ∂/∂x = g·cos x.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sin<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  record("sin", output: x.mapped(.sin), operands: x, rule: .unary { g, x, _ in g * cos(x) })
}

/// The cosine elementwise. ∂/∂x = −g·sin x.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func cos<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  record("cos", output: x.mapped(.cos), operands: x, rule: .unary { g, x, _ in -(g * sin(x)) })
}

/// The hyperbolic tangent elementwise. ∂/∂x = g·(1 − y²).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func tanh<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  record("tanh", output: x.mapped(.tanh), operands: x, rule: .unary { g, _, y in g * (1 - y.squared()) })
}

/// The logistic function 1/(1 + e⁻ˣ) elementwise, without overflow for large |x|.
/// ∂/∂x = g·y·(1 − y).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sigmoid<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  record("sigmoid", output: x.mapped(.sigmoid), operands: x, rule: .unary { g, _, y in g * y * (1 - y) })
}

/// `max(x, 0)` elementwise. ∂/∂x = g where x > 0, and 0 where x ≤ 0 (0 at 0 included).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func relu<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  record("relu", output: x.mapped(.relu), operands: x, rule: .unary { g, x, _ in g * x.mapped(.positiveMask) })
}

/// The absolute value elementwise. ∂/∂x = g·sign(x), 0 at 0.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func abs<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  record("abs", output: x.mapped(.abs), operands: x, rule: .unary { g, x, _ in g * x.mapped(.sign) })
}

extension Tensor {
  /// Each element squared. ∂/∂x = 2g·x.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func squared() -> Tensor {
    record("square", output: mapped(.square), operands: self, rule: .unary { g, x, _ in 2 * g * x })
  }
}

/// `xʸ` elementwise, broadcast.
///
/// A negative base with an integer exponent is exact: `pow(-2, 3)` is `-8` and its derivative in
/// `x` is `12`. A negative base with a fractional exponent gives NaN, as in C.
///
/// ∂/∂x = g·y·x^(y−1) (0 where y = 0); ∂/∂y = g·xʸ·log x (0 where x = 0; NaN for x < 0, where
/// xʸ is not differentiable in y).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func pow<Scalar>(_ x: Tensor<Scalar>, _ y: Tensor<Scalar>) -> Tensor<Scalar> {
  record(
    "pow", output: zipped(.pow, x, y, "pow"), operands: x, y,
    rule: .binary(
      lhs: { g, x, y, _ in
        // Where y = 0 the exponent y − 1 is replaced by 1: the term is 0 either way, and this
        // keeps 0·0⁻¹ from making a NaN at x = 0.
        g * y * pow(x, y - 1 + zipped(.equalMask, y, Tensor(0), "pow"))
      },
      rhs: { g, x, _, z in
        // Where x = 0, log 1 = 0 stands in for log 0 = −∞, whose product with 0ˣ would be NaN.
        g * z * log(x + zipped(.equalMask, x, Tensor(0), "pow"))
      }))
}

/// `xᵖ` elementwise for a scalar exponent `p`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func pow<Scalar>(_ x: Tensor<Scalar>, _ p: Scalar) -> Tensor<Scalar> { pow(x, Tensor(p)) }

/// `bˣ` elementwise for a scalar base `b`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func pow<Scalar>(_ b: Scalar, _ x: Tensor<Scalar>) -> Tensor<Scalar> { pow(Tensor(b), x) }

/// The larger of `a` and `b` elementwise, broadcast.
///
/// The gradient goes to the input that was selected; on a tie (`a == b`) it goes to `a`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func max<Scalar>(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> Tensor<Scalar> {
  record(
    "maximum", output: zipped(.maximum, a, b, "max"), operands: a, b,
    rule: .binary(
      lhs: { g, a, b, _ in g * zipped(.greaterOrEqualMask, a, b, "max") },
      rhs: { g, a, b, _ in g * zipped(.greaterMask, b, a, "max") }))
}

/// The smaller of `a` and `b` elementwise, broadcast.
///
/// The gradient goes to the input that was selected; on a tie (`a == b`) it goes to `a`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func min<Scalar>(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> Tensor<Scalar> {
  record(
    "minimum", output: zipped(.minimum, a, b, "min"), operands: a, b,
    rule: .binary(
      lhs: { g, a, b, _ in g * zipped(.greaterOrEqualMask, b, a, "min") },
      rhs: { g, a, b, _ in g * zipped(.greaterMask, a, b, "min") }))
}

@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func max<Scalar>(_ a: Tensor<Scalar>, _ b: Scalar) -> Tensor<Scalar> { max(a, Tensor(b)) }
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func max<Scalar>(_ a: Scalar, _ b: Tensor<Scalar>) -> Tensor<Scalar> { max(Tensor(a), b) }
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func min<Scalar>(_ a: Tensor<Scalar>, _ b: Scalar) -> Tensor<Scalar> { min(a, Tensor(b)) }
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func min<Scalar>(_ a: Scalar, _ b: Tensor<Scalar>) -> Tensor<Scalar> { min(Tensor(a), b) }
