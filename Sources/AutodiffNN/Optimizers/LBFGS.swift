/// Limited-memory BFGS with a strong-Wolfe line search (Nocedal and Wright, "Numerical
/// Optimization", 2nd ed., algorithms 7.4 and 7.5), for full-batch problems: a logistic
/// regression, a small network fitted to all its data, a physics objective.
///
/// Each iteration steps along `d = −H·∇f`, where `H` approximates the inverse Hessian from the
/// last ``historySize`` pairs `sₖ = xₖ₊₁ − xₖ`, `yₖ = ∇fₖ₊₁ − ∇fₖ` by the two-loop recursion,
/// scaled by `γ = sᵀy / yᵀy` of the newest pair. The step length comes from a line search that
/// satisfies the strong Wolfe conditions (`c₁ = 10⁻⁴`, `c₂ = 0.9`); the first iteration, with no
/// curvature yet, tries `min(1, 1/‖∇f‖₁)`, later ones 1. A pair whose curvature `sᵀy` is not
/// positive is skipped, so `H` stays positive definite.
///
/// The line search is PyTorch's `_strong_wolfe`, safeguards included, so the points evaluated
/// are those of `torch.optim.LBFGS(line_search_fn: "strong_wolfe", lr: 1)` with the same
/// history, up to rounding. The stopping rules differ: PyTorch also stops when the directional
/// derivative rises above `−tolerance_change` and compares the change of the loss with
/// `tolerance_change` absolutely, where ``changeTolerance`` is relative to `max(|f|, 1)`, as
/// SciPy's `ftol`; and it skips a pair whose `sᵀy` is at most 10⁻¹⁰, where a pair is skipped
/// here when `sᵀy ≤ 10⁻¹⁰·yᵀy`, whatever the loss's scale. So a run may take a step or two more
/// than PyTorch's, to a point at least as close.
///
/// Unlike ``SGD`` and ``Adam`` it is not an ``Optimizer``: it evaluates the loss itself, as
/// often as the line search needs, so it takes the loss as a function of the parameters rather
/// than one gradient per step (PyTorch's `LBFGS.step(closure)`, SciPy's `minimize`).
///
/// ```swift
/// var parameters = [Tensor<Double>([-1.2, 1])]
/// let result = LBFGS<Double>().minimize(&parameters) { p in
///   let (x, y) = (p[0].sliced(alongAxis: 0, 0..<1), p[0].sliced(alongAxis: 0, 1..<2))
///   return ((1 - x).squared() + 100 * (y - x.squared()).squared()).sum()   // Rosenbrock
/// }
/// // parameters[0] ≈ [1, 1]; result.iterations, result.evaluations, result.stopReason
/// ```
///
/// The search runs in `Double` whatever `Scalar` is: the parameters are gathered into one `Double`
/// vector, and the loss is evaluated on tensors of `Scalar`. In `Float`, tolerances below Float's
/// precision (10⁻⁷ relative) cannot be met and the search stops on a failed line search instead.
public struct LBFGS<Scalar: TensorScalar>: Sendable {
  /// The number of pairs (s, y) kept: the memory of the Hessian approximation (SciPy's `m`,
  /// PyTorch's `history_size`).
  public var historySize: Int

  /// The most iterations (steps) taken.
  public var maxIterations: Int

  /// The most evaluations of the loss and its gradient, line searches included.
  public var maxEvaluations: Int

  /// The search has converged when the gradient's largest element is at most this (SciPy's
  /// `gtol`, PyTorch's `tolerance_grad`).
  public var gradientTolerance: Double

  /// The search stops when an iteration changes the loss by at most this, relative to
  /// `max(|f|, 1)` (SciPy's `ftol`), or moves no parameter by more than it.
  public var changeTolerance: Double

