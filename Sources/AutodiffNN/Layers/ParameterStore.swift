/// The parameters of a layer that stores its own (``Dense``, ``Embedding``), with what
/// `Layer.moveParameters(into:)` and `restoreParameters(from:at:)` do to them.
///
/// The tensors are kept in an array, as ``Layer/parameters`` hands them out, so that an in-place
/// access to `parameters` (an optimizer's update) reaches the tensors themselves instead of
/// copies that would share, and so copy, their buffers.
struct ParameterStore<Scalar: TensorScalar>: Sendable {
  /// The layer's type, as its messages name it.
  let layer: String
  /// The parameters' names, in order: as many as the layer has tensors.
  let names: [String]
  /// The tensors, in the order of `names`, or none while `move(into:)` has them out.
  var tensors: [Tensor<Scalar>]

  init(layer: String, names: [String], tensors: [Tensor<Scalar>]) {
    (self.layer, self.names, self.tensors) = (layer, names, tensors)
  }

  /// The tensor named `names[index]`.
  subscript(index: Int) -> Tensor<Scalar> {
    get { tensors[index] }
    _modify { yield &tensors[index] }
  }

  /// Appends the tensors to `parameters`, leaving none here.
  mutating func move(into parameters: inout [Tensor<Scalar>]) {
    parameters.append(contentsOf: tensors)
    // The emptied array keeps its capacity, so that taking them back allocates nothing.
    tensors.removeAll(keepingCapacity: true)
  }

  /// Takes as many tensors as there are names from `parameters` at `start`, and advances
  /// `start` past them.
  ///
  /// - Precondition: `parameters` holds that many tensors from `start` on.
  mutating func restore(from parameters: [Tensor<Scalar>], at start: inout Int) {
    let count = names.count
    requireNN(
      start + count <= parameters.count,
      "\(layer).restoreParameters: expected \(expected), \(parameters.count - start) are left")
    let taken = parameters[start..<(start + count)]
    if tensors.isEmpty {
      // Moved out: the emptied array kept its capacity.
      tensors.append(contentsOf: taken)
    } else {
      // A new array: a layer copied for a training step (`var model = model`) shares its array
      // with the original, and writing its elements would first copy it, old tensors and all.
      tensors = Array(taken)
    }
    start += count
  }

  /// Stops with a message unless there is one tensor per name (after `parameters` was set).
  func checkCount() {
    requireNN(
      tensors.count == names.count,
      "\(layer).parameters: expected \(expected), got \(tensors.count)")
  }

  /// `2 tensors (weight, bias)`, `1 tensor (weight)`.
  private var expected: String {
    "\(names.count) \(names.count == 1 ? "tensor" : "tensors") (\(names.joined(separator: ", ")))"
  }
}
