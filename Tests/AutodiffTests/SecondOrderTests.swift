// Second derivatives: gradients of gradients, through nested gradient(at:of:) and through
// tape.gradient(…, createGraph: true). Elementwise functions are checked against their closed-form
// second derivatives; composites are checked by finite differences of the gradient, which tests
// Hessian-vector products (see Support/FiniteDifferences.swift).

import Autodiff
import Foundation
import Testing

@Suite struct SecondOrderTests {
  enum Function: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sin, cos, exp, log, sqrt, sigmoid, tanh
    case cube = "x * x * x"
    case squared
    case powInteger = "pow(x, 3)"
    case powFractional = "pow(x, 2.5)"
    case powBase = "pow(2, x)"
    case log1p, expm1, erf, softplus, silu, gelu
    case geluTanh = "gelu(approximation: .tanh)"
    case elu = "elu(alpha: 1.5)"
    case tan, asin, acos, atan, sinh, cosh
    case atan2Ordinate = "atan2(x, 0.5)"
    case atan2Abscissa = "atan2(0.5, x)"

    var testDescription: String { rawValue }

    func callAsFunction(_ x: Tensor<Double>) -> Tensor<Double> {
      switch self {
      case .sin: Autodiff.sin(x)
      case .cos: Autodiff.cos(x)
      case .exp: Autodiff.exp(x)
      case .log: Autodiff.log(x)
      case .sqrt: Autodiff.sqrt(x)
      case .sigmoid: Autodiff.sigmoid(x)
      case .tanh: Autodiff.tanh(x)
      case .cube: x * x * x
      case .squared: x.squared()
      case .powInteger: Autodiff.pow(x, 3)
      case .powFractional: Autodiff.pow(x, 2.5)
      case .powBase: Autodiff.pow(2, x)
      case .log1p: Autodiff.log1p(x)
      case .expm1: Autodiff.expm1(x)
      case .erf: Autodiff.erf(x)
      case .softplus: Autodiff.softplus(x)
      case .silu: Autodiff.silu(x)
      case .gelu: Autodiff.gelu(x)
      case .geluTanh: Autodiff.gelu(x, approximation: .tanh)
      case .elu: Autodiff.elu(x, alpha: 1.5)
      case .tan: Autodiff.tan(x)
      case .asin: Autodiff.asin(x)
      case .acos: Autodiff.acos(x)
      case .atan: Autodiff.atan(x)
      case .sinh: Autodiff.sinh(x)
      case .cosh: Autodiff.cosh(x)
      case .atan2Ordinate: Autodiff.atan2(x, 0.5)
      case .atan2Abscissa: Autodiff.atan2(0.5, x)
      }
    }

