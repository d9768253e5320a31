import RealModule

/// A floating-point type a ``Tensor`` can hold: `Float` or `Double`.
///
/// The protocol gathers what a tensor needs from its element type: the elementary functions of
/// `Real` (from swift-numerics) and the arithmetic of `BinaryFloatingPoint`. Tensor code is
/// written once for both types; each kernel calls the BLAS, LAPACK or vectorized C routine of
/// the scalar's precision.
///
/// Only `Float` and `Double` conform. Conforming another type compiles, but its first tensor
/// computation stops with a message: there are no kernels for it.
public protocol TensorScalar: Real, BinaryFloatingPoint, Sendable, CustomStringConvertible
where RawSignificand: FixedWidthInteger {}

extension Float: TensorScalar {}
extension Double: TensorScalar {}
