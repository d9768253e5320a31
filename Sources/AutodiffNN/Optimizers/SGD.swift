// On `@_specialize`, see the note at the top of Adam.swift.

/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
/// step for step as PyTorch's `torch.optim.SGD` (with `dampening = 0`).
///
/// For each parameter `p` with gradient `g`, one ``update(_:along:)`` computes
///
/// ```
/// d ← g + weightDecay·p                     (only when weightDecay ≠ 0: an L2 penalty
///                                            ½·weightDecay·‖p‖² added to the loss)
/// b ← momentum·b + d                        (b starts at 0, so the first step sets b = d)
/// d ← nesterov ? d + momentum·b : b         (only when momentum ≠ 0)
/// p ← p − learningRate·d
/// ```
///
/// in one pass over each parameter's elements, allocating nothing when the parameters' buffers
/// are not shared.
///
/// ```swift
/// var optimizer = SGD(for: model.parameters, learningRate: 0.1, momentum: 0.9)
/// for (step, batch) in batches.enumerated() {
///   let (loss, gradients) = valueWithGradient(at: model.parameters) { p in
///     var model = model
///     model.parameters = p
///     return softmaxCrossEntropy(logits: model(batch.images), labels: batch.labels)
///   }
///   optimizer.update(&model.parameters, along: gradients)
/// }
/// ```
///
/// Its ``state`` is the step count (`"step"`) and, with momentum, one buffer per parameter
/// (`"momentum.0"`, `"momentum.1"`, ...).
public struct SGD<Scalar: TensorScalar>: Optimizer, Sendable {
  /// The step size of the next update.
  public var learningRate: Scalar

  /// The factor μ by which the momentum buffer decays each step; 0 for plain SGD.
  public let momentum: Scalar

  /// Whether to step along `d + μ·b` (Nesterov) rather than `b`.
  public let nesterov: Bool

  /// The factor λ of the L2 penalty, whose gradient `λ·p` is added to the gradient.
  public var weightDecay: Scalar

  /// The number of updates made so far (restored with the state).
  public private(set) var step = 0

  /// The shapes of the parameters the optimizer was created for.
  private let shapes: [[Int]]

  /// One momentum buffer per parameter, or none when `momentum` is 0.
  private var buffers: [Tensor<Scalar>]

  /// Creates an optimizer for parameters of the shapes of `parameters`.
  ///
  /// - Parameters:
  ///   - parameters: The model's parameters, in the order updates will pass them.
  ///   - learningRate: The step size.
  ///   - momentum: The decay μ of the momentum buffer; 0 for none.
  ///   - nesterov: Whether to use Nesterov momentum.
  ///   - weightDecay: The L2 factor λ added to the gradient as `λ·p`.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `learningRate`, `momentum` and `weightDecay` are ≥ 0; `nesterov` needs
  ///   `momentum > 0`.
  public init(
    for parameters: [Tensor<Scalar>], learningRate: Scalar, momentum: Scalar = 0,
    nesterov: Bool = false, weightDecay: Scalar = 0,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    let location = SourceLocation(file: file, line: line)
    requireNN(
      learningRate >= 0 && momentum >= 0 && weightDecay >= 0,
      "SGD: learningRate \(learningRate), momentum \(momentum) and weightDecay \(weightDecay) "
        + "must be ≥ 0", at: location)
    requireNN(!nesterov || momentum > 0, "SGD: Nesterov momentum needs momentum > 0", at: location)
    self.learningRate = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
    self.weightDecay = weightDecay
    self.shapes = parameters.map(\.shape)
    self.buffers = momentum == 0 ? [] : shapes.map { Tensor(zeros: $0) }
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
    checkUpdate("SGD", parameters: parameters, gradients: gradients, shapes: shapes)
    step += 1
    let (rate, decay, mu, nesterov) = (learningRate, weightDecay, momentum, nesterov)
    for index in parameters.indices {
      gradients[index].withUnsafeBufferPointer { g in
        parameters[index].withUnsafeMutableBufferPointer { p in
          // The count from the buffer: `gradients[index]` would copy the tensor here.
          let count = p.count
          guard let g = g.baseAddress, let p = p.baseAddress else { return }
          // Autodiff's vectorized kernel, split across cores for large parameters (a one-thread
          // Swift loop was 5% of an mlp-wide step).
          func run(_ b: UnsafeMutablePointer<Scalar>?) {
            forEachRange(count: count, grain: elementwiseGrain) { range in
              let j = range.lowerBound
              Scalar.sgdStep(
                parameters: p + j, gradients: g + j, momentumBuffer: b.map { $0 + j },
                count: range.count, rate: rate, decay: decay, momentum: mu, nesterov: nesterov)
            }
          }
          guard mu != 0 else { return run(nil) }
          buffers[index].withUnsafeMutableBufferPointer { run($0.baseAddress) }
        }
      }
    }
  }

  /// `"step"` (a scalar) and, with momentum, `"momentum.0"`, `"momentum.1"`, ... (each its
  /// parameter's shape).
  public var state: [String: Tensor<Scalar>] {
    var state = ["step": Tensor(Scalar(step))]
    store(buffers, as: "momentum", into: &state)
    return state
  }

  /// Replaces the step count and momentum buffers with those of `state`; other entries are
  /// ignored.
  ///
  /// - Throws: ``CheckpointError`` when a tensor is missing, has the wrong shape, or the step is
  ///   not a whole number ≥ 0; the optimizer is then unchanged.
  public mutating func restore(state: [String: Tensor<Scalar>]) throws {
    let step = try restoredStep(from: state)
    let buffers = momentum == 0 ? [] : try restoredTensors("momentum", shapes: shapes, from: state)
    self.step = step
    self.buffers = buffers
  }
}
