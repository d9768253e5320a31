// On `@_specialize`, see the Performance article in Documentation.docc.

// Activation functions built from the primitives (ElementwiseOperation.swift): each is a short
// composite whose operations are recorded, so its gradient is the chain rule over exact rules,
// forward mode and second order come with it, and NaN propagates as through each part. SiLU and
// the exact GELU, products x·h(x), are one operation each with PyTorch's derivative instead: the
// chain rule through the product multiplies the upstream gradient by x before h′(x), which
// overflows to ∞·0 = NaN at large x (silu′(10³⁰⁸) with g = 2), where x·h′(x) alone is 0.
//
// The kinks follow PyTorch: leaky ReLU's derivative at 0 is the slope and ELU's is α (the
// negative side's), because `min(x, 0)` is computed as `clamp(x, max: 0)`, whose gradient is 1 at
// its bound, while `relu` has derivative 0 at 0.

/// How `gelu(_:approximation:)` computes the Gaussian CDF.
public enum GELUApproximation: Sendable {
  /// With the error function: `Φ(x) = (1 + erf(x/√2))/2`. PyTorch's `approximate='none'`,
  /// JAX's `approximate=False`.
  case exact
  /// With the hyperbolic tangent: `Φ(x) ≈ (1 + tanh(√(2/π)·(x + 0.044715x³)))/2`. PyTorch's
  /// `approximate='tanh'`, JAX's `approximate=True`; GPT-2's and BERT's original form.
  case tanh
}

/// The Gaussian error linear unit `x·Φ(x)` elementwise, Φ the standard normal CDF.
///
/// ```swift
/// let x = Tensor<Double>([-1, 0, 1])
/// gelu(x)                            // [-0.15865525393145702, 0.0, 0.841344746068543]
/// gelu(x, approximation: .tanh)      // [-0.15880800939172324, 0.0, 0.8411919906082768]
/// ```
///
/// ∂/∂x = v·(Φ(x) + x·φ(x)) for the exact form, φ the standard normal density; the chain rule
/// through tanh for the approximation.
///
/// - Parameters:
///   - x: The tensor.
///   - approximation: `.exact` (the default) or `.tanh`.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func gelu<Scalar>(
  _ x: Tensor<Scalar>, approximation: GELUApproximation = .exact
) -> Tensor<Scalar> {
  switch approximation {
  case .exact:
    // Φ(x), 1/√2 rounded to the scalar type; see `selfGated(_:by:named:derivative:)`.
    let cdf = 0.5 * (1 + erf(withoutDerivative(at: x) * 0.7071067811865476))
    return selfGated(x, by: cdf, named: "gelu") { x, cdf in
      // Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π): 1/√(2π) rounded to the scalar type.
      (cdf ?? 0.5 * (1 + erf(x * 0.7071067811865476)))
        + x * (0.3989422804014327 * exp(-0.5 * x.squared()))
    }
  case .tanh:
    // √(2/π) rounded to the scalar type.
    let inner = 0.7978845608028654 * (x + 0.044715 * (x * x.squared()))
    return x * (0.5 * (1 + tanh(inner)))
  }
}

/// The sigmoid linear unit (swish) `x·σ(x)` elementwise.
///
/// ```swift
/// silu(Tensor<Double>([-1, 0, 1]))   // [-0.2689414213699951, 0.0, 0.7310585786300049]
/// ```
///
/// ∂/∂x = v·σ(x)·(1 + x·(1 − σ(x))).
///
/// - Parameter x: The tensor.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func silu<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  let sigmoid = Autodiff.sigmoid(withoutDerivative(at: x))
  return selfGated(x, by: sigmoid, named: "silu") { x, sigmoid in
    // σ(x) + x·σ′(x), x·σ′(x) = (x·σ(x))·(1 − σ(x)) the sigmoid gradient's kernel computes in
    // one pass where nothing is recorded.
    guard let s = sigmoid else {
      let s = Autodiff.sigmoid(x)
      return s + x * s * (1 - s)
    }
    return s + zipped(.sigmoidGradient, x, s, "silu")
  }
}

/// `x·h(x)` as one operation, `h` an activation's factor (its value `factor`, from `x` as a
/// constant), whose derivative `derivative(x, h)` writes with `x·h′(x)` as one term: through
/// the composite the upstream gradient met x before h′(x), and overflowed to ∞·0 = NaN where
/// x is large and h′(x) = 0 (silu′(10³⁰⁸) with an upstream 2). `derivative` receives `factor`
/// for a first-order sweep, and `nil` where its operand is recorded (second derivatives), to
/// compute h from x with recorded operations.
private func selfGated<Scalar>(
  _ x: Tensor<Scalar>, by factor: Tensor<Scalar>, named name: StaticString,
  derivative: @escaping (Tensor<Scalar>, Tensor<Scalar>?) -> Tensor<Scalar>
) -> Tensor<Scalar> {
  func slope(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
    derivative(x, x.isRecorded ? nil : factor)
  }
  return customOperation(name, operands: [x]) { x in
    x[0] * factor
  } pullback: { g, x, _ in
    [g * slope(x[0])]
  } tangent: { tangents, x, _ in
    // One operand, so its tangent is the one present.
    tangents[0]! * slope(x[0])
  }
}

/// The leaky rectified linear unit: x where x > 0, `negativeSlope·x` elsewhere.
///
/// ```swift
/// leakyRelu(Tensor<Double>([-2, 0, 3]), negativeSlope: 0.1)   // [-0.2, 0.0, 3.0]
/// ```
///
/// ∂/∂x = v where x > 0, `negativeSlope·v` where x ≤ 0 (at 0 included, as in PyTorch); NaN
/// where x is NaN.
///
/// - Parameters:
///   - x: The tensor.
///   - negativeSlope: The slope for x ≤ 0; 0.01 by default, as in PyTorch and JAX.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func leakyRelu<Scalar>(
  _ x: Tensor<Scalar>, negativeSlope: Scalar = 0.01
) -> Tensor<Scalar> {
  relu(x) + negativeSlope * nonPositivePart(x)
}

/// The exponential linear unit: x where x > 0, `α·(eˣ − 1)` elsewhere.
///
/// ```swift
/// elu(Tensor<Double>([-1, 0, 2]))   // [-0.6321205588285577, 0.0, 2.0]
/// ```
///
/// ∂/∂x = v where x > 0, `α·eˣ·v` where x ≤ 0 (α at 0, as in PyTorch); NaN where x is NaN.
/// The second derivative at 0 is also the negative side's, α (PyTorch's double backward takes
/// the positive side's there, 0).
///
/// - Parameters:
///   - x: The tensor.
///   - alpha: The value ELU tends to as x → −∞ is −α; 1 by default.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func elu<Scalar>(_ x: Tensor<Scalar>, alpha: Scalar = 1) -> Tensor<Scalar> {
  relu(x) + alpha * expm1(nonPositivePart(x))
}

/// `min(x, 0)` with derivative 1 at 0: relu's complement, so that x = relu(x) + this, and a
/// composite of the two takes its negative side's derivative at 0.
private func nonPositivePart<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
  elementwise(.clampMax, x, Tensor(0), "clamp")
}
