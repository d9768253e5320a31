// Every differentiable operation's gradient, checked against central finite differences in
// Double (see Support/FiniteDifferences.swift), over scalars, vectors, matrices and rank-3
// tensors, broadcasting included. Where a rule has a documented choice at a point where the
// derivative does not exist (relu at 0, ties in max), an exact test pins it.

import Autodiff
import Foundation
import Testing

@Suite struct GradientTests {}

/// Shapes from scalar to rank 3, for the elementwise operations.
private let elementwiseShapes: [[Int]] = [[], [6], [3, 4], [2, 3, 2]]

/// Pairs of shapes that broadcast together (NumPy rules), same shapes first.
private let broadcastShapePairs: [([Int], [Int])] = [
  ([], []), ([5], [5]), ([3, 4], [3, 4]), ([2, 3, 4], [2, 3, 4]),
  ([4, 3], [1, 3]), ([4, 3], [3]), ([2, 4, 3], [4, 1]), ([3], []), ([], [2, 2]),
  ([2, 1, 3], [1, 4, 1]),
]

// MARK: - Arithmetic

extension GradientTests {
  enum BinaryOperator: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"

    var testDescription: String { rawValue }

    func callAsFunction(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Tensor<Double> {
      switch self {
      case .add: a + b
      case .subtract: a - b
      case .multiply: a * b
      case .divide: a / b
      }
    }

    func assign(_ a: inout Tensor<Double>, _ b: Tensor<Double>) {
      switch self {
      case .add: a += b
      case .subtract: a -= b
      case .multiply: a *= b
      case .divide: a /= b
      }
    }

    func assign(_ a: inout Tensor<Double>, _ b: Double) {
      switch self {
      case .add: a += b
      case .subtract: a -= b
      case .multiply: a *= b
      case .divide: a /= b
      }
    }
  }

  enum ScalarForm: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case scalarPlus = "2 + x"
    case plusScalar = "x + 2"
    case scalarMinus = "0.1 - x"
    case minusScalar = "x - 0.1"
    case scalarTimes = "3 * x"
    case timesScalar = "x * 3"
    case scalarOver = "1 / x"
    case overScalar = "x / 4"
    case negation = "-x"

    var testDescription: String { rawValue }

