import AutodiffNN
import Foundation
import Testing

/// Checkpoints of every stateful piece the layers added: BatchNorm's running statistics beside
/// the parameters, and the optimizers' state (RMSprop's is in RMSpropTests, ReduceOnPlateau's in
/// ScheduleTests).
@Suite struct ModelStateCheckpointTests {
  /// A model with BatchNorm, Dropout and LayerNorm, trained two Adam steps so that its running
  /// statistics and moments are not their initial values.
  static func trained(seed: UInt64) -> (Sequential<Double>, Adam<Double>) {
    var rng = SeededGenerator(seed: seed)
    var model = Sequential<Double>(
      Dense(inputSize: 3, outputSize: 4, using: &rng), BatchNorm(featureCount: 4), ReLU(),
      Dropout(rate: 0.2, using: &rng), LayerNorm(featureCount: 4),
      Dense(inputSize: 4, outputSize: 2, using: &rng))
    var optimizer = Adam(for: model.parameters, learningRate: 0.01)
    let x = randomMatrix(6, 3, seed: seed + 100)
    for _ in 0..<2 {
      let g = gradient(at: model.parameters) { p in
        model.replacingParameters(with: p)(x).squared().mean()
      }
      optimizer.update(&model.parameters, along: g)
    }
    return (model, optimizer)
  }

  @Test("BatchNorm's running statistics are saved under model.<layer>.running… and loaded back")
  func batchNormStatistics() throws {
    let directory = ScratchDirectory()
    let url = directory.file("model.safetensors")
    var (model, optimizer) = Self.trained(seed: 1)
    try Checkpoint.save(model: model, optimizer: optimizer, to: url)
    let names = try SafeTensors(contentsOf: url).entries.map(\.name).filter {
      $0.hasPrefix("model.")
    }
    #expect(
      names.sorted() == [
        "model.0.bias", "model.0.weight", "model.1.bias", "model.1.runningMean",
        "model.1.runningVariance", "model.1.weight", "model.4.bias", "model.4.weight",
        "model.5.bias", "model.5.weight",
      ])

    var (restored, restoredOptimizer) = Self.trained(seed: 2)
    try Checkpoint.load(into: &restored, optimizer: &restoredOptimizer, from: url)
    #expect(restored.parameters == model.parameters)
    #expect(restored.state == model.state && model.state["1.runningMean"] != Tensor(zeros: [4]))
    // In inference the restored model computes what the saved one does.
    model.mode = .inference
    restored.mode = .inference
    let x = randomMatrix(3, 3, seed: 7)
    #expect(restored(x) == model(x))
  }

  @Test("A checkpoint without a model's state throws missingTensor and changes nothing")
  func missingState() throws {
    let directory = ScratchDirectory()
    let url = directory.file("plain.safetensors")
    var rng = SeededGenerator(seed: 3)
    let plain = Sequential<Double>(
      Dense(inputSize: 4, outputSize: 4, using: &rng), LayerNorm(featureCount: 4))
    try Checkpoint.save(model: plain, to: url)
    var withBatchNorm = Sequential<Double>(
      Dense(inputSize: 4, outputSize: 4, using: &rng), BatchNorm(featureCount: 4))
    let before = (withBatchNorm.parameters, withBatchNorm.state)
    #expect(throws: CheckpointError.missingTensor(name: "model.1.runningMean")) {
      try Checkpoint.load(into: &withBatchNorm, from: url)
    }
    #expect(withBatchNorm.parameters == before.0 && withBatchNorm.state == before.1)
  }

  @Test("A saved state tensor the model does not keep is unexpected")
  func unexpectedState() throws {
    let directory = ScratchDirectory()
    let url = directory.file("bn.safetensors")
    try Checkpoint.save(model: Sequential<Double>(BatchNorm(featureCount: 2)), to: url)
    var layerNorm = Sequential<Double>(LayerNorm(featureCount: 2))
    #expect(throws: CheckpointError.self) { try Checkpoint.load(into: &layerNorm, from: url) }
  }
}
