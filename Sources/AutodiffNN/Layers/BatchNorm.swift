/// A layer that normalizes each feature over the batch in training, and by running estimates of
/// its mean and variance in inference (Ioffe and Szegedy, 2015), as PyTorch's
/// `nn.BatchNorm1d(featureCount)` on inputs `[batch, featureCount]`.
///
/// In ``LayerMode/training``, for each feature (column) `j` over the `n` rows of the batch:
///
/// ```
/// μⱼ = Σᵢ xᵢⱼ / n      σⱼ² = Σᵢ (xᵢⱼ − μⱼ)² / n                 (the biased variance)
/// yᵢⱼ = (xᵢⱼ − μⱼ) / √(σⱼ² + ε) · γⱼ + βⱼ
/// runningMean     ← (1 − m)·runningMean     + m·μ
/// runningVariance ← (1 − m)·runningVariance + m·σ²·n/(n − 1)   (the unbiased variance)
/// ```
///
/// with momentum `m` (0.1). The gradient flows through μ and σ² too. In
/// ``LayerMode/inference`` the running estimates replace μ and σ², and nothing is updated:
/// `yᵢⱼ = (xᵢⱼ − runningMeanⱼ) / √(runningVarianceⱼ + ε) · γⱼ + βⱼ`.
///
/// ```swift
/// var model = Sequential<Float>(
///   Dense(inputSize: 20, outputSize: 64, using: &rng), BatchNorm(featureCount: 64), ReLU(),
///   Dense(inputSize: 64, outputSize: 2, using: &rng))
/// // ... train: each step's forward pass updates the running statistics ...
/// model.mode = .inference
/// try Checkpoint.save(model: model, to: url)   // the running statistics are saved too
/// ```
///
/// Its ``parameters`` are `[weight, bias]` (γ, starting at 1, and β, starting at 0); its
/// ``state`` is `"runningMean"` (starting at 0) and `"runningVariance"` (starting at 1).
///
/// The running statistics are updated by the forward pass, which does not mutate the layer: they
/// live in storage that the layer and its copies share (as a PyTorch module's buffers), so the
/// copy a training step calls (`model.replacingParameters(with:)`) updates the model's own.
/// Setting ``state`` gives the layer storage of its own, apart from the copies it was made from.
public struct BatchNorm<Scalar: TensorScalar>: Layer {
  /// The running estimates of the mean and the variance.
  private struct Statistics: Sendable {
    var mean: Tensor<Scalar>
    var variance: Tensor<Scalar>
  }

  /// The number of features (columns) of the input.
  public let featureCount: Int

  /// The weight m of the newest batch in the running estimates, in [0, 1].
  public var momentum: Scalar

  /// The constant ε added to the variance.
  public var epsilon: Scalar

  /// In ``LayerMode/training`` the layer normalizes by the batch's statistics and updates its
  /// running ones; in ``LayerMode/inference`` it normalizes by the running ones.
  public var mode: LayerMode = .training

  /// The scale γ, `[featureCount]`.
  public var weight: Tensor<Scalar> {
    didSet { checkAffineShape(weight, "BatchNorm", "weight", featureCount) }
  }

  /// The shift β, `[featureCount]`.
  public var bias: Tensor<Scalar> {
    didSet { checkAffineShape(bias, "BatchNorm", "bias", featureCount) }
  }

  /// The running estimates, shared with copies of the layer.
  private var statistics: SharedState<Statistics>

