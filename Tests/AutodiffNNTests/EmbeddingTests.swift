import AutodiffNN
import Foundation
import Testing

@Suite struct EmbeddingTests {
  /// A table of 4 rows of 3: row i is [3i, 3i + 1, 3i + 2].
  static let weight = Tensor<Double>(shape: [4, 3], scalars: (0..<12).map(Double.init))

  /// The rows of `weight` at `indices`, stacked, read from its scalars.
  static func rows(_ indices: [Int], of weight: Tensor<Double>) -> [Double] {
    let dimension = weight.shape[1]
    return indices.flatMap { weight.scalars[($0 * dimension)..<(($0 + 1) * dimension)] }
  }

  @Test("The vectors are the weight's rows at the indices, repeats included, in both forms")
  func valuesAreRowsOfTheWeight() {
    let layer = Embedding(weight: Self.weight)
    let indices = [2, 0, 3, 2]
    let expected = Tensor<Double>(shape: [4, 3], scalars: Self.rows(indices, of: Self.weight))
    #expect(layer(indices) == expected)
    #expect(layer(Tensor(shape: [4], scalars: indices.map(Double.init))) == expected)
    #expect(layer.count == 4 && layer.dimension == 3)
  }

  @Test(
    "An index tensor of shape S gives S + [dimension]",
    arguments: [[], [1], [5], [2, 3], [2, 0], [2, 1, 3]] as [[Int]])
  func shapeOfTensorInput(shape: [Int]) {
    let layer = Embedding(weight: Self.weight)
    let count = shape.reduce(1, *)
    let indices = (0..<count).map { ($0 * 3 + 1) % 4 }
    let output = layer(Tensor(shape: shape, scalars: indices.map(Double.init)))
    #expect(output.shape == shape + [3])
    #expect(output.scalars == Self.rows(indices, of: Self.weight))
  }

  @Test("An array of n indices gives [n, dimension]; an empty one [0, dimension]")
  func shapeOfArrayInput() {
    let layer = Embedding(weight: Self.weight)
    #expect(layer([1, 1, 0, 3, 2]).shape == [5, 3])
    #expect(layer([3]).shape == [1, 3])
    #expect(layer([]).shape == [0, 3])
  }

  @Test(
    "The weight's gradient adds the upstream rows at their indices: a repeated row gets the sum")
  func gradientIsScatterAdd() {
    let layer = Embedding(weight: Self.weight)
    // Rows 1, 3, 1 looked up, weighted by u = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]:
    // row 1 gets [1, 2, 3] + [7, 8, 9] = [8, 10, 12], row 3 gets [4, 5, 6], rows 0 and 2 zero.
    let upstream = Tensor<Double>(shape: [3, 3], scalars: (1...9).map(Double.init))
    let g = gradient(at: layer.weight) { w in
      (Embedding(weight: w)([1, 3, 1]) * upstream).sum()
    }
    #expect(g == Tensor(shape: [4, 3], scalars: [0, 0, 0, 8, 10, 12, 0, 0, 0, 4, 5, 6]))
  }

  @Test("The weight's gradient through a nonlinear loss matches central differences")
  func gradientMatchesFiniteDifferences() {
    let weight = randomMatrix(5, 4, seed: 11)
    // Shape [2, 3], with rows 4 and 1 repeated and row 2 unused.
    let indices = Tensor<Double>(shape: [2, 3], scalars: [4, 1, 0, 1, 3, 4])
    let result = checkGradient(at: weight) { w in
      let vectors = Embedding(weight: w)(indices)
      return (tanh(vectors) * vectors).sum()
    }
    #expect(result.passed, "\(result)")
    // The same through the layer's parameters, as a training step takes them.
    let layer = Embedding(weight: weight)
    let viaParameters = gradient(at: layer.parameters) { p in
      layer.replacingParameters(with: p)(indices).squared().sum()
    }
    let numeric = finiteDifferenceGradient(at: weight) { w in
      Embedding(weight: w)(indices).squared().sum()
    }
    #expect(viaParameters[0].isAlmostEqual(to: numeric, relativeTolerance: 1e-6))
  }

