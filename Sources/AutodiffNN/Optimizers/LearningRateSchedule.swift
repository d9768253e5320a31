/// A learning rate that changes with training progress: a function from a step (or epoch)
/// number, counted from 0, to the rate.
///
/// A schedule does not change an optimizer by itself; the training loop sets the rate before
/// each update, from whatever it counts (steps or epochs, as the schedule was built for):
///
/// ```swift
/// let schedule = LearningRateSchedule<Float>.cosineAnnealing(
///   initial: 1e-3, minimum: 1e-5, totalSteps: 10_000, warmupSteps: 500)
/// var optimizer = Adam(for: model.parameters)
/// for step in 0..<10_000 {
///   optimizer.learningRate = schedule(step)
///   let (loss, gradients) = valueWithGradient(at: model.parameters) { ... }
///   optimizer.update(&model.parameters, along: gradients)
/// }
/// ```
///
/// After restoring an optimizer from a checkpoint, `schedule(optimizer.step)` continues the
/// schedule where it stopped.
public struct LearningRateSchedule<Scalar: TensorScalar>: Sendable, Equatable {
  private indirect enum Kind: Sendable, Equatable {
    case constant(Scalar)
    case warmup(steps: Int, startFactor: Scalar, then: LearningRateSchedule)
    case stepDecay(initial: Scalar, factor: Scalar, stepSize: Int)
    case exponentialDecay(initial: Scalar, factor: Scalar)
    case multiStepDecay(initial: Scalar, factor: Scalar, milestones: [Int])
    case oneCycle(
      initial: Scalar, maximum: Scalar, final: Scalar, totalSteps: Int, warmupEnd: Double)
    case cosine(initial: Scalar, minimum: Scalar, totalSteps: Int, warmupSteps: Int)
  }

  private let kind: Kind

  private init(_ kind: Kind) { self.kind = kind }

  /// The same rate at every step.
  public static func constant(_ rate: Scalar) -> Self { Self(.constant(rate)) }

  /// The rate multiplied by `factor` every `stepSize` steps, as PyTorch's `StepLR`:
  /// `initial · factor^⌊step / stepSize⌋`.
  ///
  /// ```swift
  /// let schedule = LearningRateSchedule<Float>.stepDecay(initial: 0.1, factor: 0.5, every: 10)
  /// schedule(9)    // 0.1
  /// schedule(10)   // 0.05
  /// ```
  ///
  /// - Precondition: `stepSize > 0`.
  public static func stepDecay(
    initial: Scalar, factor: Scalar, every stepSize: Int,
    file: StaticString = #fileID, line: UInt = #line
  ) -> Self {
    requireNN(
      stepSize > 0, "LearningRateSchedule.stepDecay: stepSize must be > 0, got \(stepSize)",
      at: SourceLocation(file: file, line: line))
    return Self(.stepDecay(initial: initial, factor: factor, stepSize: stepSize))
  }

  /// The rate multiplied by `factor` at every step, as PyTorch's `ExponentialLR`:
  /// `initial · factor^step`.
  ///
  /// ```swift
  /// let schedule = LearningRateSchedule<Double>.exponentialDecay(initial: 0.1, factor: 0.9)
  /// schedule(2)    // 0.081
  /// ```
  ///
  /// - Precondition: `factor ≥ 0`.
  public static func exponentialDecay(
    initial: Scalar, factor: Scalar, file: StaticString = #fileID, line: UInt = #line
  ) -> Self {
    requireNN(
      factor >= 0, "LearningRateSchedule.exponentialDecay: factor must be ≥ 0, got \(factor)",
      at: SourceLocation(file: file, line: line))
    return Self(.exponentialDecay(initial: initial, factor: factor))
  }

  /// The rate multiplied by `factor` at each of `milestones`, as PyTorch's `MultiStepLR`:
  /// `initial · factor^(number of milestones ≤ step)`.
  ///
  /// ```swift
  /// let schedule = LearningRateSchedule<Float>.multiStepDecay(
  ///   initial: 0.1, factor: 0.1, milestones: [30, 80])
  /// schedule(29)   // 0.1
  /// schedule(30)   // 0.01
  /// schedule(80)   // 0.001
  /// ```
  ///
  /// - Precondition: `milestones` are positive and increasing.
  public static func multiStepDecay(
    initial: Scalar, factor: Scalar, milestones: [Int],
    file: StaticString = #fileID, line: UInt = #line
  ) -> Self {
    requireNN(
      milestones.allSatisfy { $0 > 0 } && zip(milestones, milestones.dropFirst()).allSatisfy(<),
      "LearningRateSchedule.multiStepDecay: milestones must be positive and increasing, got "
        + "\(milestones)", at: SourceLocation(file: file, line: line))
    return Self(.multiStepDecay(initial: initial, factor: factor, milestones: milestones))
  }

