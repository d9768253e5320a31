// On `@_specialize`, see the Performance article in Documentation.docc.

// The Cholesky factorization of a symmetric positive definite matrix, and solves with it.

/// The Cholesky factor of a symmetric positive definite matrix: the lower triangular `L` with a
/// positive diagonal such that `L·Lᵀ = A` (LAPACK `potrf`).
///
/// ```swift
/// let l = try cholesky(covariance)
/// let x = try choleskySolve(l, b)   // covariance⁻¹·b
/// ```
///
/// The factorization reads the symmetric part `(A + Aᵀ)/2`, so a matrix that is symmetric up to
/// rounding is factored as intended and the gradient is the exact derivative of what is
/// computed. The gradient is symmetric.
///
/// The pullback (Murray 2016, "Differentiation of the Cholesky decomposition"): from
/// `dA = dL·Lᵀ + L·dLᵀ`, `L⁻¹·dL = Φ(L⁻¹·dA·L⁻ᵀ)`, where `Φ` takes the lower triangle and halves
/// the diagonal. Its adjoint gives
///
///     P = Φ(Lᵀ·L̄),   Ā = L⁻ᵀ · (P + Pᵀ)/2 · L⁻¹,
///
/// one gemm and two triangular solves with `L` (BLAS `trsm`, left and right).
///
/// A NaN or an infinity in `a` makes every element of `L` NaN.
///
/// - Returns: `L`, lower triangular with zeros above the diagonal.
/// - Throws: ``LinearAlgebraError/notPositiveDefinite(minor:)`` when `a` is not positive
///   definite.
/// - Precondition: `a` is a square matrix.
/// - Complexity: O(n³).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func cholesky<Scalar>(
  _ a: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) throws(LinearAlgebraError) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  let n = a.checkSquareMatrix("cholesky", "the matrix", at: location)
  guard n > 0 else { return Tensor(zeros: [0, 0]) }
  guard a.isFinite else {
    return nonFiniteResult("cholesky", shape: [n, n], operands: [a], at: location)
  }
  let factor = try Tensor<Scalar>.computing(shape: [n, n]) { (l) throws(LinearAlgebraError) in
    // The lower triangle of (A + Aᵀ)/2, which potrf overwrites with L, and zeros above it.
    a.withElements { a in
      for i in 0..<n {
        for j in 0..<n { l[i * n + j] = j <= i ? midpoint(a[i * n + j], a[j * n + i]) : 0 }
      }
    }
    try Scalar._potrf(n: n, a: l, lda: n)
  }
  return record(
    "cholesky", output: factor, operands: a, at: location,
    rule: .custom { context in
      // P = Φ(Lᵀ·L̄); Ā = L⁻ᵀ·S·L⁻¹ with S = (P + Pᵀ)/2, as two triangular solves with L.
      let l = context.output
      let p = matmul(l, transposed: true, context.upstream, transposed: false) * phi(n)
      let leftSolved = triangularSolve(
        l, symmetricPart(p),
        TriangularSystem(lower: true, transposed: true, unitDiagonal: false, rightSide: false))
      let aBar = triangularSolve(
        l, leftSolved,
        TriangularSystem(lower: true, transposed: false, unitDiagonal: false, rightSide: true))
      context.accumulate(aBar, into: 0)
    },
    tangent: .unary { da, _, l in
      // L̇ = L·Φ(L⁻¹·Ṡ·L⁻ᵀ) with Ṡ = (Ȧ + Ȧᵀ)/2: a left and a right triangular solve with L.
      let leftSolved = triangularSolve(
        l, symmetricPart(da),
        TriangularSystem(lower: true, transposed: false, unitDiagonal: false, rightSide: false))
      let bothSolved = triangularSolve(
        l, leftSolved,
        TriangularSystem(lower: true, transposed: true, unitDiagonal: false, rightSide: true))
      return matmul(l, bothSolved * phi(n))
    })
}

