/// Layers applied one after another, each to the previous one's output.
///
/// ```swift
/// var rng = SeededGenerator(seed: 0)
/// var model = Sequential<Float>(
///   Dense(inputSize: 784, outputSize: 128, using: &rng), ReLU(),
///   Dense(inputSize: 128, outputSize: 10, initialization: .glorotUniform, using: &rng))
/// let logits = model(images)                 // [batch, 784] → [batch, 10]
/// model.parameterNames                       // ["0.weight", "0.bias", "2.weight", "2.bias"]
/// ```
///
/// Its ``parameters`` are its layers' parameters concatenated in layer order, and each name is
/// the layer's position, a dot, and the layer's own name (`"2.weight"`), so sequences nest
/// (`"1.0.bias"`). Like the layers it holds, a `Sequential` is a value.
public struct Sequential<Scalar: TensorScalar>: Layer {
  /// The layers, in the order they are applied.
  public var layers: [any Layer<Scalar>]

  /// Creates a sequence of `layers`, applied first to last.
  public init(_ layers: [any Layer<Scalar>]) {
    self.layers = layers
  }

  /// Creates a sequence of `layers`, applied first to last.
  public init(_ layers: any Layer<Scalar>...) {
    self.init(layers)
  }

  /// Applies each layer in turn; an empty sequence returns its input.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    layers.reduce(input) { x, layer in layer(x) }
  }

  /// The layers' parameters, first layer first. Setting it hands each layer its share in order.
  ///
  /// - Precondition: A new value holds as many tensors as the layers have parameters, each of
  ///   the shape its layer expects.
  public var parameters: [Tensor<Scalar>] {
    get { layers.flatMap { $0.parameters } }
    set {
      let counts = layers.map { $0.parameters.count }
      let expected = counts.reduce(0, +)
      requireNN(
        newValue.count == expected,
        "Sequential.parameters: the layers have \(expected) parameters, got \(newValue.count)")
      var start = 0
      for index in layers.indices where counts[index] > 0 {
        layers[index].parameters = Array(newValue[start..<(start + counts[index])])
        start += counts[index]
      }
    }
  }

  /// Each layer's parameter names prefixed with its position: `"0.weight"`, `"0.bias"`, ...
  public var parameterNames: [String] {
    layers.enumerated().flatMap { index, layer in
      layer.parameterNames.map { "\(index).\($0)" }
    }
  }
}
