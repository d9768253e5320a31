import Autodiff
import AutodiffNN

// The networks the suites train, and their training step, written as AutodiffNN's documentation
// writes a step: shared by MLPStep and BufferCache.

/// A ReLU network's layer sizes and batch, with its initial parameters and a batch of random
/// inputs and labels.
public struct MLP: Sendable {
  public let sizes: [Int]
  public let batch: Int
  /// W₁, b₁, W₂, b₂, W₃, b₃, each Wₗ of shape [sizes[l-1], sizes[l]] (He, the last Glorot).
  public let parameters: [Tensor<Float>]
  public let x: Tensor<Float>
  public let labels: [Int]

  /// Three layers of `sizes` (four widths), and `batch` rows, drawn from a seeded generator.
  public init(sizes: [Int], batch: Int) {
    var rng = SeededGenerator(seed: 1)
    self.sizes = sizes
    self.batch = batch
    parameters = (1...3).flatMap { l -> [Tensor<Float>] in
      let initialization: WeightInitialization = l == 3 ? .glorotUniform : .heNormal
      return [
        initialization.weight(fanIn: sizes[l - 1], fanOut: sizes[l], using: &rng),
        Tensor(zeros: [sizes[l]]),
      ]
    }
    x = Tensor(randomNormal: [batch, sizes[0]], using: &rng)
    labels = (0..<batch).map { _ in Int.random(in: 0..<sizes[3], using: &rng) }
  }

  /// The model of these parameters, ReLU after the two hidden layers.
  public func model() -> Sequential<Float> {
    Sequential(
      Dense(weight: parameters[0], bias: parameters[1], activation: .relu),
      Dense(weight: parameters[2], bias: parameters[3], activation: .relu),
      Dense(weight: parameters[4], bias: parameters[5]))
  }
}

/// A training run of a network: its model and an SGD optimizer (learning rate 10⁻³, no
/// momentum), which every step updates in place, as a training loop's steps do.
///
/// A suite makes it once per process: package-benchmark calls a benchmark's closure once per
/// sample and times it to its return, so a model made in the closure would be freed inside the
/// timed region.
public final class Training: @unchecked Sendable {
  let mlp: MLP
  var model: Sequential<Float>
  var optimizer: SGD<Float>

  public init(_ mlp: MLP) {
    self.mlp = mlp
    model = mlp.model()
    optimizer = SGD(for: model.parameters, learningRate: 1e-3)
    // The first update copies the parameters, which `mlp`'s tensors share with the model; the
    // later ones update them in place, and those are what the suites measure.
    step()
  }

  /// One step (forward pass, softmax cross-entropy, gradients, SGD update) on the batch, or on
  /// its leading `rows` rows; returns the loss.
  @discardableResult
  public func step(rows: Int? = nil) -> Float {
    let (x, labels) =
      rows.map { (mlp.x[0..<$0], Array(mlp.labels[0..<$0])) } ?? (mlp.x, mlp.labels)
    let (loss, gradients) = valueWithGradient(at: model.parameters) { parameters in
      var model = model
      model.parameters = parameters
      return softmaxCrossEntropy(logits: model(x), labels: labels)
    }
    optimizer.update(&model.parameters, along: gradients)
    return loss.scalar
  }
}
