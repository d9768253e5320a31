// The disagreements with an independent reference (JAX in float64, NumPy, C) that issue 19
// reported, each as its reproducer, with the reference's figure where it gave one.

import Autodiff
import Foundation
import Testing

@Suite struct ReferenceDisagreementTests {
  static let x = Tensor<Double>([0.5, -1, 2])
  static let v = Tensor<Double>([1, 2, 3])
  static let identity3 = Tensor<Double>(shape: [3, 3], scalars: [1, 0, 0, 0, 1, 0, 0, 0, 1])

  // MARK: 1. Second order of a function affine in its input

  @Test("hessianVectorProduct and hessian of an affine function are zeros")
  func secondOrderOfAffineFunction() {
    let hv = hessianVectorProduct(at: Self.x, direction: Self.v) { x in (2 * x).sum() }
    #expect(hv.scalars == [0, 0, 0])
    let hvs = hessianVectorProduct(at: [Self.x, Self.v], directions: [Self.v, Self.x]) {
      ($0[0] * 2 + $0[1] * 3).sum()
    }
    #expect(hvs.map(\.scalars) == [[0, 0, 0], [0, 0, 0]])
    let h = hessian(at: Self.x) { x in (2 * x).sum() }
    #expect(h.shape == [3, 3] && h.scalars.allSatisfy { $0 == 0 })
  }

  @Test("The Hessian of a function that is affine in one input and quadratic in another")
  func partlyAffine() {
    // f(x, y) = Σ 3x + y²: H = [[0, 0], [0, 2I]].
    let hv = hessianVectorProduct(at: [Self.x, Self.v], directions: [Self.v, Self.x]) {
      (3 * $0[0] + $0[1].squared()).sum()
    }
    #expect(hv[0].scalars == [0, 0, 0])
    #expect(hv[1].scalars == (2 * Self.x).scalars)
  }

  @Test("The tangent of a constant target on a tape is zero")
  func tangentOfConstant() {
    let tape = Tape()
    let x = tape.watch(Self.x)
    let g = tape.gradient(of: (2 * x).sum(), wrt: [x], createGraph: true)[0]
    #expect(tape.tangent(of: g, wrt: [x], along: [Self.v]).scalars == [0, 0, 0])
    #expect(tape.gradient(of: g.sum(), wrt: [x])[0].scalars == [0, 0, 0])
  }

  // MARK: 2. choleskySolve reads the factor's lower triangle only

  @Test("choleskySolve's gradient and tangent ignore what lies above the factor's diagonal")
  func choleskySolveIgnoresUpperTriangle() throws {
    let b = Tensor<Double>([0.4, -1.1])
    func f(_ l: Tensor<Double>) -> Tensor<Double> { try! choleskySolve(l, b).sum() }
    let garbage = Tensor<Double>(shape: [2, 2], scalars: [1.5, 0.7, 0.3, 1.2])
    let clean = Tensor<Double>(shape: [2, 2], scalars: [1.5, 0, 0.3, 1.2])
    let g = gradient(at: garbage, of: f)
    #expect(g.isAlmostEqual(to: gradient(at: clean, of: f)))
    // ∂f/∂L (NumPy's central differences on tril(L)): [[−0.316667, 0], [0.398148, 1.092593]].
    let expected: [Double] = [-0.31666667, 0, 0.39814815, 1.09259259]
    #expect(zip(g.scalars, expected).allSatisfy { Swift.abs($0 - $1) < 1e-7 })
    #expect(g.scalars[1] == 0)
    let direction = Tensor<Double>(shape: [2, 2], scalars: [0.2, 0, -0.5, 0.9])
    let (_, tangent) = jvp(at: garbage, tangent: direction, of: f)
    #expect(Swift.abs(tangent.scalar - 0.7209) < 1e-4)
    // A NaN above the diagonal is not read either.
    let nan = Tensor<Double>(shape: [2, 2], scalars: [1.5, .nan, 0.3, 1.2])
    #expect(try choleskySolve(nan, b) == choleskySolve(clean, b))
    #expect(gradient(at: nan, of: f).isAlmostEqual(to: g))
  }

  // MARK: 3. Intermediate results as the only sources of Tape.gradient

