import AutodiffNN
import Foundation
import Testing

@Suite struct LayerNormTests {
  @Test("LayerNorm normalizes each row by its own mean and biased variance, then scales and shifts")
  func forwardMatchesDirectComputation() {
    var layer = LayerNorm<Double>(featureCount: 4)
    layer.weight = Tensor([1, 2, 0.5, -1])
    layer.bias = Tensor([0, 0.1, -0.2, 0.3])
    let x = randomMatrix(3, 4, seed: 1, scale: 2)
    let y = layer(x).scalars
    for row in 0..<3 {
      let values = Array(x.scalars[(4 * row)..<(4 * row + 4)])
      let mean = values.reduce(0, +) / 4
      let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
      for column in 0..<4 {
        let expected =
          (values[column] - mean) / (variance + 1e-5).squareRoot() * layer.weight.scalars[column]
          + layer.bias.scalars[column]
        #expect(Swift.abs(y[4 * row + column] - expected) < 1e-12)
      }
    }
  }

  @Test("Float LayerNorm and BatchNorm normalize data far from 0 beside their spread")
  func offsetData() {
    // 10⁴ + k·2⁻¹⁰ (exact in Float): the rounded mean is off by as much as the data spread, and
    // a plain x − mean left rows with a standard deviation of 1.6 instead of 1.
    let values = (0..<512).map { 10_000 + Float(($0 * 7) % 11) / 1024 }
    let x = Tensor(shape: [8, 64], scalars: values)
    // BatchNorm normalizes columns: the rows, transposed.
    for y in [
      LayerNorm<Float>(featureCount: 64, epsilon: 1e-12)(x),
      BatchNorm<Float>(featureCount: 8, epsilon: 1e-12)(x.transposed()).transposed(),
    ] {
      for row in 0..<8 {
        let normalized = y.scalars[(64 * row)..<(64 * row + 64)].map(Double.init)
        let mean = normalized.reduce(0, +) / 64
        let deviation = (normalized.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 64)
          .squareRoot()
        #expect(Swift.abs(mean) < 1e-3 && Swift.abs(deviation - 1) < 1e-3)
      }
    }
  }

  @Test("LayerNorm's gradients with respect to input, weight and bias match finite differences")
  func gradients() {
    var layer = LayerNorm<Double>(featureCount: 5)
    layer.weight = Tensor([1, 2, 0.5, -1, 0.7])
    layer.bias = Tensor([0, 0.1, -0.2, 0.3, 1])
    expectLayerGradientsMatchFiniteDifferences(layer, input: randomMatrix(3, 5, seed: 2))
  }

  @Test("LayerNorm computes the same in both modes and has parameters weight and bias")
  func modeIndependent() {
    var layer = LayerNorm<Double>(featureCount: 3)
    let x = randomMatrix(2, 3, seed: 3)
    let training = layer(x)
    layer.mode = .inference
    #expect(layer(x) == training)
    #expect(layer.parameterNames == ["weight", "bias"] && layer.state.isEmpty)
  }
}

