// On `@_specialize`: called from another module (a training program), a generic function runs its
// generic body, with a protocol-witness call for every arithmetic operation on an element. Each
// public entry point with an element loop therefore has a Float and a Double copy, as in
// Autodiff (see its Performance article). Measured ad hoc in release with OPENBLAS_NUM_THREADS=1
// on a 784-256-128-10 Float model (235k parameters): Adam's update went from 59 ms to 1.5 ms,
// softmaxCrossEntropy's value and gradient on [128, 10] from 717 µs to 30 µs, and a whole
// training step at batch 128 from 79 ms to 16 ms. (No AutodiffNN benchmark suite exists yet.)

/// Adam (Kingma and Ba, 2015) with optional L2 weight decay and AMSGrad, step for step as
/// PyTorch's `torch.optim.Adam`.
///
/// For each parameter `p` with gradient `g`, step `t` (counting from 1) computes
///
/// ```
/// g ← g + weightDecay·p                              (L2, only when weightDecay ≠ 0)
/// m ← β₁·m + (1 − β₁)·g                              (m, v start at 0)
/// v ← β₂·v + (1 − β₂)·g²
/// u ← max(u, v)                                      (AMSGrad only; u starts at 0)
/// p ← p − (learningRate / (1 − β₁ᵗ)) · m / (√u / √(1 − β₂ᵗ) + ε)      (u = v without AMSGrad)
/// ```
///
/// The last line is PyTorch's arrangement of `p − learningRate·m̂ / (√v̂ + ε)` with the bias
/// corrections `m̂ = m / (1 − β₁ᵗ)` and `v̂ = v / (1 − β₂ᵗ)`, so ε is added where PyTorch adds
/// it. AMSGrad (Reddi, Kale and Kumar, 2018) divides by the largest second moment so far, so a
/// parameter's step never grows because its gradients became smaller. The update is one pass over each parameter's elements and allocates nothing when the
/// buffers are not shared. For weight decay that does not go through the moments, use
/// ``AdamW``.
///
/// In `Float` the betas are Floats: `Float(0.999)` is 0.99900001, so `1 − β₂` is 0.0009999871
/// where PyTorch, whose betas are Python floats, multiplies by 0.001. The second moment then
/// differs from PyTorch's `exp_avg_sq` by about 1.3·10⁻⁵ relative, and the parameters by about an
/// ulp after a step. In `Double` the two agree to rounding.
///
/// ```swift
/// var optimizer = Adam(for: model.parameters, learningRate: 1e-3)
/// let (loss, gradients) = valueWithGradient(at: model.parameters) { p in
///   var model = model
///   model.parameters = p
///   return softmaxCrossEntropy(logits: model(images), labels: labels)
/// }
/// optimizer.update(&model.parameters, along: gradients)
/// ```
///
/// Its ``state`` is the step count (`"step"`), the first moments (`"m.0"`, `"m.1"`, ...), the
/// second moments (`"v.0"`, `"v.1"`, ...) and with AMSGrad their maxima (`"vMax.0"`, ...; PyTorch's
/// `max_exp_avg_sq`), in parameter order.
public struct Adam<Scalar: TensorScalar>: Optimizer, Sendable {
  /// The step size of the next update.
  public var learningRate: Scalar

  /// The decay β₁ of the first moment (the mean of the gradients).
  public var beta1: Scalar

  /// The decay β₂ of the second moment (the mean of the squared gradients).
  public var beta2: Scalar

  /// The constant ε added to the denominator, which bounds the step where `v` is near 0.
  public var epsilon: Scalar

  /// The factor λ of the L2 penalty, whose gradient `λ·p` is added to the gradient.
  public var weightDecay: Scalar

  /// The moments and step count.
  private var moments: AdamMoments<Scalar>

  /// Whether each step divides by the largest second moment so far (AMSGrad).
  public var amsgrad: Bool { moments.amsgrad }

  /// The number of updates made so far (restored with the state).
  public var step: Int { moments.step }

