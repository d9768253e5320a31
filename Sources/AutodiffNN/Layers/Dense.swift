// On `@_specialize`, see the note at the top of Optimizers/Adam.swift.

/// A fully connected layer: `y = activation(x·W + b)`, one example per row of `x`.
///
/// The weight `W` has shape `[inputSize, outputSize]` and the bias `b` shape `[outputSize]`, so
/// a batch `x` of shape `[batch, inputSize]` maps to `[batch, outputSize]` with one matrix
/// product (BLAS gemm) into rows that hold the bias (Autodiff's `matmul(_:_:plus:)`):
///
/// ```swift
/// var rng = SeededGenerator(seed: 42)
/// let layer = Dense<Float>(inputSize: 784, outputSize: 128, activation: .relu, using: &rng)
/// let hidden = layer(images)              // [batch, 784] → [batch, 128]
/// ```
///
/// As PyTorch's `nn.Linear`, it maps the last axis of an input of any rank: `[..., inputSize]`
/// to `[..., outputSize]`, the leading axes' rows through the same single product.
///
/// An `Activation` (`.relu`, `.tanh`, `.sigmoid`) runs inside that one operation
/// (`matmul(_:_:plus:activation:)`): the layer writes its output once, and its pullback reads
/// it once. Any other function, such as `activation: silu`, is applied to the product
/// afterwards, as its own operation.
///
/// `Dense` is a value: copying a layer copies no elements (the tensors are copy-on-write), and
/// changing a copy's parameters leaves the original as it was. Its ``parameters`` are
/// `[weight, bias]`, named `"weight"` and `"bias"`.
public struct Dense<Scalar: TensorScalar>: Layer, Sendable {
  /// `[weight, bias]`, or none while ``moveParameters(into:)`` has them out.
  private var store: ParameterStore<Scalar>

  /// The weight matrix, `[inputSize, outputSize]`.
  public var weight: Tensor<Scalar> {
    get { store[0] }
    set {
      store[0] = newValue
      checkShapes("weight")
    }
    // An in-place write (`layer.weight -= …`) then changes the buffer without copying it.
    _modify {
      yield &store[0]
      checkShapes("weight")
    }
  }

  /// The bias vector, `[outputSize]`.
  public var bias: Tensor<Scalar> {
    get { store[1] }
    set {
      store[1] = newValue
      checkShapes("bias")
    }
    _modify {
      yield &store[1]
      checkShapes("bias")
    }
  }

  /// The function applied elementwise to `x·W + b`, or `nil` for none (a linear layer).
  ///
  /// For a layer made with an `Activation`, the function that applies it. Setting a function
  /// replaces the activation; the product and the function then run as two operations.
  public var activation: (@Sendable (Tensor<Scalar>) -> Tensor<Scalar>)? {
    get {
      switch kind {
      case .linear: nil
      case .fused(let activation): { activation($0) }
      case .function(let function): function
      }
    }
    set { kind = newValue.map { .function($0) } ?? .linear }
  }

  /// What follows the product.
  private var kind: Kind

  private enum Kind: Sendable {
    case linear
    /// Applied inside the product's operation.
    case fused(Activation)
    /// Applied to the product's result, as its own operation.
    case function(@Sendable (Tensor<Scalar>) -> Tensor<Scalar>)
  }

  /// The number of features each input row has.
  public let inputSize: Int

  /// The number of features each output row has.
  public let outputSize: Int

  /// Creates a layer with the given weight and bias.
  ///
  /// ```swift
  /// let neuron = Dense<Double>(
  ///   weight: Tensor(shape: [2, 1], scalars: [0.4, -0.2]), bias: Tensor([0]), activation: sigmoid)
  /// ```
  ///
  /// - Parameters:
  ///   - weight: The weight matrix, `[inputSize, outputSize]`.
  ///   - bias: The bias vector, `[outputSize]`.
  ///   - activation: A function applied elementwise to the output, or `nil` for none.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `weight` has rank 2 and `bias` has shape `[weight.shape[1]]`.
  public init(
    weight: Tensor<Scalar>, bias: Tensor<Scalar>,
    activation: (@Sendable (Tensor<Scalar>) -> Tensor<Scalar>)? = nil,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    let location = SourceLocation(file: file, line: line)
    requireNN(
      weight.rank == 2,
      "Dense: the weight must be a matrix [inputSize, outputSize], got \(weight.shape.shapeText)",
      at: location)
    requireNN(
      bias.shape == [weight.shape[1]],
      "Dense: the bias must have shape [\(weight.shape[1])] for a weight "
        + "\(weight.shape.shapeText), got \(bias.shape.shapeText)", at: location)
    self.inputSize = weight.shape[0]
    self.outputSize = weight.shape[1]
    self.store = ParameterStore(
      layer: "Dense", names: ["weight", "bias"], tensors: [weight, bias])
    self.kind = activation.map { .function($0) } ?? .linear
  }

