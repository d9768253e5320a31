import AutodiffNN
import Testing

/// The parameter p₀ = [1, −2] and the gradients of three steps, fixed so that each step can be
/// followed by hand: g₁ = [0.5, −1], g₂ = [0.25, 0.5], g₃ = [−1, 2].
private let start = Tensor<Double>([1, -2])
private let steps = [Tensor<Double>([0.5, -1]), Tensor([0.25, 0.5]), Tensor([-1, 2])]

/// The parameter after each of the three steps of `optimizer`.
private func trajectory(of optimizer: some Optimizer<Double>) -> [[Double]] {
  var optimizer = optimizer
  var parameters = [start]
  return steps.map { g in
    optimizer.update(&parameters, along: [g])
    return parameters[0].scalars
  }
}

private func expectTrajectory(
  _ actual: [[Double]], _ expected: [[Double]], tolerance: Double = 1e-14,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  for (step, (a, e)) in zip(actual, expected).enumerated() {
    #expect(
      Tensor(a).isAlmostEqual(to: Tensor(e), relativeTolerance: tolerance),
      "step \(step + 1): \(a) ≠ \(e)", sourceLocation: sourceLocation)
  }
}

@Suite struct SGDTests {
  @Test("Plain SGD steps p ← p − lr·g")
  func plain() {
    // lr = 0.1: p₁ = [1 − 0.05, −2 + 0.1] = [0.95, −1.9];  p₂ = [0.925, −1.95];
    // p₃ = [0.925 + 0.1, −1.95 − 0.2] = [1.025, −2.15].
    let sgd = SGD(for: [start], learningRate: 0.1)
    expectTrajectory(trajectory(of: sgd), [[0.95, -1.9], [0.925, -1.95], [1.025, -2.15]])
  }

  @Test("SGD with momentum steps along b ← μ·b + g, starting from b = g")
  func momentum() {
    // μ = 0.9, lr = 0.1.  b₁ = g₁ = [0.5, −1]:                  p₁ = [0.95, −1.9]
    // b₂ = 0.9·[0.5, −1] + [0.25, 0.5] = [0.7, −0.4]:             p₂ = [0.88, −1.86]
    // b₃ = 0.9·[0.7, −0.4] + [−1, 2] = [−0.37, 1.64]:             p₃ = [0.917, −2.024]
    let sgd = SGD(for: [start], learningRate: 0.1, momentum: 0.9)
    expectTrajectory(trajectory(of: sgd), [[0.95, -1.9], [0.88, -1.86], [0.917, -2.024]])
  }

  @Test("Nesterov SGD steps along g + μ·b")
  func nesterov() {
    // b as with momentum. d₁ = g₁ + 0.9·b₁ = 1.9·g₁ = [0.95, −1.9]:        p₁ = [0.905, −1.81]
    // d₂ = [0.25, 0.5] + 0.9·[0.7, −0.4] = [0.88, 0.14]:                   p₂ = [0.817, −1.824]
    // d₃ = [−1, 2] + 0.9·[−0.37, 1.64] = [−1.333, 3.476]:                  p₃ = [0.9503, −2.1716]
    let sgd = SGD(for: [start], learningRate: 0.1, momentum: 0.9, nesterov: true)
    expectTrajectory(trajectory(of: sgd), [[0.905, -1.81], [0.817, -1.824], [0.9503, -2.1716]])
  }

  @Test("SGD's weight decay adds λ·p to the gradient")
  func weightDecay() {
    // λ = 0.1, lr = 0.1. d₁ = [0.5 + 0.1, −1 − 0.2] = [0.6, −1.2]:         p₁ = [0.94, −1.88]
    // d₂ = [0.25 + 0.094, 0.5 − 0.188] = [0.344, 0.312]:                    p₂ = [0.9056, −1.9112]
    // d₃ = [−1 + 0.09056, 2 − 0.19112] = [−0.90944, 1.80888]:               p₃ = [0.996544, −2.092088]
    let sgd = SGD(for: [start], learningRate: 0.1, weightDecay: 0.1)
    expectTrajectory(
      trajectory(of: sgd), [[0.94, -1.88], [0.9056, -1.9112], [0.996544, -2.092088]])
  }

