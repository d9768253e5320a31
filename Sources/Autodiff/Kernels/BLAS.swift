internal import CBLAS
internal import CElementwise
internal import Foundation
import RealModule
internal import Synchronization

// The library's only calls into BLAS. Each routine is wrapped once, by a generic function that
// takes the single- or double-precision C function; the functions below only pick it. A
// wrapper converts Swift `Int` sizes to BLAS's 32-bit `blasint` and checks that they fit, so no
// caller handles C types.

/// Converts a size to BLAS's index type, stopping with a message if it does not fit.
@inline(__always)
private func blasInt(_ value: Int, _ what: StaticString) -> blasint {
  guard let converted = blasint(exactly: value) else { indexOverflow(value, what) }
  return converted
}

/// The stop of `blasInt(_:_:)`, out of line so that each conversion inlines to a compare.
@inline(never)
private func indexOverflow(_ value: Int, _ what: StaticString) -> Never {
  fatalError("BLAS: \(what) = \(value) does not fit in a 32-bit BLAS index")
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
  _ function: @escaping GEMM<T>, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
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
  _ function: @escaping TRSM<T>, rightSide: Bool, lower: Bool, transposeA: Bool, unitDiagonal: Bool,
  m: Int, n: Int, alpha: T, a: UnsafePointer<T>, lda: Int, b: UnsafeMutablePointer<T>, ldb: Int
) {
  function(
    CblasRowMajor, rightSide ? CblasRight : CblasLeft, lower ? CblasLower : CblasUpper,
    transposeFlag(transposeA), unitDiagonal ? CblasUnit : CblasNonUnit,
    blasInt(m, "m"), blasInt(n, "n"), alpha, a, blasInt(lda, "lda"), b, blasInt(ldb, "ldb"))
}

// MARK: - The routines of the scalar type: each picks its precision's C function

