/// A learning rate that drops by a factor when a monitored metric (a validation loss) stops
/// improving, as PyTorch's `ReduceLROnPlateau` in its default `mode="min"`, `threshold_mode="rel"`.
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
/// A metric improves when it is below `best · (1 − threshold)`. After more than ``patience``
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
  /// The rate to use now.
  public private(set) var rate: Scalar

  /// The factor the rate is multiplied by on a plateau, in (0, 1).
  public let factor: Scalar

  /// The number of observations without improvement tolerated before the rate drops.
  public let patience: Int

  /// The relative improvement that counts: below `best · (1 − threshold)`.
  public let threshold: Double

  /// The number of observations after a drop that are not counted.
  public let cooldown: Int

  /// The rate never drops below this.
  public let minimumRate: Scalar

  /// The lowest metric observed so far; `nil` before the first (which always improves).
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
  ///   - threshold: The relative improvement that counts, ≥ 0.
  ///   - cooldown: Observations ignored after a drop, ≥ 0.
  ///   - minimumRate: The lowest rate, ≥ 0.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: The arguments lie in the ranges above.
  public init(
    initialRate: Scalar, factor: Scalar = 0.1, patience: Int = 10, threshold: Double = 1e-4,
    cooldown: Int = 0, minimumRate: Scalar = 0, file: StaticString = #fileID, line: UInt = #line
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
    self.threshold = threshold
    self.cooldown = cooldown
    self.minimumRate = minimumRate
  }

  /// Records one observation of the metric (lower is better) and lowers ``rate`` on a plateau.
  ///
  /// - Returns: The rate to use from now on.
  @discardableResult
  public mutating func observe(_ metric: Double) -> Scalar {
    if metric < (best ?? .infinity) * (1 - threshold) {
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
}