  @Test("SGD's weight decay goes into the momentum buffer")
  func momentumWithWeightDecay() {
    // d₁ = [0.6, −1.2] = b₁:                                          p₁ = [0.94, −1.88]
    // d₂ = [0.344, 0.312]; b₂ = 0.9·[0.6, −1.2] + d₂ = [0.884, −0.768]: p₂ = [0.8516, −1.8032]
    // d₃ = [−1 + 0.08516, 2 − 0.18032] = [−0.91484, 1.81968];
    // b₃ = 0.9·[0.884, −0.768] + d₃ = [−0.11924, 1.12848]:             p₃ = [0.863524, −1.916048]
    let sgd = SGD(for: [start], learningRate: 0.1, momentum: 0.9, weightDecay: 0.1)
    expectTrajectory(
      trajectory(of: sgd), [[0.94, -1.88], [0.8516, -1.8032], [0.863524, -1.916048]])
  }

  @Test("Without weight decay an infinite parameter stays infinite, with and without momentum")
  func infiniteParameterWithoutDecay() {
    // PyTorch adds λ·p only when λ ≠ 0; 0·∞ would make the parameter NaN.
    for momentum in [0.0, 0.9] {
      var p = [Tensor<Double>([.infinity, -.infinity, 1])]
      var sgd = SGD(for: p, learningRate: 0.1, momentum: momentum)
      sgd.update(&p, along: [Tensor([1, 1, 1])])
      let expected: [Double] = [.infinity, -.infinity, 0.9]
      #expect(p[0].scalars == expected, "momentum \(momentum)")
    }
  }

  @Test("SGD updates each of several parameters with its own gradient and counts steps")
  func severalParameters() {
    var sgd = SGD<Float>(for: [Tensor(zeros: [2, 2]), Tensor(zeros: [3])], learningRate: 0.5)
    var parameters = [Tensor<Float>(ones: [2, 2]), Tensor<Float>([1, 2, 3])]
    sgd.update(&parameters, along: [Tensor(repeating: 2, shape: [2, 2]), Tensor([2, 0, -2])])
    #expect(parameters[0] == Tensor(zeros: [2, 2]))
    #expect(parameters[1] == Tensor([0, 2, 4]))
    #expect(sgd.step == 1)
  }
}

/// PyTorch's Adam and AdamW as their documentation writes them (torch.optim.Adam, AdamW), for one
/// parameter, in Double:
///
///   AdamW only:  θ ← θ − γλθ
///   Adam only:   g ← g + λθ            (when λ ≠ 0)
///   m ← β₁m + (1 − β₁)g;   v ← β₂v + (1 − β₂)g²
///   m̂ ← m / (1 − β₁ᵗ);     v̂ ← v / (1 − β₂ᵗ)
///   θ ← θ − γ·m̂ / (√v̂ + ε)
private func documentedAdam(
  learningRate lr: Double, weightDecay wd: Double = 0, decoupled: Bool,
  beta1 b1: Double = 0.9, beta2 b2: Double = 0.999, epsilon eps: Double = 1e-8
) -> [[Double]] {
  var theta = start.scalars
  var m = [0.0, 0.0]
  var v = [0.0, 0.0]
  var result: [[Double]] = []
  for (index, gradient) in steps.enumerated() {
    let t = Double(index + 1)
    for j in theta.indices {
      var g = gradient.scalars[j]
      if decoupled { theta[j] -= lr * wd * theta[j] } else { g += wd * theta[j] }
      m[j] = b1 * m[j] + (1 - b1) * g
      v[j] = b2 * v[j] + (1 - b2) * g * g
      let mHat = m[j] / (1 - Double.pow(b1, t))
      let vHat = v[j] / (1 - Double.pow(b2, t))
      theta[j] -= lr * mHat / (vHat.squareRoot() + eps)
    }
    result.append(theta)
  }
  return result
}

