import Foundation

/// Saving and loading a model's parameters and an optimizer's state, as a safetensors file.
///
/// A checkpoint holds each parameter under `"model.<parameter name>"` (``Layer/parameterNames``),
/// each tensor of the model's ``Layer/state`` (``BatchNorm``'s running statistics) under
/// `"model.<state name>"`, and each optimizer state tensor under `"optimizer.<key>"` (``Optimizer/state``), with string
/// metadata (an epoch, a loss, a command line) in the header. Any safetensors reader can open
/// it:
///
/// ```swift
/// try Checkpoint.save(model: model, optimizer: adam, metadata: ["epoch": "3"], to: url)
/// // later, in a model and optimizer of the same architecture:
/// let metadata = try Checkpoint.load(into: &model, optimizer: &adam, from: url)
/// ```
///
/// Loading checks everything (every name present, no unexpected parameter, every shape and
/// dtype) before it changes anything: when it throws, the model and the optimizer are as they
/// were. Saving is atomic: the file at the target path is the old one or the new one, never a
/// part of either.
public enum Checkpoint {
  /// The prefix of the model's parameters in a checkpoint: `"model."`.
  public static let modelPrefix = "model."

  /// The prefix of the optimizer's state in a checkpoint: `"optimizer."`.
  public static let optimizerPrefix = "optimizer."

  // MARK: Saving

  /// Saves a model's parameters and an optimizer's state to `url`, atomically.
  ///
  /// - Parameters:
  ///   - model: The model whose ``Layer/parameters`` and ``Layer/state`` are saved under
  ///     `"model.<name>"`.
  ///   - optimizer: The optimizer whose ``Optimizer/state`` is saved under `"optimizer.<key>"`.
  ///   - metadata: Strings stored in the header's `__metadata__`.
  ///   - url: The file to write; an existing file is replaced only once the new one is complete.
  /// - Throws: ``CheckpointError/writeFailed(path:reason:)``, or
  ///   ``CheckpointError/rankTooLarge(name:rank:limit:)`` for a tensor of more than 64 axes; the
  ///   file at `url` is then unchanged.
  /// - Precondition: The model's parameter names are unique and as many as its parameters.
  public static func save<Scalar: TensorScalar>(
    model: some Layer<Scalar>, optimizer: (some Optimizer<Scalar>)?,
    metadata: [String: String] = [:], to url: URL
  ) throws(CheckpointError) {
    var tensors = namedParameters(of: model)
    if let optimizer {
      for (key, tensor) in optimizer.state { tensors[optimizerPrefix + key] = tensor }
    }
    try SafeTensors.write(tensors, metadata: metadata, to: url)
  }

  /// Saves a model's parameters to `url`, atomically, without optimizer state.
  ///
  /// - Throws: ``CheckpointError/writeFailed(path:reason:)``, or
  ///   ``CheckpointError/rankTooLarge(name:rank:limit:)`` for a tensor of more than 64 axes; the
  ///   file at `url` is then unchanged.
  /// - Precondition: The model's parameter names are unique and as many as its parameters.
  public static func save<Scalar: TensorScalar>(
    model: some Layer<Scalar>, metadata: [String: String] = [:], to url: URL
  ) throws(CheckpointError) {
    try SafeTensors.write(namedParameters(of: model), metadata: metadata, to: url)
  }

  /// The model's parameters and state by checkpoint name, `"model.<name>"`.
  private static func namedParameters<Scalar>(
    of model: some Layer<Scalar>
  ) -> [String: Tensor<Scalar>] {
    let (names, parameters) = (model.parameterNames, model.parameters)
    guard names.count == parameters.count else {
      fatalError(
        "Checkpoint.save: the model has \(parameters.count) parameters but \(names.count) names")
    }
    var tensors: [String: Tensor<Scalar>] = [:]
    for (name, parameter) in zip(names, parameters) {
      guard tensors.updateValue(parameter, forKey: modelPrefix + name) == nil else {
        fatalError("Checkpoint.save: the model has two parameters named '\(name)'")
      }
    }
    for (name, tensor) in model.state {
      guard tensors.updateValue(tensor, forKey: modelPrefix + name) == nil else {
        fatalError("Checkpoint.save: the model has a parameter and a state tensor named '\(name)'")
      }
    }
    return tensors
  }

  // MARK: Loading

