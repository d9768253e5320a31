import Autodiff
import Testing

/// The worked examples of the backpropagation tutorials Autodiff grew from, each checked against
/// the figure the tutorial published (to a relative error of 1e-9 unless it says otherwise).
@Suite struct SeedExampleTests {
  typealias T = Tensor<Double>

  // MARK: Scalar compositions

  @Test(
    "f1(sin x, √x + eˣ) with f1(x, y) = 3x² + 5xy + 4y² has the published f'(1), f2'(1), f3'(1)")
  func compositeOfOneVariable() {
    let tape = Tape()
    let x = tape.watch(T(1))
    let u = sin(x)  // f2
    let v = sqrt(x) + exp(x)  // f3
    let f = 3 * u * u + 5 * u * v + 4 * v * v  // f1(f2(x), f3(x))

    expectClose(tape.gradient(of: f, wrt: [x])[0], 122.045158140265)
    expectClose(tape.gradient(of: u, wrt: [x])[0], 0.54030230586814)
    expectClose(tape.gradient(of: v, wrt: [x])[0], 3.21828182845905)
  }

  @Test(
    "sin(π·f2(x1, f2(x2, x1))) + cos(π·log x1) with f2 = pow has the published values at (2, 3)")
  func compositeOfPowers() {
    let tape = Tape()
    let x1 = tape.watch(T(2))
    let x2 = tape.watch(T(3))
    let inner = pow(x2, x1)  // f2(x2, x1) = 3² = 9
    let outer = pow(x1, inner)  // f2(x1, 9) = 2⁹ = 512
    let logarithm = log(x1)  // f3(x1) = log 2
    let f = sin(Double.pi * outer) + cos(Double.pi * logarithm)
    let (d1, d2) = tape.gradient(of: f, wrt: x1, x2)

    expectClose(inner, 9)
    expectClose(outer, 512)
    expectClose(logarithm, 0.693147180559945)
    expectClose(d1, 18260.7627311899)
    // Published to 6 decimals only, so compared to half a unit of the last published digit.
    #expect((d2.scalar - 6689.544469).magnitude <= 1e-6, "∂f/∂x2 = \(d2.scalar)")
  }

  @Test("f2(x1, x2)·f3(x1, x2) with f2 = cos(πx)/sin x, f3 = log(x)/y has the published gradient")
  func productOfQuotients() {
    func f1(_ x: T, _ y: T) -> T { x * y }
    // The tutorial's f2 reads only its first argument.
    func f2(_ x: T, _ y: T) -> T { cos(Double.pi * x) / sin(x) }
    func f3(_ x: T, _ y: T) -> T { log(x) / y }

    let (d1, d2) = gradient(at: T(2), T(3)) { x1, x2 in f1(f2(x1, x2), f3(x1, x2)) }
    expectClose(d1, 0.299580760323820)
    expectClose(d2, -0.0846987477622259)
  }

  @Test("x³ at 2 is 8 with derivative 3·2² = 12")
  func cube() {
    let (value, derivative) = valueWithGradient(at: T(2)) { x in x * x * x }
    expectClose(value, 8)
    expectClose(derivative, 12)
  }

  // MARK: Graphs of nodes, intermediate gradients included

  @Test("5·(a·b) at a = 2, b = 3 is 30 with gradients 1, 5, 15, 10 for f, a·b, a, b")
  func scaledProduct() {
    let tape = Tape()
    let a = tape.watch(T(2))
    let b = tape.watch(T(3))
    let product = a * b
    let f = 5 * product
    let g = tape.gradient(of: f, wrt: [f, product, a, b])

    expectClose(f, 30)
    expectClose(g[0], 1)
    expectClose(g[1], 5)
    expectClose(g[2], 15)
    expectClose(g[3], 10)
  }

  enum Squaring: String, CaseIterable, Sendable {
    case product = "h * h"
    case method = "h.squared()"

    func callAsFunction(_ h: T) -> T {
      switch self {
      case .product: h * h
      case .method: h.squared()
      }
    }
  }

