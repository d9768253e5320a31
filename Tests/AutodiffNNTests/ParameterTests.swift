import AutodiffNN
import Foundation
import Testing

@Suite struct NamedParameterTests {
  static func model() -> Sequential<Double> {
    var rng = SeededGenerator(seed: 5)
    return Sequential(
      Dense(inputSize: 2, outputSize: 3, using: &rng), ReLU(), LayerNorm(featureCount: 3),
      Dense(inputSize: 3, outputSize: 1, using: &rng))
  }

  @Test("namedParameters pairs each checkpoint name with its tensor, in order")
  func namedParameters() {
    let model = Self.model()
    let named = model.namedParameters
    #expect(
      named.map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias"])
    #expect(named.map(\.tensor) == model.parameters)
  }

  @Test("A parameter read and written by name is the one at that name's position")
  func subscriptByName() {
    var model = Self.model()
    #expect(model[parameter: "3.weight"] == model.parameters[4])
    model[parameter: "2.bias"] = Tensor([1, 2, 3])
    #expect((model.layers[2] as! LayerNorm<Double>).bias == Tensor([1, 2, 3]))
  }

  @Test func unknownName() async {
    await #expect(processExitsWith: .failure) {
      _ = NamedParameterTests.model()[parameter: "9.weight"]
    }
  }
}

@Suite struct ParameterArithmeticTests {
  static let a: [Tensor<Double>] = [
    Tensor(shape: [2, 2], scalars: [1, -2, 3, 4]), Tensor([0.5, 2]),
  ]
  static let b: [Tensor<Double>] = [
    Tensor(shape: [2, 2], scalars: [2, 1, -1, 0]), Tensor([1, -3]),
  ]

  @Test("adding, subtracting and scaled act tensor by tensor, element by element")
  func elementwise() {
    #expect(
      Self.a.adding(Self.b) == [
        Tensor(shape: [2, 2], scalars: [3, -1, 2, 4]), Tensor([1.5, -1]),
      ])
    #expect(
      Self.a.subtracting(Self.b) == [
        Tensor(shape: [2, 2], scalars: [-1, -3, 4, 4]), Tensor([-0.5, 5]),
      ])
    #expect(
      Self.a.scaled(by: 2) == [Tensor(shape: [2, 2], scalars: [2, -4, 6, 8]), Tensor([1, 4])])
    #expect([Tensor<Double>](zerosLike: Self.a) == [Tensor(zeros: [2, 2]), Tensor(zeros: [2])])
  }

  @Test("dot and globalNorm treat the list as one long vector; the norm is clipping's")
  func reductions() {
    // a·b = 2 − 2 − 3 + 0 + 0.5 − 6 = −8.5; ‖a‖² = 1 + 4 + 9 + 16 + 0.25 + 4 = 34.25.
    #expect(Self.a.dot(Self.b) == -8.5)
    #expect(Self.a.globalNorm() == 34.25.squareRoot())
    #expect(clippedByGlobalNorm(Self.a, maxNorm: 100).norm == Self.a.globalNorm())
    #expect(Self.a.totalScalarCount() == 6)
  }

  @Test("dot and globalNorm of long Float lists agree with Double sums, NaN and ∞ included")
  func longLists() {
    // Several chunks of the parallel sum, and lengths that fill no vector of lanes.
    var rng = SeededGenerator(seed: 31)
    let shapes = [[300_001], [513, 257], [3]]
    let a = shapes.map { Tensor<Float>(randomNormal: $0, using: &rng) }
    let b = shapes.map { Tensor<Float>(randomNormal: $0, using: &rng) }
    var (dot, squares) = (0.0, 0.0)
    for (x, y) in zip(a, b) {
      for (u, v) in zip(x.scalars, y.scalars) {
        dot += Double(u) * Double(v)
        squares += Double(u) * Double(u)
      }
    }
    #expect(Swift.abs(Double(a.dot(b)) - dot) <= 1e-6 * Swift.abs(dot))
    let norm = squares.squareRoot()
    #expect(Swift.abs(Double(a.globalNorm()) - norm) <= 1e-6 * norm)
    #expect(clippedByGlobalNorm(a, maxNorm: 1e9).norm == a.globalNorm())
    var poisoned = a
    var scalars = a[0].scalars
    scalars[123_456] = .infinity
    poisoned[0] = Tensor(shape: [300_001], scalars: scalars)
    #expect(poisoned.globalNorm() == .infinity)
    scalars[7] = .nan
    poisoned[0] = Tensor(shape: [300_001], scalars: scalars)
    #expect(poisoned.globalNorm().isNaN && poisoned.dot(b).isNaN)
  }

  @Test("dot and globalNorm give the same bits at any thread count")
  func longListsAnyThreadCount() async {
    // In a child process: the count is process-wide, and other suites run in parallel.
    await #expect(processExitsWith: .success) {
      var rng = SeededGenerator(seed: 32)
      let a = [[1 << 20], [77]].map { Tensor<Float>(randomNormal: $0, using: &rng) }
      let b = a.map { $0 * 0.5 + 1 }
      let original = Parallelism.threadCount
      var results: [[Float]] = []
      for threads in [1, 2, 3] {
        Parallelism.threadCount = threads
        results.append([a.dot(b), a.globalNorm()])
      }
      Parallelism.threadCount = original
      guard results.allSatisfy({ $0 == results[0] }) else { exit(1) }
    }
  }

  @Test("Averaging the gradients of two half batches gives the whole batch's gradient")
  func accumulation() {
    let model = NamedParameterTests.model()
    let x = randomMatrix(4, 2, seed: 1)
    let y = randomMatrix(4, 1, seed: 2)
    func batchGradient(_ rows: Range<Int>) -> [Tensor<Double>] {
      gradient(at: model.parameters) { p in
        meanSquaredError(predictions: model.replacingParameters(with: p)(x[rows]), targets: y[rows])
      }
    }
    var total = [Tensor<Double>](zerosLike: model.parameters)
    for rows in [0..<2, 2..<4] { total = total.adding(batchGradient(rows)) }
    let mean = total.scaled(by: 0.5)
    for (half, whole) in zip(mean, batchGradient(0..<4)) {
      #expect(half.isAlmostEqual(to: whole, relativeTolerance: 1e-12, absoluteTolerance: 1e-15))
    }
  }

  @Test func mismatchedLists() async {
    await #expect(processExitsWith: .failure) {
      _ = ParameterArithmeticTests.a.adding([Tensor<Double>(zeros: [2, 2])])
    }
  }
}

@Suite struct SendableModelTests {
  @Test("A Sequential crosses into tasks, which compute with it at once")
  func modelAcrossTasks() async {
    var rng = SeededGenerator(seed: 3)
    let model = Sequential<Float>(
      Dense(inputSize: 4, outputSize: 8, using: &rng), GELU(), Dropout(rate: 0.5, seed: 1),
      Dense(inputSize: 8, outputSize: 2, using: &rng))
    var inference = model
    inference.mode = .inference
    let x = Tensor<Float>(ones: [3, 4])
    let expected = inference(x)
    let outputs = await withTaskGroup(of: Tensor<Float>.self) { group in
      for _ in 0..<4 { group.addTask { [inference] in inference(x) } }
      var outputs: [Tensor<Float>] = []
      for await output in group { outputs.append(output) }
      return outputs
    }
    #expect(outputs.allSatisfy { $0 == expected })
    _ = await Task.detached { [model] in model(x) }.value  // training mode: drops, in a task
  }
}
