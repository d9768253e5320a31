// The conventions of the elementwise functions built on the table of primitives, where the
// table-driven and finite-difference tests do not reach: derivatives at kinks and jumps (PyTorch's
// choices), NaN and infinity, round's ties, where's broadcasting, the documented examples, and
// Float against Double.

import Autodiff
import Foundation
import Testing

@Suite struct SelectionAndActivationTests {
  @Test("The documented examples give the values their comments show")
  func documentedExamples() {
    let x = Tensor<Double>([-1, 0, 1])
    #expect(log1p(Tensor<Double>([1e-10, 0, 1])) == Tensor([9.999999999500001e-11, 0, M_LN2]))
    #expect(
      expm1(Tensor<Double>([1e-10, 0, -1])) == Tensor([1.00000000005e-10, 0, -0.6321205588285577]))
    #expect(
      erf(Tensor<Double>([-1, 0, 0.5])) == Tensor([-0.8427007929497149, 0, 0.5204998778130465]))
    #expect(gelu(x) == Tensor([-0.15865525393145702, 0, 0.841344746068543]))
    #expect(
      tan(Tensor<Double>([-1, 0, 1.5])) == Tensor([-1.5574077246549023, 0, 14.101419947171719]))
    #expect(
      asin(Tensor<Double>([-1, 0, 0.5])) == Tensor([-Double.pi / 2, 0, 0.5235987755982989]))
    #expect(
      acos(Tensor<Double>([-1, 0, 0.5])) == Tensor([Double.pi, Double.pi / 2, 1.0471975511965979]))
    #expect(atan(Tensor<Double>([-1, 0, 2])) == Tensor([-Double.pi / 4, 0, 1.1071487177940904]))
    #expect(sinh(Tensor<Double>([-1, 0, 1e-10])) == Tensor([-1.1752011936438014, 0, 1e-10]))
    #expect(
      cosh(Tensor<Double>([-1, 0, 2])) == Tensor([1.543080634815244, 1, 3.7621956910836314]))
    #expect(
      atan2(Tensor<Double>([1, 1, -1, 0]), Tensor<Double>([1, -1, -1, -1]))
        == Tensor([Double.pi / 4, 3 * Double.pi / 4, -3 * Double.pi / 4, Double.pi]))
    // The signed zeros pick the side of the branch cut, as in C.
    #expect(
      atan2(Tensor<Double>([0, -0.0, 0, 1]), Tensor([-1, -1, 0, 0]))
        == Tensor([Double.pi, -Double.pi, 0, Double.pi / 2]))
    #expect(
      gelu(x, approximation: .tanh) == Tensor([-0.15880800939172324, 0, 0.8411919906082768]))
    #expect(silu(x) == Tensor([-0.2689414213699951, 0, 0.7310585786300049]))
    #expect(leakyRelu(Tensor<Double>([-2, 0, 3]), negativeSlope: 0.1) == Tensor([-0.2, 0, 3]))
    #expect(elu(Tensor<Double>([-1, 0, 2])) == Tensor([-0.6321205588285577, 0, 2]))
    #expect(sign(Tensor<Double>([-2.5, 0, 3])) == Tensor([-1, 0, 1]))
    #expect(floor(Tensor<Double>([-1.5, 0.5, 2])) == Tensor([-2, 0, 2]))
    #expect(ceil(Tensor<Double>([-1.5, 0.5, 2])) == Tensor([-1, 1, 2]))
    let values = Tensor<Double>(shape: [2, 3], scalars: [-2, 0.5, 3, 1, 2, 4])
    #expect(
      clamp(values, min: Tensor([0, 0, 1]), max: Tensor(shape: [2, 1], scalars: [1, 3]))
        == Tensor(shape: [2, 3], scalars: [0, 0.5, 1, 1, 2, 3]))
    #expect(clamp(Tensor<Double>([-2, 0.5, 3]), min: 0, max: 1) == Tensor([0, 0.5, 1]))
    #expect(clamp(Tensor<Double>([-2, 0.5, 3]), min: 0) == Tensor([0, 0.5, 3]))
    let y = Tensor<Double>([-1, 2, -3])
    #expect(`where`(y .> 0, y, Tensor(0)) == Tensor([0, 2, 0]))
    #expect(Autodiff.where(y .> 0, y, 0) == Tensor([0, 2, 0]))
    #expect(`where`(y .> 0, 1, y) == Tensor([-1, 1, -3]))
    #expect((Tensor<Double>([1, 2, .nan]) .!= Tensor([1, 3, .nan])) == Tensor([0, 1, 1]))
  }

  @Test(
    "atan2's gradient is 0 where x² + y² is 0, as PyTorch's; asin's and acos's are ±∞ at ±1 and NaN beyond",
    arguments: [1, 5, 1 << 16])
  func inverseTrigonometricEdges(count: Int) {
    func tiled(_ pattern: [Double]) -> Tensor<Double> {
      Tensor(shape: [count], scalars: (0..<count).map { pattern[$0 % pattern.count] })
    }
    // The origin with each sign of zero, a point whose squares underflow, and (3, 4), where
    // ∂/∂y = 4/25 and ∂/∂x = −3/25.
    let ys: [Double] = [0, -0.0, 0, 1e-200, 3]
    let xs: [Double] = [0, 0, -0.0, 1e-200, 4]
    let (dy, dx) = gradient(at: tiled(ys), tiled(xs)) { atan2($0, $1).sum() }
    for i in 0..<count {
      let (expectedY, expectedX) = i % 5 == 4 ? (0.16, -0.12) : (0, 0)
      #expect(dy.scalars[i] == expectedY && dx.scalars[i] == expectedX, "at \(i): \(dy), \(dx)")
    }
    // The same on numbers (rank 0: scalar records), and in Float.
    for (y, x) in zip(ys, xs) {
      let (ny, nx) = gradient(at: Tensor(y), Tensor(x)) { atan2($0, $1) }
      let (fy, fx) = gradient(at: Tensor(Float(y)), Tensor(Float(x))) { atan2($0, $1) }
      let expected: (Double, Double) = x == 4 ? (0.16, -0.12) : (0, 0)
      #expect(ny.scalar == expected.0 && nx.scalar == expected.1, "(\(y), \(x))")
      #expect(fy.scalar == Float(expected.0) && fx.scalar == Float(expected.1), "(\(y), \(x))")
    }
    let edges = tiled([1, -1, 1.5, -2])
    let (asinValues, acosValues) = (asin(edges).scalars, acos(edges).scalars)
    let dAsin = gradient(at: edges) { asin($0).sum() }.scalars
    let dAcos = gradient(at: edges) { acos($0).sum() }.scalars
    for i in 0..<count {
      #expect(asinValues[i].isNaN == (i % 4 >= 2) && acosValues[i].isNaN == (i % 4 >= 2))
      #expect(i % 4 < 2 ? dAsin[i] == .infinity : dAsin[i].isNaN, "asin' at \(edges.scalars[i])")
      #expect(i % 4 < 2 ? dAcos[i] == -.infinity : dAcos[i].isNaN, "acos' at \(edges.scalars[i])")
    }
  }

  @Test("silu and gelu pass a gradient above 1 at huge inputs, as PyTorch: g, not ∞·0 = NaN")
  func productsAtHugeInputs() {
    let x = Tensor<Double>([1e308, -1e308, 3])
    // The derivatives at 3, times the upstream 2, from Foundation's functions.
    let sigmoid3: Double = 1 / (1 + exp(-3.0))
    let silu3: Double = 2 * sigmoid3 * (1 + 3 * (1 - sigmoid3))
    let density3: Double = exp(-4.5) / (2 * Double.pi).squareRoot()
    let cdf3: Double = 0.5 * (1 + Foundation.erf(3 / 2.0.squareRoot()))
    let gelu3: Double = 2 * (cdf3 + 3 * density3)
    let siluGradient = gradient(at: x) { (silu($0) * 2).sum() }.scalars
    let geluGradient = gradient(at: x) { (gelu($0) * 2).sum() }.scalars
    #expect(siluGradient[0] == 2 && siluGradient[1] == 0)
    #expect(abs(siluGradient[2] - silu3) <= 1e-15 * silu3)
    #expect(geluGradient[0] == 2 && geluGradient[1] == 0)
    #expect(abs(geluGradient[2] - gelu3) <= 1e-15 * gelu3)
    #expect(gradient(at: Tensor<Float>([1e38])) { (silu($0) * 4).sum() } == Tensor([4]))
    #expect(gradient(at: Tensor<Float>([1e38])) { (gelu($0) * 4).sum() } == Tensor([4]))
    // Forward mode takes the same derivative.
    #expect(
      jvp(at: Tensor<Double>([1e308]), tangent: Tensor([2])) { silu($0) }.tangent == Tensor([2]))
  }

  @Test("round rounds a tie to the even integer, as NumPy, in Float and Double")
  func roundHalfToEven() {
    let ties: [Double] = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999999, 2.6, 1e300]
    let expected: [Double] = [0, 2, 2, -0.0, -2, -2, 2, 3, 1e300]
    let result = round(Tensor(ties))
    #expect(result == Tensor(expected))
    #expect(result.scalars[3].sign == .minus)
    #expect(round(Tensor<Float>(ties.map(Float.init))) == Tensor(expected.map(Float.init)))
  }

  @Test(
    "sign, floor, ceil and round have gradient 0, even where the upstream gradient is not finite")
  func piecewiseConstantGradients() {
    let x = Tensor<Double>([-1.5, 0, 0.5, 2, .nan])
    for f in [sign, floor, ceil, round] as [(Tensor<Double>) -> Tensor<Double>] {
      let dx = gradient(at: x) { (f($0) * Tensor([1, .infinity, .nan, -2, 3])).sum() }
      #expect(dx == Tensor(zeros: [5]))
      let (_, tangent) = jvp(at: x, tangent: Tensor(ones: [5])) { f($0) }
      #expect(tangent == Tensor(zeros: [5]))
    }
  }

  @Test("leakyRelu and elu take the negative side's derivative at 0, as PyTorch")
  func derivativesAtZero() {
    let x = Tensor<Double>([0, -0.0, -1, 2])
    #expect(
      gradient(at: x) { leakyRelu($0, negativeSlope: 0.1).sum() } == Tensor([0.1, 0.1, 0.1, 1]))
    #expect(
      gradient(at: x) { elu($0, alpha: 2).sum() } == Tensor([2, 2, 2 * Foundation.exp(-1), 1]))
  }

  @Test(
    "clamp's gradient is 1 at its bounds, as PyTorch, 0 outside, and goes to a bound that clamps")
  func clampAtBounds() {
    let x = Tensor<Double>([-1, 0, 0.5, 1, 2])
    let (y, dx) = valueWithGradient(at: x) { clamp($0, min: 0, max: 1).sum() }
    #expect(y == Tensor(2.5))
    #expect(dx == Tensor([0, 1, 1, 1, 0]))
    let (dxs, dlo, dhi) = gradient(at: x, Tensor<Double>(0), Tensor<Double>(1)) {
      clamp($0, min: $1, max: $2).sum()
    }
    #expect(dxs == Tensor([0, 1, 1, 1, 0]))
    #expect(dlo == Tensor(1))
    #expect(dhi == Tensor(1))
    // With min > max the result is max, and the gradient goes to it.
    let (z, dmax) = valueWithGradient(at: Tensor<Double>([0.5])) { hi in
      clamp(Tensor<Double>([0, 3]), min: Tensor(2), max: hi).sum()
    }
    #expect(z == Tensor(1))
    #expect(dmax == Tensor([2]))
  }

  @Test(
    "clamp with tensor bounds matches finite differences over broadcast shapes",
    arguments: [([2, 3], [3], [2, 1]), ([4], [], [4]), ([3, 1], [1, 2], [])]
      as [([Int], [Int], [Int])])
  func clampTensorBounds(shapes: ([Int], [Int], [Int])) {
    var rng = SeededGenerator(seed: 2401)
    let x = Tensor.uniform(shapes.0, in: -2..<2, using: &rng)
    let low = Tensor.uniform(shapes.1, in: -1.5..<0, using: &rng)
    let high = Tensor.uniform(shapes.2, in: 0.2..<1.5, using: &rng)
    expectGradientsMatchFiniteDifferences(at: [x, low, high]) {
      clamp($0[0], min: $0[1], max: $0[2])
    }
  }

  @Test(
    "where matches finite differences over broadcast shapes, and sends the mask no gradient",
    arguments: [([2, 3], [2, 3], [2, 3]), ([2, 1], [3], [2, 3]), ([3], [], [2, 1])]
      as [([Int], [Int], [Int])])
  func whereBroadcasts(shapes: ([Int], [Int], [Int])) {
    var rng = SeededGenerator(seed: 2402)
    let mask = Tensor.uniform(shapes.0, in: -1..<1, using: &rng) .> 0
    let a = Tensor.uniform(shapes.1, in: -2..<2, using: &rng)
    let b = Tensor.uniform(shapes.2, in: -2..<2, using: &rng)
    expectGradientsMatchFiniteDifferences(at: a, b) { `where`(mask, $0, $1) }
    let (dm, _, _) = gradient(at: mask, a, b) { (`where`($0, $1, $2) * 3).sum() }
    #expect(dm == Tensor(zeros: shapes.0))
  }

  @Test("where ignores a NaN or an infinity on the side not chosen, in value and gradient")
  func whereIgnoresTheOtherSide() {
    let mask = Tensor<Double>([1, 0, 1, 0])
    let a = Tensor<Double>([1, .nan, -0.0, .infinity])
    let b = Tensor<Double>([.nan, 2, .infinity, -0.0])
    let (y, pullback) = valueWithPullback(at: a, b) { `where`(mask, $0, $1) }
    #expect(y.scalars.map(\.bitPattern) == [1, 2, -0.0, -0.0].map(\.bitPattern))
    let (da, db) = pullback(Tensor([5, 6, 7, 8]))
    #expect(da == Tensor([5, 0, 7, 0]))
    #expect(db == Tensor([0, 6, 0, 8]))
  }

  @Test("NaN propagates through clamp, leakyRelu and elu, in values and gradients")
  func nanPropagates() {
    let x = Tensor<Double>([.nan, 1])
    for f in [
      { clamp($0, min: 0, max: 2) }, { leakyRelu($0) }, { elu($0) }, { gelu($0) }, { silu($0) },
    ] as [(Tensor<Double>) -> Tensor<Double>] {
      let y = f(x)
      #expect(y.scalars[0].isNaN && !y.scalars[1].isNaN)
      let dx = gradient(at: x) { f($0).sum() }
      #expect(dx.scalars[0].isNaN && !dx.scalars[1].isNaN)
    }
    #expect(clamp(Tensor<Double>([1]), min: .nan).scalars[0].isNaN)
    #expect(clamp(Tensor<Double>([1]), max: .nan).scalars[0].isNaN)
    #expect(leakyRelu(Tensor<Double>([.infinity, -.infinity])) == Tensor([.infinity, -.infinity]))
    #expect(elu(Tensor<Double>([.infinity, -.infinity])) == Tensor([.infinity, -1]))
  }

  @Test("Float agrees with Double to Float's precision for each new function")
  func floatAgreesWithDouble() {
    var rng = SeededGenerator(seed: 2403)
    let x = Tensor.uniform([64], in: -3..<3, using: &rng)
    let functions:
      [(String, (Tensor<Double>) -> Tensor<Double>, (Tensor<Float>) -> Tensor<Float>)] =
        [
          ("log1p", { log1p(abs($0)) }, { log1p(abs($0)) }),
          ("expm1", { expm1($0) }, { expm1($0) }),
          ("erf", { erf($0) }, { erf($0) }),
          ("gelu", { gelu($0) }, { gelu($0) }),
          ("gelu tanh", { gelu($0, approximation: .tanh) }, { gelu($0, approximation: .tanh) }),
          ("silu", { silu($0) }, { silu($0) }),
          ("leakyRelu", { leakyRelu($0) }, { leakyRelu($0) }),
          ("elu", { elu($0) }, { elu($0) }),
          ("clamp", { clamp($0, min: -1, max: 1) }, { clamp($0, min: -1, max: 1) }),
          // Scaled into tan's (−π/2, π/2) and asin's and acos's [−1, 1].
          ("tan", { tan($0 * 0.45) }, { tan($0 * 0.45) }),
          ("asin", { asin($0 / 3.5) }, { asin($0 / 3.5) }),
          ("acos", { acos($0 / 3.5) }, { acos($0 / 3.5) }),
          ("atan", { atan($0) }, { atan($0) }),
          ("sinh", { sinh($0) }, { sinh($0) }),
          ("cosh", { cosh($0) }, { cosh($0) }),
          ("atan2", { atan2($0, 0.7 - $0) }, { atan2($0, 0.7 - $0) }),
        ]
    let xf = Tensor<Float>(x)
    for (name, double, float) in functions {
      let expected = double(x)
      let (value, dx) = valueWithGradient(at: xf) { float($0).sum() }
      let expectedGradient = gradient(at: x) { double($0).sum() }
      #expect(
        Swift.abs(Double(value.scalar) - expected.sum().scalar) <= 1e-5 * 64, "\(name)")
      #expect(
        Tensor<Double>(dx).isAlmostEqual(
          to: expectedGradient, relativeTolerance: 1e-5, absoluteTolerance: 1e-5),
        "\(name)'s gradient")
    }
  }
}
