// The linear-algebra operations' values: each against a textbook reference on seeded,
// well-conditioned matrices in Float and Double (see Support/NaiveLinearAlgebra.swift), the
// identities each decomposition satisfies, the typed errors on singular and indefinite inputs,
// NaN propagation, and a least-squares fit solved two ways. Gradients are in
// LinearAlgebraGradientTests.swift.

import Autodiff
import Foundation
import Testing

@Suite struct LinearAlgebraTests {}

/// The element types, for tests that run in both.
enum Precision: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case float = "Float"
  case double = "Double"

  var testDescription: String { rawValue }

  /// The error allowed relative to the largest element, for small well-conditioned problems:
  /// a few hundred rounding errors of the type (ε = 1.2·10⁻⁷ and 2.2·10⁻¹⁶).
  var tolerance: Double {
    switch self {
    case .float: 2e-5
    case .double: 1e-12
    }
  }
}

/// Records an issue unless `actual` and `expected` agree elementwise to `tolerance` times the
/// largest magnitude in `expected` (at least 1).
func expectClose(
  _ actual: Rows, _ expected: Rows, tolerance: Double, _ what: String,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  guard actual.count == expected.count, zip(actual, expected).allSatisfy({ $0.count == $1.count })
  else {
    Issue.record("\(what): shape differs", sourceLocation: sourceLocation)
    return
  }
  let scale = max(1, expected.joined().map(abs).max() ?? 0)
  let error = zip(actual.joined(), expected.joined()).map { abs($0 - $1) }.max() ?? 0
  #expect(
    error <= tolerance * scale,
    Comment(
      rawValue: "\(what): largest difference \(error), allowed \(tolerance * scale)\n"
        + "actual \(actual)\nexpected \(expected)"), sourceLocation: sourceLocation)
}

/// `expectClose` for vectors.
func expectClose(
  _ actual: [Double], _ expected: [Double], tolerance: Double, _ what: String,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  expectClose([actual], [expected], tolerance: tolerance, what, sourceLocation: sourceLocation)
}

extension Tensor {
  /// The elements converted to Double.
  var doubles: [Double] { Tensor<Double>(self).scalars }
}

/// `columns` with each column's sign flipped where that makes it point like the same column of
/// `reference`: singular and eigenvectors are defined up to sign.
func alignedSigns(_ columns: Rows, to reference: Rows) -> Rows {
  let signs = (0..<(columns.first?.count ?? 0)).map { j in
    columns.indices.reduce(0.0) { $0 + columns[$1][j] * reference[$1][j] } < 0 ? -1.0 : 1.0
  }
  return columns.map { row in row.enumerated().map { $1 * signs[$0] } }
}

// MARK: - Against the references

extension LinearAlgebraTests {
  @Suite struct AgainstReferences {
    static let orders = [1, 2, 5]

    @Test(
      "solve matches Gauss–Jordan elimination, for a matrix and a vector right-hand side",
      arguments: Precision.allCases, orders)
    func solveMatches(precision: Precision, n: Int) throws {
      switch precision {
      case .float: try check(Float.self)
      case .double: try check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) throws {
        var rng = SeededGenerator(seed: 2001)
        let a = Matrices.wellConditioned(n, using: &rng)
        let b = Matrices.uniform(n, 3, using: &rng)
        let x = try solve(Tensor<Scalar>(rows: a), Tensor<Scalar>(rows: b))
        expectClose(x.rows, Naive.solve(a, b), tolerance: precision.tolerance, "solve")
        let vector = Tensor<Scalar>(rows: b).sliced(alongAxis: 1, 0..<1).reshaped(to: [n])
        let y = try solve(Tensor<Scalar>(rows: a), vector)
        #expect(y.shape == [n])
        expectClose(
          y.doubles, Naive.solve(a, b).map { $0[0] }, tolerance: precision.tolerance,
          "solve with a vector")
      }
    }

