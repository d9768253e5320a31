import Autodiff
import Testing

/// `matmul` and its pullback against the textbook triple loop, in every transpose combination.
///
/// A BLAS product may sum in any order, so an element is compared within the classic bound for a
/// dot product of length k: `|c − ĉ| ≤ γ·Σₚ |aᵢₚ|·|bₚⱼ|` with `γ = 2·k·ε` (twice the textbook
/// `k·u`, u = ε/2, for the final rounding and headroom). A zero-size sum must give exactly 0.
@Suite struct MatmulTests {
  /// The sizes of a product `[m, k]·[k, n]` before any transpose flag is applied.
  struct Dimensions: Sendable, CustomTestStringConvertible {
    let m: Int
    let k: Int
    let n: Int
    var testDescription: String { "[\(m), \(k)]·[\(k), \(n)]" }
  }

  /// Which operands `matmul` is asked to transpose.
  struct Flags: Sendable, CustomTestStringConvertible {
    let a: Bool
    let b: Bool
    var testDescription: String { "op(a) = \(a ? "aᵀ" : "a"), op(b) = \(b ? "bᵀ" : "b")" }
    static let all = [false, true].flatMap { a in [false, true].map { b in Flags(a: a, b: b) } }
  }

  static let dimensions = [
    Dimensions(m: 1, k: 1, n: 1),
    Dimensions(m: 1, k: 6, n: 5),  // 1×n result
    Dimensions(m: 5, k: 6, n: 1),  // n×1 result
    Dimensions(m: 1, k: 7, n: 1),  // dot product
    Dimensions(m: 4, k: 1, n: 3),  // outer product
    Dimensions(m: 3, k: 5, n: 4),
    Dimensions(m: 7, k: 2, n: 6),
    Dimensions(m: 37, k: 65, n: 19),  // large enough for gemm's blocked paths
    Dimensions(m: 3, k: 0, n: 4),  // empty sum: all zeros
    Dimensions(m: 0, k: 3, n: 4),  // empty result
  ]

  // MARK: Forward

  @Test("Float matmul equals the naive triple loop", arguments: dimensions, Flags.all)
  func productFloat(dimensions: Dimensions, flags: Flags) {
    checkProduct(Float.self, dimensions, flags)
  }

  @Test("Double matmul equals the naive triple loop", arguments: dimensions, Flags.all)
  func productDouble(dimensions: Dimensions, flags: Flags) {
    checkProduct(Double.self, dimensions, flags)
  }

  @Test("A zero-size inner dimension gives a matrix of zeros", arguments: Flags.all)
  func emptyInnerDimension(flags: Flags) {
    let a = Tensor<Double>(zeros: flags.a ? [0, 3] : [3, 0])
    let b = Tensor<Double>(zeros: flags.b ? [4, 0] : [0, 4])
    #expect(matmul(a, transposed: flags.a, b, transposed: flags.b) == Tensor(zeros: [3, 4]))
  }

  @Test("A small product has the value worked out by hand")
  func handWorkedProduct() {
    // [[1, 2, 3], [4, 5, 6]]·[[7, 8], [9, 10], [11, 12]] = [[58, 64], [139, 154]].
    let a = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let b = Tensor<Double>(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
    #expect(matmul(a, b) == Tensor(shape: [2, 2], scalars: [58, 64, 139, 154]))
    #expect(
      matmul(b, transposed: true, a, transposed: true)
        == Tensor(shape: [2, 2], scalars: [58, 139, 64, 154]))
  }

  private func checkProduct<Scalar: TensorScalar>(
    _: Scalar.Type, _ d: Dimensions, _ flags: Flags
  ) {
    var rng = SeededGenerator(seed: UInt64(d.m * 10_000 + d.k * 100 + d.n))
    let a = Tensor<Scalar>(randomNormal: flags.a ? [d.k, d.m] : [d.m, d.k], using: &rng)
    let b = Tensor<Scalar>(randomNormal: flags.b ? [d.n, d.k] : [d.k, d.n], using: &rng)
    let c = matmul(a, transposed: flags.a, b, transposed: flags.b)
    let expected = Naive(a).transposed(flags.a).times(Naive(b).transposed(flags.b))
    expectMatches(c, expected)
  }

