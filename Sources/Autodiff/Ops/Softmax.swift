// On `@_specialize`, see the Performance article in Documentation.docc.

// Softmax and log-softmax, built from primitives. Both shift by the maximum first, which changes
// nothing mathematically (softmax(x − c) = softmax(x)) but keeps exp from overflowing; the shift
// is a constant to differentiation, which is exact because the result does not depend on it.

/// `eˣ / Σ eˣ` along `axis`, computed stably for large inputs.
///
/// - Precondition: `axis` is in `-rank..<rank`, and `x` has elements along it.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmax<Scalar>(
  _ x: Tensor<Scalar>, alongAxis axis: Int = -1, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let axis = x.softmaxAxis(axis, "softmax", at: SourceLocation(file: file, line: line))
  let e = exp(x - withoutDerivative(at: x.max(alongAxes: [axis], file: file, line: line)))
  return e / e.sum(alongAxes: [axis], file: file, line: line)
}

/// `x − log Σ eˣ` along `axis`, computed stably: no overflow for large inputs and no `log 0` for
/// very negative ones.
///
/// - Precondition: `axis` is in `-rank..<rank`, and `x` has elements along it.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func logSoftmax<Scalar>(
  _ x: Tensor<Scalar>, alongAxis axis: Int = -1, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let axis = x.softmaxAxis(axis, "logSoftmax", at: SourceLocation(file: file, line: line))
  let shifted = x - withoutDerivative(at: x.max(alongAxes: [axis], file: file, line: line))
  return shifted - log(exp(shifted).sum(alongAxes: [axis], file: file, line: line))
}

extension Tensor {
  /// `axis` normalized, after checking that `self` has elements along it; `name` names the
  /// operation in the message.
  fileprivate func softmaxAxis(_ axis: Int, _ name: String, at location: SourceLocation) -> Int {
    let axis = normalized([axis], name, at: location)[0]
    check(
      shape[axis] > 0,
      "\(name): axis \(axis) of shape \(shape.shapeDescription) is empty; a softmax needs at "
        + "least one element along its axis", at: location)
    return axis
  }
}
