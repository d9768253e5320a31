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