    @Test("inverse matches Gauss–Jordan elimination", arguments: Precision.allCases, orders)
    func inverseMatches(precision: Precision, n: Int) throws {
      switch precision {
      case .float: try check(Float.self)
      case .double: try check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) throws {
        var rng = SeededGenerator(seed: 2002)
        let a = Matrices.wellConditioned(n, using: &rng)
        let y = try inverse(Tensor<Scalar>(rows: a))
        expectClose(y.rows, Naive.inverse(a), tolerance: precision.tolerance, "inverse")
      }
    }

    @Test(
      "determinant and logDeterminant match cofactor expansion, for either sign",
      arguments: Precision.allCases, orders)
    func determinantMatches(precision: Precision, n: Int) {
      switch precision {
      case .float: check(Float.self)
      case .double: check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) {
        var rng = SeededGenerator(seed: 2003)
        var a = Matrices.wellConditioned(n, using: &rng)
        for flip in [false, true] {
          if flip { a[0] = a[0].map { -$0 } }  // one negated row negates the determinant
          let expected = Naive.determinant(a)
          let tensor = Tensor<Scalar>(rows: a)
          let det = determinant(tensor).doubles[0]
          #expect(
            abs(det - expected) <= precision.tolerance * abs(expected),
            "det: \(det), expected \(expected)")
          let (sign, logAbs) = logDeterminant(tensor)
          #expect(sign.doubles == [expected < 0 ? -1 : 1])
          #expect(
            abs(logAbs.doubles[0] - Foundation.log(abs(expected))) <= precision.tolerance * 10,
            "log|det|: \(logAbs), expected \(Foundation.log(abs(expected)))")
        }
      }
    }

    @Test(
      "cholesky matches the Cholesky–Banachiewicz recurrence, and choleskySolve elimination",
      arguments: Precision.allCases, orders)
    func choleskyMatches(precision: Precision, n: Int) throws {
      switch precision {
      case .float: try check(Float.self)
      case .double: try check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) throws {
        var rng = SeededGenerator(seed: 2004)
        let a = Matrices.positiveDefinite(n, using: &rng)
        let b = Matrices.uniform(n, 2, using: &rng)
        let l = try cholesky(Tensor<Scalar>(rows: a))
        expectClose(l.rows, Naive.cholesky(a), tolerance: precision.tolerance, "cholesky")
        let x = try choleskySolve(l, Tensor<Scalar>(rows: b))
        expectClose(x.rows, Naive.solve(a, b), tolerance: precision.tolerance, "choleskySolve")
      }
    }

    @Test(
      "triangularSolve matches substitution for each triangle and transposition",
      arguments: Precision.allCases, [(false, false), (false, true), (true, false), (true, true)])
    func triangularSolveMatches(precision: Precision, flags: (lower: Bool, transposed: Bool)) throws
    {
      let (lower, transposed) = flags
      switch precision {
      case .float: try check(Float.self)
      case .double: try check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) throws {
        var rng = SeededGenerator(seed: 2005)
        let n = 5
        let full = Matrices.wellConditioned(n, using: &rng)
        let triangle = full.enumerated().map { i, row in
          row.enumerated().map { j, value in (lower ? j <= i : j >= i) ? value : 0 }
        }
        let b = Matrices.uniform(n, 3, using: &rng)
        // The full matrix goes in: the other triangle must be ignored.
        let x = try triangularSolve(
          Tensor<Scalar>(rows: full), Tensor<Scalar>(rows: b), lower: lower,
          transposed: transposed)
        let expected = Naive.triangularSolve(triangle, b, lower: lower, transposed: transposed)
        expectClose(x.rows, expected, tolerance: precision.tolerance, "triangularSolve")
        // With a unit diagonal, the diagonal is not read either.
        let unit = triangle.enumerated().map { i, row in
          row.enumerated().map { j, value in i == j ? 1 : value }
        }
        let xUnit = try triangularSolve(
          Tensor<Scalar>(rows: full), Tensor<Scalar>(rows: b), lower: lower,
          transposed: transposed, unitDiagonal: true)
        expectClose(
          xUnit.rows, Naive.triangularSolve(unit, b, lower: lower, transposed: transposed),
          tolerance: precision.tolerance, "triangularSolve with a unit diagonal")
      }
    }

    @Test(
      "qr matches Gram–Schmidt up to the signs of R's diagonal, tall, square and wide",
      arguments: Precision.allCases, [(5, 3), (4, 4), (3, 5)] as [(Int, Int)])
    func qrMatches(precision: Precision, size: (Int, Int)) {
      switch precision {
      case .float: check(Float.self)
      case .double: check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) {
        var rng = SeededGenerator(seed: 2006)
        let a = Matrices.uniform(size.0, size.1, using: &rng)
        let (q, r) = qr(Tensor<Scalar>(rows: a))
        let k = min(size.0, size.1)
        #expect(q.shape == [size.0, k] && r.shape == [k, size.1])
        // Gram–Schmidt makes R's diagonal positive; LAPACK may not. D = sign(diag R) maps one
        // to the other: Q·R = (Q·D)·(D·R).
        let signs = (0..<k).map { r.rows[$0][$0] < 0 ? -1.0 : 1.0 }
        let qNormalized = q.rows.map { row in row.enumerated().map { $1 * signs[$0] } }
        let rNormalized = r.rows.enumerated().map { i, row in row.map { $0 * signs[i] } }
        let (qExpected, rExpected) = Naive.qr(a)
        expectClose(qNormalized, qExpected, tolerance: precision.tolerance * 10, "qr Q")
        expectClose(rNormalized, rExpected, tolerance: precision.tolerance * 10, "qr R")
      }
    }

    @Test(
      "eigh matches Jacobi rotations: values ascending, vectors up to sign",
      arguments: Precision.allCases, orders)
    func eighMatches(precision: Precision, n: Int) throws {
      switch precision {
      case .float: try check(Float.self)
      case .double: try check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) throws {
        var rng = SeededGenerator(seed: 2007)
        let values = (0..<n).map { Double($0) * 0.7 - 1.3 }
        let a = Matrices.symmetric(eigenvalues: values, using: &rng)
        let (lambda, v) = try eigh(Tensor<Scalar>(rows: a))
        let expected = Naive.symmetricEigen(a)
        expectClose(lambda.doubles, expected.values, tolerance: precision.tolerance, "eigh values")
        expectClose(
          alignedSigns(v.rows, to: expected.vectors), expected.vectors,
          tolerance: precision.tolerance * 10, "eigh vectors")
      }
    }

    @Test(
      "svd matches the eigendecomposition of AᵀA: values descending, vectors up to sign",
      arguments: Precision.allCases, [(5, 3), (4, 4), (3, 5)] as [(Int, Int)])
    func svdMatches(precision: Precision, size: (Int, Int)) throws {
      switch precision {
      case .float: try check(Float.self)
      case .double: try check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) throws {
        var rng = SeededGenerator(seed: 2008)
        let a = Matrices.uniform(size.0, size.1, using: &rng)
        let (u, s, v) = try svd(Tensor<Scalar>(rows: a))
        // The reference needs m ≥ n; a wide matrix's SVD is its transpose's, with U and V
        // exchanged.
        let wide = size.0 < size.1
        let expected = Naive.svd(wide ? Naive.transpose(a) : a)
        let (uExpected, vExpected) = wide ? (expected.v, expected.u) : (expected.u, expected.v)
        expectClose(s.doubles, expected.s, tolerance: precision.tolerance * 10, "svd S")
        let uAligned = alignedSigns(u.rows, to: uExpected)
        expectClose(uAligned, uExpected, tolerance: precision.tolerance * 100, "svd U")
        // V's columns flip with U's.
        let signs = (0..<s.shape[0]).map { uAligned[0][$0] * u.rows[0][$0] < 0 ? -1.0 : 1.0 }
        let vAligned = v.rows.map { row in row.enumerated().map { $1 * signs[$0] } }
        expectClose(vAligned, vExpected, tolerance: precision.tolerance * 100, "svd V")
      }
    }
  }
}

