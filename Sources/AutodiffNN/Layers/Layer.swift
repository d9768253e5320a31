/// A differentiable function with trainable parameters, such as ``Dense`` or ``Sequential``.
///
/// A layer exposes its parameters as an array in a stable order, so an optimizer updates them
/// without the user listing each one, and a training step differentiates with respect to all of
/// them at once:
///
/// ```swift
/// let (loss, gradients) = valueWithGradient(at: model.parameters) { parameters in
///   softmaxCrossEntropy(
///     logits: model.replacingParameters(with: parameters)(images), labels: labels)
/// }
/// optimizer.update(&model.parameters, along: gradients)
/// ```
public protocol Layer<Scalar> {
  associatedtype Scalar: TensorScalar

  /// Applies the layer to a batch of inputs, one example per row.
  func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar>

  /// The trainable tensors, in a stable order. Setting it replaces them in that order.
  var parameters: [Tensor<Scalar>] { get set }

  /// A name for each parameter, in the order of ``parameters``, unique within the layer:
  /// `"weight"`, `"bias"`; containers prefix their children's names (`"0.weight"`).
  var parameterNames: [String] { get }

  /// Appends the parameters to `parameters`, in the order of ``parameters``, and gives up the
  /// layer's own references to them until ``restoreParameters(from:at:)`` hands them back.
  ///
  /// Containers such as ``Sequential`` call the pair around an in-place access to their own
  /// ``parameters``, as in `optimizer.update(&model.parameters, along: gradients)`: the tensors
  /// the caller then writes are referenced only by the array it holds, so they are updated in
  /// place rather than copied first (copy-on-write). Between the two calls the layer is not
  /// usable. The default keeps the layer's references (so a write copies) and restores through
  /// the ``parameters`` setter; a layer that stores its parameters gives them up for real.
  mutating func moveParameters(into parameters: inout [Tensor<Scalar>])

  /// Takes back the parameters that ``moveParameters(into:)`` moved out, possibly changed: as
  /// many tensors as the layer has, from `parameters` at `start`, which it advances past them.
  ///
  /// - Precondition: `parameters[start...]` begins with tensors of the layer's parameter shapes.
  mutating func restoreParameters(from parameters: [Tensor<Scalar>], at start: inout Int)
}

extension Layer {
  /// Appends a copy of ``parameters`` to `parameters`; the layer keeps its own references.
  public mutating func moveParameters(into parameters: inout [Tensor<Scalar>]) {
    parameters.append(contentsOf: self.parameters)
  }

  /// Sets ``parameters`` to as many tensors as it holds, from `parameters` at `start`.
  ///
  /// - Precondition: `parameters` holds that many tensors from `start` on.
  public mutating func restoreParameters(from parameters: [Tensor<Scalar>], at start: inout Int) {
    let count = self.parameters.count
    requireNN(
      start + count <= parameters.count,
      "\(Self.self).restoreParameters: the layer has \(count) parameters, \(parameters.count - start) "
        + "are left")
    self.parameters = Array(parameters[start..<(start + count)])
    start += count
  }
}

extension Layer {
  /// A copy of the layer whose parameters are `parameters`, in the order of ``parameters``: the
  /// model a training step differentiates with respect to its parameters.
  ///
  /// - Precondition: `parameters` match the layer's in count and shapes.
  public func replacingParameters(with parameters: [Tensor<Scalar>]) -> Self {
    var copy = self
    copy.parameters = parameters
    return copy
  }
}