    /// f''(x), from the closed form.
    func secondDerivative(_ x: Double) -> Double {
      switch self {
      case .sin: -Foundation.sin(x)
      case .cos: -Foundation.cos(x)
      case .exp: Foundation.exp(x)
      case .log: -1 / (x * x)
      case .sqrt: -0.25 / (x * x.squareRoot())
      case .sigmoid:
        // σ' = σ(1 − σ), so σ'' = σ(1 − σ)(1 − 2σ).
        { s in s * (1 - s) * (1 - 2 * s) }(1 / (1 + Foundation.exp(-x)))
      case .tanh:
        // tanh' = 1 − t², so tanh'' = −2t(1 − t²).
        { t in -2 * t * (1 - t * t) }(Foundation.tanh(x))
      case .cube, .powInteger: 6 * x
      case .squared: 2
      case .powFractional: 2.5 * 1.5 * x.squareRoot()
      case .powBase: Foundation.log(2) * Foundation.log(2) * Foundation.pow(2, x)
      case .log1p: -1 / ((1 + x) * (1 + x))
      case .expm1: Foundation.exp(x)
      // erf' = 2/√π·e^(−x²), so erf'' = −2x·erf'.
      case .erf: -2 * x * 2 / Double.pi.squareRoot() * Foundation.exp(-x * x)
      case .softplus: { s in s * (1 - s) }(1 / (1 + Foundation.exp(-x)))
      case .silu:
        // (xσ)' = σ + xσ', so (xσ)'' = 2σ' + xσ'', with σ' = σ(1 − σ), σ'' = σ'(1 − 2σ).
        { s in 2 * s * (1 - s) + x * s * (1 - s) * (1 - 2 * s) }(1 / (1 + Foundation.exp(-x)))
      case .gelu:
        // (xΦ)' = Φ + xφ, so (xΦ)'' = 2φ + xφ' = φ·(2 − x²), φ the standard normal density.
        Foundation.exp(-x * x / 2) / (2 * Double.pi).squareRoot() * (2 - x * x)
      case .geluTanh:
        // f = x(1 + t)/2 with t = tanh u, u = c(x + kx³): f' = (1 + t)/2 + x(1 − t²)u'/2, and
        // f'' = (1 − t²)u' + x((1 − t²)u'' − 2t(1 − t²)u'²)/2.
        {
          let (c, k) = ((2 / Double.pi).squareRoot(), 0.044715)
          let t = Foundation.tanh(c * (x + k * x * x * x))
          let (u1, u2) = (c * (1 + 3 * k * x * x), 6 * c * k * x)
          return (1 - t * t) * u1 + x * ((1 - t * t) * u2 - 2 * t * (1 - t * t) * u1 * u1) / 2
        }()
      case .elu: x > 0 ? 0 : 1.5 * Foundation.exp(x)
      // tan' = 1 + t², so tan'' = 2t(1 + t²).
      case .tan: { t in 2 * t * (1 + t * t) }(Foundation.tan(x))
      // asin' = (1 − x²)^(−1/2), so asin'' = x(1 − x²)^(−3/2); acos' = −asin'.
      case .asin: x / Foundation.pow(1 - x * x, 1.5)
      case .acos: -x / Foundation.pow(1 - x * x, 1.5)
      // atan' = 1/(1 + x²), so atan'' = −2x/(1 + x²)².
      case .atan: -2 * x / ((1 + x * x) * (1 + x * x))
      case .sinh: Foundation.sinh(x)
      case .cosh: Foundation.cosh(x)
      // ∂atan2(y, c)/∂y = c/(c² + y²), whose derivative is −2cy/(c² + y²)²; ∂atan2(c, x)/∂x =
      // −c/(c² + x²), whose derivative is 2cx/(c² + x²)².
      case .atan2Ordinate: -2 * 0.5 * x / ((0.25 + x * x) * (0.25 + x * x))
      case .atan2Abscissa: 2 * 0.5 * x / ((0.25 + x * x) * (0.25 + x * x))
      }
    }

    /// Inputs in the domain: positive where log, sqrt or a fractional power need it.
    func input(_ shape: [Int], using rng: inout SeededGenerator) -> Tensor<Double> {
      switch self {
      case .log, .sqrt, .powFractional: .uniform(shape, in: 0.2..<3, using: &rng)
      case .sigmoid, .softplus, .silu, .gelu, .geluTanh: .uniform(shape, in: -4..<4, using: &rng)
      case .log1p: .uniform(shape, in: -0.5..<2, using: &rng)
      case .elu: .awayFromZero(shape, magnitudes: 0.1..<2, using: &rng)
      case .tan: .uniform(shape, in: -1.2..<1.2, using: &rng)
      case .asin, .acos: .uniform(shape, in: -0.9..<0.9, using: &rng)
      default: .uniform(shape, in: -2..<2, using: &rng)
      }
    }