  /// Creates a layer for inputs `[batch, featureCount]`, with γ = 1, β = 0, a running mean of 0
  /// and a running variance of 1.
  ///
  /// - Parameters:
  ///   - featureCount: The number of features (columns) of the input.
  ///   - momentum: The weight of the newest batch in the running estimates, in [0, 1].
  ///   - epsilon: The constant added to the variance, > 0.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `featureCount > 0`, `0 ≤ momentum ≤ 1`, `epsilon > 0`.
  public init(
    featureCount: Int, momentum: Scalar = 0.1, epsilon: Scalar = 1e-5,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    requireNN(
      featureCount > 0 && momentum >= 0 && momentum <= 1 && epsilon > 0,
      "BatchNorm: needs featureCount > 0, 0 ≤ momentum ≤ 1 and epsilon > 0, got "
        + "\(featureCount), \(momentum) and \(epsilon)", at: SourceLocation(file: file, line: line))
    self.featureCount = featureCount
    self.momentum = momentum
    self.epsilon = epsilon
    self.weight = Tensor(ones: [featureCount])
    self.bias = Tensor(zeros: [featureCount])
    self.statistics = SharedState(
      Statistics(mean: Tensor(zeros: [featureCount]), variance: Tensor(ones: [featureCount])))
  }

  /// The running estimate of each feature's mean, `[featureCount]`.
  public var runningMean: Tensor<Scalar> { statistics.current.mean }

  /// The running estimate of each feature's (unbiased) variance, `[featureCount]`.
  public var runningVariance: Tensor<Scalar> { statistics.current.variance }

  /// Normalizes `input`, `[batch, featureCount]`: by the batch's statistics in training (and
  /// updates the running ones), by the running ones in inference.
  ///
  /// - Precondition: `input` has shape `[batch, featureCount]`, with `batch ≥ 2` in training
  ///   (one row has no variance).
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    requireNN(
      input.rank == 2 && input.shape[1] == featureCount,
      "BatchNorm: the input must have shape [batch, \(featureCount)], got "
        + input.shape.shapeText)
    guard mode == .training else {
      let running = statistics.current
      return (input - running.mean) / sqrt(running.variance + epsilon) * weight + bias
    }
    let count = input.shape[0]
    requireNN(
      count >= 2,
      "BatchNorm: a training batch needs at least 2 rows to have a variance, got "
        + "\(input.shape.shapeText); set mode = .inference to evaluate single examples")
    // `mean` comes unrecorded: the running estimates take the batch's values as constants.
    let (centered, mean) = input.centeredAndMean(alongAxes: [0])
    let variance = centered.squared().mean(alongAxes: [0])
    let (batchMean, batchVariance) = (
      mean.reshaped(to: [featureCount]),
      withoutDerivative(at: variance).reshaped(to: [featureCount])
    )
    let (m, unbiasing) = (momentum, Scalar(count) / Scalar(count - 1))
    statistics.withLock { running in
      running.mean = (1 - m) * running.mean + m * batchMean
      running.variance = (1 - m) * running.variance + (m * unbiasing) * batchVariance
    }
    return centered / sqrt(variance + epsilon) * weight + bias
  }

  /// `[weight, bias]`. Setting it replaces both.
  ///
  /// - Precondition: A new value holds two tensors of shape `[featureCount]`.
  public var parameters: [Tensor<Scalar>] {
    get { [weight, bias] }
    set { (weight, bias) = affineParameters(newValue, "BatchNorm") }
  }

  /// `["weight", "bias"]`.
  public var parameterNames: [String] { ["weight", "bias"] }

  /// `"runningMean"` and `"runningVariance"`, each `[featureCount]`. Setting it gives the layer
  /// running statistics of its own, no longer shared with the copies it was made from.
  ///
  /// - Precondition: A new value holds exactly these two names, each of shape `[featureCount]`.
  public var state: [String: Tensor<Scalar>] {
    get {
      let running = statistics.current
      return ["runningMean": running.mean, "runningVariance": running.variance]
    }
    set {
      requireNN(
        Set(newValue.keys) == ["runningMean", "runningVariance"],
        "BatchNorm.state: expected runningMean and runningVariance, got "
          + "\(newValue.keys.sorted())")
      let (mean, variance) = (newValue["runningMean"]!, newValue["runningVariance"]!)
      checkAffineShape(mean, "BatchNorm", "runningMean", featureCount)
      checkAffineShape(variance, "BatchNorm", "runningVariance", featureCount)
      statistics = SharedState(
        Statistics(
          mean: withoutDerivative(at: mean), variance: withoutDerivative(at: variance)))
    }
  }
}
