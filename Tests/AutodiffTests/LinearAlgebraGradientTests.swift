// The linear-algebra operations' gradients against central finite differences in Double (see
// Support/FiniteDifferences.swift), on seeded, well-conditioned inputs: every operand of every
// operation, every output of the decompositions, and second derivatives through recorded
// sweeps. Decompositions are tested where their derivative exists: distinct eigenvalues and
// singular values, full rank.

import Autodiff
import Foundation
import Testing

@Suite struct LinearAlgebraGradientTests {
  /// All outputs of a decomposition flattened into one vector, so that one finite-difference
  /// check covers each output's gradient and their sum at the shared node.
  static func joined(_ parts: Tensor<Double>...) -> Tensor<Double> {
    Tensor(concatenating: parts.map { $0.reshaped(to: [-1]) })
  }

  @Test("solve: the gradients in A and B match, for matrix and vector right-hand sides")
  func solveGradient() {
    var rng = SeededGenerator(seed: 3001)
    let a = Tensor<Double>(rows: Matrices.wellConditioned(4, using: &rng))
    let b = Tensor<Double>(rows: Matrices.uniform(4, 3, using: &rng))
    expectGradientsMatchFiniteDifferences(at: a, b) { try! solve($0, $1) }
    let vector = Tensor<Double>.uniform([4], in: -1..<1, using: &rng)
    expectGradientsMatchFiniteDifferences(at: a, vector) { try! solve($0, $1) }
  }

  @Test("inverse: the gradient −Yᵀ·Ȳ·Yᵀ matches", arguments: [1, 3, 5])
  func inverseGradient(n: Int) {
    var rng = SeededGenerator(seed: 3002)
    let a = Tensor<Double>(rows: Matrices.wellConditioned(n, using: &rng))
    expectGradientMatchesFiniteDifferences(at: a) { try! inverse($0) }
  }

  @Test("determinant: the gradient det A·A⁻ᵀ matches, for either sign", arguments: [1, 2, 4])
  func determinantGradient(n: Int) {
    var rng = SeededGenerator(seed: 3003)
    let a = Tensor<Double>(rows: Matrices.wellConditioned(n, using: &rng))
    expectGradientMatchesFiniteDifferences(at: a) { determinant($0) }
    expectGradientMatchesFiniteDifferences(at: -a) { determinant($0) }
  }

  @Test("determinant at singular matrices: the cofactor matrix (rank n − 1, or 0 below) matches")
  func determinantGradientAtSingular() {
    var rng = SeededGenerator(seed: 3004)
    // A rank-2 4×4 matrix has a zero cofactor matrix; rank 3 has a rank-one one.
    for rank in [3, 2] {
      let u = Tensor<Double>(rows: Matrices.uniform(4, rank, using: &rng))
      let v = Tensor<Double>(rows: Matrices.uniform(rank, 4, using: &rng))
      let a = matmul(u, v)
      let g = gradient(at: a) { determinant($0) }
      #expect(g.scalars.allSatisfy { $0.isFinite })
      // det is a polynomial, so finite differences are exact up to rounding even here.
      expectGradientMatchesFiniteDifferences(at: a) { determinant($0) }
    }
    // An exactly singular matrix whose LU factorization meets an exact zero pivot.
    let exact = Tensor<Double>(shape: [3, 3], scalars: [1, 2, 3, 2, 4, 6, 1, 0, 1])
    expectGradientMatchesFiniteDifferences(at: exact) { determinant($0) }
  }

  @Test("logDeterminant: the gradient of log|det A| is A⁻ᵀ and matches, for either sign")
  func logDeterminantGradient() {
    var rng = SeededGenerator(seed: 3005)
    let a = Tensor<Double>(rows: Matrices.wellConditioned(4, using: &rng))
    expectGradientMatchesFiniteDifferences(at: a) { logDeterminant($0).logAbs }
    expectGradientMatchesFiniteDifferences(at: -a) { logDeterminant($0).logAbs }
    let g = gradient(at: a) { logDeterminant($0).logAbs }
    let expected = try! inverse(a).transposed()
    #expect(g.isAlmostEqual(to: expected, relativeTolerance: 1e-12, absoluteTolerance: 1e-14))
    // The sign is a constant.
    #expect(!logDeterminant(Tape().watch(a)).sign.isRecorded)
  }