    func expectedSecondDerivative(at x: Tensor<Double>) -> Tensor<Double> {
      Tensor(shape: x.shape, scalars: x.scalars.map(secondDerivative))
    }
  }

  // Each second derivative is a few rounded operations on values of order 1 (up to 25 for log
  // at 0.2): 10⁻¹⁰ relative and 10⁻¹² absolute leave room for their rounding (and for the
  // cancellation in σ'' and tanh'' near 0), while a wrong rule is off by O(1).
  static let relativeTolerance = 1e-10
  static let absoluteTolerance = 1e-12

  @Test(
    "Nested gradient(at:of:) gives the closed-form second derivative",
    arguments: Function.allCases, [[], [7], [2, 3]])
  func nestedGradient(function: Function, shape: [Int]) {
    var rng = SeededGenerator(seed: 1101)
    let x = function.input(shape, using: &rng)
    // f is elementwise, so ∂/∂xᵢ Σⱼ f'(xⱼ) = f''(xᵢ).
    let second = gradient(at: x) { x in gradient(at: x) { function($0).sum() }.sum() }
    let expected = function.expectedSecondDerivative(at: x)
    #expect(
      second.isAlmostEqual(
        to: expected, relativeTolerance: Self.relativeTolerance,
        absoluteTolerance: Self.absoluteTolerance),
      "x = \(x): got \(second), expected \(expected)")
  }

  @Test(
    "tape.gradient with createGraph returns a recorded gradient whose gradient is f''",
    arguments: Function.allCases)
  func createGraph(function: Function) throws {
    var rng = SeededGenerator(seed: 1102)
    let x0 = function.input([6], using: &rng)
    let tape = Tape()
    let x = tape.watch(x0)
    let first = tape.gradient(of: function(x).sum(), wrt: [x], createGraph: true)[0]
    try #require(
      first.isRecorded, "the first gradient was not recorded, so it cannot be differentiated")
    let second = tape.gradient(of: first.sum(), wrt: [x])[0]
    let expected = function.expectedSecondDerivative(at: x0)
    #expect(
      second.isAlmostEqual(
        to: expected, relativeTolerance: Self.relativeTolerance,
        absoluteTolerance: Self.absoluteTolerance),
      "x = \(x0): got \(second), expected \(expected)")
  }

  @Test("The mixed partial ∂²(xʸ)/∂y∂x is x^(y−1)·(1 + y·log x)")
  func powMixedPartial() {
    var rng = SeededGenerator(seed: 1103)
    let x = Tensor.uniform([5], in: 0.3..<3, using: &rng)
    let y = Tensor.uniform([5], in: -2..<2, using: &rng)
    // ∂(xʸ)/∂x = y·x^(y−1); its derivative in y is x^(y−1) + y·x^(y−1)·log x.
    let mixed = gradient(at: y) { y in gradient(at: x) { pow($0, y).sum() }.sum() }
    let expected = Tensor(
      zip(x.scalars, y.scalars).map { x, y in
        Foundation.pow(x, y - 1) * (1 + y * Foundation.log(x))
      })
    #expect(
      mixed.isAlmostEqual(
        to: expected, relativeTolerance: Self.relativeTolerance,
        absoluteTolerance: Self.absoluteTolerance),
      "got \(mixed), expected \(expected)")
  }

  @Test("Three nested gradients give the third derivative: sin''' = −cos, (x⁴)''' = 24x")
  func thirdDerivative() {
    var rng = SeededGenerator(seed: 1104)
    let x = Tensor.uniform([5], in: -2..<2, using: &rng)
    func third(_ f: @escaping (Tensor<Double>) -> Tensor<Double>) -> Tensor<Double> {
      gradient(at: x) { x in
        gradient(at: x) { x in gradient(at: x) { f($0).sum() }.sum() }.sum()
      }
    }
    let sinThird = third { sin($0) }
    let sinExpected = Tensor(x.scalars.map { -Foundation.cos($0) })
    #expect(
      sinThird.isAlmostEqual(to: sinExpected, relativeTolerance: 1e-10, absoluteTolerance: 1e-12))
    let quarticThird = third { pow($0, 4) }
    let quarticExpected = Tensor(x.scalars.map { 24 * $0 })
    #expect(
      quarticThird.isAlmostEqual(
        to: quarticExpected, relativeTolerance: 1e-10, absoluteTolerance: 1e-12),
      "got \(quarticThird), expected \(quarticExpected)")
  }
}

// MARK: - Hessian-vector products of composites

