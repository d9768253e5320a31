// The line search of L-BFGS: a step along a descent direction that satisfies the strong Wolfe
// conditions (Nocedal and Wright, "Numerical Optimization", 2nd ed., algorithms 3.5 and 3.6),
// with the cubic interpolation of their equation 3.59, as PyTorch's `_strong_wolfe` and SciPy's
// `line_search_wolfe2`. Everything here is in Double, on the parameters as one flat vector.

/// The value, gradient and directional derivative of the objective at a step along the search
/// direction.
struct LineSearchPoint {
  var step: Double
  var value: Double
  var gradient: [Double]
  /// φ'(step) = ∇f(x + step·d)ᵀd.
  var slope: Double
}

/// A step `t` along `direction` from the point with value `f0` and slope `slope0 < 0` that
/// satisfies the strong Wolfe conditions
///
/// ```
/// f(x + t·d) ≤ f(x) + c₁·t·∇f(x)ᵀd            (sufficient decrease)
/// |∇f(x + t·d)ᵀd| ≤ c₂·|∇f(x)ᵀd|              (curvature)
/// ```
///
/// or, when `maxEvaluations` run out first, the point of lowest value found (which may be the
/// start, `step = 0`).
///
/// - Parameters:
///   - evaluate: The objective's value and gradient at `x + t·d` for a step `t`.
///   - initialStep: The first step tried (1 for a quasi-Newton direction).
///   - changeTolerance: The zoom stops when the bracket is shorter than this, times the
///     direction's largest element.
/// - Returns: The accepted point and the number of evaluations made.
func strongWolfeLineSearch(
  evaluate: (Double) -> (value: Double, gradient: [Double]), direction: [Double],
  start: LineSearchPoint, initialStep: Double, c1: Double = 1e-4, c2: Double = 0.9,
  changeTolerance: Double = 1e-9, maxEvaluations: Int = 25
) -> (point: LineSearchPoint, evaluations: Int) {
  let directionScale = direction.reduce(0) { Swift.max($0, Swift.abs($1)) }
  var evaluations = 0
  func point(at step: Double) -> LineSearchPoint {
    evaluations += 1
    let (value, gradient) = evaluate(step)
    return LineSearchPoint(
      step: step, value: value, gradient: gradient, slope: dotProduct(gradient, direction))
  }
  func sufficientDecrease(_ p: LineSearchPoint) -> Bool {
    p.value <= start.value + c1 * p.step * start.slope
  }
  func curvature(_ p: LineSearchPoint) -> Bool { Swift.abs(p.slope) <= -c2 * start.slope }

  // Algorithm 3.5: grow the step until it brackets an acceptable one.
  var previous = start
  var current = point(at: initialStep)
  var bracket: (low: LineSearchPoint, high: LineSearchPoint)?
  while bracket == nil {
    if !sufficientDecrease(current) || (previous.step > 0 && current.value >= previous.value) {
      bracket = (previous, current)
    } else if curvature(current) {
      return (current, evaluations)
    } else if current.slope >= 0 {
      bracket = (current, previous)
    } else if evaluations >= maxEvaluations {
      return (current, evaluations)
    } else {
      // Extrapolate: the cubic's minimum, kept within [t + 0.01·(t − t₋₁), 10·t].
      let next = cubicMinimum(
        previous, current,
        within: (current.step + 0.01 * (current.step - previous.step), 10 * current.step))
      previous = current
      current = point(at: next)
    }
  }

  // Algorithm 3.6: shrink the bracket [low, high] (low the better end, not ordered by step).
  var (low, high) = bracket!
  var insufficientProgress = false
  while evaluations < maxEvaluations {
    if Swift.abs(high.step - low.step) * directionScale < changeTolerance { break }
    let (left, right) = (Swift.min(low.step, high.step), Swift.max(low.step, high.step))
    var trial = cubicMinimum(low, high, within: (left, right))
    // Safeguard, as PyTorch's `_strong_wolfe`: a trial within a tenth of the bracket's width
    // from an end makes little progress. The first time it is kept; the second time in a row,
    // or when it is at an end, it moves to a tenth of the width from the nearer end.
    let margin = 0.1 * (right - left)
    if Swift.min(right - trial, trial - left) < margin {
      if insufficientProgress || trial >= right || trial <= left {
        trial = Swift.abs(trial - right) < Swift.abs(trial - left) ? right - margin : left + margin
        insufficientProgress = false
      } else {
        insufficientProgress = true
      }
    } else {
      insufficientProgress = false
    }
    let candidate = point(at: trial)
    if !sufficientDecrease(candidate) || candidate.value >= low.value {
      high = candidate
    } else {
      if curvature(candidate) { return (candidate, evaluations) }
      if candidate.slope * (high.step - low.step) >= 0 { high = low }
      low = candidate
    }
  }
  // Out of evaluations or bracket: the best point found (low never rises above the start).
  return (low.value <= start.value ? low : start, evaluations)
}

/// The minimizer of the cubic that interpolates two points' values and slopes (Nocedal and
/// Wright's equation 3.59), clamped to `bounds`; the middle of `bounds` when the cubic has no
/// minimum.
func cubicMinimum(
  _ a: LineSearchPoint, _ b: LineSearchPoint, within bounds: (Double, Double)
) -> Double {
  let (lower, upper) = (Swift.min(bounds.0, bounds.1), Swift.max(bounds.0, bounds.1))
  let d1 = a.slope + b.slope - 3 * (a.value - b.value) / (a.step - b.step)
  let discriminant = d1 * d1 - a.slope * b.slope
  guard discriminant >= 0, a.step != b.step else { return (lower + upper) / 2 }
  var d2 = discriminant.squareRoot()
  if b.step < a.step { d2 = -d2 }
  let denominator = b.slope - a.slope + 2 * d2
  guard denominator != 0 else { return (lower + upper) / 2 }
  let minimum = b.step - (b.step - a.step) * ((b.slope + d2 - d1) / denominator)
  guard minimum.isFinite else { return (lower + upper) / 2 }
  return Swift.min(Swift.max(minimum, lower), upper)
}

/// `Σᵢ aᵢ·bᵢ`, by the kernel of parameter lists' `dot` (vectorized, and split across cores when
/// long).
func dotProduct(_ a: [Double], _ b: [Double]) -> Double {
  a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { dotInDouble(a, $0) } }
}
