// On `@_specialize`, see the Performance article in Documentation.docc.

// Elementwise selection: clamping to bounds and choosing by a mask, built from the primitives
// `clampMin`, `clampMax` and `select` (ElementwiseOperation.swift).

/// `x` clamped to `[min, max]` elementwise, the bounds broadcast against `x`: NumPy's `clip`,
/// PyTorch's `clamp`.
///
/// ```swift
/// let x = Tensor<Double>(shape: [2, 3], scalars: [-2, 0.5, 3, 1, 2, 4])
/// clamp(x, min: Tensor([0, 0, 1]), max: Tensor(shape: [2, 1], scalars: [1, 3]))   // [[0.0, 0.5, 1.0], [1.0, 2.0, 3.0]]
/// ```
///
/// The lower bound applies first, then the upper one, so where `min > max` the result is `max`,
/// as in PyTorch and NumPy. NaN in `x` or in a bound gives NaN.
///
/// The gradient goes to `x` where `min ≤ x ≤ max`, the bounds included, as in PyTorch before
/// 2.15; to `min` where `x < min`; to `max` where the result is clamped by it. (PyTorch 2.15
/// gives `x` 0 at a number bound and ½ at a tensor bound, JAX's `clip` ½.) Where `x` or a bound
/// is NaN, the gradients there are NaN.
///
/// - Parameters:
///   - x: The tensor to clamp.
///   - min: The lower bound, or `nil` for none.
///   - max: The upper bound, or `nil` for none.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: A tensor of the broadcast shape of `x` and the bounds.
/// - Precondition: At least one bound is given, and the shapes broadcast (see ``Tensor``).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func clamp<Scalar>(
  _ x: Tensor<Scalar>, min: Tensor<Scalar>? = nil, max: Tensor<Scalar>? = nil,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  check(min != nil || max != nil, "clamp: neither min nor max was given", at: location)
  var result = x
  if let min { result = elementwise(.clampMin, result, min, "clamp", at: location) }
  if let max { result = elementwise(.clampMax, result, max, "clamp", at: location) }
  return result
}

/// `x` clamped to `[min, max]` elementwise, for scalar bounds: NumPy's `clip`, PyTorch's
/// `clamp`.
///
/// ```swift
/// clamp(Tensor<Double>([-2, 0.5, 3]), min: 0, max: 1)   // [0.0, 0.5, 1.0]
/// clamp(Tensor<Double>([-2, 0.5, 3]), min: 0)           // [0.0, 0.5, 3.0]
/// ```
///
/// Where `min > max` the result is `max`; NaN in `x` or a bound gives NaN. The gradient is 1
/// where `min ≤ x ≤ max` (the bounds included, as in PyTorch before 2.15, which gives 0 at a
/// number bound), 0 outside, NaN where `x` is NaN.
///
/// - Parameters:
///   - x: The tensor to clamp.
///   - min: The lower bound, or `nil` for none.
///   - max: The upper bound, or `nil` for none.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: A tensor of `x`'s shape.
/// - Precondition: At least one bound is given.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func clamp<Scalar>(
  _ x: Tensor<Scalar>, min: Scalar? = nil, max: Scalar? = nil,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  clamp(x, min: min.map { Tensor($0) }, max: max.map { Tensor($0) }, file: file, line: line)
}

/// The elements of `a` where `mask` is not 0 and those of `b` where it is, broadcast: NumPy's,
/// PyTorch's and JAX's `where`. `where` is a Swift keyword: call the function with the name in
/// backticks, as below, or as `Autodiff.where(m, a, b)`.
///
/// ```swift
/// let x = Tensor<Double>([-1, 2, -3])
/// `where`(x .> 0, x, Tensor(0))   // [0.0, 2.0, 0.0]
/// ```
///
/// The mask is what a comparison (`.>`, `.==`, …) returns: 1 and 0. The gradient goes to the
/// side each element was chosen from, and the other side gets 0 there: a NaN or an infinity in
/// the side not chosen changes neither the result nor the gradients (unlike
/// `mask·a + (1 − mask)·b`). The mask gets no gradient.
///
/// As in PyTorch and JAX, that 0 still goes through the rule of the function that made the side
/// not chosen: `where(x .> 0, sqrt(x), 0)` has a NaN gradient at x < 0, where sqrt's derivative
/// is NaN. Keep such an input in its domain first: `sqrt(where(x .> 0, x, 1))`.
///
/// - Parameters:
///   - mask: Where to choose `a` (not 0) or `b` (0).
///   - a: The elements where `mask` is not 0.
///   - b: The elements where `mask` is 0.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: A tensor of the broadcast shape of `mask`, `a` and `b`.
/// - Precondition: The three shapes broadcast together (see ``Tensor``).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func `where`<Scalar>(
  _ mask: Tensor<Scalar>, _ a: Tensor<Scalar>, _ b: Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  let shape = broadcastShape(mask.shape, a.shape).flatMap { broadcastShape($0, b.shape) }
  check(
    shape != nil,
    "where: shapes \(mask.shape.shapeDescription) (mask), \(a.shape.shapeDescription) and "
      + "\(b.shape.shapeDescription) do not broadcast: aligned from the last axis, each set of "
      + "extents must be equal or contain 1",
    at: location)
  // Each side is −0 where the other is chosen, and −0 + x is x exactly.
  let chosenA = elementwise(.select, mask, a, "where", at: location)
  let chosenB = elementwise(.select, mask .== 0, b, "where", at: location)
  return chosenA + chosenB
}

/// `where(mask, a, b)` with a scalar `b`.
///
/// ```swift
/// let x = Tensor<Double>([-1, 2, -3])
/// `where`(x .> 0, x, 0)   // [0.0, 2.0, 0.0]
/// ```
///
/// - Parameters:
///   - mask: Where to choose `a` (not 0) or `b` (0).
///   - a: The elements where `mask` is not 0.
///   - b: The value where `mask` is 0.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: A tensor of the broadcast shape of `mask` and `a`.
/// - Precondition: The shapes broadcast (see ``Tensor``).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func `where`<Scalar>(
  _ mask: Tensor<Scalar>, _ a: Tensor<Scalar>, _ b: Scalar,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  `where`(mask, a, Tensor(b), file: file, line: line)
}

/// `where(mask, a, b)` with a scalar `a`.
///
/// ```swift
/// let x = Tensor<Double>([-1, 2, -3])
/// `where`(x .> 0, 1, x)   // [-1.0, 1.0, -3.0]
/// ```
///
/// - Parameters:
///   - mask: Where to choose `a` (not 0) or `b` (0).
///   - a: The value where `mask` is not 0.
///   - b: The elements where `mask` is 0.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: A tensor of the broadcast shape of `mask` and `b`.
/// - Precondition: The shapes broadcast (see ``Tensor``).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func `where`<Scalar>(
  _ mask: Tensor<Scalar>, _ a: Scalar, _ b: Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  `where`(mask, Tensor(a), b, file: file, line: line)
}
