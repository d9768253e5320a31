import ArgumentParser
import AutodiffDistributed
import AutodiffNN
import Foundation

/// Trains a multilayer perceptron (784-256-128-10 ReLU by default) on Fashion-MNIST with
/// softmax cross-entropy, printing each epoch's training and test loss and accuracy, and writing
/// a checkpoint, an SVG chart of the curves and a CSV log after each epoch.
///
/// Every option and output path is checked before the data is read, and the checkpoint before
/// any training: a new run does not overwrite another run's checkpoint unless told to, and a
/// resumed run refuses other options than its checkpoint's unless told to. A loss or gradient
/// that stops being finite ends the run at once, leaving the last good checkpoint.
///
/// With `--distributed`, under `mpirun -np N`, the N processes train the same model together:
/// each takes its share of every batch, and their gradients are averaged (see
/// AutodiffDistributed). Rank 0 checks the files, prints, and writes the outputs.
@main
struct FashionMNISTCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fashion-mnist",
    abstract: "Train a multilayer perceptron on Fashion-MNIST and report its test accuracy.",
    discussion: """
      After each epoch it writes the checkpoint, the chart and the CSV log. An existing \
      checkpoint is continued with --resume (with the options it was trained with, unless \
      --allow-changes) or replaced with --overwrite, never silently.

      Exit status: 0 when the run ends or has nothing to do; 64 for options that cannot be \
      used (a value out of range, an output that cannot be written, a checkpoint in the way, \
      options that differ from the checkpoint's); 1 when training fails (unreadable data or \
      checkpoint, a loss or gradient that is no longer finite).
      """)

  @Option(help: "The folder holding the four Fashion-MNIST IDX files (gzipped or not).")
  var data = FashionMNIST.defaultDirectory.path

  @Option(parsing: .unconditional, help: "The number of passes over the training set.")
  var epochs = 20

  @Option(parsing: .unconditional, help: "The number of examples per training step.")
  var batchSize = 128

  @Option(help: "The hidden layers' sizes, separated by commas; none for a linear model.")
  var hidden = "256,128"

  @Option(help: "The function after each hidden layer.")
  var activation = Activation.relu

  @Option(
    parsing: .unconditional,
    help: "The probability of dropping each hidden unit while training, in [0, 1); 0 for none.")
  var dropout: Float = 0

  @Flag(help: "Normalize each hidden layer's activations over the batch (BatchNorm).")
  var batchNorm = false

  @Option(help: "The update rule.")
  var optimizer = OptimizerKind.adam

  @Option(
    parsing: .unconditional,
    help: """
      The initial step size, decaying to 0 along a cosine over the run (default: 0.001 for \
      adam and adamw, 0.05 for sgd).
      """)
  var learningRate: Float?

  @Option(parsing: .unconditional, help: "SGD's momentum, in [0, 1) (default: 0.9; sgd only).")
  var momentum: Float?

  @Option(
    parsing: .unconditional,
    help: """
      The weight decay: an L2 term for adam and sgd, decoupled for adamw (default: 0, 0.01 \
      for adamw).
      """)
  var weightDecay: Float?

  @Option(
    parsing: .unconditional, help: "The seed of the weights' initialization and of the shuffling.")
  var seed: UInt64 = 42

  @Option(help: "Where to write the checkpoint (safetensors) after each epoch.")
  var checkpoint = defaultFileName(for: "checkpoint")

  @Flag(help: "Continue the run whose checkpoint is at --checkpoint.")
  var resume = false

  @Flag(help: "Replace an existing checkpoint with this new run's.")
  var overwrite = false

  @Flag(help: "With --resume: continue with options other than the checkpoint's.")
  var allowChanges = false

  @Option(help: "Where to write the SVG chart of the loss, accuracy and learning rate.")
  var chart = defaultFileName(for: "chart")

  @Option(
    help: ArgumentHelp(
      """
      Where to write the CSV log of every epoch (default: beside the chart, its name ending \
      in -history.csv: fashion-mnist-history.csv).
      """, valueName: "history"))
  var history: String?

  @Flag(help: "Print the model's layers, output shapes, parameters and FLOPs, and exit.")
  var summary = false

  @Flag(
    help: """
      Train data-parallel over the processes of an MPI job: start it with mpirun -np N. Each \
      rank takes its share of every batch; rank 0 prints and writes the outputs.
      """)
  var distributed = false

  /// The default file of an output option.
  static func defaultFileName(for option: String) -> String {
    switch option {
    case "checkpoint": "fashion-mnist.safetensors"
    case "chart": "fashion-mnist.svg"
    default: "fashion-mnist-history.csv"
    }
  }

  func validate() throws {
    guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
    guard batchSize > 0 else {
      throw ValidationError("--batch-size must be positive, got \(batchSize)")
    }
    _ = try hiddenSizes()
    guard dropout.isFinite && dropout >= 0 && dropout < 1 else {
      throw ValidationError("--dropout must lie in [0, 1), got \(dropout)")
    }
    if let learningRate, !(learningRate.isFinite && learningRate > 0) {
      throw ValidationError("--learning-rate must be a positive number, got \(learningRate)")
    }
    if let momentum {
      guard optimizer == .sgd else {
        throw ValidationError("--momentum applies to --optimizer sgd only, not \(optimizer)")
      }
      guard (0..<1).contains(momentum) else {
        throw ValidationError("--momentum must lie in [0, 1), got \(momentum)")
      }
    }
    if let weightDecay, !(weightDecay.isFinite && weightDecay >= 0) {
      throw ValidationError("--weight-decay must be 0 or more, got \(weightDecay)")
    }
    guard !(resume && overwrite) else {
      throw ValidationError(
        "--resume continues the checkpoint and --overwrite replaces it: pass one of them")
    }
    guard resume || !allowChanges else {
      throw ValidationError("--allow-changes applies to --resume only")
    }
    let paths = outputs.all.map { URL(fileURLWithPath: $0.path).standardizedFileURL.path }
    if Set(paths).count < paths.count {
      throw ValidationError(
        "--checkpoint, --chart and --history must name three different files, got "
          + outputs.all.map(\.path).joined(separator: ", "))
    }
  }

  /// The sizes of `--hidden`.
  private func hiddenSizes() throws -> [Int] {
    if hidden == "none" { return [] }
    let sizes = hidden.split(separator: ",", omittingEmptySubsequences: false).map {
      Int($0.trimmingCharacters(in: .whitespaces))
    }
    guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
      throw ValidationError(
        "--hidden must be positive layer sizes separated by commas, such as 256,128, or none; "
          + "got '\(hidden)'")
    }
    return sizes.map { $0! }
  }

  /// The options with their defaults resolved (after ``validate()``).
  var runConfiguration: RunConfiguration {
    RunConfiguration(
      hidden: (try? hiddenSizes()) ?? [], activation: activation, optimizer: optimizer,
      learningRate: learningRate ?? optimizer.defaultLearningRate,
      momentum: optimizer == .sgd ? momentum ?? 0.9 : nil,
      weightDecay: weightDecay ?? optimizer.defaultWeightDecay, batchSize: batchSize,
      epochs: epochs, seed: seed, dropout: dropout, batchNorm: batchNorm)
  }

  var outputs: Outputs {
    let historyPath =
      history
      ?? (chart.hasSuffix(".svg") ? String(chart.dropLast(4)) : chart) + "-history.csv"
    return Outputs(
      checkpoint: OutputFile(option: "checkpoint", path: checkpoint),
      chart: OutputFile(option: "chart", path: chart),
      history: OutputFile(option: "history", path: historyPath))
  }

  func run() throws {
    if summary {
      var generator = SeededGenerator(seed: seed)
      let model = runConfiguration.makeModel(using: &generator)
      print(model.summary(inputShape: [batchSize, FashionMNIST.featureCount]))
      return
    }
    guard distributed else {
      do {
        try train(context: nil)
      } catch {
        if error.status == 0 {
          print(error.message)
        } else {
          FileHandle.standardError.write(Data("fashion-mnist: \(error.message)\n".utf8))
        }
        throw ExitCode(error.status)
      }
      return
    }
    let context = MPIContext.initialize()
    context.announceTermination(
      "fashion-mnist: \(context.name): stopped by mpirun: another rank failed (its message is "
        + "above) or the job was interrupted")
    // The ranks on one machine share its cores, unless the user chose the thread counts.
    context.shareCores()
    do {
      try train(context: context)
    } catch  where error.status == 0 {
      if context.isRoot { print(error.message) }
    } catch  where error.everyRank {
      FileHandle.standardError.write(
        Data("fashion-mnist: \(context.name): \(error.message)\n".utf8))
      context.finalize()
      Foundation.exit(error.status)
    } catch {
      context.abort("fashion-mnist: \(context.name): \(error.message)", code: error.status)
    }
    context.finalize()
  }
}