@Suite struct AdamTests {
  @Test("Adam's first step is −lr·g/(|g| + ε): the bias corrections undo the zero start")
  func firstStepByHand() {
    // t = 1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g², so p₁ = p₀ − 0.1·g/(|g| + 10⁻⁸):
    // [1 − 0.1·0.5/(0.5 + 10⁻⁸), −2 + 0.1·1/(1 + 10⁻⁸)] = [0.900000002, −1.900000001] to 10⁻¹⁶.
    let adam = Adam(for: [start], learningRate: 0.1)
    let first = trajectory(of: adam)[0]
    #expect(
      Tensor(first).isAlmostEqual(
        to: Tensor([0.900000002, -1.900000001]), relativeTolerance: 1e-15))
  }

  @Test("Adam follows PyTorch's documented update for three steps")
  func matchesDocumentedAlgorithm() {
    // Step 2 by hand: m₂ = 0.9·[0.05, −0.1] + 0.1·[0.25, 0.5] = [0.07, −0.04];
    // v₂ = 0.999·[0.00025, 0.001] + 0.001·[0.0625, 0.25] = [0.00031225, 0.001249];
    // m̂₂ = m₂/0.19, v̂₂ = v₂/0.001999, p₂ = p₁ − 0.1·m̂₂/(√v̂₂ + ε) = [0.80678204…, −1.87336629…].
    let adam = Adam(for: [start], learningRate: 0.1)
    let actual = trajectory(of: adam)
    expectTrajectory(actual, documentedAdam(learningRate: 0.1, decoupled: false), tolerance: 1e-13)
    expectTrajectory(
      [actual[1]], [[0.8067820404774624, -1.873366297370903]], tolerance: 1e-13)
  }

  @Test("Adam's weight decay adds λ·p to the gradient before the moments")
  func l2WeightDecay() {
    let adam = Adam(for: [start], learningRate: 0.1, weightDecay: 0.1)
    expectTrajectory(
      trajectory(of: adam), documentedAdam(learningRate: 0.1, weightDecay: 0.1, decoupled: false),
      tolerance: 1e-13)
  }

  @Test("Adam with other β₁, β₂, ε follows the documented update")
  func otherHyperparameters() {
    let adam = Adam(for: [start], learningRate: 0.05, beta1: 0.5, beta2: 0.9, epsilon: 1e-3)
    expectTrajectory(
      trajectory(of: adam),
      documentedAdam(learningRate: 0.05, decoupled: false, beta1: 0.5, beta2: 0.9, epsilon: 1e-3),
      tolerance: 1e-13)
  }

  @Test("AdamW shrinks p by lr·λ·p before an Adam step on the unchanged gradient")
  func adamW() {
    // Step 1 by hand: p ← [1, −2]·(1 − 0.1·0.1) = [0.99, −1.98], then the Adam step of
    // −0.1·sign(g) (to 10⁻⁸): [0.890000002, −1.880000001].
    let adamW = AdamW(for: [start], learningRate: 0.1, weightDecay: 0.1)
    let actual = trajectory(of: adamW)
    expectTrajectory([actual[0]], [[0.890000002, -1.880000001]], tolerance: 1e-15)
    expectTrajectory(
      actual, documentedAdam(learningRate: 0.1, weightDecay: 0.1, decoupled: true),
      tolerance: 1e-13)
  }

  @Test("AdamW without weight decay is Adam")
  func adamWWithoutDecayIsAdam() {
    let adam = trajectory(of: Adam(for: [start], learningRate: 0.1))
    let adamW = trajectory(of: AdamW(for: [start], learningRate: 0.1, weightDecay: 0))
    #expect(adam == adamW)
  }

  @Test("Adam in Float follows the Double trajectory to Float precision")
  func floatPrecision() {
    var adam = Adam<Float>(for: [Tensor(start)], learningRate: 0.1)
    var parameters = [Tensor<Float>(start)]
    for g in steps { adam.update(&parameters, along: [Tensor<Float>(g)]) }
    let expected = documentedAdam(learningRate: 0.1, decoupled: false)[2]
    #expect(
      Tensor<Double>(parameters[0]).isAlmostEqual(to: Tensor(expected), relativeTolerance: 1e-6))
  }
}

