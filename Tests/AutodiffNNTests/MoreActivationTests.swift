import AutodiffNN
import Foundation
import Testing

@Suite struct MoreActivationTests {
  /// Points away from 0, where every activation here is smooth.
  static let x = Tensor<Double>([-3.5, -1.2, -0.3, 0.4, 1.1, 2.7])

  /// Each layer beside its scalar formula (PyTorch's documentation of the same module).
  static let cases: [(String, any Layer<Double>, @Sendable (Double) -> Double)] = [
    ("LeakyReLU", LeakyReLU(negativeSlope: 0.1), { $0 > 0 ? $0 : 0.1 * $0 }),
    ("Softplus", Softplus(), { Foundation.log(1 + Foundation.exp($0)) }),
    ("GELU", GELU(), gelu),
    ("SiLU", SiLU(), { $0 / (1 + Foundation.exp(-$0)) }),
    (
      "GELU(approximation: .exact)", GELU(approximation: .exact),
      { $0 * 0.5 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }
    ),
  ]

  /// x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³))).
  static func gelu(_ x: Double) -> Double {
    let inner: Double = (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1 + Foundation.tanh(inner))
  }

  @Test("LeakyReLU, Softplus, GELU and SiLU compute their formulas", arguments: cases.indices)
  func forward(index: Int) {
    let (name, layer, formula) = Self.cases[index]
    let expected = Tensor(Self.x.scalars.map(formula))
    #expect(layer(Self.x).isAlmostEqual(to: expected, relativeTolerance: 1e-14), "\(name)")
    #expect(layer.parameters.isEmpty && layer.parameterNames.isEmpty)
  }

  @Test("Their gradients match finite differences", arguments: cases.indices)
  func gradients(index: Int) {
    let layer = Self.cases[index].1
    let analytic = gradient(at: Self.x) { (layer($0) * $0).sum() }
    let numeric = finiteDifferenceGradient(at: Self.x) { (layer($0) * $0).sum() }
    #expect(analytic.isAlmostEqual(to: numeric, relativeTolerance: 1e-7), "\(Self.cases[index].0)")
  }

  @Test("At 0, Softplus's derivative is σ(0) = 1/2 and LeakyReLU's is the slope, as PyTorch's")
  func derivativesAtZero() {
    #expect(gradient(at: Tensor<Double>([0])) { Softplus()($0).sum() } == Tensor([0.5]))
    #expect(
      gradient(at: Tensor<Double>([0])) { LeakyReLU(negativeSlope: 0.2)($0).sum() } == Tensor([0.2])
    )
  }

  @Test("Softplus is finite and exact at the extremes: 1000 at 1000, eˣ to full precision at −30")
  func softplusExtremes() {
    let y = Softplus<Double>()(Tensor([1000, -1000, -30]))
    #expect(y.scalars[0] == 1000 && y.scalars[1] == 0)
    // log(1 + e⁻³⁰) = e⁻³⁰ − e⁻⁶⁰/2 + ...: e⁻³⁰ to a relative 10⁻¹³.
    #expect(Swift.abs(y.scalars[2] / Foundation.exp(-30) - 1) < 1e-12)
    let small = Softplus<Float>()(Tensor([-30])).scalar
    #expect(Swift.abs(small / Float.exp(-30) - 1) < 1e-6)
  }

  @Test("Softplus's second derivative is σ(x)(1 − σ(x)), by forward over reverse")
  func softplusSecondDerivative() {
    let x = Tensor<Double>([-1.5, 0.3, 2])
    let second = hessianVectorProduct(at: x, direction: Tensor(ones: [3])) { Softplus()($0).sum() }
    let s = sigmoid(x)
    #expect(second.isAlmostEqual(to: s * (1 - s), relativeTolerance: 1e-12))
  }

  @Test("GELU's tanh form is within 10⁻³ of x·Φ(x)")
  func geluApproximation() {
    let x = Tensor<Double>((-60...60).map { Double($0) / 10 })
    let exact = x.scalars.map { $0 * 0.5 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }
    for (value, reference) in zip(GELU<Double>()(x).scalars, exact) {
      #expect(Swift.abs(value - reference) < 1e-3)
    }
  }
}