  /// Creates an optimizer for parameters of the shapes of `parameters`, with PyTorch's defaults.
  ///
  /// - Parameters:
  ///   - parameters: The model's parameters, in the order updates will pass them.
  ///   - learningRate: The step size.
  ///   - beta1: The decay of the first moment, in [0, 1).
  ///   - beta2: The decay of the second moment, in [0, 1).
  ///   - epsilon: The constant added to the denominator, ≥ 0.
  ///   - weightDecay: The L2 factor λ added to the gradient as `λ·p`, ≥ 0.
  ///   - amsgrad: Whether to divide by the largest second moment so far (AMSGrad).
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: The hyperparameters lie in the ranges above and `learningRate ≥ 0`.
  public init(
    for parameters: [Tensor<Scalar>], learningRate: Scalar = 1e-3, beta1: Scalar = 0.9,
    beta2: Scalar = 0.999, epsilon: Scalar = 1e-8, weightDecay: Scalar = 0,
    amsgrad: Bool = false, file: StaticString = #fileID, line: UInt = #line
  ) {
    checkAdamHyperparameters(
      "Adam", learningRate, beta1, beta2, epsilon, weightDecay,
      at: SourceLocation(file: file, line: line))
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    self.moments = AdamMoments(shapes: parameters.map(\.shape), amsgrad: amsgrad)
  }

  /// Updates `parameters` in place, one step along `gradients`.
  ///
  /// - Precondition: `parameters` and `gradients` have the shapes of the parameters the optimizer
  ///   was created for, in order, and the parameters are not recorded on a tape.
  /// - Complexity: O(n) for n elements in all, one pass.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func update(
    _ parameters: inout [Tensor<Scalar>], along gradients: [Tensor<Scalar>]
  ) {
    checkUpdate("Adam", parameters: parameters, gradients: gradients, shapes: moments.shapes)
    moments.update(
      &parameters, along: gradients, learningRate: learningRate, beta1: beta1, beta2: beta2,
      epsilon: epsilon, l2: weightDecay, decoupledDecay: 0)
  }

  /// `"step"` (a scalar), `"m.0"`, `"m.1"`, ..., `"v.0"`, `"v.1"`, ... and with AMSGrad
  /// `"vMax.0"`, ... (each its parameter's shape).
  public var state: [String: Tensor<Scalar>] { moments.state }

  /// Replaces the step count and moments with those of `state`; other entries are ignored.
  ///
  /// - Throws: ``CheckpointError`` when a tensor is missing, has the wrong shape, or the step is
  ///   not a whole number ≥ 0; the optimizer is then unchanged.
  public mutating func restore(state: [String: Tensor<Scalar>]) throws {
    try moments.restore(state: state)
  }
}

/// Adam with decoupled weight decay (Loshchilov and Hutter, 2019), step for step as PyTorch's
/// `torch.optim.AdamW` (in `Float`, to the betas' rounding, as ``Adam``), AMSGrad included.
///
/// Each step first shrinks every parameter, `p ← p − learningRate·weightDecay·p`, then takes the
/// ``Adam`` step with the unchanged gradient. The decay thus does not pass through the moments,
/// and every weight decays at the same rate whatever its gradients' scale.
///
/// ```swift
/// var optimizer = AdamW(for: model.parameters, learningRate: 1e-3, weightDecay: 0.01)
/// optimizer.update(&model.parameters, along: gradients)
/// ```
///
/// Its ``state`` is the same as Adam's: `"step"`, `"m.0"`, ..., `"v.0"`, ..., and with AMSGrad
/// `"vMax.0"`, ...
public struct AdamW<Scalar: TensorScalar>: Optimizer, Sendable {
  /// The step size of the next update; the decay is scaled by it too.
  public var learningRate: Scalar

  /// The decay β₁ of the first moment (the mean of the gradients).
  public var beta1: Scalar

