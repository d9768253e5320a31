// On `@_specialize`, see the note at the top of Adam.swift.

/// Gradients scaled down together so that their global norm is at most `maxNorm`, as PyTorch's
/// `torch.nn.utils.clip_grad_norm_`, and the global norm they had.
///
/// The global norm is `‖g‖ = √(Σᵢ Σⱼ gᵢⱼ²)` over all elements of all gradients. When it exceeds
/// `maxNorm`, every gradient is multiplied by `maxNorm / (‖g‖ + 10⁻⁶)` (the small constant is
/// PyTorch's, and guards the division); otherwise the gradients are returned unchanged. Scaling
/// them all by one factor keeps the direction of the step.
///
/// ```swift
/// let (loss, gradients) = valueWithGradient(at: model.parameters) { ... }
/// let (clipped, norm) = clippedByGlobalNorm(gradients, maxNorm: 1)
/// optimizer.update(&model.parameters, along: clipped)
/// ```
///
/// A non-finite norm is passed on as PyTorch passes it, so check `norm` to skip such a step: a
/// NaN in any gradient makes the norm and every clipped gradient NaN; an infinite element, or
/// Double gradients whose squares overflow (beyond about 10¹⁵⁴; Float's squares are summed in
/// Double and cannot), make the norm infinite and the factor 0, so the finite elements become 0
/// and the infinite ones NaN.
///
/// - Parameters:
///   - gradients: The gradients, of any shapes.
///   - maxNorm: The largest global norm to allow, > 0.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: The clipped gradients, and the global norm of `gradients` before clipping.
/// - Precondition: `maxNorm > 0`.
/// - Complexity: O(n) for n elements in all: one pass to measure, one to scale when clipping.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func clippedByGlobalNorm<Scalar: TensorScalar>(
  _ gradients: [Tensor<Scalar>], maxNorm: Scalar,
  file: StaticString = #fileID, line: UInt = #line
) -> (gradients: [Tensor<Scalar>], norm: Scalar) {
  requireNN(
    maxNorm > 0, "clippedByGlobalNorm: maxNorm must be > 0, got \(maxNorm)",
    at: SourceLocation(file: file, line: line))
  // Σ g² accumulated in Double, so that millions of Float squares do not lose the small ones.
  let norm = sumOfSquaresInDouble(gradients).squareRoot()
  let factor = Double(maxNorm) / (norm + 1e-6)
  guard !(factor >= 1) else { return (gradients, Scalar(norm)) }
  let scale = Scalar(factor)
  return (gradients.map { $0 * scale }, Scalar(norm))
}

/// Gradients with every element clamped to `[−limit, limit]`, as PyTorch's
/// `torch.nn.utils.clip_grad_value_`.
///
/// Unlike ``clippedByGlobalNorm(_:maxNorm:file:line:)`` it changes the step's direction: each
/// element is cut on its own. A NaN stays NaN (as `clamp` keeps it, and PyTorch too), and ±∞
/// becomes ±limit.
///
/// ```swift
/// let clipped = clippedByValue(gradients, limit: 0.5)
/// optimizer.update(&model.parameters, along: clipped)
/// ```
///
/// - Parameters:
///   - gradients: The gradients, of any shapes.
///   - limit: The largest magnitude to allow, > 0.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: The clipped gradients.
/// - Precondition: `limit > 0`.
public func clippedByValue<Scalar: TensorScalar>(
  _ gradients: [Tensor<Scalar>], limit: Scalar, file: StaticString = #fileID, line: UInt = #line
) -> [Tensor<Scalar>] {
  requireNN(
    limit > 0, "clippedByValue: limit must be > 0, got \(limit)",
    at: SourceLocation(file: file, line: line))
  return gradients.map { clamp($0, min: -limit, max: limit) }
}
