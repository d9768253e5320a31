/// Why a linear-algebra operation has no answer for its input.
///
/// These are properties of the data, not programmer errors: a singular system, a matrix that is
/// not positive definite, an iteration that did not converge. The throwing operations
/// (``solve(_:_:file:line:)``, ``inverse(_:file:line:)``, ``cholesky(_:file:line:)``,
/// ``choleskySolve(_:_:file:line:)``, ``triangularSolve(_:_:lower:transposed:unitDiagonal:file:line:)``,
/// ``eigh(_:file:line:)`` and ``svd(_:file:line:)``) throw one of these instead of returning the
/// infinities or meaningless numbers LAPACK leaves behind. Shape errors (a matrix that is not
/// square, operands that do not fit) are programmer errors and stop the program instead.
///
/// Indices follow LAPACK and count from 1, as in the mathematical notation `U₂₂`.
public enum LinearAlgebraError: Error, Hashable, Sendable, CustomStringConvertible {
  /// Diagonal element `pivot` (1-based) of the triangular factor is exactly zero, so the matrix
  /// has no inverse and a system with it has no unique solution. The factor is `U` of the LU
  /// factorization for `solve` and `inverse`, the matrix itself for `triangularSolve`, and the
  /// Cholesky factor for `choleskySolve`.
  case singular(pivot: Int)
  /// The leading `minor`×`minor` block (1-based order) is not positive definite, so the matrix
  /// has no Cholesky factorization: pivot `minor` of the factorization was zero, negative or NaN.
  case notPositiveDefinite(minor: Int)
  /// The LAPACK routine `routine` (the iterative part of an eigenvalue or singular value
  /// decomposition) did not converge.
  case didNotConverge(routine: String)

  /// What failed and what to do about it.
  public var description: String {
    switch self {
    case .singular(let pivot):
      "singular matrix: diagonal element \(pivot) (counting from 1) of its triangular factor is "
        + "exactly zero, so the matrix has no inverse and the system no unique solution; look "
        + "for rows or columns that are linear combinations of others, or regularize "
        + "(A + λ·I, λ > 0) or use svd(_:) for a least-squares answer"
    case .notPositiveDefinite(let minor):
      "matrix is not positive definite: the Cholesky factorization failed at pivot \(minor) "
        + "(counting from 1), so its leading \(minor)×\(minor) block has an eigenvalue ≤ 0; "
        + "check that the matrix is symmetric positive definite (a covariance estimated from "
        + "fewer samples than variables is only semidefinite) or add a multiple of the "
        + "identity (A + ε·I)"
    case .didNotConverge(let routine):
      "LAPACK's \(routine) did not converge: its iteration stopped before the decomposition "
        + "was accurate; this is rare for finite inputs, so rescale the matrix (elements "
        + "spanning many orders of magnitude) or compute in Double"
    }
  }
}
