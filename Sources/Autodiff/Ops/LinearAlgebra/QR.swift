// On `@_specialize`, see the Performance article in Documentation.docc.

// The QR factorization by Householder reflections. The two outputs are one recorded node (see
// "Several outputs, one node" in MatrixSupport.swift).

/// The reduced QR factorization `A = Q·R` of an `m×n` matrix (LAPACK `geqrf` and `orgqr`).
///
/// With `k = min(m, n)`, `Q` is `m×k` with orthonormal columns (`Qᵀ·Q = I`) and `R` is `k×n`
/// upper triangular (upper trapezoidal when `m < n`). As in LAPACK, the diagonal of `R` may
/// have either sign.
///
/// ```swift
/// let (q, r) = qr(a)   // a [5, 3]: q [5, 3], r [3, 3]
/// ```
///
/// The pullback, for `m ≥ n` (Walter and Lehmann 2018; the form PyTorch uses): from
/// `dA = dQ·R + Q·dR` with `Qᵀ·dQ` antisymmetric and `dR·R⁻¹` upper triangular,
///
///     M = R·R̄ᵀ − Q̄ᵀ·Q,   Ā = (Q̄ + Q·copyltu(M))·R⁻ᵀ,
///
/// where `copyltu(M)` is the symmetric matrix with `M`'s lower triangle. `R⁻ᵀ` is a triangular
/// solve (BLAS `trsm`). For `m < n`, write `A = [X | Y]` with `X` square: `Q, R₁` factor `X`,
/// `R₂ = Qᵀ·Y`, so `Ȳ = Q·R̄₂` and `X̄` is the square rule with `Q̄ + Y·R̄₂ᵀ`.
///
/// The derivative exists where `A` (for `m < n`, its first `m` columns) has full rank; where a
/// diagonal element of `R` is 0 the gradient is infinite or NaN. A NaN or an infinity in `a`
/// makes every element of both outputs NaN.
///
/// - Returns: `q` (`m×k`) and `r` (`k×n`).
/// - Precondition: `a` is a matrix.
/// - Complexity: O(m·n·k).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func qr<Scalar>(
  _ a: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> (q: Tensor<Scalar>, r: Tensor<Scalar>) {
  let location = SourceLocation(file: file, line: line)
  a.checkMatrix("qr", "the matrix", at: location)
  let (m, n) = (a.shape[0], a.shape[1])
  let k = min(m, n)
  let shapes = [[m, k], [k, n]]
  guard k > 0 else { return (Tensor(zeros: shapes[0]), Tensor(zeros: shapes[1])) }
  guard a.isFinite else {
    let parts = unpacked(
      nonFiniteResult("qr", shape: [m * k + k * n], operands: [a], at: location), as: shapes)
    return (parts[0], parts[1])
  }

  // geqrf leaves R on and above the diagonal and the reflectors below; R is copied out before
  // orgqr turns the reflectors into the first k columns of Q.
  var work = a.copiedForLAPACK
  var tau = [Scalar](repeating: 0, count: k)
  work.withMutableElements { w in Scalar._geqrf(rows: m, columns: n, a: w, lda: n, tau: &tau) }
  let r = Tensor<Scalar>.computing(shape: [k, n]) { r in
    work.withElements { w in
      for i in 0..<k {
        for j in 0..<n { r[i * n + j] = j >= i ? w[i * n + j] : 0 }
      }
    }
  }
  work.withMutableElements { w in
    Scalar._orgqr(rows: m, columns: k, reflectors: k, a: w, lda: n, tau: tau)
  }
  let q = Tensor<Scalar>.computing(shape: [m, k]) { q in
    work.withElements { w in
      for i in 0..<m {
        for j in 0..<k { q[i * k + j] = w[i * n + j] }
      }
    }
  }
  guard a.isRecorded else { return (q, r) }

  let node = record(
    "qr", output: packed([q, r]), operands: a, at: location,
    rule: .custom { context in
      let outputs = unpacked(context.output, as: shapes)
      let gradients = unpacked(context.upstream, as: shapes)
      let (q, r, qBar, rBar) = (outputs[0], outputs[1], gradients[0], gradients[1])
      guard m < n else {
        context.accumulate(squareQRPullback(q: q, r: r, qBar: qBar, rBar: rBar), into: 0)
        return
      }
      // A = [X | Y], R = [R₁ | R₂] with R₂ = Qᵀ·Y: Ȳ = Q·R̄₂, and Q̄ gains Y·R̄₂ᵀ.
      let y = context.operand(0).sliced(alongAxis: 1, m..<n, at: nil)
      let r1 = r.sliced(alongAxis: 1, 0..<m, at: nil)
      let r1Bar = rBar.sliced(alongAxis: 1, 0..<m, at: nil)
      let r2Bar = rBar.sliced(alongAxis: 1, m..<n, at: nil)
      let qBarTotal = qBar + matmul(y, transposed: false, r2Bar, transposed: true)
      let xBar = squareQRPullback(q: q, r: r1, qBar: qBarTotal, rBar: r1Bar)
      let yBar = matmul(q, r2Bar)
      context.accumulate(Tensor(concatenating: [xBar, yBar], alongAxis: 1), into: 0)
    },
    tangent: .unary { da, a, packedOutput in
      let outputs = unpacked(packedOutput, as: shapes)
      let (q, r) = (outputs[0], outputs[1])
      let (qDot, rDot): (Tensor<Scalar>, Tensor<Scalar>)
      if m >= n {
        (qDot, rDot) = squareQRTangent(q: q, r: r, aDot: da)
      } else {
        // A = [X | Y]: Q, R₁ from X by the square rule; R₂ = Qᵀ·Y, so Ṙ₂ = Q̇ᵀ·Y + Qᵀ·Ẏ.
        let (qDotX, r1Dot) = squareQRTangent(
          q: q, r: r.sliced(alongAxis: 1, 0..<m, at: nil),
          aDot: da.sliced(alongAxis: 1, 0..<m, at: nil))
        let y = a.sliced(alongAxis: 1, m..<n, at: nil)
        let r2Dot =
          matmul(qDotX, transposed: true, y, transposed: false)
          + matmul(q, transposed: true, da.sliced(alongAxis: 1, m..<n, at: nil), transposed: false)
        (qDot, rDot) = (qDotX, Tensor(concatenating: [r1Dot, r2Dot], alongAxis: 1))
      }
      return Tensor(concatenating: [qDot.reshaped(to: [-1]), rDot.reshaped(to: [-1])])
    })
  let parts = unpacked(node, as: shapes)
  return (parts[0], parts[1])
}

