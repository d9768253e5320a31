/// The Huber loss averaged over every element, as PyTorch's `nn.HuberLoss(delta=δ)`: quadratic
/// for small differences, linear for large ones, so outliers pull less than in squared error.
///
/// For each difference `d = prediction − target`:
///
/// ```
/// |d| ≤ δ:   d²/2
/// |d| > δ:   δ·(|d| − δ/2)
/// ```
///
/// Computed as `q²/2 + δ·(|d| − q)` with `q = min(|d|, δ)`, which is both branches at once; its
/// derivative with respect to the prediction is `d` inside and `δ·sign(d)` outside (both δ at
/// `|d| = δ`), each divided by the element count.
///
/// ```swift
/// let loss = huberLoss(predictions: Tensor([0.5, 4]), targets: Tensor([0, 0]))   // (0.125 + 3.5)/2
/// ```
///
/// - Parameters:
///   - predictions: The model's outputs.
///   - targets: The values they should have, of the same shape.
///   - delta: The threshold δ > 0 between the quadratic and the linear part.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Precondition: The shapes agree, with at least one element, and `delta > 0`.
public func huberLoss<Scalar: TensorScalar>(
  predictions: Tensor<Scalar>, targets: Tensor<Scalar>, delta: Scalar = 1,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  requireNN(
    predictions.shape == targets.shape && predictions.scalarCount > 0,
    "huberLoss: predictions \(predictions.shape.shapeText) and targets "
      + "\(targets.shape.shapeText) must have the same, non-empty shape", at: location)
  requireNN(delta > 0, "huberLoss: delta must be > 0, got \(delta)", at: location)
  let magnitude = abs(predictions - targets)
  let inside = min(magnitude, delta)
  return (Scalar(0.5) * inside.squared() + delta * (magnitude - inside)).mean()
}