extension TensorScalar {
  /// Computes `c ← α·op(a)·op(b) + β·c` on row-major buffers (BLAS `gemm`), where `op(a)` is
  /// `a` or its transpose. `op(a)` is `m×k`, `op(b)` is `k×n`, and `c` is `m×n`. It runs on the
  /// BLAS threads its work pays for (``BLAS/withThreads(forMultiplyAdds:_:)``).
  static func _gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
  ) {
    BLAS.withThreads(forMultiplyAdds: productWork(m: m, n: n, k: k)) {
      _gemmOnSetThreads(
        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
        alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
  }

  /// ``_gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` on BLAS's threads as
  /// they are: for a caller that set them once for a batch of products.
  static func _gemmOnSetThreads(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
  ) {
    gemm(
      pick(single: cblas_sgemm as GEMM<Float>, double: cblas_dgemm as GEMM<Double>),
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
      alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
  }

  /// The work of an `m×k` by `k×n` product, in Float multiply-adds: `m·n·k`, twice that in
  /// Double, whose multiply-adds take about two of Float's. ``BLAS/multiplyAddsPerThread``
  /// counts in it.
  static func productWork(m: Int, n: Int, k: Int) -> Double {
    Double(m) * Double(n) * Double(k) * Double(MemoryLayout<Self>.size / 4)
  }

  /// Solves `op(a)·x = α·b` (left side) or `x·op(a) = α·b` (right side) in place of the `m×n`
  /// matrix `b`, for a triangular `a` (BLAS `trsm`), on row-major buffers. `a` is `m×m` on the
  /// left side and `n×n` on the right; only its `lower` or upper triangle is read, and its
  /// diagonal is taken as ones when `unitDiagonal`. A zero on the diagonal is not checked.
  static func _trsm(
    rightSide: Bool, lower: Bool, transposeA: Bool, unitDiagonal: Bool, m: Int, n: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafeMutablePointer<Self>, ldb: Int
  ) {
    trsm(
      pick(single: cblas_strsm as TRSM<Float>, double: cblas_dtrsm as TRSM<Double>),
      rightSide: rightSide, lower: lower, transposeA: transposeA,
      unitDiagonal: unitDiagonal, m: m, n: n, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb)
  }
}

/// BLAS's own thread pool, which gemm uses.
public enum BLAS {
  /// The most threads OpenBLAS uses; set it with `OPENBLAS_NUM_THREADS` or
  /// ``setThreadCount(_:)``. A small matrix product uses fewer
  /// (``multiplyAddsPerThread``).
  public static var threadCount: Int {
    narrowing.withOrderedLock { $0.inFlight > 0 ? $0.saved : openBLASThreadCount }
  }

  /// Sets the most threads OpenBLAS uses, for the rest of the process.
  public static func setThreadCount(_ count: Int) {
    narrowing.withOrderedLock { state in
      openblas_set_num_threads(Int32(clamping: count))
      // A product running on fewer threads puts back this count when it ends.
      if state.inFlight > 0 { state.saved = openBLASThreadCount }
    }
  }

  /// The fewest multiply-adds a matrix product gives each BLAS thread; 0 leaves the thread
  /// count of every product to OpenBLAS.
  ///
  /// A product of `m·n·k` multiply-adds (twice that in `Double`) runs on at most
  /// `m·n·k / multiplyAddsPerThread` of ``threadCount`` threads, and on one below twice the
  /// grain. OpenBLAS alone splits every product above 2¹⁸ multiply-adds across all its
  /// threads, which costs more than it saves below about 2²² once the next operation reads the
  /// product and the other thread's half of the result has to move between the cores' caches:
  /// on this project's 2-core VM, when its cores sat on different dies, a chain of
  /// `[64, 128]·[128, 128]` products, each followed by a relu, took 1.5× as long on two threads
  /// as on one (<doc:Performance>, "A product's BLAS threads follow its work"). Where a
  /// pullback needs both gradients of a product and each runs on one thread, the two run side
  /// by side on two threads.
  ///
  /// Autodiff lowers OpenBLAS's count around such a product and puts it back when the product
  /// ends. The count is OpenBLAS's, for the whole process: a BLAS call that another thread
  /// makes meanwhile may run on fewer threads too, never on more. With an OpenBLAS built on
  /// OpenMP, or single-threaded, it does nothing. The default is 2²¹; set it from any thread.
  public static var multiplyAddsPerThread: Int {
    get { productGrain.load(ordering: .relaxed) }
    set {
      check(
        newValue >= 0, "BLAS.multiplyAddsPerThread: \(newValue); it must be 0 or more")
      productGrain.store(newValue, ordering: .relaxed)
    }
  }

  /// Runs `body`, one BLAS call of `work` multiply-adds, on the threads its work pays for
  /// (``multiplyAddsPerThread``).
  static func withThreads(forMultiplyAdds work: Double, _ body: () -> Void) {
    let grain = productGrain.load(ordering: .relaxed)
    guard grain > 0, lowersThreads else { return body() }
    let wanted = threadsWanted(work, grain)
    // Read without the lock: a product that another thread runs on fewer threads meanwhile
    // makes this one run on as few, which only costs time.
    guard wanted < openBLASThreadCount else { return body() }
    narrowing.withOrderedLock { state in
      if state.inFlight == 0 { state.saved = openBLASThreadCount }
      state.inFlight += 1
      openblas_set_num_threads(Int32(wanted))
    }
    defer {
      narrowing.withOrderedLock { state in
        state.inFlight -= 1
        if state.inFlight == 0 { openblas_set_num_threads(Int32(clamping: state.saved)) }
      }
    }
    body()
  }

  /// Whether two independent products of `first` and `second` multiply-adds finish sooner side
  /// by side, one thread each, than one after the other: when each runs on one BLAS thread
  /// anyway and is worth a thread's start (a quarter of ``multiplyAddsPerThread``), and
  /// ``threadCount`` and ``Parallelism/threadCount`` both allow two threads. (Two products that
  /// each run on several threads stay one after the other: OpenBLAS's pool serves one call at
  /// a time best.)
  static func sideBySide(_ first: Double, _ second: Double) -> Bool {
    let grain = productGrain.load(ordering: .relaxed)
    guard grain > 0, lowersThreads else { return false }
    let oneThread = Double(grain / 4)..<Double(2 * grain)
    return oneThread.contains(first) && oneThread.contains(second)
      && min(openBLASThreadCount, Parallelism.threadCount) >= 2
  }

  /// How many independent products of `work` multiply-adds each, which BLAS runs on one
  /// thread, one of Autodiff's threads runs in a row (``forEachRange``'s grain): enough for a
  /// quarter of ``multiplyAddsPerThread``, a thread's start. `nil` where such products run one
  /// after the other: a product BLAS splits across threads, or an OpenBLAS whose thread count
  /// Autodiff does not lower (its OpenMP build).
  static func productsPerThread(of work: Double) -> Int? {
    let grain = productGrain.load(ordering: .relaxed)
    guard grain > 0, lowersThreads, work < Double(2 * grain) else { return nil }
    return Int(max(1, (Double(grain / 4) / max(work, 1)).rounded(.up)))
  }

  /// The threads a product of `work` multiply-adds pays for: one per `grain`, at least one.
  private static func threadsWanted(_ work: Double, _ grain: Int) -> Int {
    Int(min(max(1, (work / Double(grain)).rounded(.down)), Double(Int32.max)))
  }

  /// Whether lowering OpenBLAS's thread count is cheap and safe: in its pthreads build the
  /// count is one variable (its OpenMP build frees and allocates each thread's buffers on every
  /// change).
  static let lowersThreads = openblas_get_parallel() == 1

  /// OpenBLAS's thread count at this moment, lowered while a small product runs.
  static var openBLASThreadCount: Int { Int(openblas_get_num_threads()) }

  /// OpenBLAS's thread count before Autodiff lowered it to the cgroup CPU limit, if it did;
  /// otherwise `nil`.
  ///
  /// OpenBLAS starts one thread per core of the affinity mask, which a CPU limit
  /// (``Parallelism/cpuLimit``: `docker run --cpus`, Kubernetes limits) does not narrow. Under
  /// a limit below that count, and when none of `OPENBLAS_NUM_THREADS`, `GOTO_NUM_THREADS` and
  /// `OMP_NUM_THREADS` is set, Autodiff lowers the count to the limit rounded up when the
  /// program loads. Setting one of those variables, or calling ``setThreadCount(_:)``, keeps
  /// or sets your own count.
  public static var threadCountBeforeCPULimit: Int? { blasThreadsBeforeCPULimit() }

  /// The kernel set OpenBLAS runs on this CPU: `"Haswell"`, `"SkylakeX"`, `"Prescott"`, ...
  /// (`OPENBLAS_CORETYPE` pins it; Autodiff replaces a generic choice, see
  /// ``replacedCoreName``).
  public static var coreName: String { String(cString: openblas_get_corename()) }

  /// The kernel set OpenBLAS chose when it loaded, if Autodiff replaced it with a faster one;
  /// otherwise `nil`.
  ///
  /// OpenBLAS picks its kernels once, when it loads, and only `OPENBLAS_CORETYPE` overrides
  /// its choice. An OpenBLAS older than the CPU does not recognize it and picks its most generic
  /// kernels (`Prescott`, SSE3): Debian 12's OpenBLAS 0.3.21 does so on recent Xeons, where its
  /// gemm then runs at about a third of the speed of its AVX2 (`Haswell`) kernels and a fifth
  /// of its AVX-512 (`SkylakeX`) ones. When the variable is not set and OpenBLAS took its
  /// generic kernels on a CPU that has AVX2 or AVX-512, Autodiff re-runs OpenBLAS's kernel
  /// selection with the better set when the program loads, before `main` and before any thread
  /// exists (the selection reads `OPENBLAS_CORETYPE`, and setting a variable is not
  /// thread-safe). Results stay the same up to rounding.
  ///
  /// To keep OpenBLAS's own choice, set `OPENBLAS_CORETYPE` (to any kernel set, `Prescott`
  /// included) before the program starts, or call ``restoreLoadedKernels()``.
  public static var replacedCoreName: String? {
    autodiff_openblas_replaced_core_name().map { String(cString: $0) }
  }

  /// Puts back the kernel set OpenBLAS chose when it loaded, undoing Autodiff's replacement
  /// (``replacedCoreName``); does nothing when there was none.
  ///
  /// Call it at the start of the program, before any other thread runs: like OpenBLAS's own
  /// selection, it sets and unsets `OPENBLAS_CORETYPE`, which races with any other thread that
  /// reads or writes the environment, and no BLAS call may run meanwhile.
  ///
  /// - Returns: Whether it put a kernel set back.
  @discardableResult
  public static func restoreLoadedKernels() -> Bool {
    autodiff_openblas_restore_loaded_kernels() != 0
  }

  /// The kernel set to use instead of `coreName` on a CPU with or without AVX-512 and AVX2:
  /// the load-time upgrade's decision, for tests.
  static func fasterCoreType(than coreName: String, avx512: Bool, avx2: Bool) -> String? {
    autodiff_faster_core_type(coreName, avx512 ? 1 : 0, avx2 ? 1 : 0).map { String(cString: $0) }
  }
}

/// ``BLAS/multiplyAddsPerThread``'s value.
private let productGrain = Atomic<Int>(1 << 21)

/// The products running on fewer threads than ``BLAS/threadCount``, and the count to put back
/// when the last ends.
private let narrowing = Mutex<(inFlight: Int, saved: Int)>((0, 0))
