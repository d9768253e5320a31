internal import CBLAS
internal import Foundation
import RealModule

// The library's only calls into BLAS. Each routine is wrapped once, by a generic function that
// takes the single- or double-precision C function; the conformances below only pick it. A
// wrapper converts Swift `Int` sizes to BLAS's 32-bit `blasint` and checks that they fit, so no
// caller handles C types. Every call converts its sizes first, so the conversion is also where
// the one-time kernel check (`BLAS.replacedCoreName`) runs, before OpenBLAS computes anything.

/// Converts a size to BLAS's index type, stopping with a message if it does not fit.
private func blasInt(_ value: Int, _ what: StaticString) -> blasint {
  _ = BLAS.replacedCoreName
  guard let converted = blasint(exactly: value) else {
    fatalError("BLAS: \(what) = \(value) does not fit in a 32-bit BLAS index")
  }
  return converted
}

private func transposeFlag(_ transpose: Bool) -> CBLAS_TRANSPOSE {
  transpose ? CblasTrans : CblasNoTrans
}

// MARK: - The wrappers, one per routine, generic over the C function of either precision

private typealias GEMM<T> = (
  CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint, T,
  UnsafePointer<T>?, blasint, UnsafePointer<T>?, blasint, T, UnsafeMutablePointer<T>?, blasint
) -> Void

private func gemm<T>(
  _ function: GEMM<T>, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
  alpha: T, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
  beta: T, c: UnsafeMutablePointer<T>, ldc: Int
) {
  function(
    CblasRowMajor, transposeFlag(transposeA), transposeFlag(transposeB),
    blasInt(m, "m"), blasInt(n, "n"), blasInt(k, "k"),
    alpha, a, blasInt(lda, "lda"), b, blasInt(ldb, "ldb"), beta, c, blasInt(ldc, "ldc"))
}

private typealias TRSM<T> = (
  CBLAS_ORDER, CBLAS_SIDE, CBLAS_UPLO, CBLAS_TRANSPOSE, CBLAS_DIAG, blasint, blasint, T,
  UnsafePointer<T>?, blasint, UnsafeMutablePointer<T>?, blasint
) -> Void

private func trsm<T>(
  _ function: TRSM<T>, rightSide: Bool, lower: Bool, transposeA: Bool, unitDiagonal: Bool,
  m: Int, n: Int, alpha: T, a: UnsafePointer<T>, lda: Int, b: UnsafeMutablePointer<T>, ldb: Int
) {
  function(
    CblasRowMajor, rightSide ? CblasRight : CblasLeft, lower ? CblasLower : CblasUpper,
    transposeFlag(transposeA), unitDiagonal ? CblasUnit : CblasNonUnit,
    blasInt(m, "m"), blasInt(n, "n"), alpha, a, blasInt(lda, "lda"), b, blasInt(ldb, "ldb"))
}

// MARK: - Float and Double: each picks its routines

extension Float: TensorScalar {
  public static func _gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    gemm(
      cblas_sgemm, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
      alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
  }

  public static func _trsm(
    rightSide: Bool, lower: Bool, transposeA: Bool, unitDiagonal: Bool, m: Int, n: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafeMutablePointer<Float>, ldb: Int
  ) {
    trsm(
      cblas_strsm, rightSide: rightSide, lower: lower, transposeA: transposeA,
      unitDiagonal: unitDiagonal, m: m, n: n, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb)
  }

  public static var _name: String { "Float" }
}

extension Double: TensorScalar {
  public static func _gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    gemm(
      cblas_dgemm, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
      alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
  }

  public static func _trsm(
    rightSide: Bool, lower: Bool, transposeA: Bool, unitDiagonal: Bool, m: Int, n: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafeMutablePointer<Double>, ldb: Int
  ) {
    trsm(
      cblas_dtrsm, rightSide: rightSide, lower: lower, transposeA: transposeA,
      unitDiagonal: unitDiagonal, m: m, n: n, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb)
  }

  public static var _name: String { "Double" }
}

