import AutodiffNN
import Foundation
import Testing

@Suite struct CheckpointTests {
  /// A model and an optimizer that has taken two steps, so its state is not all zeros.
  static func trained(seed: UInt64) -> (TinyAffine<Float>, TinyMomentum<Float>) {
    var model = TinyAffine<Float>(inputs: 3, outputs: 2, seed: seed)
    var optimizer = TinyMomentum(for: model.parameters, learningRate: 0.1)
    for _ in 0..<2 {
      let gradients = model.parameters.map { $0 * 0.5 + 1 }
      optimizer.update(&model.parameters, along: gradients)
    }
    return (model, optimizer)
  }

  @Test("A model and optimizer round-trip exactly, with metadata")
  func roundTrip() throws {
    let directory = ScratchDirectory()
    let url = directory.file("checkpoint.safetensors")
    let (model, optimizer) = Self.trained(seed: 1)
    try Checkpoint.save(model: model, optimizer: optimizer, metadata: ["epoch": "2"], to: url)

    let names = try SafeTensors(contentsOf: url).entries.map(\.name).sorted()
    #expect(
      names == [
        "model.bias", "model.weight", "optimizer.step", "optimizer.velocity.0",
        "optimizer.velocity.1",
      ])

    var (restoredModel, restoredOptimizer) = Self.trained(seed: 2)
    let metadata = try Checkpoint.load(
      into: &restoredModel, optimizer: &restoredOptimizer, from: url)
    #expect(metadata == ["epoch": "2"])
    #expect(restoredModel.parameters == model.parameters)
    #expect(restoredOptimizer.velocities == optimizer.velocities)
    #expect(restoredOptimizer.step == 2)
  }

  @Test("A model alone round-trips, and a model-only load ignores optimizer state")
  func modelOnly() throws {
    let directory = ScratchDirectory()
    let (model, optimizer) = Self.trained(seed: 1)
    let withOptimizer = directory.file("full.safetensors")
    let withoutOptimizer = directory.file("model.safetensors")
    try Checkpoint.save(model: model, optimizer: optimizer, to: withOptimizer)
    try Checkpoint.save(model: model, metadata: ["note": "weights only"], to: withoutOptimizer)

    var restored = TinyAffine<Float>(inputs: 3, outputs: 2, seed: 9)
    try Checkpoint.load(into: &restored, from: withOptimizer)
    #expect(restored.parameters == model.parameters)
    restored = TinyAffine<Float>(inputs: 3, outputs: 2, seed: 9)
    #expect(
      try Checkpoint.load(into: &restored, from: withoutOptimizer) == ["note": "weights only"])
    #expect(restored.parameters == model.parameters)
  }

  @Test("A wrong-shape tensor throws shapeMismatch naming it, and changes nothing")
  func wrongShape() throws {
    let directory = ScratchDirectory()
    let url = directory.file("small.safetensors")
    let (small, smallOptimizer) = Self.trained(seed: 1)
    try Checkpoint.save(model: small, optimizer: smallOptimizer, to: url)

    var model = TinyAffine<Float>(inputs: 4, outputs: 2, seed: 3)  // weight [4, 2], not [3, 2]
    var optimizer = TinyMomentum(for: model.parameters, learningRate: 0.1)
    optimizer.step = 5
    let (before, optimizerBefore) = (model.parameters, optimizer.state)
    let error = #expect(throws: CheckpointError.self) {
      try Checkpoint.load(into: &model, optimizer: &optimizer, from: url)
    }
    #expect(error == .shapeMismatch(name: "model.weight", expected: [4, 2], found: [3, 2]))
    #expect(error?.description.contains("'model.weight'") == true)
    #expect(model.parameters == before)
    #expect(optimizer.state.mapValues(\.scalars) == optimizerBefore.mapValues(\.scalars))
  }

  @Test("Optimizer state the optimizer rejects leaves the model unchanged too")
  func rejectedOptimizerState() throws {
    let directory = ScratchDirectory()
    let url = directory.file("model-only.safetensors")
    let (saved, _) = Self.trained(seed: 1)
    try Checkpoint.save(model: saved, to: url)  // no optimizer state at all

    var (model, optimizer) = Self.trained(seed: 2)
    let before = model.parameters
    let error = #expect(throws: CheckpointError.self) {
      try Checkpoint.load(into: &model, optimizer: &optimizer, from: url)
    }
    #expect(error == .missingTensor(name: "optimizer.step"))
    #expect(model.parameters == before)
  }

  @Test("A checkpoint of another precision throws dtypeMismatch naming the tensor")
  func otherPrecision() throws {
    let directory = ScratchDirectory()
    let url = directory.file("double.safetensors")
    try Checkpoint.save(model: TinyAffine<Double>(inputs: 3, outputs: 2, seed: 1), to: url)
    var model = TinyAffine<Float>(inputs: 3, outputs: 2, seed: 2)
    let before = model.parameters
    let error = #expect(throws: CheckpointError.self) {
      try Checkpoint.load(into: &model, from: url)
    }
    #expect(error == .dtypeMismatch(name: "model.weight", expected: "F32", found: "F64"))
    #expect(model.parameters == before)
  }

  @Test("Missing and unexpected parameters are named")
  func differentArchitecture() throws {
    let directory = ScratchDirectory()
    let url = directory.file("c.safetensors")
    var tensors = ["model.weight": Tensor<Float>(zeros: [3, 2])]
    try SafeTensors.write(tensors, to: url)
    var model = TinyAffine<Float>(inputs: 3, outputs: 2, seed: 2)
    #expect(throws: CheckpointError.missingTensor(name: "model.bias")) {
      try Checkpoint.load(into: &model, from: url)
    }
    tensors["model.bias"] = Tensor(zeros: [2])
    tensors["model.extra"] = Tensor(zeros: [1])
    try SafeTensors.write(tensors, to: url)
    let error = #expect(throws: CheckpointError.self) {
      try Checkpoint.load(into: &model, from: url)
    }
    #expect(error == .unexpectedTensor(name: "model.extra"))
    #expect(error?.description.contains("'model.extra'") == true)
  }

  @Test("Loading a missing file throws fileNotFound")
  func missingFile() {
    let url = ScratchDirectory().file("none.safetensors")
    var model = TinyAffine<Float>(inputs: 3, outputs: 2, seed: 2)
    #expect(throws: CheckpointError.fileNotFound(path: url.path)) {
      try Checkpoint.load(into: &model, from: url)
    }
  }
}
