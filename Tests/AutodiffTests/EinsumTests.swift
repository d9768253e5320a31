import Autodiff
import Testing

/// `einsum` against NumPy's `einsum`, and its derivatives (which are those of the operations it
/// is lowered to) against central differences, forward mode and a Hessian-vector product.
@Suite struct EinsumTests {
  /// An equation, its operands' shapes, and NumPy's result for `input(shape, seed:)` operands.
  struct Case: Sendable, CustomTestStringConvertible {
    let equation: String
    let shapes: [[Int]]
    let shape: [Int]
    let scalars: [Double]
    init(_ equation: String, _ shapes: [[Int]], _ shape: [Int], _ scalars: [Double]) {
      (self.equation, self.shapes, self.shape, self.scalars) = (equation, shapes, shape, scalars)
    }
    var testDescription: String { "\"\(equation)\" of \(shapes)" }
    var operands: [Tensor<Double>] {
      shapes.enumerated().map { EinsumTests.input($1, seed: $0 + 1) }
    }
  }

  /// Small integers, so that every product and sum is exact in Float and Double: element i is
  /// (5i + seed) mod 11 − 5.
  static func input(_ shape: [Int], seed: Int) -> Tensor<Double> {
    Tensor(
      shape: shape,
      scalars: (0..<shape.reduce(1, *)).map { Double(($0 * 5 + seed) % 11 - 5) })
  }

  /// The results printed by NumPy 2's `np.einsum(equation, *operands)` for the operands of
  /// `input(_:seed:)`, seeds 1, 2, 3.
  static let cases = [
    Case("ij,jk->ik", [[2, 3], [3, 4]], [2, 4], [-13, 2, 6, 10, -29, 2, 22, -2]),
    Case("bij,bjk->bik", [[2, 2, 3], [2, 3, 2]], [2, 2, 2], [33, -7, -15, 5, 21, -9, -19, 11]),
    Case("ij->ji", [[2, 3]], [3, 2], [-4, 0, 1, 5, -5, -1]),
    Case("ij->", [[2, 3]], [], [-4]),
    Case("ij->i", [[2, 3]], [2], [-8, 4]),
    Case("i,j->ij", [[3], [2]], [3, 2], [12, -8, -3, 2, 15, -10]),
    Case("i,i->", [[4], [4]], [], [34]),
    Case("ij,ij->ij", [[2, 3], [2, 3]], [2, 3], [12, 2, 20, 0, -25, 0]),
    Case("bi,ij->bj", [[2, 3], [3, 4]], [2, 4], [-13, 2, 6, 10, -29, 2, 22, -2]),
    Case("ij,jk", [[2, 3], [3, 2]], [2, 2], [33, -7, -15, 5]),
    Case("ii->i", [[3, 3]], [3], [-4, 5, 3]),
    Case("ii", [[3, 3]], [], [4]),
    Case("iii->i", [[2, 2, 2]], [2], [-4, -2]),
    Case("bii->ib", [[2, 3, 3]], [3, 2], [-4, -3, 5, -5, 3, 4]),
    Case("ij,jj->i", [[2, 3], [3, 3]], [2], [-13, -29]),
    Case("ijk,jil->kl", [[2, 3, 2], [3, 2, 2]], [2, 2], [62, -23, -26, 17]),
    Case("bi,bi->b", [[3, 4], [3, 4]], [3], [34, -3, 36]),
    Case("ij,kj->ik", [[2, 3], [4, 3]], [2, 4], [34, -9, -41, 26, 14, -25, -9, 18]),
    Case("ji,jk->ik", [[3, 2], [3, 4]], [2, 4], [57, -18, 6, -14, -7, 4, -7, 4]),
    Case(
      "bji,bkj->bik", [[2, 3, 2], [2, 4, 3]], [2, 2, 4],
      [-18, 21, 5, -22, 1, 1, 1, 1, -2, -10, 4, 7, 4, -10, -2, -5]),
    Case("ij,jk,kl->il", [[2, 3], [3, 4], [4, 2]], [2, 2], [-54, -29, -26, -61]),
    Case("i j , j k -> k i", [[2, 3], [3, 2]], [2, 2], [33, -15, -7, 5]),
    Case("ij,kl->", [[2, 3], [2, 2]], [], [16]),
    Case("ij,kl->jk", [[2, 3], [2, 2]], [3, 2], [4, 12, -6, -18, 6, 18]),
    Case("Ab,bC", [[2, 3], [3, 2]], [2, 2], [33, -7, -15, 5]),
    Case("ba", [[2, 3]], [3, 2], [-4, 0, 1, 5, -5, -1]),
    Case("->", [[]], [], [-4]),
    Case("i,->i", [[3], []], [3], [12, -3, 15]),
  ]

