import RealModule

/// A floating-point type a ``Tensor`` can hold: `Float` or `Double`.
///
/// The protocol gathers what a tensor needs from its element type: the elementary functions of
/// `Real` (from swift-numerics) and the BLAS and LAPACK routines for that precision. Each
/// conformance picks the single- or double-precision routine once, so the tensor code above it is
/// written once for both types.
///
/// The requirements whose names start with an underscore are the library's bridge to BLAS,
/// LAPACK and its C kernels; they are public only because Swift protocols cannot hide
/// requirements. Call the tensor operations instead.
public protocol TensorScalar: Real, BinaryFloatingPoint, Sendable, CustomStringConvertible
where RawSignificand: FixedWidthInteger {
  /// Computes `c ← α·op(a)·op(b) + β·c` on row-major buffers (BLAS `gemm`), where `op(a)` is
  /// `a` or its transpose. `op(a)` is `m×k`, `op(b)` is `k×n`, and `c` is `m×n`.
  static func _gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int,
    b: UnsafePointer<Self>, ldb: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

  // The elementwise kernels (Modules/CElementwise, vectorized for the CPU), one thread each: the
  // callers split large buffers. `function` numbers a CElementwise function
  // (Kernels/Elementwise.swift maps the library's functions to them).

  /// `y[i] = function(x[i])` for `count` elements; `y` may be `x`.
  static func _unary(
    _ function: Int32, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int)

  /// `c[i] = function(a[i·strideA], b[i·strideB])` for `count` elements, with strides of 0 (one
  /// element repeated) or 1; `c` may be `a` or `b`.
  static func _binary(
    _ function: Int32, _ a: UnsafePointer<Self>, strideA: Int, _ b: UnsafePointer<Self>,
    strideB: Int, _ c: UnsafeMutablePointer<Self>, count: Int)

  /// `partial[j] += x[16g + j]` for every group `g < groups` and lane `j < 16`: the running
  /// lanes of a long sum.
  static func _addLanes(
    _ x: UnsafePointer<Self>, groups: Int, into partial: UnsafeMutablePointer<Self>)

  /// One Adam step over `count` parameters in place: p ← p·shrink; g ← g + l2·p;
  /// m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; p ← p − stepSize·m / (√v / correction2Root + ε).
  static func _adam(
    parameters: UnsafeMutablePointer<Self>, gradients: UnsafePointer<Self>,
    firstMoments: UnsafeMutablePointer<Self>, secondMoments: UnsafeMutablePointer<Self>,
    count: Int, beta1: Self, beta2: Self, stepSize: Self, correction2Root: Self, epsilon: Self,
    l2: Self, shrink: Self)

  /// One SGD step over `count` parameters in place: d = g + decay·p; with momentum μ ≠ 0,
  /// b ← μb + d and p ← p − rate·(nesterov ? d + μb : b); else p ← p − rate·d (`momentumBuffer`
  /// unused, and may be `nil`).
  static func _sgd(
    parameters: UnsafeMutablePointer<Self>, gradients: UnsafePointer<Self>,
    momentumBuffer: UnsafeMutablePointer<Self>?, count: Int, rate: Self, decay: Self,
    momentum: Self, nesterov: Bool)

  /// Solves `op(a)·x = α·b` (left side) or `x·op(a) = α·b` (right side) in place of the `m×n`
  /// matrix `b`, for a triangular `a` (BLAS `trsm`), on row-major buffers. `a` is `m×m` on the
  /// left side and `n×n` on the right; only its `lower` or upper triangle is read, and its
  /// diagonal is taken as ones when `unitDiagonal`. A zero on the diagonal is not checked.
  static func _trsm(
    rightSide: Bool, lower: Bool, transposeA: Bool, unitDiagonal: Bool, m: Int, n: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafeMutablePointer<Self>, ldb: Int)

  /// A short name for the type in messages and file headers: `"Float"` or `"Double"`.
  static var _name: String { get }

  // LAPACK, on row-major buffers (Kernels/LAPACK.swift). Each call checks LAPACK's `info`: a
  // property of the data throws a `LinearAlgebraError`, an illegal argument stops the program.
  // Sizes are positive; pivots count from 1, as in LAPACK.

  /// Factors the `rows×columns` matrix `a` in place as `P·L·U` (LAPACK `getrf`): `L` unit lower
  /// triangular below the diagonal, `U` upper triangular on and above it. `pivots` receives
  /// `min(rows, columns)` row interchanges: row `i` was swapped with row `pivots[i]`.
  ///
  /// - Throws: ``LinearAlgebraError/singular(pivot:)`` when `U` has an exactly zero diagonal
  ///   element; the factors are complete and valid even then.
  static func _getrf(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Self>, lda: Int,
    pivots: UnsafeMutablePointer<Int>) throws(LinearAlgebraError)

  /// Solves `op(A)·x = b` in place of the `n×rightHandSides` matrix `b`, from the LU factors and
  /// pivots `_getrf` left for the `n×n` matrix `A` (LAPACK `getrs`).
  static func _getrs(
    transpose: Bool, n: Int, rightHandSides: Int, lu: UnsafePointer<Self>, lda: Int,
    pivots: UnsafePointer<Int>, b: UnsafeMutablePointer<Self>, ldb: Int)

  /// Replaces the LU factors that `_getrf` left for the `n×n` matrix `A` by `A⁻¹` (LAPACK
  /// `getri`).
  ///
  /// - Throws: ``LinearAlgebraError/singular(pivot:)`` when `U` has a zero diagonal element.
  static func _getri(
    n: Int, lu: UnsafeMutablePointer<Self>, lda: Int, pivots: UnsafePointer<Int>
  ) throws(LinearAlgebraError)

  /// Replaces the lower triangle of the symmetric `n×n` matrix `a` by its Cholesky factor `L`,
  /// `a = L·Lᵀ` (LAPACK `potrf`). The strict upper triangle is neither read nor written.
  ///
  /// - Throws: ``LinearAlgebraError/notPositiveDefinite(minor:)`` when `a` is not positive
  ///   definite.
  static func _potrf(n: Int, a: UnsafeMutablePointer<Self>, lda: Int) throws(LinearAlgebraError)

  /// Solves `L·Lᵀ·x = b` in place of the `n×rightHandSides` matrix `b`, for the lower triangular
  /// Cholesky factor `l` (LAPACK `potrs`).
  static func _potrs(
    n: Int, rightHandSides: Int, l: UnsafePointer<Self>, lda: Int,
    b: UnsafeMutablePointer<Self>, ldb: Int)

  /// Factors the `rows×columns` matrix `a` in place as `Q·R` (LAPACK `geqrf`): `R` on and above
  /// the diagonal, `Q` as `min(rows, columns)` Householder reflectors below it and in `tau`.
  static func _geqrf(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Self>, lda: Int,
    tau: UnsafeMutablePointer<Self>)

  /// Overwrites the leading `rows×columns` block of `a`, which holds `reflectors` reflectors
  /// from `_geqrf`, with the first `columns` columns of their product `Q` (LAPACK `orgqr`).
  static func _orgqr(
    rows: Int, columns: Int, reflectors: Int, a: UnsafeMutablePointer<Self>, lda: Int,
    tau: UnsafePointer<Self>)

  /// The eigenvalues of the symmetric `n×n` matrix `a` in ascending order, and its orthonormal
  /// eigenvectors in place of `a`, as columns (LAPACK `syevd`, divide and conquer). Only the
  /// lower triangle of `a` is read.
  ///
  /// - Throws: ``LinearAlgebraError/didNotConverge(routine:)``.
  static func _syevd(
    n: Int, a: UnsafeMutablePointer<Self>, lda: Int, eigenvalues: UnsafeMutablePointer<Self>
  ) throws(LinearAlgebraError)

  /// The reduced singular value decomposition `a = U·diag(s)·Vᵀ` of the `rows×columns` matrix
  /// `a` (LAPACK `gesdd`, divide and conquer): with `k = min(rows, columns)`, `u` receives the
  /// `rows×k` matrix `U`, `vt` the `k×columns` matrix `Vᵀ`, and `singularValues` the `k` values
  /// in descending order. `a` is overwritten.
  ///
  /// - Throws: ``LinearAlgebraError/didNotConverge(routine:)``.
  static func _gesdd(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Self>, lda: Int,
    singularValues: UnsafeMutablePointer<Self>, u: UnsafeMutablePointer<Self>, ldu: Int,
    vt: UnsafeMutablePointer<Self>, ldvt: Int) throws(LinearAlgebraError)
}