  /// Creates a solver.
  ///
  /// - Parameters:
  ///   - historySize: The number of curvature pairs kept, ≥ 1.
  ///   - maxIterations: The most steps, ≥ 1.
  ///   - maxEvaluations: The most loss evaluations; `nil` for 5/4 of `maxIterations` plus 25.
  ///   - gradientTolerance: The largest gradient element at which the search has converged.
  ///   - changeTolerance: The relative change in the loss, and the change of the parameters,
  ///     below which the search stops.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `historySize ≥ 1`, `maxIterations ≥ 1`, and the tolerances are ≥ 0.
  public init(
    historySize: Int = 10, maxIterations: Int = 1000, maxEvaluations: Int? = nil,
    gradientTolerance: Double = 1e-7, changeTolerance: Double = 1e-12,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    requireNN(
      historySize >= 1 && maxIterations >= 1 && gradientTolerance >= 0 && changeTolerance >= 0,
      "LBFGS: needs historySize ≥ 1, maxIterations ≥ 1 and tolerances ≥ 0, got \(historySize), "
        + "\(maxIterations), \(gradientTolerance), \(changeTolerance)",
      at: SourceLocation(file: file, line: line))
    self.historySize = historySize
    self.maxIterations = maxIterations
    self.maxEvaluations = maxEvaluations ?? (maxIterations * 5 / 4 + 25)
    self.gradientTolerance = gradientTolerance
    self.changeTolerance = changeTolerance
  }

  /// Minimizes `loss` over `parameters`, starting from their values and leaving them at the
  /// minimizer found.
  ///
  /// - Parameters:
  ///   - parameters: The starting point; on return, the best point found.
  ///   - loss: A scalar function of tensors of the parameters' shapes, differentiable by
  ///     Autodiff.
  /// - Returns: The final loss, the gradient's largest element, counts and why it stopped.
  public func minimize(
    _ parameters: inout [Tensor<Scalar>], of loss: ([Tensor<Scalar>]) -> Tensor<Scalar>
  ) -> LBFGSResult {
    let shapes = parameters.map(\.shape)
    var x = flattened(parameters)
    var evaluations = 0
    func evaluate(_ point: [Double]) -> (value: Double, gradient: [Double]) {
      evaluations += 1
      let (value, gradient) = valueWithGradient(at: unflattened(point, shapes), of: loss)
      return (Double(value.scalar), flattened(gradient))
    }
    func result(
      _ value: Double, _ gradient: [Double], _ iterations: Int, _ reason: LBFGSResult.StopReason
    )
      -> LBFGSResult
    {
      parameters = unflattened(x, shapes)
      return LBFGSResult(
        value: value, gradientMaximum: largestMagnitude(gradient), iterations: iterations,
        evaluations: evaluations, stopReason: reason)
    }

    var (value, gradient) = evaluate(x)
    var history: [(s: [Double], y: [Double], rho: Double)] = []
    for iteration in 0..<maxIterations {
      if largestMagnitude(gradient) <= gradientTolerance {
        return result(value, gradient, iteration, .gradientTolerance)
      }
      if evaluations >= maxEvaluations {
        return result(value, gradient, iteration, .maxEvaluations)
      }
      let direction = searchDirection(gradient, history)
      let slope = dotProduct(gradient, direction)
      guard slope < 0 else { return result(value, gradient, iteration, .lineSearchFailed) }
      let firstStep = Swift.min(1, 1 / gradient.reduce(0) { $0 + Swift.abs($1) })
      let start = LineSearchPoint(step: 0, value: value, gradient: gradient, slope: slope)
      let base = x
      let (accepted, _) = strongWolfeLineSearch(
        evaluate: { t in evaluate(zip(base, direction).map { $0 + t * $1 }) },
        direction: direction, start: start, initialStep: history.isEmpty ? firstStep : 1,
        changeTolerance: changeTolerance,
        maxEvaluations: Swift.max(1, Swift.min(25, maxEvaluations - evaluations)))
      guard accepted.step > 0 else {
        return result(value, gradient, iteration, .lineSearchFailed)
      }
      let s = direction.map { accepted.step * $0 }
      let y = zip(accepted.gradient, gradient).map { $0 - $1 }
      let curvature = dotProduct(s, y)
      // A pair with sᵀy ≤ 0 (possible when the line search ran out) would make H indefinite.
      if curvature > 1e-10 * dotProduct(y, y) {
        history.append((s, y, 1 / curvature))
        if history.count > historySize { history.removeFirst() }
      }
      x = zip(x, s).map { $0 + $1 }
      let change = Swift.abs(value - accepted.value)
      (value, gradient) = (accepted.value, accepted.gradient)
      if largestMagnitude(gradient) <= gradientTolerance {
        return result(value, gradient, iteration + 1, .gradientTolerance)
      }
      if change <= changeTolerance * Swift.max(Swift.abs(value), 1)
        || largestMagnitude(s) <= changeTolerance
      {
        return result(value, gradient, iteration + 1, .changeTolerance)
      }
    }
    return result(value, gradient, maxIterations, .maxIterations)
  }
}

