// The finite-difference gradient check, and the seeded inputs it is run on.
//
// For f: [Tensor] → Tensor of any output shape, the check contracts the output with a fixed
// random upstream tensor u, φ(x) = Σₖ f(x)ₖ·uₖ, so that ∂φ/∂xᵢⱼ is the tape's gradient of f with
// seed u (one sweep tests every output element and the seed path). It compares that gradient,
// element by element, with the central difference
//
//   ∂φ/∂xᵢⱼ ≈ (φ(x + h·eᵢⱼ) − φ(x − h·eᵢⱼ)) / 2h,   h = 10⁻⁶ · max(1, |xᵢⱼ|).
//
// Error budget in Double (ε ≈ 1.1·10⁻¹⁶): the truncation error is h²/6 · |φ'''| ≈ 2·10⁻¹³ · |φ'''|,
// and rounding adds about ε·|fₖ·uₖ| / h ≈ 10⁻¹⁰ · |fₖ| per output element that xᵢⱼ moves. The
// difference is summed as Σₖ (f(x+)ₖ − f(x−)ₖ)·uₖ, not as φ(x+) − φ(x−), so the elements that
// xᵢⱼ does not move cancel exactly and add no rounding. With inputs of magnitude ~1 and outputs
// below ~100, both errors stay under 10⁻⁸, well inside the default tolerances (10⁻⁶ relative,
// 10⁻⁸ absolute), while a wrong rule (a missing factor, a wrong sign, a gradient sent to the
// wrong element) is off by O(|gradient|).

import Autodiff
import Testing

/// The outcome of comparing a tape gradient with central finite differences.
struct GradientComparison: CustomStringConvertible {
  /// One element of one input's gradient.
  struct Element {
    /// The position of the input in the list passed to the check.
    var input: Int
    /// The row-major index of the element within its input.
    var index: Int
    /// The element's value.
    var x: Double
    /// The tape's gradient.
    var analytic: Double
    /// The central difference.
    var numeric: Double
    /// |analytic − numeric| divided by the tolerance allowed for this element: ≤ 1 passes;
    /// infinite when either side is not finite.
    var excess: Double
  }

  /// Problems that make the comparison meaningless: an unrecorded output, a gradient of the wrong
  /// shape, a non-finite value.
  var problems: [String] = []
  /// The element whose error is largest relative to its tolerance, if any element was compared.
  var worst: Element?
  /// The number of elements compared.
  var comparedCount = 0

  var passed: Bool { problems.isEmpty && (worst?.excess ?? 0) <= 1 }

  var description: String {
    var lines = problems
    if let worst {
      lines.append(
        "worst element: input \(worst.input), flat index \(worst.index) (x = \(worst.x)): "
          + "analytic \(worst.analytic), numeric \(worst.numeric), error "
          + "\(Swift.abs(worst.analytic - worst.numeric)) = \(worst.excess) × tolerance, "
          + "over \(comparedCount) elements")
    }
    return lines.joined(separator: "\n")
  }
}

/// Compares the tape's gradient of `f` at `inputs` with central finite differences.
///
/// The output of `f` is contracted with a random upstream tensor of its shape, drawn from
/// `SeededGenerator(seed: upstreamSeed)`, which is also the seed of the tape's sweep.
///
/// - Parameters:
///   - relativeTolerance: Allowed error relative to max(|analytic|, |numeric|).
///   - absoluteTolerance: Allowed error on top of the relative one, for gradients near 0.
///   - stepScale: h / max(1, |x|).
func compareGradientWithFiniteDifferences(
  of f: ([Tensor<Double>]) -> Tensor<Double>, at inputs: [Tensor<Double>],
  upstreamSeed: UInt64 = 0x5EED, relativeTolerance: Double = 1e-6,
  absoluteTolerance: Double = 1e-8, stepScale: Double = 1e-6
) -> GradientComparison {
  var comparison = GradientComparison()

  let tape = Tape()
  let watched = inputs.map { tape.watch($0) }
  let output = f(watched)
  guard output.isRecorded else {
    comparison.problems.append(
      "the output (shape \(output.shape)) is not recorded: it does not depend on the inputs")
    return comparison
  }
  if !output.scalars.allSatisfy(\.isFinite) {
    comparison.problems.append("the output has non-finite elements: \(output)")
  }
  var generator = SeededGenerator(seed: upstreamSeed)
  let upstream = Tensor<Double>(randomUniform: output.shape, in: -1..<1, using: &generator)
  let u = upstream.scalars
  let gradients = tape.gradient(of: output, wrt: watched, seed: upstream)

  for (position, input) in inputs.enumerated() {
    let gradient = gradients[position]
    guard gradient.shape == input.shape else {
      comparison.problems.append(
        "the gradient of input \(position) has shape \(gradient.shape); the input has "
          + "\(input.shape)")
      continue
    }
    let analytic = gradient.scalars
    let x = input.scalars
    for index in x.indices {
      let h = stepScale * Swift.max(1, Swift.abs(x[index]))
      let (plus, minus) = (x[index] + h, x[index] - h)
      var shifted = inputs
      shifted[position] = Tensor(shape: input.shape, scalars: replacing(x, at: index, with: plus))
      let outputPlus = f(shifted).scalars
      shifted[position] = Tensor(shape: input.shape, scalars: replacing(x, at: index, with: minus))
      let outputMinus = f(shifted).scalars
      guard outputPlus.count == u.count, outputMinus.count == u.count else {
        comparison.problems.append("the output changes size when input \(position) moves")
        return comparison
      }
      var difference = 0.0
      for k in u.indices { difference += (outputPlus[k] - outputMinus[k]) * u[k] }
      // The actual step (plus − minus), which rounding may make differ from 2h.
      let numeric = difference / (plus - minus)
      let error = Swift.abs(analytic[index] - numeric)
      let allowed =
        absoluteTolerance
        + relativeTolerance * Swift.max(Swift.abs(analytic[index]), Swift.abs(numeric))
      let excess = analytic[index].isFinite && numeric.isFinite ? error / allowed : .infinity
      comparison.comparedCount += 1
      if comparison.worst.map({ excess > $0.excess }) ?? true {
        comparison.worst = .init(
          input: position, index: index, x: x[index], analytic: analytic[index], numeric: numeric,
          excess: excess)
      }
    }
  }
  return comparison
}

