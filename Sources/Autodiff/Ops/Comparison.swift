// On `@_specialize`, see the Performance article in Documentation.docc.

// Elementwise comparisons. Their results are 1 where the comparison holds and 0 elsewhere, in the
// operands' scalar type, and are never recorded: they are piecewise constant, so their derivative
// is 0 wherever it exists. `==` stays whole-tensor equality; `.==` compares elements.

infix operator .> : ComparisonPrecedence
infix operator .>= : ComparisonPrecedence
infix operator .< : ComparisonPrecedence
infix operator .<= : ComparisonPrecedence
infix operator .== : ComparisonPrecedence
infix operator .!= : ComparisonPrecedence

extension Tensor {
  /// 1 where `lhs > rhs`, else 0, broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .> (lhs: Tensor, rhs: Tensor) -> Tensor {
    zipped(.greaterMask, lhs, rhs, ".>")
  }
  /// 1 where `lhs ≥ rhs`, else 0, broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .>= (lhs: Tensor, rhs: Tensor) -> Tensor {
    zipped(.greaterOrEqualMask, lhs, rhs, ".>=")
  }
  /// 1 where `lhs < rhs`, else 0, broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .< (lhs: Tensor, rhs: Tensor) -> Tensor {
    zipped(.greaterMask, rhs, lhs, ".<")
  }
  /// 1 where `lhs ≤ rhs`, else 0, broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .<= (lhs: Tensor, rhs: Tensor) -> Tensor {
    zipped(.greaterOrEqualMask, rhs, lhs, ".<=")
  }
  /// 1 where `lhs == rhs`, else 0, broadcast.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .== (lhs: Tensor, rhs: Tensor) -> Tensor {
    zipped(.equalMask, lhs, rhs, ".==")
  }
  /// 1 where `lhs != rhs`, else 0, broadcast; 1 where either is NaN, as in IEEE 754 and NumPy.
  ///
  /// ```swift
  /// Tensor<Double>([1, 2, .nan]) .!= Tensor([1, 3, .nan])   // [0.0, 1.0, 1.0]
  /// ```
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .!= (lhs: Tensor, rhs: Tensor) -> Tensor {
    zipped(.notEqualMask, lhs, rhs, ".!=")
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .> (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .> Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .>= (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .>= Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .< (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .< Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .<= (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .<= Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .== (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .== Tensor(rhs) }
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public static func .!= (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .!= Tensor(rhs) }
}