/// What ``LBFGS/minimize(_:of:)`` reached and why it stopped.
public struct LBFGSResult: Sendable, Equatable, CustomStringConvertible {
  /// Why the search stopped.
  public enum StopReason: Sendable, Equatable {
    /// The gradient's largest element fell to ``LBFGS/gradientTolerance``: converged.
    case gradientTolerance
    /// The loss or the parameters stopped changing (``LBFGS/changeTolerance``).
    case changeTolerance
    /// ``LBFGS/maxIterations`` steps were taken.
    case maxIterations
    /// ``LBFGS/maxEvaluations`` evaluations were made.
    case maxEvaluations
    /// No step along the search direction lowered the loss (at the limit of the precision, or
    /// a loss that is not differentiable there).
    case lineSearchFailed
  }

  /// The loss at the parameters returned.
  public var value: Double
  /// The largest magnitude of an element of the gradient there.
  public var gradientMaximum: Double
  /// The number of steps taken (SciPy's `nit`).
  public var iterations: Int
  /// The number of evaluations of the loss and its gradient (SciPy's `nfev`).
  public var evaluations: Int
  /// Why the search stopped.
  public var stopReason: StopReason

  /// `"L-BFGS: loss 1.2e-14, max |gradient| 3.1e-07 after 35 iterations, 44 evaluations
  /// (gradientTolerance)"`.
  public var description: String {
    "L-BFGS: loss \(value), max |gradient| \(gradientMaximum) after \(iterations) iterations, "
      + "\(evaluations) evaluations (\(stopReason))"
  }
}

/// `−H·g` by the two-loop recursion (Nocedal and Wright, algorithm 7.4), `H₀ = γ·I` with
/// `γ = sᵀy/yᵀy` of the newest pair (1 without pairs).
private func searchDirection(
  _ gradient: [Double], _ history: [(s: [Double], y: [Double], rho: Double)]
) -> [Double] {
  var q = gradient
  var alphas = [Double](repeating: 0, count: history.count)
  for index in history.indices.reversed() {
    let (s, y, rho) = history[index]
    alphas[index] = rho * dotProduct(s, q)
    for j in q.indices { q[j] -= alphas[index] * y[j] }
  }
  if let newest = history.last {
    let gamma = 1 / (newest.rho * dotProduct(newest.y, newest.y))
    for j in q.indices { q[j] *= gamma }
  }
  for index in history.indices {
    let (s, y, rho) = history[index]
    let beta = rho * dotProduct(y, q)
    for j in q.indices { q[j] += (alphas[index] - beta) * s[j] }
  }
  return q.map { -$0 }
}

/// `maxᵢ |vᵢ|`, 0 for an empty vector.
private func largestMagnitude(_ vector: [Double]) -> Double {
  vector.reduce(0) { Swift.max($0, Swift.abs($1)) }
}

/// The tensors' elements, in order, as one `Double` vector.
private func flattened<Scalar: TensorScalar>(_ tensors: [Tensor<Scalar>]) -> [Double] {
  tensors.flatMap { Tensor<Double>($0).scalars }
}

/// Tensors of `shapes` filled in order from `vector`.
private func unflattened<Scalar: TensorScalar>(
  _ vector: [Double], _ shapes: [[Int]]
) -> [Tensor<Scalar>] {
  var start = 0
  return shapes.map { shape in
    let count = shape.reduce(1, *)
    defer { start += count }
    return Tensor(Tensor(shape: shape, scalars: Array(vector[start..<(start + count)])))
  }
}
