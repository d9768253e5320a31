// On `@_specialize`, see the Performance article in Documentation.docc.

// Piecewise-constant elementwise functions: sign and rounding. Each is a row of the table of
// primitives (ElementwiseOperation.swift). Their derivative is 0 wherever it exists, and is taken
// as 0 at the jumps too, as PyTorch and JAX do: they are recorded, so that a gradient through them
// is a tensor of zeros (not NaN, even where the upstream gradient is) rather than a missing one.

/// The sign of each element: −1, 0 or 1, and NaN where the element is NaN (NumPy's `sign`).
///
/// ```swift
/// sign(Tensor<Double>([-2.5, 0, 3]))   // [-1.0, 0.0, 1.0]
/// ```
///
/// ∂/∂x = 0.
///
/// - Parameter x: The tensor.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func sign<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.sign, x) }

/// Each element rounded down, to the largest integer not above it.
///
/// ```swift
/// floor(Tensor<Double>([-1.5, 0.5, 2]))   // [-2.0, 0.0, 2.0]
/// ```
///
/// ∂/∂x = 0.
///
/// - Parameter x: The tensor.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func floor<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.floor, x) }

/// Each element rounded up, to the smallest integer not below it.
///
/// ```swift
/// ceil(Tensor<Double>([-1.5, 0.5, 2]))   // [-1.0, 1.0, 2.0]
/// ```
///
/// ∂/∂x = 0.
///
/// - Parameter x: The tensor.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func ceil<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.ceil, x) }

/// Each element rounded to the nearest integer, a tie to the even one, as NumPy's `round`,
/// PyTorch's and JAX's (not as Swift's `rounded()` and C's `round`, which round a tie away from
/// zero).
///
/// ```swift
/// round(Tensor<Double>([0.5, 1.5, 2.5, -0.5, 2.6]))   // [0.0, 2.0, 2.0, -0.0, 3.0]
/// ```
///
/// ∂/∂x = 0.
///
/// - Parameter x: The tensor.
/// - Returns: A tensor of `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func round<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { elementwise(.round, x) }