  /// The one-cycle policy (Smith and Topin, 2019) as PyTorch's `OneCycleLR` with its cosine
  /// annealing: from `maximum / startDivisor` up to `maximum` over the first `warmupFraction` of
  /// `totalSteps`, then down to `maximum / (startDivisor · finalDivisor)` at the last step,
  /// each along a half cosine.
  ///
  /// With `a = maximum / startDivisor`, `m = maximum`, `z = a / finalDivisor`, the warmup's last
  /// step `w = warmupFraction · totalSteps − 1` and the last step `T = totalSteps − 1`:
  ///
  /// ```
  /// step ≤ w:        m + (a − m) · (1 + cos(π · step / w)) / 2
  /// w < step ≤ T:    z + (m − z) · (1 + cos(π · (step − w) / (T − w))) / 2
  /// step > T:        z
  /// ```
  ///
  /// PyTorch stops with an error after the last step; this schedule stays at `z`.
  ///
  /// ```swift
  /// let schedule = LearningRateSchedule<Float>.oneCycle(maximum: 0.01, totalSteps: 1000)
  /// schedule(0)     // 0.0004
  /// schedule(299)   // 0.01
  /// schedule(999)   // 4e-08
  /// ```
  ///
  /// - Parameters:
  ///   - maximum: The highest rate, reached at the end of the warmup.
  ///   - totalSteps: The number of steps of the cycle.
  ///   - warmupFraction: The fraction of the steps spent rising (PyTorch's `pct_start`).
  ///   - startDivisor: The first rate is `maximum / startDivisor` (PyTorch's `div_factor`).
  ///   - finalDivisor: The last rate is the first divided by this (`final_div_factor`).
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `totalSteps ≥ 2`, the warmup ends after the first step and before the
  ///   last (`0 < warmupFraction · totalSteps − 1 < totalSteps − 1`), and both divisors are
  ///   positive.
  public static func oneCycle(
    maximum: Scalar, totalSteps: Int, warmupFraction: Double = 0.3, startDivisor: Scalar = 25,
    finalDivisor: Scalar = 1e4, file: StaticString = #fileID, line: UInt = #line
  ) -> Self {
    let warmupEnd = warmupFraction * Double(totalSteps) - 1
    requireNN(
      totalSteps >= 2 && warmupEnd > 0 && warmupEnd < Double(totalSteps - 1)
        && startDivisor > 0 && finalDivisor > 0,
      "LearningRateSchedule.oneCycle: needs totalSteps ≥ 2, 0 < warmupFraction·totalSteps − 1 < "
        + "totalSteps − 1 and positive divisors, got totalSteps \(totalSteps), warmupFraction "
        + "\(warmupFraction), startDivisor \(startDivisor), finalDivisor \(finalDivisor)",
      at: SourceLocation(file: file, line: line))
    let initial = maximum / startDivisor
    return Self(
      .oneCycle(
        initial: initial, maximum: maximum, final: initial / finalDivisor,
        totalSteps: totalSteps, warmupEnd: warmupEnd))
  }

  /// A linear warmup from 0 to `initial` over `warmupSteps` steps, then a half cosine from
  /// `initial` down to `minimum` at `totalSteps`, and `minimum` after.
  ///
  /// With `w = warmupSteps` and `T = totalSteps`:
  ///
  /// ```
  /// step < w:        initial · step / w
  /// w ≤ step ≤ T:    minimum + (initial − minimum) · (1 + cos(π · (step − w) / (T − w))) / 2
  /// step > T:        minimum
  /// ```
  ///
  /// Without warmup this is PyTorch's `CosineAnnealingLR` (with `T_max = T`, `eta_min =
  /// minimum`) up to `T`; with warmup, the schedule of Hugging Face's
  /// `get_cosine_schedule_with_warmup` when `minimum` is 0.
  ///
  /// - Precondition: `0 ≤ warmupSteps < totalSteps`.
  public static func cosineAnnealing(
    initial: Scalar, minimum: Scalar = 0, totalSteps: Int, warmupSteps: Int = 0,
    file: StaticString = #fileID, line: UInt = #line
  ) -> Self {
    requireNN(
      warmupSteps >= 0 && warmupSteps < totalSteps,
      "LearningRateSchedule.cosineAnnealing: needs 0 ≤ warmupSteps < totalSteps, got "
        + "warmupSteps \(warmupSteps), totalSteps \(totalSteps)",
      at: SourceLocation(file: file, line: line))
    return Self(
      .cosine(initial: initial, minimum: minimum, totalSteps: totalSteps, warmupSteps: warmupSteps))
  }

