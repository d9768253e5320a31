// On `@_specialize`, see the Performance article in Documentation.docc.

extension Tensor {
  /// The vector norm over `axes`, which are kept with extent 1, as
  /// `torch.linalg.vector_norm(x, ord, dim, keepdim=True)`: for `order` 2 (the default)
  /// `√Σ x²`, for 1 `Σ |x|`, for `.infinity` `max |x|`.
  ///
  /// ```swift
  /// let x = Tensor<Double>([[3, -4], [0, 0]])
  /// x.norm(alongAxes: [1])                       // [[5], [0]]
  /// x.norm(order: 1, alongAxes: [1])             // [[7], [0]]
  /// x.norm(order: .infinity, alongAxes: [1])     // [[4], [0]]
  /// ```
  ///
  /// The gradient of the 2-norm is `g·x/‖x‖`, and 0 for a group of zeros, where the norm has no
  /// derivative (PyTorch's choice; `sqrt(x.squared().sum())` would give NaN there). The
  /// 1-norm's is `g·sign(x)`, 0 at 0; the ∞-norm's goes to the first element of largest
  /// magnitude in each group, as ``max(alongAxes:file:line:)``'s does. The 2-norm is computed
  /// as `√Σ x²` in the tensor's precision, as NumPy's `norm`: in `Float` it overflows to ∞
  /// once Σ x² passes 3.4·10³⁸. An empty group has 1- and 2-norm 0.
  ///
  /// - Parameters:
  ///   - order: 2, 1 or `.infinity`.
  ///   - axes: The axes to reduce, each in `-rank..<rank`.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `order` is 1, 2 or `.infinity`; each axis is in `-rank..<rank`; for
  ///   `.infinity`, no reduced axis is empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func norm(
    order: Scalar = 2, alongAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let axes = normalized(axes, "norm(alongAxes:)", at: location)
    check(
      order == 1 || order == 2 || order == .infinity,
      "norm(alongAxes:): order \(order) is not supported; it must be 1, 2 or .infinity",
      at: location)
    switch order {
    case 1:
      return abs(self).sum(alongAxes: axes, file: file, line: line)
    case .infinity:
      check(
        axes.allSatisfy { shape[$0] > 0 },
        "norm(alongAxes:): the ∞-norm of an empty axis of shape \(shape.shapeDescription) has "
          + "no value", at: location)
      return abs(self).max(alongAxes: axes, file: file, line: line)
    default:
      let value = sqrt(detached.squared().sum(alongAxes: axes))
      return record(
        "norm", output: value, operands: self, at: location,
        // ∂‖x‖/∂x = x/‖x‖; a norm of 0 divides by 1 instead, where x is all zeros.
        rule: .unary { g, x, y in g * x / `where`(y .== 0, 1, y) },
        tangent: .unary { dx, x, y in (dx * x).sum(alongAxes: axes) / `where`(y .== 0, 1, y) })
    }
  }

  /// The vector norm over `axes`, which are removed from the shape; see
  /// ``norm(order:alongAxes:file:line:)``.
  ///
  /// - Precondition: As for ``norm(order:alongAxes:file:line:)``.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func norm(
    order: Scalar = 2, squeezingAxes axes: [Int], file: StaticString = #fileID,
    line: UInt = #line
  ) -> Tensor {
    squeezing(axes, "norm(squeezingAxes:)", file, line) {
      norm(order: order, alongAxes: $0, file: file, line: line)
    }
  }

  /// The vector norm of all the elements, as a scalar tensor: `x.norm()` is `‖x‖₂`; see
  /// ``norm(order:alongAxes:file:line:)``.
  ///
  /// - Precondition: `order` is 1, 2 or `.infinity`, and for `.infinity` the tensor is not
  ///   empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func norm(order: Scalar = 2, file: StaticString = #fileID, line: UInt = #line)
    -> Tensor
  {
    norm(order: order, alongAxes: Array(shape.indices), file: file, line: line)
      .reshaped(to: [], file: file, line: line)
  }
}
