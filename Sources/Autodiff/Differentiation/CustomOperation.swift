// On `@_specialize`, see the Performance article in Documentation.docc.

/// Records an operation whose value and gradient you compute yourself: a fused kernel, a
/// numerically careful formula, or a rule you want to test.
///
/// `forward` receives the operands as constants (nothing it does is recorded) and returns the
/// value. `pullback` receives the upstream gradient `g` (of the value's shape), the operands and
/// the value, and returns one gradient per operand, each of its operand's shape (`nil` for an
/// operand that needs none). Written with tensor operations, the pullback can itself be
/// differentiated when a sweep records itself (`createGraph: true`).
///
/// ```swift
/// // softplus(x) = log(1 + eˣ), stable for large x, with its derivative σ(x).
/// func softplus(_ x: Tensor<Double>) -> Tensor<Double> {
///   customOperation("softplus", operands: [x]) { x in
///     max(x[0], 0) + log(1 + exp(-abs(x[0])))
///   } pullback: { g, x, _ in
///     [g * sigmoid(x[0])]
///   }
/// }
/// ```
///
/// `tangent`, when given, is the operation's forward-mode rule: the value's tangent from the
/// operands' tangents (`nil` for an operand that does not move), the operands and the value.
/// Without it, forward mode (``jvp(at:tangent:of:file:line:)`` and friends) stops with the operation's
/// name when it reaches this operation.
///
/// - Parameters:
///   - name: The operation's name in messages and graphs.
///   - operands: The inputs; any of them may be recorded.
///   - forward: The value, from the operands as constants.
///   - pullback: The gradient of each operand from the upstream gradient `g`, the operands and
///     the value; `nil` for an operand that needs none.
///   - tangent: The value's tangent from the operands' tangents, the operands and the value; `nil`
///     for an operation that forward mode cannot go through.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Precondition: `pullback` returns one gradient per operand, each of its operand's shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func customOperation<Scalar>(
  _ name: StaticString, operands: [Tensor<Scalar>],
  forward: ([Tensor<Scalar>]) -> Tensor<Scalar>,
  pullback:
    @escaping (
      _ g: Tensor<Scalar>, _ operands: [Tensor<Scalar>], _ value: Tensor<Scalar>
    ) -> [Tensor<Scalar>?],
  tangent: (
    (_ tangents: [Tensor<Scalar>?], _ operands: [Tensor<Scalar>], _ value: Tensor<Scalar>)
      -> Tensor<Scalar>
  )? = nil,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  let value = forward(operands.map { $0.detached }).detached
  return record(
    name, output: value, operands: operands, at: location,
    rule: .custom { context in
      let count = context.node.operands.count
      let gradients = pullback(
        context.upstream, (0..<count).map(context.operand), context.output)
      check(
        gradients.count == count,
        "\(name): the pullback returned \(gradients.count) gradients for \(count) operands",
        at: location)
      for (position, gradient) in gradients.enumerated() where context.needsGradient(position) {
        guard let gradient else { continue }
        let shape = context.node.operands[position].shape
        check(
          gradient.shape == shape,
          "\(name): the pullback returned a gradient of shape \(gradient.shape.shapeDescription) "
            + "for operand \(position) of shape \(shape.shapeDescription)", at: location)
        context.accumulate(gradient, into: position)
      }
    },
    tangent: tangent.map { tangent in
      .custom { tangents, operands, value in
        let result = tangent(tangents, operands, value)
        check(
          result.shape == value.shape,
          "\(name): the tangent rule returned shape \(result.shape.shapeDescription) for a value "
            + "of shape \(value.shape.shapeDescription)", at: location)
        return result
      }
    })
}