  @Test("Values equal NumPy's einsum, in Double", arguments: cases)
  func valuesDouble(_ c: Case) {
    let result = einsum(c.equation, c.operands)
    #expect(result.shape == c.shape)
    #expect(result.scalars == c.scalars)
  }

  @Test("Values equal NumPy's einsum, in Float", arguments: cases)
  func valuesFloat(_ c: Case) {
    let result = einsum(c.equation, c.operands.map { Tensor<Float>($0) })
    #expect(result.shape == c.shape)
    #expect(result.scalars == c.scalars.map(Float.init))
  }

  @Test("Empty axes give empty results, and an empty sum zeros")
  func emptyAxes() {
    let empty = Tensor<Double>(zeros: [0, 0])
    #expect(einsum("ii->i", empty).shape == [0])
    #expect(einsum("ii", empty).scalars == [0])
    let product = einsum("ij,jk->ik", Tensor<Double>(ones: [2, 0]), Tensor<Double>(ones: [0, 3]))
    #expect(product == Tensor(zeros: [2, 3]))
    #expect(einsum("bi,bi->b", Tensor<Double>(ones: [0, 2]), Tensor(ones: [0, 2])).shape == [0])
  }

  @Test("The documentation's example prints what its comment shows")
  func documentationExample() {
    let a: Tensor<Double> = [[1, 2], [3, 4]]
    let b: Tensor<Double> = [[5, 6], [7, 8]]
    #expect("\(einsum("ij,jk->ik", a, b))" == "[[19.0, 22.0],\n [43.0, 50.0]]")
    #expect("\(einsum("ii", a))" == "5.0")
    #expect("\(einsum("bi,bi->b", a, b))" == "[17.0, 53.0]")
  }

