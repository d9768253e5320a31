// valueWithGradient(at:of:whenReady:) reports each gradient once, final, in the order the
// backward sweep finishes them.

import Autodiff
import Testing

@Suite struct GradientReadinessTests {
  /// A two-layer network's parameters and an input it does not use.
  static func parameters() -> [Tensor<Double>] {
    var rng = SeededGenerator(seed: 3)
    return [
      Tensor(randomNormal: [3, 5], using: &rng), Tensor(randomNormal: [5], using: &rng),
      Tensor(randomNormal: [5, 2], using: &rng), Tensor(randomNormal: [2], using: &rng),
      Tensor(randomNormal: [4], using: &rng),
    ]
  }

  static func loss(_ p: [Tensor<Double>]) -> Tensor<Double> {
    let x = Tensor<Double>(shape: [4, 3], scalars: (0..<12).map { Double($0) / 7 - 0.8 })
    let hidden = tanh(matmul(x, p[0], plus: p[1]))
    return (matmul(hidden, p[2], plus: p[3]) * matmul(hidden, p[2], plus: p[3])).sum()
  }

  @Test("Each input's gradient is reported once, equal to the returned one, last layer first")
  func reportsEachGradientOnceInSweepOrder() {
    var reports: [(index: Int, gradient: Tensor<Double>)] = []
    let (value, gradients) = valueWithGradient(at: Self.parameters(), of: Self.loss) {
      index, gradient in reports.append((index, gradient))
    }
    let plain = valueWithGradient(at: Self.parameters(), of: Self.loss)
    #expect(value == plain.value)
    #expect(gradients == plain.gradient)
    // The second layer's weight and bias are final before the first layer's; the unused input
    // (zeros) comes last.
    let order = reports.map(\.index)
    #expect(order.sorted() == [0, 1, 2, 3, 4])
    #expect(Set(order.prefix(2)) == [2, 3])
    #expect(Set(order[2..<4]) == [0, 1])
    #expect(order.last == 4)
    for report in reports { #expect(report.gradient == plain.gradient[report.index]) }
    #expect(reports.last?.gradient == Tensor(zeros: [4]))
  }

  @Test("A constant function reports every gradient as zeros")
  func constantFunctionReportsZeros() {
    var reported: [Int: Tensor<Double>] = [:]
    let inputs = [Tensor<Double>([1, 2]), Tensor<Double>(3)]
    func constant(_: [Tensor<Double>]) -> Tensor<Double> { Tensor(7) }
    _ = valueWithGradient(at: inputs, of: constant) { index, gradient in
      #expect(reported[index] == nil)
      reported[index] = gradient
    }
    #expect(reported == [0: Tensor(zeros: [2]), 1: Tensor(0)])
  }

  @Test("Inside another differentiation, the reported gradients are the recorded ones")
  func nestedReportsRecordedGradients() {
    // d/dx of Σ (∂/∂w (w·x)²) = d/dx Σ 2·w·x² = 4·w·x at w = 3, x = [1, 2].
    let w = Tensor<Double>(3)
    let outer = gradient(at: Tensor<Double>([1, 2])) { x in
      var count = 0
      func square(_ p: [Tensor<Double>]) -> Tensor<Double> { ((p[0] * x) * (p[0] * x)).sum() }
      let (_, inner) = valueWithGradient(at: [w], of: square) { _, _ in count += 1 }
      #expect(count == 1)
      return inner[0]
    }
    #expect(outer == Tensor([12, 24]))
  }
}
