import AutodiffNN
import Foundation
import Testing

@Suite struct DenseTests {
  /// x = [[1, 2, −1], [0, −3, 2]], W = [[0.5, −1], [2, 0.25], [−1.5, 1]], b = [0.1, −0.2].
  static let x = Tensor<Double>(shape: [2, 3], scalars: [1, 2, -1, 0, -3, 2])
  static let weight = Tensor<Double>(shape: [3, 2], scalars: [0.5, -1, 2, 0.25, -1.5, 1])
  static let bias = Tensor<Double>([0.1, -0.2])

  @Test("Dense computes x·W + b row by row")
  func forwardMatchesHandComputation() {
    let layer = Dense(weight: Self.weight, bias: Self.bias)
    // Row 0: 1·0.5 + 2·2 + (−1)·(−1.5) + 0.1 = 6.1;    1·(−1) + 2·0.25 + (−1)·1 − 0.2 = −1.7
    // Row 1: 0·0.5 + (−3)·2 + 2·(−1.5) + 0.1 = −8.9;   0·(−1) + (−3)·0.25 + 2·1 − 0.2 = 1.05
    let expected = Tensor<Double>(shape: [2, 2], scalars: [6.1, -1.7, -8.9, 1.05])
    #expect(layer(Self.x).isAlmostEqual(to: expected, relativeTolerance: 1e-14))
  }

