// On `@_specialize`, see the Performance article in Documentation.docc.

// A public gradient checker: the tape's gradient of a function against central finite
// differences, element by element.
//
// For f: [Tensor] → Tensor of any output shape, the check contracts the output with a fixed
// upstream tensor u (1 for a scalar, random otherwise), φ(x) = Σₖ f(x)ₖ·uₖ, so that ∂φ/∂xᵢ is the tape's gradient of f with
// seed u: one sweep checks every output element. Each element xᵢ of each input is then moved by
// ±h, h = step · max(1, |xᵢ|), and
//
//   ∂φ/∂xᵢ ≈ Σₖ (f(x + h·eᵢ)ₖ − f(x − h·eᵢ)ₖ)·uₖ / ((xᵢ + h) − (xᵢ − h)).
//
// The difference is taken element by element before the sum, so output elements that xᵢ does not
// move cancel exactly; the divisor is the step as it was rounded. f is evaluated in the inputs'
// precision; the differences are summed in Double.
//
// Error budget, with ε the precision's epsilon: truncation h²/6·|φ'''|, rounding about ε·|f|/h per
// output element xᵢ moves. Double (ε ≈ 1.1·10⁻¹⁶, h = 10⁻⁶): 2·10⁻¹³·|φ'''| and 10⁻¹⁰·|f|, under the
// default tolerances (10⁻⁶ relative, 10⁻⁸ absolute) for inputs of magnitude ~1 and outputs below
// ~100. Float (ε ≈ 1.2·10⁻⁷, h = 10⁻²): 2·10⁻⁵·|φ'''| and 10⁻⁵·|f|, under 10⁻² relative and 10⁻³
// absolute. A wrong rule (a missing factor, a wrong sign, a gradient sent to the wrong element) is
// off by O(|gradient|), far beyond either.

/// The outcome of a gradient check,
/// ``checkGradient(at:relativeTolerance:absoluteTolerance:step:randomSeed:of:)-([Tensor<Scalar>],_,_,_,_,_)``:
/// whether the tape's gradient matches central finite differences, and the element that matches
/// worst.
public struct GradientCheckResult: CustomStringConvertible, Sendable {
  /// One element of one input's gradient.
  public struct Element: Sendable, Equatable {
    /// The position of the input among the inputs of the check.
    public var input: Int
    /// The element's position within its input, in row-major order.
    public var flatIndex: Int
    /// The element's position within its input, one index per axis.
    public var index: [Int]
    /// The element's value, where the gradient was checked.
    public var value: Double
    /// The tape's gradient.
    public var analytic: Double
    /// The central difference.
    public var numeric: Double
    /// The error allowed for this element: absolute + relative · max(|analytic|, |numeric|).
    public var allowedError: Double

    /// |analytic − numeric|.
    public var error: Double { Swift.abs(analytic - numeric) }

    /// The error divided by the error allowed: at most 1 passes; infinite when either gradient
    /// is not finite.
    public var errorRatio: Double {
      analytic.isFinite && numeric.isFinite ? error / allowedError : .infinity
    }
  }

  /// The element whose error is largest relative to what it is allowed (the first such), if any
  /// element was compared.
  public var worst: Element?
  /// The number of elements compared.
  public var comparedCount: Int
  /// The number of elements whose error exceeds what they are allowed.
  public var failureCount: Int
  /// Findings that make the check fail whatever the numbers: a non-finite output, an output
  /// that changes shape when an input moves.
  public var problems: [String]
  /// The relative tolerance the check used.
  public var relativeTolerance: Double
  /// The absolute tolerance the check used.
  public var absoluteTolerance: Double

  /// Whether every element is within tolerance and nothing else went wrong.
  public var passed: Bool { problems.isEmpty && failureCount == 0 }

