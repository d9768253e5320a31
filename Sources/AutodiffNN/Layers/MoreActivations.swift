// Activations beyond ReLU, Sigmoid and Tanh, each composed of Autodiff's primitives, so that its
// gradient (and forward-mode tangent) is the chain rule through them. None has parameters.

/// A layer that applies the leaky rectifier elementwise: `x` for `x > 0`, `a·x` otherwise, as
/// PyTorch's `nn.LeakyReLU(a)`.
///
/// Written `a·x + (1 − a)·relu(x)`, so the derivative is 1 for `x > 0` and `a` for `x ≤ 0`
/// (PyTorch's choice at 0).
public struct LeakyReLU<Scalar: TensorScalar>: Layer {
  /// The slope a for negative inputs (PyTorch's default 0.01).
  public let negativeSlope: Scalar

  /// Creates the layer with slope `negativeSlope` below 0.
  public init(negativeSlope: Scalar = 0.01) { self.negativeSlope = negativeSlope }

  /// `max(x, 0) + negativeSlope·min(x, 0)` elementwise.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    negativeSlope * input + (1 - negativeSlope) * relu(input)
  }

  /// No parameters: always `[]`.
  ///
  /// - Precondition: A new value is empty.
  public var parameters: [Tensor<Scalar>] {
    get { [] }
    set { requireNoParameters(newValue, "LeakyReLU") }
  }

  /// No parameters: always `[]`.
  public var parameterNames: [String] { [] }
}

/// A layer that applies `softplus(x) = log(1 + eˣ)` elementwise, a smooth ReLU whose derivative
/// is σ(x).
///
/// Autodiff's `softplus(_:)` primitive: stable for large x, exact for very negative x, and
/// NaN where x is NaN.
public struct Softplus<Scalar: TensorScalar>: Layer {
  /// Creates the layer.
  public init() {}

  /// `log(1 + e^input)` elementwise.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> { softplus(input) }

  /// No parameters: always `[]`.
  ///
  /// - Precondition: A new value is empty.
  public var parameters: [Tensor<Scalar>] {
    get { [] }
    set { requireNoParameters(newValue, "Softplus") }
  }

  /// No parameters: always `[]`.
  public var parameterNames: [String] { [] }
}

/// A layer that applies the Gaussian error linear unit elementwise, in its tanh approximation
/// (Hendrycks and Gimpel, 2016), as PyTorch's `nn.GELU(approximate="tanh")`:
///
/// ```
/// gelu(x) ≈ x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³)))
/// ```
///
/// The approximation is within 10⁻³ of the exact `x·Φ(x)` everywhere (Φ the standard normal
/// distribution function); the exact form needs an `erf` primitive, which Autodiff lacks.
public struct GELU<Scalar: TensorScalar>: Layer {
  /// Creates the layer.
  public init() {}

  /// `input/2 · (1 + tanh(√(2/π)·(input + 0.044715·input³)))` elementwise.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    let root2OverPi = Scalar(0.7978845608028654)  // √(2/π)
    let inner = root2OverPi * (input + Scalar(0.044715) * input * input.squared())
    return Scalar(0.5) * input * (1 + tanh(inner))
  }

  /// No parameters: always `[]`.
  ///
  /// - Precondition: A new value is empty.
  public var parameters: [Tensor<Scalar>] {
    get { [] }
    set { requireNoParameters(newValue, "GELU") }
  }

  /// No parameters: always `[]`.
  public var parameterNames: [String] { [] }
}

/// A layer that applies the sigmoid linear unit (also called swish) elementwise,
/// `silu(x) = x·σ(x)`, as PyTorch's `nn.SiLU`. Its derivative is `σ(x)·(1 + x·(1 − σ(x)))`.
public struct SiLU<Scalar: TensorScalar>: Layer {
  /// Creates the layer.
  public init() {}

  /// `input · σ(input)` elementwise.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> { input * sigmoid(input) }

  /// No parameters: always `[]`.
  ///
  /// - Precondition: A new value is empty.
  public var parameters: [Tensor<Scalar>] {
    get { [] }
    set { requireNoParameters(newValue, "SiLU") }
  }

  /// No parameters: always `[]`.
  public var parameterNames: [String] { [] }
}
