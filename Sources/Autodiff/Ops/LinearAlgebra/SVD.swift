// On `@_specialize`, see the Performance article in Documentation.docc.

// The singular value decomposition. The three outputs are one recorded node (see "Several
// outputs, one node" in MatrixSupport.swift).

/// The reduced singular value decomposition `A = U·diag(S)·Vᵀ` of an `m×n` matrix (LAPACK
/// `gesdd`, divide and conquer).
///
/// With `k = min(m, n)`, `U` is `m×k` and `V` is `n×k`, both with orthonormal columns, and `S`
/// holds the `k` singular values in descending order. Each pair of singular vectors
/// `(uᵢ, vᵢ)` is determined up to a common sign, which is LAPACK's choice.
///
/// ```swift
/// let (u, s, v) = try svd(a)   // a [5, 3]: u [5, 3], s [3], v [3, 3]
/// ```
///
/// The pullback (Townsend 2016, "Differentiating the singular value decomposition"): with
/// `Fᵢⱼ = 1/(sⱼ² − sᵢ²)` off the diagonal and 0 on it,
///
///     Ā = U·[(F ∘ (UᵀŪ − ŪᵀU))·S + diag(S̄) + S·(F ∘ (VᵀV̄ − V̄ᵀV))]·Vᵀ
///         + (I − UUᵀ)·Ū·S⁻¹·Vᵀ + U·S⁻¹·V̄ᵀ·(I − VVᵀ),
///
/// where the last two terms vanish for a square matrix.
///
/// The gradient of the singular values is defined wherever they are distinct and nonzero (and
/// everywhere for distinct ones of a square matrix). That of the singular vectors is not where
/// two singular values are equal — `F` is infinite, the vectors of a repeated value are any
/// orthonormal basis of their subspace — nor, for `m ≠ n`, where a singular value is 0 (`S⁻¹`).
/// The pullback splits `F` into `1/(sⱼ − sᵢ)` and `1/(sⱼ + sᵢ)` parts, so a loss that cannot
/// tell which bases of a repeated value's subspaces LAPACK chose (one that turns `U`'s and `V`'s
/// columns together, as the polar factor `U·Vᵀ`) gets its exact gradient there; one that uses
/// particular singular vectors of the repeated value, or both the value and its vectors
/// (`U·f(S)·Vᵀ`), gets NaN, as PyTorch and JAX give at every repeated value. Close singular
/// values give large gradients.
///
/// A NaN or an infinity in `a` makes every element of the three outputs NaN.
///
/// - Returns: `u` (`m×k`), `s` (`k`, descending) and `v` (`n×k`).
/// - Throws: ``LinearAlgebraError/didNotConverge(routine:)`` in the rare case that LAPACK's
///   iteration fails.
/// - Precondition: `a` is a matrix.
/// - Complexity: O(m·n·k).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func svd<Scalar>(
  _ a: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) throws(LinearAlgebraError) -> (u: Tensor<Scalar>, s: Tensor<Scalar>, v: Tensor<Scalar>) {
  let location = SourceLocation(file: file, line: line)
  a.checkMatrix("svd", "the matrix", at: location)
  let (m, n) = (a.shape[0], a.shape[1])
  let k = min(m, n)
  let shapes = [[m, k], [k], [n, k]]
  guard k > 0 else {
    return (Tensor(zeros: shapes[0]), Tensor(zeros: [0]), Tensor(zeros: shapes[2]))
  }
  guard a.isFinite else {
    let parts = unpacked(
      nonFiniteResult("svd", shape: [m * k + k + n * k], operands: [a], at: location),
      as: shapes)
    return (parts[0], parts[1], parts[2])
  }
  let (u, s, vt) = try singularValueDecomposition(of: a.detached)
  // LAPACK returns Vᵀ; V is its k×n → n×k copy, once, O(n·k) against the O(m·n·k) SVD.
  let v = vt.transposed()
  guard a.isRecorded else { return (u, s, v) }

  let node = record(
    "svd", output: packed([u, s, v]), operands: a, at: location,
    rule: .custom { context in
      let outputs = unpacked(context.output, as: shapes)
      let gradients = unpacked(context.upstream, as: shapes)
      let (u, s, v) = (outputs[0], outputs[1], outputs[2])
      let (uBar, sBar, vBar) = (gradients[0], gradients[1], gradients[2])
      let sRow = s.reshaped(to: [1, k])
      let uTuBar = matmul(u, transposed: true, uBar, transposed: false)
      let vTvBar = matmul(v, transposed: true, vBar, transposed: false)
      // The antisymmetric parts J = UᵀŪ − ŪᵀU and K = VᵀV̄ − V̄ᵀV (uTurn, vTurn); each transpose a
      // small k×k copy. (F ∘ J)·S + S·(F ∘ K), split into partial fractions: (J + K)/2 over
      // sⱼ − sᵢ, which is 0 for a loss that turns U's and V's columns of a repeated value
      // together, plus (J − K)/2 over sⱼ + sᵢ, finite there (the polar factor U·Vᵀ).
      let (uTurn, vTurn) = (uTuBar - uTuBar.transposed(), vTvBar - vTvBar.transposed())
      let vectorGradients = [uTuBar, vTvBar]
      let inner =
        spectralQuotient(
          (uTurn + vTurn) * 0.5, over: s, valueGradient: sBar, vectorGradients: vectorGradients)
        + spectralQuotient(
          (uTurn - vTurn) * 0.5, over: s, sum: true, valueGradient: sBar,
          vectorGradients: vectorGradients)
        + diagonalMatrix(sBar)
      var aBar = matmul(matmul(u, inner), transposed: false, v, transposed: true)
      if m > k {
        // (I − UUᵀ)·Ū·S⁻¹·Vᵀ, with (I − UUᵀ)·Ū = Ū − U·(UᵀŪ).
        let projected = uBar - matmul(u, uTuBar)
        aBar = aBar + matmul(projected / sRow, transposed: false, v, transposed: true)
      }
      if n > k {
        // U·S⁻¹·V̄ᵀ·(I − VVᵀ) = (U·S⁻¹)·(V̄ − V·(VᵀV̄))ᵀ.
        let projected = vBar - matmul(v, vTvBar)
        aBar = aBar + matmul(u / sRow, transposed: false, projected, transposed: true)
      }
      context.accumulate(aBar, into: 0)
    },
    tangent: .unary { da, _, packedOutput in
      // Ṗ = Uᵀ·Ȧ·V: Ṡ = diag(Ṗ),
      //   U̇ = U·(F ∘ (Ṗ·S + S·Ṗᵀ)) + (I − UUᵀ)·Ȧ·V·S⁻¹,
      //   V̇ = V·(F ∘ (S·Ṗ + Ṗᵀ·S)) + (I − VVᵀ)·Ȧᵀ·U·S⁻¹.
      let outputs = unpacked(packedOutput, as: shapes)
      let (u, s, v) = (outputs[0], outputs[1], outputs[2])
      let sRow = s.reshaped(to: [1, k])
      let aDotV = matmul(da, v)
      let pDot = matmul(u, transposed: true, aDotV, transposed: false)
      let pDotTransposed = pDot.transposed()  // k×k
      let sDot = (pDot * .identity(k)).sum(squeezingAxes: [0])
      // F ∘ (Ṗ·S + S·Ṗᵀ) and F ∘ (S·Ṗ + Ṗᵀ·S) in partial fractions (see the pullback): the
      // symmetric part of Ṗ over sⱼ − sᵢ, ± the antisymmetric part over sⱼ + sᵢ.
      let turn = spectralQuotient((pDot + pDotTransposed) * 0.5, over: s, vectorGradients: [pDot])
      let shear = spectralQuotient(
        (pDot - pDotTransposed) * 0.5, over: s, sum: true, vectorGradients: [pDot])
      var uDot = matmul(u, turn + shear)
      var vDot = matmul(v, turn - shear)
      if m > k { uDot = uDot + (aDotV - matmul(u, pDot)) / sRow }
      if n > k {
        let aDotTransposedU = matmul(da, transposed: true, u, transposed: false)
        vDot = vDot + (aDotTransposedU - matmul(v, pDotTransposed)) / sRow
      }
      return Tensor(
        concatenating: [uDot.reshaped(to: [-1]), sDot, vDot.reshaped(to: [-1])])
    })
  let parts = unpacked(node, as: shapes)
  return (parts[0], parts[1], parts[2])
}

/// `U` (`m×k`), `S` (`k`) and `Vᵀ` (`k×n`) of the `m×n` matrix `a` (finite, `k > 0`),
/// unrecorded.
func singularValueDecomposition<Scalar>(
  of a: Tensor<Scalar>
) throws(LinearAlgebraError) -> (u: Tensor<Scalar>, s: Tensor<Scalar>, vt: Tensor<Scalar>) {
  let (m, n) = (a.shape[0], a.shape[1])
  let k = min(m, n)
  var work = a.copiedForLAPACK
  var u = Tensor<Scalar>(zeros: [m, k])
  var vt = Tensor<Scalar>(zeros: [k, n])
  let s = try Tensor<Scalar>.computing(shape: [k]) { (s) throws(LinearAlgebraError) in
    try work.withMutableElements { (w) throws(LinearAlgebraError) in
      try u.withMutableElements { (u) throws(LinearAlgebraError) in
        try vt.withMutableElements { (vt) throws(LinearAlgebraError) in
          try Scalar._gesdd(
            rows: m, columns: n, a: w, lda: n, singularValues: s, u: u, ldu: k, vt: vt, ldvt: n)
        }
      }
    }
  }
  return (u, s, vt)
}
