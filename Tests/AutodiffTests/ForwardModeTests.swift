import Autodiff
import Foundation
import Testing

/// Forward mode (tangent rules), and the derivatives built on it: Jacobian-vector products,
/// second derivatives, Hessians, Jacobians.
@Suite struct ForwardModeTests {
  // MARK: The seeds' forward-mode example

  @Test("Forward mode gives the tutorial's f'(1) = 122.045158140265, equal to reverse mode")
  func seedForwardModeExample() {
    // f(x) = f1(f2(x), f3(x)), f1(a, b) = 3a² + 5ab + 4b², f2 = sin, f3 = √x + eˣ.
    func f(_ x: Tensor<Double>) -> Tensor<Double> {
      let (a, b) = (sin(x), sqrt(x) + exp(x))
      return 3 * a * a + 5 * a * b + 4 * b * b
    }
    let forward = derivative(at: Tensor(1), of: f).scalar
    let reverse = gradient(at: Tensor(1), of: f).scalar
    #expect(relativeError(forward, 122.045158140265) <= 1e-9)  // published in the tutorial
    #expect(relativeError(forward, reverse) <= 1e-14)
    // The tutorial's intermediate tangents: f3'(1) = 3.21828182845905, f2'(1) = 0.54030230586814.
    #expect(
      relativeError(derivative(at: Tensor(1)) { sqrt($0) + exp($0) }.scalar, 3.21828182845905)
        <= 1e-12)
    #expect(relativeError(derivative(at: Tensor(1)) { sin($0) }.scalar, 0.54030230586814) <= 1e-12)
  }

  // MARK: Every op's tangent rule

  /// Each case: a name, input shapes, how to draw inputs, and the function.
  struct Case: CustomTestStringConvertible, Sendable {
    let name: String
    let shapes: [[Int]]
    var positive = false
    let f: @Sendable ([Tensor<Double>]) -> Tensor<Double>
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "add broadcast", shapes: [[4, 3], [3]]) { $0[0] + $0[1] },
    Case(name: "subtract broadcast", shapes: [[2, 1, 3], [4, 1]]) { $0[0] - $0[1] },
    Case(name: "multiply broadcast", shapes: [[4, 3], [1, 3]]) { $0[0] * $0[1] },
    Case(name: "divide", shapes: [[3, 2], [3, 2]], positive: true) { $0[0] / $0[1] },
    Case(name: "scalar mixing", shapes: [[5]]) { 3 * $0[0] * $0[0] - 0.1 * $0[0] + 1 },
    Case(name: "negate", shapes: [[2, 3]]) { -$0[0] },
    Case(name: "exp", shapes: [[2, 3]]) { exp($0[0]) },
    Case(name: "log", shapes: [[2, 3]], positive: true) { log($0[0]) },
    Case(name: "sqrt", shapes: [[2, 3]], positive: true) { sqrt($0[0]) },
    Case(name: "sin cos", shapes: [[6]]) { sin($0[0]) * cos($0[0]) },
    Case(name: "tanh", shapes: [[6]]) { tanh($0[0]) },
    // Scaled into tan's (−π/2, π/2) and asin's and acos's (−1, 1).
    Case(name: "tan asin acos atan", shapes: [[6]]) {
      tan($0[0] * 0.6) + asin($0[0] * 0.4) * acos($0[0] * 0.4) + atan($0[0])
    },
    Case(name: "sinh cosh", shapes: [[6]]) { sinh($0[0]) * cosh($0[0]) },
    Case(name: "atan2 broadcast", shapes: [[4, 3], [3]]) { atan2($0[0], $0[1]) },
    Case(name: "sigmoid", shapes: [[6]]) { sigmoid($0[0]) },
    Case(name: "relu abs", shapes: [[6]]) { relu($0[0]) + abs($0[0]) },
    Case(name: "squared", shapes: [[3, 2]]) { $0[0].squared() },
    Case(name: "pow tensor exponent", shapes: [[3], [3]], positive: true) { pow($0[0], $0[1]) },
    Case(name: "pow scalar exponent", shapes: [[4]]) { pow($0[0], 3) },
    Case(name: "max min", shapes: [[5], [5]]) { max($0[0], $0[1]) + 2 * min($0[0], $0[1]) },
    Case(name: "matmul", shapes: [[3, 4], [4, 2]]) { matmul($0[0], $0[1]) },
    Case(name: "matmul transposed", shapes: [[4, 3], [2, 4]]) {
      matmul($0[0], transposed: true, $0[1], transposed: true)
    },
    Case(name: "matmul of stacks, broadcast", shapes: [[2, 1, 3, 4], [3, 2, 4]]) {
      matmul($0[0], transposed: false, $0[1], transposed: true)
    },
    Case(name: "matmul of a stack and a matrix", shapes: [[2, 3, 4], [4, 2]]) {
      matmul($0[0], $0[1])
    },
    Case(name: "matmul of a vector and a stack", shapes: [[4], [2, 4, 3]]) {
      matmul($0[0], $0[1])
    },
    Case(name: "matmul plus bias of a stack", shapes: [[2, 3, 4], [4, 2], [2]]) {
      matmul($0[0], $0[1], plus: $0[2], activation: .tanh)
    },
    Case(name: "matmul plus bias", shapes: [[3, 4], [4, 2], [2]]) {
      matmul($0[0], $0[1], plus: $0[2])
    },
    Case(name: "matmul plus bias with each activation", shapes: [[3, 4], [4, 2], [2]]) { p in
      Activation.allCases.map { matmul(p[0], p[1], plus: p[2], activation: $0) }
        .reduce(Tensor(zeros: [3, 2]), +)
    },
    Case(name: "norm of each order", shapes: [[2, 3, 4]]) { p in
      p[0].norm(alongAxes: [1]) + p[0].norm(order: 1, alongAxes: [1])
        + p[0].norm(order: .infinity, alongAxes: [1]) + p[0].norm()
    },
    Case(name: "lowerTriangular and upperTriangular", shapes: [[2, 3, 4]]) { p in
      p[0].lowerTriangular(diagonal: 1) * p[0].upperTriangular(diagonal: -1)
    },
    Case(name: "sorted and topK", shapes: [[3, 4]]) { p in
      p[0].sorted(alongAxis: 0).values.sum(alongAxes: [0]) + p[0].topK(2).values.sum()
    },
    Case(name: "sum mean", shapes: [[2, 3, 4]]) {
      $0[0].sum(alongAxes: [0, 2]) + $0[0].mean(alongAxes: [0, 2]) + $0[0].sum()
    },
    Case(name: "max along axes", shapes: [[3, 4]]) { $0[0].max(alongAxes: [1]) },
    Case(name: "max min squeezing axes", shapes: [[3, 4]]) {
      $0[0].max(squeezingAxes: [1]) + $0[0].min(squeezingAxes: [-1])
    },
    Case(name: "squeeze unsqueeze", shapes: [[1, 3, 1]]) {
      $0[0].squeezed().unsqueezed(at: 0) + $0[0].squeezed(axes: [-1]) * 2
    },
    Case(name: "reshape transpose", shapes: [[2, 3, 4]]) {
      $0[0].reshaped(to: [6, 4]).transposed()
        + $0[0].transposed(permutation: [2, 0, 1]).reshaped(to: [4, 6])
    },
    Case(name: "expand", shapes: [[3, 1]]) { $0[0].expanded(to: [2, 3, 4]) },
    Case(name: "slice and concatenate", shapes: [[5, 3], [2, 3]]) {
      Tensor(concatenating: [$0[0][1..<4], $0[1]])
        * Tensor(concatenating: [$0[1], $0[0].sliced(alongAxis: 0, 0..<3)])
    },
    Case(name: "softmax logSoftmax", shapes: [[3, 5]]) {
      softmax($0[0]) + logSoftmax($0[0], alongAxis: 0)
    },
    Case(name: "product", shapes: [[3, 4]]) {
      $0[0].product(alongAxes: [1]) + $0[0].product(squeezingAxes: [0]).sum()
    },
    Case(name: "variance standardDeviation", shapes: [[3, 4]]) {
      $0[0].variance(alongAxes: [0]) + $0[0].standardDeviation(alongAxes: [0], correction: 1)
    },
    // The deviations that variances and the normalization layers build on.
    Case(name: "centered", shapes: [[3, 4]]) {
      $0[0].centered(alongAxes: [1]) * $0[0] + $0[0].centered(alongAxes: [0, 1])
    },
    Case(name: "logSumExp", shapes: [[3, 4]]) {
      $0[0].logSumExp(alongAxes: [1]) + $0[0].logSumExp()
    },
    Case(name: "cumulativeSum", shapes: [[3, 4]]) {
      $0[0].cumulativeSum(alongAxis: 1) * $0[0].cumulativeSum(alongAxis: -2)
    },
    Case(name: "min along axes", shapes: [[3, 4]]) { $0[0].min(alongAxes: [0]) },
    Case(name: "stack split chunked", shapes: [[2, 3], [2, 3]]) {
      let stacked = Tensor(stacking: [$0[0], $0[1]], alongAxis: 1)  // [2, 2, 3]
      let halves = stacked.split(into: 2, alongAxis: 0)
      let thirds = stacked.chunked(into: 3, alongAxis: 2)
      return halves[0] * halves[1] + thirds[0].sum() * thirds[2].mean()
    },
    Case(name: "flipped tiled repeated padded", shapes: [[2, 3]]) { p in
      let x = p[0]
      return x.flipped(alongAxes: [0, -1]).tiled([2, 1]) * x.repeated(2, alongAxis: 0)
        + x.repeated([0, 2, 1], alongAxis: 1).padded([(1, 1), (0, 0)], with: 3).tiled([1, 2])
        .sliced(alongAxis: 1, 0..<3)
    },
    Case(name: "gathering", shapes: [[4, 3]]) {
      $0[0].gathering(atIndices: [2, 0, -1, 2], alongAxis: 0)
        * $0[0].gathering(atIndices: [1, 1, 0], alongAxis: 1).sum()
    },
    Case(name: "clamp where", shapes: [[2, 5], [2, 5]]) {
      clamp($0[0], min: Tensor(-1), max: Tensor(1))
        + `where`($0[1] .> $0[0], $0[0] * $0[1], $0[1].squared())
    },
    Case(name: "gelu silu leakyRelu elu", shapes: [[6]]) {
      gelu($0[0]) + gelu($0[0], approximation: .tanh) + silu($0[0])
        + leakyRelu($0[0]) + elu($0[0])
    },
  ]

  @Test(
    "Each op's tangent matches central finite differences and is the adjoint of its pullback",
    arguments: cases)
  func tangentRule(_ testCase: Case) {
    var rng = SeededGenerator(seed: 11)
    let inputs = testCase.shapes.map { shape in
      testCase.positive
        ? Tensor<Double>(randomUniform: shape, in: 0.5..<2, using: &rng)
        : Tensor<Double>(randomUniform: shape, in: -2..<2, using: &rng)
    }
    let directions = testCase.shapes.map { Tensor<Double>(randomNormal: $0, using: &rng) }
    let tape = Tape()
    let watched = inputs.map { tape.watch($0) }
    let y = testCase.f(watched)
    let tangent = tape.tangent(of: y, wrt: watched, along: directions)
    #expect(tangent.shape == y.shape)

    // Central differences along the direction: (f(x + hv) − f(x − hv)) / 2h.
    let h = 1e-6
    let plus = testCase.f(zip(inputs, directions).map { $0 + h * $1 })
    let minus = testCase.f(zip(inputs, directions).map { $0 - h * $1 })
    let numeric = (plus - minus) / (2 * h)
    #expect(
      tangent.isAlmostEqual(to: numeric, relativeTolerance: 1e-6, absoluteTolerance: 1e-7),
      "\(testCase.name): tangent \(tangent) vs finite differences \(numeric)")

    // ⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩: forward and reverse mode agree.
    let u = Tensor<Double>(randomNormal: y.shape, using: &rng)
    let pulled = tape.gradient(of: y, wrt: watched, seed: u)
    let forward = (u * tangent).sum().scalar
    let reverse = zip(pulled, directions).map { ($0 * $1).sum().scalar }.reduce(0, +)
    #expect(abs(forward - reverse) <= 1e-10 * max(1, abs(forward)))
  }

  @Test("jvp and valueWithDifferential give the value and J·v; the differential is linear")
  func functionalForms() {
    let x = Tensor<Double>(shape: [3], scalars: [0.5, -1, 2])
    let v = Tensor<Double>(shape: [3], scalars: [1, 2, -1])
    let (value, tangent) = jvp(at: x, tangent: v) { x in exp(x) * x }
    #expect(value.isAlmostEqual(to: exp(x) * x, relativeTolerance: 1e-15))
    // d/dx (x·eˣ) = (1 + x)·eˣ.
    #expect(tangent.isAlmostEqual(to: (1 + x) * exp(x) * v, relativeTolerance: 1e-14))
    let (_, differential) = valueWithDifferential(at: x) { x in sin(x).sum() }
    let (a, b) = (differential(v), differential(2 * v + x))
    #expect(relativeError(b.scalar, 2 * a.scalar + differential(x).scalar) <= 1e-14)
  }

  // MARK: Second derivatives

  /// A function, its second derivative in closed form, and where to evaluate them.
  struct SecondDerivativeCase: CustomTestStringConvertible, Sendable {
    let name: String
    let point: Double
    let f: @Sendable (Tensor<Double>) -> Tensor<Double>
    let second: @Sendable (Double) -> Double
    var testDescription: String { name }
  }

  static let secondDerivatives: [SecondDerivativeCase] = [
    .init(name: "sin", point: 0.7, f: { sin($0) }, second: { -Foundation.sin($0) }),
    .init(name: "exp", point: 0.3, f: { exp($0) }, second: { Foundation.exp($0) }),
    .init(name: "log", point: 1.7, f: { log($0) }, second: { -1 / ($0 * $0) }),
    .init(
      name: "sigmoid", point: 0.4, f: { sigmoid($0) },
      second: { x in
        let s = 1 / (1 + Foundation.exp(-x))
        return s * (1 - s) * (1 - 2 * s)
      }),
    .init(
      name: "tanh", point: -0.6, f: { tanh($0) },
      second: { x in
        let t = Foundation.tanh(x)
        return -2 * t * (1 - t * t)
      }),
    .init(
      name: "tan", point: 0.9, f: { tan($0) },
      second: { x in
        let t = Foundation.tan(x)
        return 2 * t * (1 + t * t)
      }),
    .init(
      name: "atan2 in y, x = −1.5", point: 0.7, f: { atan2($0, -1.5) },
      second: { y in -2 * -1.5 * y / ((2.25 + y * y) * (2.25 + y * y)) }),
    .init(name: "x³", point: 1.3, f: { $0 * $0 * $0 }, second: { 6 * $0 }),
    .init(
      name: "xʸ in x, y = 2.5", point: 1.9, f: { pow($0, 2.5) },
      second: { 2.5 * 1.5 * Foundation.pow($0, 0.5) }),
    .init(
      name: "xʸ in y, x = 3", point: 0.8, f: { pow(3, $0) },
      second: { Foundation.pow(3, $0) * Foundation.log(3) * Foundation.log(3) }),
  ]

  @Test(
    "d²/dx² agrees with the closed form in all four nestings of forward and reverse mode",
    arguments: secondDerivatives)
  func secondDerivative(_ testCase: SecondDerivativeCase) {
    let x = Tensor<Double>(testCase.point)
    let expected = testCase.second(testCase.point)
    let f = testCase.f
    let forwardOverForward = derivative(at: x) { derivative(at: $0, of: f) }.scalar
    let forwardOverReverse = derivative(at: x) { gradient(at: $0, of: f) }.scalar
    let reverseOverForward = gradient(at: x) { derivative(at: $0, of: f) }.scalar
    let reverseOverReverse = gradient(at: x) { gradient(at: $0, of: f) }.scalar
    let viaHessian = hessian(at: x, of: f).scalar
    for (mode, value) in [
      ("forward over forward", forwardOverForward), ("forward over reverse", forwardOverReverse),
      ("reverse over forward", reverseOverForward), ("reverse over reverse", reverseOverReverse),
      ("hessian", viaHessian),
    ] {
      #expect(
        relativeError(value, expected) <= 1e-12,
        "\(testCase.name), \(mode): \(value) vs \(expected)")
    }
  }

  // MARK: Hessians and Jacobians

  /// The loss of a small 3-4-2 network with tanh, as a function of all its weights flattened.
  static func mlpLoss(_ w: Tensor<Double>) -> Tensor<Double> {
    let x = Tensor<Double>(shape: [5, 3], scalars: (0..<15).map { Double($0 % 7) / 7 - 0.4 })
    let labels = Tensor<Double>(shape: [5, 2], scalars: [1, 0, 0, 1, 1, 0, 0, 1, 1, 0])
    let w1 = w[0..<12].reshaped(to: [3, 4])
    let b1 = w[12..<16]
    let w2 = w[16..<24].reshaped(to: [4, 2])
    let hidden = tanh(matmul(x, w1) + b1)
    let logits = matmul(hidden, w2)
    return -(labels * logSoftmax(logits)).sum() / 5
  }

  @Test("The Hessian of an MLP loss matches finite differences of its gradient and is symmetric")
  func mlpHessian() {
    var rng = SeededGenerator(seed: 3)
    let w = Tensor<Double>(randomNormal: [24], standardDeviation: 0.5, using: &rng)
    let h = hessian(at: w, of: Self.mlpLoss)
    #expect(h.shape == [24, 24])
    let step = 1e-5
    var numeric = [Double]()
    for j in 0..<24 {
      var e = [Double](repeating: 0, count: 24)
      e[j] = step
      let shift = Tensor(shape: [24], scalars: e)
      let column =
        (gradient(at: w + shift, of: Self.mlpLoss) - gradient(at: w - shift, of: Self.mlpLoss))
        / (2 * step)
      numeric += column.scalars
    }
    // Column j of the numeric matrix is H·e_j, so it is transposed against h's row-major layout.
    let numericH = Tensor(shape: [24, 24], scalars: numeric).transposed()
    #expect(h.isAlmostEqual(to: numericH, relativeTolerance: 1e-6, absoluteTolerance: 1e-8))
    #expect(h.isAlmostEqual(to: h.transposed(), relativeTolerance: 1e-12, absoluteTolerance: 1e-14))
  }

  @Test("A Hessian-vector product equals the full Hessian times the vector")
  func hessianVectorProductMatchesHessian() {
    var rng = SeededGenerator(seed: 5)
    let w = Tensor<Double>(randomNormal: [24], standardDeviation: 0.5, using: &rng)
    let v = Tensor<Double>(randomNormal: [24], using: &rng)
    let hv = hessianVectorProduct(at: w, direction: v, of: Self.mlpLoss)
    let full = matmul(hessian(at: w, of: Self.mlpLoss), v.reshaped(to: [24, 1])).reshaped(to: [24])
    #expect(hv.isAlmostEqual(to: full, relativeTolerance: 1e-10, absoluteTolerance: 1e-13))
  }

  @Test("The Hessian-vector product over several tensors equals the one over their concatenation")
  func hessianVectorProductOverParameterList() {
    var rng = SeededGenerator(seed: 6)
    let w = Tensor<Double>(randomNormal: [24], standardDeviation: 0.5, using: &rng)
    let v = Tensor<Double>(randomNormal: [24], using: &rng)
    let ranges = [0..<12, 12..<16, 16..<24]
    let pieces = ranges.map { w[$0] }
    let directions = ranges.map { v[$0] }
    let hv = hessianVectorProduct(at: pieces, directions: directions) { pieces in
      Self.mlpLoss(Tensor(concatenating: pieces))
    }
    let flat = hessianVectorProduct(at: w, direction: v, of: Self.mlpLoss)
    #expect(
      Tensor(concatenating: hv).isAlmostEqual(
        to: flat, relativeTolerance: 1e-12, absoluteTolerance: 1e-15))
  }

  @Test(
    "The Jacobians of matmul and softmax match finite differences, in both sweep directions",
    arguments: [[2, 3], [5, 2]])
  func jacobians(shape: [Int]) {
    var rng = SeededGenerator(seed: 9)
    let x = Tensor<Double>(randomNormal: shape, using: &rng)
    let wide = Tensor<Double>(randomNormal: [shape[1], 6], using: &rng)
    let narrow = Tensor<Double>(randomNormal: [shape[1], 1], using: &rng)
    // matmul by a wide matrix has more outputs than inputs (forward columns), by a narrow one
    // fewer (reverse rows); softmax keeps the count (reverse rows).
    for (name, f) in [
      ("matmul wide", { (x: Tensor<Double>) in matmul(x, wide) }),
      ("matmul narrow", { (x: Tensor<Double>) in matmul(x, narrow) }),
      ("softmax", { (x: Tensor<Double>) in softmax(x) }),
    ] {
      let j = jacobian(at: x, of: f)
      let y = f(x)
      #expect(j.shape == y.shape + x.shape, "\(name)")
      let n = x.scalarCount
      var columns = [Tensor<Double>]()
      for index in 0..<n {
        var e = [Double](repeating: 0, count: n)
        e[index] = 1e-6
        let shift = Tensor(shape: x.shape, scalars: e)
        columns.append(((f(x + shift) - f(x - shift)) / 2e-6).reshaped(to: [y.scalarCount, 1]))
      }
      let numeric = Tensor(concatenating: columns, alongAxis: 1).reshaped(to: y.shape + x.shape)
      #expect(
        j.isAlmostEqual(to: numeric, relativeTolerance: 1e-6, absoluteTolerance: 1e-8), "\(name)")
    }
  }

  @Test("Newton's method on a smooth convex function converges in a handful of steps")
  func newtonsMethod() {
    // f(x) = Σ exp(xᵢ) − Σ bᵢxᵢ + ½‖x‖², minimized where exp(xᵢ) + xᵢ = bᵢ.
    let b = Tensor<Double>(shape: [3], scalars: [2, 1, 4])
    func f(_ x: Tensor<Double>) -> Tensor<Double> { (exp(x) - b * x + 0.5 * x.squared()).sum() }
    var x = Tensor<Double>(zeros: [3])
    var steps = 0
    while gradient(at: x, of: f).squared().sum().scalar.squareRoot() > 1e-12 && steps < 20 {
      let g = gradient(at: x, of: f)
      let h = hessian(at: x, of: f)  // diagonal here: exp(xᵢ) + 1
      let diagonal = Tensor(shape: [3], scalars: (0..<3).map { h.scalars[$0 * 4] })
      x -= g / diagonal
      steps += 1
    }
    #expect(steps <= 6)
    #expect((exp(x) + x).isAlmostEqual(to: b, relativeTolerance: 1e-12))
  }
}

@Suite struct ForwardModePreconditionTests {
  @Test func operationWithoutTangentRuleNamesItself() async {
    await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = jvp(at: Tensor<Double>(1), tangent: Tensor(1)) { x in
        customOperation("myKernel", operands: [x]) {
          $0[0] * 2
        } pullback: { g, _, _ in
          [2 * g]
        }
      }
    }.map { result in
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(message.contains("'myKernel' has no tangent rule"))
      #expect(message.contains("ForwardModeTests.swift"))
    }
  }

  @Test func derivativeOfNonScalar() async {
    await #expect(processExitsWith: .failure) {
      _ = derivative(at: Tensor<Double>(zeros: [2])) { $0 }
    }
  }
}

private func relativeError(_ value: Double, _ expected: Double) -> Double {
  abs(value - expected) / max(abs(expected), 1e-300)
}
