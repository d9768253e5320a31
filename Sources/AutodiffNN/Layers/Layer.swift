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
///
/// Layers are `Sendable` values: a model crosses tasks freely. Two kinds of layers keep more than
/// their parameters:
///
/// - A layer whose forward pass differs between training and inference (``Dropout``,
///   ``BatchNorm``) reads its ``mode``, which you switch explicitly (`model.mode = .inference`);
///   containers hand the switch to every layer they hold.
/// - A layer with tensors that are not trained by gradients (``BatchNorm``'s running statistics)
///   exposes them as ``state``, which ``Checkpoint`` saves and loads beside the parameters.
public protocol Layer<Scalar>: Sendable {
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

  /// Whether the layer computes as in training or as in inference.
  ///
  /// Only layers that behave differently store it; for the others (the default) it reads
  /// ``LayerMode/training`` and setting it does nothing. Containers set it on every layer they
  /// hold.
  var mode: LayerMode { get set }

  /// Tensors the layer keeps that gradients do not train, by name, unique within the layer
  /// (``BatchNorm``'s `"runningMean"` and `"runningVariance"`); containers prefix their
  /// children's names as for ``parameterNames``. Empty by default.
  ///
  /// ``Checkpoint`` saves it beside the parameters, under the same `"model."` prefix.
  ///
  /// - Precondition: A new value has exactly the current names, each with its current shape.
  var state: [String: Tensor<Scalar>] { get set }
}

/// Whether layers compute as in training or as in inference.
///
/// ```swift
/// model.mode = .inference          // dropout off, BatchNorm uses its running statistics
/// let accuracy = accuracy(logits: model(validation.inputs), labels: validation.labels)
/// model.mode = .training
/// ```
///
/// PyTorch's `model.train()` and `model.eval()`, MLX's `train(_:)`. A new layer starts in
/// ``training``.
public enum LayerMode: Sendable, Hashable {
  /// Dropout drops, ``BatchNorm`` normalizes by the batch's statistics and updates its running
  /// ones.
  case training
  /// Dropout passes its input through, ``BatchNorm`` normalizes by its running statistics.
  case inference
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
  /// ``LayerMode/training``; setting it does nothing: the layer computes the same in both modes.
  public var mode: LayerMode {
    get { .training }
    set {}
  }

  /// Empty: the layer keeps no tensors besides its parameters.
  ///
  /// - Precondition: A new value is empty.
  public var state: [String: Tensor<Scalar>] {
    get { [:] }
    set {
      requireNN(
        newValue.isEmpty,
        "\(Self.self).state: the layer keeps no state, got \(newValue.keys.sorted())")
    }
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
