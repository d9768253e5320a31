// Activations beyond ReLU, Sigmoid and Tanh, each composed of Autodiff's primitives, so that its
// gradient (and forward-mode tangent) is the chain rule through them. None has parameters.

/// A layer that applies the leaky rectifier elementwise: `x` for `x > 0`, `a·x` otherwise, as
/// PyTorch's `nn.LeakyReLU(a)`.
///
/// Autodiff's `leakyRelu(_:negativeSlope:)`: the derivative is 1 for `x > 0` and `a` for
/// `x ≤ 0` (PyTorch's choice at 0), and NaN where x is NaN.
public struct LeakyReLU<Scalar: TensorScalar>: Layer {
  /// The slope a for negative inputs (PyTorch's default 0.01).
  public let negativeSlope: Scalar

  /// Creates the layer with slope `negativeSlope` below 0.
  public init(negativeSlope: Scalar = 0.01) { self.negativeSlope = negativeSlope }

  /// `max(x, 0) + negativeSlope·min(x, 0)` elementwise.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    leakyRelu(input, negativeSlope: negativeSlope)
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

/// A layer that applies the Gaussian error linear unit `x·Φ(x)` elementwise (Hendrycks and
/// Gimpel, 2016), Φ the standard normal distribution function: Autodiff's
/// `gelu(_:approximation:)`.
///
/// By default in its tanh approximation, as PyTorch's `nn.GELU(approximate="tanh")`:
///
/// ```
/// gelu(x) ≈ x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³)))
/// ```
///
/// which is within 10⁻³ of the exact form everywhere. `GELU(approximation: .exact)` computes
/// `x/2 · (1 + erf(x/√2))`, PyTorch's default `nn.GELU()`.
public struct GELU<Scalar: TensorScalar>: Layer {
  /// How Φ is computed: `.tanh` or `.exact`.
  public let approximation: GELUApproximation

  /// Creates the layer, in the tanh approximation unless `approximation` says `.exact`.
  public init(approximation: GELUApproximation = .tanh) { self.approximation = approximation }

  /// `input·Φ(input)` elementwise, Φ as `approximation` says.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    gelu(input, approximation: approximation)
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
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> { silu(input) }

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