    func callAsFunction(_ x: Tensor<Double>) -> Tensor<Double> {
      switch self {
      case .scalarPlus: 2 + x
      case .plusScalar: x + 2
      case .scalarMinus: 0.1 - x
      case .minusScalar: x - 0.1
      case .scalarTimes: 3 * x
      case .timesScalar: x * 3
      case .scalarOver: 1 / x
      case .overScalar: x / 4
      case .negation: -x
      }
    }
  }

  @Suite struct Arithmetic {
    @Test(
      "Broadcast arithmetic gives each operand a gradient of its shape matching finite differences",
      arguments: BinaryOperator.allCases, broadcastShapePairs)
    func broadcastOperands(op: BinaryOperator, shapes: ([Int], [Int])) {
      var rng = SeededGenerator(seed: 101)
      let a = Tensor.uniform(shapes.0, in: -2..<2, using: &rng)
      let b = Tensor.awayFromZero(shapes.1, magnitudes: 0.5..<2, using: &rng)
      expectGradientsMatchFiniteDifferences(at: a, b) { op($0, $1) }
    }

    @Test(
      "An operand on both sides of an operator gets the sum of both sides' gradients",
      arguments: BinaryOperator.allCases, [[], [5], [3, 4]])
    func sameOperandTwice(op: BinaryOperator, shape: [Int]) {
      var rng = SeededGenerator(seed: 102)
      let x = Tensor.awayFromZero(shape, magnitudes: 0.5..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { x in op(x, x) * x }
    }

    @Test(
      "Arithmetic with a scalar on either side matches finite differences",
      arguments: ScalarForm.allCases, elementwiseShapes)
    func scalarOnEitherSide(form: ScalarForm, shape: [Int]) {
      var rng = SeededGenerator(seed: 103)
      let x = Tensor.awayFromZero(shape, magnitudes: 0.5..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { form($0) }
    }

    @Test(
      "Compound assignment to a recorded tensor records the op, broadcasting the right side",
      arguments: BinaryOperator.allCases, [[4, 3], [3], [1, 3], []])
    func compoundAssignmentToRecorded(op: BinaryOperator, rhsShape: [Int]) {
      var rng = SeededGenerator(seed: 104)
      let a = Tensor.uniform([4, 3], in: -2..<2, using: &rng)
      let b = Tensor.awayFromZero(rhsShape, magnitudes: 0.5..<2, using: &rng)
      expectGradientsMatchFiniteDifferences(at: a, b) { a, b in
        var y = a
        op.assign(&y, b)
        op.assign(&y, 1.5)
        return y
      }
    }

    @Test(
      "Compound assignment of a recorded tensor to a constant records the operation",
      arguments: BinaryOperator.allCases)
    func compoundAssignmentToConstant(op: BinaryOperator) {
      var rng = SeededGenerator(seed: 105)
      let constant = Tensor.uniform([4, 3], in: -2..<2, using: &rng)
      let b = Tensor.awayFromZero([4, 3], magnitudes: 0.5..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: b) { b in
        var y = constant
        op.assign(&y, b)
        return y
      }
    }
  }
}

// MARK: - Elementary functions

extension GradientTests {
  enum ElementaryFunction: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case exp, log, sqrt, sin, cos, tanh, sigmoid, relu, abs, squared
    case tan, asin, acos, atan, sinh, cosh
    case softplus, gelu, silu, elu
    case geluTanh = "gelu(approximation: .tanh)"
    case leakyRelu = "leakyRelu(negativeSlope: 0.2)"
    case clamp = "clamp(min: -0.5, max: 1)"

    var testDescription: String { rawValue }

    func callAsFunction(_ x: Tensor<Double>) -> Tensor<Double> {
      switch self {
      case .exp: Autodiff.exp(x)
      case .log: Autodiff.log(x)
      case .sqrt: Autodiff.sqrt(x)
      case .sin: Autodiff.sin(x)
      case .cos: Autodiff.cos(x)
      case .tanh: Autodiff.tanh(x)
      case .sigmoid: Autodiff.sigmoid(x)
      case .relu: Autodiff.relu(x)
      case .abs: Autodiff.abs(x)
      case .squared: x.squared()
      case .tan: Autodiff.tan(x)
      case .asin: Autodiff.asin(x)
      case .acos: Autodiff.acos(x)
      case .atan: Autodiff.atan(x)
      case .sinh: Autodiff.sinh(x)
      case .cosh: Autodiff.cosh(x)
      case .softplus: Autodiff.softplus(x)
      case .gelu: Autodiff.gelu(x)
      case .geluTanh: Autodiff.gelu(x, approximation: .tanh)
      case .silu: Autodiff.silu(x)
      case .elu: Autodiff.elu(x, alpha: 1.5)
      case .leakyRelu: Autodiff.leakyRelu(x, negativeSlope: 0.2)
      case .clamp: Autodiff.clamp(x, min: -0.5, max: 1)
      }
    }

    /// Inputs inside the function's domain, and away from its kink for relu and abs.
    func input(_ shape: [Int], using rng: inout SeededGenerator) -> Tensor<Double> {
      switch self {
      case .log, .sqrt: .uniform(shape, in: 0.2..<3, using: &rng)
      case .relu, .abs, .elu, .leakyRelu:
        .awayFromZero(shape, magnitudes: 0.1..<2, using: &rng)
      case .sin, .cos: .uniform(shape, in: -3..<3, using: &rng)
      case .sigmoid, .softplus, .gelu, .geluTanh, .silu: .uniform(shape, in: -4..<4, using: &rng)
      case .exp, .tanh, .squared, .sinh, .cosh: .uniform(shape, in: -2..<2, using: &rng)
      // Between tan's poles at ±π/2; inside asin's and acos's (−1, 1).
      case .tan: .uniform(shape, in: -1.3..<1.3, using: &rng)
      case .asin, .acos: .uniform(shape, in: -0.9..<0.9, using: &rng)
      case .atan: .uniform(shape, in: -4..<4, using: &rng)
      // Inside, below and above [−0.5, 1], away from the bounds.
      case .clamp: .distinct(shape, spacing: 0.3, jitter: 0.02, offset: -1.35, using: &rng)
      }
    }
  }

  @Suite struct ElementaryFunctions {
    @Test(
      "Elementary functions' gradients match finite differences",
      arguments: ElementaryFunction.allCases, elementwiseShapes)
    func elementary(function: ElementaryFunction, shape: [Int]) {
      var rng = SeededGenerator(seed: 201)
      expectGradientMatchesFiniteDifferences(at: function.input(shape, using: &rng)) {
        function($0)
      }
    }

    @Test(
      "sigmoid and tanh stay finite at large |x| and their gradients match finite differences",
      arguments: [ElementaryFunction.sigmoid, .tanh])
    func saturatingFunctions(function: ElementaryFunction) {
      let x = Tensor<Double>([-1000, -50, -20, -1, 0, 1, 20, 50, 1000])
      let (y, dy) = valueWithGradient(at: x) { function($0).sum() }
      #expect(y.scalar.isFinite)
      #expect(dy.scalars.allSatisfy { $0.isFinite && $0 >= 0 })
      #expect(function(x).scalars.allSatisfy { $0.isFinite && $0 >= -1 && $0 <= 1 })
      expectGradientMatchesFiniteDifferences(at: x) { function($0) }
    }

    @Test("sigmoid's gradient at large negative x keeps full relative precision")
    func sigmoidTailPrecision() {
      // σ'(x) = eˣ/(1 + eˣ)²; at x = −50 it is about 1.9·10⁻²², far below any absolute tolerance.
      let x = Tensor<Double>([-50, -30, -20])
      let dx = gradient(at: x) { sigmoid($0).sum() }
      let e = x.scalars.map { Foundation.exp($0) }
      let expected = Tensor(e.map { $0 / ((1 + $0) * (1 + $0)) })
      #expect(dx.isAlmostEqual(to: expected, relativeTolerance: 1e-12), "\(dx) vs \(expected)")
    }

    @Test("relu's gradient is exactly 0 at 0 and at negative x, and 1 at positive x")
    func reluAtAndBelowZero() {
      let x = Tensor<Double>([0, -0.0, -1e-300, -3, 1e-300, 2])
      #expect(gradient(at: x) { relu($0).sum() } == Tensor([0, 0, 0, 0, 1, 1]))
    }

    @Test("abs's gradient is the sign of x, exactly 0 at 0")
    func absSign() {
      let x = Tensor<Double>([0, -2, 3, -0.0])
      #expect(gradient(at: x) { abs($0).sum() } == Tensor([0, -1, 1, 0]))
    }
  }
}

// MARK: - Powers