  @Test("cholesky: the gradient matches and is symmetric", arguments: [1, 3, 5])
  func choleskyGradient(n: Int) {
    var rng = SeededGenerator(seed: 3006)
    let a = Tensor<Double>(rows: Matrices.positiveDefinite(n, using: &rng))
    expectGradientMatchesFiniteDifferences(at: a) { try! cholesky($0) }
    let weights = Tensor<Double>(rows: Matrices.uniform(n, n, using: &rng))
    let g = gradient(at: a) { (try! cholesky($0) * weights).sum() }
    #expect(g.isAlmostEqual(to: g.transposed(), relativeTolerance: 1e-12, absoluteTolerance: 1e-14))
  }

  @Test(
    "choleskySolve: the gradients in the factor, in B and through cholesky match")
  func choleskySolveGradient() throws {
    var rng = SeededGenerator(seed: 3007)
    let a = Tensor<Double>(rows: Matrices.positiveDefinite(4, using: &rng))
    let l = try cholesky(a)
    let b = Tensor<Double>(rows: Matrices.uniform(4, 2, using: &rng))
    expectGradientsMatchFiniteDifferences(at: l, b) { try! choleskySolve($0, $1) }
    expectGradientsMatchFiniteDifferences(at: a, b) { try! choleskySolve(try! cholesky($0), $1) }
    let vector = Tensor<Double>.uniform([4], in: -1..<1, using: &rng)
    expectGradientsMatchFiniteDifferences(at: a, vector) {
      try! choleskySolve(try! cholesky($0), $1)
    }
  }

  @Test(
    "triangularSolve: the gradients match for each triangle, transposition and diagonal",
    arguments: [false, true], [(false, false), (false, true), (true, false), (true, true)])
  func triangularSolveGradient(lower: Bool, flags: (transposed: Bool, unitDiagonal: Bool)) {
    let (transposed, unitDiagonal) = flags
    var rng = SeededGenerator(seed: 3008)
    // A full matrix: the finite differences see that the other triangle is not read.
    let a = Tensor<Double>(rows: Matrices.wellConditioned(4, using: &rng))
    let b = Tensor<Double>(rows: Matrices.uniform(4, 3, using: &rng))
    expectGradientsMatchFiniteDifferences(at: a, b) {
      try! triangularSolve(
        $0, $1, lower: lower, transposed: transposed, unitDiagonal: unitDiagonal)
    }
  }

  @Test(
    "qr: the gradients of Q and R match, for tall, square and wide matrices",
    arguments: [(5, 3), (4, 4), (3, 5), (4, 1), (1, 3)] as [(Int, Int)])
  func qrGradient(size: (Int, Int)) {
    var rng = SeededGenerator(seed: 3009)
    let a = Tensor<Double>(rows: Matrices.uniform(size.0, size.1, using: &rng))
    expectGradientMatchesFiniteDifferences(at: a) { a in
      let (q, r) = qr(a)
      return Self.joined(q, r)
    }
    // Each output alone: the other's gradient reaches the node as zeros.
    expectGradientMatchesFiniteDifferences(at: a) { qr($0).q }
    expectGradientMatchesFiniteDifferences(at: a) { qr($0).r }
  }

  @Test(
    "eigh: the gradients of values and vectors match (distinct eigenvalues)", arguments: [1, 2, 4])
  func eighGradient(n: Int) {
    var rng = SeededGenerator(seed: 3010)
    let values = (0..<n).map { Double($0) - 1.2 }
    let a = Tensor<Double>(rows: Matrices.symmetric(eigenvalues: values, using: &rng))
    expectGradientMatchesFiniteDifferences(at: a) { a in
      let (values, vectors) = try! eigh(a)
      return Self.joined(values, vectors)
    }
    expectGradientMatchesFiniteDifferences(at: a) { try! eigh($0).values }
  }

