// On `@_specialize`, see the Performance article in Documentation.docc.

// The symmetric eigendecomposition. The two outputs are one recorded node (see "Several
// outputs, one node" in MatrixSupport.swift).

/// The eigenvalues and eigenvectors of a symmetric matrix: `A = V·diag(λ)·Vᵀ` with `V`
/// orthogonal (LAPACK `syevd`, divide and conquer).
///
/// ```swift
/// let (values, vectors) = try eigh(a)   // values ascending; column j of vectors ↔ values[j]
/// ```
///
/// The decomposition reads the symmetric part `(A + Aᵀ)/2`, so the gradient is symmetric and is
/// the exact derivative of what is computed. Each eigenvector's sign is LAPACK's choice.
///
/// The pullback: with `Fᵢⱼ = 1/(λⱼ − λᵢ)` off the diagonal and 0 on it, first-order
/// perturbation theory gives `dλ = diag(Vᵀ·dA·V)` and `dV = V·(F ∘ (Vᵀ·dA·V))`, so
///
///     Ā = V · sym(diag(λ̄) + F ∘ (Vᵀ·V̄)) · Vᵀ,   sym(M) = (M + Mᵀ)/2.
///
/// The eigenvectors have no derivative where two eigenvalues are equal: an eigenvector of a
/// repeated eigenvalue is any unit vector of its eigenspace, and `F` is infinite there (PyTorch
/// and JAX give NaN). Autodiff gives the exact gradient, finite, of a loss that cannot tell
/// which basis of the eigenspace LAPACK chose: one that uses the repeated values only, or their
/// eigenvectors only through the space they span (`eigh(I).values.sum()` has gradient `I`; the
/// projector `V₂·V₂ᵀ` onto the eigenspace is exact). A loss that uses particular eigenvectors of
/// the repeated value, or both its value and its eigenvectors (a matrix function `V·f(Λ)·Vᵀ`,
/// whose derivative depends on how the values would split), gets NaN where they meet. The
/// tangent is NaN where the direction moves within the eigenspace. Close but distinct
/// eigenvalues give large gradients.
///
/// A NaN or an infinity in `a` makes every element of both outputs NaN.
///
/// - Returns: `values`, the `n` eigenvalues in ascending order, and `vectors`, the `n×n` matrix
///   whose columns are the corresponding orthonormal eigenvectors.
/// - Throws: ``LinearAlgebraError/didNotConverge(routine:)`` in the rare case that LAPACK's
///   iteration fails.
/// - Precondition: `a` is a square matrix.
/// - Complexity: O(n³).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func eigh<Scalar>(
  _ a: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) throws(LinearAlgebraError) -> (values: Tensor<Scalar>, vectors: Tensor<Scalar>) {
  let location = SourceLocation(file: file, line: line)
  let n = a.checkSquareMatrix("eigh", "the matrix", at: location)
  let shapes = [[n], [n, n]]
  guard n > 0 else { return (Tensor(zeros: [0]), Tensor(zeros: [0, 0])) }
  guard a.isFinite else {
    let parts = unpacked(
      nonFiniteResult("eigh", shape: [n + n * n], operands: [a], at: location), as: shapes)
    return (parts[0], parts[1])
  }
  var vectors = Tensor<Scalar>.computing(shape: [n, n]) { s in
    a.withElements { a in
      for i in 0..<n {
        for j in 0..<n { s[i * n + j] = midpoint(a[i * n + j], a[j * n + i]) }
      }
    }
  }
  let values = try Tensor<Scalar>.computing(shape: [n]) { (w) throws(LinearAlgebraError) in
    try vectors.withMutableElements { (v) throws(LinearAlgebraError) in
      try Scalar._syevd(n: n, a: v, lda: n, eigenvalues: w)
    }
  }
  guard a.isRecorded else { return (values, vectors) }

  let node = record(
    "eigh", output: packed([values, vectors]), operands: a, at: location,
    rule: .custom { context in
      // Ā = V·sym(diag(λ̄) + F ∘ X)·Vᵀ with X = Vᵀ·V̄, F from the recorded eigenvalues; as F is
      // antisymmetric, sym(F ∘ X) = F ∘ (X − Xᵀ)/2.
      let outputs = unpacked(context.output, as: shapes)
      let gradients = unpacked(context.upstream, as: shapes)
      let (lambda, v, lambdaBar, vBar) = (outputs[0], outputs[1], gradients[0], gradients[1])
      let x = matmul(v, transposed: true, vBar, transposed: false)
      let rotation = spectralQuotient(
        x - x.transposed(), over: lambda, valueGradient: lambdaBar, vectorGradients: [x])
      let inner = diagonalMatrix(lambdaBar) + rotation * 0.5
      let aBar = matmul(matmul(v, inner), transposed: false, v, transposed: true)
      context.accumulate(aBar, into: 0)
    },
    tangent: .unary { da, _, packedOutput in
      // M = Vᵀ·Ṡ·V with Ṡ = (Ȧ + Ȧᵀ)/2: λ̇ = diag(M), V̇ = V·(F ∘ M).
      let outputs = unpacked(packedOutput, as: shapes)
      let (lambda, v) = (outputs[0], outputs[1])
      let m = matmul(matmul(v, transposed: true, symmetricPart(da), transposed: false), v)
      let lambdaDot = (m * .identity(n)).sum(squeezingAxes: [0])
      let vDot = matmul(v, spectralQuotient(m, over: lambda, vectorGradients: [m]))
      return Tensor(concatenating: [lambdaDot, vDot.reshaped(to: [-1])])
    })
  let parts = unpacked(node, as: shapes)
  return (parts[0], parts[1])
}
