/// A layer that normalizes each example over its features, then scales and shifts them (Ba,
/// Kiros and Hinton, 2016), as PyTorch's `nn.LayerNorm(featureCount)`.
///
/// For each row `x` of `[batch, featureCount]`, with `n = featureCount`:
///
/// ```
/// μ = Σⱼ xⱼ / n        σ² = Σⱼ (xⱼ − μ)² / n        (the biased variance)
/// yⱼ = (xⱼ − μ) / √(σ² + ε) · γⱼ + βⱼ
/// ```
///
/// Each row is normalized by its own statistics, so the layer computes the same in training and
/// in inference, and examples never mix. Its ``parameters`` are `[weight, bias]` (γ, starting at
/// 1, and β, starting at 0), named `"weight"` and `"bias"`.
///
/// ```swift
/// let model = Sequential<Float>(
///   Dense(inputSize: 64, outputSize: 128, using: &rng), LayerNorm(featureCount: 128), ReLU())
/// ```
public struct LayerNorm<Scalar: TensorScalar>: Layer {
  /// The number of features each row has, over which it is normalized.
  public let featureCount: Int

  /// The constant ε added to the variance, which bounds the scale of a constant row.
  public var epsilon: Scalar

  /// The scale γ, `[featureCount]`.
  public var weight: Tensor<Scalar> {
    didSet { checkAffineShape(weight, "LayerNorm", "weight", featureCount) }
  }

  /// The shift β, `[featureCount]`.
  public var bias: Tensor<Scalar> {
    didSet { checkAffineShape(bias, "LayerNorm", "bias", featureCount) }
  }

  /// Creates a layer for rows of `featureCount` features, with γ = 1 and β = 0.
  ///
  /// - Parameters:
  ///   - featureCount: The number of features each row has.
  ///   - epsilon: The constant added to the variance, > 0 (PyTorch's default 10⁻⁵).
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `featureCount > 0` and `epsilon > 0`.
  public init(
    featureCount: Int, epsilon: Scalar = 1e-5, file: StaticString = #fileID, line: UInt = #line
  ) {
    requireNN(
      featureCount > 0 && epsilon > 0,
      "LayerNorm: featureCount must be > 0 and epsilon > 0, got \(featureCount) and \(epsilon)",
      at: SourceLocation(file: file, line: line))
    self.featureCount = featureCount
    self.epsilon = epsilon
    self.weight = Tensor(ones: [featureCount])
    self.bias = Tensor(zeros: [featureCount])
  }

  /// Normalizes each row of `input`, `[batch, featureCount]` (or any shape whose last extent is
  /// `featureCount`), over its last axis.
  ///
  /// - Precondition: `input`'s last extent is `featureCount`.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    requireNN(
      input.rank >= 1 && input.shape[input.rank - 1] == featureCount,
      "LayerNorm: the input's last extent must be \(featureCount), got "
        + input.shape.shapeText)
    let centered = input.centered(alongAxes: [-1])
    let variance = centered.squared().mean(alongAxes: [-1])
    return centered / sqrt(variance + epsilon) * weight + bias
  }

  /// `[weight, bias]`. Setting it replaces both.
  ///
  /// - Precondition: A new value holds two tensors of shape `[featureCount]`.
  public var parameters: [Tensor<Scalar>] {
    get { [weight, bias] }
    set { (weight, bias) = affineParameters(newValue, "LayerNorm") }
  }

  /// `["weight", "bias"]`.
  public var parameterNames: [String] { ["weight", "bias"] }
}

/// A normalization layer's γ and β from a new value of its `parameters`, or a stop with a
/// message unless it holds two tensors (their shapes are checked as they are set).
func affineParameters<Scalar>(
  _ parameters: [Tensor<Scalar>], _ layer: String
) -> (weight: Tensor<Scalar>, bias: Tensor<Scalar>) {
  requireNN(
    parameters.count == 2,
    "\(layer).parameters: expected 2 tensors (weight, bias), got \(parameters.count)")
  return (parameters[0], parameters[1])
}

/// Stops with a message unless a normalization layer's new γ or β has shape `[featureCount]`.
func checkAffineShape<Scalar>(
  _ tensor: Tensor<Scalar>, _ layer: String, _ name: String, _ featureCount: Int
) {
  requireNN(
    tensor.shape == [featureCount],
    "\(layer): the \(name) must have shape [\(featureCount)], got \(tensor.shape.shapeText)")
}
