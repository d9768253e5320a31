internal import CBLAS

// The library's only calls into LAPACK, through LAPACKE's row-major interface. Each routine is
// wrapped once, by a generic function below that takes the single- or double-precision C
// function; the functions at the end only pick the single- or double-precision one. A wrapper
// converts `Int` sizes and pivots to LAPACK's 32-bit `lapack_int`, and reads `info`:
//
// - info > 0 is a property of the data (a zero pivot, a failed minor, no convergence) and throws
//   the `LinearAlgebraError` that says so;
// - info < 0 names an illegal argument, which only a bug in these wrappers can pass, and stops
//   the program with the routine and the argument.
//
// LAPACKE's high-level functions scan their input matrices for NaN first and report one as an
// illegal argument; the operations check their inputs for NaN and infinity before calling (see
// `Tensor.isFinite`). The solves that pullbacks run on upstream gradients, which may hold a NaN
// from further down, call the `_work` variants instead: the same routine without the scan, so a
// NaN propagates through the substitution like through any other operation.
//
// Row-major note: LAPACK itself is column-major, so for row-major input LAPACKE copies each
// matrix into a transposed scratch buffer and back (O(n²) per call, against the O(n³) of the
// factorizations). The BLAS calls (`_trsm`, `_gemm`) take row-major buffers without copying.

/// Converts a size to LAPACK's index type, stopping with a message if it does not fit.
private func lapackInt(_ value: Int, _ what: StaticString, _ routine: StaticString) -> Int32 {
  guard let converted = Int32(exactly: value) else {
    fatalError("\(routine): \(what) = \(value) does not fit in a 32-bit LAPACK index")
  }
  return converted
}

/// A LAPACK character argument.
private func character(_ value: Unicode.Scalar) -> CChar { CChar(UInt8(ascii: value)) }

/// Stops the program when `info` reports an illegal argument or LAPACKE's own allocation failure.
private func checkArguments(_ info: Int32, _ routine: StaticString) {
  guard info < 0 else { return }
  if info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR {
    fatalError("\(routine): LAPACKE could not allocate its workspace (out of memory)")
  }
  fatalError(
    "\(routine): argument \(-info) has an illegal value; this is a bug in Autodiff's LAPACK "
      + "wrapper, not in the calling code")
}

private let rowMajor = LAPACK_ROW_MAJOR

// MARK: - The wrappers, one per routine

private typealias GETRF<T> = (
  Int32, Int32, Int32, UnsafeMutablePointer<T>?, Int32, UnsafeMutablePointer<Int32>?
) -> Int32

private func getrf<T>(
  _ function: @escaping GETRF<T>, _ routine: StaticString, rows: Int, columns: Int,
  a: UnsafeMutablePointer<T>, lda: Int, pivots: UnsafeMutablePointer<Int>
) throws(LinearAlgebraError) {
  assert(rows > 0 && columns > 0)
  let count = min(rows, columns)
  var ipiv = [Int32](repeating: 0, count: count)
  let info = ipiv.withUnsafeMutableBufferPointer { ipiv in
    function(
      rowMajor, lapackInt(rows, "m", routine), lapackInt(columns, "n", routine), a,
      lapackInt(lda, "lda", routine), ipiv.baseAddress)
  }
  for index in 0..<count { pivots[index] = Int(ipiv[index]) }
  checkArguments(info, routine)
  if info > 0 { throw .singular(pivot: Int(info)) }
}

private typealias GETRS<T> = (
  Int32, CChar, Int32, Int32, UnsafePointer<T>?, Int32, UnsafePointer<Int32>?,
  UnsafeMutablePointer<T>?, Int32
) -> Int32

private func getrs<T>(
  _ function: @escaping GETRS<T>, _ routine: StaticString, transpose: Bool, n: Int,
  rightHandSides: Int,
  lu: UnsafePointer<T>, lda: Int, pivots: UnsafePointer<Int>, b: UnsafeMutablePointer<T>,
  ldb: Int
) {
  assert(n > 0 && rightHandSides > 0)
  let ipiv = (0..<n).map { lapackInt(pivots[$0], "pivot", routine) }
  let info = function(
    rowMajor, character(transpose ? "T" : "N"), lapackInt(n, "n", routine),
    lapackInt(rightHandSides, "nrhs", routine), lu, lapackInt(lda, "lda", routine), ipiv, b,
    lapackInt(ldb, "ldb", routine))
  checkArguments(info, routine)
}

