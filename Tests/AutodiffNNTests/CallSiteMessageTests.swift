import AutodiffNN
import Testing

/// Layers' and optimizers' programmer errors name the caller, although `callAsFunction` and
/// `update` are protocol requirements that cannot take `#fileID`: the caller's frame is found
/// on the stack when the check fails. (An exit test's body comes from a macro expansion, which
/// is where its caller's line is.)
@Suite struct CallSiteMessageTests {
  @Test("Dense, Adam, SGD and LabeledDataset's batches name their caller", arguments: 0..<4)
  func namesTheCaller(_ index: Int) async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      [index] in
      var rng = SeededGenerator(seed: 1)
      var layer = Dense<Float>(inputSize: 3, outputSize: 2, using: &rng)
      switch index {
      case 0: _ = layer(Tensor(zeros: [4, 5]))
      case 1:
        var adam = Adam(for: layer.parameters)
        adam.update(&layer.parameters, along: [Tensor(zeros: [1])])
      case 2:
        var sgd = SGD(for: layer.parameters, learningRate: 0.1)
        sgd.update(&layer.parameters, along: [Tensor(zeros: [1])])
      default:
        _ = LabeledDataset(inputs: Tensor<Float>(zeros: [3, 2]), labels: [1, 2, 0]).batches(
          ofSize: 0)
      }
    }
    guard let result else { return }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("(at swift-generated-sources/"), "\(message)")
    #expect(
      message.contains(["Dense", "Adam.update", "SGD.update", "LabeledDataset"][index]),
      "\(message)")
  }

  @Test("A layer called from inside a standard-library closure still names its caller")
  func throughTheStandardLibrary() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      var rng = SeededGenerator(seed: 1)
      let layer = Dense<Float>(inputSize: 3, outputSize: 2, using: &rng)
      // `map` is the standard library's: its frame lies between the layer and this closure.
      _ = [Tensor<Float>(zeros: [4, 5])].map(layer.callAsFunction)
    }
    guard let result else { return }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("Dense"), "\(message)")
    #expect(message.contains("(at swift-generated-sources/"), "\(message)")
  }
}