extension GradientTests {
  @Suite struct Powers {
    @Test(
      "pow(x, y) with a tensor exponent matches finite differences in base and exponent",
      arguments: [
        ([], []), ([5], [5]), ([3, 4], [3, 4]), ([4, 3], [3]), ([], [2, 3]), ([2, 3], []),
        ([2, 1, 3], [1, 4, 1]),
      ] as [([Int], [Int])])
    func tensorExponent(shapes: ([Int], [Int])) {
      var rng = SeededGenerator(seed: 301)
      let base = Tensor.uniform(shapes.0, in: 0.5..<2.5, using: &rng)
      let exponent = Tensor.uniform(shapes.1, in: -2..<2, using: &rng)
      expectGradientsMatchFiniteDifferences(at: base, exponent) { pow($0, $1) }
    }

    @Test(
      "pow(x, p) with a scalar exponent matches finite differences for positive bases",
      arguments: [2, 3, -1, 0.5, 2.5, 0] as [Double], [[], [5], [3, 4]])
    func scalarExponent(p: Double, shape: [Int]) {
      var rng = SeededGenerator(seed: 302)
      let x = Tensor.uniform(shape, in: 0.5..<2.5, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { pow($0, p) }
    }

    @Test(
      "pow(x, n) with an integer exponent matches finite differences for negative bases",
      arguments: [2, 3, 4, -2] as [Double], [[5], [2, 3, 2]])
    func negativeBases(n: Double, shape: [Int]) {
      var rng = SeededGenerator(seed: 303)
      let x = Tensor.awayFromZero(shape, magnitudes: 0.5..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { pow($0, n) }
    }

    @Test("pow(-2, 3) is -8 and its derivative in the base is 3·(-2)² = 12, exactly")
    func negativeBaseExact() {
      let (y, dy) = valueWithGradient(at: Tensor<Double>(-2)) { pow($0, 3) }
      #expect(y == Tensor(-8))
      #expect(dy == Tensor(12))
    }

    @Test(
      "pow(b, x) with a scalar base matches finite differences",
      arguments: [2, 0.5, M_E] as [Double], [[], [5], [3, 4]])
    func scalarBase(b: Double, shape: [Int]) {
      var rng = SeededGenerator(seed: 304)
      let x = Tensor.uniform(shape, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { pow(b, $0) }
    }

    @Test("pow's gradients at a zero base or a zero exponent are 0, not NaN, as documented")
    func zeroBaseAndExponent() {
      // ∂(0²)/∂x = 2·0 = 0; ∂(0^y)/∂y is taken as 0 (0ʸ·log 0 would be 0·(−∞)); ∂(x⁰)/∂x = 0.
      let (dx, dy) = gradient(at: Tensor<Double>([0, 0]), Tensor<Double>([2, 3])) {
        pow($0, $1).sum()
      }
      #expect(dx == Tensor([0, 0]))
      #expect(dy == Tensor([0, 0]))
      #expect(gradient(at: Tensor<Double>([0, 2])) { pow($0, 0).sum() } == Tensor([0, 0]))
    }
  }
}

// MARK: - Maximum and minimum

extension GradientTests {
  enum Extremum: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case max, min

    var testDescription: String { "\(rawValue)(a, b)" }

    func callAsFunction(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Tensor<Double> {
      self == .max ? Autodiff.max(a, b) : Autodiff.min(a, b)
    }
  }

  @Suite struct Extrema {
    /// Elements 0.2·k + 0.1·parity (k in −5…5), moved by up to ±0.02: tensors of different
    /// parity differ by at least 0.06 everywhere, far from a tie at the finite-difference step.
    static func lattice(
      _ shape: [Int], parity: Int, using rng: inout SeededGenerator
    ) -> Tensor<Double> {
      let scalars = (0..<shape.reduce(1, *)).map { _ in
        0.2 * Double(Int.random(in: -5...5, using: &rng)) + 0.1 * Double(parity)
          + Double.random(in: -0.02...0.02, using: &rng)
      }
      return Tensor(shape: shape, scalars: scalars)
    }

    @Test(
      "max(a, b) and min(a, b) away from ties match finite differences, broadcasting",
      arguments: Extremum.allCases,
      [([5], [5]), ([4, 3], [3]), ([], [2, 3]), ([3, 4], []), ([2, 1, 3], [1, 4, 1])]
        as [([Int], [Int])])
    func awayFromTies(op: Extremum, shapes: ([Int], [Int])) {
      var rng = SeededGenerator(seed: 401)
      let a = Self.lattice(shapes.0, parity: 1, using: &rng)
      let b = Self.lattice(shapes.1, parity: 0, using: &rng)
      expectGradientsMatchFiniteDifferences(at: a, b) { op($0, $1) }
    }

    @Test("max and min with a scalar on either side match finite differences")
    func scalarOnEitherSide() {
      var rng = SeededGenerator(seed: 402)
      let x = Tensor.awayFromZero([3, 4], magnitudes: 0.1..<2, using: &rng) + 0.3
      expectGradientMatchesFiniteDifferences(at: x) { max($0, 0.3) }
      expectGradientMatchesFiniteDifferences(at: x) { max(0.3, $0) }
      expectGradientMatchesFiniteDifferences(at: x) { min($0, 0.3) }
      expectGradientMatchesFiniteDifferences(at: x) { min(0.3, $0) }
    }

    @Test("On a tie, max and min split the gradient between their arguments, as PyTorch and JAX")
    func tieSplitsTheGradient() {
      let a = Tensor<Double>([1, 2, 3, -1])
      let b = Tensor<Double>([1, 0, 5, -1])
      let (maxA, maxB) = gradient(at: a, b) { max($0, $1).sum() }
      #expect(maxA == Tensor([0.5, 1, 0, 0.5]))
      #expect(maxB == Tensor([0.5, 0, 1, 0.5]))
      let (minA, minB) = gradient(at: a, b) { min($0, $1).sum() }
      #expect(minA == Tensor([0.5, 0, 1, 0.5]))
      #expect(minB == Tensor([0.5, 1, 0, 0.5]))

      // Broadcast: b = 1 ties with a[0][0] and a[1][1] (half each) and wins a[1][0] = 0.
      let matrix = Tensor<Double>(shape: [2, 2], scalars: [1, 2, 0, 1])
      let (broadcastA, broadcastB) = gradient(at: matrix, Tensor<Double>(1)) {
        max($0, $1).sum()
      }
      #expect(broadcastA == Tensor(shape: [2, 2], scalars: [0.5, 1, 0, 0.5]))
      #expect(broadcastB == Tensor(2))

      // With a scalar: max(x, 0) and max(0, x) at x = 0 both send half to x.
      #expect(gradient(at: Tensor<Double>(0)) { max($0, 0) } == Tensor(0.5))
      #expect(gradient(at: Tensor<Double>(0)) { max(0, $0) } == Tensor(0.5))
    }
  }
}

// MARK: - Matrix multiplication

extension GradientTests {
  @Suite struct MatrixMultiplication {
    @Test(
      "matmul's gradients match finite differences for every transpose flag combination",
      arguments: [(false, false), (true, false), (false, true), (true, true)] as [(Bool, Bool)],
      [(1, 1, 1), (3, 4, 2), (5, 2, 3), (2, 6, 1), (1, 3, 4)] as [(Int, Int, Int)])
    func transposeFlags(flags: (Bool, Bool), size: (Int, Int, Int)) {
      let (m, k, n) = size
      var rng = SeededGenerator(seed: 501)
      let a = Tensor.uniform(flags.0 ? [k, m] : [m, k], in: -1..<1, using: &rng)
      let b = Tensor.uniform(flags.1 ? [n, k] : [k, n], in: -1..<1, using: &rng)
      expectGradientsMatchFiniteDifferences(at: a, b) {
        matmul($0, transposed: flags.0, $1, transposed: flags.1)
      }
    }

    @Test("A matrix used as both operands of matmul, and again elsewhere, gets all contributions")
    func reusedOperands() {
      var rng = SeededGenerator(seed: 502)
      let x = Tensor.uniform([3, 4], in: -1..<1, using: &rng)
      let w = Tensor.uniform([4, 2], in: -1..<1, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) {
        matmul($0, transposed: false, $0, transposed: true)
      }
      expectGradientMatchesFiniteDifferences(at: x) {
        matmul($0, transposed: true, $0, transposed: false)
      }
      // The later use of x is swept first, so matmul adds its product into x's existing gradient.
      expectGradientsMatchFiniteDifferences(at: x, w) { x, w in
        (matmul(x, w) * 2).sum() + (x * x).sum()
      }
    }
  }
}

// MARK: - Reductions

extension GradientTests {
  enum AxisReduction: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sumAlong = "sum(alongAxes:)"
    case sumSqueezing = "sum(squeezingAxes:)"
    case meanAlong = "mean(alongAxes:)"
    case meanSqueezing = "mean(squeezingAxes:)"
    case maxAlong = "max(alongAxes:)"
    case maxSqueezing = "max(squeezingAxes:)"
    case minAlong = "min(alongAxes:)"
    case minSqueezing = "min(squeezingAxes:)"
    case productAlong = "product(alongAxes:)"
    case productSqueezing = "product(squeezingAxes:)"
    case varianceAlong = "variance(alongAxes:)"
    case varianceSqueezing = "variance(squeezingAxes:)"
    case logSumExpAlong = "logSumExp(alongAxes:)"
    case logSumExpSqueezing = "logSumExp(squeezingAxes:)"

    var testDescription: String { rawValue }

    // standardDeviation is sqrt of variance: over an empty axis set the variance is 0, where the
    // square root has no derivative; the JAX differential test covers it away from 0.
    func callAsFunction(_ x: Tensor<Double>, _ axes: [Int]) -> Tensor<Double> {
      switch self {
      case .sumAlong: x.sum(alongAxes: axes)
      case .sumSqueezing: x.sum(squeezingAxes: axes)
      case .meanAlong: x.mean(alongAxes: axes)
      case .meanSqueezing: x.mean(squeezingAxes: axes)
      case .maxAlong: x.max(alongAxes: axes)
      case .maxSqueezing: x.max(squeezingAxes: axes)
      case .minAlong: x.min(alongAxes: axes)
      case .minSqueezing: x.min(squeezingAxes: axes)
      case .productAlong: x.product(alongAxes: axes)
      case .productSqueezing: x.product(squeezingAxes: axes)
      case .varianceAlong: x.variance(alongAxes: axes)
      case .varianceSqueezing: x.variance(squeezingAxes: axes)
      case .logSumExpAlong: x.logSumExp(alongAxes: axes)
      case .logSumExpSqueezing: x.logSumExp(squeezingAxes: axes)
      }
    }
  }

  enum FullReduction: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sum = "sum()"
    case mean = "mean()"
    case max = "max()"
    case min = "min()"
    case product = "product()"
    case variance = "variance()"
    case logSumExp = "logSumExp()"

    var testDescription: String { rawValue }

    func callAsFunction(_ x: Tensor<Double>) -> Tensor<Double> {
      switch self {
      case .sum: x.sum()
      case .mean: x.mean()
      case .max: x.max()
      case .min: x.min()
      case .product: x.product()
      case .variance: x.variance()
      case .logSumExp: x.logSumExp()
      }
    }
  }