@Suite struct GradientClippingTests {
  @Test("clippedByValue clamps each element to ±limit; NaN stays NaN, ±∞ becomes ±limit")
  func clippingByValue() {
    let gradients: [Tensor<Double>] = [
      Tensor([0.2, -3, 0.7]), Tensor(shape: [2], scalars: [.infinity, -.infinity]),
      Tensor(shape: [1], scalars: [.nan]),
    ]
    let clipped = clippedByValue(gradients, limit: 0.5)
    #expect(clipped[0] == [0.2, -0.5, 0.5])
    #expect(clipped[1] == [0.5, -0.5])
    #expect(clipped[2].scalars[0].isNaN)
  }

  @Test(
    "Clipping scales all gradients by maxNorm/(‖g‖ + 10⁻⁶) when the global norm exceeds maxNorm")
  func clipsToMaxNorm() {
    // ‖([3, 4], [[12]])‖ = √(9 + 16 + 144) = 13; maxNorm 6.5 scales by 6.5/(13 + 10⁻⁶) ≈ ½.
    let gradients = [Tensor<Double>([3, 4]), Tensor(shape: [1, 1], scalars: [12])]
    let (clipped, norm) = clippedByGlobalNorm(gradients, maxNorm: 6.5)
    #expect(norm == 13)
    let factor = 6.5 / (13 + 1e-6)
    #expect(
      clipped[0].isAlmostEqual(to: Tensor([3 * factor, 4 * factor]), relativeTolerance: 1e-15))
    #expect(
      clipped[1].isAlmostEqual(
        to: Tensor(shape: [1, 1], scalars: [12 * factor]), relativeTolerance: 1e-15))
    let newNorm = (clipped[0].squared().sum() + clipped[1].squared().sum()).scalar.squareRoot()
    #expect(newNorm <= 6.5 && newNorm > 6.5 * (1 - 1e-6))
  }

  @Test("Gradients within maxNorm are returned unchanged")
  func leavesSmallGradients() {
    let gradients = [Tensor<Float>([0.3, -0.4])]  // norm 0.5
    let (clipped, norm) = clippedByGlobalNorm(gradients, maxNorm: 1)
    #expect(clipped == gradients)
    #expect(Swift.abs(norm - 0.5) < 1e-7)
  }
}

@Suite struct LearningRateScheduleTests {
  @Test("Step decay multiplies the rate by the factor every stepSize steps")
  func stepDecay() {
    let schedule = LearningRateSchedule<Double>.stepDecay(initial: 0.1, factor: 0.5, every: 10)
    // 0.1 · 0.5^⌊step/10⌋
    #expect(schedule(0) == 0.1)
    #expect(schedule(9) == 0.1)
    #expect(schedule(10) == 0.05)
    #expect(schedule(25) == 0.025)
  }

  @Test("Cosine annealing falls from initial to minimum along a half cosine, then stays")
  func cosine() {
    let schedule = LearningRateSchedule<Double>.cosineAnnealing(initial: 1, totalSteps: 100)
    #expect(schedule(0) == 1)
    // (1 + cos(π/4))/2 = 0.8535533905932737
    #expect(Swift.abs(schedule(25) - 0.8535533905932737) < 1e-15)
    #expect(Swift.abs(schedule(50) - 0.5) < 1e-15)
    #expect(schedule(100) == 0)
    #expect(schedule(150) == 0)
    let floored = LearningRateSchedule<Float>.cosineAnnealing(
      initial: 1, minimum: 0.1, totalSteps: 100)
    // 0.1 + 0.9 · (1 + cos(π/2))/2 = 0.55
    #expect(Swift.abs(floored(50) - 0.55) < 1e-6)
    #expect(floored(100) == 0.1)
  }

  @Test("Warmup rises linearly from 0 to initial, then the cosine starts")
  func cosineWithWarmup() {
    let schedule = LearningRateSchedule<Double>.cosineAnnealing(
      initial: 1, totalSteps: 110, warmupSteps: 10)
    #expect(schedule(0) == 0)
    #expect(schedule(5) == 0.5)
    #expect(schedule(10) == 1)
    // Halfway through the 100 cosine steps: (1 + cos(π/2))/2 = 0.5
    #expect(Swift.abs(schedule(60) - 0.5) < 1e-15)
    #expect(schedule(110) == 0)
  }

  // The expected rates below are PyTorch's schedulers (torch 2.15) stepped once per step.

