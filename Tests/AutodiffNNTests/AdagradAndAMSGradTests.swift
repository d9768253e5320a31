import AutodiffNN
import Testing

/// One parameter and four steps of gradients, the last one small, so that AMSGrad's running
/// maximum of the second moment differs from the second moment itself.
private let start = [0.5, -1.5, 2.0, 0.0]
private let gradients = [
  [0.3, -0.2, 1.5, 0.0], [-0.1, 0.4, 1.0, 2.0], [0.2, 0.2, -0.5, -1.0], [0.01, -0.01, 0.02, 0.0],
]

/// The parameter after the four steps of `optimizer`, and the optimizer.
private func run<O: Optimizer<Double>>(_ optimizer: O) -> ([Double], O) {
  var optimizer = optimizer
  var parameters = [Tensor(start)]
  for g in gradients { optimizer.update(&parameters, along: [Tensor(g)]) }
  return (parameters[0].scalars, optimizer)
}

private func expectClose(
  _ actual: [Double], _ expected: [Double],
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  #expect(
    Tensor(actual).isAlmostEqual(to: Tensor(expected), relativeTolerance: 1e-14),
    "\(actual) ≠ \(expected)", sourceLocation: sourceLocation)
}

@Suite struct AMSGradTests {
  // The expected values are torch.optim.Adam and AdamW (torch 2.15, float64) over the same four
  // steps: parameters and `max_exp_avg_sq`.

  @Test("Adam with AMSGrad follows PyTorch's amsgrad=True, the running maximum included")
  func adam() {
    let (p, adam) = run(Adam(for: [Tensor(start)], learningRate: 0.1, amsgrad: true))
    expectClose(
      p, [0.24873884999066048, -1.529859394224022, 1.7019688425341992, -0.11599718065497329])
    #expect(adam.amsgrad && adam.step == 4)
    expectClose(
      adam.state["vMax.0"]!.scalars,
      [0.00013981009000000013, 0.00023976004000000027, 0.003494502250000003, 0.004996000000000005])
    // The maximum is above the last second moment, which is what makes the step differ.
    #expect(adam.state["vMax.0"]!.scalars[3] > adam.state["v.0"]!.scalars[3])
    let (plain, _) = run(Adam(for: [Tensor(start)], learningRate: 0.1))
    #expect(plain != p)
  }

  @Test("Adam's L2 decay and AdamW's decoupled decay with AMSGrad follow PyTorch")
  func withWeightDecay() {
    let trajectories: [([Double], [Double])] = [
      (
        run(Adam(for: [Tensor(start)], learningRate: 0.1, weightDecay: 0.1, amsgrad: true)).0,
        [0.21481629162982707, -1.3748822514391468, 1.6794156205770665, -0.11529703371175146]
      ),
      (
        run(AdamW(for: [Tensor(start)], learningRate: 0.1, weightDecay: 0.1, amsgrad: true)).0,
        [0.23340647627774103, -1.4724757222818945, 1.6286138551257925, -0.11428770801255242]
      ),
    ]
    for (p, torch) in trajectories { expectClose(p, torch) }
  }

  @Test("A NaN second moment stays NaN in the maximum, as torch.maximum keeps it")
  func nanPropagates() {
    var parameters = [Tensor<Double>([1, 2])]
    var adam = Adam(for: parameters, amsgrad: true)
    adam.update(&parameters, along: [Tensor([.nan, 1])])
    adam.update(&parameters, along: [Tensor([1, 1])])
    #expect(adam.state["vMax.0"]!.scalars[0].isNaN && parameters[0].scalars[0].isNaN)
    #expect(!parameters[0].scalars[1].isNaN)
  }

  @Test("Float AMSGrad follows the Double trajectory to Float precision, on a split parameter")
  func float() {
    // 70,000 elements: the update runs in ranges on several threads when it has them.
    let count = 70_000
    let p0: [Double] = (0..<count).map { Double($0 % 97) / 50 - 1 }
    func gradient(_ step: Int) -> [Double] {
      (0..<count).map { (i: Int) -> Double in Double((i * 7 + step * 13) % 31) / 10 - 1.5 }
    }
    let g: [[Double]] = (0..<4).map(gradient)
    var (pd, pf) = ([Tensor(p0)], [Tensor<Float>(Tensor(p0))])
    var (ad, af) = (
      Adam(for: pd, learningRate: 0.01, amsgrad: true),
      Adam(for: pf, learningRate: 0.01, amsgrad: true)
    )
    for step in 0..<4 {
      ad.update(&pd, along: [Tensor(g[step])])
      af.update(&pf, along: [Tensor<Float>(Tensor(g[step]))])
    }
    #expect(
      Tensor<Double>(pf[0]).isAlmostEqual(
        to: pd[0], relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
  }

  @Test("AMSGrad's state names the maxima, and restoring it resumes identically")
  func stateRoundTrip() throws {
    let make = { AdamW(for: OptimizerStateTests.parameters, amsgrad: true) }
    #expect(Set(make().state.keys) == ["step", "m.0", "m.1", "v.0", "v.1", "vMax.0", "vMax.1"])
    try OptimizerStateTests.expectResumesIdentically(make(), make())
    // A state saved without AMSGrad lacks the maxima: restoring it throws and changes nothing.
    var (resumed, parameters) = (make(), OptimizerStateTests.parameters)
    resumed.update(&parameters, along: OptimizerStateTests.gradients[0])
    #expect(throws: CheckpointError.missingTensor(name: "vMax.0")) {
      try resumed.restore(state: Adam(for: parameters).state)
    }
    #expect(resumed.step == 1)
  }
}