  @Suite struct Reductions {
    @Test(
      "Reductions over negative, unsorted, non-adjacent and empty axis sets match finite differences",
      arguments: AxisReduction.allCases,
      [
        ([5], [0]), ([5], [-1]), ([3, 4], [0]), ([3, 4], [1]), ([3, 4], [-1]), ([3, 4], [0, 1]),
        ([2, 3, 4], [1]), ([2, 3, 4], [0, 2]), ([2, 3, 4], [-1, -3]), ([2, 3, 4], [2, 0]),
        ([2, 3, 4], [-2, -1]), ([2, 3, 4], [0, 1, 2]), ([2, 3, 4], []),
      ] as [([Int], [Int])])
    func alongAxes(reduction: AxisReduction, reduced: ([Int], [Int])) {
      var rng = SeededGenerator(seed: 601)
      // Distinct elements, 0.25 apart: no ties for max.
      let x = Tensor.distinct(reduced.0, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { reduction($0, reduced.1) }
    }

    @Test(
      "Full reductions match finite differences",
      arguments: FullReduction.allCases, [[], [5], [3, 4], [2, 3, 4]])
    func full(reduction: FullReduction, shape: [Int]) {
      var rng = SeededGenerator(seed: 602)
      let x = Tensor.distinct(shape, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { reduction($0) }
    }

    @Test("On ties, max sends the gradient only to the first maximal element in row-major order")
    func maxTies() {
      let rows = Tensor<Double>(shape: [2, 3], scalars: [1, 3, 3, 2, 2, 1])
      let weights = Tensor<Double>(shape: [2, 1], scalars: [2, 3])
      #expect(
        gradient(at: rows) { ($0.max(alongAxes: [1]) * weights).sum() }
          == Tensor(shape: [2, 3], scalars: [0, 2, 0, 3, 0, 0]))

      let columns = Tensor<Double>(shape: [2, 2], scalars: [3, 3, 3, 1])
      #expect(
        gradient(at: columns) { $0.max(alongAxes: [0]).sum() }
          == Tensor(shape: [2, 2], scalars: [1, 1, 0, 0]))

      let all = Tensor<Double>(shape: [2, 2], scalars: [3, 1, 3, 3])
      #expect(gradient(at: all) { $0.max() } == Tensor(shape: [2, 2], scalars: [1, 0, 0, 0]))

      // Non-adjacent axes [0, 2] of [2, 2, 2], all equal: group j's first element is (0, j, 0).
      let constant = Tensor<Double>(repeating: 7, shape: [2, 2, 2])
      #expect(
        gradient(at: constant) { $0.max(alongAxes: [0, 2]).sum() }
          == Tensor(shape: [2, 2, 2], scalars: [1, 0, 1, 0, 0, 0, 0, 0]))
    }
  }
}