  @Test("The variadic form equals the array form and the ops it stands for")
  func matchesOps() {
    var rng = SeededGenerator(seed: 3)
    let a = Tensor<Double>(randomNormal: [4, 3], using: &rng)
    let b = Tensor<Double>(randomNormal: [3, 5], using: &rng)
    let stack = Tensor<Double>(randomNormal: [2, 4, 3], using: &rng)
    #expect(einsum("ij,jk->ik", a, b) == einsum("ij,jk->ik", [a, b]))
    #expect(einsum("ij,jk->ik", a, b).isAlmostEqual(to: matmul(a, b), relativeTolerance: 1e-14))
    #expect(
      einsum("ij,jk->ki", a, b).isAlmostEqual(
        to: matmul(
          b, transposed: true, a,
          transposed: true), relativeTolerance: 1e-14))
    #expect(
      einsum("bij,jk->bik", stack, b).isAlmostEqual(
        to: matmul(stack, b),
        relativeTolerance: 1e-14))
    #expect(einsum("ij->ji", a) == a.transposed())
    #expect(einsum("ij", a) == a)
  }

  @Test(
    "Gradients match central finite differences",
    arguments: [
      ("ij,jk->ik", [[3, 4], [4, 2]]), ("bij,bjk->bik", [[2, 3, 4], [2, 4, 2]]),
      ("bi,ij->bj", [[3, 4], [4, 2]]), ("i,j->ij", [[3], [4]]), ("i,i->", [[5], [5]]),
      ("ij,ij->ij", [[2, 3], [2, 3]]), ("ijk,jil->kl", [[2, 3, 2], [3, 2, 4]]),
      ("bji,bkj->bik", [[2, 3, 2], [2, 4, 3]]), ("bi,bi->b", [[3, 4], [3, 4]]),
      ("ij,kj->ik", [[2, 3], [4, 3]]), ("ij,kl->jk", [[2, 3], [2, 2]]),
      ("ij,jk,kl->il", [[2, 3], [3, 4], [4, 2]]), ("ij->ji", [[2, 3]]), ("ij->i", [[2, 3]]),
      ("ii->i", [[3, 3]]), ("ii", [[3, 3]]), ("bii->ib", [[2, 3, 3]]),
      ("ij,jj->i", [[2, 3], [3, 3]]),
    ])
  func gradients(equation: String, shapes: [[Int]]) {
    var rng = SeededGenerator(
      seed: UInt64(equation.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xffff))
    let inputs = shapes.map { Tensor<Double>.uniform($0, in: -1..<1, using: &rng) }
    expectGradientsMatchFiniteDifferences(at: inputs) { sin(einsum(equation, $0)) }
  }

  @Test("Forward mode: the tangent of an einsum is the einsum's derivative along the direction")
  func forwardMode() {
    var rng = SeededGenerator(seed: 11)
    let a = Tensor<Double>(randomNormal: [2, 3, 4], using: &rng)
    let b = Tensor<Double>(randomNormal: [2, 4, 5], using: &rng)
    let v = Tensor<Double>(randomNormal: [2, 3, 4], using: &rng)
    // Linear in a: the tangent along v is the einsum of v, and the diagonal's tangent is v's.
    let (value, tangent) = jvp(at: a, tangent: v) { einsum("bij,bjk->bki", $0, b) }
    #expect(value == einsum("bij,bjk->bki", a, b))
    #expect(tangent.isAlmostEqual(to: einsum("bij,bjk->bki", v, b), relativeTolerance: 1e-14))
    let square = Tensor<Double>(randomNormal: [3, 3], using: &rng)
    let direction = Tensor<Double>(randomNormal: [3, 3], using: &rng)
    let trace = jvp(at: square, tangent: direction) { einsum("ii", $0) }.tangent
    #expect(trace.scalars == [einsum("ii", direction).scalar])
    // Quadratic: d(xᵀAx) = vᵀAx + xᵀAv.
    let x = Tensor<Double>(randomNormal: [3], using: &rng)
    let u = Tensor<Double>(randomNormal: [3], using: &rng)
    let quadratic = jvp(at: x, tangent: u) { einsum("i,ij,j", $0, square, $0) }.tangent
    let expected = einsum("i,ij,j", u, square, x) + einsum("i,ij,j", x, square, u)
    #expect(quadratic.isAlmostEqual(to: expected, relativeTolerance: 1e-13))
  }

  @Test("A Hessian-vector product through einsum matches finite differences and the formula")
  func hessianVectorProduct() {
    var rng = SeededGenerator(seed: 17)
    let a = Tensor<Double>(randomNormal: [4, 4], using: &rng)
    let x = Tensor<Double>(randomNormal: [4], using: &rng)
    let v = Tensor<Double>(randomNormal: [4], using: &rng)
    // f(x) = xᵀAx: H = A + Aᵀ.
    let hv = Autodiff.hessianVectorProduct(at: x, direction: v) { einsum("i,ij,j->", $0, a, $0) }
    #expect(hv.isAlmostEqual(to: matmul(a + a.transposed(), v), relativeTolerance: 1e-13))
    // Second order through batched products and a diagonal, against differences of the
    // gradient.
    let w = Tensor<Double>.uniform([2, 3, 3], in: -1..<1, using: &rng)
    expectGradientMatchesFiniteDifferences(at: w) { w in
      gradient(at: w) { w in
        let product = einsum("bij,bjk->bik", w, w)
        return sin(einsum("bii->b", product)).sum() + einsum("bij,bij->", w, tanh(w))
      }
    }
  }
}
