import ArgumentParser
import AutodiffNN
import Foundation

/// Trains a 784-256-128-10 ReLU network on Fashion-MNIST with softmax cross-entropy and Adam,
/// printing each epoch's training loss, test accuracy and time, and writing a checkpoint and an
/// SVG chart of the curves.
@main
struct FashionMNISTCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fashion-mnist",
    abstract: "Train a 784-256-128-10 network on Fashion-MNIST and report its test accuracy.")

  @Option(help: "The folder holding the four Fashion-MNIST IDX files (gzipped or not).")
  var data = FashionMNIST.defaultDirectory.path

  @Option(help: "The number of passes over the training set.")
  var epochs = 20

  @Option(help: "The number of examples per training step.")
  var batchSize = 128

  @Option(help: "Adam's initial step size; it decays to 0 along a cosine over the run.")
  var learningRate: Float = 1e-3

  @Option(help: "The seed of the weights' initialization and of the shuffling.")
  var seed: UInt64 = 42

  @Option(help: "Where to write the checkpoint (safetensors) after each epoch.")
  var checkpoint = "fashion-mnist.safetensors"

  @Flag(help: "Continue from the checkpoint instead of starting anew.")
  var resume = false

  @Option(help: "Where to write the SVG chart of the loss and accuracy curves.")
  var chart = "fashion-mnist.svg"

  func validate() throws {
    guard epochs > 0 else { throw ValidationError("--epochs must be at least 1") }
    guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
    guard learningRate > 0 else { throw ValidationError("--learning-rate must be positive") }
  }

  func run() throws {
    let (training, test) = try loadData()
    var rng = SeededGenerator(seed: seed)
    var model = Sequential<Float>(
      Dense(inputSize: 784, outputSize: 256, activation: relu, using: &rng),
      Dense(inputSize: 256, outputSize: 128, activation: relu, using: &rng),
      Dense(inputSize: 128, outputSize: 10, initialization: .glorotUniform, using: &rng))
    var optimizer = Adam(for: model.parameters, learningRate: learningRate)
    let stepsPerEpoch = (training.count + batchSize - 1) / batchSize
    let schedule = LearningRateSchedule.cosineAnnealing(
      initial: learningRate, totalSteps: epochs * stepsPerEpoch)

    var history = TrainingHistory()
    let checkpointURL = URL(fileURLWithPath: checkpoint)
    if resume {
      do {
        let metadata = try Checkpoint.load(into: &model, optimizer: &optimizer, from: checkpointURL)
        history = try TrainingHistory(metadata: metadata)
      } catch {
        throw failure("cannot resume from \(checkpoint): \(error)")
      }
      print("Resuming after epoch \(history.epochs.count) from \(checkpoint)")
    }

    print(
      "Training 784-256-128-10 on \(training.count) images, testing on \(test.count); batch "
        + "\(batchSize), Adam at \(learningRate) with cosine decay, seed \(seed), "
        + "\(BLAS.threadCount) BLAS threads")
    for epoch in history.epochs.count..<epochs {
      // Each epoch's order depends only on the seed and the epoch, so a resumed run sees the
      // same batches as an uninterrupted one.
      var shuffleGenerator = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
      let batches = training.shuffled(using: &shuffleGenerator).batches(ofSize: batchSize)
      var progress = Progress(epoch: epoch + 1, of: epochs, steps: batches.count)
      let start = Date()
      var lossSum = 0.0
      for (index, batch) in batches.enumerated() {
        optimizer.learningRate = schedule(epoch * stepsPerEpoch + index)
        let (loss, gradients) = valueWithGradient(at: model.parameters) { parameters in
          var model = model
          model.parameters = parameters
          return softmaxCrossEntropy(logits: model(batch.inputs), labels: batch.labels)
        }
        optimizer.update(&model.parameters, along: gradients)
        lossSum += Double(loss.scalar)
        progress.advance(loss: lossSum / Double(index + 1))
      }
      let seconds = Date().timeIntervalSince(start)
      let testAccuracy = accuracy(logits: model(test.inputs), labels: test.labels)
      let record = EpochRecord(
        trainingLoss: lossSum / Double(batches.count), testAccuracy: testAccuracy,
        seconds: seconds)
      history.epochs.append(record)
      progress.finish(record)

      do {
        try Checkpoint.save(
          model: model, optimizer: optimizer, metadata: history.metadata, to: checkpointURL)
        try writeAtomically(history.svgChart(), to: URL(fileURLWithPath: chart))
      } catch {
        throw failure("cannot write results: \(error)")
      }
    }
    let final = history.epochs.last!
    print(
      "Test accuracy: \(String(format: "%.4f", final.testAccuracy)) after \(epochs) epochs "
        + "(checkpoint \(checkpoint), chart \(chart))")
  }

  /// The training and test sets, standardized with the training set's statistics.
  private func loadData() throws -> (LabeledDataset<Float>, LabeledDataset<Float>) {
    let loaded: (training: LabeledDataset<Float>, test: LabeledDataset<Float>)
    do {
      loaded = try FashionMNIST.load(from: URL(fileURLWithPath: data), as: Float.self)
    } catch {
      throw failure("\(error)")
    }
    let standardization = Standardization(fittedTo: loaded.training.inputs, perFeature: false)
    return (
      loaded.training.standardized(by: standardization),
      loaded.test.standardized(by: standardization)
    )
  }

  /// Prints `message` to standard error and returns the error that ends the command with
  /// status 1.
  private func failure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("fashion-mnist: \(message)\n".utf8))
    return ExitCode.failure
  }
}