private typealias GETRI<T> = (
  Int32, Int32, UnsafeMutablePointer<T>?, Int32, UnsafePointer<Int32>?
) -> Int32

private func getri<T>(
  _ function: @escaping GETRI<T>, _ routine: StaticString, n: Int, lu: UnsafeMutablePointer<T>,
  lda: Int,
  pivots: UnsafePointer<Int>
) throws(LinearAlgebraError) {
  assert(n > 0)
  let ipiv = (0..<n).map { lapackInt(pivots[$0], "pivot", routine) }
  let info = function(
    rowMajor, lapackInt(n, "n", routine), lu, lapackInt(lda, "lda", routine), ipiv)
  checkArguments(info, routine)
  if info > 0 { throw .singular(pivot: Int(info)) }
}

private typealias POTRF<T> = (Int32, CChar, Int32, UnsafeMutablePointer<T>?, Int32) -> Int32

private func potrf<T>(
  _ function: @escaping POTRF<T>, _ routine: StaticString, n: Int, a: UnsafeMutablePointer<T>,
  lda: Int
) throws(LinearAlgebraError) {
  assert(n > 0)
  let info = function(
    rowMajor, character("L"), lapackInt(n, "n", routine), a, lapackInt(lda, "lda", routine))
  checkArguments(info, routine)
  if info > 0 { throw .notPositiveDefinite(minor: Int(info)) }
}

private typealias POTRS<T> = (
  Int32, CChar, Int32, Int32, UnsafePointer<T>?, Int32, UnsafeMutablePointer<T>?, Int32
) -> Int32

private func potrs<T>(
  _ function: @escaping POTRS<T>, _ routine: StaticString, n: Int, rightHandSides: Int,
  l: UnsafePointer<T>, lda: Int, b: UnsafeMutablePointer<T>, ldb: Int
) {
  assert(n > 0 && rightHandSides > 0)
  let info = function(
    rowMajor, character("L"), lapackInt(n, "n", routine),
    lapackInt(rightHandSides, "nrhs", routine), l, lapackInt(lda, "lda", routine), b,
    lapackInt(ldb, "ldb", routine))
  checkArguments(info, routine)
}

private typealias GEQRF<T> = (
  Int32, Int32, Int32, UnsafeMutablePointer<T>?, Int32, UnsafeMutablePointer<T>?
) -> Int32

private func geqrf<T>(
  _ function: @escaping GEQRF<T>, _ routine: StaticString, rows: Int, columns: Int,
  a: UnsafeMutablePointer<T>, lda: Int, tau: UnsafeMutablePointer<T>
) {
  assert(rows > 0 && columns > 0)
  let info = function(
    rowMajor, lapackInt(rows, "m", routine), lapackInt(columns, "n", routine), a,
    lapackInt(lda, "lda", routine), tau)
  checkArguments(info, routine)
}

private typealias ORGQR<T> = (
  Int32, Int32, Int32, Int32, UnsafeMutablePointer<T>?, Int32, UnsafePointer<T>?
) -> Int32

private func orgqr<T>(
  _ function: @escaping ORGQR<T>, _ routine: StaticString, rows: Int, columns: Int, reflectors: Int,
  a: UnsafeMutablePointer<T>, lda: Int, tau: UnsafePointer<T>
) {
  assert(rows >= columns && columns >= reflectors && reflectors > 0)
  let info = function(
    rowMajor, lapackInt(rows, "m", routine), lapackInt(columns, "n", routine),
    lapackInt(reflectors, "k", routine), a, lapackInt(lda, "lda", routine), tau)
  checkArguments(info, routine)
}

private typealias SYEVD<T> = (
  Int32, CChar, CChar, Int32, UnsafeMutablePointer<T>?, Int32, UnsafeMutablePointer<T>?
) -> Int32

private func syevd<T>(
  _ function: @escaping SYEVD<T>, _ routine: StaticString, n: Int, a: UnsafeMutablePointer<T>,
  lda: Int,
  eigenvalues: UnsafeMutablePointer<T>
) throws(LinearAlgebraError) {
  assert(n > 0)
  let info = function(
    rowMajor, character("V"), character("L"), lapackInt(n, "n", routine), a,
    lapackInt(lda, "lda", routine), eigenvalues)
  checkArguments(info, routine)
  if info > 0 { throw .didNotConverge(routine: "\(routine)") }
}