  @Test("Dense applies its activation to x·W + b")
  func activationIsApplied() {
    let linear = Dense(weight: Self.weight, bias: Self.bias)
    let withSigmoid = Dense(weight: Self.weight, bias: Self.bias, activation: sigmoid)
    let withReLU = Dense(weight: Self.weight, bias: Self.bias, activation: relu)
    #expect(withSigmoid(Self.x) == sigmoid(linear(Self.x)))
    // relu of [[6.1, −1.7], [−8.9, 1.05]]
    #expect(
      withReLU(Self.x).isAlmostEqual(
        to: Tensor(shape: [2, 2], scalars: [6.1, 0, 0, 1.05]), relativeTolerance: 1e-14))
  }

  @Test(
    "Dense with an Activation runs it inside the product: the same output and gradients as the function after it",
    arguments: Activation.allCases)
  func fusedActivationMatchesFunction(activation: Activation) {
    let fused = Dense(weight: Self.weight, bias: Self.bias, activation: activation)
    let separate = Dense(weight: Self.weight, bias: Self.bias, activation: { activation($0) })
    #expect(fused(Self.x) == separate(Self.x))
    func gradients(_ layer: Dense<Double>) -> [Tensor<Double>] {
      gradient(at: layer.parameters + [Self.x]) { p in
        var layer = layer
        layer.parameters = Array(p[0..<2])
        return layer(p[2]).squared().sum()
      }
    }
    #expect(gradients(fused) == gradients(separate))
    // The activation reads back as the function it applies.
    #expect(fused.activation?(Self.x) == activation(Self.x))
  }

  @Test("Setting a function as the activation replaces a fused one; nil makes the layer linear")
  func settingTheActivationReplacesTheFusedOne() {
    var layer = Dense(weight: Self.weight, bias: Self.bias, activation: .relu)
    layer.activation = silu
    #expect(layer(Self.x) == silu(matmul(Self.x, Self.weight, plus: Self.bias)))
    layer.activation = nil
    #expect(layer(Self.x) == matmul(Self.x, Self.weight, plus: Self.bias))
    #expect(layer.activation == nil)
  }

  @Test("Dense's gradients with respect to weight, bias and input match finite differences")
  func gradientsMatchFiniteDifferences() {
    let layer = Dense(weight: Self.weight, bias: Self.bias, activation: tanh)
    // A fixed, uneven upstream weighting so that each output element counts differently.
    let upstream = Tensor<Double>(shape: [2, 2], scalars: [0.3, -1.2, 0.7, 2.0])
    func loss(_ weight: Tensor<Double>, _ bias: Tensor<Double>, _ x: Tensor<Double>) -> Tensor<
      Double
    > {
      (Dense(weight: weight, bias: bias, activation: tanh)(x) * upstream).sum()
    }
    let (dWeight, dBias, dX) = gradient(at: layer.weight, layer.bias, Self.x) { loss($0, $1, $2) }
    let numericWeight = finiteDifferenceGradient(at: Self.weight) { loss($0, Self.bias, Self.x) }
    let numericBias = finiteDifferenceGradient(at: Self.bias) { loss(Self.weight, $0, Self.x) }
    let numericX = finiteDifferenceGradient(at: Self.x) { loss(Self.weight, Self.bias, $0) }
    #expect(
      dWeight.isAlmostEqual(to: numericWeight, relativeTolerance: 1e-7, absoluteTolerance: 1e-9))
    #expect(dBias.isAlmostEqual(to: numericBias, relativeTolerance: 1e-7, absoluteTolerance: 1e-9))
    #expect(dX.isAlmostEqual(to: numericX, relativeTolerance: 1e-7, absoluteTolerance: 1e-9))
  }

  @Test(
    "Dense maps the last axis of any input, as nn.Linear: [..., 3] to [..., 2], a vector to a vector",
    arguments: [[3], [4, 3], [2, 2, 3], [2, 1, 2, 3], [0, 3]])
  func anyLeadingAxes(shape: [Int]) {
    let layer = Dense(weight: Self.weight, bias: Self.bias, activation: .tanh)
    let count = shape.reduce(1, *)
    let x = Tensor<Double>(
      shape: shape, scalars: (0..<count).map { Foundation.sin(Double(2 * $0 + 1)) })
    let y = layer(x)
    #expect(y.shape == shape.dropLast() + [2])
    // The same numbers as the layer applied to the rows, one matrix of them.
    let rows = layer(x.reshaped(to: [count / 3, 3]))
    #expect(y.reshaped(to: [count / 3, 2]) == rows)
    guard count > 0 else { return }
    let upstream = Tensor<Double>(
      shape: y.shape, scalars: (0..<y.scalarCount).map { Foundation.cos(Double($0)) })
    func loss(_ w: Tensor<Double>, _ x: Tensor<Double>) -> Tensor<Double> {
      (Dense(weight: w, bias: Self.bias, activation: .tanh)(x) * upstream).sum()
    }
    let (dWeight, dX) = gradient(at: Self.weight, x) { loss($0, $1) }
    let numericWeight = finiteDifferenceGradient(at: Self.weight) { loss($0, x) }
    let numericX = finiteDifferenceGradient(at: x) { loss(Self.weight, $0) }
    #expect(
      dWeight.isAlmostEqual(to: numericWeight, relativeTolerance: 1e-7, absoluteTolerance: 1e-9))
    #expect(dX.isAlmostEqual(to: numericX, relativeTolerance: 1e-7, absoluteTolerance: 1e-9))
  }

  @Test("He initialization draws from N(0, 2/fanIn) and sets the bias to zero")
  func heStatistics() {
    var rng = SeededGenerator(seed: 1)
    let layer = Dense<Double>(inputSize: 500, outputSize: 400, using: &rng)
    let w = layer.weight.scalars
    let n = Double(w.count)
    let mean = w.reduce(0, +) / n
    let deviation = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n).squareRoot()
    let expected = (2.0 / 500).squareRoot()  // 0.0632…
    // 200,000 draws: the standard error of the mean is σ/√n ≈ 1.4·10⁻⁴, of the deviation
    // σ/√(2n) ≈ 0.16 % of σ; the bounds below are over 5 standard errors wide.
    #expect(Swift.abs(mean) < 5 * expected / n.squareRoot())
    #expect(Swift.abs(deviation / expected - 1) < 0.01)
    #expect(layer.weight.shape == [500, 400])
    #expect(layer.bias == Tensor(zeros: [400]))
  }

  @Test("Glorot initialization draws uniformly from ±√(6/(fanIn + fanOut))")
  func glorotStatistics() {
    var rng = SeededGenerator(seed: 2)
    let layer = Dense<Double>(
      inputSize: 500, outputSize: 400, initialization: .glorotUniform, using: &rng)
    let w = layer.weight.scalars
    let n = Double(w.count)
    let limit = (6.0 / 900).squareRoot()  // 0.0816…
    #expect(w.allSatisfy { Swift.abs($0) <= limit })
    // With 200,000 uniform draws the extremes lie within limit·10⁻⁴ of ±limit (all but surely).
    #expect(w.max()! > 0.999 * limit && w.min()! < -0.999 * limit)
    // The variance of U(−a, a) is a²/3; its estimate's relative standard error is ≈ 0.2 %.
    let variance = w.map { $0 * $0 }.reduce(0, +) / n
    #expect(Swift.abs(variance / (limit * limit / 3) - 1) < 0.01)
    #expect(layer.bias == Tensor(zeros: [400]))
  }

  @Test(
    "Each initialization has its rule's variance; the uniform ones stay within their bound",
    arguments: [
      // (rule, variance, uniform bound) for fanIn 500, fanOut 400.
      (WeightInitialization.heNormal, 2.0 / 500, nil),
      (.heUniform, 2.0 / 500, (6.0 / 500).squareRoot()),
      (.glorotUniform, 2.0 / 900, (6.0 / 900).squareRoot()),
      (.glorotNormal, 2.0 / 900, nil),
    ] as [(WeightInitialization, Double, Double?)])
  func initializationStatistics(
    rule: WeightInitialization, variance: Double, bound: Double?
  ) {
    var rng = SeededGenerator(seed: 3)
    let w = rule.weight(fanIn: 500, fanOut: 400, using: &rng) as Tensor<Double>
    #expect(w.shape == [500, 400])
    let values = w.scalars
    let n = Double(values.count)
    let mean = values.reduce(0, +) / n
    // 200,000 draws: the standard errors of the mean and of the variance (relative) are about
    // σ/447 and 0.2–0.3 %; the bounds are over 4 of them.
    #expect(Swift.abs(mean) < 5 * variance.squareRoot() / n.squareRoot())
    let estimate = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
    #expect(Swift.abs(estimate / variance - 1) < 0.015, "\(estimate) against \(variance)")
    if let bound {
      #expect(values.allSatisfy { Swift.abs($0) <= bound })
      #expect(values.max()! > 0.999 * bound && values.min()! < -0.999 * bound)
    }
  }

  @Test("The same seed gives the same layer")
  func seededInitializationIsReproducible() {
    var first = SeededGenerator(seed: 9)
    var second = SeededGenerator(seed: 9)
    let a = Dense<Float>(inputSize: 8, outputSize: 4, using: &first)
    let b = Dense<Float>(inputSize: 8, outputSize: 4, using: &second)
    #expect(a.weight == b.weight)
  }

  @Test("Dense's parameters are [weight, bias] and setting them round-trips")
  func parametersRoundTrip() {
    var layer = Dense(weight: Self.weight, bias: Self.bias)
    #expect(layer.parameterNames == ["weight", "bias"])
    #expect(layer.parameters == [Self.weight, Self.bias])
    let newWeight = Self.weight * 2
    let newBias = Tensor<Double>([7, 8])
    layer.parameters = [newWeight, newBias]
    #expect(layer.weight == newWeight && layer.bias == newBias)
    #expect(layer.parameters == [newWeight, newBias])
  }
}

