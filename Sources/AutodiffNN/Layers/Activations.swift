// Activation functions as layers, for use in a ``Sequential`` between ``Dense`` layers. Each has
// no parameters; its gradient is that of the function it applies (see Autodiff's `relu`,
// `sigmoid`, `tanh`).

/// A layer that applies `max(x, 0)` elementwise.
///
/// ```swift
/// let model = Sequential<Float>(Dense(inputSize: 2, outputSize: 16, using: &rng), ReLU(), ...)
/// ```
public struct ReLU<Scalar: TensorScalar>: Layer, Sendable {
  /// Creates the layer.
  public init() {}

  /// `max(input, 0)` elementwise.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> { relu(input) }

  /// No parameters: always `[]`.
  ///
  /// - Precondition: A new value is empty.
  public var parameters: [Tensor<Scalar>] {
    get { [] }
    set { requireNoParameters(newValue, "ReLU") }
  }

  /// No parameters: always `[]`.
  public var parameterNames: [String] { [] }
}

/// A layer that applies the logistic function `1 / (1 + e⁻ˣ)` elementwise.
public struct Sigmoid<Scalar: TensorScalar>: Layer, Sendable {
  /// Creates the layer.
  public init() {}

  /// `1 / (1 + e^(−input))` elementwise, without overflow for large |input|.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> { sigmoid(input) }

  /// No parameters: always `[]`.
  ///
  /// - Precondition: A new value is empty.
  public var parameters: [Tensor<Scalar>] {
    get { [] }
    set { requireNoParameters(newValue, "Sigmoid") }
  }

  /// No parameters: always `[]`.
  public var parameterNames: [String] { [] }
}

/// A layer that applies the hyperbolic tangent elementwise.
public struct Tanh<Scalar: TensorScalar>: Layer, Sendable {
  /// Creates the layer.
  public init() {}

  /// `tanh(input)` elementwise.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> { tanh(input) }

  /// No parameters: always `[]`.
  ///
  /// - Precondition: A new value is empty.
  public var parameters: [Tensor<Scalar>] {
    get { [] }
    set { requireNoParameters(newValue, "Tanh") }
  }

  /// No parameters: always `[]`.
  public var parameterNames: [String] { [] }
}

/// A layer without parameters that applies a function you give it: an activation the library
/// lacks, a reshape, a scaling.
///
/// ```swift
/// let leakyReLU = Function<Float> { x in max(x, 0.01 * x) }   // at 0, max splits the gradient
/// let flatten = Function<Float> { x in x.reshaped(to: [x.shape[0], -1]) }
/// ```
///
/// The function should be built from tensor operations, so that gradients flow through it.
public struct Function<Scalar: TensorScalar>: Layer, Sendable {
  /// The function the layer applies.
  public var body: @Sendable (Tensor<Scalar>) -> Tensor<Scalar>

  /// Creates a layer that applies `body`.
  public init(_ body: @escaping @Sendable (Tensor<Scalar>) -> Tensor<Scalar>) {
    self.body = body
  }

  /// `body(input)`.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> { body(input) }

  /// No parameters: always `[]`.
  ///
  /// - Precondition: A new value is empty.
  public var parameters: [Tensor<Scalar>] {
    get { [] }
    set { requireNoParameters(newValue, "Function") }
  }

  /// No parameters: always `[]`.
  public var parameterNames: [String] { [] }
}

/// Stops with a message when a layer without parameters is given some.
func requireNoParameters<Scalar>(_ parameters: [Tensor<Scalar>], _ layer: String) {
  requireNN(
    parameters.isEmpty,
    "\(layer).parameters: the layer has no parameters, got \(parameters.count) tensors")
}
