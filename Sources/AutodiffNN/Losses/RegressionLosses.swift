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
/// As in PyTorch, the derivative with respect to the prediction is `d` inside and `δ·sign(d)`
/// outside (both δ at `|d| = δ`, and δ·sign(d) at an infinite `d`), and the second derivative
/// 1 inside (at `d = 0` too) and 0 from `|d| = δ` on, each divided by the element count.
///
/// ```swift
/// let loss = huberLoss(predictions: Tensor([0.5, 4]), targets: Tensor([0, 0]))   // (0.125 + 3.5)/2
/// ```
///
/// - Parameters:
///   - predictions: The model's outputs.
///   - targets: The values they should have, of the same shape.
///   - delta: The threshold δ > 0 between the quadratic and the linear part.
///   - reduction: The mean of the elements' losses (the default), their sum, or the losses
///     themselves (`.none`, of the predictions' shape).
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Precondition: The shapes agree, with at least one element, and `delta > 0`.
public func huberLoss<Scalar: TensorScalar>(
  predictions: Tensor<Scalar>, targets: Tensor<Scalar>, delta: Scalar = 1,
  reduction: LossReduction = .mean, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  return regressionLoss("huberLoss", predictions, targets, reduction, at: location) {
    difference in
    requireNN(delta > 0, "huberLoss: delta must be > 0, got \(delta)", at: location)
    // Each branch reads d only where it is chosen, and a harmless constant elsewhere: the
    // branch not chosen still passes its zero gradient through its own rule, and d²/2 at an
    // infinite d would make that 0·∞. The quadratic branch squares d itself, not |d|, so that
    // its second derivative is 1 at d = 0 too (through |d| it would be sign(d)² = 0 there).
    let magnitude = abs(difference)
    let inside = magnitude .< delta
    let quadratic = `where`(inside, difference, 0)
    let linear = `where`(inside, delta, magnitude)
    return `where`(inside, Scalar(0.5) * quadratic.squared(), delta * (linear - delta / 2))
  }
}

/// The mean of the absolute differences, `mean(|predictions − targets|)`, over every element:
/// PyTorch's `nn.L1Loss`, less swayed by outliers than squared error.
///
/// ```swift
/// let loss = meanAbsoluteError(predictions: Tensor([0.5, 4]), targets: Tensor([1, 2]))  // 1.25
/// ```
///
/// The gradient with respect to `predictions` is `sign(predictions − targets)/n` for `n`
/// elements, 0 where they are equal (PyTorch's subgradient).
///
/// - Parameters:
///   - predictions: The model's outputs.
///   - targets: The values they should have, of the same shape.
///   - reduction: The mean of the absolute differences (the default), their sum, or the
///     differences themselves (`.none`, of the predictions' shape).
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Precondition: `predictions` and `targets` have the same shape, with at least one element.
public func meanAbsoluteError<Scalar: TensorScalar>(
  predictions: Tensor<Scalar>, targets: Tensor<Scalar>, reduction: LossReduction = .mean,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  regressionLoss(
    "meanAbsoluteError", predictions, targets, reduction, at: SourceLocation(file: file, line: line)
  ) { abs($0) }
}