@Suite struct ActivationLayerTests {
  static let x = Tensor<Double>([-2, -0.5, 0, 0.5, 3])

  @Test("ReLU, Sigmoid and Tanh apply their function and have no parameters")
  func activationsApplyTheirFunction() {
    #expect(ReLU<Double>()(Self.x) == relu(Self.x))
    #expect(Sigmoid<Double>()(Self.x) == sigmoid(Self.x))
    #expect(Tanh<Double>()(Self.x) == tanh(Self.x))
    #expect(ReLU<Double>().parameters.isEmpty && ReLU<Double>().parameterNames.isEmpty)
    #expect(Sigmoid<Double>().parameters.isEmpty && Tanh<Double>().parameterNames.isEmpty)
  }

  @Test("Function applies its body and passes gradients through it")
  func functionLayerAppliesBody() {
    let leaky = Function<Double> { x in max(x, 0.1 * x) }
    // max(x, 0.1x): [−0.2, −0.05, 0, 0.5, 3]
    #expect(
      leaky(Self.x).isAlmostEqual(
        to: Tensor([-0.2, -0.05, 0, 0.5, 3]), relativeTolerance: 1e-15))
    // d/dx: 0.1 for x < 0, 1 for x > 0, and at the tie x = 0 half of each: 0.55.
    let slope = gradient(at: Self.x) { leaky($0).sum() }
    #expect(slope.isAlmostEqual(to: Tensor([0.1, 0.1, 0.55, 1, 1]), relativeTolerance: 1e-15))
    #expect(leaky.parameters.isEmpty)
  }
}

@Suite struct SequentialTests {
  static func model(seed: UInt64 = 3) -> Sequential<Double> {
    var rng = SeededGenerator(seed: seed)
    return Sequential(
      Dense(inputSize: 2, outputSize: 3, using: &rng), ReLU(),
      Dense(inputSize: 3, outputSize: 1, activation: sigmoid, using: &rng))
  }