  /// This schedule after a linear warmup of `steps` steps, which rises from
  /// `startFactor · self(0)` towards `self(0)`; the schedule itself then starts at step `steps`.
  ///
  /// ```
  /// step < w:    self(0) · (startFactor + (1 − startFactor) · step / w)
  /// step ≥ w:    self(step − w)
  /// ```
  ///
  /// PyTorch's `LinearLR(start_factor=startFactor, total_iters=w)` followed by the schedule in a
  /// `SequentialLR` with the milestone `w`. Warmup keeps the first steps of Adam, whose second
  /// moments start from nothing, and of large batches from moving too far.
  ///
  /// ```swift
  /// let schedule = LearningRateSchedule<Float>.stepDecay(initial: 0.1, factor: 0.5, every: 30)
  ///   .withLinearWarmup(steps: 5)
  /// schedule(0)    // 0
  /// schedule(1)    // 0.02
  /// schedule(5)    // 0.1, the step decay's step 0
  /// schedule(35)   // 0.05
  /// ```
  ///
  /// - Parameters:
  ///   - steps: The warmup's length w, ≥ 1.
  ///   - startFactor: The fraction of the rate at step 0, in [0, 1].
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `steps ≥ 1` and `0 ≤ startFactor ≤ 1`.
  public func withLinearWarmup(
    steps: Int, startFactor: Scalar = 0, file: StaticString = #fileID, line: UInt = #line
  ) -> Self {
    requireNN(
      steps >= 1 && startFactor >= 0 && startFactor <= 1,
      "LearningRateSchedule.withLinearWarmup: needs steps ≥ 1 and 0 ≤ startFactor ≤ 1, got "
        + "\(steps) and \(startFactor)", at: SourceLocation(file: file, line: line))
    return Self(.warmup(steps: steps, startFactor: startFactor, then: self))
  }

  /// The rate at `step`, counted from 0.
  ///
  /// - Precondition: `step ≥ 0`.
  public func callAsFunction(_ step: Int) -> Scalar {
    requireNN(step >= 0, "LearningRateSchedule: step must be ≥ 0, got \(step)")
    switch kind {
    case .constant(let rate):
      return rate
    case .warmup(let steps, let startFactor, let schedule):
      guard step < steps else { return schedule(step - steps) }
      return schedule(0) * (startFactor + (1 - startFactor) * Scalar(step) / Scalar(steps))
    case .stepDecay(let initial, let factor, let stepSize):
      return initial * Scalar(Double.pow(Double(factor), Double(step / stepSize)))
    case .exponentialDecay(let initial, let factor):
      return initial * Scalar(Double.pow(Double(factor), Double(step)))
    case .multiStepDecay(let initial, let factor, let milestones):
      let passed = milestones.prefix { $0 <= step }.count
      return initial * Scalar(Double.pow(Double(factor), Double(passed)))
    case .oneCycle(let initial, let maximum, let final, let totalSteps, let warmupEnd):
      // PyTorch's phases: the rise ends at step w (a fraction of a step in general), the fall at
      // T; each anneals from its start to its end along (1 + cos(π·progress))/2.
      func annealed(from start: Scalar, to end: Scalar, progress: Double) -> Scalar {
        end + (start - end) * Scalar((1 + Double.cos(Double.pi * progress)) / 2)
      }
      let last = Double(totalSteps - 1)
      let t = Double(step)
      if t <= warmupEnd { return annealed(from: initial, to: maximum, progress: t / warmupEnd) }
      if t > last { return final }
      return annealed(from: maximum, to: final, progress: (t - warmupEnd) / (last - warmupEnd))
    case .cosine(let initial, let minimum, let totalSteps, let warmupSteps):
      if step < warmupSteps { return initial * Scalar(step) / Scalar(warmupSteps) }
      if step >= totalSteps { return minimum }
      let progress = Double(step - warmupSteps) / Double(totalSteps - warmupSteps)
      let cosine = (1 + Double.cos(Double.pi * progress)) / 2
      return minimum + (initial - minimum) * Scalar(cosine)
    }
  }
}
