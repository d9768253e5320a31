import AutodiffNN
import Testing

@Suite struct PerExampleGradientTests {
  static let labels = [2, 0, 1, 1, 2]

  /// Each example's cross-entropy, one per row of the logits.
  static func losses(_ logits: Tensor<Double>, _ rows: Range<Int>) -> Tensor<Double> {
    let onehot = oneHot(Array(labels[rows]), classes: 3, as: Double.self)
    return -(logSoftmax(logits, alongAxis: 1) * onehot).sum(squeezingAxes: [1])
  }

  /// The reference: for each example, the gradient of its loss with the model on its row alone.
  static func singleExampleLoop(_ model: some Layer<Double>, _ x: Tensor<Double>) -> [[Tensor<
    Double
  >]] {
    (0..<x.shape[0]).map { i in
      gradient(at: model.parameters) { p in
        losses(model.replacingParameters(with: p)(x[i..<(i + 1)]), i..<(i + 1)).sum()
      }
    }
  }

  static func expectMatchesLoop(
    _ gradients: [Tensor<Double>], _ model: some Layer<Double>, _ x: Tensor<Double>,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    let reference = singleExampleLoop(model, x)
    #expect(
      gradients.map(\.shape) == model.parameters.map { [x.shape[0]] + $0.shape },
      sourceLocation: sourceLocation)
    for (i, example) in reference.enumerated() {
      for (k, g) in example.enumerated() {
        let row = gradients[k][i..<(i + 1)].reshaped(to: g.shape)
        #expect(
          row.isAlmostEqual(to: g, relativeTolerance: 1e-12, absoluteTolerance: 1e-15),
          "example \(i), \(model.parameterNames[k])", sourceLocation: sourceLocation)
      }
    }
  }

  @Test(
    "Outer products give each example's gradient of a Dense network, as a loop over single examples does"
  )
  func outerProductsMatchLoop() {
    var rng = SeededGenerator(seed: 11)
    var model = Sequential<Double>(
      Dense(inputSize: 4, outputSize: 6, activation: tanh, using: &rng), GELU(),
      Sequential(
        Dense(inputSize: 6, outputSize: 5, using: &rng), LeakyReLU(), Dropout(rate: 0.5, seed: 1)),
      Dense(inputSize: 5, outputSize: 3, using: &rng))
    model.mode = .inference
    let x = randomMatrix(5, 4, seed: 12)
    let gradients = perExampleGradients(
      of: model, inputs: x, method: .outerProducts, loss: Self.losses)
    Self.expectMatchesLoop(gradients, model, x)
    let automatic = perExampleGradients(of: model, inputs: x, loss: Self.losses)
    #expect(automatic == gradients)
  }

  @Test("An empty batch gives empty gradients of shape [0] + the parameter's, by every method")
  func emptyBatch() {
    var generator = SeededGenerator(seed: 3)
    let model = Sequential<Double>(Dense(inputSize: 3, outputSize: 2, using: &generator))
    for method in [PerExampleGradientMethod.automatic, .outerProducts, .loop] {
      let gradients = perExampleGradients(
        of: model, inputs: Tensor<Double>(zeros: [0, 3]), method: method
      ) { outputs, _ in outputs.sum(squeezingAxes: [1]) }
      #expect(gradients.map(\.shape) == [[0, 3, 2], [0, 2]], "\(method)")
    }
  }

  @Test("The loop handles any model (here with LayerNorm) and agrees with single examples")
  func loopForAnyModel() {
    var rng = SeededGenerator(seed: 13)
    var model = Sequential<Double>(
      Dense(inputSize: 4, outputSize: 6, using: &rng), LayerNorm(featureCount: 6), SiLU(),
      Dense(inputSize: 6, outputSize: 3, using: &rng))
    model[parameter: "1.weight"] = Tensor([1, 2, 0.5, -1, 0.7, 1.2])
    let x = randomMatrix(5, 4, seed: 14)
    Self.expectMatchesLoop(perExampleGradients(of: model, inputs: x, loss: Self.losses), model, x)
  }

  @Test("The mean of the per-example gradients is the batch-mean loss's gradient")
  func meanIsBatchGradient() {
    var rng = SeededGenerator(seed: 15)
    let model = Sequential<Double>(
      Dense(inputSize: 4, outputSize: 8, activation: relu, using: &rng),
      Dense(inputSize: 8, outputSize: 3, using: &rng))
    let x = randomMatrix(5, 4, seed: 16)
    let perExample = perExampleGradients(of: model, inputs: x, loss: Self.losses)
    let batch = gradient(at: model.parameters) { p in
      softmaxCrossEntropy(logits: model.replacingParameters(with: p)(x), labels: Self.labels)
    }
    for (rows, whole) in zip(perExample, batch) {
      #expect(
        rows.mean(squeezingAxes: [0]).isAlmostEqual(
          to: whole, relativeTolerance: 1e-12, absoluteTolerance: 1e-15))
    }
  }

  @Test("The documentation's DP-SGD clipping bounds each example's contribution by C")
  func perExampleClipping() {
    var rng = SeededGenerator(seed: 17)
    let model = Sequential<Float>(
      Dense(inputSize: 4, outputSize: 8, activation: relu, using: &rng),
      Dense(inputSize: 8, outputSize: 3, using: &rng))
    let x = Tensor<Float>(randomNormal: [5, 4], standardDeviation: 3, using: &rng)
    let gradients = perExampleGradients(of: model, inputs: x) { logits, rows in
      -(logSoftmax(logits, alongAxis: 1) * oneHot(Array(Self.labels[rows]), classes: 3))
        .sum(squeezingAxes: [1])
    }
    let bound: Float = 0.1
    let batch = x.shape[0]
    let norms = (0..<batch).map { i in gradients.map { $0[i..<(i + 1)] }.globalNorm() as Float }
    let factors = Tensor(shape: [batch], scalars: norms.map { Swift.min(1, bound / ($0 + 1e-6)) })
    let clipped = gradients.map { g in
      (g * factors.reshaped(to: [batch] + Array(repeating: 1, count: g.rank - 1)))
        .mean(squeezingAxes: [0])
    }
    #expect(norms.contains { $0 > bound })
    // A mean of vectors of norm at most bound has norm at most bound.
    #expect(clipped.globalNorm() <= bound * 1.0001)
    #expect(clipped.map(\.shape) == model.parameters.map(\.shape))
  }

  @Test func outerProductsOnAnUnsupportedModel() async {
    await #expect(processExitsWith: .failure) {
      let model = Sequential<Double>(LayerNorm(featureCount: 2))
      _ = perExampleGradients(of: model, inputs: Tensor(zeros: [2, 2]), method: .outerProducts) {
        y, _ in y.sum(squeezingAxes: [1])
      }
    }
  }

  @Test func lossOfWrongShape() async {
    await #expect(processExitsWith: .failure) {
      var rng = SeededGenerator(seed: 1)
      let model = Dense<Double>(inputSize: 2, outputSize: 2, using: &rng)
      _ = perExampleGradients(of: model, inputs: Tensor(zeros: [3, 2])) { y, _ in y.sum() }
    }
  }
}