  /// Creates a layer with the given weight and bias whose activation runs inside the product's
  /// operation (Autodiff's `matmul(_:_:plus:activation:)`).
  ///
  /// ```swift
  /// let neuron = Dense<Double>(
  ///   weight: Tensor(shape: [2, 1], scalars: [0.4, -0.2]), bias: Tensor([0]), activation: .sigmoid)
  /// ```
  ///
  /// - Parameters:
  ///   - weight: The weight matrix, `[inputSize, outputSize]`.
  ///   - bias: The bias vector, `[outputSize]`.
  ///   - activation: `.relu`, `.tanh` or `.sigmoid`.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `weight` has rank 2 and `bias` has shape `[weight.shape[1]]`.
  public init(
    weight: Tensor<Scalar>, bias: Tensor<Scalar>, activation: Activation,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    self.init(weight: weight, bias: bias, file: file, line: line)
    kind = .fused(activation)
  }

  /// Creates a layer with random weights drawn from `generator` and zero bias.
  ///
  /// The default, ``WeightInitialization/heNormal``, suits layers followed by ReLU;
  /// ``WeightInitialization/glorotUniform`` suits tanh and sigmoid. A seeded generator gives the
  /// same layer on every run:
  ///
  /// ```swift
  /// var rng = SeededGenerator(seed: 7)
  /// let hidden = Dense<Double>(inputSize: 2, outputSize: 8, activation: tanh,
  ///                            initialization: .glorotUniform, using: &rng)
  /// ```
  ///
  /// - Parameters:
  ///   - inputSize: The number of features each input row has (fan-in).
  ///   - outputSize: The number of features each output row has (fan-out).
  ///   - activation: A function applied elementwise to the output, or `nil` for none.
  ///   - initialization: How the weight is drawn.
  ///   - generator: The source of randomness.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `inputSize` and `outputSize` are positive.
  public init<G: RandomNumberGenerator>(
    inputSize: Int, outputSize: Int,
    activation: (@Sendable (Tensor<Scalar>) -> Tensor<Scalar>)? = nil,
    initialization: WeightInitialization = .heNormal, using generator: inout G,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    requireNN(
      inputSize > 0 && outputSize > 0,
      "Dense: sizes must be positive, got inputSize \(inputSize), outputSize \(outputSize)",
      at: SourceLocation(file: file, line: line))
    self.init(
      weight: initialization.weight(
        fanIn: inputSize, fanOut: outputSize, using: &generator),
      bias: Tensor(zeros: [outputSize]), activation: activation, file: file, line: line)
  }

  /// Creates a layer with random weights drawn from `generator` and zero bias, whose activation
  /// runs inside the product's operation (Autodiff's `matmul(_:_:plus:activation:)`).
  ///
  /// ```swift
  /// var rng = SeededGenerator(seed: 7)
  /// let hidden = Dense<Float>(inputSize: 784, outputSize: 128, activation: .relu, using: &rng)
  /// ```
  ///
  /// - Parameters:
  ///   - inputSize: The number of features each input row has (fan-in).
  ///   - outputSize: The number of features each output row has (fan-out).
  ///   - activation: `.relu`, `.tanh` or `.sigmoid`.
  ///   - initialization: How the weight is drawn.
  ///   - generator: The source of randomness.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `inputSize` and `outputSize` are positive.
  public init<G: RandomNumberGenerator>(
    inputSize: Int, outputSize: Int, activation: Activation,
    initialization: WeightInitialization = .heNormal, using generator: inout G,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    self.init(
      inputSize: inputSize, outputSize: outputSize, initialization: initialization,
      using: &generator, file: file, line: line)
    kind = .fused(activation)
  }

