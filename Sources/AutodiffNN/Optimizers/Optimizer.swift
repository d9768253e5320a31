/// An update rule for parameters given their gradients, such as ``SGD`` or ``Adam``.
///
/// An optimizer keeps its own state (momenta, step count) for the parameters it was created for,
/// in the same order as the model's ``Layer/parameters``.
public protocol Optimizer<Scalar> {
  associatedtype Scalar: TensorScalar

  /// The step size of the next update.
  var learningRate: Scalar { get set }

  /// Updates `parameters` in place, one step along `gradients` (each of its parameter's shape).
  mutating func update(_ parameters: inout [Tensor<Scalar>], along gradients: [Tensor<Scalar>])

  /// The optimizer's state as named tensors, for a checkpoint: everything needed to resume
  /// exactly (moments, the step count as a scalar tensor, ...).
  var state: [String: Tensor<Scalar>] { get }

  /// Replaces the state with one read from a checkpoint.
  ///
  /// - Throws: ``CheckpointError`` when a tensor is missing or has the wrong shape; the
  ///   optimizer is then unchanged.
  mutating func restore(state: [String: Tensor<Scalar>]) throws
}