  @Test("Exponential decay multiplies the rate by the factor at every step, as ExponentialLR")
  func exponentialDecay() {
    let schedule = LearningRateSchedule<Double>.exponentialDecay(initial: 0.1, factor: 0.9)
    let torch = [0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.06561]
    for (step, rate) in torch.enumerated() { #expect(Swift.abs(schedule(step) - rate) < 1e-16) }
  }

  @Test("Multi-step decay multiplies the rate by the factor at each milestone, as MultiStepLR")
  func multiStepDecay() {
    let schedule = LearningRateSchedule<Double>.multiStepDecay(
      initial: 0.1, factor: 0.1, milestones: [2, 4])
    let torch = [0.1, 0.1, 0.01, 0.01, 0.001, 0.001, 0.001]
    for (step, rate) in torch.enumerated() {
      #expect(Swift.abs(schedule(step) - rate) < 1e-17, "step \(step)")
    }
  }

  @Test(
    "One cycle rises to the maximum and falls to maximum/(25·10⁴) along half cosines, as OneCycleLR"
  )
  func oneCycle() {
    let defaults = LearningRateSchedule<Double>.oneCycle(maximum: 0.01, totalSteps: 10)
    let torchDefaults = [
      0.0003999999999999993, 0.0052, 0.01, 0.009504846320134737, 0.008117456539497631,
      0.0061126202193628925, 0.003887419780637108, 0.00188258346050237, 0.0004951936798652628,
      4e-08,
    ]
    // Warmup ends between steps (0.4·17 − 1 = 5.8), and other divisors.
    let options = LearningRateSchedule<Double>.oneCycle(
      maximum: 0.5, totalSteps: 17, warmupFraction: 0.4, startDivisor: 10, finalDivisor: 100)
    let torchOptions = [
      0.04999999999999999, 0.0822071353622924, 0.16960810084254718, 0.2871812544317189,
      0.4012670897065359, 0.4792044694259653, 0.4995263063520768, 0.48313493929373785,
      0.4448253734877862, 0.3882031519968864, 0.31859733177050276, 0.2425589341255965,
      0.16724438882995504, 0.09974199956428074, 0.04640482113903365, 0.012252735393317667,
      0.0005,
    ]
    for (schedule, torch) in [(defaults, torchDefaults), (options, torchOptions)] {
      for (step, rate) in torch.enumerated() {
        #expect(Swift.abs(schedule(step) - rate) <= 1e-15 * rate, "step \(step)")
      }
      // After the cycle the rate stays at its last value (PyTorch stops with an error).
      #expect(schedule(torch.count + 5) == schedule(torch.count - 1))
    }
  }

  @Test func oneCycleWithoutWarmupStep() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = LearningRateSchedule<Float>.oneCycle(maximum: 0.1, totalSteps: 5, warmupFraction: 0.2)
    }
    let message = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
    #expect(message.contains("LearningRateSchedule.oneCycle: needs totalSteps ≥ 2"), "\(message)")
    #expect(message.contains("OptimizerTests.swift"), "\(message)")
  }

  @Test func multiStepDecayWithUnorderedMilestones() async {
    await #expect(processExitsWith: .failure) {
      _ = LearningRateSchedule<Float>.multiStepDecay(initial: 1, factor: 0.5, milestones: [5, 3])
    }
  }

  @Test("A constant schedule gives the same rate at every step")
  func constant() {
    let schedule = LearningRateSchedule<Float>.constant(0.01)
    #expect(schedule(0) == 0.01 && schedule(1_000_000) == 0.01)
  }
}

@Suite struct OptimizerStateTests {
  /// Two parameters of different shapes and three steps of gradients for them.
  static let parameters = [
    Tensor<Double>(shape: [2, 2], scalars: [1, -2, 0.5, 3]), Tensor([0.1, -0.1, 2]),
  ]
  static let gradients = (1...3).map { step in
    [
      Tensor<Double>(shape: [2, 2], scalars: [0.5, -1, 2, 0.25].map { $0 * Double(step) }),
      Tensor<Double>([1, -0.5, 0.3].map { $0 / Double(step) }),
    ]
  }