/// BLAS's own thread pool, which gemm uses.
public enum BLAS {
  /// The number of threads OpenBLAS uses; set it with `OPENBLAS_NUM_THREADS` or
  /// ``setThreadCount(_:)``.
  public static var threadCount: Int { Int(openblas_get_num_threads()) }

  /// Sets the number of threads OpenBLAS uses for the rest of the process.
  public static func setThreadCount(_ count: Int) {
    openblas_set_num_threads(Int32(clamping: count))
  }

  /// The kernel set OpenBLAS runs on this CPU: `"Haswell"`, `"SkylakeX"`, `"Prescott"`, ...
  /// (`OPENBLAS_CORETYPE` pins it; Autodiff replaces a generic choice, see
  /// ``replacedCoreName``).
  public static var coreName: String {
    _ = replacedCoreName
    return String(cString: openblas_get_corename())
  }

  /// The kernel set OpenBLAS chose when it loaded, if Autodiff replaced it with a faster one
  /// before its first BLAS or LAPACK call; otherwise `nil`.
  ///
  /// OpenBLAS picks its kernels once, when it loads, and only `OPENBLAS_CORETYPE` overrides
  /// its choice. An OpenBLAS older than the CPU does not recognize it and picks its most generic
  /// kernels (`Prescott`, SSE3): Debian 12's OpenBLAS 0.3.21 does so on recent Xeons, where its
  /// gemm then runs at about a third of the speed of its AVX2 (`Haswell`) kernels and a fifth
  /// of its AVX-512 (`SkylakeX`) ones. When the variable is not set and OpenBLAS took its
  /// generic kernels on a CPU that has AVX2 or AVX-512, Autodiff re-runs OpenBLAS's kernel
  /// selection with the better set, once, before it first calls BLAS. Results stay the same up
  /// to rounding. Set `OPENBLAS_CORETYPE` (to any kernel set, `Prescott` included) to keep
  /// OpenBLAS's own choice.
  ///
  /// Evaluated once, thread-safely, before the library's first BLAS or LAPACK call (by the size
  /// conversions every call makes) and by ``coreName``.
  public static let replacedCoreName: String? = {
    guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return nil }
    let loaded = String(cString: openblas_get_corename())
    guard let faster = fasterCoreType(than: loaded, cpuFlags: cpuFlags), selectKernels(faster),
      String(cString: openblas_get_corename()) != loaded
    else { return nil }
    return loaded
  }()

  /// The kernel set to use instead of `coreName` on a CPU with `cpuFlags` (/proc/cpuinfo's).
  static func fasterCoreType(than coreName: String, cpuFlags: Set<String>) -> String? {
    guard coreName == "Prescott" else { return nil }
    if cpuFlags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) {
      return "SkylakeX"
    }
    if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
    return nil
  }

  /// The flags of the first CPU in /proc/cpuinfo; empty where there is none.
  static var cpuFlags: Set<String> {
    (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
      .flatMap { $0.split(separator: "\n").first { $0.hasPrefix("flags") } }
      .map { Set($0.split(separator: " ").map(String.init)) } ?? []
  }

  /// Re-runs the kernel selection of an OpenBLAS built for several CPUs (`DYNAMIC_ARCH`, as
  /// Debian's is) with `OPENBLAS_CORETYPE` = `core`; false when this OpenBLAS cannot.
  ///
  /// `gotoblas_dynamic_init` is how OpenBLAS selects its kernels when it loads: it reads the
  /// variable and sets the kernel table every routine dispatches through. It does nothing while
  /// a table is set, hence `gotoblas_dynamic_quit` first. Both are looked up at run time, so a
  /// single-CPU OpenBLAS, which has neither, is left as it is.
  private static func selectKernels(_ core: String) -> Bool {
    typealias Function = @convention(c) () -> Void
    guard let process = dlopen(nil, RTLD_NOW),
      let quit = dlsym(process, "gotoblas_dynamic_quit"),
      let select = dlsym(process, "gotoblas_dynamic_init")
    else { return false }
    setenv("OPENBLAS_CORETYPE", core, 1)
    unsafeBitCast(quit, to: Function.self)()
    unsafeBitCast(select, to: Function.self)()
    unsetenv("OPENBLAS_CORETYPE")
    return true
  }
}