  @Test("Forward mode: the output's tangent along a weight direction v is v's rows at the indices")
  func tangentWithRespectToWeight() {
    let direction = randomMatrix(4, 3, seed: 12)
    let indices = [3, 0, 3]
    let (value, tangent) = jvp(at: Self.weight, tangent: direction) { w in
      Embedding(weight: w)(indices)
    }
    #expect(value == Embedding(weight: Self.weight)(indices))
    #expect(tangent == Tensor(shape: [3, 3], scalars: Self.rows(indices, of: direction)))
  }

  @Test("A recorded index tensor gets a zero gradient: indices are not differentiable")
  func indicesGetNoGradient() {
    let indices = Tensor<Double>([2, 2, 1])
    let (gIndices, gWeight) = gradient(at: indices, Self.weight) { i, w in
      Embedding(weight: w)(i).sum()
    }
    #expect(gIndices == Tensor(zeros: [3]))
    #expect(gWeight == Tensor(shape: [4, 3], scalars: [0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0]))
  }

  @Test("A training step through Embedding, a reshape and Dense lowers the loss")
  func trainingInSequential() {
    var rng = SeededGenerator(seed: 13)
    var model = Sequential<Float>(
      Embedding(count: 6, dimension: 4, using: &rng),
      Function { $0.reshaped(to: [$0.shape[0], 8]) },
      Dense(inputSize: 8, outputSize: 3, using: &rng))
    // Four sequences of two tokens each; tokens 4 and 5 appear in none.
    let tokens = Tensor<Float>(shape: [4, 2], scalars: [0, 1, 2, 3, 1, 0, 3, 3])
    let labels = [0, 1, 2, 1]
    let unusedRows = Array(model.parameters[0].scalars[16...])
    var optimizer = SGD(for: model.parameters, learningRate: 0.1)
    func loss(_ parameters: [Tensor<Float>]) -> Tensor<Float> {
      softmaxCrossEntropy(
        logits: model.replacingParameters(with: parameters)(tokens), labels: labels)
    }
    let initial = loss(model.parameters).scalar
    for _ in 0..<20 {
      let gradients = gradient(at: model.parameters, of: loss)
      optimizer.update(&model.parameters, along: gradients)
    }
    let final = loss(model.parameters).scalar
    #expect(final < 0.5 * initial, "loss \(initial) → \(final)")
    // Rows no token looked up had zero gradients, so plain SGD left them as they were.
    #expect(Array(model.parameters[0].scalars[16...]) == unusedRows)
    #expect(model.parameterNames == ["0.weight", "2.weight", "2.bias"])
  }

  @Test("The seeded initializer draws N(0, 1), and the same seed gives the same table")
  func initialization() {
    var rng = SeededGenerator(seed: 14)
    let layer = Embedding<Double>(count: 100, dimension: 100, using: &rng)
    #expect(layer.weight.shape == [100, 100])
    let values = layer.weight.scalars
    let mean = values.reduce(0, +) / 10_000
    let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 10_000
    // 10⁴ draws: the mean's standard error is 0.01, the variance's about 0.014.
    #expect(Swift.abs(mean) < 0.05 && Swift.abs(variance - 1) < 0.07, "\(mean), \(variance)")
    var again = SeededGenerator(seed: 14)
    #expect(Embedding<Double>(count: 100, dimension: 100, using: &again).weight == layer.weight)
  }

  @Test("The parameters are [weight], named \"weight\"; setting them round-trips")
  func parameters() {
    var layer = Embedding(weight: Self.weight)
    #expect(layer.parameterNames == ["weight"] && layer.state.isEmpty)
    #expect(layer.parameters == [Self.weight])
    layer.parameters = [Self.weight * 2]
    #expect(layer.weight == Self.weight * 2)
    #expect(layer([1]) == Tensor(shape: [1, 3], scalars: [6, 8, 10]))
    layer.weight -= Self.weight
    #expect(layer.weight == Self.weight)
  }

