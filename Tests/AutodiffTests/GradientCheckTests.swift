import Autodiff
import Testing

/// The public gradient checker compares the tape's gradient with central finite differences,
/// passes correct rules in both precisions, and names the element where a wrong rule is wrong.
@Suite struct GradientCheckTests {
  typealias T = Tensor<Double>

  /// xᵢ³ elementwise, with a pullback that is right except that it adds `error` at element
  /// `wrongElement` (row-major) of the gradient.
  static func cube(_ x: T, wrongElement: Int? = nil, error: Double = 1) -> T {
    customOperation("cube", operands: [x]) { x in
      x[0] * x[0] * x[0]
    } pullback: { g, x, _ in
      var mistake = [Double](repeating: 0, count: x[0].scalarCount)
      if let wrongElement { mistake[wrongElement] = error }
      return [3 * g * x[0] * x[0] + T(shape: x[0].shape, scalars: mistake)]
    }
  }

  @Test("Correct rules pass in Double, with the worst element well inside the tolerance")
  func correctDouble() {
    var generator = SeededGenerator(seed: 7)
    let w = T(randomNormal: [3, 4], using: &generator)
    let x = T(randomNormal: [4, 2], using: &generator)
    let result = checkGradient(at: [w, x]) { v in
      tanh(matmul(v[0], v[1])) * Self.cube(v[1].sum(alongAxes: [0]))
    }
    #expect(result.passed, "\(result)")
    #expect(result.comparedCount == 12 + 8)
    #expect(result.failureCount == 0)
    #expect((result.worst?.errorRatio ?? .infinity) < 0.1, "\(result)")
  }

  @Test("A rule wrong at one element fails, and the worst element is that one, with its index")
  func wrongCustomRule() {
    var generator = SeededGenerator(seed: 11)
    let x = T(randomUniform: [2, 3], in: 0.5..<1.5, using: &generator)
    let result = checkGradient(at: x) { x in Self.cube(x, wrongElement: 5).sum() }
    #expect(!result.passed)
    #expect(result.failureCount == 1)
    let worst = result.worst
    #expect(worst?.input == 0)
    #expect(worst?.flatIndex == 5)
    #expect(worst?.index == [1, 2])
    #expect(worst?.value == x.scalars[5])
    // The tape's gradient carries the mistake (+1); the central difference does not.
    if let worst {
      #expect(abs(worst.analytic - worst.numeric - 1) < 1e-6, "\(result)")
      #expect(abs(worst.numeric - 3 * worst.value * worst.value) < 1e-6, "\(result)")
    }
    #expect(result.description.contains("gradient check failed: 1 of 6 elements"))
    #expect(result.description.contains("input 0, element [1, 2] (flat 5)"))
  }

  @Test("A rule with a missing factor fails at every element, and the check names the input")
  func missingFactor() {
    func badSquare(_ x: T) -> T {
      customOperation("badSquare", operands: [x]) { x in
        x[0] * x[0]
      } pullback: { g, x, _ in
        [g * x[0]]  // should be 2·g·x
      }
    }
    let a = T([1, 2])
    let b = T([-1, 0.5, 3])
    let result = checkGradient(at: a, b) { a, b in a.sum() * badSquare(b).sum() }
    #expect(!result.passed)
    #expect(result.failureCount == 3)
    #expect(result.worst?.input == 1)
  }

  @Test("Correct rules pass in Float with the Float defaults; a wrong one still fails")
  func float() {
    var generator = SeededGenerator(seed: 3)
    let x = Tensor<Float>(randomUniform: [3, 3], in: -1..<1, using: &generator)
    let passing = checkGradient(at: x) { x in (sigmoid(x) * exp(x)).mean() }
    #expect(passing.passed, "\(passing)")
    #expect(passing.relativeTolerance == 1e-2)
    #expect(passing.absoluteTolerance == 1e-3)

    let failing = checkGradient(at: x) { x in
      customOperation("wrongExp", operands: [x]) { x in
        exp(x[0])
      } pullback: { g, x, y in
        [g * y * 1.1]  // 10% too large
      }.sum()
    }
    #expect(!failing.passed)
    #expect(failing.failureCount == 9)
  }

  @Test("Tighter tolerances than the arithmetic allows fail; looser ones pass")
  func tolerances() {
    let x = T([0.3, -0.7])
    let tight = checkGradient(at: x, relativeTolerance: 0, absoluteTolerance: 1e-15) { x in
      exp(x).sum()
    }
    #expect(!tight.passed)
    let loose = checkGradient(at: x, relativeTolerance: 1e-5, absoluteTolerance: 0) { x in
      exp(x).sum()
    }
    #expect(loose.passed, "\(loose)")
  }

  @Test("A non-scalar output is checked through a random contraction, every element at once")
  func nonScalarOutput() {
    let x = T(shape: [2, 2], scalars: [1, 2, 3, 4])
    let result = checkGradient(at: x) { x in softmax(x, alongAxis: 1) }
    #expect(result.passed, "\(result)")
    let wrong = checkGradient(at: x) { x in Self.cube(x, wrongElement: 2, error: 1e-3) }
    #expect(!wrong.passed)
    #expect(wrong.worst?.index == [1, 0])
  }

  @Test("A function that does not depend on its input has gradient 0, and passes")
  func constantFunction() {
    let result = checkGradient(at: T([1, 2])) { _ in T(5) }
    #expect(result.passed, "\(result)")
    #expect(result.worst?.analytic == 0)
  }

  @Test("A non-finite output is a problem, reported as such")
  func nonFiniteOutput() {
    let result = checkGradient(at: T([0, 1])) { x in log(x).sum() }
    #expect(!result.passed)
    #expect(result.problems.first?.contains("is not finite") == true)
    #expect(result.worst?.errorRatio == .infinity)
  }
}
