import AutodiffDistributed
import AutodiffNN
import Foundation

/// The files a run writes after each epoch.
struct Outputs {
  var checkpoint: OutputFile
  var chart: OutputFile
  var history: OutputFile

  var all: [OutputFile] { [checkpoint, chart, history] }
}

/// The epochs of a run, from the first one its history lacks to the last one asked for: each
/// trains on every batch, evaluates on the test set, prints its row, and writes the checkpoint,
/// the chart and the CSV log. In a data-parallel job every rank runs it; rank 0 evaluates,
/// prints and writes.
struct TrainingLoop<Optimizer: AutodiffNN.Optimizer<Float>> {
  var configuration: RunConfiguration
  var context: MPIContext?
  var training: LabeledDataset<Float>
  var test: LabeledDataset<Float>
  var outputs: Outputs
  var model: Sequential<Float>
  var optimizer: Optimizer
  var history: TrainingHistory

  var isRoot: Bool { context?.isRoot ?? true }

  /// Trains the remaining epochs.
  ///
  /// - Throws: ``JobFailure`` when the loss or a gradient stops being finite (naming the epoch
  ///   and the batch; nothing of that epoch is written, so the checkpoint holds the last good
  ///   epoch), or when an output cannot be written.
  mutating func run() throws(JobFailure) {
    let batchSize = configuration.batchSize
    let stepsPerEpoch = (training.count + batchSize - 1) / batchSize
    let schedule = LearningRateSchedule.cosineAnnealing(
      initial: configuration.learningRate, totalSteps: configuration.epochs * stepsPerEpoch)
    for epoch in history.epochs.count..<configuration.epochs {
      // Each epoch's order depends only on the seed and the epoch, so a resumed run sees the
      // same batches as an uninterrupted one, and every rank sees the same batches.
      var shuffleGenerator = SeededGenerator(
        seed: configuration.seed &+ UInt64(epoch) &* 0x9E37_79B9)
      let batches = training.shuffled(using: &shuffleGenerator).batches(ofSize: batchSize)
      var progress =
        isRoot
        ? Progress(
          epoch: epoch + 1, of: configuration.epochs, steps: batches.count, live: context == nil)
        : nil
      let start = Date()
      var lossSum = 0.0
      var correct = 0
      for (index, batch) in batches.enumerated() {
        optimizer.learningRate = schedule(epoch * stepsPerEpoch + index)
        let (loss, gradients, batchCorrect) = step(on: batch)
        try checkFinite(
          loss: loss, gradients: gradients, epoch: epoch, batch: index, of: batches.count)
        optimizer.update(&model.parameters, along: gradients)
        lossSum += Double(loss)
        correct += batchCorrect
        progress?.advance(
          size: batch.labels.count, loss: lossSum / Double(index + 1),
          accuracy: Double(correct) / Double(min((index + 1) * batchSize, training.count)))
      }
      let seconds = Date().timeIntervalSince(start)
      if let context {
        // Each rank counted its own rows of every batch.
        correct = Int(context.allreduceSum([Tensor<Double>(Double(correct))])[0].scalar)
      }
      guard isRoot, let progress else { continue }

      // Dropout off and batch norm's running statistics in use for the test set, then back.
      model.mode = .inference
      let logits = model(test.inputs)
      model.mode = .training
      let record = EpochRecord(
        trainingLoss: lossSum / Double(batches.count),
        testAccuracy: accuracy(logits: logits, labels: test.labels), seconds: seconds,
        trainingAccuracy: Double(correct) / Double(training.count),
        testLoss: Double(softmaxCrossEntropy(logits: logits, labels: test.labels).scalar),
        learningRate: Double(schedule(epoch * stepsPerEpoch)))
      guard record.testLoss!.isFinite else {
        throw stopped(
          "the test loss became \(spelled(Float(record.testLoss!))) after epoch \(epoch + 1)",
          epoch: epoch)
      }
      history.epochs.append(record)
      progress.finish(record)
      try save()
    }
  }