@Suite struct BatchNormTests {
  /// Each column of `x` ([rows, columns]) with its mean and its biased variance.
  static func columnStatistics(_ x: Tensor<Double>) -> (mean: [Double], variance: [Double]) {
    let (rows, columns) = (x.shape[0], x.shape[1])
    let values = x.scalars
    var (means, variances) = ([Double](), [Double]())
    for column in 0..<columns {
      let entries = (0..<rows).map { values[$0 * columns + column] }
      let mean = entries.reduce(0, +) / Double(rows)
      means.append(mean)
      variances.append(entries.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rows))
    }
    return (means, variances)
  }

  @Test("In training BatchNorm normalizes each column by the batch's mean and biased variance")
  func trainingForward() {
    var layer = BatchNorm<Double>(featureCount: 3)
    layer.weight = Tensor([2, 1, -0.5])
    layer.bias = Tensor([0.1, 0, 1])
    let x = randomMatrix(5, 3, seed: 4, scale: 3) + 1
    let (mean, variance) = Self.columnStatistics(x)
    let y = layer(x).scalars
    for index in 0..<15 {
      let column = index % 3
      let expected =
        (x.scalars[index] - mean[column]) / (variance[column] + 1e-5).squareRoot()
        * layer.weight.scalars[column] + layer.bias.scalars[column]
      #expect(Swift.abs(y[index] - expected) < 1e-12)
    }
  }

  @Test("The running statistics follow (1 − m)·running + m·batch, the variance unbiased")
  func runningStatistics() {
    let layer = BatchNorm<Double>(featureCount: 2, momentum: 0.3)
    var (mean, variance) = ([0.0, 0], [1.0, 1])
    for seed in 10..<14 {
      let x = randomMatrix(4, 2, seed: UInt64(seed), scale: 2) + 3
      _ = layer(x)
      let batch = Self.columnStatistics(x)
      for column in 0..<2 {
        mean[column] = 0.7 * mean[column] + 0.3 * batch.mean[column]
        variance[column] = 0.7 * variance[column] + 0.3 * batch.variance[column] * 4 / 3
      }
    }
    #expect(layer.runningMean.isAlmostEqual(to: Tensor(mean), relativeTolerance: 1e-12))
    #expect(layer.runningVariance.isAlmostEqual(to: Tensor(variance), relativeTolerance: 1e-12))
  }

  @Test("In inference BatchNorm uses the running statistics and leaves them unchanged")
  func inference() {
    var layer = BatchNorm<Double>(featureCount: 2)
    layer.state = ["runningMean": Tensor([1, -2]), "runningVariance": Tensor([4, 0.25])]
    layer.mode = .inference
    let x = Tensor<Double>(shape: [1, 2], scalars: [3, -1])
    // (3 − 1)/√(4 + 10⁻⁵) and (−1 + 2)/√(0.25 + 10⁻⁵).
    let expected = Tensor<Double>(
      shape: [1, 2], scalars: [2 / (4 + 1e-5).squareRoot(), 1 / (0.25 + 1e-5).squareRoot()])
    #expect(layer(x).isAlmostEqual(to: expected, relativeTolerance: 1e-14))
    #expect(layer.runningMean == Tensor([1, -2]))
  }

  @Test("BatchNorm's training gradients, through the batch statistics, match finite differences")
  func gradients() {
    var layer = BatchNorm<Double>(featureCount: 3)
    layer.weight = Tensor([1.5, -1, 0.5])
    layer.bias = Tensor([0.2, 0, -0.3])
    expectLayerGradientsMatchFiniteDifferences(layer, input: randomMatrix(4, 3, seed: 5))
    layer.mode = .inference
    layer.state = ["runningMean": Tensor([0.5, 0, -1]), "runningVariance": Tensor([2, 1, 0.5])]
    expectLayerGradientsMatchFiniteDifferences(layer, input: randomMatrix(4, 3, seed: 6))
  }

  @Test("The copy a training step calls updates the model's statistics; setting state detaches")
  func sharedStatistics() {
    let model = Sequential<Double>(BatchNorm(featureCount: 2))
    let copy = model.replacingParameters(with: model.parameters)
    _ = copy(randomMatrix(3, 2, seed: 7) + 5)
    #expect(model.state["0.runningMean"] != Tensor(zeros: [2]))
    var detached = model
    detached.state = model.state
    _ = detached(randomMatrix(3, 2, seed: 8) - 5)
    #expect(detached.state != model.state)
  }

  @Test("Setting a sequence's mode sets every layer's, nested ones included")
  func modePropagates() {
    var rng = SeededGenerator(seed: 1)
    var model = Sequential<Double>(
      Dense(inputSize: 2, outputSize: 2, using: &rng), BatchNorm(featureCount: 2),
      Sequential(Dropout(rate: 0.5, seed: 1)))
    model.mode = .inference
    #expect(model.layers[1].mode == .inference)
    #expect((model.layers[2] as! Sequential<Double>).layers[0].mode == .inference)
    model.mode = .training
    #expect((model.layers[2] as! Sequential<Double>).layers[0].mode == .training)
  }

  @Test func batchOfOneInTraining() async {
    await #expect(processExitsWith: .failure) {
      _ = BatchNorm<Float>(featureCount: 2)(Tensor(zeros: [1, 2]))
    }
  }
}
