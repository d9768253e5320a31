// What the optimizers share: checking an update's arguments, and reading their state back from
// a checkpoint without changing anything until all of it has been checked.

/// Stops with a message unless `parameters` and `gradients` match the shapes the optimizer was
/// created for, and the parameters are plain tensors.
func checkUpdate<Scalar>(
  _ optimizer: String, parameters: [Tensor<Scalar>], gradients: [Tensor<Scalar>],
  shapes: [[Int]]
) {
  requireNN(
    parameters.count == shapes.count && gradients.count == shapes.count,
    "\(optimizer).update: the optimizer was created for \(shapes.count) parameters, got "
      + "\(parameters.count) parameters and \(gradients.count) gradients")
  for (index, shape) in shapes.enumerated() {
    requireNN(
      parameters[index].shape == shape && gradients[index].shape == shape,
      "\(optimizer).update: parameter \(index) has shape \(parameters[index].shape.shapeText) "
        + "and its gradient \(gradients[index].shape.shapeText); the optimizer was created for "
        + shape.shapeText)
    requireNN(
      !parameters[index].isRecorded,
      "\(optimizer).update: parameter \(index) is recorded on a tape; update the model's own "
        + "parameters, not the ones inside the differentiated function")
  }
}

/// The step count stored under `"step"` in an optimizer's state.
///
/// - Throws: ``CheckpointError`` when it is missing, not a scalar, or not a whole number ≥ 0.
func restoredStep<Scalar>(from state: [String: Tensor<Scalar>]) throws -> Int {
  guard let tensor = state["step"] else { throw CheckpointError.missingTensor(name: "step") }
  guard tensor.shape == [] else {
    throw CheckpointError.shapeMismatch(name: "step", expected: [], found: tensor.shape)
  }
  guard let step = Int(exactly: tensor.scalar), step >= 0 else {
    throw CheckpointError.invalidValue(
      name: "step", reason: "the step count must be a whole number ≥ 0, found \(tensor.scalar)")
  }
  return step
}

/// The tensors `"<prefix>.0"`, `"<prefix>.1"`, ... of an optimizer's state, one per shape.
///
/// - Throws: ``CheckpointError`` when one is missing or has another shape.
func restoredTensors<Scalar>(
  _ prefix: String, shapes: [[Int]], from state: [String: Tensor<Scalar>]
) throws -> [Tensor<Scalar>] {
  try shapes.enumerated().map { index, shape in
    let name = "\(prefix).\(index)"
    guard let tensor = state[name] else { throw CheckpointError.missingTensor(name: name) }
    guard tensor.shape == shape else {
      throw CheckpointError.shapeMismatch(name: name, expected: shape, found: tensor.shape)
    }
    return withoutDerivative(at: tensor)
  }
}

/// `tensors` named `"<prefix>.0"`, `"<prefix>.1"`, ... into `state`.
func store<Scalar>(
  _ tensors: [Tensor<Scalar>], as prefix: String, into state: inout [String: Tensor<Scalar>]
) {
  for (index, tensor) in tensors.enumerated() { state["\(prefix).\(index)"] = tensor }
}

/// Runs `body` on the base address of `tensors[index]`'s buffer, or on `nil` when `tensors` is
/// empty (a running value the configuration does not keep).
func withOptionalBuffer<Scalar: TensorScalar, Result>(
  _ tensors: inout [Tensor<Scalar>], _ index: Int,
  _ body: (UnsafeMutablePointer<Scalar>?) -> Result
) -> Result {
  tensors.isEmpty
    ? body(nil) : tensors[index].withUnsafeMutableBufferPointer { body($0.baseAddress) }
}