// MARK: - Identities

extension LinearAlgebraTests {
  @Suite struct Identities {
    @Test("A·A⁻¹ = A⁻¹·A = I", arguments: Precision.allCases)
    func inverseIdentity(precision: Precision) throws {
      switch precision {
      case .float: try check(Float.self)
      case .double: try check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) throws {
        var rng = SeededGenerator(seed: 2101)
        let a = Tensor<Scalar>(rows: Matrices.wellConditioned(6, using: &rng))
        let y = try inverse(a)
        expectClose(matmul(a, y).rows, Naive.identity(6), tolerance: precision.tolerance, "A·A⁻¹")
        expectClose(matmul(y, a).rows, Naive.identity(6), tolerance: precision.tolerance, "A⁻¹·A")
      }
    }

    @Test("det(A·B) = det A · det B", arguments: Precision.allCases)
    func determinantIsMultiplicative(precision: Precision) {
      switch precision {
      case .float: check(Float.self)
      case .double: check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) {
        var rng = SeededGenerator(seed: 2102)
        let a = Tensor<Scalar>(rows: Matrices.uniform(4, 4, using: &rng))
        let b = Tensor<Scalar>(rows: Matrices.wellConditioned(4, using: &rng))
        let product = determinant(matmul(a, b)).doubles[0]
        let expected = determinant(a).doubles[0] * determinant(b).doubles[0]
        #expect(
          abs(product - expected) <= precision.tolerance * 10 * abs(expected),
          "det(AB) = \(product), det A·det B = \(expected)")
        // In log space, with the signs: log|det AB| = log|det A| + log|det B|.
        let (signAB, logAB) = logDeterminant(matmul(a, b))
        let (signA, logA) = logDeterminant(a)
        let (signB, logB) = logDeterminant(b)
        #expect(signAB.doubles[0] == signA.doubles[0] * signB.doubles[0])
        #expect(
          abs(logAB.doubles[0] - logA.doubles[0] - logB.doubles[0]) <= precision.tolerance * 10)
      }
    }

    @Test("L·Lᵀ = A with L lower triangular and a positive diagonal", arguments: Precision.allCases)
    func choleskyIdentity(precision: Precision) throws {
      switch precision {
      case .float: try check(Float.self)
      case .double: try check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) throws {
        var rng = SeededGenerator(seed: 2103)
        let a = Matrices.positiveDefinite(6, using: &rng)
        let l = try cholesky(Tensor<Scalar>(rows: a))
        expectClose(
          matmul(l, transposed: false, l, transposed: true).rows, a,
          tolerance: precision.tolerance, "L·Lᵀ")
        let rows = l.rows
        for i in 0..<6 {
          #expect(rows[i][i] > 0)
          for j in (i + 1)..<6 { #expect(rows[i][j] == 0) }
        }
      }
    }

    @Test(
      "Q·R = A with QᵀQ = I and R upper triangular",
      arguments: Precision.allCases, [(7, 4), (5, 5), (3, 6)] as [(Int, Int)])
    func qrIdentity(precision: Precision, size: (Int, Int)) {
      switch precision {
      case .float: check(Float.self)
      case .double: check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) {
        var rng = SeededGenerator(seed: 2104)
        let a = Matrices.uniform(size.0, size.1, using: &rng)
        let (q, r) = qr(Tensor<Scalar>(rows: a))
        let k = min(size.0, size.1)
        expectClose(matmul(q, r).rows, a, tolerance: precision.tolerance, "Q·R")
        expectClose(
          matmul(q, transposed: true, q, transposed: false).rows, Naive.identity(k),
          tolerance: precision.tolerance, "QᵀQ")
        for (i, row) in r.rows.enumerated() {
          for j in 0..<min(i, size.1) { #expect(row[j] == 0) }
        }
      }
    }

    @Test(
      "U·diag(S)·Vᵀ = A with orthonormal U and V and S descending",
      arguments: Precision.allCases, [(7, 4), (5, 5), (3, 6)] as [(Int, Int)])
    func svdIdentity(precision: Precision, size: (Int, Int)) throws {
      switch precision {
      case .float: try check(Float.self)
      case .double: try check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) throws {
        var rng = SeededGenerator(seed: 2105)
        let a = Matrices.uniform(size.0, size.1, using: &rng)
        let (u, s, v) = try svd(Tensor<Scalar>(rows: a))
        let k = min(size.0, size.1)
        #expect(u.shape == [size.0, k] && s.shape == [k] && v.shape == [size.1, k])
        expectClose(
          matmul(u * s, transposed: false, v, transposed: true).rows, a,
          tolerance: precision.tolerance, "U·diag(S)·Vᵀ")
        expectClose(
          matmul(u, transposed: true, u, transposed: false).rows, Naive.identity(k),
          tolerance: precision.tolerance, "UᵀU")
        expectClose(
          matmul(v, transposed: true, v, transposed: false).rows, Naive.identity(k),
          tolerance: precision.tolerance, "VᵀV")
        let values = s.doubles
        #expect(values == values.sorted(by: >) && values.allSatisfy { $0 >= 0 })
      }
    }

    @Test("V·diag(λ)·Vᵀ = A with VᵀV = I and λ ascending", arguments: Precision.allCases)
    func eighIdentity(precision: Precision) throws {
      switch precision {
      case .float: try check(Float.self)
      case .double: try check(Double.self)
      }
      func check<Scalar: TensorScalar>(_: Scalar.Type) throws {
        var rng = SeededGenerator(seed: 2106)
        let m = Matrices.uniform(6, 6, using: &rng)
        let a = Naive.multiply(m, Naive.transpose(m)).enumerated().map { i, row in
          row.enumerated().map { j, value in value - (i == j ? 1.5 : 0) }  // indefinite
        }
        let (lambda, v) = try eigh(Tensor<Scalar>(rows: a))
        expectClose(
          matmul(v * lambda, transposed: false, v, transposed: true).rows, a,
          tolerance: precision.tolerance, "V·diag(λ)·Vᵀ")
        expectClose(
          matmul(v, transposed: true, v, transposed: false).rows, Naive.identity(6),
          tolerance: precision.tolerance, "VᵀV")
        #expect(lambda.doubles == lambda.doubles.sorted())
      }
    }

    @Test("Empty matrices: det 1, log|det| 0, and empty factors")
    func emptyMatrices() throws {
      let empty = Tensor<Double>(zeros: [0, 0])
      #expect(determinant(empty) == Tensor(1))
      #expect(logDeterminant(empty).logAbs == Tensor(0))
      #expect(try inverse(empty).shape == [0, 0])
      #expect(try cholesky(empty).shape == [0, 0])
      #expect(try solve(empty, Tensor(zeros: [0, 2])).shape == [0, 2])
      #expect(qr(Tensor<Double>(zeros: [3, 0])).q.shape == [3, 0])
      #expect(try svd(Tensor<Double>(zeros: [0, 4])).v.shape == [4, 0])
      #expect(try eigh(empty).values.shape == [0])
    }
  }
}