private typealias GESDD<T> = (
  Int32, CChar, Int32, Int32, UnsafeMutablePointer<T>?, Int32, UnsafeMutablePointer<T>?,
  UnsafeMutablePointer<T>?, Int32, UnsafeMutablePointer<T>?, Int32
) -> Int32

private func gesdd<T>(
  _ function: @escaping GESDD<T>, _ routine: StaticString, rows: Int, columns: Int,
  a: UnsafeMutablePointer<T>, lda: Int, singularValues: UnsafeMutablePointer<T>,
  u: UnsafeMutablePointer<T>, ldu: Int, vt: UnsafeMutablePointer<T>, ldvt: Int
) throws(LinearAlgebraError) {
  assert(rows > 0 && columns > 0)
  // jobz "S": the reduced factors, U rows×k and Vᵀ k×columns.
  let info = function(
    rowMajor, character("S"), lapackInt(rows, "m", routine), lapackInt(columns, "n", routine), a,
    lapackInt(lda, "lda", routine), singularValues, u, lapackInt(ldu, "ldu", routine), vt,
    lapackInt(ldvt, "ldvt", routine))
  checkArguments(info, routine)
  if info > 0 { throw .didNotConverge(routine: "\(routine)") }
}

// MARK: - The routines of the scalar type: each picks its precision's C function

extension TensorScalar {
  /// Factors the `rows×columns` matrix `a` in place as `P·L·U` (LAPACK `getrf`): `L` unit lower
  /// triangular below the diagonal, `U` upper triangular on and above it. `pivots` receives
  /// `min(rows, columns)` row interchanges: row `i` was swapped with row `pivots[i]`.
  ///
  /// - Throws: ``LinearAlgebraError/singular(pivot:)`` when `U` has an exactly zero diagonal
  ///   element; the factors are complete and valid even then.
  static func _getrf(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Self>, lda: Int,
    pivots: UnsafeMutablePointer<Int>
  ) throws(LinearAlgebraError) {
    try getrf(
      pick(single: LAPACKE_sgetrf as GETRF<Float>, double: LAPACKE_dgetrf as GETRF<Double>),
      pickName(single: "sgetrf", double: "dgetrf"), rows: rows, columns: columns, a: a, lda: lda,
      pivots: pivots)
  }

  /// Solves `op(A)·x = b` in place of the `n×rightHandSides` matrix `b`, from the LU factors and
  /// pivots `_getrf` left for the `n×n` matrix `A` (LAPACK `getrs`).
  static func _getrs(
    transpose: Bool, n: Int, rightHandSides: Int, lu: UnsafePointer<Self>, lda: Int,
    pivots: UnsafePointer<Int>, b: UnsafeMutablePointer<Self>, ldb: Int
  ) {
    getrs(
      pick(
        single: LAPACKE_sgetrs_work as GETRS<Float>, double: LAPACKE_dgetrs_work as GETRS<Double>),
      pickName(single: "sgetrs", double: "dgetrs"), transpose: transpose, n: n,
      rightHandSides: rightHandSides,
      lu: lu, lda: lda, pivots: pivots, b: b, ldb: ldb)
  }

  /// Replaces the LU factors that `_getrf` left for the `n×n` matrix `A` by `A⁻¹` (LAPACK
  /// `getri`).
  ///
  /// - Throws: ``LinearAlgebraError/singular(pivot:)`` when `U` has a zero diagonal element.
  static func _getri(
    n: Int, lu: UnsafeMutablePointer<Self>, lda: Int, pivots: UnsafePointer<Int>
  ) throws(LinearAlgebraError) {
    try getri(
      pick(single: LAPACKE_sgetri as GETRI<Float>, double: LAPACKE_dgetri as GETRI<Double>),
      pickName(single: "sgetri", double: "dgetri"), n: n, lu: lu, lda: lda, pivots: pivots)
  }

  /// Replaces the lower triangle of the symmetric `n×n` matrix `a` by its Cholesky factor `L`,
  /// `a = L·Lᵀ` (LAPACK `potrf`). The strict upper triangle is neither read nor written.
  ///
  /// - Throws: ``LinearAlgebraError/notPositiveDefinite(minor:)`` when `a` is not positive
  ///   definite.
  static func _potrf(
    n: Int, a: UnsafeMutablePointer<Self>, lda: Int
  ) throws(LinearAlgebraError) {
    try potrf(
      pick(single: LAPACKE_spotrf as POTRF<Float>, double: LAPACKE_dpotrf as POTRF<Double>),
      pickName(single: "spotrf", double: "dpotrf"), n: n, a: a, lda: lda)
  }