@Suite struct AdagradTests {
  // The expected values are torch.optim.Adagrad (torch 2.15, float64) over the same four steps:
  // parameters and `sum`.

  @Test("Adagrad follows PyTorch's torch.optim.Adagrad with its defaults")
  func defaults() {
    let (p, adagrad) = run(Adagrad(for: [Tensor(start)], learningRate: 0.1))
    expectClose(
      p, [0.3754988698318054, -1.5282267318419305, 1.87018712069249, -0.05527864044700421])
    expectClose(adagrad.state["sum.0"]!.scalars, [0.1401, 0.2401, 3.5004, 5.0])
    #expect(adagrad.step == 4)
  }

  @Test("Adagrad's rate decay, weight decay, initial accumulator and ε follow PyTorch")
  func everyOption() {
    let (p, adagrad) = run(
      Adagrad(
        for: [Tensor(start)], learningRate: 0.1, learningRateDecay: 0.5, epsilon: 1e-6,
        weightDecay: 0.1, initialAccumulatorValue: 0.2))
    expectClose(
      p, [0.42186690783987163, -1.4603110253223788, 1.8693664167197381, -0.042943163682252934])
    expectClose(
      adagrad.state["sum.0"]!.scalars,
      [0.3881898714485094, 0.415624107964542, 4.648090513693832, 5.213072828562377])
  }

  @Test("Adagrad's first step is −lr·g/(|g| + ε), and a zero gradient leaves p as it is")
  func firstStep() {
    var parameters = [Tensor<Double>([1, 3])]
    var adagrad = Adagrad(for: parameters, learningRate: 0.5)
    adagrad.update(&parameters, along: [Tensor([-2, 0])])
    #expect(parameters[0].scalars == [1 + 0.5 * 2 / (2 + 1e-10), 3])
  }

  @Test("Adagrad's state round-trips and resumes identically; a missing sum throws")
  func stateRoundTrip() throws {
    let make = { Adagrad(for: OptimizerStateTests.parameters, weightDecay: 0.01) }
    #expect(Set(make().state.keys) == ["step", "sum.0", "sum.1"])
    try OptimizerStateTests.expectResumesIdentically(make(), make())
    var (resumed, parameters) = (make(), OptimizerStateTests.parameters)
    resumed.update(&parameters, along: OptimizerStateTests.gradients[0])
    var state = make().state
    state["sum.1"] = nil
    #expect(throws: CheckpointError.missingTensor(name: "sum.1")) {
      try resumed.restore(state: state)
    }
    #expect(resumed.step == 1)
  }

  @Test("A Dense network trained with Adagrad lowers its loss")
  func trains() {
    var rng = SeededGenerator(seed: 3)
    var model = Sequential<Float>(
      Dense(inputSize: 4, outputSize: 8, activation: .tanh, using: &rng),
      Dense(inputSize: 8, outputSize: 1, using: &rng))
    let x = Tensor<Float>(randomNormal: [32, 4], using: &rng)
    let y = x.sum(alongAxes: [1]).squared() / Tensor(4)
    var adagrad = Adagrad(for: model.parameters, learningRate: 0.05)
    func loss() -> Float { meanSquaredError(predictions: model(x), targets: y).scalar }
    let before = loss()
    for _ in 0..<200 {
      let g = gradient(at: model.parameters) { p in
        meanSquaredError(predictions: model.replacingParameters(with: p)(x), targets: y)
      }
      adagrad.update(&model.parameters, along: g)
    }
    #expect(loss() < before / 4, "\(before) → \(loss())")
  }

  @Test func negativeHyperparameter() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Adagrad<Float>(for: [], learningRateDecay: -1)
    }
    let message = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
    #expect(message.contains("Adagrad: learningRate 0.01, learningRateDecay -1.0"), "\(message)")
    #expect(message.contains("AdagradAndAMSGradTests.swift"), "\(message)")
  }
}