private func replacing(_ scalars: [Double], at index: Int, with value: Double) -> [Double] {
  var result = scalars
  result[index] = value
  return result
}

/// Records an issue, naming the worst element, unless the tape's gradient of `f` at `inputs`
/// matches central finite differences (see `compareGradientWithFiniteDifferences`).
func expectGradientsMatchFiniteDifferences(
  at inputs: [Tensor<Double>], relativeTolerance: Double = 1e-6, absoluteTolerance: Double = 1e-8,
  sourceLocation: Testing.SourceLocation = #_sourceLocation,
  of f: ([Tensor<Double>]) -> Tensor<Double>
) {
  let comparison = compareGradientWithFiniteDifferences(
    of: f, at: inputs, relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance)
  if !comparison.passed {
    Issue.record(
      Comment(
        rawValue: "gradient differs from central finite differences at inputs of shapes "
          + "\(inputs.map(\.shape)):\n\(comparison)"),
      sourceLocation: sourceLocation)
  }
}

/// The one-input form of `expectGradientsMatchFiniteDifferences(at:of:)`.
func expectGradientMatchesFiniteDifferences(
  at x: Tensor<Double>, relativeTolerance: Double = 1e-6, absoluteTolerance: Double = 1e-8,
  sourceLocation: Testing.SourceLocation = #_sourceLocation,
  of f: (Tensor<Double>) -> Tensor<Double>
) {
  expectGradientsMatchFiniteDifferences(
    at: [x], relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance,
    sourceLocation: sourceLocation
  ) { f($0[0]) }
}

/// The two-input form of `expectGradientsMatchFiniteDifferences(at:of:)`.
func expectGradientsMatchFiniteDifferences(
  at x: Tensor<Double>, _ y: Tensor<Double>, relativeTolerance: Double = 1e-6,
  absoluteTolerance: Double = 1e-8, sourceLocation: Testing.SourceLocation = #_sourceLocation,
  of f: (Tensor<Double>, Tensor<Double>) -> Tensor<Double>
) {
  expectGradientsMatchFiniteDifferences(
    at: [x, y], relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance,
    sourceLocation: sourceLocation
  ) { f($0[0], $0[1]) }
}

// MARK: - Seeded inputs

extension Tensor where Scalar == Double {
  /// Elements drawn uniformly from `range`.
  static func uniform(
    _ shape: [Int], in range: Range<Double>, using generator: inout SeededGenerator
  ) -> Tensor {
    Tensor(randomUniform: shape, in: range, using: &generator)
  }

  /// Elements whose magnitudes are drawn uniformly from `magnitudes` and whose signs are random:
  /// inputs kept away from 0, for functions with a kink or a pole there.
  static func awayFromZero(
    _ shape: [Int], magnitudes: Range<Double>, using generator: inout SeededGenerator
  ) -> Tensor {
    let scalars = (0..<shape.reduce(1, *)).map { _ in
      let magnitude = Double.random(in: magnitudes, using: &generator)
      return Bool.random(using: &generator) ? magnitude : -magnitude
    }
    return Tensor(shape: shape, scalars: scalars)
  }

  /// Elements in [−3, 3) at least 0.1 from every integer and every half between two: inputs
  /// where floor, ceil and round are constant within reach of a finite difference.
  static func betweenSteps(_ shape: [Int], using generator: inout SeededGenerator) -> Tensor {
    let scalars = (0..<shape.reduce(1, *)).map { _ in
      let fraction = Double.random(in: 0.1..<0.3, using: &generator)
      let step = Double(Int.random(in: -6..<6, using: &generator)) / 2
      return step + fraction
    }
    return Tensor(shape: shape, scalars: scalars)
  }

  /// Elements that differ pairwise by at least `spacing − 2·jitter`: a shuffled progression
  /// `offset + spacing·k`, each element moved by up to ±jitter. For maxima without ties.
  static func distinct(
    _ shape: [Int], spacing: Double = 0.25, jitter: Double = 0.05, offset: Double = -1,
    using generator: inout SeededGenerator
  ) -> Tensor {
    let steps = Array(0..<shape.reduce(1, *)).shuffled(using: &generator)
    let scalars = steps.map { step in
      offset + spacing * Double(step) + Double.random(in: -jitter...jitter, using: &generator)
    }
    return Tensor(shape: shape, scalars: scalars)
  }
}