extension SecondOrderTests {
  enum Composite: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case softmax
    case logSoftmaxAxis0 = "logSoftmax along axis 0"
    case matmul = "x·xᵀ"
    case stackedMatmul = "matmul of stacks and vectors"
    case division
    case broadcastPow = "pow with a broadcast exponent"
    case maxAlongAxes = "max(alongAxes:)"
    case slicing = "slices and concatenation"
    case movement = "transpose, reshape, squeeze, expand and reductions"
    case network = "tanh layer"
    case fusedLayers = "matmul(_:_:plus:activation:) with each activation"
    case kinks = "relu, abs, max and min away from their kinks"
    case logSigmoid = "log, sigmoid, sqrt"
    case custom = "customOperation"
    case statistics = "product, variance, standardDeviation, centered, logSumExp, norm"
    case joining = "cumulativeSum, stack, split, gathering, where, sorted, topK"
    case tiling = "flipped, tiled, repeated, padded"

    var testDescription: String { rawValue }

    var shape: [Int] {
      switch self {
      case .movement, .stackedMatmul: [2, 3, 4]
      default: [3, 4]
      }
    }

    /// Fixed, varied weights of `shape`: element k is sin(3k + 1).
    static func weights(_ shape: [Int]) -> Tensor<Double> {
      Tensor(
        shape: shape, scalars: (0..<shape.reduce(1, *)).map { Foundation.sin(Double(3 * $0 + 1)) })
    }

    func input(using rng: inout SeededGenerator) -> Tensor<Double> {
      switch self {
      case .broadcastPow: .uniform(shape, in: 0.5..<2, using: &rng)
      case .maxAlongAxes: .distinct(shape, using: &rng)
      case .kinks: .awayFromZero(shape, magnitudes: 0.4..<2, using: &rng)
      default: .uniform(shape, in: -1.5..<1.5, using: &rng)
      }
    }

