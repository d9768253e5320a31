// Per-example gradients: the gradient of each example's loss, not of the batch's mean, as
// Opacus's `grad_sample` and JAX's `vmap(grad(...))` compute them. They are what differentially
// private SGD clips one by one (Abadi et al., 2016), and what gradient-noise and
// influence estimates average.

/// How ``perExampleGradients(of:inputs:method:loss:file:line:)`` computes.
public enum PerExampleGradientMethod: Sendable, Hashable {
  /// ``outerProducts`` when the model allows it, ``loop`` otherwise.
  case automatic
  /// One forward and one backward pass over the whole batch, for models made of ``Dense``
  /// layers and the parameter-free layers that act on each element alone (``ReLU``,
  /// ``Sigmoid``, ``Tanh``, ``LeakyReLU``, ``Softplus``, ``GELU``, ``SiLU``, and ``Dropout`` in
  /// inference), nested in ``Sequential``s. A Dense layer computes `zᵢ = hᵢ·W + b` for each row
  /// `i`, so example i's gradients are the outer product `hᵢᵀ·δᵢ` and `δᵢ`, where `hᵢ` is the
  /// layer's input row (saved by the forward pass) and `δᵢ = ∂ℓᵢ/∂zᵢ` is row i of the one
  /// backward sweep of `Σᵢ ℓᵢ` (exact, because ℓᵢ depends on row i alone).
  case outerProducts
  /// One gradient per example, each of the model on that example's row alone: any model.
  case loop
}

