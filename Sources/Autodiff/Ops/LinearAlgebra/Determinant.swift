// On `@_specialize`, see the Performance article in Documentation.docc.

// Determinants from the LU factorization (see Solve.swift). Neither throws: a singular matrix
// has determinant 0, and its log-magnitude is −∞.

/// The determinant of a square matrix, from its LU factorization (LAPACK `getrf`):
/// `det A = det P · ∏ Uₖₖ`.
///
/// ```swift
/// let a = Tensor<Double>(shape: [2, 2], scalars: [3, 1, 1, 2])
/// determinant(a)   // 5
/// ```
///
/// By Jacobi's formula `d(det A) = det A · tr(A⁻¹·dA)`, so the pullback is `Ā = ḡ · det A · A⁻ᵀ`
/// (the cofactor matrix), with `A⁻ᵀ` solved from the forward pass's LU factors. At an exactly
/// singular matrix `A⁻ᵀ` does not exist but the cofactor matrix does, and the pullback computes
/// it from the SVD `A = U·Σ·Vᵀ` as `det U · det V · U·diag(∏_{j≠i} σⱼ)·Vᵀ`; a second derivative
/// there (`createGraph`) is not implemented and stops the program.
///
/// For large matrices the product over- or underflows; ``logDeterminant(_:file:line:)`` does
/// not. A NaN or an infinity in `a` gives NaN.
///
/// - Returns: A scalar tensor (shape `[]`); 1 for a 0×0 matrix.
/// - Precondition: `a` is a square matrix.
/// - Complexity: O(n³).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func determinant<Scalar>(
  _ a: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  let n = a.checkSquareMatrix("determinant", "the matrix", at: location)
  guard n > 0 else { return Tensor(1) }
  guard a.isFinite else {
    return nonFiniteResult("determinant", shape: [], operands: [a], at: location)
  }
  let lu = LUFactorization(factoring: a.detached)
  return record(
    "determinant", output: Tensor(lu.determinant), operands: a, at: location,
    rule: .custom { context in
      // Ā = ḡ · det A · A⁻ᵀ, A⁻ᵀ = luSolve(A, I) with the transpose flag.
      let g = context.upstream
      if lu.zeroPivot == nil {
        let inverseTransposed = luSolve(context.operand(0), lu, .identity(n), transposed: true)
        context.accumulate(g * context.output * inverseTransposed, into: 0)
        return
      }
      check(
        !context.sweep.createGraph,
        "determinant: the second derivative at an exactly singular matrix (zero pivot "
          + "\(lu.zeroPivot!) of its LU factorization) is not implemented")
      context.accumulate(g * cofactorMatrix(of: context.operand(0)), into: 0)
    },
    tangent: .unary { da, a, y in
      // d(det A) = det A · tr(A⁻¹·Ȧ), the trace as the sum of (A⁻¹·Ȧ) ∘ I; at a singular A,
      // ⟨cofactor matrix, Ȧ⟩.
      if lu.zeroPivot == nil {
        return y * (luSolve(a, lu, da, transposed: false) * .identity(n)).sum()
      }
      // A recorded operand means the forward sweep records itself (a second derivative).
      check(
        !a.isRecorded,
        "determinant: the second derivative at an exactly singular matrix (zero pivot "
          + "\(lu.zeroPivot!) of its LU factorization) is not implemented")
      return (cofactorMatrix(of: a) * da).sum()
    })
}

/// The sign and the logarithm of the magnitude of the determinant of a square matrix, from its LU
/// factorization (LAPACK `getrf`): `det A = sign · exp(logAbs)`, without the overflow of the
/// product.
///
/// ```swift
/// let (sign, logAbs) = logDeterminant(covariance)   // sign 1, logAbs = log det for an SPD matrix
/// ```
///
/// `sign` is −1 or 1, and a constant: it does not change under small changes of `a`, so no
/// gradient flows through it. `d log|det A| = tr(A⁻¹·dA)`, so the pullback of `logAbs` is
/// `Ā = ḡ · A⁻ᵀ`, solved from the forward pass's LU factors.
///
/// At an exactly singular matrix the result is `(0, −∞)` and the gradient, which does not exist
/// there, is NaN. A NaN or an infinity in `a` gives NaN for both.
///
/// - Returns: Two scalar tensors (shape `[]`); `(1, 0)` for a 0×0 matrix.
/// - Precondition: `a` is a square matrix.
/// - Complexity: O(n³).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func logDeterminant<Scalar>(
  _ a: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> (sign: Tensor<Scalar>, logAbs: Tensor<Scalar>) {
  let location = SourceLocation(file: file, line: line)
  let n = a.checkSquareMatrix("logDeterminant", "the matrix", at: location)
  guard n > 0 else { return (Tensor(1), Tensor(0)) }
  guard a.isFinite else {
    let logAbs = nonFiniteResult("logDeterminant", shape: [], operands: [a], at: location)
    return (Tensor(.nan), logAbs)
  }
  let lu = LUFactorization(factoring: a.detached)
  let (sign, logAbs) = lu.signAndLogAbsDeterminant
  // Only logAbs is recorded: the sign is piecewise constant, so it is returned as a constant.
  let recorded = record(
    "logDeterminant", output: Tensor(logAbs), operands: a, at: location,
    rule: .custom { context in
      // Ā = ḡ · A⁻ᵀ, A⁻ᵀ = luSolve(A, I) with the transpose flag.
      guard lu.zeroPivot == nil else {
        // Times the operand, so that second derivatives are NaN too (see nonFiniteResult).
        context.accumulate(context.operand(0) * Scalar.nan, into: 0)
        return
      }
      let inverseTransposed = luSolve(context.operand(0), lu, .identity(n), transposed: true)
      context.accumulate(context.upstream * inverseTransposed, into: 0)
    },
    tangent: .unary { da, a, _ in
      // d log|det A| = tr(A⁻¹·Ȧ); NaN at a singular A, where it does not exist.
      guard lu.zeroPivot == nil else { return Tensor(.nan) }
      return (luSolve(a, lu, da, transposed: false) * .identity(n)).sum()
    })
  return (Tensor(sign), recorded)
}

/// The cofactor matrix `det A · A⁻ᵀ` of any square matrix, singular ones included, unrecorded.
///
/// With `A = U·Σ·Vᵀ`, `adj(A) = det U · det V · V·diag(pᵢ)·Uᵀ` where `pᵢ = ∏_{j≠i} σⱼ`: for an
/// invertible `A` this is `det A · A⁻¹`, and both sides are polynomials in `A`, so they agree
/// everywhere. The cofactor matrix is its transpose.
func cofactorMatrix<Scalar>(of a: Tensor<Scalar>) -> Tensor<Scalar> {
  let n = a.shape[0]
  let (u, s, vt): (Tensor<Scalar>, Tensor<Scalar>, Tensor<Scalar>)
  do throws(LinearAlgebraError) {
    (u, s, vt) = try singularValueDecomposition(of: a.detached)
  } catch {
    fail("determinant: the gradient at a singular matrix needs its SVD, which failed: \(error)")
  }
  let sigma = s.scalars
  let products = (0..<n).map { i in
    (0..<n).reduce(Scalar(1)) { product, j in j == i ? product : product * sigma[j] }
  }
  // det U and det V are ±1; det Vᵀ = det V.
  let sign = LUFactorization(factoring: u).determinant * LUFactorization(factoring: vt).determinant
  let scaled = u * Tensor(products.map { $0 * (sign < 0 ? -1 : 1) })
  return matmul(scaled, vt)
}