  /// Two steps with `optimizer`, a restore into `fresh` from its state, then a third step with
  /// both: the parameters must agree exactly.
  static func expectResumesIdentically<O: Optimizer<Double>>(_ optimizer: O, _ fresh: O) throws {
    var original = optimizer
    var parameters = Self.parameters
    original.update(&parameters, along: gradients[0])
    original.update(&parameters, along: gradients[1])
    var resumed = fresh
    try resumed.restore(state: original.state)
    #expect(resumed.state == original.state)
    var resumedParameters = parameters
    original.update(&parameters, along: gradients[2])
    resumed.update(&resumedParameters, along: gradients[2])
    #expect(resumedParameters == parameters)
    #expect(resumed.state == original.state)
  }

  @Test("Adam's state names the step and moments, and restoring it resumes identically")
  func adamRoundTrip() throws {
    let adam = Adam(for: Self.parameters, learningRate: 0.01, weightDecay: 0.01)
    #expect(Set(adam.state.keys) == ["step", "m.0", "m.1", "v.0", "v.1"])
    #expect(adam.state["step"] == Tensor(0))
    #expect(adam.state["v.1"]?.shape == [3])
    try Self.expectResumesIdentically(
      adam, Adam(for: Self.parameters, learningRate: 0.01, weightDecay: 0.01))
  }

  @Test("AdamW's state round trip resumes identically, step count included")
  func adamWRoundTrip() throws {
    let fresh = AdamW(for: Self.parameters, learningRate: 0.01)
    try Self.expectResumesIdentically(fresh, fresh)
    var restored = fresh
    var trained = fresh
    var parameters = Self.parameters
    trained.update(&parameters, along: Self.gradients[0])
    try restored.restore(state: trained.state)
    #expect(restored.step == 1 && restored.state["step"] == Tensor(1))
  }

  @Test("SGD's momentum buffers round-trip and resume identically")
  func sgdRoundTrip() throws {
    let sgd = SGD(for: Self.parameters, learningRate: 0.1, momentum: 0.9, nesterov: true)
    #expect(Set(sgd.state.keys) == ["step", "momentum.0", "momentum.1"])
    try Self.expectResumesIdentically(sgd, sgd)
    #expect(Set(SGD(for: Self.parameters, learningRate: 0.1).state.keys) == ["step"])
  }

  /// `optimizer` after one step, its state, and the parameters after a second step from it.
  static func trained(_ optimizer: Adam<Double>) -> (Adam<Double>, [Tensor<Double>]) {
    var optimizer = optimizer
    var parameters = Self.parameters
    optimizer.update(&parameters, along: gradients[0])
    var next = parameters
    var copy = optimizer
    copy.update(&next, along: gradients[1])
    return (optimizer, next)
  }

  @Test("Restoring a state that lacks a tensor throws missingTensor and changes nothing")
  func missingTensor() {
    let (adam, expectedNext) = Self.trained(Adam(for: Self.parameters))
    var state = adam.state
    state["v.1"] = nil
    state["step"] = Tensor(7)  // would change the step if anything were applied
    var target = adam
    #expect(throws: CheckpointError.missingTensor(name: "v.1")) {
      try target.restore(state: state)
    }
    #expect(target.state == adam.state)
    // And the next step is the one the untouched optimizer takes.
    var parameters = Self.parameters
    var untouched = Adam<Double>(for: Self.parameters)
    untouched.update(&parameters, along: Self.gradients[0])
    target.update(&parameters, along: Self.gradients[1])
    #expect(parameters == expectedNext)
  }

  @Test("Restoring a tensor of the wrong shape throws shapeMismatch and changes nothing")
  func wrongShape() {
    let (adam, _) = Self.trained(Adam(for: Self.parameters))
    var state = adam.state
    state["m.0"] = Tensor(zeros: [4])
    var target = adam
    #expect(throws: CheckpointError.shapeMismatch(name: "m.0", expected: [2, 2], found: [4])) {
      try target.restore(state: state)
    }
    #expect(target.state == adam.state)
  }

  @Test("Restoring a fractional, negative or non-scalar step throws and changes nothing")
  func invalidStep() {
    var sgd = SGD(for: Self.parameters, learningRate: 0.1, momentum: 0.9)
    var parameters = Self.parameters
    sgd.update(&parameters, along: Self.gradients[0])
    let before = sgd.state
    for bad in [Tensor<Double>(1.5), Tensor(-1)] {
      var state = before
      state["step"] = bad
      let error = #expect(throws: CheckpointError.self) { try sgd.restore(state: state) }
      guard case .invalidValue(name: "step", _) = error else {
        Issue.record("expected invalidValue for 'step', got \(String(describing: error))")
        continue
      }
      #expect(sgd.state == before)
    }
    var state = before
    state["step"] = Tensor([1])
    #expect(throws: CheckpointError.shapeMismatch(name: "step", expected: [], found: [1])) {
      try sgd.restore(state: state)
    }
    state = before
    state["momentum.1"] = nil
    #expect(throws: CheckpointError.missingTensor(name: "momentum.1")) {
      try sgd.restore(state: state)
    }
    #expect(sgd.state == before)
  }
}

