// On `@_specialize`, see the note at the top of Optimizers/Adam.swift.

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
/// (`"1.0.bias"`). Its ``state`` is named the same way (`"1.runningMean"`). Like the layers it
/// holds, a `Sequential` is a `Sendable` value: a model can be handed to another task.
///
/// Setting ``mode`` sets every layer's mode: `model.mode = .inference` before evaluating.
public struct Sequential<Scalar: TensorScalar>: Layer {
  /// The layers, in the order they are applied.
  public var layers: [any Layer<Scalar>]

  /// The mode last set on the sequence, which every layer was given; ``LayerMode/training`` for
  /// a new sequence. A layer added to ``layers`` later keeps its own mode until the next set.
  public var mode: LayerMode = .training {
    didSet {
      for index in layers.indices { layers[index].mode = mode }
    }
  }

  /// Creates a sequence of `layers`, applied first to last.
  public init(_ layers: [any Layer<Scalar>]) {
    self.layers = layers
  }

  /// Creates a sequence of `layers`, applied first to last.
  public init(_ layers: any Layer<Scalar>...) {
    self.init(layers)
  }

  /// Applies each layer in turn; an empty sequence returns its input.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    var x = input
    // By index: `for layer in layers` copies each layer out of the array (retaining what it
    // holds) where `layers[index]` is borrowed in place (mlp benchmarks).
    for index in layers.indices { x = layers[index](x) }
    return x
  }

  /// The layers' parameters, first layer first. Setting it hands each layer its share in order.
  ///
  /// An in-place access, such as `optimizer.update(&model.parameters, along: gradients)`, moves
  /// the tensors out of the layers for its duration (see ``Layer/moveParameters(into:)``), so
  /// the update writes them without copying their elements.
  ///
  /// - Precondition: A new value holds as many tensors as the layers have parameters, each of
  ///   the shape its layer expects.
  public var parameters: [Tensor<Scalar>] {
    // The accessors delegate to methods, which carry Float and Double copies (see the note at
    // the top of Optimizers/Adam.swift); a training step runs all three (mlp benchmarks).
    get { collectParameters() }
    set { handBack(newValue, expected: parameterCount()) }
    _modify {
      var parameters: [Tensor<Scalar>] = []
      parameters.reserveCapacity(parameterCount())
      moveParameters(into: &parameters)
      // Counted now: while the tensors are out, the layers report none.
      let expected = parameters.count
      defer { handBack(parameters, expected: expected) }
      yield &parameters
    }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func collectParameters() -> [Tensor<Scalar>] {
    var parameters: [Tensor<Scalar>] = []
    parameters.reserveCapacity(parameterCount())
    for index in layers.indices { parameters.append(contentsOf: layers[index].parameters) }
    return parameters
  }

  /// How many parameters the layers hold: the array that gathers them is allocated once.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func parameterCount() -> Int {
    var count = 0
    for index in layers.indices { count += layers[index].parameters.count }
    return count
  }

  /// Hands each layer its share of `parameters`, which must hold `expected` tensors.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private mutating func handBack(_ parameters: [Tensor<Scalar>], expected: Int) {
    requireNN(
      parameters.count == expected,
      "Sequential.parameters: the layers have \(expected) parameters, got \(parameters.count)")
    var start = 0
    restoreParameters(from: parameters, at: &start)
  }

  /// Moves each layer's parameters out in turn (see ``Layer/moveParameters(into:)``).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func moveParameters(into parameters: inout [Tensor<Scalar>]) {
    for index in layers.indices { layers[index].moveParameters(into: &parameters) }
  }

  /// Hands each layer its parameters back in turn, from `parameters` at `start`.
  ///
  /// - Precondition: `parameters[start...]` begins with tensors of the layers' parameter shapes.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func restoreParameters(from parameters: [Tensor<Scalar>], at start: inout Int) {
    for index in layers.indices { layers[index].restoreParameters(from: parameters, at: &start) }
  }

  /// Each layer's parameter names prefixed with its position: `"0.weight"`, `"0.bias"`, ...
  public var parameterNames: [String] {
    layers.enumerated().flatMap { index, layer in
      layer.parameterNames.map { "\(index).\($0)" }
    }
  }

  /// Each layer's state, its names prefixed with the layer's position: `"1.runningMean"`.
  /// Setting it hands each layer the entries under its prefix.
  ///
  /// - Precondition: A new value has exactly the current names, each with its current shape.
  public var state: [String: Tensor<Scalar>] {
    get {
      var state: [String: Tensor<Scalar>] = [:]
      for (index, layer) in layers.enumerated() {
        for (name, tensor) in layer.state { state["\(index).\(name)"] = tensor }
      }
      return state
    }
    set {
      var remaining = newValue
      for index in layers.indices {
        let current = layers[index].state
        guard !current.isEmpty else { continue }
        var share: [String: Tensor<Scalar>] = [:]
        for name in current.keys {
          share[name] = remaining.removeValue(forKey: "\(index).\(name)")
        }
        layers[index].state = share
      }
      requireNN(
        remaining.isEmpty,
        "Sequential.state: no layer keeps \(remaining.keys.sorted()); the state's names are "
          + "\(state.keys.sorted())")
    }
  }
}
