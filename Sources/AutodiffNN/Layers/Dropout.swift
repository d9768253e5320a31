/// A layer that, in training, zeroes each input element with probability ``rate`` and scales the
/// others by `1 / (1 − rate)`; in inference, passes its input through.
///
/// With the mask `m` drawn anew for every call, `mᵢ = 1` with probability `1 − p`:
///
/// ```
/// training:   yᵢ = xᵢ · mᵢ / (1 − p)        so E[yᵢ] = xᵢ
/// inference:  yᵢ = xᵢ
/// ```
///
/// This is "inverted" dropout (PyTorch's `nn.Dropout`): the scaling happens in training, so the
/// model needs no change for inference. The gradient is the mask's: `∂yᵢ/∂xᵢ = mᵢ / (1 − p)`.
///
/// ```swift
/// var rng = SeededGenerator(seed: 0)
/// var model = Sequential<Float>(
///   Dense(inputSize: 784, outputSize: 256, activation: .relu, using: &rng),
///   Dropout(rate: 0.2, using: &rng),
///   Dense(inputSize: 256, outputSize: 10, using: &rng))
/// // ... train ...
/// model.mode = .inference   // no dropout when evaluating
/// ```
///
/// The masks come from a `SeededGenerator` that the layer and its copies share (the copy a
/// training step makes draws from the same stream), so a run with the same seed and the same
/// calls draws the same masks.
public struct Dropout<Scalar: TensorScalar>: Layer {
  /// The probability p that an element is zeroed in training, in [0, 1).
  public let rate: Scalar

  /// In ``LayerMode/training`` the layer drops; in ``LayerMode/inference`` it is the identity.
  public var mode: LayerMode = .training

  /// The random stream the masks are drawn from, shared with copies.
  private let generator: SharedState<SeededGenerator>

  /// Creates a layer that drops with probability `rate`, drawing its masks from a generator
  /// seeded with `seed`.
  ///
  /// - Parameters:
  ///   - rate: The probability p that an element is zeroed, in [0, 1).
  ///   - seed: The seed of the masks' generator.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `0 ≤ rate < 1`.
  public init(rate: Scalar, seed: UInt64, file: StaticString = #fileID, line: UInt = #line) {
    requireNN(
      rate >= 0 && rate < 1, "Dropout: rate must lie in [0, 1), got \(rate)",
      at: SourceLocation(file: file, line: line))
    self.rate = rate
    self.generator = SharedState(SeededGenerator(seed: seed))
  }

  /// Creates a layer that drops with probability `rate`, its masks' seed drawn from `generator`,
  /// as ``Dense`` draws its weights: one seeded generator makes the whole model reproducible.
  ///
  /// - Precondition: `0 ≤ rate < 1`.
  public init<G: RandomNumberGenerator>(
    rate: Scalar, using generator: inout G, file: StaticString = #fileID, line: UInt = #line
  ) {
    self.init(rate: rate, seed: generator.next(), file: file, line: line)
  }

  /// In training, `input · mask / (1 − rate)` with a fresh mask; in inference, `input`.
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    guard mode == .training, rate > 0 else { return input }
    let uniform = generator.withLock { generator in
      Tensor<Scalar>(randomUniform: input.shape, using: &generator)
    }
    // u ≥ p with probability 1 − p for u uniform on [0, 1): the kept elements.
    let scaledMask = (uniform .>= rate) * (1 / (1 - rate))
    return input * scaledMask
  }

  /// No parameters: always `[]`.
  ///
  /// - Precondition: A new value is empty.
  public var parameters: [Tensor<Scalar>] {
    get { [] }
    set { requireNoParameters(newValue, "Dropout") }
  }

  /// No parameters: always `[]`.
  public var parameterNames: [String] { [] }
}