  // MARK: Pullback

  @Test(
    "The gradients of op(A)·op(B) are dC·op(B)ᵀ and op(A)ᵀ·dC, transposed back when flagged",
    arguments: [
      dimensions[0], dimensions[1], dimensions[2], dimensions[4], dimensions[5],
      dimensions[7], dimensions[8],
    ], Flags.all)
  func productGradient(dimensions d: Dimensions, flags: Flags) {
    var rng = SeededGenerator(seed: UInt64(d.m * 10_000 + d.k * 100 + d.n) + 1)
    let a = Tensor<Double>(randomNormal: flags.a ? [d.k, d.m] : [d.m, d.k], using: &rng)
    let b = Tensor<Double>(randomNormal: flags.b ? [d.n, d.k] : [d.k, d.n], using: &rng)
    let dC = Tensor<Double>(randomNormal: [d.m, d.n], using: &rng)
    let tape = Tape()
    let (ta, tb) = (tape.watch(a), tape.watch(b))
    let c = matmul(ta, transposed: flags.a, tb, transposed: flags.b)
    let (dA, dB) = tape.gradient(of: c, wrt: ta, tb, seed: dC)

    let (opA, opB, seed) = (Naive(a).transposed(flags.a), Naive(b).transposed(flags.b), Naive(dC))
    expectMatches(dA, seed.times(opB.transposed(true)).transposed(flags.a))
    expectMatches(dB, opA.transposed(true).times(seed).transposed(flags.b))
  }

  // MARK: Product plus bias

  @Test(
    "matmul(a, b, plus: bias) equals the naive product plus the bias in every row",
    arguments: [dimensions[0], dimensions[5], dimensions[7], dimensions[8], dimensions[9]])
  func productPlusBias(dimensions d: Dimensions) {
    var rng = SeededGenerator(seed: UInt64(d.m * 10_000 + d.k * 100 + d.n) + 7)
    let a = Tensor<Double>(randomNormal: [d.m, d.k], using: &rng)
    let b = Tensor<Double>(randomNormal: [d.k, d.n], using: &rng)
    let bias = Tensor<Double>(randomNormal: [d.n], using: &rng)
    // gemm adds the product into rows holding the bias: the product's bound, with |bias| one
    // more term of each sum.
    let rows = Naive(bias.expanded(to: [d.m, d.n]))
    expectMatches(matmul(a, b, plus: bias), Naive(a).times(Naive(b)).plus(rows))
  }

  @Test(
    "The gradients of a·b + bias match finite differences, the bias's being dC's row sum",
    arguments: [dimensions[0], dimensions[1], dimensions[5], dimensions[7]])
  func productPlusBiasGradient(dimensions d: Dimensions) {
    var rng = SeededGenerator(seed: UInt64(d.m * 10_000 + d.k * 100 + d.n) + 8)
    let a = Tensor<Double>(randomNormal: [d.m, d.k], using: &rng)
    let b = Tensor<Double>(randomNormal: [d.k, d.n], using: &rng)
    let bias = Tensor<Double>(randomNormal: [d.n], using: &rng)
    expectGradientsMatchFiniteDifferences(at: [a, b, bias]) { matmul($0[0], $0[1], plus: $0[2]) }
  }

  @Test("A bias used twice gets both row sums; its gradient adds to one it already had")
  func productPlusBiasAccumulates() {
    var rng = SeededGenerator(seed: 13)
    let a = Tensor<Double>(randomNormal: [5, 3], using: &rng)
    let b = Tensor<Double>(randomNormal: [3, 4], using: &rng)
    let bias = Tensor<Double>(randomNormal: [4], using: &rng)
    expectGradientsMatchFiniteDifferences(at: [a, b, bias]) { p in
      matmul(p[0], p[1], plus: p[2]) * p[2] + matmul(p[0], p[1], plus: p[2]).squared()
    }
  }