// MARK: - Shaping

extension GradientTests {
  @Suite struct Shaping {
    @Test(
      "reshaped(to:) matches finite differences, with an inferred extent",
      arguments: [
        ([2, 3, 4], [6, -1]), ([12], [3, 4]), ([3, 4], [-1]), ([], [1, 1]), ([2, 6], [2, 3, 2]),
        ([1, 1], []),
      ] as [([Int], [Int])])
    func reshaped(shapes: ([Int], [Int])) {
      var rng = SeededGenerator(seed: 701)
      let x = Tensor.uniform(shapes.0, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { $0.reshaped(to: shapes.1) }
    }

    @Test(
      "squeezed(axes:) and unsqueezed(at:) match finite differences",
      arguments: [[1, 3, 1, 2], [1], [], [2, 1]] as [[Int]])
    func squeezedAndUnsqueezed(shape: [Int]) {
      var rng = SeededGenerator(seed: 703)
      let x = Tensor.uniform(shape, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { $0.squeezed() }
      expectGradientMatchesFiniteDifferences(at: x) { $0.unsqueezed(at: 0).unsqueezed(at: -1) }
      if let axis = shape.firstIndex(of: 1) {
        expectGradientMatchesFiniteDifferences(at: x) { $0.squeezed(axes: [axis]) * 3 }
      }
    }

    @Test("transposed() matches finite differences", arguments: [[], [5], [3, 4], [2, 3, 4]])
    func transposed(shape: [Int]) {
      var rng = SeededGenerator(seed: 702)
      let x = Tensor.uniform(shape, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { $0.transposed() }
    }

    @Test(
      "transposed(permutation:) of a rank-3 tensor matches finite differences",
      arguments: [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
    func permuted(permutation: [Int]) {
      var rng = SeededGenerator(seed: 703)
      let x = Tensor.uniform([2, 3, 4], in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { $0.transposed(permutation: permutation) }
    }

    @Test(
      "expanded(to:) sums the gradient over the repeated axes",
      arguments: [
        ([3], [4, 3]), ([4, 1], [4, 3]), ([], [2, 3]), ([2, 1, 3], [2, 4, 3]),
        ([1, 3, 1], [2, 3, 4]),
      ] as [([Int], [Int])])
    func expanded(shapes: ([Int], [Int])) {
      var rng = SeededGenerator(seed: 704)
      let x = Tensor.uniform(shapes.0, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { $0.expanded(to: shapes.1) }
    }

    @Test(
      "Row slicing x[a..<b] places the gradient at the rows taken, zeros elsewhere",
      arguments: [
        ([5], 1..<3), ([6, 3], 2..<5), ([4, 2, 3], 0..<1), ([4, 2, 3], 1..<4), ([4, 2], 0..<4),
      ] as [([Int], Range<Int>)])
    func rows(slice: ([Int], Range<Int>)) {
      var rng = SeededGenerator(seed: 705)
      let x = Tensor.uniform(slice.0, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { $0[slice.1] }
    }

    @Test(
      "sliced(alongAxis:) on axis 1 and -1 places the gradient at the positions taken",
      arguments: [
        ([3, 5], 1, 1..<4), ([2, 5, 3], 1, 0..<2), ([2, 3, 5], -1, 2..<5), ([3, 5], -1, 0..<1),
        ([4], -1, 1..<3),
      ] as [([Int], Int, Range<Int>)])
    func slicedAlongAxis(slice: ([Int], Int, Range<Int>)) {
      var rng = SeededGenerator(seed: 706)
      let x = Tensor.uniform(slice.0, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { $0.sliced(alongAxis: slice.1, slice.2) }
    }

    @Test(
      "Concatenation hands each input its slice of the gradient",
      arguments: [
        ([[2, 3], [3, 3]], 0), ([[1, 3], [2, 3], [4, 3]], 0), ([[2, 1], [2, 3]], 1),
        ([[2, 2], [2, 1], [2, 4]], 1), ([[2, 1, 3], [2, 2, 3]], 1), ([[2, 3, 1], [2, 3, 2]], -1),
      ] as [([[Int]], Int)])
    func concatenated(joined: ([[Int]], Int)) {
      var rng = SeededGenerator(seed: 707)
      let inputs = joined.0.map { Tensor.uniform($0, in: -2..<2, using: &rng) }
      expectGradientsMatchFiniteDifferences(at: inputs) {
        Tensor(concatenating: $0, alongAxis: joined.1)
      }
    }

    @Test(
      "flipped(alongAxes:) sends each element's gradient back to its mirror position",
      arguments: [
        ([], []), ([5], [0]), ([5], [-1]), ([3, 4], [1]), ([3, 4], [-2]), ([3, 4], [1, 0]),
        ([2, 3, 4], [0, 2]), ([2, 3, 4], [-1, -2, -3]), ([2, 1, 3], [1]), ([0, 3], [0, 1]),
        ([3, 4], []),
      ] as [([Int], [Int])])
    func flipped(flip: ([Int], [Int])) {
      var rng = SeededGenerator(seed: 708)
      let x = Tensor.uniform(flip.0, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { $0.flipped(alongAxes: flip.1) * x }
    }

    @Test(
      "tiled(_:) sums the gradient of every tile back, with fewer and more multiples than axes",
      arguments: [
        ([], [3]), ([], [2, 2]), ([4], [3]), ([4], [2, 1]), ([3, 2], [2, 3]), ([3, 2], [2]),
        ([2, 1, 3], [1, 4, 2]), ([2, 3], [2, 1, 2]), ([3, 2], [0, 2]), ([0, 2], [3, 1]),
        ([3, 2], [1, 1]),
      ] as [([Int], [Int])])
    func tiled(tile: ([Int], [Int])) {
      var rng = SeededGenerator(seed: 709)
      let x = Tensor.uniform(tile.0, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { $0.tiled(tile.1) * 1.5 }
    }

    @Test(
      "repeated(_:alongAxis:) sums the gradient of each slice's copies back",
      arguments: [
        ([4], 0, 3), ([3, 2], 0, 2), ([3, 2], -1, 3), ([2, 3, 4], 1, 2), ([2, 3, 4], -1, 2),
        ([3, 2], 1, 0), ([3, 2], 1, 1), ([0, 2], 0, 2),
      ] as [([Int], Int, Int)])
    func repeated(repetition: ([Int], Int, Int)) {
      var rng = SeededGenerator(seed: 710)
      let x = Tensor.uniform(repetition.0, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) {
        $0.repeated(repetition.2, alongAxis: repetition.1).squared()
      }
    }

    @Test(
      "repeated(_:alongAxis:) with a count per slice adds each slice's copies back, 0 when dropped",
      arguments: [
        ([4], 0, [1, 0, 3, 2]), ([3, 2], 0, [2, 1, 0]), ([3, 2], -1, [0, 3]),
        ([2, 3, 4], 1, [1, 2, 1]), ([2, 3, 4], -1, [2, 2, 2, 2]), ([2, 0], 1, []),
      ] as [([Int], Int, [Int])])
    func repeatedEach(repetition: ([Int], Int, [Int])) {
      var rng = SeededGenerator(seed: 711)
      let x = Tensor.uniform(repetition.0, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) {
        sin($0.repeated(repetition.2, alongAxis: repetition.1))
      }
    }

    @Test(
      "padded(_:with:) passes the interior's gradient back and none from the border",
      arguments: [
        ([5], [(2, 1)]), ([3, 4], [(1, 0), (0, 2)]), ([3, 4], [(0, 0), (3, 3)]),
        ([2, 3, 2], [(1, 1), (0, 1), (2, 0)]), ([0, 2], [(1, 1), (1, 0)]), ([], []),
        ([3, 4], [(0, 0), (0, 0)]),
      ] as [([Int], [(before: Int, after: Int)])])
    func padded(pad: ([Int], [(before: Int, after: Int)])) {
      var rng = SeededGenerator(seed: 712)
      let x = Tensor.uniform(pad.0, in: -2..<2, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { exp($0.padded(pad.1, with: -0.5)) }
    }
  }
}

// MARK: - Softmax

extension GradientTests {
  enum SoftmaxFunction: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case softmax, logSoftmax

    var testDescription: String { rawValue }

    func callAsFunction(_ x: Tensor<Double>, alongAxis axis: Int) -> Tensor<Double> {
      self == .softmax
        ? Autodiff.softmax(x, alongAxis: axis) : Autodiff.logSoftmax(x, alongAxis: axis)
    }

    /// The gradient for upstream `u`, from the closed forms: with s = softmax(x),
    /// ∂(Σ u·softmax)/∂xᵢ = sᵢ(uᵢ − Σⱼ uⱼsⱼ) and ∂(Σ u·logSoftmax)/∂xᵢ = uᵢ − sᵢ Σⱼ uⱼ,
    /// the sums running along the axis. Computed here by plain loops over rank-2 row-major
    /// buffers, axis 1.
    func closedFormGradient(rows x: [[Double]], upstream u: [[Double]]) -> [[Double]] {
      zip(x, u).map { x, u in
        let m = x.max()!
        let e = x.map { Foundation.exp($0 - m) }
        let total = e.reduce(0, +)
        let s = e.map { $0 / total }
        switch self {
        case .softmax:
          let dot = zip(u, s).map(*).reduce(0, +)
          return zip(u, s).map { $1 * ($0 - dot) }
        case .logSoftmax:
          let sum = u.reduce(0, +)
          return zip(u, s).map { $0 - $1 * sum }
        }
      }
    }
  }

  @Suite struct Softmax {
    @Test(
      "softmax and logSoftmax match finite differences along each axis",
      arguments: SoftmaxFunction.allCases,
      [
        ([5], -1), ([5], 0), ([3, 4], -1), ([3, 4], 0), ([2, 3, 4], -1), ([2, 3, 4], 0),
        ([2, 3, 4], 1),
      ] as [([Int], Int)])
    func alongAxis(function: SoftmaxFunction, input: ([Int], Int)) {
      var rng = SeededGenerator(seed: 801)
      let x = Tensor.uniform(input.0, in: -3..<3, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { function($0, alongAxis: input.1) }
    }

    @Test(
      "At logits of ±1000 softmax and logSoftmax stay finite with closed-form, finite-difference gradients",
      arguments: SoftmaxFunction.allCases, [-1, 0])
    func hugeLogits(function: SoftmaxFunction, axis: Int) throws {
      let rows: [[Double]] = [
        [1000, -1000, 999.5, 0], [-1000, -999, -1000, -998], [1000, 1000, 1000, 1000],
      ]
      var rng = SeededGenerator(seed: 802)
      let u = Tensor<Double>.uniform([3, 4], in: -1..<1, using: &rng)
      // Axis 0 sees the same rows as columns.
      let layout = { (t: Tensor<Double>) in axis == 0 ? t.transposed() : t }
      let x = layout(Tensor(shape: [3, 4], scalars: rows.flatMap { $0 }))

      let tape = Tape()
      let watched = tape.watch(x)
      let y = function(watched, alongAxis: axis)
      #expect(y.scalars.allSatisfy { $0.isFinite }, "\(y)")
      let dx = tape.gradient(of: y, wrt: [watched], seed: layout(u))[0]

      let expected = function.closedFormGradient(
        rows: rows, upstream: (0..<3).map { Array(u.scalars[(4 * $0)..<(4 * $0 + 4)]) })
      let expectedTensor = layout(Tensor(shape: [3, 4], scalars: expected.flatMap { $0 }))
      #expect(
        dx.isAlmostEqual(to: expectedTensor, relativeTolerance: 1e-12, absoluteTolerance: 1e-15),
        "\(dx) vs \(expectedTensor)")
      expectGradientMatchesFiniteDifferences(at: x) { function($0, alongAxis: axis) }
    }
  }
}

// MARK: - Custom operations and composites

extension GradientTests {
  @Suite struct CustomAndComposite {
    /// softplus(x) = log(1 + eˣ), written stably, with its derivative σ(x).
    static func softplus(_ x: Tensor<Double>) -> Tensor<Double> {
      customOperation("softplus", operands: [x]) { x in
        max(x[0], 0) + log(1 + exp(-abs(x[0])))
      } pullback: { g, x, _ in
        [g * sigmoid(x[0])]
      }
    }

    @Test(
      "customOperation with a correct pullback matches finite differences",
      arguments: [[], [5], [3, 4], [2, 3, 2]])
    func correctCustomRule(shape: [Int]) {
      var rng = SeededGenerator(seed: 901)
      let x = Tensor.uniform(shape, in: -5..<5, using: &rng)
      expectGradientMatchesFiniteDifferences(at: x) { Self.softplus($0) }

      // Two operands: a·eᵇ, ∂/∂a = g·eᵇ, ∂/∂b = g·y.
      let a = Tensor.uniform(shape, in: -2..<2, using: &rng)
      let b = Tensor.uniform(shape, in: -2..<2, using: &rng)
      expectGradientsMatchFiniteDifferences(at: a, b) { a, b in
        customOperation("scaledExp", operands: [a, b]) { x in
          x[0] * exp(x[1])
        } pullback: { g, x, y in
          [g * exp(x[1]), g * y]
        }
      }
    }

    @Test("The finite-difference check catches a wrong pullback and names the worst element")
    func wrongCustomRuleIsCaught() throws {
      var rng = SeededGenerator(seed: 902)
      let x = Tensor.uniform([3, 4], in: 0.5..<2, using: &rng)

      // x³ with the derivative 2x instead of 3x².
      let wrongFactor = compareGradientWithFiniteDifferences(
        of: { x in
          customOperation("cube", operands: [x[0]]) { x in
            x[0] * x[0] * x[0]
          } pullback: { g, x, _ in
            [g * 2 * x[0]]
          }
        }, at: [x])
      #expect(!wrongFactor.passed)
      // At every element the analytic gradient is u·2x and the numeric one u·3x², for upstream u.
      let worst = try #require(wrongFactor.worst)
      #expect(worst.input == 0)
      #expect(Swift.abs(worst.analytic / worst.numeric - 2 / (3 * worst.x)) < 1e-6, "\(worst)")

      // Reversal whose pullback forgets to reverse the gradient: right values, wrong places.
      let v = Tensor.uniform([5], in: -2..<2, using: &rng)
      let misplaced = compareGradientWithFiniteDifferences(
        of: { x in
          customOperation("reverse", operands: [x[0]]) { x in
            Tensor(Array(x[0].scalars.reversed()))
          } pullback: { g, _, _ in
            [g]
          }
        }, at: [v])
      #expect(!misplaced.passed)
    }

    @Test(
      "An MLP-like expression, relu(x·w + b) then logSoftmax then mean, matches finite differences")
    func multilayerPerceptron() throws {
      var rng = SeededGenerator(seed: 903)
      let x = Tensor.uniform([4, 3], in: -1..<1, using: &rng)
      let w = Tensor.uniform([3, 5], in: -1..<1, using: &rng)
      let b = Tensor.uniform([5], in: -0.5..<0.5, using: &rng)
      // relu is not differentiable at 0: the pre-activations must stay clear of it.
      let preactivations = matmul(x, w) + b
      try #require(preactivations.scalars.allSatisfy { Swift.abs($0) > 1e-3 })
      expectGradientsMatchFiniteDifferences(at: [x, w, b]) { p in
        logSoftmax(relu(matmul(p[0], p[1]) + p[2])).mean()
      }
    }

    @Test("A two-layer tanh network's cross-entropy matches finite differences")
    func crossEntropy() {
      var rng = SeededGenerator(seed: 904)
      let x = Tensor.uniform([6, 3], in: -1..<1, using: &rng)
      let w1 = Tensor.uniform([5, 3], in: -1..<1, using: &rng)
      let b1 = Tensor.uniform([5], in: -0.5..<0.5, using: &rng)
      let w2 = Tensor.uniform([5, 4], in: -1..<1, using: &rng)
      let b2 = Tensor.uniform([1, 4], in: -0.5..<0.5, using: &rng)
      let labels = [0, 3, 1, 1, 2, 0]
      let oneHot = Tensor<Double>(
        shape: [6, 4], scalars: labels.flatMap { label in (0..<4).map { $0 == label ? 1 : 0 } })
      expectGradientsMatchFiniteDifferences(at: [x, w1, b1, w2, b2]) { p in
        let hidden = tanh(matmul(p[0], transposed: false, p[1], transposed: true) + p[2])
        let logits = matmul(hidden, p[3]) + p[4]
        return -(logSoftmax(logits) * oneHot).sum(squeezingAxes: [1]).mean()
      }
    }
  }
}

// MARK: - Float agrees with Double

extension GradientTests {
  enum PrecisionCase: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case exp, tanh, sigmoid, divide, matmul, softmax, sumAlongAxes, maxAlongAxes, network

    var testDescription: String { rawValue }

    var shapes: [[Int]] {
      switch self {
      case .divide: [[4, 3], [3]]
      case .matmul: [[3, 4], [2, 4]]
      case .network: [[4, 3], [3, 5], [5]]
      default: [[2, 3, 4]]
      }
    }

    func callAsFunction<S: TensorScalar>(_ x: [Tensor<S>]) -> Tensor<S> {
      switch self {
      case .exp: Autodiff.exp(x[0])
      case .tanh: Autodiff.tanh(x[0])
      case .sigmoid: Autodiff.sigmoid(x[0])
      case .divide: x[0] / (x[1].squared() + 0.5)
      case .matmul: Autodiff.matmul(x[0], transposed: false, x[1], transposed: true)
      case .softmax: Autodiff.softmax(x[0], alongAxis: 1)
      case .sumAlongAxes: x[0].sum(alongAxes: [0, 2]).squared()
      case .maxAlongAxes: x[0].max(alongAxes: [-1])
      case .network: Autodiff.logSoftmax(Autodiff.tanh(Autodiff.matmul(x[0], x[1]) + x[2])).mean()
      }
    }
  }

  @Suite struct FloatPrecision {
    static func gradients<S: TensorScalar>(
      of function: PrecisionCase, at inputs: [Tensor<S>], upstream: Tensor<Double>
    ) -> [Tensor<Double>] {
      let tape = Tape()
      let watched = inputs.map { tape.watch($0) }
      let y = function(watched)
      return tape.gradient(of: y, wrt: watched, seed: Tensor<S>(upstream)).map { Tensor($0) }
    }

    @Test(
      "Float gradients agree with Double gradients to Float precision",
      arguments: PrecisionCase.allCases)
    func floatAgreesWithDouble(function: PrecisionCase) {
      var rng = SeededGenerator(seed: 1001)
      // Inputs representable in Float, so both precisions differentiate at the same point.
      let inputs = function.shapes.map {
        Tensor<Double>(
          Tensor<Float>(Tensor<Double>.distinct($0, spacing: 0.1, jitter: 0.02, using: &rng)))
      }
      let outputShape = function(inputs).shape
      let u = Tensor<Double>(
        Tensor<Float>(Tensor<Double>.uniform(outputShape, in: -1..<1, using: &rng)))
      let double = Self.gradients(of: function, at: inputs, upstream: u)
      let float = Self.gradients(of: function, at: inputs.map { Tensor<Float>($0) }, upstream: u)
      for (position, (d, f)) in zip(double, float).enumerated() {
        // Float's ε is 1.2·10⁻⁷: 10⁻⁶ relative is about 8 ulps (a few operations deep, the
        // observed errors are 1–2 ulps), and 10⁻⁷ absolute covers gradients near 0.
        #expect(
          f.isAlmostEqual(to: d, relativeTolerance: 1e-6, absoluteTolerance: 1e-7),
          "input \(position): Float \(f) vs Double \(d)")
      }
    }
  }
}
