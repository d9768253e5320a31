import AutodiffDistributed
import AutodiffNN
import Foundation

extension FashionMNISTCommand {
  /// The job: in one process when `context` is nil, else as one rank of a data-parallel job.
  ///
  /// Its order puts every check before the slow parts: the output paths and the checkpoint
  /// (rank 0, shared with the others), then the data, then the model, then training.
  func train(context: MPIContext?) throws(JobFailure) {
    let isRoot = context?.isRoot ?? true
    let configuration = runConfiguration
    let outputs = self.outputs

    var start = CheckpointGuard.Start.fresh
    var problem: JobFailure?
    if isRoot {
      do {
        for output in outputs.all { try output.checkWritable() }
        start = try CheckpointGuard(
          checkpoint: outputs.checkpoint, configuration: configuration, resume: resume,
          overwrite: overwrite, allowChanges: allowChanges
        ).check()
      } catch {
        problem = error
      }
    }
    try shared(problem, context)

    let (training, test, standardization) = try onEveryRank(context) { () throws(JobFailure) in
      try loadData()
    }
    var generator = SeededGenerator(seed: configuration.seed)
    let model = configuration.makeModel(using: &generator)
    try train(
      model: model, optimizer: configuration.makeOptimizer(for: model.parameters),
      start: start, context: context, training: training, test: test,
      fingerprints: (fingerprint(training, standardization), fingerprint(test, nil)))
  }

  /// The rest of the job, generic over the optimizer so that its updates are direct calls.
  private func train<Optimizer: AutodiffNN.Optimizer<Float>>(
    model: Sequential<Float>, optimizer: Optimizer, start: CheckpointGuard.Start,
    context: MPIContext?, training: LabeledDataset<Float>, test: LabeledDataset<Float>,
    fingerprints: (training: String, test: String)
  ) throws(JobFailure) {
    let configuration = runConfiguration
    var loop = TrainingLoop(
      configuration: configuration, context: context, training: training, test: test,
      outputs: outputs, model: model, optimizer: optimizer, history: TrainingHistory())
    let isRoot = loop.isRoot
    if case .resuming(let history, _) = start, isRoot {
      // Only rank 0 reads the checkpoint: it holds the whole model and optimizer, which
      // `synchronize` below gives every rank, so a run resumes on any number of ranks.
      var problem: JobFailure?
      do {
        try Checkpoint.load(
          into: &loop.model, optimizer: &loop.optimizer, from: outputs.checkpoint.url)
        loop.history = history
      } catch {
        problem = JobFailure("cannot resume from \(checkpoint): \(error)")
      }
      try shared(problem, context)
    } else if context != nil, resume {
      try shared(nil, context)
    }
    if let context {
      loop.history = try TrainingHistory(
        metadata: ["history": context.broadcast(loop.history.json)])
      do {
        try context.requireAgreement(on: [
          "model": configuration.modelDescription, "optimizer": configuration.optimizer.rawValue,
          "learning rate": "\(configuration.learningRate)",
          "momentum": configuration.momentum.map { "\($0)" } ?? "none",
          "weight decay": "\(configuration.weightDecay)",
          "batch size": "\(configuration.batchSize)", "epochs": "\(configuration.epochs)",
          "seed": "\(configuration.seed)", "resume": "\(resume)",
          "training set": fingerprints.training, "test set": fingerprints.test,
        ])
        try context.synchronize(&loop.model, optimizer: &loop.optimizer)
      } catch {
        throw JobFailure("\(error)", everyRank: true)
      }
    }

    if isRoot {
      let ranks = context.map { "\($0.size) ranks, each with " } ?? ""
      print(
        "Training \(configuration.modelDescription) on \(training.count) images, testing on "
          + "\(test.count); \(configuration.trainingDescription); \(ranks)\(blasSetting)")
      if case .resuming(let history, let changes) = start {
        print(
          "Resuming after epoch \(history.epochs.count) of \(configuration.epochs) from "
            + checkpoint + (changes.isEmpty ? "" : "; changed: " + changes.joined(separator: ", ")))
      }
      print(ResultsTable.header(epochs: configuration.epochs))
    }
    try loop.run()
    guard isRoot, let final = loop.history.epochs.last else { return }
    let best =
      loop.history.improvedBest.map {
        String(format: " (best %.4f at epoch %d)", $0.testAccuracy, $0.epoch)
      } ?? ""
    print(
      String(format: "Test accuracy %.4f", final.testAccuracy)
        + " after \(counted(loop.history.epochs.count, "epoch"))\(best); wrote \(checkpoint), "
        + "\(outputs.chart.path) and \(outputs.history.path)")
  }

  /// Throws `problem` on every rank: rank 0's, which the others receive; in one process, as is.
  private func shared(_ problem: JobFailure?, _ context: MPIContext?) throws(JobFailure) {
    guard let context else {
      if let problem { throw problem }
      return
    }
    let text = context.broadcast(problem.map { "\($0.status)\n\($0.message)" } ?? "")
    guard let newline = text.firstIndex(of: "\n") else { return }
    throw JobFailure(
      String(text[text.index(after: newline)...]), status: Int32(text[..<newline]) ?? 1,
      everyRank: true)
  }

  /// BLAS's threads and kernels, for the job's first line.
  private var blasSetting: String {
    let replaced = BLAS.replacedCoreName.map { ", chosen over OpenBLAS's generic \($0)" } ?? ""
    return "\(counted(BLAS.threadCount, "BLAS thread")) (\(BLAS.coreName) kernels\(replaced))"
  }

  /// Runs `body` on every rank. In one process, its error is thrown as is; in a job, the ranks
  /// compare notes, and if `body` threw on any rank, every rank stops with the failing ranks'
  /// errors.
  private func onEveryRank<T>(
    _ context: MPIContext?, _ body: () throws(JobFailure) -> T
  ) throws(JobFailure) -> T {
    let result = Result { () throws(JobFailure) in try body() }
    guard let context else { return try result.get() }
    var problem = ""
    if case .failure(let error) = result { problem = error.message }
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
  private func loadData() throws(JobFailure) -> (
    LabeledDataset<Float>, LabeledDataset<Float>, Standardization<Float>
  ) {
    let loaded: (training: LabeledDataset<Float>, test: LabeledDataset<Float>)
    do {
      loaded = try FashionMNIST.load(from: URL(fileURLWithPath: data), as: Float.self)
    } catch {
      throw JobFailure("\(error)")
    }
    let standardization = Standardization(fittedTo: loaded.training.inputs, perFeature: false)
    return (
      loaded.training.standardized(by: standardization),
      loaded.test.standardized(by: standardization),
      standardization
    )
  }
}