  @Test("Tape.gradient with respect to a linear-algebra result alone")
  func linearAlgebraResultAsSource() throws {
    let tape = Tape()
    let a = tape.watch(Tensor<Double>(shape: [2, 2], scalars: [2, 0.5, 0.3, 1]))
    let d = determinant(a)
    let g = tape.gradient(of: d * d, wrt: [d])[0]
    #expect(Swift.abs(g.scalar - 3.7) < 1e-12)
    let inv = try inverse(a)
    #expect(tape.gradient(of: inv.sum(), wrt: [inv])[0].scalars == [1, 1, 1, 1])
    let spd = matmul(a, transposed: false, a, transposed: true)
    let l = try cholesky(spd)
    #expect(
      tape.gradient(of: (l * l).sum(), wrt: [l])[0].isAlmostEqual(to: 2 * withoutDerivative(at: l)))
  }

  // MARK: 4. Nested reverse mode over pending (fused) tensors

  /// ((i·k) mod 17)/17 − ½ over `shape`, row-major.
  static func ramp(_ shape: [Int], _ k: Int) -> Tensor<Double> {
    Tensor(
      shape: shape,
      scalars: (0..<shape.reduce(1, *)).map { Double(($0 * k) % 17) / 17 - 0.5 })
  }

  @Test("Nested gradients over concatenated tensors of 2¹⁵ elements", arguments: [127, 128])
  func nestedGradientOverFusedConcatenation(rows: Int) {
    let (x, vx) = (Self.ramp([rows, 256], 3), Self.ramp([rows, 256], 5))
    let (y, vy) = (Self.ramp([2, 256], 7), Self.ramp([2, 256], 11))
    let d2 = gradient(at: Tensor(0.0)) { t in
      gradient(at: t) { t in
        Tensor(concatenating: [y + t * vy, x + t * vx]).squared().sum()
      }
    }
    // The second derivative of Σ(c + t·v)² is 2·Σv².
    let expected = 2 * ((vx * vx).sum().scalar + (vy * vy).sum().scalar)
    #expect(Swift.abs(d2.scalar - expected) < 1e-9 * expected)
    if rows == 128 { #expect(Swift.abs(d2.scalar - 5585.425605536331) < 1e-8) }
  }

  @Test("Nested gradients of sin(row sums · x) at 2¹⁵ elements match JAX")
  func nestedGradientOverFusedRowSums() {
    let (x, vx) = (Self.ramp([128, 256], 3), Self.ramp([128, 256], 5))
    let d2 = gradient(at: Tensor(0.0)) { t in
      gradient(at: t) { t in
        let z = x + t * vx
        return sin(z.sum(alongAxes: [1]) * z).sum()
      }
    }
    #expect(Swift.abs(d2.scalar - 52596.69181846321) < 1e-7)
  }

  // MARK: 5. eigh at repeated eigenvalues

  @Test("The gradient of eigh's values is finite at repeated eigenvalues")
  func eighRepeatedEigenvalues() {
    for diagonal in [[2.0, 2, 3], [1.0, 1, 1]] {
      let a = Tensor<Double>(
        shape: [3, 3],
        scalars: (0..<9).map { $0 % 4 == 0 ? diagonal[$0 / 4] : 0 })
      let g = gradient(at: a) { a in try! eigh(a).values.sum() }
      #expect(g == Self.identity3)
      // Σλ² = ‖A‖², gradient 2A.
      let g2 = gradient(at: a) { a in try! eigh(a).values.squared().sum() }
      #expect(g2.isAlmostEqual(to: 2 * a))
      let (_, tangent) = jvp(at: a, tangent: Self.identity3) { a in try! eigh(a).values.sum() }
      #expect(Swift.abs(tangent.scalar - 3) < 1e-12)
    }
  }

  // MARK: 6. NaN propagates

  @Test("relu, max and min propagate NaN in values and gradients, in both orders")
  func nanPropagates() {
    let x = Tensor<Double>([.nan, -1, 2])
    let r = relu(x).scalars
    #expect(r[0].isNaN && r[1] == 0 && r[2] == 2)
    let dr = gradient(at: x) { relu($0).sum() }.scalars
    #expect(dr[0].isNaN && dr[1] == 0 && dr[2] == 1)
    for (a, b) in [(Tensor<Double>(.nan), Tensor<Double>(1)), (Tensor(1), Tensor(.nan))] {
      #expect(max(a, b).scalar.isNaN && min(a, b).scalar.isNaN)
      let (da, db) = gradient(at: a, b) { max($0, $1) }
      #expect(da.scalar.isNaN && db.scalar.isNaN)
    }
    // Large (fused) tensors propagate it too.
    var big = [Double](repeating: -1, count: 1 << 16)
    big[12345] = .nan
    let y = relu(Tensor(shape: [1 << 16], scalars: big)).sum()
    #expect(y.scalar.isNaN)
    let m = max(Tensor(shape: [1 << 16], scalars: big), 0).scalars
    #expect(m[12345].isNaN && m[0] == 0)
  }

  @Test("A tie in max and min splits the gradient, as PyTorch and JAX do")
  func tiesSplitTheGradient() {
    let (da, db) = gradient(at: Tensor<Double>(1), Tensor<Double>(1)) { max($0, $1) }
    #expect(da.scalar == 0.5 && db.scalar == 0.5)
    let (ma, mb) = gradient(at: Tensor<Double>(1), Tensor<Double>(1)) { min($0, $1) }
    #expect(ma.scalar == 0.5 && mb.scalar == 0.5)
  }

  // MARK: 7. Converting precision

  @Test("Converting precision is differentiable: the gradient converts back")
  func conversionIsDifferentiable() {
    let g = gradient(at: Tensor<Float>([1, 2])) { x in
      (Tensor<Float>(Tensor<Double>(x) * 2) * x).sum()
    }
    #expect(g.scalars == [4, 8])
    // Regions nested three deep: x → Double → Float → Double → Float, each used on its way.
    let x = Tensor<Float>([0.5, -1, 2])
    func f(_ x: Tensor<Float>) -> Tensor<Float> {
      let a = sin(Tensor<Double>(x)) * 3
      let b = Tensor<Float>(a) * x
      let c = exp(Tensor<Double>(b)) + Tensor<Double>(x).squared()
      return (Tensor<Float>(c) * b).sum()
    }
    // The same function in Double throughout.
    func fDouble(_ x: Tensor<Double>) -> Tensor<Double> {
      let b = sin(x) * 3 * x
      return ((exp(b) + x.squared()) * b).sum()
    }
    let xd = Tensor<Double>(x)
    let expected = gradient(at: xd, of: fDouble)
    #expect(
      Tensor<Double>(gradient(at: x, of: f)).isAlmostEqual(to: expected, relativeTolerance: 1e-5))
    let (_, tangent) = jvp(at: x, tangent: Tensor([1, 2, 3]), of: f)
    let (_, expectedTangent) = jvp(at: xd, tangent: Tensor([1, 2, 3]), of: fDouble)
    #expect(Swift.abs(Double(tangent.scalar) / expectedTangent.scalar - 1) < 1e-5)
    // Second order across the boundary, both ways of nesting.
    let h = hessianVectorProduct(at: x, direction: Tensor([1, 0, -1]), of: f)
    let expectedH = hessianVectorProduct(at: xd, direction: Tensor([1, 0, -1]), of: fDouble)
    #expect(Tensor<Double>(h).isAlmostEqual(to: expectedH, relativeTolerance: 1e-4))
    let rr = gradient(at: x) { x in gradient(at: x, of: f).squared().sum() }
    let expectedRR = gradient(at: xd) { x in gradient(at: x, of: fDouble).squared().sum() }
    #expect(Tensor<Double>(rr).isAlmostEqual(to: expectedRR, relativeTolerance: 1e-4))
    // Converting to the same type is the tensor itself.
    #expect(gradient(at: x) { Tensor<Float>($0).sum() }.scalars == [1, 1, 1])
  }

  // MARK: 8. pow with a negative base

  @Test("pow follows C at negative bases with huge and infinite exponents")
  func powFollowsC() {
    let bases: [Double] = [-2, -1, -.infinity, -2, -0.5, 0, -0.0, .nan, 1]
    let exponents: [Double] = [1e30, .infinity, 0.5, 3, -.infinity, 0, -1, 0, .nan]
    let result = pow(Tensor(bases), Tensor(exponents)).scalars
    for (i, (b, e)) in zip(bases, exponents).enumerated() {
      let c = Foundation.pow(b, e)
      #expect(result[i] == c || (result[i].isNaN && c.isNaN), "pow(\(b), \(e))")
      #expect(result[i].sign == c.sign || c.isNaN, "pow(\(b), \(e))")
    }
    let f = pow(Tensor<Float>([-2, -1, -.infinity]), Tensor<Float>([1e30, .infinity, 0.5])).scalars
    #expect(f == [.infinity, 1, .infinity])
  }

  // MARK: 9. Symmetrizing without overflow

  @Test("cholesky and eigh of finite matrices near the largest value do not overflow")
  func nearLargestValue() throws {
    let a = Tensor<Float>(shape: [2, 2], scalars: [3e38, 0, 0, 3e38])
    let l = try cholesky(a)
    #expect(Swift.abs(l.scalars[0] / 1.7320508e19 - 1) < 1e-6 && l.scalars[0].isFinite)
    let values = try eigh(a).values.scalars
    #expect(values == [3e38, 3e38])
    let b = Tensor<Float>(shape: [2, 2], scalars: [1e38, 2e38, 2e38, 1e38])
    #expect(try eigh(b).values.scalars.allSatisfy(\.isFinite))
  }

  // MARK: 10. Found against PyTorch in float64 (session 16)

  @Test("pow's exponent gradient at a zero base: 0 where y ≥ 0, −∞ where y < 0, as PyTorch")
  func powExponentGradientAtZero() {
    // ∂/∂y xʸ = xʸ·log x: at x = 0 and y < 0 that is ∞·(−∞) = −∞ (PyTorch), not ∞·0.
    let (_, dy) = gradient(at: Tensor<Double>(zeros: [4]), Tensor([-2, -0.5, 0, 2])) { x, y in
      pow(x, y).sum()
    }
    let expected: [Double] = [-.infinity, -.infinity, 0, 0]
    #expect(dy.scalars == expected)
  }

  @Test("expm1's derivative is eˣ to full precision far below 0 (y + 1 kept no digits)")
  func expm1DerivativeFarBelowZero() {
    let x = Tensor<Double>([-40, -30, -10, 1e-10])
    let g = gradient(at: x) { expm1($0).sum() }.scalars
    for (i, value) in [-40.0, -30, -10, 1e-10].enumerated() {
      #expect(
        Swift.abs(g[i] - Foundation.exp(value)) <= 4 * Foundation.exp(value).ulp, "x = \(value)")
    }
    // elu's negative side is α·expm1(x), so its derivative α·eˣ (PyTorch: 4.25e-18 at −40).
    #expect(gradient(at: Tensor<Double>([-40])) { elu($0).sum() }.scalar > 0)
  }
}