  /// Solves `L·Lᵀ·x = b` in place of the `n×rightHandSides` matrix `b`, for the lower triangular
  /// Cholesky factor `l` (LAPACK `potrs`).
  static func _potrs(
    n: Int, rightHandSides: Int, l: UnsafePointer<Self>, lda: Int,
    b: UnsafeMutablePointer<Self>, ldb: Int
  ) {
    potrs(
      pick(
        single: LAPACKE_spotrs_work as POTRS<Float>, double: LAPACKE_dpotrs_work as POTRS<Double>),
      pickName(single: "spotrs", double: "dpotrs"), n: n, rightHandSides: rightHandSides, l: l,
      lda: lda, b: b,
      ldb: ldb)
  }

  /// Factors the `rows×columns` matrix `a` in place as `Q·R` (LAPACK `geqrf`): `R` on and above
  /// the diagonal, `Q` as `min(rows, columns)` Householder reflectors below it and in `tau`.
  static func _geqrf(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Self>, lda: Int,
    tau: UnsafeMutablePointer<Self>
  ) {
    geqrf(
      pick(single: LAPACKE_sgeqrf as GEQRF<Float>, double: LAPACKE_dgeqrf as GEQRF<Double>),
      pickName(single: "sgeqrf", double: "dgeqrf"), rows: rows, columns: columns, a: a, lda: lda,
      tau: tau)
  }

  /// Overwrites the leading `rows×columns` block of `a`, which holds `reflectors` reflectors
  /// from `_geqrf`, with the first `columns` columns of their product `Q` (LAPACK `orgqr`).
  static func _orgqr(
    rows: Int, columns: Int, reflectors: Int, a: UnsafeMutablePointer<Self>, lda: Int,
    tau: UnsafePointer<Self>
  ) {
    orgqr(
      pick(single: LAPACKE_sorgqr as ORGQR<Float>, double: LAPACKE_dorgqr as ORGQR<Double>),
      pickName(single: "sorgqr", double: "dorgqr"), rows: rows, columns: columns,
      reflectors: reflectors, a: a,
      lda: lda, tau: tau)
  }

  /// The eigenvalues of the symmetric `n×n` matrix `a` in ascending order, and its orthonormal
  /// eigenvectors in place of `a`, as columns (LAPACK `syevd`, divide and conquer). Only the
  /// lower triangle of `a` is read.
  ///
  /// - Throws: ``LinearAlgebraError/didNotConverge(routine:)``.
  static func _syevd(
    n: Int, a: UnsafeMutablePointer<Self>, lda: Int, eigenvalues: UnsafeMutablePointer<Self>
  ) throws(LinearAlgebraError) {
    try syevd(
      pick(single: LAPACKE_ssyevd as SYEVD<Float>, double: LAPACKE_dsyevd as SYEVD<Double>),
      pickName(single: "ssyevd", double: "dsyevd"), n: n, a: a, lda: lda, eigenvalues: eigenvalues)
  }

  /// The reduced singular value decomposition `a = U·diag(s)·Vᵀ` of the `rows×columns` matrix
  /// `a` (LAPACK `gesdd`, divide and conquer): with `k = min(rows, columns)`, `u` receives the
  /// `rows×k` matrix `U`, `vt` the `k×columns` matrix `Vᵀ`, and `singularValues` the `k` values
  /// in descending order. `a` is overwritten.
  ///
  /// - Throws: ``LinearAlgebraError/didNotConverge(routine:)``.
  static func _gesdd(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Self>, lda: Int,
    singularValues: UnsafeMutablePointer<Self>, u: UnsafeMutablePointer<Self>, ldu: Int,
    vt: UnsafeMutablePointer<Self>, ldvt: Int
  ) throws(LinearAlgebraError) {
    try gesdd(
      pick(single: LAPACKE_sgesdd as GESDD<Float>, double: LAPACKE_dgesdd as GESDD<Double>),
      pickName(single: "sgesdd", double: "dgesdd"), rows: rows, columns: columns, a: a, lda: lda,
      singularValues: singularValues, u: u, ldu: ldu, vt: vt, ldvt: ldvt)
  }
}