  @Test(
    "o = (xy·yz)² at (3, 2, 1) has gradients 24, 48, 144, 96, 288, 288 for h, h1, h2, x, y, z",
    arguments: Squaring.allCases)
  func diamond(square: Squaring) {
    let tape = Tape()
    let x = tape.watch(T(3))
    let y = tape.watch(T(2))
    let z = tape.watch(T(1))
    let h1 = x * y
    let h2 = y * z
    let h = h1 * h2
    let o = square(h)
    let g = tape.gradient(of: o, wrt: [h, h1, h2, x, y, z])

    expectClose(o, 144)  // (3·2 · 2·1)²
    for (gradient, expected) in zip(g, [24.0, 48, 144, 96, 288, 288]) {
      expectClose(gradient, expected)
    }
  }

  @Test("The sigmoid neuron with squared error has the published forward values and gradients")
  func sigmoidNeuronWithSquaredError() {
    let tape = Tape()
    let x1 = tape.watch(T(2))
    let w1 = tape.watch(T(0.4))
    let x2 = tape.watch(T(3))
    let w2 = tape.watch(T(-0.2))
    let target = tape.watch(T(1))
    let h1 = x1 * w1
    let h2 = x2 * w2
    let h = h1 + h2
    let y = sigmoid(h)
    let e = y - target
    let loss = e.squared()

    expectClose(h1, 0.8)
    expectClose(h2, -0.6000000000000001)
    expectClose(h, 0.19999999999999996)
    expectClose(y, 0.5498339973124778)
    expectClose(e, -0.45016600268752216)
    expectClose(loss, 0.2026494299756622)

    let g = tape.gradient(of: loss, wrt: [e, y, h, w1, w2, x1, x2, target])
    expectClose(g[0], -0.9003320053750443)
    expectClose(g[1], -0.9003320053750443)
    expectClose(g[2], -0.22284709227322685)
    expectClose(g[3], -0.4456941845464537)
    expectClose(g[4], -0.6685412768196806)
    expectClose(g[5], -0.08913883690929075)
    expectClose(g[6], 0.044569418454645376)
    expectClose(g[7], 0.9003320053750443)
  }

  @Test("(w0 + w1·x − y)² at x = 3, y = 7, w0 = −2, w1 = 2 has the published gradients")
  func squaredErrorOfLine() {
    let tape = Tape()
    let x = tape.watch(T(3))
    let y = tape.watch(T(7))
    let w0 = tape.watch(T(-2))
    let w1 = tape.watch(T(2))
    let b = w0 + w1 * x
    let c = b - y
    let f = c.squared()
    let g = tape.gradient(of: f, wrt: [w0, w1, c, y])

    expectClose(c, -3)
    expectClose(g[0], -6)
    expectClose(g[1], -18)
    expectClose(g[2], -6)
    expectClose(g[3], 6)
  }

  @Test("(x + σ(y)) / (σ(x) + (x + y)²) at (2, −4) has the published gradient")
  func sigmoidQuotient() {
    let (dx, dy) = gradient(at: T(2), T(-4)) { x, y in
      (x + sigmoid(y)) / (sigmoid(x) + (x + y).squared())
    }
    expectClose(dx, 0.5348320870757595)
    expectClose(dy, 0.342460382923052)
  }

  @Test("50 steps of gradient descent on x² + y² + 400x + 8y from (0, 0) reach the published point")
  func gradientDescent() {
    var x = T(0)
    var y = T(0)
    for _ in 0..<50 {
      let (dx, dy) = gradient(at: x, y) { x, y in x.squared() + y.squared() + 400 * x + 8 * y }
      x -= 0.1 * dx
      y -= 0.1 * dy
    }
    expectClose(x, -199.9971455046146)
    expectClose(y, -3.9999429100922916)
  }

  @Test("(x + y)·z at (−2, 5, −4) has gradients −4, −4, 3")
  func sumTimesFactor() {
    let (dx, dy, dz) = gradient(at: T(-2), T(5), T(-4)) { x, y, z in (x + y) * z }
    expectClose(dx, -4)
    expectClose(dy, -4)
    expectClose(dz, 3)
  }

  static let neuronWeightGradient = [
    -0.19661193324148185, -0.3932238664829637, 0.19661193324148185,
  ]
  static let neuronInputGradient = [0.3932238664829637, -0.5898357997244456]

