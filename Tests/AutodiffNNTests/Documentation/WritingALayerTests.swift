import AutodiffNN
import Testing

// snippet: residual-layer
/// y = x + body(x): a residual connection around a Dense layer that keeps the width.
struct Residual<Scalar: TensorScalar>: Layer {
  var body: Dense<Scalar>

  func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    input + body(input)
  }

  var parameters: [Tensor<Scalar>] {
    get { body.parameters }
    set { body.parameters = newValue }
  }

  var parameterNames: [String] { body.parameterNames.map { "body." + $0 } }
}

extension Residual: FLOPCounting {
  func flops(inputShape: [Int], outputShape: [Int]) -> Int {
    body.flops(inputShape: inputShape, outputShape: outputShape) + outputShape.reduce(1, *)
  }
}
// end snippet

/// The code of the article "Writing a layer", compiled and run (see ArticleSnippets.swift).
@Suite struct WritingALayerTests {
  @Test(
    "A residual layer: its gradients check, it nests in Sequential with names, summary and checkpoint"
  )
  func residualLayer() throws {
    let directory = ScratchDirectory()
    let url = directory.file("residual.safetensors")
    // snippet: residual-check
    var rng = SeededGenerator(seed: 5)
    let layer = Residual(
      body: Dense<Double>(inputSize: 3, outputSize: 3, activation: tanh, using: &rng))
    let x = Tensor<Double>(randomNormal: [4, 3], using: &rng)
    // The gradients with respect to the input and both parameters, against finite differences.
    let check = checkGradient(at: [x] + layer.parameters) { inputs in
      layer.replacingParameters(with: Array(inputs.dropFirst()))(inputs[0]).squared().sum()
    }
    // check.passed is true
    // end snippet
    #expect(check.passed, "\(check)")

    // snippet: residual-model
    let model = Sequential<Double>(
      layer, ReLU(), Residual(body: Dense(inputSize: 3, outputSize: 3, using: &rng)))
    print(model.parameterNames)  // ["0.body.weight", "0.body.bias", "2.body.weight", "2.body.bias"]
    print(model.summary(inputShape: [4, 3]))  // FLOPs from Residual's own count
    try Checkpoint.save(model: model, to: url)  // "model.0.body.weight", ...
    // end snippet
    #expect(
      model.parameterNames == ["0.body.weight", "0.body.bias", "2.body.weight", "2.body.bias"])
    // Dense 3→3 on 4 rows: 2·4·3·3 + 4·3 = 84, plus the 12 additions.
    #expect(model.summary(inputShape: [4, 3]).rows[0].flops == 96)
    var loaded = Sequential<Double>(
      Residual(body: Dense(inputSize: 3, outputSize: 3, using: &rng)), ReLU(),
      Residual(body: Dense(inputSize: 3, outputSize: 3, using: &rng)))
    try Checkpoint.load(into: &loaded, from: url)
    #expect(loaded.parameters == model.parameters)
  }
}