@Suite struct OptimizerPreconditionTests {
  @Test func updateWithWrongNumberOfGradients() async {
    await #expect(processExitsWith: .failure) {
      var adam = Adam<Float>(for: [Tensor(zeros: [2]), Tensor(zeros: [3])])
      var parameters = [Tensor<Float>(zeros: [2]), Tensor(zeros: [3])]
      adam.update(&parameters, along: [Tensor(zeros: [2])])
    }
  }

  @Test func updateWithGradientOfWrongShape() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      var sgd = SGD<Float>(for: [Tensor(zeros: [2, 3])], learningRate: 0.1)
      var parameters = [Tensor<Float>(zeros: [2, 3])]
      sgd.update(&parameters, along: [Tensor(zeros: [3, 2])])
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("SGD.update: parameter 0 has shape [2, 3] and its gradient [3, 2]"))
  }

  @Test func updateOfRecordedParameters() async {
    await #expect(processExitsWith: .failure) {
      var sgd = SGD<Double>(for: [Tensor(zeros: [2])], learningRate: 0.1)
      _ = gradient(at: Tensor<Double>(zeros: [2])) { p in
        var parameters = [p]
        sgd.update(&parameters, along: [Tensor(ones: [2])])
        return parameters[0].sum()
      }
    }
  }

  @Test func nesterovWithoutMomentum() async {
    await #expect(processExitsWith: .failure) {
      _ = SGD<Float>(for: [], learningRate: 0.1, nesterov: true)
    }
  }

  @Test func clippingByNonPositiveValue() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = clippedByValue([Tensor<Float>(ones: [2])], limit: 0)
    }
    let message = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
    #expect(message.contains("clippedByValue: limit must be > 0"), "\(message)")
  }

  @Test func clippingWithNonPositiveMaxNorm() async {
    await #expect(processExitsWith: .failure) {
      _ = clippedByGlobalNorm([Tensor<Float>([1])], maxNorm: 0)
    }
  }

  @Test func cosineScheduleWithWarmupAsLongAsTraining() async {
    await #expect(processExitsWith: .failure) {
      _ = LearningRateSchedule<Float>.cosineAnnealing(initial: 1, totalSteps: 10, warmupSteps: 10)
    }
  }
}

@Suite struct VectorizedUpdateTests {
  /// Above the split across threads, and not a multiple of any vector width.
  let count = (1 << 16) + 4_099

  func parameterAndGradients(seed: UInt64) -> (Tensor<Float>, [Tensor<Float>]) {
    var rng = SeededGenerator(seed: seed)
    let p = Tensor<Float>(randomNormal: [count], using: &rng)
    return (p, (0..<3).map { _ in Tensor<Float>(randomNormal: [count], using: &rng) })
  }

