/// A learning rate that drops by a factor when a monitored metric (a validation loss, or an
/// accuracy with `goal: .maximize`) stops improving, as PyTorch's `ReduceLROnPlateau`.
///
/// After each epoch the training loop reports the metric; the rate changes only then:
///
/// ```swift
/// var plateau = ReduceOnPlateau<Float>(initialRate: 1e-3, factor: 0.5, patience: 3)
/// for epoch in 0..<100 {
///   optimizer.learningRate = plateau.rate
///   // ... train one epoch ...
///   plateau.observe(validationLoss)
/// }
/// ```
///
/// A metric improves when it is below `best · (1 − threshold)` (``Goal/minimize``, the default,
/// with a ``ThresholdMode/relative`` threshold), below `best − threshold` (an
/// ``ThresholdMode/absolute`` one), or above `best · (1 + threshold)` or `best + threshold`
/// (``Goal/maximize``): PyTorch's `mode` and `threshold_mode`. After more than ``patience``
/// observations in a row without improvement the rate becomes `max(rate · factor, minimumRate)`
/// (unchanged if that is a change of at most 10⁻⁸, PyTorch's `eps`), the count restarts, and the
/// next ``cooldown`` observations are not counted. It is `Codable`, so a checkpoint can carry it
/// in its metadata:
///
/// ```swift
/// let text = String(decoding: try JSONEncoder().encode(plateau), as: UTF8.self)
/// try Checkpoint.save(model: model, optimizer: optimizer, metadata: ["plateau": text], to: url)
/// ```
public struct ReduceOnPlateau<Scalar: TensorScalar & Codable>: Sendable, Equatable, Codable {
  /// Whether a lower or a higher metric is better: PyTorch's `mode`, `"min"` or `"max"`.
  public enum Goal: String, Sendable, Codable {
    /// Lower is better: a loss.
    case minimize
    /// Higher is better: an accuracy.
    case maximize
  }

  /// How ``threshold`` measures an improvement: PyTorch's `threshold_mode`.
  public enum ThresholdMode: String, Sendable, Codable {
    /// A fraction of the best metric: `"rel"`.
    case relative
    /// An amount in the metric's units: `"abs"`.
    case absolute
  }

  /// The rate to use now.
  public private(set) var rate: Scalar

  /// Whether a lower or a higher metric is better.
  public let goal: Goal

  /// How ``threshold`` measures an improvement.
  public let thresholdMode: ThresholdMode

  /// The factor the rate is multiplied by on a plateau, in (0, 1).
  public let factor: Scalar

  /// The number of observations without improvement tolerated before the rate drops.
  public let patience: Int

  /// The improvement that counts, relative to the best metric or absolute (``thresholdMode``).
  public let threshold: Double

  /// The number of observations after a drop that are not counted.
  public let cooldown: Int

  /// The rate never drops below this.
  public let minimumRate: Scalar

  /// The best metric observed so far, the lowest or the highest (``goal``); `nil` before the
  /// first (which always improves).
  public private(set) var best: Double?

  /// Observations in a row without improvement.
  public private(set) var badObservations = 0

  /// Observations left in the current cooldown.
  public private(set) var cooldownLeft = 0

  /// Creates the schedule.
  ///
  /// - Parameters:
  ///   - initialRate: The rate until the first plateau.
  ///   - factor: The factor of each drop, in (0, 1) (PyTorch's default 0.1).
  ///   - patience: Observations without improvement tolerated, ≥ 0.
  ///   - goal: Whether a lower metric (`.minimize`, the default) or a higher one is better.
  ///   - threshold: The improvement that counts, ≥ 0.
  ///   - thresholdMode: Whether `threshold` is a fraction of the best metric (`.relative`, the
  ///     default) or an amount in its units.
  ///   - cooldown: Observations ignored after a drop, ≥ 0.
  ///   - minimumRate: The lowest rate, ≥ 0.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: The arguments lie in the ranges above.
  public init(
    initialRate: Scalar, factor: Scalar = 0.1, patience: Int = 10, goal: Goal = .minimize,
    threshold: Double = 1e-4, thresholdMode: ThresholdMode = .relative, cooldown: Int = 0,
    minimumRate: Scalar = 0, file: StaticString = #fileID, line: UInt = #line
  ) {
    requireNN(
      factor > 0 && factor < 1 && patience >= 0 && threshold >= 0 && cooldown >= 0
        && minimumRate >= 0,
      "ReduceOnPlateau: needs 0 < factor < 1 and patience, threshold, cooldown, minimumRate ≥ 0, "
        + "got \(factor), \(patience), \(threshold), \(cooldown), \(minimumRate)",
      at: SourceLocation(file: file, line: line))
    self.rate = initialRate
    self.factor = factor
    self.patience = patience
    self.goal = goal
    self.threshold = threshold
    self.thresholdMode = thresholdMode
    self.cooldown = cooldown
    self.minimumRate = minimumRate
  }

  /// Records one observation of the metric and lowers ``rate`` on a plateau.
  ///
  /// - Returns: The rate to use from now on.
  @discardableResult
  public mutating func observe(_ metric: Double) -> Scalar {
    if improves(metric) {
      best = metric
      badObservations = 0
    } else {
      badObservations += 1
    }
    if cooldownLeft > 0 {
      cooldownLeft -= 1
      badObservations = 0
    }
    if badObservations > patience {
      let lowered = Swift.max(rate * factor, minimumRate)
      if Double(rate - lowered) > 1e-8 { rate = lowered }
      cooldownLeft = cooldown
      badObservations = 0
    }
    return rate
  }

  /// Whether `metric` beats ``best`` by ``threshold``, as PyTorch's `is_better` (a NaN never
  /// does; before the first observation the best is the worst value, ±∞).
  private func improves(_ metric: Double) -> Bool {
    switch (goal, thresholdMode) {
    case (.minimize, .relative): metric < (best ?? .infinity) * (1 - threshold)
    case (.minimize, .absolute): metric < (best ?? .infinity) - threshold
    case (.maximize, .relative): metric > (best ?? -.infinity) * (1 + threshold)
    case (.maximize, .absolute): metric > (best ?? -.infinity) + threshold
    }
  }

  /// Reads a schedule that `encode(to:)` wrote, or one saved before ``goal`` and
  /// ``thresholdMode`` existed, which minimized with a relative threshold.
  ///
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` when a value is missing or of the wrong type.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    rate = try container.decode(Scalar.self, forKey: .rate)
    goal = try container.decodeIfPresent(Goal.self, forKey: .goal) ?? .minimize
    thresholdMode =
      try container.decodeIfPresent(ThresholdMode.self, forKey: .thresholdMode) ?? .relative
    factor = try container.decode(Scalar.self, forKey: .factor)
    patience = try container.decode(Int.self, forKey: .patience)
    threshold = try container.decode(Double.self, forKey: .threshold)
    cooldown = try container.decode(Int.self, forKey: .cooldown)
    minimumRate = try container.decode(Scalar.self, forKey: .minimumRate)
    best = try container.decodeIfPresent(Double.self, forKey: .best)
    badObservations = try container.decode(Int.self, forKey: .badObservations)
    cooldownLeft = try container.decode(Int.self, forKey: .cooldownLeft)
  }
}
