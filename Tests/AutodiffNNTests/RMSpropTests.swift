import AutodiffNN
import Foundation
import Testing

@Suite struct RMSpropTests {
  /// PyTorch's documented RMSprop update (torch.optim.RMSprop), element by element, for one
  /// parameter over several steps with the given gradients.
  static func reference(
    _ p0: [Double], gradients: [[Double]], rate: Double, alpha: Double, epsilon: Double,
    weightDecay: Double, momentum: Double, centered: Bool
  ) -> [Double] {
    var p = p0
    var (v, b, gAverage) = (
      [Double](repeating: 0, count: p.count), [Double](repeating: 0, count: p.count),
      [Double](repeating: 0, count: p.count)
    )
    for g in gradients {
      for j in p.indices {
        var gj = g[j]
        if weightDecay != 0 { gj += weightDecay * p[j] }
        v[j] = alpha * v[j] + (1 - alpha) * gj * gj
        var vTilde = v[j]
        if centered {
          gAverage[j] = alpha * gAverage[j] + (1 - alpha) * gj
          vTilde -= gAverage[j] * gAverage[j]
        }
        if momentum > 0 {
          b[j] = momentum * b[j] + gj / (vTilde.squareRoot() + epsilon)
          p[j] -= rate * b[j]
        } else {
          p[j] -= rate * gj / (vTilde.squareRoot() + epsilon)
        }
      }
    }
    return p
  }

  static let start = [0.5, -1.5, 2.0, 0.0]
  static let gradients = [[0.3, -0.2, 1.5, 0.0], [-0.1, 0.4, 1.0, 2.0], [0.2, 0.2, -0.5, -1.0]]

  @Test(
    "RMSprop follows PyTorch's documented update for three steps",
    arguments: [
      (0.0, 0.0, false), (0.9, 0.0, false), (0.0, 0.0, true), (0.5, 0.1, true), (0.0, 0.05, false),
    ])
  func followsDocumentedUpdate(momentum: Double, weightDecay: Double, centered: Bool) {
    var parameters = [Tensor(Self.start)]
    var optimizer = RMSprop(
      for: parameters, learningRate: 0.01, alpha: 0.9, epsilon: 1e-8, weightDecay: weightDecay,
      momentum: momentum, centered: centered)
    for g in Self.gradients { optimizer.update(&parameters, along: [Tensor(g)]) }
    let expected = Self.reference(
      Self.start, gradients: Self.gradients, rate: 0.01, alpha: 0.9, epsilon: 1e-8,
      weightDecay: weightDecay, momentum: momentum, centered: centered)
    #expect(parameters[0].isAlmostEqual(to: Tensor(expected), relativeTolerance: 1e-14))
    #expect(optimizer.step == 3)
  }

  @Test("RMSprop's first plain step is −lr·g/(√(1 − α)·|g| + ε)")
  func firstStep() {
    var parameters = [Tensor<Double>([1])]
    var optimizer = RMSprop(for: parameters, learningRate: 0.01)
    optimizer.update(&parameters, along: [Tensor([2])])
    // v = 0.01·4 = 0.04, √v = 0.2: p = 1 − 0.01·2/(0.2 + 10⁻⁸).
    #expect(Swift.abs(parameters[0].scalar - (1 - 0.02 / (0.2 + 1e-8))) < 1e-15)
  }

  @Test("RMSprop's state round-trips through a checkpoint and resumes identically")
  func stateRoundTrip() throws {
    let directory = ScratchDirectory()
    var rng = SeededGenerator(seed: 1)
    var model = Sequential<Double>(Dense(inputSize: 3, outputSize: 2, using: &rng))
    var optimizer = RMSprop(for: model.parameters, momentum: 0.9, centered: true)
    let x = randomMatrix(4, 3, seed: 2)
    func step(_ model: inout Sequential<Double>, _ optimizer: inout RMSprop<Double>) {
      let g = gradient(at: model.parameters) { p in
        model.replacingParameters(with: p)(x).squared().sum()
      }
      optimizer.update(&model.parameters, along: g)
    }
    step(&model, &optimizer)
    try Checkpoint.save(model: model, optimizer: optimizer, to: directory.file("c.safetensors"))
    #expect(
      Set(optimizer.state.keys).isSuperset(of: [
        "step", "squareAverage.0", "momentum.1", "gradientAverage.1",
      ]))
    var (restoredModel, restoredOptimizer) = (
      model, RMSprop(for: model.parameters, momentum: 0.9, centered: true)
    )
    restoredModel.parameters = restoredModel.parameters.scaled(by: 0)
    try Checkpoint.load(
      into: &restoredModel, optimizer: &restoredOptimizer, from: directory.file("c.safetensors"))
    step(&model, &optimizer)
    step(&restoredModel, &restoredOptimizer)
    #expect(restoredModel.parameters == model.parameters && restoredOptimizer.step == 2)
  }
}