// MARK: - Singular and indefinite inputs

extension LinearAlgebraTests {
  @Suite struct Errors {
    /// Rank 1: the second row is twice the first, so elimination leaves an exact 0 in U₂₂.
    static let singular = Tensor<Double>(shape: [2, 2], scalars: [1, 2, 2, 4])
    /// Symmetric with eigenvalues 3 and −1.
    static let indefinite = Tensor<Double>(shape: [2, 2], scalars: [1, 2, 2, 1])

    @Test("solve and inverse throw .singular naming the zero pivot, in Float and Double")
    func singularSystem() {
      #expect(throws: LinearAlgebraError.singular(pivot: 2)) {
        try solve(Self.singular, Tensor([1, 1]))
      }
      #expect(throws: LinearAlgebraError.singular(pivot: 2)) { try inverse(Self.singular) }
      #expect(throws: LinearAlgebraError.singular(pivot: 2)) {
        try inverse(Tensor<Float>(Self.singular))
      }
      #expect(throws: LinearAlgebraError.singular(pivot: 1)) {
        try solve(Tensor<Float>(zeros: [3, 3]), Tensor<Float>(ones: [3, 2]))
      }
    }

    @Test("The .singular description says what failed and what to do")
    func singularDescription() {
      let message = LinearAlgebraError.singular(pivot: 2).description
      for fragment in ["singular", "element 2", "exactly zero", "regularize", "svd"] {
        #expect(message.contains(fragment), "\(message) lacks \(fragment)")
      }
    }

    @Test("cholesky throws .notPositiveDefinite naming the failing minor, in Float and Double")
    func indefiniteMatrix() {
      #expect(throws: LinearAlgebraError.notPositiveDefinite(minor: 2)) {
        try cholesky(Self.indefinite)
      }
      #expect(throws: LinearAlgebraError.notPositiveDefinite(minor: 2)) {
        try cholesky(Tensor<Float>(Self.indefinite))
      }
      #expect(throws: LinearAlgebraError.notPositiveDefinite(minor: 1)) {
        try cholesky(Tensor<Double>(shape: [2, 2], scalars: [-1, 0, 0, 1]))
      }
      // Positive semidefinite is not enough.
      #expect(throws: LinearAlgebraError.notPositiveDefinite(minor: 2)) {
        try cholesky(Self.singular)
      }
    }

    @Test("The .notPositiveDefinite description says what failed and what to do")
    func indefiniteDescription() {
      let message = LinearAlgebraError.notPositiveDefinite(minor: 3).description
      for fragment in ["not positive definite", "pivot 3", "3×3", "symmetric", "A + ε·I"] {
        #expect(message.contains(fragment), "\(message) lacks \(fragment)")
      }
    }

    @Test("The .didNotConverge description names the routine and what to do")
    func convergenceDescription() {
      let message = LinearAlgebraError.didNotConverge(routine: "dgesdd").description
      for fragment in ["dgesdd", "did not converge", "rescale", "Double"] {
        #expect(message.contains(fragment), "\(message) lacks \(fragment)")
      }
    }

    @Test("triangularSolve and choleskySolve throw .singular for a zero on the diagonal")
    func zeroDiagonal() throws {
      let l = Tensor<Double>(shape: [3, 3], scalars: [2, 0, 0, 1, 0, 0, 4, 5, 6])
      #expect(throws: LinearAlgebraError.singular(pivot: 2)) {
        try triangularSolve(l, Tensor(ones: [3]), lower: true)
      }
      #expect(throws: LinearAlgebraError.singular(pivot: 2)) {
        try choleskySolve(l, Tensor(ones: [3, 2]))
      }
      // A unit diagonal is not read, so its zeros do not matter.
      let x = try triangularSolve(l, Tensor(ones: [3]), lower: true, unitDiagonal: true)
      #expect(x == Tensor([1, 0, -3]))
    }

    @Test("A singular matrix has determinant 0 and log-magnitude −∞ with sign 0; no error")
    func singularDeterminant() {
      #expect(determinant(Self.singular) == Tensor(0))
      let (sign, logAbs) = logDeterminant(Self.singular)
      #expect(sign == Tensor(0))
      #expect(logAbs == Tensor(-.infinity))
    }

    @Test("A NaN or infinite input gives NaN results, and NaN gradients, instead of an error")
    func nonFiniteInputs() throws {
      var a = Tensor<Double>(shape: [2, 2], scalars: [2, 1, 1, 2])
      a.withUnsafeMutableBufferPointer { $0[1] = .nan }
      #expect(try solve(a, Tensor([1, 1])).scalars.allSatisfy { $0.isNaN })
      #expect(try cholesky(a).scalars.allSatisfy { $0.isNaN })
      #expect(determinant(a).scalar.isNaN)
      #expect(try svd(a).s.scalars.allSatisfy { $0.isNaN })
      let infinite = Tensor<Double>(shape: [2, 2], scalars: [.infinity, 0, 0, 1])
      #expect(try eigh(infinite).vectors.scalars.allSatisfy { $0.isNaN })
      #expect(qr(infinite).r.scalars.allSatisfy { $0.isNaN })
      let g = gradient(at: a) { try! inverse($0).sum() }
      #expect(g.scalars.allSatisfy { $0.isNaN })
      // A NaN that reaches a pullback's solve from further down propagates too.
      let b = Tensor<Double>(shape: [2, 2], scalars: [2, 1, 1, 2])
      let gb = gradient(at: b) { b in (try! solve(b, Tensor([1, 1])) * Tensor(.nan)).sum() }
      #expect(gb.scalars.allSatisfy { $0.isNaN })
      // Second derivatives too: the NaN gradient depends on the input (PyTorch's double
      // backward and JAX's jvp of grad give NaN); a constant NaN gave a Hessian of 0.
      let direction = Tensor<Double>(ones: [2, 2])
      let hessianVectorProducts = [
        hessianVectorProduct(at: a, direction: direction) { try! inverse($0).sum().squared() },
        hessianVectorProduct(at: a, direction: direction) { determinant($0).squared() },
        hessianVectorProduct(at: infinite, direction: direction) {
          try! eigh($0).values.squared().sum()
        },
        // An exactly singular matrix: log|det| has no derivative there.
        hessianVectorProduct(at: Self.singular, direction: direction) {
          logDeterminant($0).logAbs
        },
      ]
      for product in hessianVectorProducts { #expect(product.scalars.allSatisfy { $0.isNaN }) }
    }
  }
}