  @Test("A checkpoint stores the weight as model.weight, PyTorch's state_dict key, and loads back")
  func checkpointRoundTrip() throws {
    let directory = ScratchDirectory()
    let url = directory.file("embedding.safetensors")
    var rng = SeededGenerator(seed: 15)
    let saved = Embedding<Float>(count: 7, dimension: 5, using: &rng)
    try Checkpoint.save(model: saved, to: url)
    #expect(try SafeTensors(contentsOf: url).entries.map(\.name) == ["model.weight"])
    var restored = Embedding<Float>(count: 7, dimension: 5, using: &rng)
    #expect(restored.weight != saved.weight)
    try Checkpoint.load(into: &restored, from: url)
    #expect(restored.weight == saved.weight)
  }

  @Test("The model summary counts the table's parameters and no FLOPs for the lookup")
  func summary() {
    var rng = SeededGenerator(seed: 16)
    let model = Sequential<Float>(
      Embedding(count: 10, dimension: 4, using: &rng),
      Dense(inputSize: 4, outputSize: 2, using: &rng))
    let summary = model.summary(inputShape: [3])
    #expect(summary.rows.map(\.type) == ["Embedding", "Dense"])
    #expect(summary.rows.map(\.outputShape) == [[3, 4], [3, 2]])
    #expect(summary.rows.map(\.parameterCount) == [40, 10])
    // Dense 4→2 on 3 rows: 2·3·4·2 + 3·2.
    #expect(summary.rows.map(\.flops) == [0, 54])
    // On [2, 5] tokens the Dense layer maps [2, 5, 4] to [2, 5, 2]: 10 rows, as one product.
    let tokens = model.summary(inputShape: [2, 5])
    #expect(tokens.rows.map(\.outputShape) == [[2, 5, 4], [2, 5, 2]])
    #expect(tokens.rows.map(\.flops) == [0, 2 * 10 * 4 * 2 + 10 * 2])
    // A single index: one row.
    #expect(model.summary(inputShape: []).rows.map(\.flops) == [0, 2 * 4 * 2 + 2])
  }
}

@Suite struct EmbeddingPreconditionTests {
  /// A bad index, and the parts its message must name: the layer, the value, the position, the
  /// range of the table's rows.
  static let badIndices: [(name: String, fragments: [String])] = [
    // The array form takes its caller's `#fileID` and `#line`.
    (
      "out of range in an array",
      ["index 7 at position 2", "0..<5 (count 5)", "(at AutodiffNNTests/EmbeddingTests.swift:"]
    ),
    ("negative in an array", ["index -1 at position 0", "does not count from the end"]),
    ("out of range in a tensor", ["index 5 at position [1, 0]", "0..<5 (count 5)"]),
    ("not a whole number", ["index 2.5 at position [0, 1]", "not a whole number", "count 5"]),
    ("NaN", ["index nan at position [1, 1]", "not a whole number"]),
  ]

  @Test(
    "A bad index stops with a message naming Embedding, the value, its position, the count and the caller",
    arguments: badIndices.indices)
  func badIndexMessage(_ index: Int) async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      [index] in
      let layer = Embedding(weight: Tensor<Float>(zeros: [5, 2]))
      switch index {
      case 0: _ = layer([0, 4, 7])
      case 1: _ = layer([-1])
      case 2: _ = layer(Tensor(shape: [2, 2], scalars: [0, 1, 5, 2]))
      case 3: _ = layer(Tensor(shape: [2, 2], scalars: [0, 2.5, 1, 1]))
      default: _ = layer(Tensor(shape: [2, 2], scalars: [0, 1, 1, .nan]))
      }
    }
    guard let result else { return }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    for fragment in ["Embedding: "] + Self.badIndices[index].fragments + ["(at "] {
      #expect(message.contains(fragment), "\(Self.badIndices[index].name): \(message)")
    }
  }

  @Test func weightThatIsNotAMatrix() async {
    await #expect(processExitsWith: .failure) {
      _ = Embedding(weight: Tensor<Float>(zeros: [6]))
    }
  }

  @Test func weightOfAnotherShape() async {
    await #expect(processExitsWith: .failure) {
      var layer = Embedding(weight: Tensor<Float>(zeros: [5, 2]))
      layer.parameters = [Tensor(zeros: [5, 3])]
    }
  }
}
