// The linear-algebra operations' tangent rules (forward mode): each against central finite
// differences along a random direction and against its pullback (⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩), and
// Hessian-vector products forward over reverse, which run the tangent rules of the operations
// the pullbacks record (the solves with saved factors among them).

import Autodiff
import Foundation
import Testing

@Suite struct LinearAlgebraForwardModeTests {
  struct Case: CustomTestStringConvertible, Sendable {
    let name: String
    let inputs: @Sendable (inout SeededGenerator) -> [Tensor<Double>]
    let f: @Sendable ([Tensor<Double>]) -> Tensor<Double>
    var testDescription: String { name }
  }

  /// All outputs of a decomposition flattened into one vector.
  static func joined(_ parts: Tensor<Double>...) -> Tensor<Double> {
    Tensor(concatenating: parts.map { $0.reshaped(to: [-1]) })
  }

  static let cases: [Case] = [
    Case(name: "solve") { rng in
      [
        Tensor(rows: Matrices.wellConditioned(4, using: &rng)),
        Tensor(rows: Matrices.uniform(4, 2, using: &rng)),
      ]
    } f: {
      try! solve($0[0], $0[1])
    },
    Case(name: "inverse") { rng in
      [Tensor(rows: Matrices.wellConditioned(4, using: &rng))]
    } f: {
      try! inverse($0[0])
    },
    Case(name: "determinant") { rng in
      [Tensor(rows: Matrices.wellConditioned(3, using: &rng))]
    } f: {
      determinant($0[0])
    },
    Case(name: "determinant at a singular matrix") { _ in
      [Tensor(shape: [3, 3], scalars: [1, 2, 3, 2, 4, 6, 1, 0, 1])]
    } f: {
      determinant($0[0])
    },
    Case(name: "logDeterminant") { rng in
      [-Tensor(rows: Matrices.wellConditioned(3, using: &rng))]
    } f: {
      logDeterminant($0[0]).logAbs
    },
    Case(name: "cholesky") { rng in
      [Tensor(rows: Matrices.positiveDefinite(4, using: &rng))]
    } f: {
      try! cholesky($0[0])
    },
    Case(name: "choleskySolve") { rng in
      [
        try! cholesky(Tensor(rows: Matrices.positiveDefinite(4, using: &rng))),
        Tensor(rows: Matrices.uniform(4, 2, using: &rng)),
      ]
    } f: {
      try! choleskySolve($0[0], $0[1])
    },
    Case(name: "triangularSolve lower") { rng in
      [
        Tensor(rows: Matrices.wellConditioned(4, using: &rng)),
        Tensor(rows: Matrices.uniform(4, 2, using: &rng)),
      ]
    } f: {
      try! triangularSolve($0[0], $0[1], lower: true)
    },
    Case(name: "triangularSolve upper, transposed, unit diagonal") { rng in
      [
        Tensor(rows: Matrices.wellConditioned(4, using: &rng)),
        Tensor(rows: Matrices.uniform(4, 2, using: &rng)),
      ]
    } f: {
      try! triangularSolve($0[0], $0[1], lower: false, transposed: true, unitDiagonal: true)
    },
    Case(name: "qr tall") { rng in
      [Tensor(rows: Matrices.uniform(5, 3, using: &rng))]
    } f: {
      let (q, r) = qr($0[0])
      return joined(q, r)
    },
    Case(name: "qr wide") { rng in
      [Tensor(rows: Matrices.uniform(3, 5, using: &rng))]
    } f: {
      let (q, r) = qr($0[0])
      return joined(q, r)
    },
    Case(name: "eigh") { rng in
      [Tensor(rows: Matrices.symmetric(eigenvalues: [-1.5, 0.2, 1, 2.4], using: &rng))]
    } f: {
      let (values, vectors) = try! eigh($0[0])
      return joined(values, vectors)
    },
    Case(name: "svd tall") { rng in
      [Tensor(rows: Matrices.withSingularValues([2, 1.3, 0.6], rows: 5, columns: 3, using: &rng))]
    } f: {
      let (u, s, v) = try! svd($0[0])
      return joined(u, s, v)
    },
    Case(name: "svd square") { rng in
      [Tensor(rows: Matrices.withSingularValues([2, 1.3, 0.6], rows: 3, columns: 3, using: &rng))]
    } f: {
      let (u, s, v) = try! svd($0[0])
      return joined(u, s, v)
    },
    Case(name: "svd wide") { rng in
      [Tensor(rows: Matrices.withSingularValues([2, 1.3, 0.6], rows: 3, columns: 5, using: &rng))]
    } f: {
      let (u, s, v) = try! svd($0[0])
      return joined(u, s, v)
    },
  ]

  @Test(
    "Each op's tangent matches central finite differences and is the adjoint of its pullback",
    arguments: cases)
  func tangentRule(_ testCase: Case) {
    var rng = SeededGenerator(seed: 4001)
    let inputs = testCase.inputs(&rng)
    let directions = inputs.map { Tensor<Double>(randomNormal: $0.shape, using: &rng) }
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

  @Test(
    "Hessian-vector products forward over reverse equal reverse over reverse",
    arguments: LinearAlgebraGradientTests.Loss.allCases)
  func hessianVectorProduct(loss: LinearAlgebraGradientTests.Loss) {
    var rng = SeededGenerator(seed: 4002)
    let a = loss.input(using: &rng)
    let v = Tensor<Double>(randomNormal: a.shape, using: &rng)
    // Forward over reverse: the tangent of the recorded gradient sweep, whose pullbacks record
    // solves with the saved factors; each of those has a tangent rule too.
    let forwardOverReverse = Autodiff.hessianVectorProduct(at: a, direction: v) { loss($0) }
    let reverseOverReverse = gradient(at: a) { a in (gradient(at: a) { loss($0) } * v).sum() }
    let scale = max(1, reverseOverReverse.scalars.map(abs).max() ?? 0)
    #expect(
      forwardOverReverse.isAlmostEqual(
        to: reverseOverReverse, relativeTolerance: 0, absoluteTolerance: 1e-9 * scale),
      "forward over reverse \(forwardOverReverse)\nreverse over reverse \(reverseOverReverse)")
  }
}