  @Test("Adam and AdamW on a large parameter give a plain loop's bits, element by element")
  func adamMatchesPlainLoop() {
    let (start, gradients) = parameterAndGradients(seed: 21)
    for (decoupled, decay) in [(false, Float(0)), (false, 0.01), (true, 0.01)] {
      var parameters = [start]
      var adam = Adam<Float>(
        for: parameters, learningRate: 1e-3, weightDecay: decoupled ? 0 : decay)
      var adamW = AdamW<Float>(for: parameters, learningRate: 1e-3, weightDecay: decay)
      var (p, m, v) = (
        start.scalars, [Float](repeating: 0, count: count), [Float](repeating: 0, count: count)
      )
      for (index, gradient) in gradients.enumerated() {
        if decoupled {
          adamW.update(&parameters, along: [gradient])
        } else {
          adam.update(&parameters, along: [gradient])
        }
        // AdamMoments.update's operations, in its order.
        let t = Double(index + 1)
        // In Double from the Float hyperparameters, as the optimizer computes them.
        let (rate, beta1, beta2) = (Double(Float(1e-3)), Double(Float(0.9)), Double(Float(0.999)))
        let stepSize = Float(rate / (1 - Double.pow(beta1, t)))
        let correction2Root = Float((1 - Double.pow(beta2, t)).squareRoot())
        let shrink: Float = decoupled ? 1 - 1e-3 * decay : 1
        let l2: Float = decoupled ? 0 : decay
        let g = gradient.scalars
        for j in 0..<count {
          if shrink != 1 { p[j] *= shrink }
          let gj = l2 == 0 ? g[j] : g[j] + l2 * p[j]
          m[j] = 0.9 * m[j] + (1 - 0.9) * gj
          v[j] = 0.999 * v[j] + (1 - 0.999) * gj * gj
          p[j] -= stepSize * m[j] / (v[j].squareRoot() / correction2Root + 1e-8)
        }
      }
      #expect(parameters[0].scalars == p, "decoupled \(decoupled), decay \(decay)")
    }
  }

  @Test(
    "RMSprop on a large parameter gives a plain loop's bits, element by element",
    arguments: [(Float(0), Float(0), false), (0.9, 0, false), (0, 1e-4, true), (0.9, 1e-4, true)])
  func rmspropMatchesPlainLoop(momentum: Float, decay: Float, centered: Bool) {
    let (start, gradients) = parameterAndGradients(seed: 23)
    var parameters = [start]
    var rmsprop = RMSprop<Float>(
      for: parameters, learningRate: 0.01, alpha: 0.9, epsilon: 1e-8, weightDecay: decay,
      momentum: momentum, centered: centered)
    let zeros = [Float](repeating: 0, count: count)
    var (p, v, b, gBar) = (start.scalars, zeros, zeros, zeros)
    for gradient in gradients {
      rmsprop.update(&parameters, along: [gradient])
      // torch.optim.RMSprop's operations, in its order.
      let g = gradient.scalars
      for j in 0..<count {
        let d = decay == 0 ? g[j] : g[j] + decay * p[j]
        v[j] = 0.9 * v[j] + (1 - 0.9) * d * d
        var meanSquare = v[j]
        if centered {
          gBar[j] = 0.9 * gBar[j] + (1 - 0.9) * d
          meanSquare -= gBar[j] * gBar[j]
        }
        let scaled = d / (meanSquare.squareRoot() + 1e-8)
        if momentum == 0 {
          p[j] -= 0.01 * scaled
        } else {
          b[j] = momentum * b[j] + scaled
          p[j] -= 0.01 * b[j]
        }
      }
    }
    #expect(parameters[0].scalars == p)
  }

  @Test("SGD with and without momentum on a large parameter gives a plain loop's bits")
  func sgdMatchesPlainLoop() {
    let (start, gradients) = parameterAndGradients(seed: 22)
    for (momentum, nesterov) in [(Float(0), false), (0.9, false), (0.9, true)] {
      var parameters = [start]
      var sgd = SGD<Float>(
        for: parameters, learningRate: 0.01, momentum: momentum, nesterov: nesterov,
        weightDecay: 1e-4)
      var (p, b) = (start.scalars, [Float](repeating: 0, count: count))
      for gradient in gradients {
        sgd.update(&parameters, along: [gradient])
        let g = gradient.scalars
        for j in 0..<count {
          let d = g[j] + 1e-4 * p[j]
          if momentum == 0 {
            p[j] -= 0.01 * d
          } else {
            b[j] = momentum * b[j] + d
            p[j] -= 0.01 * (nesterov ? d + momentum * b[j] : b[j])
          }
        }
      }
      #expect(parameters[0].scalars == p, "momentum \(momentum), Nesterov \(nesterov)")
    }
  }
}
