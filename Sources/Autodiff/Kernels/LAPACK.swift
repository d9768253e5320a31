internal import CBLAS

// The library's only calls into LAPACK, through LAPACKE's row-major interface. Each routine is
// wrapped once, by a generic function below that takes the single- or double-precision C
// function; the `Float` and `Double` conformances at the end only pick the function. A wrapper
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
/// Every call converts its sizes here first, so this also runs the one-time kernel check
/// (`BLAS.replacedCoreName`) before LAPACK's first call into BLAS.
private func lapackInt(_ value: Int, _ what: StaticString, _ routine: StaticString) -> Int32 {
  _ = BLAS.replacedCoreName
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
  _ function: GETRF<T>, _ routine: StaticString, rows: Int, columns: Int,
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
  _ function: GETRS<T>, _ routine: StaticString, transpose: Bool, n: Int, rightHandSides: Int,
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
  _ function: GETRI<T>, _ routine: StaticString, n: Int, lu: UnsafeMutablePointer<T>, lda: Int,
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
  _ function: POTRF<T>, _ routine: StaticString, n: Int, a: UnsafeMutablePointer<T>, lda: Int
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
  _ function: POTRS<T>, _ routine: StaticString, n: Int, rightHandSides: Int,
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
  _ function: GEQRF<T>, _ routine: StaticString, rows: Int, columns: Int,
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
  _ function: ORGQR<T>, _ routine: StaticString, rows: Int, columns: Int, reflectors: Int,
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
  _ function: SYEVD<T>, _ routine: StaticString, n: Int, a: UnsafeMutablePointer<T>, lda: Int,
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
  _ function: GESDD<T>, _ routine: StaticString, rows: Int, columns: Int,
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

// MARK: - Float and Double

extension Float {
  public static func _getrf(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Float>, lda: Int,
    pivots: UnsafeMutablePointer<Int>
  ) throws(LinearAlgebraError) {
    try getrf(
      LAPACKE_sgetrf, "sgetrf", rows: rows, columns: columns, a: a, lda: lda, pivots: pivots)
  }

  public static func _getrs(
    transpose: Bool, n: Int, rightHandSides: Int, lu: UnsafePointer<Float>, lda: Int,
    pivots: UnsafePointer<Int>, b: UnsafeMutablePointer<Float>, ldb: Int
  ) {
    getrs(
      LAPACKE_sgetrs_work, "sgetrs", transpose: transpose, n: n, rightHandSides: rightHandSides,
      lu: lu, lda: lda, pivots: pivots, b: b, ldb: ldb)
  }

  public static func _getri(
    n: Int, lu: UnsafeMutablePointer<Float>, lda: Int, pivots: UnsafePointer<Int>
  ) throws(LinearAlgebraError) {
    try getri(LAPACKE_sgetri, "sgetri", n: n, lu: lu, lda: lda, pivots: pivots)
  }

  public static func _potrf(
    n: Int, a: UnsafeMutablePointer<Float>, lda: Int
  ) throws(LinearAlgebraError) {
    try potrf(LAPACKE_spotrf, "spotrf", n: n, a: a, lda: lda)
  }

  public static func _potrs(
    n: Int, rightHandSides: Int, l: UnsafePointer<Float>, lda: Int,
    b: UnsafeMutablePointer<Float>, ldb: Int
  ) {
    potrs(
      LAPACKE_spotrs_work, "spotrs", n: n, rightHandSides: rightHandSides, l: l, lda: lda, b: b,
      ldb: ldb)
  }

  public static func _geqrf(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Float>, lda: Int,
    tau: UnsafeMutablePointer<Float>
  ) {
    geqrf(LAPACKE_sgeqrf, "sgeqrf", rows: rows, columns: columns, a: a, lda: lda, tau: tau)
  }

  public static func _orgqr(
    rows: Int, columns: Int, reflectors: Int, a: UnsafeMutablePointer<Float>, lda: Int,
    tau: UnsafePointer<Float>
  ) {
    orgqr(
      LAPACKE_sorgqr, "sorgqr", rows: rows, columns: columns, reflectors: reflectors, a: a,
      lda: lda, tau: tau)
  }

  public static func _syevd(
    n: Int, a: UnsafeMutablePointer<Float>, lda: Int, eigenvalues: UnsafeMutablePointer<Float>
  ) throws(LinearAlgebraError) {
    try syevd(LAPACKE_ssyevd, "ssyevd", n: n, a: a, lda: lda, eigenvalues: eigenvalues)
  }

  public static func _gesdd(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Float>, lda: Int,
    singularValues: UnsafeMutablePointer<Float>, u: UnsafeMutablePointer<Float>, ldu: Int,
    vt: UnsafeMutablePointer<Float>, ldvt: Int
  ) throws(LinearAlgebraError) {
    try gesdd(
      LAPACKE_sgesdd, "sgesdd", rows: rows, columns: columns, a: a, lda: lda,
      singularValues: singularValues, u: u, ldu: ldu, vt: vt, ldvt: ldvt)
  }
}

extension Double {
  public static func _getrf(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Double>, lda: Int,
    pivots: UnsafeMutablePointer<Int>
  ) throws(LinearAlgebraError) {
    try getrf(
      LAPACKE_dgetrf, "dgetrf", rows: rows, columns: columns, a: a, lda: lda, pivots: pivots)
  }

  public static func _getrs(
    transpose: Bool, n: Int, rightHandSides: Int, lu: UnsafePointer<Double>, lda: Int,
    pivots: UnsafePointer<Int>, b: UnsafeMutablePointer<Double>, ldb: Int
  ) {
    getrs(
      LAPACKE_dgetrs_work, "dgetrs", transpose: transpose, n: n, rightHandSides: rightHandSides,
      lu: lu, lda: lda, pivots: pivots, b: b, ldb: ldb)
  }

  public static func _getri(
    n: Int, lu: UnsafeMutablePointer<Double>, lda: Int, pivots: UnsafePointer<Int>
  ) throws(LinearAlgebraError) {
    try getri(LAPACKE_dgetri, "dgetri", n: n, lu: lu, lda: lda, pivots: pivots)
  }

  public static func _potrf(
    n: Int, a: UnsafeMutablePointer<Double>, lda: Int
  ) throws(LinearAlgebraError) {
    try potrf(LAPACKE_dpotrf, "dpotrf", n: n, a: a, lda: lda)
  }

  public static func _potrs(
    n: Int, rightHandSides: Int, l: UnsafePointer<Double>, lda: Int,
    b: UnsafeMutablePointer<Double>, ldb: Int
  ) {
    potrs(
      LAPACKE_dpotrs_work, "dpotrs", n: n, rightHandSides: rightHandSides, l: l, lda: lda, b: b,
      ldb: ldb)
  }

  public static func _geqrf(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Double>, lda: Int,
    tau: UnsafeMutablePointer<Double>
  ) {
    geqrf(LAPACKE_dgeqrf, "dgeqrf", rows: rows, columns: columns, a: a, lda: lda, tau: tau)
  }

  public static func _orgqr(
    rows: Int, columns: Int, reflectors: Int, a: UnsafeMutablePointer<Double>, lda: Int,
    tau: UnsafePointer<Double>
  ) {
    orgqr(
      LAPACKE_dorgqr, "dorgqr", rows: rows, columns: columns, reflectors: reflectors, a: a,
      lda: lda, tau: tau)
  }

  public static func _syevd(
    n: Int, a: UnsafeMutablePointer<Double>, lda: Int, eigenvalues: UnsafeMutablePointer<Double>
  ) throws(LinearAlgebraError) {
    try syevd(LAPACKE_dsyevd, "dsyevd", n: n, a: a, lda: lda, eigenvalues: eigenvalues)
  }

  public static func _gesdd(
    rows: Int, columns: Int, a: UnsafeMutablePointer<Double>, lda: Int,
    singularValues: UnsafeMutablePointer<Double>, u: UnsafeMutablePointer<Double>, ldu: Int,
    vt: UnsafeMutablePointer<Double>, ldvt: Int
  ) throws(LinearAlgebraError) {
    try gesdd(
      LAPACKE_dgesdd, "dgesdd", rows: rows, columns: columns, a: a, lda: lda,
      singularValues: singularValues, u: u, ldu: ldu, vt: vt, ldvt: ldvt)
  }
}