  /// One training step's forward and backward pass: the batch's loss, the gradients (averaged
  /// over the ranks' rows in a job), and how many of this rank's rows the model got right,
  /// read from the logits the loss is computed from.
  private func step(
    on batch: (inputs: Tensor<Float>, labels: [Int])
  ) -> (loss: Float, gradients: [Tensor<Float>], correct: Int) {
    let current = model
    var correct = 0
    func batchLoss(_ parameters: [Tensor<Float>], _ inputs: Tensor<Float>, _ labels: [Int])
      -> Tensor<Float>
    {
      let logits = current.replacingParameters(with: parameters)(inputs)
      // The batch's predictions come free with its loss: training accuracy costs no pass.
      let fraction = accuracy(logits: withoutDerivative(at: logits), labels: labels)
      correct = Int((fraction * Double(labels.count)).rounded())
      return softmaxCrossEntropy(logits: logits, labels: labels)
    }
    if let context {
      // This rank's rows of the batch; the gradients come back averaged over all rows.
      let (loss, gradients) = context.valueWithGradient(
        at: model.parameters, on: batch, of: batchLoss)
      return (loss, gradients, correct)
    }
    let (loss, gradients) = valueWithGradient(at: model.parameters) {
      batchLoss($0, batch.inputs, batch.labels)
    }
    return (loss.scalar, gradients, correct)
  }

  /// Stops the run before an update that would make the model non-finite.
  private func checkFinite(
    loss: Float, gradients: [Tensor<Float>], epoch: Int, batch: Int, of batches: Int
  ) throws(JobFailure) {
    // Every rank has the same loss and gradients (averaged over the job), so they all stop here.
    let place = "at epoch \(epoch + 1), batch \(batch + 1) of \(batches)"
    var failure: JobFailure?
    if !loss.isFinite {
      failure = stopped("the training loss became \(spelled(loss)) \(place)", epoch: epoch)
    } else if let index = gradients.firstIndex(where: { !allFinite($0) }) {
      failure = stopped(
        "the gradient of \(model.parameterNames[index]) holds \(nonFiniteValue(gradients[index])) "
          + place, epoch: epoch)
    }
    if var failure {
      failure.everyRank = true
      throw failure
    }
  }

  /// The failure that stops a run whose numbers are no longer finite, saying what the
  /// checkpoint still holds and what to try.
  private func stopped(_ what: String, epoch: Int) -> JobFailure {
    let path = outputs.checkpoint.path
    let kept =
      epoch == 0
      ? "nothing of this run was saved"
      : "\(path) still holds epoch \(epoch), the last good one"
    let retry =
      epoch == 0
      ? "try a smaller --learning-rate (now \(configuration.learningRate))"
      : "try a smaller --learning-rate (now \(configuration.learningRate)) with --resume "
        + "--allow-changes"
    return JobFailure("\(what); stopped: \(kept); \(retry)")
  }

  /// Writes the checkpoint, the chart and the CSV log of the history so far.
  private func save() throws(JobFailure) {
    var metadata = history.metadata
    metadata[RunConfiguration.metadataKey] = configuration.optionsJSON
    do {
      try Checkpoint.save(
        model: model, optimizer: optimizer, metadata: metadata, to: outputs.checkpoint.url)
    } catch {
      throw JobFailure("\(error)")
    }
    try outputs.chart.write(TrainingChart(history: history, configuration: configuration).svg())
    try outputs.history.write(history.csv)
  }
}

/// Whether every element of `tensor` is finite: one branch-free pass over its bits (an exponent
/// of all ones is infinity or NaN), which the compiler vectorizes, so that checking every
/// gradient of every step costs little next to the step.
func allFinite(_ tensor: Tensor<Float>) -> Bool {
  tensor.withUnsafeBufferPointer { buffer in
    var exponentsAllOnes: UInt32 = 0
    for value in buffer {
      // Adding one below the exponent carries into the sign bit only from an exponent of all
      // ones.
      exponentsAllOnes |= ((value.bitPattern & 0x7F80_0000) &+ 0x0080_0000) & 0x8000_0000
    }
    return exponentsAllOnes == 0
  }
}

/// The first non-finite value of `tensor` and where it is: `NaN at element 17 of [784, 256]`.
func nonFiniteValue(_ tensor: Tensor<Float>) -> String {
  let scalars = tensor.scalars
  guard let index = scalars.firstIndex(where: { !$0.isFinite }) else {
    return "no non-finite value"
  }
  return "\(spelled(scalars[index])) at element \(index) of \(tensor.shape)"
}

/// `NaN`, `infinity` or `-infinity` for a non-finite value (whatever NaN's sign bit), the value
/// itself otherwise.
func spelled(_ value: Float) -> String {
  value.isNaN ? "NaN" : value.isInfinite ? (value < 0 ? "-infinity" : "infinity") : "\(value)"
}
