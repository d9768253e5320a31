import Autodiff
import Foundation
import Testing

/// `norm` of orders 1, 2 and ∞ against loops in Double, its gradients against central
/// differences and at the points where the norms have none, and its messages.
@Suite struct NormTests {
  static let orders: [Double] = [1, 2, .infinity]

  /// The norm of `values` of the order, written out.
  static func norm(_ values: [Double], _ order: Double) -> Double {
    switch order {
    case 1: values.map(Swift.abs).reduce(0, +)
    case 2: values.map { $0 * $0 }.reduce(0, +).squareRoot()
    default: values.map(Swift.abs).max() ?? 0
    }
  }

  @Test("Values equal a loop over each group, axes kept, squeezed or all", arguments: orders)
  func values(order: Double) {
    var rng = SeededGenerator(seed: 3)
    let x = Tensor<Double>(randomNormal: [3, 4, 2], using: &rng)
    let s = x.scalars
    let rows = x.norm(order: order, alongAxes: [1])
    #expect(rows.shape == [3, 1, 2])
    for i in 0..<3 {
      for k in 0..<2 {
        let group = (0..<4).map { s[i * 8 + $0 * 2 + k] }
        #expect(abs(rows.scalars[i * 2 + k] - Self.norm(group, order)) <= 1e-15 * 4)
      }
    }
    #expect(x.norm(order: order, squeezingAxes: [1]) == rows.reshaped(to: [3, 2]))
    #expect(abs(x.norm(order: order).scalar - Self.norm(s, order)) <= 1e-14)
    #expect(x.norm(order: order).shape == [])
    let pairs = x.norm(order: order, squeezingAxes: [0, -1])
    #expect(pairs.shape == [4])
  }

  @Test("The default order is 2; a Float norm is within its precision of Double's")
  func defaultOrderAndFloat() {
    let x = Tensor<Float>([[3, -4], [0, 0]])
    #expect(x.norm(alongAxes: [1]) == [[5], [0]])
    #expect(x.norm(order: 1, alongAxes: [1]) == [[7], [0]])
    #expect(x.norm(order: .infinity, alongAxes: [1]) == [[4], [0]])
    #expect(x.norm().scalar == 5)
  }

  @Test("Gradients match central finite differences", arguments: orders)
  func gradients(order: Double) {
    var rng = SeededGenerator(seed: 5)
    // Away from 0 and with no ties in magnitude, where each norm is differentiable.
    let signs = Tensor<Double>(shape: [3, 4], scalars: (0..<12).map { $0 % 3 == 0 ? -1 : 1 })
    let x = Tensor<Double>.distinct([3, 4], offset: 0.3, using: &rng) * signs
    expectGradientsMatchFiniteDifferences(at: [x]) { $0[0].norm(order: order, alongAxes: [0]) }
    expectGradientsMatchFiniteDifferences(at: [x]) { $0[0].norm(order: order, squeezingAxes: [1]) }
    expectGradientsMatchFiniteDifferences(at: [x]) { $0[0].norm(order: order) }
  }

  @Test("At a group of zeros the 1- and 2-norm's gradients are 0, as PyTorch's, not NaN")
  func gradientAtZero() {
    let x = Tensor<Double>([[0, 0, 0], [3, 0, -4]])
    for order in [1.0, 2] {
      let g = gradient(at: x) { $0.norm(order: order, alongAxes: [1]).sum() }
      let expected: Tensor<Double> =
        order == 2 ? [[0, 0, 0], [0.6, 0, -0.8]] : [[0, 0, 0], [1, 0, -1]]
      #expect(g == expected, "order \(order)")
    }
  }

  @Test("NaN and ∞ propagate to the norm")
  func nonFinite() {
    for order in Self.orders {
      #expect(Tensor<Double>([1, .nan]).norm(order: order).scalar.isNaN, "order \(order)")
      #expect(Tensor<Double>([1, -.infinity]).norm(order: order).scalar == .infinity)
    }
  }

  @Test("The 2-norm's tangent and Hessian-vector product match finite differences")
  func forwardAndSecondOrder() {
    var rng = SeededGenerator(seed: 8)
    let x = Tensor<Double>(randomNormal: [3, 4], using: &rng)
    let v = Tensor<Double>(randomNormal: [3, 4], using: &rng)
    let h = 1e-6
    for order in Self.orders {
      let f = { (x: Tensor<Double>) in x.norm(order: order, alongAxes: [1]) }
      let tangent = jvp(at: x, tangent: v, of: f).tangent
      let numeric = (f(x + h * v) - f(x - h * v)) / (2 * h)
      #expect(tangent.isAlmostEqual(to: numeric, relativeTolerance: 1e-7, absoluteTolerance: 1e-9))
    }
    let weights = Tensor<Double>([[1], [-2], [0.5]])
    expectGradientMatchesFiniteDifferences(at: x) { x in
      gradient(at: x) { (sin($0.norm(alongAxes: [1])) * weights).sum() }
    }
  }
}