@Suite struct ScheduleTests {
  @Test("A linear warmup rises from startFactor·rate, then the schedule starts at step 0")
  func warmup() {
    let schedule = LearningRateSchedule<Double>.stepDecay(initial: 0.1, factor: 0.5, every: 30)
      .withLinearWarmup(steps: 5)
    let rates = [0, 1, 4, 5, 34, 35].map { schedule($0) }
    // 0.1·step/5 for steps 0, 1, 4; then the step decay's steps 0, 29, 30.
    let expected = [0, 0.02, 0.08, 0.1, 0.1, 0.05]
    for (rate, value) in zip(rates, expected) { #expect(Swift.abs(rate - value) < 1e-15) }
    let fromHalf = LearningRateSchedule<Double>.constant(1).withLinearWarmup(
      steps: 4, startFactor: 0.5)
    #expect([0, 2, 4].map { fromHalf($0) } == [0.5, 0.75, 1])
  }

  @Test("ReduceOnPlateau drops the rate after more than `patience` epochs without improvement")
  func plateau() {
    // PyTorch's ReduceLROnPlateau(factor=0.5, patience=2, threshold=1e-4, cooldown=1) on these
    // losses: the rate halves after the 3rd bad epoch in a row (epochs 5 and, after the
    // cooldown epoch 6 and bad epochs 7, 8, 9, epoch 9).
    var plateau = ReduceOnPlateau<Double>(initialRate: 1, factor: 0.5, patience: 2, cooldown: 1)
    let losses = [1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.85, 0.81, 0.80, 0.8]
    let rates = losses.map { plateau.observe($0) }
    #expect(rates == [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25])
    #expect(plateau.best == 0.8)
  }

  @Test(
    "ReduceOnPlateau maximizes or minimizes with a relative or an absolute threshold, as PyTorch",
    arguments: [
      // torch.optim.lr_scheduler.ReduceLROnPlateau(mode=…, factor=0.5, patience=1,
      // threshold=0.1, threshold_mode=…, cooldown=1), lr 1, stepped on `metrics` (torch 2.15).
      (
        ReduceOnPlateau<Double>.Goal.minimize, ReduceOnPlateau<Double>.ThresholdMode.relative,
        [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125],
        -1.2
      ),
      (
        .minimize, .absolute,
        [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.0625, 0.0625, 0.0625],
        -1.2
      ),
      (
        .maximize, .relative,
        [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.0625, 0.0625], 2.3
      ),
      (
        .maximize, .absolute,
        [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.0625], 2.45
      ),
    ] as [(ReduceOnPlateau<Double>.Goal, ReduceOnPlateau<Double>.ThresholdMode, [Double], Double)])
  func plateauModes(
    goal: ReduceOnPlateau<Double>.Goal, thresholdMode: ReduceOnPlateau<Double>.ThresholdMode,
    expected: [Double], best: Double
  ) {
    let metrics = [
      2.0, 2.15, 2.3, 2.45, 2.25, 1.9, 1.85, 1.7, 1.75, 1.62, -1, -1.05, -0.95, -1.2, -1.2,
    ]
    var plateau = ReduceOnPlateau<Double>(
      initialRate: 1, factor: 0.5, patience: 1, goal: goal, threshold: 0.1,
      thresholdMode: thresholdMode, cooldown: 1)
    #expect(metrics.map { plateau.observe($0) } == expected)
    #expect(plateau.best == best)
  }

  @Test(
    "A ReduceOnPlateau saved before goals and threshold modes reads back as minimizing, relative")
  func plateauDecodesOlderState() throws {
    let saved =
      #"{"rate":0.5,"factor":0.5,"patience":1,"threshold":0.0001,"cooldown":0,"#
      + #""minimumRate":0,"best":0.9,"badObservations":1,"cooldownLeft":0}"#
    var plateau = try JSONDecoder().decode(ReduceOnPlateau<Double>.self, from: Data(saved.utf8))
    #expect(plateau.goal == .minimize && plateau.thresholdMode == .relative)
    #expect(plateau.rate == 0.5 && plateau.best == 0.9 && plateau.badObservations == 1)
    #expect(plateau.observe(0.95) == 0.25)
  }

  @Test("ReduceOnPlateau never goes below its minimum, and improvements reset the count")
  func plateauMinimum() {
    var plateau = ReduceOnPlateau<Float>(
      initialRate: 1, factor: 0.1, patience: 0, minimumRate: 0.05)
    #expect(plateau.observe(1) == 1)
    #expect(plateau.observe(1) == 0.1)
    #expect(plateau.observe(0.5) == 0.1)
    #expect(plateau.observe(0.5) == 0.05)
    #expect(plateau.observe(0.5) == 0.05)
  }

  @Test("ReduceOnPlateau round-trips through a checkpoint's metadata and continues identically")
  func plateauCheckpoint() throws {
    let directory = ScratchDirectory()
    var plateau = ReduceOnPlateau<Float>(initialRate: 0.1, factor: 0.5, patience: 1)
    for loss in [1.0, 0.9, 0.95] { plateau.observe(loss) }
    let text = String(decoding: try JSONEncoder().encode(plateau), as: UTF8.self)
    let model = Sequential<Float>(LayerNorm(featureCount: 2))
    try Checkpoint.save(
      model: model, metadata: ["plateau": text], to: directory.file("p.safetensors"))
    var loaded = model
    let metadata = try Checkpoint.load(into: &loaded, from: directory.file("p.safetensors"))
    var restored = try JSONDecoder().decode(
      ReduceOnPlateau<Float>.self, from: Data(metadata["plateau"]!.utf8))
    #expect(restored == plateau)
    #expect(restored.observe(0.97) == plateau.observe(0.97))
    #expect(restored.rate == 0.05)
  }
}