/// The gradient of each example's loss with respect to each of the model's parameters.
///
/// `loss` receives the model's outputs for a run of examples (`rows`, the positions in the batch
/// of the outputs' rows) and returns each example's loss, one per row. The result holds one
/// tensor per parameter, in the order of ``Layer/parameters``, of shape `[batch] + shape`: row i
/// is the gradient of example i's loss alone.
///
/// ```swift
/// let gradients = perExampleGradients(of: model, inputs: x) { logits, rows in
///   // Each example's cross-entropy: −log softmax(zᵢ)[labelᵢ].
///   -(logSoftmax(logits, alongAxis: 1) * oneHot(Array(labels[rows]), classes: 10))
///     .sum(squeezingAxes: [1])
/// }
/// // gradients[0]: [batch, 784, 256], gradients[1]: [batch, 256], ...
/// ```
///
/// Clipping each example's gradient to norm C and averaging, as DP-SGD's step does:
///
/// ```swift
/// let batch = x.shape[0]
/// let norms = (0..<batch).map { i in gradients.map { $0[i..<(i + 1)] }.globalNorm() as Float }
/// let factors = Tensor(shape: [batch], scalars: norms.map { Swift.min(1, C / ($0 + 1e-6)) })
/// let clipped = gradients.map { g in
///   (g * factors.reshaped(to: [batch] + Array(repeating: 1, count: g.rank - 1)))
///     .mean(squeezingAxes: [0])
/// }
/// ```
///
/// Both methods are exact. ``PerExampleGradientMethod/outerProducts`` costs about one training
/// step plus writing the result (batch × parameters elements); ``PerExampleGradientMethod/loop``
/// costs a forward and a backward pass per example (the PerExampleGradients benchmarks compare
/// them). Per-example gradients mean something only for a model whose layers treat examples
/// apart: a ``BatchNorm`` in training mode mixes them (and cannot run on one row).
///
/// - Parameters:
///   - model: The model; its parameters are not changed.
///   - inputs: The batch, one example per row (the first axis).
///   - method: How to compute; ``PerExampleGradientMethod/automatic`` picks the fastest that
///     applies.
///   - loss: Each example's loss from the model's outputs for `rows`: a tensor of shape
///     `[rows.count]`, whose entry i depends on the outputs' row i alone.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: One tensor per parameter, `[batch] + parameter.shape`.
/// - Precondition: `inputs` has rank ≥ 1; `loss` returns one value per row;
///   ``PerExampleGradientMethod/outerProducts`` needs a model of the layers it lists.
public func perExampleGradients<Model: Layer>(
  of model: Model, inputs: Tensor<Model.Scalar>,
  method: PerExampleGradientMethod = .automatic,
  loss: (_ outputs: Tensor<Model.Scalar>, _ rows: Range<Int>) -> Tensor<Model.Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> [Tensor<Model.Scalar>] {
  let location = SourceLocation(file: file, line: line)
  requireNN(
    inputs.rank >= 1,
    "perExampleGradients: the inputs must have a batch axis, got \(inputs.shape.shapeText)",
    at: location)
  let chain = denseChain(model)
  switch method {
  case .automatic:
    if let chain { return outerProductGradients(chain, inputs, loss, at: location) }
    return loopGradients(model, inputs, loss, at: location)
  case .outerProducts:
    guard let chain else {
      failNN(
        "perExampleGradients: .outerProducts needs a model of Dense layers and elementwise "
          + "activations (in Sequentials); \(Model.self) has other layers. Use .automatic or "
          + ".loop", at: location)
    }
    return outerProductGradients(chain, inputs, loss, at: location)
  case .loop:
    return loopGradients(model, inputs, loss, at: location)
  }
}

/// A parameter-free layer that acts on each element alone, so on each row alone.
protocol ElementwiseLayer {}
extension ReLU: ElementwiseLayer {}
extension Sigmoid: ElementwiseLayer {}
extension Tanh: ElementwiseLayer {}
extension LeakyReLU: ElementwiseLayer {}
extension Softplus: ElementwiseLayer {}
extension GELU: ElementwiseLayer {}
extension SiLU: ElementwiseLayer {}

/// The model's layers in order, nested sequences flattened, when each is a ``Dense`` or an
/// elementwise layer (a ``Dropout`` in inference is left out: it is the identity); `nil`
/// otherwise.
private func denseChain<Scalar: TensorScalar>(_ layer: any Layer<Scalar>) -> [any Layer<Scalar>]? {
  if let sequence = layer as? Sequential<Scalar> {
    var chain: [any Layer<Scalar>] = []
    for child in sequence.layers {
      guard let part = denseChain(child) else { return nil }
      chain += part
    }
    return chain
  }
  if layer is Dense<Scalar> || layer is any ElementwiseLayer { return [layer] }
  if let dropout = layer as? Dropout<Scalar>, dropout.mode == .inference || dropout.rate == 0 {
    return []
  }
  return nil
}

/// The outer-product method over a chain of Dense and elementwise layers.
private func outerProductGradients<Scalar: TensorScalar>(
  _ chain: [any Layer<Scalar>], _ inputs: Tensor<Scalar>,
  _ loss: (Tensor<Scalar>, Range<Int>) -> Tensor<Scalar>, at location: SourceLocation
) -> [Tensor<Scalar>] {
  let batch = inputs.shape[0]
  let tape = Tape()
  var h = inputs
  var layerInputs: [Tensor<Scalar>] = []  // hₗ₋₁, constants
  var affine: [Tensor<Scalar>] = []  // zₗ = hₗ₋₁·Wₗ + bₗ, recorded
  for layer in chain {
    guard let dense = layer as? Dense<Scalar> else {
      h = layer(h)
      continue
    }
    layerInputs.append(withoutDerivative(at: h))
    // The first affine output is where the recording starts; the later ones are recorded
    // because their inputs are.
    let product = matmul(h, dense.weight, plus: dense.bias)
    let z = affine.isEmpty ? tape.watch(product) : product
    affine.append(z)
    h = dense.activation.map { $0(z) } ?? z
  }
  guard !affine.isEmpty else { return [] }
  let losses = loss(h, 0..<batch)
  checkLosses(losses, batch, at: location)
  // δₗ = ∂(Σᵢ ℓᵢ)/∂zₗ, whose row i is ∂ℓᵢ/∂zₗᵢ.
  let deltas = tape.gradient(of: losses.sum(), wrt: affine)
  var gradients: [Tensor<Scalar>] = []
  for (input, delta) in zip(layerInputs, deltas) {
    let (fanIn, fanOut) = (input.shape[1], delta.shape[1])
    // ∂ℓᵢ/∂W = hᵢᵀ·δᵢ for every i at once: [batch, in, 1] · [batch, 1, out] by broadcasting.
    let outer =
      input.reshaped(to: [batch, fanIn, 1])
      * withoutDerivative(at: delta).reshaped(
        to: [batch, 1, fanOut])
    gradients += [outer, withoutDerivative(at: delta)]
  }
  return gradients
}

/// The loop method: each example's gradient from the model on its row alone.
private func loopGradients<Model: Layer>(
  _ model: Model, _ inputs: Tensor<Model.Scalar>,
  _ loss: (Tensor<Model.Scalar>, Range<Int>) -> Tensor<Model.Scalar>, at location: SourceLocation
) -> [Tensor<Model.Scalar>] {
  let parameters = model.parameters
  var rows: [[Tensor<Model.Scalar>]] = parameters.map { _ in [] }
  for example in 0..<inputs.shape[0] {
    let range = example..<(example + 1)
    let gradient = gradient(at: parameters) { p in
      let losses = loss(model.replacingParameters(with: p)(inputs[range]), range)
      checkLosses(losses, 1, at: location)
      return losses.sum()
    }
    for (index, g) in gradient.enumerated() {
      rows[index].append(g.reshaped(to: [1] + g.shape))
    }
  }
  // An empty batch has no rows to join: [0] + each parameter's shape, as the outer products give.
  guard inputs.shape[0] > 0 else { return parameters.map { Tensor(zeros: [0] + $0.shape) } }
  return rows.map { Tensor(concatenating: $0) }
}

/// Stops with a message unless `loss` returned one value per row.
private func checkLosses<Scalar>(_ losses: Tensor<Scalar>, _ rows: Int, at location: SourceLocation)
{
  requireNN(
    losses.shape == [rows],
    "perExampleGradients: the loss must return one value per example, shape [\(rows)], got "
      + "\(losses.shape.shapeText)", at: location)
}