  /// Loads a model's parameters and an optimizer's state from `url`.
  ///
  /// Everything is checked before anything changes: the model's tensors are read and compared
  /// with its parameters, then the optimizer restores its state (which either succeeds or
  /// throws leaving the optimizer unchanged), and only then are the model's parameters
  /// replaced.
  ///
  /// - Returns: The checkpoint's metadata.
  /// - Throws: The errors of ``SafeTensors/init(contentsOf:)`` for an unreadable or corrupt
  ///   file; ``CheckpointError/missingTensor(name:)``,
  ///   ``CheckpointError/unexpectedTensor(name:)``,
  ///   ``CheckpointError/shapeMismatch(name:expected:found:)`` and
  ///   ``CheckpointError/dtypeMismatch(name:expected:found:)`` naming the tensor (with its
  ///   `"model."` or `"optimizer."` prefix); the optimizer's own ``CheckpointError``, or
  ///   ``CheckpointError/invalidOptimizerState(reason:)`` for another error. The model and the
  ///   optimizer are then unchanged.
  /// - Precondition: The model has as many parameter names as parameters.
  @discardableResult
  public static func load<Scalar: TensorScalar>(
    into model: inout some Layer<Scalar>, optimizer: inout some Optimizer<Scalar>, from url: URL
  ) throws(CheckpointError) -> [String: String] {
    let file = try SafeTensors(contentsOf: url)
    let (parameters, modelState) = try checkedParameters(for: model, in: file)
    var state: [String: Tensor<Scalar>] = [:]
    for entry in file.entries where entry.name.hasPrefix(optimizerPrefix) {
      state[String(entry.name.dropFirst(optimizerPrefix.count))] = try file.tensor(
        named: entry.name, as: Scalar.self)
    }
    do {
      try optimizer.restore(state: state)
    } catch let error as CheckpointError {
      throw prefixed(error)
    } catch {
      throw .invalidOptimizerState(reason: String(describing: error))
    }
    model.parameters = parameters
    if !modelState.isEmpty { model.state = modelState }
    return file.metadata
  }

  /// Loads a model's parameters from `url`, ignoring any optimizer state in the file.
  ///
  /// - Returns: The checkpoint's metadata.
  /// - Throws: The errors of ``SafeTensors/init(contentsOf:)`` for an unreadable or corrupt
  ///   file; ``CheckpointError/missingTensor(name:)``,
  ///   ``CheckpointError/unexpectedTensor(name:)``,
  ///   ``CheckpointError/shapeMismatch(name:expected:found:)`` and
  ///   ``CheckpointError/dtypeMismatch(name:expected:found:)`` naming the tensor. The model is
  ///   then unchanged.
  /// - Precondition: The model has as many parameter names as parameters.
  @discardableResult
  public static func load<Scalar: TensorScalar>(
    into model: inout some Layer<Scalar>, from url: URL
  ) throws(CheckpointError) -> [String: String] {
    let file = try SafeTensors(contentsOf: url)
    let (parameters, state) = try checkedParameters(for: model, in: file)
    model.parameters = parameters
    if !state.isEmpty { model.state = state }
    return file.metadata
  }

  /// The model's parameters as stored in `file`, in the order of ``Layer/parameters``, and its
  /// state by name, after checking that each is present with the current shape and dtype, and
  /// that the file has no other `"model."` tensor.
  private static func checkedParameters<Scalar>(
    for model: some Layer<Scalar>, in file: SafeTensors
  ) throws(CheckpointError) -> (parameters: [Tensor<Scalar>], state: [String: Tensor<Scalar>]) {
    let current = model.parameters
    let names = model.parameterNames.map { modelPrefix + $0 }
    guard names.count == current.count else {
      fatalError(
        "Checkpoint.load: the model has \(current.count) parameters but \(names.count) names")
    }
    var loaded: [Tensor<Scalar>] = []
    for (name, parameter) in zip(names, current) {
      guard let entry = file.entry(named: name) else { throw .missingTensor(name: name) }
      guard entry.shape == parameter.shape else {
        throw .shapeMismatch(name: name, expected: parameter.shape, found: entry.shape)
      }
      loaded.append(try file.tensor(named: name, as: Scalar.self))
    }
    var state: [String: Tensor<Scalar>] = [:]
    // In name order, so that the first missing tensor reported is the same on every run.
    for (key, tensor) in model.state.sorted(by: { $0.key < $1.key }) {
      let name = modelPrefix + key
      guard let entry = file.entry(named: name) else { throw .missingTensor(name: name) }
      guard entry.shape == tensor.shape else {
        throw .shapeMismatch(name: name, expected: tensor.shape, found: entry.shape)
      }
      state[key] = try file.tensor(named: name, as: Scalar.self)
    }
    let expected = Set(names).union(state.keys.map { modelPrefix + $0 })
    if let extra = file.entries.first(where: {
      $0.name.hasPrefix(modelPrefix) && !expected.contains($0.name)
    }) {
      throw .unexpectedTensor(name: extra.name)
    }
    return (loaded, state)
  }

  /// An optimizer's error with its tensor names as they are in the file: `"optimizer.step"`.
  private static func prefixed(_ error: CheckpointError) -> CheckpointError {
    switch error {
    case .missingTensor(let name):
      .missingTensor(name: optimizerPrefix + name)
    case .shapeMismatch(let name, let expected, let found):
      .shapeMismatch(name: optimizerPrefix + name, expected: expected, found: found)
    case .invalidValue(let name, let reason):
      .invalidValue(name: optimizerPrefix + name, reason: reason)
    default:
      error
    }
  }
}
