// The one place where a generic `Scalar` becomes `Float` or `Double`: the kernels written once,
// generic over the scalar type, call the C routine of its precision through `pick`.

extension TensorScalar {
  /// `single` when `Self` is `Float`, `double` when it is `Double`, typed as `Self`'s.
  ///
  /// The two are the same routine (or value) in either precision, of the same type up to the
  /// scalar type, so the cast only renames the type: for `Self == Float`, `F` and `Picked` are
  /// one type. Specialized code folds the test away; unspecialized code compares two metatypes.
  ///
  /// - Precondition: `Self` is `Float` or `Double`, the only scalar types Autodiff supports.
  @inline(__always)
  static func pick<F, D, Picked>(single: F, double: D) -> Picked {
    if Self.self == Float.self {
      assert(F.self == Picked.self, "pick: \(F.self) is not \(Picked.self)")
      return unsafeBitCast(single, to: Picked.self)
    }
    guard Self.self == Double.self else { unsupportedScalar() }
    assert(D.self == Picked.self, "pick: \(D.self) is not \(Picked.self)")
    return unsafeBitCast(double, to: Picked.self)
  }

  /// The name of the single- or double-precision routine, for messages.
  @inline(__always)
  static func pickName(single: StaticString, double: StaticString) -> StaticString {
    Self.self == Float.self ? single : double
  }

  private static func unsupportedScalar() -> Never {
    fatalError(
      "Autodiff: \(Self.self) conforms to TensorScalar, but tensors compute only in Float and "
        + "Double")
  }
}