  @Test(
    "svd: the gradients of U, S and V match (distinct values), tall, square and wide",
    arguments: [(5, 3), (4, 4), (3, 5), (3, 1)] as [(Int, Int)])
  func svdGradient(size: (Int, Int)) {
    var rng = SeededGenerator(seed: 3011)
    let k = min(size.0, size.1)
    let values = (0..<k).map { 2.5 - 0.6 * Double($0) }
    let a = Tensor<Double>(
      rows: Matrices.withSingularValues(values, rows: size.0, columns: size.1, using: &rng))
    expectGradientMatchesFiniteDifferences(at: a) { a in
      let (u, s, v) = try! svd(a)
      return Self.joined(u, s, v)
    }
    expectGradientMatchesFiniteDifferences(at: a) { try! svd($0).s }
  }

  @Test("Repeated eigen- or singular values: exact where the loss cannot tell the basis, else NaN")
  func repeatedValues() {
    var rng = SeededGenerator(seed: 3013)
    let weights = Tensor<Double>.uniform([3, 3], in: -1..<1, using: &rng)
    let a = Tensor<Double>(shape: [3, 3], scalars: [1, 0, 0, 0, 1, 0, 0, 0, 2])
    // The projector onto the eigenspace of the repeated value, and the values: smooth in A.
    expectGradientMatchesFiniteDifferences(at: a) { a in
      let v = try! eigh(a).vectors[.all, 0..<2]
      return (matmul(v, transposed: false, v, transposed: true) * weights).sum()
    }
    // (A symmetric function of the pair's values: each alone has a kink where they cross.)
    expectGradientMatchesFiniteDifferences(at: a) {
      (try! eigh($0).values * Tensor([1, 1, 3])).sum()
    }
    // V·diag(λ²)·Vᵀ uses the values and the vectors of the pair: its derivative depends on how
    // the values would split, which the decomposition does not say (it was finite and wrong).
    let function = gradient(at: a) { a in
      let (values, vectors) = try! eigh(a)
      let scaled = vectors * values.squared().reshaped(to: [1, 3])
      return (matmul(scaled, transposed: false, vectors, transposed: true) * weights).sum()
    }
    #expect(function.scalars.contains { $0.isNaN })
    // One eigenvector of the pair: whichever LAPACK picked; no derivative.
    #expect(gradient(at: a) { try! eigh($0).vectors[.all, 0].sum() }.scalars.contains { $0.isNaN })
    // In forward mode, a direction that moves within the pair's space: the vectors' tangent
    // does not exist, the values' does.
    let direction = Tensor<Double>(shape: [3, 3], scalars: [0, 1, 0, 1, 0, 0, 0, 0, 1])
    #expect(
      jvp(at: a, tangent: direction) { try! eigh($0).vectors }.tangent.scalars.contains {
        $0.isNaN
      })
    let valuesTangent = jvp(at: a, tangent: direction) { try! eigh($0).values }.tangent
    #expect(valuesTangent.scalars.allSatisfy { $0.isFinite })

    // The polar factor U·Vᵀ at repeated singular values is smooth: exact (it was wrong).
    let b = Tensor<Double>(shape: [3, 3], scalars: [2, 0, 0, 0, 2, 0, 0, 0, 1])
    expectGradientMatchesFiniteDifferences(at: b) { b in
      let (u, _, v) = try! svd(b)
      return matmul(u, transposed: false, v, transposed: true)
    }
    // U·diag(s²)·Vᵀ uses the values and the vectors of the pair: NaN.
    let squares = gradient(at: b) { b in
      let (u, s, v) = try! svd(b)
      let scaled = u * s.squared().reshaped(to: [1, 3])
      return (matmul(scaled, transposed: false, v, transposed: true) * weights).sum()
    }
    #expect(squares.scalars.contains { $0.isNaN })
  }

  @Test("The singular values' gradient is U·Vᵀ for the nuclear norm")
  func nuclearNorm() throws {
    var rng = SeededGenerator(seed: 3012)
    let a = Tensor<Double>(rows: Matrices.uniform(4, 3, using: &rng))
    let g = gradient(at: a) { try! svd($0).s.sum() }
    let (u, _, v) = try svd(a)
    let expected = matmul(u, transposed: false, v, transposed: true)
    #expect(g.isAlmostEqual(to: expected, relativeTolerance: 1e-12, absoluteTolerance: 1e-14))
  }
}

// MARK: - Second derivatives