  /// A summary that names the worst element.
  public var description: String {
    var lines = [
      passed
        ? "gradient check passed: \(comparedCount) elements within tolerance"
        : "gradient check failed: \(failureCount) of \(comparedCount) elements differ from "
          + "central differences by more than \(formatted(relativeTolerance))·max(|analytic|, "
          + "|numeric|) + \(formatted(absoluteTolerance))"
    ]
    lines += problems
    if let worst {
      lines.append(
        "worst element: input \(worst.input), element \(worst.index.shapeDescription) (flat "
          + "\(worst.flatIndex)) at \(worst.value): analytic \(worst.analytic), numeric "
          + "\(worst.numeric), error \(formatted(worst.error)) = "
          + "\(formatted(worst.errorRatio)) × allowed")
    }
    return lines.joined(separator: "\n")
  }
}

/// Compares the tape's gradient of `f` at `inputs` with central finite differences, element by
/// element, and reports the element that matches worst.
///
/// Use it in your own tests to check a model, a loss or a rule written with `customOperation`:
///
/// ```swift
/// let result = checkGradient(at: [w, x]) { v in softplus(matmul(v[0], v[1])).sum() }
/// #expect(result.passed, "\(result)")
/// ```
///
/// `f` may return a tensor of any shape. A scalar output's gradient is compared as it is; a
/// larger output is contracted with a random tensor `u` of its shape (drawn from
/// `SeededGenerator(seed: randomSeed)`), and the check compares the gradient of `Σ f(x)·u` — the
/// tape's gradient of `f` with seed `u` — so that one sweep checks every output. An element
/// passes when
/// `|analytic − numeric| ≤ absoluteTolerance + relativeTolerance · max(|analytic|, |numeric|)`.
///
/// `f` runs in the inputs' precision, so a check in `Float` is coarser: its defaults are looser
/// and its step larger. To check a rule tightly, check it in `Double`. Keep inputs away from
/// kinks (`relu` at 0, `abs` at 0, ties of `max`) by more than the step: there the central
/// difference averages two one-sided slopes.
///
/// - Parameters:
///   - inputs: Where to check; not recorded.
///   - relativeTolerance: The error allowed in proportion to the gradient; by default 10⁻⁶ in
///     `Double` and 10⁻² in `Float`.
///   - absoluteTolerance: The error allowed on top, for gradients near 0; by default 10⁻⁸ in
///     `Double` and 10⁻³ in `Float`.
///   - step: The finite-difference step relative to max(1, |x|); by default 10⁻⁶ in `Double`
///     and 10⁻² in `Float`.
///   - randomSeed: The seed of the random upstream tensor for an output of several elements.
///   - f: The function to check.
/// - Returns: The comparison, with the worst element and its position.
/// - Complexity: One evaluation of `f` and one sweep, then two evaluations of `f` per element of
///   the inputs.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func checkGradient<Scalar: TensorScalar>(
  at inputs: [Tensor<Scalar>], relativeTolerance: Double? = nil,
  absoluteTolerance: Double? = nil, step: Double? = nil, randomSeed: UInt64 = 0x5EED,
  of f: ([Tensor<Scalar>]) -> Tensor<Scalar>
) -> GradientCheckResult {
  let isDouble = Scalar.significandBitCount >= Double.significandBitCount
  let relativeTolerance = relativeTolerance ?? (isDouble ? 1e-6 : 1e-2)
  let absoluteTolerance = absoluteTolerance ?? (isDouble ? 1e-8 : 1e-3)
  let step = step ?? (isDouble ? 1e-6 : 1e-2)
  var result = GradientCheckResult(
    worst: nil, comparedCount: 0, failureCount: 0, problems: [],
    relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance)

  let inputs = inputs.map(\.detached)
  let tape = Tape()
  let watched = inputs.map { tape.watch($0) }
  let output = f(watched)
  if let element = firstNonFiniteElement(of: output) {
    result.problems.append(
      "the output (shape \(output.shape.shapeDescription)) is not finite: "
        + "\(element.value) at element \(element.index)")
  }
  // A scalar output is seeded with 1, so that the numbers reported are its gradient itself.
  var generator = SeededGenerator(seed: randomSeed)
  let upstream =
    output.scalarCount == 1
    ? Tensor<Scalar>(ones: output.shape)
    : Tensor<Scalar>(randomUniform: output.shape, in: -1..<1, using: &generator)
  let u = upstream.scalars.map(Double.init)
  // An output that is not recorded does not depend on the inputs: its gradient is 0.
  let gradients =
    output.isRecorded
    ? tape.gradient(of: output, wrt: watched, seed: upstream)
    : inputs.map { Tensor(zeros: $0.shape) }

  for (position, input) in inputs.enumerated() {
    let analytic = gradients[position].scalars
    let x = input.scalars
    for flatIndex in x.indices {
      let h = Scalar(step) * Swift.max(1, Swift.abs(x[flatIndex]))
      let (plus, minus) = (x[flatIndex] + h, x[flatIndex] - h)
      var moved = inputs
      moved[position] = input.replacing(flatIndex, with: plus)
      let outputPlus = f(moved).scalars
      moved[position] = input.replacing(flatIndex, with: minus)
      let outputMinus = f(moved).scalars
      guard outputPlus.count == u.count, outputMinus.count == u.count else {
        result.problems.append(
          "the output changes size when element \(flatIndex) of input \(position) moves")
        return result
      }
      var difference = 0.0
      for k in u.indices { difference += (Double(outputPlus[k]) - Double(outputMinus[k])) * u[k] }
      let numeric = difference / (Double(plus) - Double(minus))
      let gradient = Double(analytic[flatIndex])
      let element = GradientCheckResult.Element(
        input: position, flatIndex: flatIndex,
        index: multiIndex(of: flatIndex, in: input.shape), value: Double(x[flatIndex]),
        analytic: gradient, numeric: numeric,
        allowedError: absoluteTolerance + relativeTolerance
          * Swift.max(Swift.abs(gradient), Swift.abs(numeric)))
      result.comparedCount += 1
      if !(element.errorRatio <= 1) { result.failureCount += 1 }
      if result.worst.map({ element.errorRatio > $0.errorRatio }) ?? true {
        result.worst = element
      }
    }
  }
  return result
}