// MARK: - Least squares

extension LinearAlgebraTests {
  @Test("A least-squares fit by the normal equations and by gradient descent agree to 1e-6")
  func leastSquares() throws {
    var rng = SeededGenerator(seed: 2201)
    let samples = 40
    // Three features in −1..<1 and an intercept column of ones.
    let features = Tensor<Double>(randomUniform: [samples, 3], in: -1..<1, using: &rng)
    let x = Tensor(concatenating: [features, Tensor(ones: [samples, 1])], alongAxis: 1)
    let truth = Tensor<Double>(shape: [4, 1], scalars: [1.5, -2, 0.5, 0.25])
    let noise = Tensor<Double>(randomNormal: [samples, 1], standardDeviation: 0.1, using: &rng)
    let y = matmul(x, truth) + noise

    // The normal equations XᵀX·w = Xᵀy, solved directly.
    let direct = try solve(
      matmul(x, transposed: true, x, transposed: false),
      matmul(x, transposed: true, y, transposed: false))

    // Gradient descent on L(w) = ‖X·w − y‖²/(2N), whose Hessian XᵀX/N has eigenvalues near
    // 1/3 (the features' variance) and 1 (the intercept): a step of 1 contracts the error by
    // about 2/3 per step or better, so 200 steps reach 10⁻³⁰ of the start, below rounding.
    var w = Tensor<Double>(zeros: [4, 1])
    for _ in 0..<200 {
      let g = gradient(at: w) { w in (matmul(x, w) - y).squared().sum() / Double(2 * samples) }
      w -= 1.0 * g
    }
    #expect(
      w.isAlmostEqual(to: direct, relativeTolerance: 0, absoluteTolerance: 1e-6),
      "gradient descent \(w.scalars), normal equations \(direct.scalars)")
    // And both are near the truth, within the noise.
    #expect(direct.isAlmostEqual(to: truth, relativeTolerance: 0, absoluteTolerance: 0.1))
  }
}