/// The solution `X` of `A·X = B` for `A = L·Lᵀ`, given the Cholesky factor `L` (LAPACK `potrs`).
///
/// ```swift
/// let l = try cholesky(a)          // factor once
/// let x = try choleskySolve(l, b)  // solve as often as needed, O(n²) each
/// ```
///
/// Only the lower triangle of `factor` is read, and only it gets a gradient; the gradient flows
/// on to `A` through ``cholesky(_:file:line:)``. With `X = A⁻¹·B` and `A` symmetric, the
/// pullback is `B̄ = A⁻¹·X̄` (`potrs` with the same factor) and, from `Ā = −B̄·Xᵀ` and
/// `dA = dL·Lᵀ + L·dLᵀ`, `L̄ = −(B̄·Xᵀ + X·B̄ᵀ)·L`, lower triangle.
///
/// A NaN or an infinity in `b` or in the lower triangle of `factor` makes every element of the
/// solution NaN.
///
/// - Parameters:
///   - factor: A lower triangular `n×n` matrix `L`, as ``cholesky(_:file:line:)`` returns.
///   - b: The right-hand sides: a matrix `n×k`, or a vector of `n` elements.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: `(L·Lᵀ)⁻¹·B`, of `b`'s shape.
/// - Throws: ``LinearAlgebraError/singular(pivot:)`` when a diagonal element of `factor` is
///   zero.
/// - Precondition: `factor` is square and `b` has as many rows as `factor`.
/// - Complexity: O(n²·k).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func choleskySolve<Scalar>(
  _ factor: Tensor<Scalar>, _ b: Tensor<Scalar>, file: StaticString = #fileID,
  line: UInt = #line
) throws(LinearAlgebraError) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  let n = factor.checkSquareMatrix("choleskySolve", "the factor", at: location)
  b.checkRightHandSide(rows: n, "choleskySolve", matrix: factor.shape, at: location)
  guard n > 0 else { return Tensor(zeros: b.shape) }
  // Every rule below reads this lower triangle, never what lies above it in `factor`.
  let factor = triangularPart(factor, lower: true, diagonal: true)
  guard factor.isFinite && b.isFinite else {
    return nonFiniteResult("choleskySolve", shape: b.shape, operands: [factor, b], at: location)
  }
  if let zero = (0..<n).first(where: { factor[element: $0, $0] == 0 }) {
    throw .singular(pivot: zero + 1)
  }
  guard b.rank == 1 else { return choleskySolve(factor, b, at: location) }
  return choleskySolve(factor, b.reshaped(to: [n, 1]), at: location).reshaped(to: [n])
}

/// `(L·Lᵀ)⁻¹·B` for an `n×k` matrix `B`, recorded with operands `L` and `B`; the pullback solves
/// with the same factor through this function, so it can be differentiated again.
func choleskySolve<Scalar>(
  _ l: Tensor<Scalar>, _ b: Tensor<Scalar>, at location: SourceLocation?
) -> Tensor<Scalar> {
  let (n, k) = (b.shape[0], b.shape[1])
  var x = b.detached.copiedForLAPACK
  if k > 0 {
    l.withElements { l in
      x.withMutableElements { x in
        Scalar._potrs(n: n, rightHandSides: k, l: l, lda: n, b: x, ldb: k)
      }
    }
  }
  return record(
    "choleskySolve", output: x, operands: l, b, at: location,
    rule: .custom { context in
      // X = A⁻¹·B, A = L·Lᵀ symmetric: B̄ = A⁻¹·X̄, Ā = −B̄·Xᵀ, L̄ = tril((Ā + Āᵀ)·L).
      let l = context.operand(0)
      let bBar = choleskySolve(l, context.upstream, at: nil)
      if context.needsGradient(1) { context.accumulate(bBar, into: 1) }
      guard context.needsGradient(0) else { return }
      let x = context.output
      // Ā + Āᵀ = −2·sym(B̄·Xᵀ).
      let aBarSymmetric = symmetricPart(matmul(bBar, transposed: false, x, transposed: true))
      context.accumulate(matmul(aBarSymmetric, l) * lowerTriangle(n) * -2, into: 0)
    },
    tangent: .custom { tangents, operands, x in
      // A·Ẋ = Ḃ − Ȧ·X with Ȧ = L̇·Lᵀ + L·L̇ᵀ, L̇ on the lower triangle (the one read).
      let l = operands[0]
      let correction = tangents[0].map { dl in
        let dlLower = dl * lowerTriangle(n)
        return
          -(matmul(dlLower, matmul(l, transposed: true, x, transposed: false))
          + matmul(l, matmul(dlLower, transposed: true, x, transposed: false)))
      }
      return choleskySolve(l, sumOfPresent(tangents[1], correction)!, at: nil)
    })
}

/// Φ's mask: 1 below the diagonal, ½ on it, 0 above.
private func phi<Scalar>(_ n: Int) -> Tensor<Scalar> {
  .triangleMask(rows: n, columns: n, below: 1, diagonal: 0.5, above: 0)
}

/// 1 on and below the diagonal, 0 above.
private func lowerTriangle<Scalar>(_ n: Int) -> Tensor<Scalar> {
  .triangleMask(rows: n, columns: n, below: 1, diagonal: 1, above: 0)
}