  /// Applies the layer to a batch `[batch, inputSize]`, giving `[batch, outputSize]`; as
  /// PyTorch's `nn.Linear`, to the last axis of any input `[..., inputSize]`, giving
  /// `[..., outputSize]` (a single vector `[inputSize]` gives `[outputSize]`).
  ///
  /// - Precondition: `input` has rank 1 or more and its last axis has `inputSize` elements.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    requireNN(
      input.rank >= 1 && input.shape[input.rank - 1] == inputSize,
      "Dense: the input must have shape [batch, \(inputSize)] (or [..., \(inputSize)]), got "
        + "\(input.shape.shapeText) (weight \(weight.shape.shapeText))")
    // One fused operation rather than `matmul(input, weight) + bias`: no separate product to
    // allocate and add, and a one-pass bias gradient (mlp benchmarks). An input of another rank
    // than 2 goes through it as one matrix of its rows.
    switch kind {
    case .linear: return matmul(input, weight, plus: bias)
    case .fused(let activation): return matmul(input, weight, plus: bias, activation: activation)
    case .function(let function): return function(matmul(input, weight, plus: bias))
    }
  }

  /// `[weight, bias]`. Setting it replaces both.
  ///
  /// An in-place access, such as `optimizer.update(&layer.parameters, along: gradients)`, writes
  /// the layer's own tensors: no element is copied when nothing else shares them.
  ///
  /// - Precondition: A new value holds two tensors of the current shapes.
  public var parameters: [Tensor<Scalar>] {
    get { store.tensors }
    set {
      store.tensors = newValue
      checkParameters()
    }
    _modify {
      yield &store.tensors
      checkParameters()
    }
  }

  /// Appends `[weight, bias]` to `parameters`, leaving the layer without them.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func moveParameters(into parameters: inout [Tensor<Scalar>]) {
    store.move(into: &parameters)
  }

  /// Takes the weight and bias from `parameters` at `start`, and advances `start` by 2.
  ///
  /// - Precondition: `parameters[start]` and `parameters[start + 1]` exist and have the
  ///   weight's and the bias's shapes.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func restoreParameters(from parameters: [Tensor<Scalar>], at start: inout Int) {
    store.restore(from: parameters, at: &start)
    checkShapes("parameters")
  }

  /// `["weight", "bias"]`.
  public var parameterNames: [String] { ["weight", "bias"] }

  /// Stops with a message unless the parameters are two tensors of the layer's shapes.
  private func checkParameters() {
    store.checkCount()
    checkShapes("parameters")
  }

  /// Stops with a message when a new weight or bias does not have the layer's shape.
  private func checkShapes(_ changed: String) {
    let (weightShape, biasShape) = (store[0].shape, store[1].shape)
    requireNN(
      weightShape == [inputSize, outputSize] && biasShape == [outputSize],
      "Dense: the new \(changed) gives a weight \(weightShape.shapeText) and a bias "
        + "\(biasShape.shapeText); the layer's weight is [\(inputSize), \(outputSize)] and its "
        + "bias [\(outputSize)]")
  }
}

/// How ``Dense`` draws its initial weight.
///
/// Each rule is one of PyTorch's `torch.nn.init` functions with its default mode (`fan_in` for
/// He's) and gain (√2 for He's, for ReLU; 1 for Glorot's), on a weight of shape
/// `[fanIn, fanOut]`.
public enum WeightInitialization: Sendable, Equatable {
  /// Normal with mean 0 and standard deviation √(2 / fanIn) (He et al., 2015), which keeps the
  /// variance of activations steady through ReLU layers: `kaiming_normal_`.
  case heNormal
  /// Uniform on ±√(6 / fanIn): He's variance 2 / fanIn from a bounded distribution,
  /// `kaiming_uniform_(nonlinearity="relu")`.
  case heUniform
  /// Uniform on ±√(6 / (fanIn + fanOut)) (Glorot and Bengio, 2010, "Xavier"), which keeps the
  /// variance steady forwards and backwards through tanh or sigmoid layers: `xavier_uniform_`.
  case glorotUniform
  /// Normal with mean 0 and standard deviation √(2 / (fanIn + fanOut)): Glorot's variance from
  /// a normal distribution, `xavier_normal_`.
  case glorotNormal

  /// A weight of shape `[fanIn, fanOut]` drawn from `generator` by this rule.
  ///
  /// - Parameters:
  ///   - fanIn: The number of inputs of each unit: the first extent of the weight.
  ///   - fanOut: The number of units: the second extent of the weight.
  ///   - generator: The source of randomness.
  /// - Returns: A tensor of shape `[fanIn, fanOut]`.
  public func weight<Scalar: TensorScalar, G: RandomNumberGenerator>(
    fanIn: Int, fanOut: Int, using generator: inout G
  ) -> Tensor<Scalar> {
    switch self {
    case .heNormal:
      let deviation = (2 / Scalar(fanIn)).squareRoot()
      return Tensor(randomNormal: [fanIn, fanOut], standardDeviation: deviation, using: &generator)
    case .heUniform:
      let limit = (6 / Scalar(fanIn)).squareRoot()
      return Tensor(randomUniform: [fanIn, fanOut], in: -limit..<limit, using: &generator)
    case .glorotUniform:
      let limit = (6 / Scalar(fanIn + fanOut)).squareRoot()
      return Tensor(randomUniform: [fanIn, fanOut], in: -limit..<limit, using: &generator)
    case .glorotNormal:
      let deviation = (2 / Scalar(fanIn + fanOut)).squareRoot()
      return Tensor(randomNormal: [fanIn, fanOut], standardDeviation: deviation, using: &generator)
    }
  }
}
