// The scenarios that fail on purpose: ranks that disagree, misuse, a rank that dies. Each
// stops the job with a message, which AutodiffDistributedTests reads.

import AutodiffDistributed
import AutodiffNN
import Foundation

extension Scenarios {
  /// Ranks whose models differ stop together, each with the same message naming the shapes.
  mutating func mismatchedShapes() {
    var rng = SeededGenerator(seed: 1)
    let hidden = context.rank == 1 ? 9 : 8
    var mismatched = Sequential<Double>(
      Dense(inputSize: 5, outputSize: hidden, activation: tanh, using: &rng),
      Dense(inputSize: hidden, outputSize: 3, using: &rng))
    var optimizer = Adam(for: mismatched.parameters)
    do {
      try context.synchronize(&mismatched, optimizer: &optimizer)
    } catch {
      context.exit(failure: "mpi-tests: \(context.name): \(error)")
    }
    checks.expect("mismatched shapes are detected", false, "synchronize did not throw")
  }

  /// Ranks started with a different seed or batch size stop together, naming the field.
  mutating func mismatchedConfiguration(field: String) {
    let odd = context.rank == 1
    do {
      try context.requireAgreement(on: [
        "seed": field == "seed" && odd ? "7" : "42",
        "batch size": field == "batch size" && odd ? "64" : "128",
      ])
    } catch {
      context.exit(failure: "mpi-tests: \(context.name): \(error)")
    }
    checks.expect("a mismatched \(field) is detected", false, "requireAgreement did not throw")
  }

  /// Ranks that pass an allreduce different tensors (16 bytes each in `disagree-type`, which MPI
  /// would sum as garbage), or call different collectives, stop together, each naming the
  /// collective and what differs.
  mutating func disagreeingCollective(_ scenario: String) {
    let odd = context.rank == 1
    switch scenario {
    case "disagree-shape":
      _ = context.allreduceSum([Tensor<Float>(zeros: odd ? [2, 3] : [3, 2])])
    case "disagree-type":
      if odd {
        _ = context.allreduceSum([Tensor<Double>(zeros: [2])])
      } else {
        _ = context.allreduceSum([Tensor<Float>(zeros: [4])])
      }
    case "disagree-count":
      _ = context.allreduceMean(Array(repeating: Tensor<Float>(zeros: [3]), count: odd ? 1 : 2))
    default:
      if odd {
        _ = context.allreduceMean([Tensor<Float>(zeros: [3])])
      } else {
        _ = context.allreduceSum([Tensor<Float>(zeros: [3])])
      }
    }
    checks.expect("a disagreeing collective is detected", false, "it returned")
  }

  /// A sharded step given parameters of other shapes than the optimizer's stops, naming both
  /// and this call site.
  mutating func shardedWrongShapes() {
    let small = model(seed: 1)
    let optimizer = ShardedOptimizer(context, for: small.parameters) {
      SGD(for: $0, learningRate: 0.1)
    }
    var rng = SeededGenerator(seed: 2)
    var other = Sequential<Double>(
      Dense(inputSize: 5, outputSize: 4, activation: tanh, using: &rng),
      Dense(inputSize: 4, outputSize: 3, using: &rng))
    let batch = syntheticData(count: 4).batches(ofSize: 4).first { _ in true }!
    _ = optimizer.step(&other, on: batch) { model, inputs, labels in
      softmaxCrossEntropy(logits: model(inputs), labels: labels)
    }
    checks.expect("a sharded step on the wrong shapes stops", false, "it went on")
  }

  /// Rank 1 exits with an error while rank 0 waits in an allreduce: the job must end, not hang.
  mutating func rankDies() {
    context.announceTermination(
      "mpi-tests: \(context.name): ended by mpirun because another rank stopped")
    if context.rank == 1 {
      FileHandle.standardError.write(Data("mpi-tests: \(context.name): failing on purpose\n".utf8))
      exit(3)
    }
    _ = context.allreduceSum([Tensor<Double>(zeros: [4])])
    checks.expect("the allreduce with a dead rank does not return", false, "it returned")
  }
}
