import RealModule

/// A floating-point type a ``Tensor`` can hold: `Float` or `Double`.
///
/// The protocol gathers what a tensor needs from its element type: the elementary functions of
/// `Real` (from swift-numerics) and the BLAS routines for that precision. Each conformance picks
/// the single- or double-precision routine once, so the tensor code above it is written once for
/// both types.
///
/// The requirements whose names start with an underscore are the library's bridge to BLAS; they
/// are public only because Swift protocols cannot hide requirements. Call the tensor operations
/// instead.
public protocol TensorScalar: Real, BinaryFloatingPoint, Sendable, CustomStringConvertible
where RawSignificand: FixedWidthInteger {
  /// Computes `c ← α·op(a)·op(b) + β·c` on row-major buffers (BLAS `gemm`), where `op(a)` is
  /// `a` or its transpose. `op(a)` is `m×k`, `op(b)` is `k×n`, and `c` is `m×n`.
  static func _gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int,
    b: UnsafePointer<Self>, ldb: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

  /// Computes `y ← α·x + y` over `count` elements (BLAS `axpy`).
  static func _axpy(count: Int, alpha: Self, x: UnsafePointer<Self>, y: UnsafeMutablePointer<Self>)

  /// A short name for the type in messages and file headers: `"Float"` or `"Double"`.
  static var _name: String { get }
}