  /// The decay β₂ of the second moment (the mean of the squared gradients).
  public var beta2: Scalar

  /// The constant ε added to the denominator, which bounds the step where `v` is near 0.
  public var epsilon: Scalar

  /// The factor λ of the decoupled decay `p ← p − learningRate·λ·p`.
  public var weightDecay: Scalar

  /// The moments and step count.
  private var moments: AdamMoments<Scalar>

  /// Whether each step divides by the largest second moment so far (AMSGrad).
  public var amsgrad: Bool { moments.amsgrad }

  /// The number of updates made so far (restored with the state).
  public var step: Int { moments.step }

  /// Creates an optimizer for parameters of the shapes of `parameters`, with PyTorch's defaults.
  ///
  /// - Parameters:
  ///   - parameters: The model's parameters, in the order updates will pass them.
  ///   - learningRate: The step size.
  ///   - beta1: The decay of the first moment, in [0, 1).
  ///   - beta2: The decay of the second moment, in [0, 1).
  ///   - epsilon: The constant added to the denominator, ≥ 0.
  ///   - weightDecay: The decoupled decay factor λ, ≥ 0.
  ///   - amsgrad: Whether to divide by the largest second moment so far (AMSGrad).
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: The hyperparameters lie in the ranges above and `learningRate ≥ 0`.
  public init(
    for parameters: [Tensor<Scalar>], learningRate: Scalar = 1e-3, beta1: Scalar = 0.9,
    beta2: Scalar = 0.999, epsilon: Scalar = 1e-8, weightDecay: Scalar = 1e-2,
    amsgrad: Bool = false, file: StaticString = #fileID, line: UInt = #line
  ) {
    checkAdamHyperparameters(
      "AdamW", learningRate, beta1, beta2, epsilon, weightDecay,
      at: SourceLocation(file: file, line: line))
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    self.moments = AdamMoments(shapes: parameters.map(\.shape), amsgrad: amsgrad)
  }

  /// Updates `parameters` in place: the decay, then one Adam step along `gradients`.
  ///
  /// - Precondition: `parameters` and `gradients` have the shapes of the parameters the optimizer
  ///   was created for, in order, and the parameters are not recorded on a tape.
  /// - Complexity: O(n) for n elements in all, one pass.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func update(
    _ parameters: inout [Tensor<Scalar>], along gradients: [Tensor<Scalar>]
  ) {
    checkUpdate("AdamW", parameters: parameters, gradients: gradients, shapes: moments.shapes)
    moments.update(
      &parameters, along: gradients, learningRate: learningRate, beta1: beta1, beta2: beta2,
      epsilon: epsilon, l2: 0, decoupledDecay: weightDecay)
  }

  /// `"step"` (a scalar), `"m.0"`, `"m.1"`, ..., `"v.0"`, `"v.1"`, ... and with AMSGrad
  /// `"vMax.0"`, ... (each its parameter's shape).
  public var state: [String: Tensor<Scalar>] { moments.state }

  /// Replaces the step count and moments with those of `state`; other entries are ignored.
  ///
  /// - Throws: ``CheckpointError`` when a tensor is missing, has the wrong shape, or the step is
  ///   not a whole number ≥ 0; the optimizer is then unchanged.
  public mutating func restore(state: [String: Tensor<Scalar>]) throws {
    try moments.restore(state: state)
  }
}

/// The state Adam and AdamW share, and the fused update both run.
struct AdamMoments<Scalar: TensorScalar>: Sendable {
  let shapes: [[Int]]
  var step = 0
  /// The first moments m, one per parameter.
  var m: [Tensor<Scalar>]
  /// The second moments v, one per parameter.
  var v: [Tensor<Scalar>]
  /// Whether the step divides by the running maxima of v.
  let amsgrad: Bool
  /// AMSGrad's running maxima of v, one per parameter, or none without AMSGrad.
  var vMax: [Tensor<Scalar>]