/// Ā for `A = Q·R` with `A` `m×n`, `m ≥ n`, `R` square: `(Q̄ + Q·copyltu(M))·R⁻ᵀ` with
/// `M = R·R̄ᵀ − Q̄ᵀ·Q`. Recorded tensor operations throughout.
private func squareQRPullback<Scalar>(
  q: Tensor<Scalar>, r: Tensor<Scalar>, qBar: Tensor<Scalar>, rBar: Tensor<Scalar>
) -> Tensor<Scalar> {
  let n = r.shape[0]
  let m =
    matmul(r, transposed: false, rBar, transposed: true)
    - matmul(qBar, transposed: true, q, transposed: false)
  // copyltu(M): the lower triangle with the diagonal, mirrored above it. The n×n transpose is
  // a copy of a small matrix, not a gemm operand.
  let lower = Tensor<Scalar>.triangleMask(rows: n, columns: n, below: 1, diagonal: 1, above: 0)
  let strictlyLower = Tensor<Scalar>.triangleMask(
    rows: n, columns: n, below: 1, diagonal: 0, above: 0)
  let copyltu = m * lower + (m * strictlyLower).transposed()
  let b = qBar + matmul(q, copyltu)
  // B·R⁻ᵀ: the X with X·Rᵀ = B, a right-side triangular solve with R (upper).
  return triangularSolve(
    r, b, TriangularSystem(lower: false, transposed: true, unitDiagonal: false, rightSide: true))
}

/// Q̇ and Ṙ for `A = Q·R` with `A` `m×n`, `m ≥ n`, `R` square. From `Ȧ = Q̇·R + Q·Ṙ`,
/// `X = Qᵀ·Ȧ·R⁻¹ = Qᵀ·Q̇ + Ṙ·R⁻¹`, where `Ω = Qᵀ·Q̇` is antisymmetric and `Ṙ·R⁻¹` upper
/// triangular, so `Ω` is the strictly lower part of `X` minus its transpose; then
/// `Ṙ = (X − Ω)·R` and `Q̇ = Ȧ·R⁻¹ − Q·(X − Ω)`. Recorded tensor operations throughout.
private func squareQRTangent<Scalar>(
  q: Tensor<Scalar>, r: Tensor<Scalar>, aDot: Tensor<Scalar>
) -> (q: Tensor<Scalar>, r: Tensor<Scalar>) {
  let n = r.shape[0]
  // Ȧ·R⁻¹: the X with X·R = Ȧ, a right-side triangular solve with R (upper).
  let aDotRInverse = triangularSolve(
    r, aDot,
    TriangularSystem(lower: false, transposed: false, unitDiagonal: false, rightSide: true))
  let x = matmul(q, transposed: true, aDotRInverse, transposed: false)
  let strictlyLower =
    x
    * Tensor<Scalar>.triangleMask(
      rows: n, columns: n, below: 1, diagonal: 0, above: 0)
  let rDotRInverse = x - (strictlyLower - strictlyLower.transposed())
  return (aDotRInverse - matmul(q, rDotRInverse), matmul(rDotRInverse, r))
}