/// Compares the tape's gradient of `f` at `x` with central finite differences.
///
/// See ``checkGradient(at:relativeTolerance:absoluteTolerance:step:randomSeed:of:)-([Tensor<Scalar>],_,_,_,_,_)``.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func checkGradient<Scalar: TensorScalar>(
  at x: Tensor<Scalar>, relativeTolerance: Double? = nil, absoluteTolerance: Double? = nil,
  step: Double? = nil, randomSeed: UInt64 = 0x5EED,
  of f: (Tensor<Scalar>) -> Tensor<Scalar>
) -> GradientCheckResult {
  checkGradient(
    at: [x], relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance,
    step: step, randomSeed: randomSeed
  ) { f($0[0]) }
}

/// Compares the tape's gradients of `f` at `(x, y)` with central finite differences.
///
/// See ``checkGradient(at:relativeTolerance:absoluteTolerance:step:randomSeed:of:)-([Tensor<Scalar>],_,_,_,_,_)``.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func checkGradient<Scalar: TensorScalar>(
  at x: Tensor<Scalar>, _ y: Tensor<Scalar>, relativeTolerance: Double? = nil,
  absoluteTolerance: Double? = nil, step: Double? = nil, randomSeed: UInt64 = 0x5EED,
  of f: (Tensor<Scalar>, Tensor<Scalar>) -> Tensor<Scalar>
) -> GradientCheckResult {
  checkGradient(
    at: [x, y], relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance,
    step: step, randomSeed: randomSeed
  ) { f($0[0], $0[1]) }
}

extension Tensor {
  /// A copy with element `flatIndex` replaced by `value`.
  fileprivate func replacing(_ flatIndex: Int, with value: Scalar) -> Tensor {
    let copy = Tensor(shape: shape, storage: storage.copy())
    copy.storage.withUnsafeMutableBufferPointer { $0[flatIndex] = value }
    return copy
  }
}

/// The row-major position of element `flatIndex` in a tensor of `shape`, one index per axis.
private func multiIndex(of flatIndex: Int, in shape: [Int]) -> [Int] {
  var rest = flatIndex
  var index = [Int](repeating: 0, count: shape.count)
  for axis in shape.indices.reversed() where shape[axis] > 0 {
    index[axis] = rest % shape[axis]
    rest /= shape[axis]
  }
  return index
}
