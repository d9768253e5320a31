import ArgumentParser
import AutodiffDistributed
import AutodiffNN
import Foundation

/// Trains a 784-256-128-10 ReLU network on Fashion-MNIST with softmax cross-entropy and Adam,
/// printing each epoch's training loss, test accuracy and time, and writing a checkpoint and an
/// SVG chart of the curves.
///
/// With `--distributed`, under `mpirun -np N`, the N processes train the same model together:
/// each takes its share of every batch, and their gradients are averaged (see
/// AutodiffDistributed). Rank 0 prints, and writes the checkpoint and the chart.
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

  @Flag(
    help: """
      Train data-parallel over the processes of an MPI job: start it with mpirun -np N. Each \
      rank takes its share of every batch; rank 0 prints and writes the checkpoint and chart.
      """)
  var distributed = false

  func validate() throws {
    guard epochs > 0 else { throw ValidationError("--epochs must be at least 1") }
    guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
    guard learningRate > 0 else { throw ValidationError("--learning-rate must be positive") }
  }

  func run() throws {
    guard distributed else { return try train(context: nil) }
    let context = MPIContext.initialize()
    context.announceTermination(
      "fashion-mnist: \(context.name): stopped by mpirun: another rank failed (its message is "
        + "above) or the job was interrupted")
    // The ranks on one machine share its cores: one BLAS thread per core and rank, unless the
    // user chose.
    if ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil {
      BLAS.setThreadCount(
        max(1, ProcessInfo.processInfo.activeProcessorCount / context.localSize))
    }
    do {
      try train(context: context)
    } catch {
      context.abort("fashion-mnist: \(context.name): \(error)")
    }
    context.finalize()
  }

  /// BLAS's threads and kernels, for the job's first line.
  private var blasSetting: String {
    let replaced = BLAS.replacedCoreName.map { ", chosen over OpenBLAS's generic \($0)" } ?? ""
    return "\(BLAS.threadCount) BLAS threads (\(BLAS.coreName) kernels\(replaced))"
  }

  /// The job: in one process when `context` is nil, else as one rank of a data-parallel job.
  private func train(context: MPIContext?) throws {
    let isRoot = context?.isRoot ?? true
    let (training, test, standardization) = try onEveryRank(context) { try loadData() }
    var rng = SeededGenerator(seed: seed)
    var model = Sequential<Float>(
      Dense(inputSize: 784, outputSize: 256, activation: relu, using: &rng),
      Dense(inputSize: 256, outputSize: 128, activation: relu, using: &rng),
      Dense(inputSize: 128, outputSize: 10, initialization: .glorotUniform, using: &rng))
    var optimizer = Adam(for: model.parameters, learningRate: learningRate)
    let stepsPerEpoch = (training.count + batchSize - 1) / batchSize
    let schedule = LearningRateSchedule.cosineAnnealing(
      initial: learningRate, totalSteps: epochs * stepsPerEpoch)

    if let context {
      do {
        try context.requireAgreement(on: [
          "model": "784-256-128-10 Float", "seed": "\(seed)", "batch size": "\(batchSize)",
          "epochs": "\(epochs)", "learning rate": "\(learningRate)", "resume": "\(resume)",
          "training set": fingerprint(training, standardization),
          "test set": fingerprint(test, nil),
        ])
      } catch {
        context.exit(failure: "fashion-mnist: \(context.name): \(error)")
      }
    }

    var history = TrainingHistory()
    let checkpointURL = URL(fileURLWithPath: checkpoint)
    if resume {
      // Only rank 0 reads the checkpoint: it holds the whole model and optimizer, which
      // `synchronize` below gives every rank, so a run resumes on any number of ranks.
      var problem = ""
      if isRoot {
        do {
          let metadata = try Checkpoint.load(
            into: &model, optimizer: &optimizer, from: checkpointURL)
          history = try TrainingHistory(metadata: metadata)
        } catch {
          problem = "cannot resume from \(checkpoint): \(error)"
        }
      }
      if let context {
        problem = context.broadcast(problem)
        if !problem.isEmpty { context.exit(failure: "fashion-mnist: \(context.name): \(problem)") }
        history = try TrainingHistory(metadata: ["history": context.broadcast(history.json)])
      } else if !problem.isEmpty {
        throw failure(problem)
      }
      if isRoot { print("Resuming after epoch \(history.epochs.count) from \(checkpoint)") }
    }
    if let context {
      do {
        try context.synchronize(&model, optimizer: &optimizer)
      } catch {
        context.exit(failure: "fashion-mnist: \(context.name): \(error)")
      }
    }

    if let context {
      if isRoot {
        print(
          "Training 784-256-128-10 on \(training.count) images, testing on \(test.count); batch "
            + "\(batchSize) split over \(context.size) ranks, Adam at \(learningRate) with cosine "
            + "decay, seed \(seed), \(blasSetting) per rank")
      }
    } else {
      print(
        "Training 784-256-128-10 on \(training.count) images, testing on \(test.count); batch "
          + "\(batchSize), Adam at \(learningRate) with cosine decay, seed \(seed), "
          + "\(blasSetting)")
    }
    for epoch in history.epochs.count..<epochs {
      // Each epoch's order depends only on the seed and the epoch, so a resumed run sees the
      // same batches as an uninterrupted one, and every rank sees the same batches.
      var shuffleGenerator = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
      let batches = training.shuffled(using: &shuffleGenerator).batches(ofSize: batchSize)
      var progress =
        isRoot
        ? Progress(epoch: epoch + 1, of: epochs, steps: batches.count, live: context == nil) : nil
      let start = Date()
      var lossSum = 0.0
      for (index, batch) in batches.enumerated() {
        optimizer.learningRate = schedule(epoch * stepsPerEpoch + index)
        let current = model
        func batchLoss(_ parameters: [Tensor<Float>], _ inputs: Tensor<Float>, _ labels: [Int])
          -> Tensor<Float>
        {
          softmaxCrossEntropy(
            logits: current.replacingParameters(with: parameters)(inputs), labels: labels)
        }
        let (loss, gradients): (Float, [Tensor<Float>])
        if let context {
          // This rank's rows of the batch; the gradients come back averaged over all rows.
          (loss, gradients) = context.valueWithGradient(
            at: model.parameters, on: batch, of: batchLoss)
        } else {
          let result = valueWithGradient(at: model.parameters) {
            batchLoss($0, batch.inputs, batch.labels)
          }
          (loss, gradients) = (result.value.scalar, result.gradient)
        }
        optimizer.update(&model.parameters, along: gradients)
        lossSum += Double(loss)
        progress?.advance(loss: lossSum / Double(index + 1))
      }
      let seconds = Date().timeIntervalSince(start)
      guard isRoot, let progress else { continue }
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
        if let context {
          context.abort("fashion-mnist: \(context.name): cannot write results: \(error)")
        }
        throw failure("cannot write results: \(error)")
      }
    }
    guard isRoot else { return }
    let final = history.epochs.last!
    print(
      "Test accuracy: \(String(format: "%.4f", final.testAccuracy)) after \(epochs) epochs "
        + "(checkpoint \(checkpoint), chart \(chart))")
  }

  /// Runs `body` on every rank. In one process, a thrown error is printed and ends the command;
  /// in a job, the ranks compare notes, and if `body` threw on any rank, every rank stops with
  /// the failing ranks' errors.
  private func onEveryRank<T>(_ context: MPIContext?, _ body: () throws -> T) throws -> T {
    let result = Result { try body() }
    guard let context else {
      do { return try result.get() } catch { throw failure("\(error)") }
    }
    var problem = ""
    if case .failure(let error) = result { problem = "\(error)" }
    let problems = context.allgather(problem).enumerated().filter { !$0.element.isEmpty }
    if !problems.isEmpty {
      context.exit(
        failure: problems.map { rank, problem in
          rank == context.rank
            ? "fashion-mnist: \(context.name): \(problem)"
            : "fashion-mnist: \(context.name): stopping because rank \(rank) failed: \(problem)"
        }
        .joined(separator: "\n"))
    }
    return try result.get()
  }

  /// What the ranks compare of a data set: its size, its labels' hash and, for the training
  /// set, the standardization's statistics, which differ if any image differs.
  private func fingerprint(
    _ set: LabeledDataset<Float>, _ standardization: Standardization<Float>?
  ) -> String {
    // FNV-1a over the labels.
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for label in set.labels {
      hash = (hash ^ UInt64(truncatingIfNeeded: label)) &* 0x100_0000_01b3
    }
    var text = "\(set.count) examples, labels #\(String(hash, radix: 16))"
    if let standardization {
      text +=
        ", mean \(standardization.mean.scalars[0]), "
        + "standard deviation \(standardization.standardDeviation.scalars[0])"
    }
    return text
  }

  /// The training and test sets, standardized with the training set's statistics, and those
  /// statistics.
  private func loadData() throws -> (
    LabeledDataset<Float>, LabeledDataset<Float>, Standardization<Float>
  ) {
    let loaded = try FashionMNIST.load(from: URL(fileURLWithPath: data), as: Float.self)
    let standardization = Standardization(fittedTo: loaded.training.inputs, perFeature: false)
    return (
      loaded.training.standardized(by: standardization),
      loaded.test.standardized(by: standardization),
      standardization
    )
  }

  /// Prints `message` to standard error and returns the error that ends the command with
  /// status 1.
  private func failure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("fashion-mnist: \(message)\n".utf8))
    return ExitCode.failure
  }
}
