import AutodiffNN
import Foundation
import Testing

/// The code of the article "Training a classifier", compiled and run (see ArticleSnippets.swift).
@Suite struct TrainingAClassifierTests {
  @Test(
    "Two spirals: data from Swift arrays, a model, minibatches with Adam, early stopping, a checkpoint"
  )
  func trainingAClassifier() throws {
    let directory = ScratchDirectory()
    // snippet: spiral-data
    // Two interleaved spirals, 200 points each, as plain Swift arrays.
    var rng = SeededGenerator(seed: 1)
    var points: [Float] = []
    var classes: [Int] = []
    for index in 0..<400 {
      let label = index % 2
      let t = Float(index / 2) / 200 * 3 * Float.pi  // up to 1.5 turns
      let radius = 0.2 + t / 3
      let angle = t + Float(label) * Float.pi
      points += [
        radius * Float.cos(angle) + 0.03 * Float.random(in: -1...1, using: &rng),
        radius * Float.sin(angle) + 0.03 * Float.random(in: -1...1, using: &rng),
      ]
      classes.append(label)
    }
    let dataset = LabeledDataset(
      inputs: Tensor(shape: [400, 2], scalars: points), labels: classes)
    let (training, validation) = dataset.split(fraction: 0.8, seed: 2)  // 320 and 80 points
    // end snippet
    #expect(training.count == 320 && validation.count == 80)

    // snippet: spiral-model
    var model = Sequential<Float>(
      Dense(inputSize: 2, outputSize: 64, activation: .relu, using: &rng),
      Dense(inputSize: 64, outputSize: 64, activation: .relu, using: &rng),
      Dropout(rate: 0.05, using: &rng),
      Dense(inputSize: 64, outputSize: 2, initialization: .glorotUniform, using: &rng))
    print(model.summary(inputShape: [32, 2]))
    // end snippet
    #expect(model.summary(inputShape: [32, 2]).parameterCount == 192 + 4160 + 130)

    // snippet: spiral-training
    var optimizer = Adam(for: model.parameters, learningRate: 0.01)
    var best = (loss: Float.infinity, epoch: 0, parameters: model.parameters)
    for epoch in 1...300 {
      model.mode = .training
      for (inputs, labels) in training.shuffled(using: &rng).batches(ofSize: 32) {
        let (_, gradients) = valueWithGradient(at: model.parameters) { parameters in
          let logits = model.replacingParameters(with: parameters)(inputs)
          return softmaxCrossEntropy(logits: logits, labels: labels)
        }
        optimizer.update(&model.parameters, along: gradients)
      }
      // Evaluate without dropout; stop when the validation loss has not improved for 30 epochs.
      model.mode = .inference
      let logits = model(validation.inputs)
      let loss = softmaxCrossEntropy(logits: logits, labels: validation.labels).scalar
      if loss < best.loss {
        best = (loss, epoch, model.parameters)
      } else if epoch - best.epoch >= 30 {
        break
      }
    }
    model.parameters = best.parameters
    let validationAccuracy = accuracy(logits: model(validation.inputs), labels: validation.labels)
    // end snippet
    #expect(validationAccuracy >= 0.95, "validation accuracy \(validationAccuracy)")
    #expect(best.epoch < 300)

    // snippet: spiral-one-cycle
    // AdamW with a one-cycle schedule: the rate rises, then falls, over all the steps.
    let epochs = 40
    let schedule = LearningRateSchedule<Float>.oneCycle(
      maximum: 0.02, totalSteps: epochs * training.count / 32)
    var cycled = Sequential<Float>(
      Dense(inputSize: 2, outputSize: 64, activation: .relu, using: &rng),
      Dense(inputSize: 64, outputSize: 64, activation: .relu, using: &rng),
      Dense(inputSize: 64, outputSize: 2, initialization: .glorotUniform, using: &rng))
    var adamW = AdamW(for: cycled.parameters, weightDecay: 1e-4)
    for _ in 0..<epochs {
      for (inputs, labels) in training.shuffled(using: &rng).batches(ofSize: 32) {
        adamW.learningRate = schedule(adamW.step)
        let gradients = gradient(at: cycled.parameters) { parameters in
          let logits = cycled.replacingParameters(with: parameters)(inputs)
          return softmaxCrossEntropy(logits: logits, labels: labels)
        }
        adamW.update(&cycled.parameters, along: gradients)
      }
    }
    let cycledAccuracy = accuracy(logits: cycled(validation.inputs), labels: validation.labels)
    // end snippet
    #expect(cycledAccuracy >= 0.95, "one-cycle validation accuracy \(cycledAccuracy)")
    #expect(adamW.step == 400 && schedule(adamW.step - 1) < 1e-6)

    let url = directory.file("spiral.safetensors")
    // snippet: spiral-checkpoint
    try Checkpoint.save(
      model: model, optimizer: optimizer, metadata: ["epoch": "\(best.epoch)"], to: url)

    // Later, or in another program: the same architecture, then the saved values.
    var restored = Sequential<Float>(
      Dense(inputSize: 2, outputSize: 64, activation: .relu, using: &rng),
      Dense(inputSize: 64, outputSize: 64, activation: .relu, using: &rng),
      Dropout(rate: 0.05, using: &rng),
      Dense(inputSize: 64, outputSize: 2, initialization: .glorotUniform, using: &rng))
    var restoredOptimizer = Adam(for: restored.parameters, learningRate: 0.01)
    let metadata = try Checkpoint.load(into: &restored, optimizer: &restoredOptimizer, from: url)
    restored.mode = .inference
    // restored(x) == model(x) for every x; metadata["epoch"] is the best epoch.
    // end snippet
    #expect(restored(validation.inputs) == model(validation.inputs))
    #expect(metadata["epoch"] == "\(best.epoch)" && restoredOptimizer.step == optimizer.step)
  }
}