  @Test("σ(w0·x0 + w1·x1 + w2) in scalar tensors has the published gradients")
  func sigmoidNeuronOfScalars() {
    let g = gradient(at: [T(2), T(-3), T(-3), T(-1), T(-2)]) { v in
      let (w0, w1, w2, x0, x1) = (v[0], v[1], v[2], v[3], v[4])
      return sigmoid(w0 * x0 + w1 * x1 + w2)
    }
    for (gradient, expected) in zip(g, Self.neuronWeightGradient + Self.neuronInputGradient) {
      expectClose(gradient, expected)
    }
  }

  @Test("σ(Σ w·[x, 1]) with w and x as vectors has the published gradients")
  func sigmoidNeuronVectorized() {
    let (dw, dx) = gradient(at: T([2, -3, -3]), T([-1, -2])) { w, x in
      sigmoid((w * T(concatenating: [x, T([1])])).sum())
    }
    expectClose(dw, Self.neuronWeightGradient)
    expectClose(dx, Self.neuronInputGradient)
  }

  @Test("relu is max(x, 0) elementwise, with derivative 1 above 0 and 0 below and at 0")
  func reluNode() {
    // The tutorial's ReLU node used the sigmoid's derivative; these are relu's own.
    let x = T([-2.5, -0.0, 0, 0.5, 3])
    #expect(relu(x) == T([0, 0, 0, 0.5, 3]))
    #expect(gradient(at: x) { relu($0).sum() } == T([0, 0, 0, 1, 1]))
    #expect(gradient(at: T(0)) { relu($0) } == T(0))
    #expect(gradient(at: T(1e-300)) { relu($0) } == T(1))
    #expect(gradient(at: T(-1e-300)) { relu($0) } == T(0))
  }

  // MARK: Vectorized backpropagation

  @Test("D = W·X with seed dD gives dW = dD·Xᵀ and dX = Wᵀ·dD, as naive loops compute them")
  func matrixProductGradient() {
    var rng = SeededGenerator(seed: 2024)
    let w = T(randomNormal: [5, 10], using: &rng)
    let x = T(randomNormal: [10, 3], using: &rng)
    let dD = T(randomNormal: [5, 3], using: &rng)
    let tape = Tape()
    let (tw, tx) = (tape.watch(w), tape.watch(x))
    let (dW, dX) = tape.gradient(of: matmul(tw, tx), wrt: tw, tx, seed: dD)

    let (ws, xs, ds) = (w.scalars, x.scalars, dD.scalars)
    var expectedW = [Double](repeating: 0, count: 5 * 10)  // dW[i][k] = Σⱼ dD[i][j]·X[k][j]
    for i in 0..<5 {
      for k in 0..<10 {
        for j in 0..<3 { expectedW[i * 10 + k] += ds[i * 3 + j] * xs[k * 3 + j] }
      }
    }
    var expectedX = [Double](repeating: 0, count: 10 * 3)  // dX[k][j] = Σᵢ W[i][k]·dD[i][j]
    for k in 0..<10 {
      for j in 0..<3 {
        for i in 0..<5 { expectedX[k * 3 + j] += ws[i * 10 + k] * ds[i * 3 + j] }
      }
    }
    #expect(dW.isAlmostEqual(to: T(shape: [5, 10], scalars: expectedW), relativeTolerance: 1e-12))
    #expect(dX.isAlmostEqual(to: T(shape: [10, 3], scalars: expectedX), relativeTolerance: 1e-12))
  }

  // MARK: Helpers

  /// Records an issue unless the one element of `actual` is within `relativeTolerance` of
  /// `expected`, relative to `|expected|` (absolute when `expected` is 0).
  private func expectClose(
    _ actual: T, _ expected: Double, relativeTolerance: Double = 1e-9,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    expectClose(
      actual, [expected], relativeTolerance: relativeTolerance, sourceLocation: sourceLocation)
  }

  /// Records an issue unless `actual` has `expected.count` elements, each within
  /// `relativeTolerance` of the expected one, relative to its magnitude.
  private func expectClose(
    _ actual: T, _ expected: [Double], relativeTolerance: Double = 1e-9,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    let values = actual.scalars
    guard values.count == expected.count else {
      Issue.record(
        "\(values.count) elements, expected \(expected.count)", sourceLocation: sourceLocation)
      return
    }
    for (value, target) in zip(values, expected) {
      let error = (value - target).magnitude / (target == 0 ? 1 : target.magnitude)
      #expect(
        error <= relativeTolerance, "\(value) is not \(target): relative error \(error)",
        sourceLocation: sourceLocation)
    }
  }
}