extension LinearAlgebraGradientTests {
  enum Loss: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case solve, inverse, determinant, logDeterminant, cholesky, choleskySolve, triangularSolve
    case qr, eigh, svd

    var testDescription: String { rawValue }

    /// Fixed, varied weights of `shape`.
    static func weights<Scalar>(_ shape: [Int]) -> Tensor<Scalar> {
      let count = shape.reduce(1, *)
      let scalars: [Double] = (0..<count).map { Foundation.sin(Double(3 * $0 + 1)) }
      return Tensor(Tensor(shape: shape, scalars: scalars))
    }

    func input(using rng: inout SeededGenerator) -> Tensor<Double> {
      switch self {
      case .cholesky, .choleskySolve: Tensor(rows: Matrices.positiveDefinite(3, using: &rng))
      case .eigh: Tensor(rows: Matrices.symmetric(eigenvalues: [-1, 0.5, 2], using: &rng))
      case .svd:
        Tensor(rows: Matrices.withSingularValues([2, 1.2, 0.5], rows: 4, columns: 3, using: &rng))
      case .qr: Tensor(rows: Matrices.uniform(4, 3, using: &rng))
      default: Tensor(rows: Matrices.wellConditioned(3, using: &rng))
      }
    }

    /// A scalar loss of `a`, nonlinear in each output so that its Hessian is not 0.
    func callAsFunction<Scalar>(_ a: Tensor<Scalar>) -> Tensor<Scalar> {
      let n = a.shape[0]
      let b: Tensor<Scalar> = Self.weights([n, 2])
      switch self {
      case .solve: return (try! Autodiff.solve(a, b)).squared().sum()
      case .inverse:
        return (try! Autodiff.inverse(a) * Self.weights([n, n])).squared().sum()
      case .determinant: return Autodiff.determinant(a).squared()
      case .logDeterminant: return Autodiff.logDeterminant(a).logAbs.squared()
      case .cholesky: return (try! Autodiff.cholesky(a)).squared().sum()
      case .choleskySolve:
        return (try! Autodiff.choleskySolve(try! Autodiff.cholesky(a), b)).squared().sum()
      case .triangularSolve:
        return (try! Autodiff.triangularSolve(a, b, lower: true, transposed: true)).squared().sum()
      case .qr:
        let (q, r) = Autodiff.qr(a)
        return (q * Self.weights(q.shape)).squared().sum() + (r * Self.weights(r.shape)).sum()
      case .eigh:
        let (values, vectors) = try! Autodiff.eigh(a)
        return values.squared().sum() + (vectors * Self.weights([n, n])).squared().sum()
      case .svd:
        let (u, s, v) = try! Autodiff.svd(a)
        return s.squared().sum() + (u * Self.weights(u.shape)).squared().sum()
          + (v * Self.weights(v.shape)).sum()
      }
    }
  }

  @Test(
    "Hessian-vector products through recorded pullbacks match finite differences",
    arguments: Loss.allCases)
  func hessianVectorProduct(loss: Loss) {
    var rng = SeededGenerator(seed: 3101)
    let a = loss.input(using: &rng)
    // Contracting ∇L with the helper's random upstream u makes its tape gradient H·u, taken
    // through the recorded sweep (createGraph), where the pullbacks' solves are recorded too.
    expectGradientMatchesFiniteDifferences(at: a, relativeTolerance: 1e-5) { a in
      gradient(at: a) { loss($0) }
    }
  }

  @Test(
    "Float gradients agree with Double gradients (the single-precision LAPACK and BLAS paths)",
    arguments: Loss.allCases)
  func floatAgreesWithDouble(loss: Loss) {
    var rng = SeededGenerator(seed: 3102)
    let a = loss.input(using: &rng)
    let double = gradient(at: a) { loss($0) }
    let float = Tensor<Double>(gradient(at: Tensor<Float>(a)) { loss($0) })
    // Inputs of order 1 and condition numbers below 10: Float's ε = 1.2·10⁻⁷ times a few
    // hundred operations, relative to the gradient's largest element.
    let scale = max(1, double.scalars.map(abs).max() ?? 0)
    #expect(
      float.isAlmostEqual(to: double, relativeTolerance: 0, absoluteTolerance: 1e-4 * scale),
      "Float \(float)\nDouble \(double)")
  }
}