  @Test("Sequential concatenates its layers' parameters in order, named by position")
  func parametersAndNamesInOrder() {
    let model = Self.model()
    #expect(model.parameterNames == ["0.weight", "0.bias", "2.weight", "2.bias"])
    #expect(model.parameters.map(\.shape) == [[2, 3], [3], [3, 1], [1]])
    let first = model.layers[0] as! Dense<Double>
    let last = model.layers[2] as! Dense<Double>
    #expect(model.parameters == [first.weight, first.bias, last.weight, last.bias])
  }

  @Test("Nested sequences prefix each level's position")
  func nestedNames() {
    var rng = SeededGenerator(seed: 4)
    let inner = Sequential<Float>(Tanh(), Dense(inputSize: 2, outputSize: 2, using: &rng))
    let outer = Sequential<Float>(Dense(inputSize: 2, outputSize: 2, using: &rng), inner)
    #expect(outer.parameterNames == ["0.weight", "0.bias", "1.1.weight", "1.1.bias"])
  }

  @Test("Setting Sequential's parameters hands each layer its share, and the output follows")
  func settingParametersRoundTrips() {
    var model = Self.model()
    let replacement = [
      Tensor<Double>(shape: [2, 3], scalars: [1, 0, -1, 0, 1, 1]), Tensor([0, 0.5, 0]),
      Tensor<Double>(shape: [3, 1], scalars: [1, -1, 2]), Tensor([-0.5]),
    ]
    model.parameters = replacement
    #expect(model.parameters == replacement)
    #expect((model.layers[2] as! Dense<Double>).weight == replacement[2])
    // x = [1, 2]: hidden = relu([1, 2, 1] + [0, 0.5, 0]) = [1, 2.5, 1];
    // output = σ(1 − 2.5 + 2 − 0.5) = σ(0) = 0.5.
    let output = model(Tensor(shape: [1, 2], scalars: [1, 2]))
    #expect(
      output.isAlmostEqual(to: Tensor(shape: [1, 1], scalars: [0.5]), relativeTolerance: 1e-15))
  }

  @Test("The functional training step's gradients match finite differences for every parameter")
  func gradientsWithRespectToParameters() {
    let model = Self.model(seed: 5)
    let x = Tensor<Double>(shape: [4, 2], scalars: [0.5, -1, 1.5, 0.3, -0.7, 0.8, 2, -2])
    let y = Tensor<Double>(shape: [4, 1], scalars: [1, 0, 1, 0])
    func loss(_ parameters: [Tensor<Double>]) -> Tensor<Double> {
      var m = model
      m.parameters = parameters
      return meanSquaredError(predictions: m(x), targets: y)
    }
    let gradients = gradient(at: model.parameters, of: loss)
    for (index, parameter) in model.parameters.enumerated() {
      let numeric = finiteDifferenceGradient(at: parameter) { p in
        var parameters = model.parameters
        parameters[index] = p
        return loss(parameters)
      }
      #expect(
        gradients[index].isAlmostEqual(
          to: numeric, relativeTolerance: 1e-6, absoluteTolerance: 1e-9),
        "parameter \(model.parameterNames[index])")
    }
  }
}

/// An in-place access to `parameters` hands out the layers' own tensors, so an optimizer's update
/// writes their buffers instead of copies; afterwards the layers hold the updated values.
@Suite struct InPlaceParameterTests {
  /// The address of each parameter's elements: equal before and after an update means the
  /// update wrote the same buffers.
  static func addresses(_ parameters: [Tensor<Double>]) -> [UnsafeRawPointer?] {
    parameters.map { $0.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }
  }

  @Test("SGD through Sequential.parameters (nested, with a ReLU) updates every buffer in place")
  func sequentialUpdatesInPlace() {
    var rng = SeededGenerator(seed: 21)
    var model = Sequential<Double>(
      Dense(inputSize: 2, outputSize: 3, using: &rng),
      Sequential<Double>(ReLU(), Dense(inputSize: 3, outputSize: 2, using: &rng)))
    let before = model.parameters
    let addressesBefore = Self.addresses(before)
    let gradients = before.map { Tensor<Double>(ones: $0.shape) }
    var optimizer = SGD(for: model.parameters, learningRate: 0.5)
    // `before` still shares the buffers; drop it so the update may write them.
    let expected = before.map { $0 - 0.5 }
    _ = consume before
    optimizer.update(&model.parameters, along: gradients)
    #expect(model.parameters == expected)
    #expect(Self.addresses(model.parameters) == addressesBefore)
    let nested = (model.layers[1] as! Sequential<Double>).layers[1] as! Dense<Double>
    #expect(nested.weight == expected[2] && nested.bias == expected[3])
  }