    /// A scalar loss of `x`, nonlinear so that its Hessian is not 0.
    func loss(_ x: Tensor<Double>) -> Tensor<Double> {
      let c = Self.weights(x.shape)
      switch self {
      case .softmax:
        return (Autodiff.softmax(x) * c).sum()
      case .logSoftmaxAxis0:
        return (Autodiff.logSoftmax(x, alongAxis: 0) * c).sum()
      case .matmul:
        let gram = Autodiff.matmul(x, transposed: false, x, transposed: true)
        return (sin(gram) * Self.weights([3, 3])).sum()
      case .stackedMatmul:
        // Stacks (both sides, and one broadcast), a stack by a matrix, and vectors.
        let grams = Autodiff.matmul(x, transposed: false, x, transposed: true)  // [2, 3, 3]
        let broadcast = Autodiff.matmul(x[0..<1], transposed: true, x, transposed: false)
        let rows = Autodiff.matmul(x, Self.weights([4, 2]))
        let vectors = Autodiff.matmul(x.sum(alongAxes: [1]).squeezed(axes: [1]), x[1, 0])
        return (sin(grams) * Self.weights([3, 3])).sum() + (broadcast * Self.weights([4, 4])).sum()
          + tanh(rows).sum() + (vectors * Self.weights([2])).sum()
      case .division:
        return (sin(x) / (1 + x.squared()) + c / (2 + cos(x))).sum()
      case .broadcastPow:
        return (pow(x, Tensor([0.5, 1.5, 3, -1])) * c).sum()
      case .maxAlongAxes:
        return (x.max(alongAxes: [1]).squared() * Self.weights([3, 1])).sum() + x.max().squared()
      case .slicing:
        let rows = Tensor(concatenating: [x[1..<3], x[0..<1]], alongAxis: 0)
        let columns = Tensor(
          concatenating: [x.sliced(alongAxis: -1, 2..<4), x.sliced(alongAxis: 1, 0..<1)],
          alongAxis: 1)
        return (sin(rows) * Self.weights([3, 4])).sum()
          + (columns.squared() * rows.sliced(alongAxis: 1, 1..<4)).sum()
      case .movement:
        let permuted = exp(x.transposed(permutation: [2, 0, 1]) * 0.5).sum(alongAxes: [0])
        let expanded = x.mean(squeezingAxes: [1]).expanded(to: [3, 2, 4])
        return permuted.squared().sum() + (sin(expanded) * x.reshaped(to: [-1, 2, 4])).sum()
          + tanh(x.transposed()).sum(squeezingAxes: [0, 2]).squared().mean()
          + (x.unsqueezed(at: 1).squared() * x.sum(alongAxes: [0]).squeezed().unsqueezed(at: 0))
          .sum()
      case .network:
        let w = Self.weights([4, 5])
        let b = Self.weights([5])
        return tanh(Autodiff.matmul(x, w) + b).squared().mean()
      case .fusedLayers:
        // x both as the input and as the weight, so that the Hessian mixes the two.
        let b = Self.weights([4])
        return Activation.allCases.map { activation in
          (Autodiff.matmul(x, x.transposed(), plus: Self.weights([3]), activation: activation)
            * Self.weights([3, 3])).sum()
            + Autodiff.matmul(Self.weights([4, 3]), x, plus: b, activation: activation).squared()
            .mean()
        }.reduce(Tensor(0), +)
      case .kinks:
        return (relu(x) * sin(x) + abs(x) * cos(x) + max(x, 0.3) * min(x, -0.3) * c).sum()
      case .logSigmoid:
        return (log(sigmoid(x)) * c + sqrt(exp(x) + 1)).sum()
      case .custom:
        let softplus = customOperation("softplus", operands: [x]) { x in
          log(1 + exp(x[0]))
        } pullback: { g, x, _ in
          [g * sigmoid(x[0])]
        }
        return (softplus * c).sum()
      case .statistics:
        return (x.product(alongAxes: [1]) * Self.weights([3, 1])).sum()
          + (x.variance(alongAxes: [0]) * Self.weights([1, 4])).sum()
          + x.standardDeviation(correction: 1)
          + (x.centered(alongAxes: [1]).squared() * c).sum()
          + (x.logSumExp(squeezingAxes: [1]) * c[0..<3, 0]).sum()
          + (sin(x.norm(alongAxes: [1])) * Self.weights([3, 1])).sum()
      case .joining:
        let running = sin(x.cumulativeSum(alongAxis: 1)) * c
        let stacked = Tensor(stacking: [x, x.squared()], alongAxis: -1)  // [3, 4, 2]
        let halves = stacked.split(into: 2, alongAxis: -1)
        let gathered = x.gathering(atIndices: [2, 0, 2], alongAxis: 0)
        let chosen = `where`(c .> 0, exp(x * 0.5), cos(x))
        let ordered = x.sorted(alongAxis: 0, descending: true).values
        return running.sum() + (halves[0] * halves[1]).sum() + gathered.squared().sum()
          + (chosen * c).sum() + (sin(ordered) * c).sum() + x.topK(2).values.squared().sum()
      case .tiling:
        // Each op's output multiplied by x moved another way, so that the Hessian mixes them.
        let flipped = x.flipped(alongAxes: [0, -1])
        let tiled = x.tiled([2, 1, 1])  // [2, 3, 4]
        let repeated = x.repeated(2, alongAxis: -1)  // [3, 8]
        let uneven = x.repeated([2, 0, 1], alongAxis: 0)  // [3, 4]
        let padded = x.padded([(1, 0), (0, 2)], with: 0.5)  // [4, 6]
        return (sin(flipped) * x * c).sum()
          + (tiled.squared() * Self.weights([2, 3, 4])).sum()
          + (exp(repeated * 0.5) * x.tiled([1, 2])).sum()
          + (uneven * x.flipped(alongAxes: [1])).sum()
          + (tanh(padded) * Self.weights([4, 6])).sum() * padded.mean()
      }
    }
  }

  @Test(
    "Hessian-vector products of composites match finite differences of the gradient",
    arguments: Composite.allCases)
  func hessianVectorProduct(composite: Composite) {
    var rng = SeededGenerator(seed: 1105)
    let x = composite.input(using: &rng)
    // Contracting ∇L with the helper's random upstream u makes its tape gradient the
    // Hessian-vector product H·u, taken through the nested (recorded) sweep.
    expectGradientMatchesFiniteDifferences(at: x) { x in
      gradient(at: x) { composite.loss($0) }
    }
  }
}