  @Test("Second derivatives through a·b + bias equal those through matmul(a, b) + bias")
  func productPlusBiasSecondOrder() {
    let fused = Self.secondDerivatives { tanh(matmul($0, $1, plus: $2)).sum() }
    let separate = Self.secondDerivatives { tanh(matmul($0, $1) + $2).sum() }
    for (x, y) in zip(fused, separate) {
      #expect(x.isAlmostEqual(to: y, relativeTolerance: 1e-12, absoluteTolerance: 1e-12))
    }
  }

  /// The gradient of `Σₚ ‖∂loss/∂p‖²` with respect to p = (a, b, bias), through a recorded sweep,
  /// at fixed `a` [4, 3], `b` [3, 2] and `bias` [2]: second derivatives of `loss`.
  static func secondDerivatives(
    _ loss: (Tensor<Double>, Tensor<Double>, Tensor<Double>) -> Tensor<Double>
  ) -> [Tensor<Double>] {
    var rng = SeededGenerator(seed: 14)
    let tape = Tape()
    let (a, b, bias) = (
      tape.watch(Tensor<Double>(randomNormal: [4, 3], using: &rng)),
      tape.watch(Tensor<Double>(randomNormal: [3, 2], using: &rng)),
      tape.watch(Tensor<Double>(randomNormal: [2], using: &rng))
    )
    let first = tape.gradient(of: loss(a, b, bias), wrt: [a, b, bias], createGraph: true)
    let total = first.map { $0.squared().sum() }.reduce(Tensor(0), +)
    return tape.gradient(of: total, wrt: [a, b, bias])
  }

  // MARK: Product plus bias, then an activation

