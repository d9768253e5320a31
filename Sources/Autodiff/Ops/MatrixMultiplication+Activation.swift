// On `@_specialize`, see the Performance article in Documentation.docc.

/// An elementwise function that ``matmul(_:_:plus:activation:file:line:)`` applies to the affine
/// map in the same operation: a dense layer in one step.
///
/// Each one's derivative is a function of its output, so the fused operation's pullback needs
/// its output and its operands, and no intermediate tensor: relu's derivative is 1 where
/// `y > 0` (else 0), tanh's `1 − y²` and sigmoid's `y·(1 − y)`.
public enum Activation: String, Sendable, CaseIterable {
  /// `max(x, 0)`, as ``relu(_:)``.
  case relu
  /// The hyperbolic tangent, as ``tanh(_:)``.
  case tanh
  /// `1 / (1 + e⁻ˣ)`, as ``sigmoid(_:)``.
  case sigmoid

  /// The row of the table of primitives (ElementwiseOperation.swift) that computes it.
  var operation: ElementwiseOperation {
    switch self {
    case .relu: .relu
    case .tanh: .tanh
    case .sigmoid: .sigmoid
    }
  }

  /// The function applied to `x` on its own, recorded when `x` is: ``relu(_:)``,
  /// ``tanh(_:)`` or ``sigmoid(_:)``.
  public func callAsFunction<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
    elementwise(operation, x)
  }

  /// The gradient of the function's input from the upstream gradient `g` and the output `y`.
  ///
  /// The table's pullbacks read the output for tanh and sigmoid. Relu's reads the input `x`,
  /// through the mask `x > 0`, and `relu(x) > 0` is the same mask (also where `x` is NaN, which
  /// relu keeps), so the output stands in for it.
  func inputGradient<Scalar>(_ g: Tensor<Scalar>, output y: Tensor<Scalar>) -> Tensor<Scalar> {
    operation.pullback(g, y, y, y, .lhs).0!
  }
}

/// `activation(a·b + bias)` as one operation: a dense layer's forward pass, which writes its
/// output once, and its backward pass, which reads that output once.
///
/// ```swift
/// let h = matmul(x, w, plus: b, activation: .relu)   // relu(x·w + b), [64, 784] → [64, 128]
/// ```
///
/// It equals `activation(matmul(a, b, plus: bias))` bit for bit, and is cheaper: the activation
/// runs in place on the product's rows while they are in cache, and one node is recorded where
/// two would be, with no intermediate tensor. The pullback is the activation's (from the saved
/// output, see ``Activation``) followed by that of ``matmul(_:_:plus:file:line:)``.
///
/// As ``matmul(_:_:plus:file:line:)``, `a` may be a vector or have more axes, its last axis
/// multiplied.
///
/// - Parameters:
///   - a: A matrix, `m×k` (or any rank ≥ 1 with `k` elements along its last axis).
///   - b: A matrix, `k×n`.
///   - bias: A vector of `n` elements, added to each row.
///   - activation: The function applied to each element of `a·b + bias`.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: The `m×n` result (`[..., n]`).
/// - Precondition: `b` is a matrix whose rows are as many as `a`'s last axis, `a` has rank 1 or
///   more, and `bias` has shape `[n]`.
/// - Complexity: O(m·n·k).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func matmul<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, plus bias: Tensor<Scalar>, activation: Activation,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  if let result = onRows(
    of: a, b, "matmul(_:_:plus:activation:)", at: location,
    { rows in
      matmul(rows, b, plus: bias, activation: activation, file: file, line: line)
    })
  {
    return result
  }
  let output = affine(a, b, bias, "matmul(_:_:plus:activation:)", at: location)
  guard case .unary(let function) = activation.operation.kernel else {
    preconditionFailure("\(activation) is not a function of one operand")
  }
  // In place: the result is this function's own, and the kernel reads each element before it
  // writes it.
  output.storage.withUnsafeMutableBufferPointer { y in
    unaryKernel(function, UnsafeBufferPointer(y), y)
  }
  return record(
    "matmulPlusActivation", output: output, operands: a, b, bias, at: location,
    rule: .custom(activation.affinePullback()), tangent: .custom(activation.affineTangent()))
}

extension Activation {
  /// The pullback of `activation(A·B + bias)`: the activation's, from the saved output, then the
  /// affine map's. One closure literal per activation, so that none captures anything: a
  /// capturing closure would allocate its context with every recorded layer.
  fileprivate func affinePullback<Scalar>() -> (PullbackContext<Scalar>) -> Void {
    switch self {
    case .relu: { Activation.relu.accumulateAffineGradients($0) }
    case .tanh: { Activation.tanh.accumulateAffineGradients($0) }
    case .sigmoid: { Activation.sigmoid.accumulateAffineGradients($0) }
    }
  }

  private func accumulateAffineGradients<Scalar>(_ context: PullbackContext<Scalar>) {
    Autodiff.accumulateAffineGradients(
      context, inputGradient(context.upstream, output: context.output))
  }

  /// The tangent of `activation(A·B + bias)`: the activation's Jacobian is diagonal, so it is
  /// the pullback applied to the affine map's tangent. Capture-free, as `affinePullback()`.
  fileprivate func affineTangent<Scalar>()
    -> ([Tensor<Scalar>?], [Tensor<Scalar>], Tensor<Scalar>) -> Tensor<Scalar>
  {
    switch self {
    case .relu: { Activation.relu.tangent($0, $1, $2) }
    case .tanh: { Activation.tanh.tangent($0, $1, $2) }
    case .sigmoid: { Activation.sigmoid.tangent($0, $1, $2) }
    }
  }

  private func tangent<Scalar>(
    _ tangents: [Tensor<Scalar>?], _ operands: [Tensor<Scalar>], _ y: Tensor<Scalar>
  ) -> Tensor<Scalar> {
    inputGradient(Autodiff.affineTangent(tangents, operands), output: y)
  }
}