  init(shapes: [[Int]], amsgrad: Bool) {
    self.shapes = shapes
    self.amsgrad = amsgrad
    m = shapes.map { Tensor(zeros: $0) }
    v = m
    vMax = amsgrad ? m : []
  }

  /// One step over every parameter: the decoupled decay, the L2 term, the moments, the update.
  mutating func update(
    _ parameters: inout [Tensor<Scalar>], along gradients: [Tensor<Scalar>],
    learningRate: Scalar, beta1: Scalar, beta2: Scalar, epsilon: Scalar, l2: Scalar,
    decoupledDecay: Scalar
  ) {
    step += 1
    // The bias corrections in Double, as PyTorch computes them (Python floats), then rounded
    // once to the parameters' precision.
    let t = Double(step)
    let correction1 = 1 - Double.pow(Double(beta1), t)
    let correction2 = 1 - Double.pow(Double(beta2), t)
    let stepSize = Scalar(Double(learningRate) / correction1)
    let correction2Root = Scalar(correction2.squareRoot())
    let shrink = 1 - learningRate * decoupledDecay
    for index in parameters.indices {
      gradients[index].withUnsafeBufferPointer { g in
        parameters[index].withUnsafeMutableBufferPointer { p in
          m[index].withUnsafeMutableBufferPointer { m in
            v[index].withUnsafeMutableBufferPointer { v in
              withOptionalBuffer(&vMax, index) { vMax in
                // The count from the buffer: `gradients[index]` would copy the tensor here.
                let count = p.count
                guard count > 0 else { return }
                let (g, p, m, v) = (g.baseAddress!, p.baseAddress!, m.baseAddress!, v.baseAddress!)
                // Split across cores for large parameters; each range runs Autodiff's vectorized
                // kernel, whose operations and their order are a plain loop's, so its bits too (a
                // Swift loop stayed scalar, sqrtss and two divides per element: 14% of a
                // Fashion-MNIST epoch).
                forEachRange(count: count, grain: elementwiseGrain) { range in
                  let j = range.lowerBound
                  Scalar.adamStep(
                    parameters: p + j, gradients: g + j, firstMoments: m + j, secondMoments: v + j,
                    secondMomentMaxima: vMax.map { $0 + j }, count: range.count, beta1: beta1,
                    beta2: beta2, stepSize: stepSize, correction2Root: correction2Root,
                    epsilon: epsilon, l2: l2, shrink: shrink)
                }
              }
            }
          }
        }
      }
    }
  }

  var state: [String: Tensor<Scalar>] {
    var state = ["step": Tensor(Scalar(step))]
    store(m, as: "m", into: &state)
    store(v, as: "v", into: &state)
    store(vMax, as: "vMax", into: &state)
    return state
  }

  mutating func restore(state: [String: Tensor<Scalar>]) throws {
    let step = try restoredStep(from: state)
    let m = try restoredTensors("m", shapes: shapes, from: state)
    let v = try restoredTensors("v", shapes: shapes, from: state)
    let vMax = amsgrad ? try restoredTensors("vMax", shapes: shapes, from: state) : []
    (self.step, self.m, self.v, self.vMax) = (step, m, v, vMax)
  }
}

/// Stops with a message unless Adam's hyperparameters lie in their ranges.
private func checkAdamHyperparameters<Scalar: TensorScalar>(
  _ optimizer: String, _ learningRate: Scalar, _ beta1: Scalar, _ beta2: Scalar,
  _ epsilon: Scalar, _ weightDecay: Scalar, at location: SourceLocation
) {
  requireNN(
    learningRate >= 0 && epsilon >= 0 && weightDecay >= 0,
    "\(optimizer): learningRate \(learningRate), epsilon \(epsilon) and weightDecay "
      + "\(weightDecay) must be ≥ 0", at: location)
  requireNN(
    (0..<1).contains(beta1) && (0..<1).contains(beta2),
    "\(optimizer): beta1 \(beta1) and beta2 \(beta2) must lie in [0, 1)", at: location)
}
