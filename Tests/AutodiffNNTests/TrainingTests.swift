import AutodiffNN
import Testing

@Suite struct TrainingTests {
  @Test("One sigmoid neuron with squared error reproduces the seed example's loss and gradients")
  func seedNeuron() {
    // x = (2, 3), w = (0.4, −0.2), b = 0, target 1: z = 0.8 − 0.6 = 0.2, y = σ(0.2), loss (y − 1)²;
    // ∂loss/∂wᵢ = 2(y − 1)·y(1 − y)·xᵢ. Figures from the seed tutorial: loss 0.2026494299756622,
    // dw1 −0.4456941845464537, dw2 −0.6685412768196806 (and ∂loss/∂b = dw1/2).
    var model = Sequential<Double>(
      Dense(weight: Tensor(zeros: [2, 1]), bias: Tensor(zeros: [1])), Sigmoid())
    model.parameters = [Tensor(shape: [2, 1], scalars: [0.4, -0.2]), Tensor([0])]
    let x = Tensor<Double>(shape: [1, 2], scalars: [2, 3])
    let target = Tensor<Double>(shape: [1, 1], scalars: [1])
    let (loss, gradients) = valueWithGradient(at: model.parameters) { p in
      var m = model
      m.parameters = p
      return meanSquaredError(predictions: m(x), targets: target)
    }
    #expect(Swift.abs(loss.scalar - 0.2026494299756622) < 1e-15)
    #expect(
      gradients[0].isAlmostEqual(
        to: Tensor(shape: [2, 1], scalars: [-0.4456941845464537, -0.6685412768196806]),
        relativeTolerance: 1e-14))
    #expect(
      gradients[1].isAlmostEqual(to: Tensor([-0.22284709227322685]), relativeTolerance: 1e-14))
  }

  @Test("A 2-8-1 tanh/sigmoid network learns XOR to a squared error below 0.01")
  func xor() {
    var rng = SeededGenerator(seed: 42)
    var model = Sequential<Double>(
      Dense(
        inputSize: 2, outputSize: 8, activation: tanh, initialization: .glorotUniform,
        using: &rng),
      Dense(
        inputSize: 8, outputSize: 1, activation: sigmoid, initialization: .glorotUniform,
        using: &rng))
    let x = Tensor<Double>(shape: [4, 2], scalars: [0, 0, 0, 1, 1, 0, 1, 1])
    let y = Tensor<Double>(shape: [4, 1], scalars: [0, 1, 1, 0])
    var optimizer = Adam(for: model.parameters, learningRate: 0.05)
    var loss = Tensor<Double>(1)
    for _ in 0..<300 {
      let gradients: [Tensor<Double>]
      (loss, gradients) = valueWithGradient(at: model.parameters) { p in
        var m = model
        m.parameters = p
        return meanSquaredError(predictions: m(x), targets: y)
      }
      optimizer.update(&model.parameters, along: gradients)
    }
    #expect(loss.scalar < 0.01)
    let predictions = model(x).scalars.map { $0 > 0.5 ? 1.0 : 0.0 }
    #expect(predictions == [0, 1, 1, 0])
  }

  /// Three Gaussian blobs in the plane, `perClass` points each, centred on a circle of radius 3
  /// at 0°, 120° and 240° with standard deviation 1 (centres 5.2 apart).
  static func blobs(perClass: Int, seed: UInt64) -> (points: Tensor<Float>, labels: [Int]) {
    var rng = SeededGenerator(seed: seed)
    let noise = Tensor<Float>(randomNormal: [3 * perClass, 2], using: &rng).scalars
    var scalars: [Float] = []
    var labels: [Int] = []
    for index in 0..<(3 * perClass) {
      let label = index % 3
      let angle = Float(label) * 2 * Float.pi / 3
      scalars.append(3 * Float.cos(angle) + noise[2 * index])
      scalars.append(3 * Float.sin(angle) + noise[2 * index + 1])
      labels.append(label)
    }
    return (Tensor(shape: [3 * perClass, 2], scalars: scalars), labels)
  }

  @Test("Dense/ReLU with softmax cross-entropy and Adam separates three blobs")
  func threeBlobs() {
    let (x, labels) = Self.blobs(perClass: 70, seed: 3)
    var rng = SeededGenerator(seed: 4)
    var model = Sequential<Float>(
      Dense(inputSize: 2, outputSize: 16, using: &rng), ReLU(),
      Dense(inputSize: 16, outputSize: 3, initialization: .glorotUniform, using: &rng))
    var optimizer = Adam(for: model.parameters, learningRate: 0.05)
    let initialLoss = softmaxCrossEntropy(logits: model(x), labels: labels).scalar
    for _ in 0..<150 {
      let (_, gradients) = valueWithGradient(at: model.parameters) { p in
        var m = model
        m.parameters = p
        return softmaxCrossEntropy(logits: m(x), labels: labels)
      }
      optimizer.update(&model.parameters, along: gradients)
    }
    let logits = model(x)
    let finalLoss = softmaxCrossEntropy(logits: logits, labels: labels).scalar
    #expect(finalLoss < initialLoss / 5, "loss \(initialLoss) → \(finalLoss)")
    #expect(accuracy(logits: logits, labels: labels) >= 0.95)
    // Points the network never saw, from the same distribution.
    let (test, testLabels) = Self.blobs(perClass: 100, seed: 5)
    #expect(accuracy(logits: model(test), labels: testLabels) >= 0.93)
  }

  @Test("Mini-batch SGD with momentum, clipping and a cosine schedule also separates the blobs")
  func miniBatchesWithScheduleAndClipping() {
    let (x, labels) = Self.blobs(perClass: 70, seed: 6)
    var rng = SeededGenerator(seed: 7)
    var model = Sequential<Float>(
      Dense(inputSize: 2, outputSize: 16, activation: relu, using: &rng),
      Dense(inputSize: 16, outputSize: 3, initialization: .glorotUniform, using: &rng))
    var optimizer = SGD(for: model.parameters, learningRate: 0, momentum: 0.9, nesterov: true)
    let batchSize = 30
    let batches = x.shape[0] / batchSize
    let epochs = 20
    let schedule = LearningRateSchedule<Float>.cosineAnnealing(
      initial: 0.1, minimum: 0.001, totalSteps: epochs * batches, warmupSteps: batches)
    for _ in 0..<epochs {
      for batch in 0..<batches {
        let rows = (batch * batchSize)..<((batch + 1) * batchSize)
        let (xb, yb) = (x[rows], Array(labels[rows]))
        let (_, gradients) = valueWithGradient(at: model.parameters) { p in
          var m = model
          m.parameters = p
          return softmaxCrossEntropy(logits: m(xb), labels: yb)
        }
        optimizer.learningRate = schedule(optimizer.step)
        let (clipped, norm) = clippedByGlobalNorm(gradients, maxNorm: 5)
        #expect(norm.isFinite)
        optimizer.update(&model.parameters, along: clipped)
      }
    }
    #expect(optimizer.step == epochs * batches)
    #expect(accuracy(logits: model(x), labels: labels) >= 0.95)
  }
}
