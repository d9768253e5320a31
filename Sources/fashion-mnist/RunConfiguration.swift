import ArgumentParser
import AutodiffNN
import Foundation

/// The function between hidden layers, `--activation`: Autodiff's `Activation`, which a
/// ``Dense`` layer runs inside its product.
extension Activation: ExpressibleByArgument, Codable {
  /// He initialization keeps activations' variance through ReLU; Glorot suits the saturating
  /// functions (Dense's documentation).
  var initialization: WeightInitialization {
    switch self {
    case .relu: .heNormal
    case .tanh, .sigmoid: .glorotUniform
    }
  }

  var displayName: String {
    switch self {
    case .relu: "ReLU"
    case .tanh: "tanh"
    case .sigmoid: "sigmoid"
    }
  }
}

/// The update rule: `--optimizer`.
enum OptimizerKind: String, CaseIterable, Codable, ExpressibleByArgument {
  case adam, adamw, sgd

  /// The step size when `--learning-rate` is not given.
  var defaultLearningRate: Float {
    switch self {
    case .adam, .adamw: 1e-3
    case .sgd: 0.05
    }
  }

  /// The weight decay when `--weight-decay` is not given: PyTorch's defaults.
  var defaultWeightDecay: Float {
    switch self {
    case .adam, .sgd: 0
    case .adamw: 0.01
    }
  }

  var displayName: String {
    switch self {
    case .adam: "Adam"
    case .adamw: "AdamW"
    case .sgd: "SGD"
    }
  }
}

/// Everything that decides what a run computes, with the defaults resolved: the options a
/// checkpoint records, so that a resumed run can tell whether it continues the same training.
///
/// A new option that changes the model or the training (a dropout rate, batch normalization)
/// gets a property here, a row in ``options``, and its part in ``makeModel(using:)``; resuming
/// then compares it, and the chart's title and the distributed ranks' agreement show it.
struct RunConfiguration: Equatable {
  var hidden: [Int]
  var activation: Activation
  var optimizer: OptimizerKind
  var learningRate: Float
  /// SGD's momentum; `nil` for the other optimizers.
  var momentum: Float?
  var weightDecay: Float
  var batchSize: Int
  var epochs: Int
  var seed: UInt64
  /// Dropout's rate after each hidden layer; 0 for none.
  var dropout: Float = 0
  /// Whether each hidden layer's output is batch-normalized.
  var batchNorm = false

  /// The layer sizes from input to output: `[784, 256, 128, 10]`.
  var layerSizes: [Int] { [FashionMNIST.featureCount] + hidden + [FashionMNIST.classCount] }

  /// `784-256-128-10 ReLU`.
  var modelDescription: String {
    layerSizes.map(String.init).joined(separator: "-")
      + (hidden.isEmpty ? " (linear)" : " \(activation.displayName)")
      + (batchNorm && !hidden.isEmpty ? ", batch norm" : "")
      + (dropout > 0 && !hidden.isEmpty ? ", dropout \(dropout)" : "")
  }

  /// `Adam, batch 128, learning rate 0.001 with cosine decay, seed 42`, and the momentum and
  /// weight decay where they are not 0.
  var trainingDescription: String {
    var parts = [optimizer.displayName]
    if let momentum, momentum != 0 { parts[0] += " (momentum \(momentum))" }
    parts.append("batch \(batchSize)")
    parts.append("learning rate \(learningRate) with cosine decay")
    if weightDecay != 0 { parts.append("weight decay \(weightDecay)") }
    parts.append("seed \(seed)")
    return parts.joined(separator: ", ")
  }

  /// The options as `--name value` pairs, in `--help` order; the key a checkpoint stores them
  /// under is ``metadataKey``.
  var options: [(name: String, value: String)] {
    var options = [
      ("hidden", hidden.isEmpty ? "none" : hidden.map(String.init).joined(separator: ",")),
      ("activation", activation.rawValue),
      ("dropout", "\(dropout)"),
      ("batch-norm", "\(batchNorm)"),
      ("optimizer", optimizer.rawValue),
      ("learning-rate", "\(learningRate)"),
    ]
    if let momentum { options.append(("momentum", "\(momentum)")) }
    options += [
      ("weight-decay", "\(weightDecay)"),
      ("batch-size", "\(batchSize)"),
      ("epochs", "\(epochs)"),
      ("seed", "\(seed)"),
    ]
    return options.map { (name: $0.0, value: $0.1) }
  }

  /// The checkpoint metadata key of the options, as a JSON object from name to value.
  static let metadataKey = "options"

  /// ``options`` as the JSON object a checkpoint stores.
  var optionsJSON: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let object = Dictionary(uniqueKeysWithValues: options.map { ($0.name, $0.value) })
    let data = (try? encoder.encode(object)) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
  }

  /// The options a checkpoint stores, or `nil` when `json` is not an object of strings.
  static func decodeOptions(_ json: String) -> [String: String]? {
    try? JSONDecoder().decode([String: String].self, from: Data(json.utf8))
  }

  /// The values of the options a checkpoint from before they existed was trained with.
  static let valuesBeforeOptionsExisted = ["dropout": "0.0", "batch-norm": "false"]

  /// The options that cannot change when resuming: the checkpoint's weights fit no other model.
  static let fixedOptions: Set<String> = ["hidden", "batch-norm"]

  /// The new model, its weights drawn from `generator`: each hidden layer is a ``Dense`` layer
  /// with the activation, the output layer a linear one (its logits go to the softmax).
  func makeModel(using generator: inout SeededGenerator) -> Sequential<Float> {
    var layers: [any Layer<Float>] = []
    for (inputSize, outputSize) in zip(layerSizes.dropLast(2), hidden) {
      layers.append(
        Dense(
          inputSize: inputSize, outputSize: outputSize, activation: activation,
          initialization: activation.initialization, using: &generator))
      // Between one hidden layer and the next: its activations normalized over the batch, then
      // dropped at random while training.
      if batchNorm { layers.append(BatchNorm(featureCount: outputSize)) }
      if dropout > 0 { layers.append(Dropout(rate: dropout, using: &generator)) }
    }
    layers.append(
      Dense(
        inputSize: layerSizes[layerSizes.count - 2], outputSize: FashionMNIST.classCount,
        initialization: .glorotUniform, using: &generator))
    return Sequential(layers)
  }
}

extension RunConfiguration {
  /// A new optimizer of the configured kind for `parameters`. The training loop takes it as a
  /// generic parameter (the existential is opened once), so each update is a direct call.
  func makeOptimizer(for parameters: [Tensor<Float>]) -> any Optimizer<Float> {
    switch optimizer {
    case .adam:
      Adam(for: parameters, learningRate: learningRate, weightDecay: weightDecay)
    case .adamw:
      AdamW(for: parameters, learningRate: learningRate, weightDecay: weightDecay)
    case .sgd:
      SGD(
        for: parameters, learningRate: learningRate, momentum: momentum ?? 0,
        weightDecay: weightDecay)
    }
  }
}
