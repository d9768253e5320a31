import Autodiff
import Foundation
import Testing

/// `lowerTriangular` and `upperTriangular` against their definition on matrices and stacks, with
/// every offset, NaN dropped, and the gradient keeping the same elements.
@Suite struct TriangleTests {
  @Test(
    "Each keeps the elements with j − i ≤ k (lower) or ≥ k (upper), zeros elsewhere",
    arguments: [[3, 4], [4, 2], [2, 3, 3], [2, 1, 2, 5]], [-2, -1, 0, 1, 3])
  func values(shape: [Int], k: Int) {
    var rng = SeededGenerator(seed: 13)
    let x = Tensor<Double>(randomNormal: shape, using: &rng)
    let (rows, columns) = (shape[shape.count - 2], shape[shape.count - 1])
    for lower in [true, false] {
      let t = lower ? x.lowerTriangular(diagonal: k) : x.upperTriangular(diagonal: k)
      #expect(t.shape == shape)
      for (flat, value) in t.scalars.enumerated() {
        let (i, j) = ((flat / columns) % rows, flat % columns)
        let kept = lower ? j - i <= k : j - i >= k
        #expect(value == (kept ? x.scalars[flat] : 0), "lower \(lower), element \(flat)")
      }
    }
  }

  @Test("The documented example; NaN and ∞ outside the triangle become 0")
  func exampleAndNonFinite() {
    let a = Tensor<Double>([[1, 2, 3], [4, 5, 6]])
    #expect(a.lowerTriangular() == [[1, 0, 0], [4, 5, 0]])
    #expect(a.upperTriangular(diagonal: 1) == [[0, 2, 3], [0, 0, 6]])
    let b = Tensor<Double>(shape: [2, 2], scalars: [1, .nan, .infinity, 2])
    #expect(b.lowerTriangular() == Tensor(shape: [2, 2], scalars: [1, 0, .infinity, 2]))
    #expect(b.upperTriangular(diagonal: 1).scalars[1].isNaN)
    #expect(Tensor<Float>(zeros: [0, 3]).lowerTriangular().shape == [0, 3])
  }

  @Test("Gradients keep the triangle's elements, and match central finite differences")
  func gradients() {
    var rng = SeededGenerator(seed: 14)
    let x = Tensor<Double>(randomNormal: [2, 3, 4], using: &rng)
    expectGradientsMatchFiniteDifferences(at: [x]) { sin($0[0].lowerTriangular(diagonal: 1)) }
    expectGradientsMatchFiniteDifferences(at: [x]) { $0[0].upperTriangular(diagonal: -1).squared() }
    let g = gradient(at: x) { $0.upperTriangular().sum() }
    #expect(g == Tensor(ones: [2, 3, 4]).upperTriangular())
  }
}
