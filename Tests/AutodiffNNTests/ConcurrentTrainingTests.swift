import AutodiffNN
import Testing

/// Models, optimizers and checkpoints on concurrent tasks: each task trains its own model with
/// its own tapes, and gets the very bits a serial run gets.
@Suite struct ConcurrentTrainingTests {
  struct Outcome: Equatable, Sendable {
    var losses: [Float]
    var parameters: [Tensor<Float>]
    var state: [String: Tensor<Float>]
  }

  /// 80 Adam steps of a 20-32-16-4 ReLU network on mini-batches drawn from `seed`, with a
  /// checkpoint round trip in the middle.
  static func train(seed: UInt64) throws -> Outcome {
    var rng = SeededGenerator(seed: seed)
    var model = Sequential<Float>(
      Dense(inputSize: 20, outputSize: 32, activation: relu, using: &rng),
      Dense(inputSize: 32, outputSize: 16, activation: relu, using: &rng),
      Dense(inputSize: 16, outputSize: 4, initialization: .glorotUniform, using: &rng))
    var optimizer = Adam(for: model.parameters, learningRate: 3e-3)
    let inputs = Tensor<Float>(randomNormal: [64, 20], using: &rng)
    let labels = (0..<64).map { _ in Int.random(in: 0..<4, using: &rng) }
    let directory = ScratchDirectory()
    var losses: [Float] = []
    for step in 0..<80 {
      let rows = (step % 4) * 16..<(step % 4 + 1) * 16
      let batch = inputs[rows]
      let batchLabels = Array(labels[rows])
      let (loss, gradients) = valueWithGradient(at: model.parameters) { parameters in
        var model = model
        model.parameters = parameters
        return softmaxCrossEntropy(logits: model(batch), labels: batchLabels)
      }
      optimizer.update(&model.parameters, along: gradients)
      losses.append(loss.scalar)
      if step == 40 {
        let url = directory.file("checkpoint.safetensors")
        try Checkpoint.save(model: model, optimizer: optimizer, to: url)
        try Checkpoint.load(into: &model, optimizer: &optimizer, from: url)
      }
    }
    return Outcome(losses: losses, parameters: model.parameters, state: optimizer.state)
  }

  @Test("Six models trained on concurrent tasks match their serial runs bit for bit")
  func concurrentModelsMatchSerial() async throws {
    let seeds: [UInt64] = [11, 12, 13]
    let serial = try seeds.map { try Self.train(seed: $0) }
    let concurrent = try await withThrowingTaskGroup(of: (Int, Outcome).self) { group in
      for (position, seed) in (seeds + seeds).enumerated() {
        group.addTask { (position, try Self.train(seed: seed)) }
      }
      var outcomes = [Outcome?](repeating: nil, count: 2 * seeds.count)
      for try await (position, outcome) in group { outcomes[position] = outcome }
      return outcomes
    }
    for (position, outcome) in concurrent.enumerated() {
      #expect(outcome == serial[position % seeds.count], "seed \(seeds[position % seeds.count])")
    }
    for outcome in serial { #expect(outcome.losses.suffix(4).max()! < outcome.losses[0]) }
  }
}
