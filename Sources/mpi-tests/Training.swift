// The training loops that the equivalence scenarios compare.

import AutodiffDistributed
import AutodiffNN
import Foundation

/// 5 features, 3 classes, seeded.
func syntheticData(count: Int) -> LabeledDataset<Double> {
  var rng = SeededGenerator(seed: 1)
  let inputs = Tensor<Double>(randomNormal: [count, 5], using: &rng)
  let labels = (0..<count).map { _ in Int(rng.next() % 3) }
  return LabeledDataset(inputs: inputs, labels: labels)
}

/// A 5-8-3 tanh network.
func model(seed: UInt64) -> Sequential<Double> {
  var rng = SeededGenerator(seed: seed)
  return Sequential(
    Dense(inputSize: 5, outputSize: 8, activation: tanh, using: &rng),
    Dense(inputSize: 8, outputSize: 3, initialization: .glorotUniform, using: &rng))
}

func makeOptimizer(_ name: String, for model: Sequential<Double>) -> any Optimizer<Double> {
  name == "SGD"
    ? SGD(for: model.parameters, learningRate: 0.1, momentum: 0.9)
    : Adam(for: model.parameters, learningRate: 0.01)
}

/// Trains `model` over `epochs` of `data` shuffled by epoch, in batches of `batchSize`: in one
/// process when `context` is nil, else split over the ranks. Returns each step's loss.
func train(
  _ model: inout Sequential<Double>, _ optimizer: inout any Optimizer<Double>,
  _ data: LabeledDataset<Double>, epochs: Range<Int>, batchSize: Int, context: MPIContext?,
  bucketCapacity: Int = MPIContext.defaultBucketCapacity
) -> [Double] {
  var losses: [Double] = []
  for batch in batches(of: data, epochs: epochs, batchSize: batchSize) {
    let current = model
    func loss(_ parameters: [Tensor<Double>], _ inputs: Tensor<Double>, _ labels: [Int])
      -> Tensor<Double>
    {
      softmaxCrossEntropy(
        logits: current.replacingParameters(with: parameters)(inputs), labels: labels)
    }
    let (value, gradients): (Double, [Tensor<Double>])
    if let context {
      (value, gradients) = context.valueWithGradient(
        at: model.parameters, on: batch, bucketCapacity: bucketCapacity, of: loss)
    } else {
      let result = valueWithGradient(at: model.parameters) {
        loss($0, batch.inputs, batch.labels)
      }
      (value, gradients) = (result.value.scalar, result.gradient)
    }
    optimizer.update(&model.parameters, along: gradients)
    losses.append(value)
  }
  return losses
}

/// Trains `model` as `train` does on every rank, with `optimizer`'s sharded steps.
func trainSharded<Base: Optimizer<Double>>(
  _ model: inout Sequential<Double>, _ optimizer: ShardedOptimizer<Base>,
  _ data: LabeledDataset<Double>, epochs: Range<Int>, batchSize: Int
) {
  for batch in batches(of: data, epochs: epochs, batchSize: batchSize) {
    _ = optimizer.step(&model, on: batch) { model, inputs, labels in
      softmaxCrossEntropy(logits: model(inputs), labels: labels)
    }
  }
}

/// The batches of `epochs` of `data`, each epoch shuffled by its own seed: what every scenario
/// and the single-process reference train on, so that their results can be compared.
func batches(
  of data: LabeledDataset<Double>, epochs: Range<Int>, batchSize: Int
) -> [LabeledDataset<Double>.Batches.Element] {
  epochs.flatMap { epoch in
    var shuffle = SeededGenerator(seed: 7 &+ UInt64(epoch))
    return data.shuffled(using: &shuffle).batches(ofSize: batchSize)
  }
}

/// The largest |a − b| over the elements of the tensors; NaN when any difference is NaN, so
/// that two runs that both went NaN do not count as equal.
func maxDifference(_ a: [Tensor<Double>], _ b: [Tensor<Double>]) -> Double {
  zip(a, b).flatMap { x, y in zip(x.scalars, y.scalars).map { abs($0 - $1) } }
    .reduce(0) { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }
}