  @Test("A buffer that another value shares is copied, and that value keeps its elements")
  func sharedBufferIsCopied() {
    var rng = SeededGenerator(seed: 22)
    var model = Sequential<Double>(Dense(inputSize: 2, outputSize: 2, using: &rng))
    let kept = model.parameters
    var optimizer = SGD(for: model.parameters, learningRate: 1)
    optimizer.update(&model.parameters, along: kept)
    #expect(model.parameters == kept.map { $0 - $0 })
    #expect(kept != model.parameters)
    #expect(Self.addresses(model.parameters) != Self.addresses(kept))
  }

  @Test("A layer with only get and set parameters is updated through them inside Sequential")
  func defaultMoveAndRestore() {
    var model = Sequential<Double>(TinyAffine(inputs: 2, outputs: 3, seed: 23), ReLU())
    let gradients = model.parameters.map { Tensor<Double>(ones: $0.shape) }
    let expected = model.parameters.map { $0 - 0.25 }
    var optimizer = SGD(for: model.parameters, learningRate: 0.25)
    optimizer.update(&model.parameters, along: gradients)
    #expect(model.parameters == expected)
    #expect((model.layers[0] as! TinyAffine<Double>).bias == expected[1])
  }
}

@Suite struct LayerPreconditionTests {
  @Test func denseInputOfWrongWidth() async {
    await #expect(processExitsWith: .failure) {
      let layer = Dense(weight: Tensor<Float>(zeros: [3, 2]), bias: Tensor(zeros: [2]))
      _ = layer(Tensor<Float>(zeros: [4, 5]))
    }
  }

  @Test func denseBiasOfWrongShape() async {
    await #expect(processExitsWith: .failure) {
      _ = Dense(weight: Tensor<Float>(zeros: [3, 2]), bias: Tensor(zeros: [3]))
    }
  }

  @Test func denseParametersOfWrongShape() async {
    await #expect(processExitsWith: .failure) {
      var layer = Dense(weight: Tensor<Float>(zeros: [3, 2]), bias: Tensor(zeros: [2]))
      layer.parameters = [Tensor(zeros: [2, 3]), Tensor(zeros: [2])]
    }
  }

  @Test func sequentialParametersChangedInPlaceToWrongCount() async {
    await #expect(processExitsWith: .failure) {
      var model = Sequential<Float>(
        Dense(weight: Tensor(zeros: [3, 2]), bias: Tensor(zeros: [2])), ReLU())
      model.parameters.removeLast()
    }
  }

  @Test func denseParametersChangedInPlaceToWrongShape() async {
    await #expect(processExitsWith: .failure) {
      var layer = Dense(weight: Tensor<Float>(zeros: [3, 2]), bias: Tensor(zeros: [2]))
      layer.parameters[1] = Tensor(zeros: [3])
    }
  }

  @Test func sequentialParametersOfWrongCount() async {
    await #expect(processExitsWith: .failure) {
      var model = Sequential<Float>(
        Dense(weight: Tensor(zeros: [3, 2]), bias: Tensor(zeros: [2])), ReLU())
      model.parameters = [Tensor(zeros: [3, 2])]
    }
  }
}

@Suite struct ReplacingParametersTests {
  @Test("replacingParameters(with:) gives a copy with the new parameters and leaves the original")
  func replacingParameters() {
    var rng = SeededGenerator(seed: 4)
    let model = Sequential<Double>(
      Dense(inputSize: 3, outputSize: 2, activation: relu, using: &rng),
      Dense(inputSize: 2, outputSize: 1, using: &rng))
    let replacement = model.parameters.map { $0 * 2 }
    let copy = model.replacingParameters(with: replacement)
    #expect(copy.parameters == replacement)
    #expect(model.parameters != replacement)
    let x = Tensor<Double>(randomNormal: [4, 3], using: &rng)
    var manual = model
    manual.parameters = replacement
    #expect(copy(x) == manual(x))
  }
}
