// Arithmetic over whole lists of tensors — a model's parameters, their gradients, an update —
// element by element within each tensor and tensor by tensor along the list, as Optax's tree
// utilities and PyTorch's `torch._foreach_*` functions. Gradients accumulated over micro-batches,
// an average of models, a global norm to clip by:
//
//   var total = [Tensor<Float>](zerosLike: model.parameters)
//   for batch in microBatches { total = total.adding(gradient(at: model.parameters) { ... }) }
//   let mean = total.scaled(by: 1 / Float(microBatches.count))
//
// They are methods with names, not operators: `+` on arrays already means concatenation.

extension Array {
  /// A list of zero tensors of the shapes of `tensors`: the start of a sum of gradients.
  ///
  /// ```swift
  /// var sum = [Tensor<Float>](zerosLike: model.parameters)
  /// ```
  public init<Scalar: TensorScalar>(zerosLike tensors: [Tensor<Scalar>])
  where Element == Tensor<Scalar> {
    self = tensors.map { Tensor(zeros: $0.shape) }
  }

  /// The tensors added to those of `other`, pair by pair: `[a₀ + b₀, a₁ + b₁, ...]`.
  ///
  /// - Precondition: The lists have the same length and each pair the same shape.
  public func adding<Scalar: TensorScalar>(
    _ other: [Tensor<Scalar>], file: StaticString = #fileID, line: UInt = #line
  ) -> [Tensor<Scalar>] where Element == Tensor<Scalar> {
    checkPairs(self, other, "adding", at: SourceLocation(file: file, line: line))
    return zip(self, other).map { $0 + $1 }
  }

  /// The tensors less those of `other`, pair by pair: `[a₀ − b₀, a₁ − b₁, ...]`.
  ///
  /// - Precondition: The lists have the same length and each pair the same shape.
  public func subtracting<Scalar: TensorScalar>(
    _ other: [Tensor<Scalar>], file: StaticString = #fileID, line: UInt = #line
  ) -> [Tensor<Scalar>] where Element == Tensor<Scalar> {
    checkPairs(self, other, "subtracting", at: SourceLocation(file: file, line: line))
    return zip(self, other).map { $0 - $1 }
  }

  /// Every tensor multiplied by `factor`: `[c·a₀, c·a₁, ...]`.
  public func scaled<Scalar: TensorScalar>(by factor: Scalar) -> [Tensor<Scalar>]
  where Element == Tensor<Scalar> {
    map { $0 * factor }
  }

  /// The sum of the elementwise products of the pairs, `Σₖ Σᵢ aₖᵢ·bₖᵢ`: the inner product of the
  /// lists as one long vector.
  ///
  /// - Precondition: The lists have the same length and each pair the same shape.
  public func dot<Scalar: TensorScalar>(
    _ other: [Tensor<Scalar>], file: StaticString = #fileID, line: UInt = #line
  ) -> Scalar where Element == Tensor<Scalar> {
    checkPairs(self, other, "dot", at: SourceLocation(file: file, line: line))
    // Accumulated in Double, so that millions of Float products do not lose the small ones.
    return Scalar(zip(self, other).reduce(0) { $0 + innerProductInDouble($1.0, $1.1) })
  }

  /// The Euclidean norm of all elements of all tensors, `√(Σₖ Σᵢ aₖᵢ²)`, as PyTorch's
  /// `clip_grad_norm_` measures it (accumulated in `Double`).
  public func globalNorm<Scalar: TensorScalar>() -> Scalar where Element == Tensor<Scalar> {
    Scalar(sumOfSquaresInDouble(self).squareRoot())
  }

  /// The number of elements of all tensors together: a model's parameter count.
  public func totalScalarCount<Scalar: TensorScalar>() -> Int where Element == Tensor<Scalar> {
    reduce(0) { $0 + $1.scalarCount }
  }
}

/// Stops with a message unless two lists of tensors pair up: the same length, and each pair the
/// same shape.
private func checkPairs<Scalar>(
  _ lhs: [Tensor<Scalar>], _ rhs: [Tensor<Scalar>], _ function: String,
  at location: SourceLocation
) {
  requireNN(
    lhs.count == rhs.count,
    "\(function): the lists hold \(lhs.count) and \(rhs.count) tensors", at: location)
  for (index, (a, b)) in zip(lhs, rhs).enumerated() {
    requireNN(
      a.shape == b.shape,
      "\(function): tensor \(index) has shapes \(a.shape.shapeText) and \(b.shape.shapeText)",
      at: location)
  }
}

/// `Σᵢ aᵢ·bᵢ` over the elements of two tensors of one shape, each product and sum in Double, on
/// the machine's cores when long, and the same at any thread count (Autodiff's `dotInDouble`).
func innerProductInDouble<Scalar: TensorScalar>(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>)
  -> Double
{
  a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { dotInDouble(a, $0) } }
}

/// The sum of the squares of every element of `tensors`, in Double: the square of their global
/// norm (`globalNorm()` and `clippedByGlobalNorm` take its root).
func sumOfSquaresInDouble<Scalar: TensorScalar>(_ tensors: [Tensor<Scalar>]) -> Double {
  tensors.reduce(0) { $0 + innerProductInDouble($1, $1) }
}