  @Test(
    "matmul(a, b, plus: bias, activation:) equals the activation of matmul(a, b, plus: bias), value and gradients, bit for bit",
    arguments: Activation.allCases, [dimensions[0], dimensions[5], dimensions[7], dimensions[9]])
  func fusedActivationMatchesSeparate(activation: Activation, dimensions d: Dimensions) {
    var rng = SeededGenerator(seed: UInt64(d.m * 10_000 + d.k * 100 + d.n) + 21)
    let a = Tensor<Float>(randomNormal: [d.m, d.k], using: &rng)
    let b = Tensor<Float>(randomNormal: [d.k, d.n], using: &rng)
    let bias = Tensor<Float>(randomNormal: [d.n], using: &rng)
    let upstream = Tensor<Float>(randomNormal: [d.m, d.n], using: &rng)
    func valueAndGradients(_ f: ([Tensor<Float>]) -> Tensor<Float>) -> [Tensor<Float>] {
      let (value, gradients) = valueWithGradient(at: [a, b, bias]) { (f($0) * upstream).sum() }
      return [f([a, b, bias]), value] + gradients
    }
    let fused = valueAndGradients { matmul($0[0], $0[1], plus: $0[2], activation: activation) }
    let separate = valueAndGradients { activation(matmul($0[0], $0[1], plus: $0[2])) }
    for (x, y) in zip(fused, separate) { #expect(x.scalars == y.scalars) }
  }

  @Test(
    "The gradients of activation(a·b + bias) match finite differences",
    arguments: Activation.allCases, [dimensions[1], dimensions[5], dimensions[7]])
  func fusedActivationGradient(activation: Activation, dimensions d: Dimensions) {
    var rng = SeededGenerator(seed: UInt64(d.m * 10_000 + d.k * 100 + d.n) + 22)
    let a = Tensor<Double>(randomNormal: [d.m, d.k], using: &rng)
    let b = Tensor<Double>(randomNormal: [d.k, d.n], using: &rng)
    // Relu's kink at 0 is where finite differences disagree: biases keep every sum away from it.
    let bias = Tensor<Double>(randomNormal: [d.n], using: &rng)
    let sums = matmul(a, b, plus: bias)
    guard activation != .relu || sums.scalars.allSatisfy({ Swift.abs($0) > 1e-3 }) else {
      Issue.record("a sum too close to relu's kink: choose another seed")
      return
    }
    expectGradientsMatchFiniteDifferences(at: [a, b, bias]) {
      matmul($0[0], $0[1], plus: $0[2], activation: activation)
    }
  }

  @Test("NaN and infinity go through the fused activation as through the separate one")
  func fusedActivationNonFinite() {
    let a = Tensor<Double>(shape: [2, 2], scalars: [.nan, 1, .infinity, -1])
    let b = Tensor<Double>(shape: [2, 2], scalars: [1, 0, 0, 1])
    let bias = Tensor<Double>([0, -.infinity])
    for activation in Activation.allCases {
      let fused = matmul(a, b, plus: bias, activation: activation).scalars
      let separate = activation(matmul(a, b, plus: bias)).scalars
      #expect(fused.map(\.bitPattern) == separate.map(\.bitPattern), "\(activation)")
    }
    for activation in Activation.allCases {
      let (_, fusedGradients) = valueWithGradient(at: [a, b, bias]) {
        matmul($0[0], $0[1], plus: $0[2], activation: activation).sum()
      }
      let (_, separateGradients) = valueWithGradient(at: [a, b, bias]) {
        activation(matmul($0[0], $0[1], plus: $0[2])).sum()
      }
      for (x, y) in zip(fusedGradients, separateGradients) {
        #expect(x.scalars.map(\.bitPattern) == y.scalars.map(\.bitPattern), "\(activation)")
      }
    }
  }

  @Test(
    "Second derivatives through the fused activation equal those through the separate one",
    arguments: Activation.allCases)
  func fusedActivationSecondOrder(activation: Activation) {
    let fused = Self.secondDerivatives {
      matmul($0, $1, plus: $2, activation: activation).squared().sum()
    }
    let separate = Self.secondDerivatives { activation(matmul($0, $1, plus: $2)).squared().sum() }
    for (x, y) in zip(fused, separate) {
      #expect(x.isAlmostEqual(to: y, relativeTolerance: 1e-12, absoluteTolerance: 1e-12))
    }
  }

  @Test("A weight in two products gets the sum of both products' gradients")
  func weightUsedTwice() {
    var rng = SeededGenerator(seed: 11)
    let w = Tensor<Double>(randomNormal: [4, 5], using: &rng)
    let x = Tensor<Double>(randomNormal: [5, 3], using: &rng)
    let z = Tensor<Double>(randomNormal: [3, 5], using: &rng)
    let dD = Tensor<Double>(randomNormal: [4, 3], using: &rng)
    let tape = Tape()
    let tw = tape.watch(w)
    // D = W·X + W·Zᵀ, so dW = dD·Xᵀ + dD·Z.
    let d =
      matmul(tw, tape.watch(x)) + matmul(tw, transposed: false, tape.watch(z), transposed: true)
    let dW = tape.gradient(of: d, wrt: [tw], seed: dD)[0]

    let seed = Naive(dD)
    expectMatches(dW, seed.times(Naive(x).transposed(true)).plus(seed.times(Naive(z))))
  }

  @Test("A matrix multiplied by itself gets dC·Wᵀ + Wᵀ·dC")
  func matrixSquared() {
    var rng = SeededGenerator(seed: 12)
    let w = Tensor<Double>(randomNormal: [6, 6], using: &rng)
    let dC = Tensor<Double>(randomNormal: [6, 6], using: &rng)
    let tape = Tape()
    let tw = tape.watch(w)
    let dW = tape.gradient(of: matmul(tw, tw), wrt: [tw], seed: dC)[0]

    let (naiveW, seed) = (Naive(w), Naive(dC))
    expectMatches(dW, seed.times(naiveW.transposed(true)).plus(naiveW.transposed(true).times(seed)))
  }

  @Test("A product's gradient adds to one that another operation already gave the weight")
  func productGradientAddsToOtherGradient() {
    var rng = SeededGenerator(seed: 13)
    let w = Tensor<Double>(randomNormal: [4, 5], using: &rng)
    let x = Tensor<Double>(randomNormal: [5, 3], using: &rng)
    // f = Σ W·X + Σ W², so dW = 1·Xᵀ + 2W (the sweep meets W² first: it comes later on the tape).
    let dW = gradient(at: w) { w in matmul(w, x).sum() + (w * w).sum() }

    let ones = Naive(Tensor<Double>(ones: [4, 3]))
    expectMatches(dW, ones.times(Naive(x).transposed(true)).plus(Naive(w).scaled(by: 2)))
  }

  // MARK: Helpers

  /// A row-major matrix of `Double` with the naive operations the tests compare against, and for
  /// each element the bound `Σ |terms|` of the sum that made it.
  struct Naive {
    var rows: Int
    var columns: Int
    var elements: [Double]
    var bounds: [Double]
    /// The length of the sums behind the elements (0 for data).
    var inner = 0

    init<Scalar>(_ tensor: Tensor<Scalar>) {
      precondition(tensor.rank == 2)
      rows = tensor.shape[0]
      columns = tensor.shape[1]
      elements = tensor.scalars.map(Double.init)
      bounds = elements.map(\.magnitude)
    }

    subscript(i: Int, j: Int) -> Double { elements[i * columns + j] }

    /// The transpose when `transpose`, else `self`.
    func transposed(_ transpose: Bool) -> Naive {
      guard transpose else { return self }
      var result = self
      (result.rows, result.columns) = (columns, rows)
      for i in 0..<rows {
        for j in 0..<columns {
          result.elements[j * rows + i] = elements[i * columns + j]
          result.bounds[j * rows + i] = bounds[i * columns + j]
        }
      }
      return result
    }

    /// `self·other`: `cᵢⱼ = Σₚ aᵢₚ·bₚⱼ`, one element at a time.
    func times(_ other: Naive) -> Naive {
      precondition(columns == other.rows)
      var result = self
      result.columns = other.columns
      result.inner = columns
      result.elements = Array(repeating: 0, count: rows * other.columns)
      result.bounds = result.elements
      for i in 0..<rows {
        for j in 0..<other.columns {
          for p in 0..<columns {
            result.elements[i * other.columns + j] += self[i, p] * other[p, j]
            result.bounds[i * other.columns + j] += (self[i, p] * other[p, j]).magnitude
          }
        }
      }
      return result
    }

    func plus(_ other: Naive) -> Naive {
      precondition(rows == other.rows && columns == other.columns)
      var result = self
      result.inner = inner + other.inner
      result.elements = zip(elements, other.elements).map(+)
      result.bounds = zip(bounds, other.bounds).map(+)
      return result
    }

    func scaled(by factor: Double) -> Naive {
      var result = self
      result.elements = elements.map { $0 * factor }
      result.bounds = bounds.map { $0 * factor.magnitude }
      return result
    }
  }

  /// Records an issue unless `actual` has `expected`'s shape and each element lies within
  /// `2·(inner + 1)·ε·bound` of the naive value (exactly on it for an empty sum).
  private func expectMatches<Scalar>(
    _ actual: Tensor<Scalar>, _ expected: Naive,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    guard actual.shape == [expected.rows, expected.columns] else {
      Issue.record(
        "shape \(actual.shape), expected \([expected.rows, expected.columns])",
        sourceLocation: sourceLocation)
      return
    }
    let gamma = Double(2 * (expected.inner + 1)) * Double(Scalar.ulpOfOne)
    for (index, value) in actual.scalars.enumerated() {
      let error = (Double(value) - expected.elements[index]).magnitude
      let allowed = gamma * expected.bounds[index]
      #expect(
        error <= allowed,
        "element \(index): \(value), expected \(expected.elements[index]) (error \(error) > \(allowed))",
        sourceLocation: sourceLocation)
    }
  }
}
