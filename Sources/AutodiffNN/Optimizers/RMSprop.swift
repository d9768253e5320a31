// On `@_specialize`, see the note at the top of Adam.swift.

/// RMSprop (Hinton, 2012), step for step as PyTorch's `torch.optim.RMSprop`: each step divides
/// the gradient by a running root mean square of past gradients.
///
/// For each parameter `p` with gradient `g`, one ``update(_:along:)`` computes
///
/// ```
/// g ← g + weightDecay·p                     (L2, only when weightDecay ≠ 0)
/// v ← α·v + (1 − α)·g²                      (v starts at 0)
/// ṽ ← centered ? v − ḡ² : v,  with ḡ ← α·ḡ + (1 − α)·g   (ḡ starts at 0)
/// momentum > 0:  b ← μ·b + g/(√ṽ + ε),  p ← p − learningRate·b      (b starts at 0)
/// momentum = 0:  p ← p − learningRate·g/(√ṽ + ε)
/// ```
///
/// ```swift
/// var optimizer = RMSprop(for: model.parameters, learningRate: 1e-3)
/// optimizer.update(&model.parameters, along: gradients)
/// ```
///
/// Its ``state`` is the step count (`"step"`), the mean squares (`"squareAverage.0"`, ...), with
/// momentum the buffers (`"momentum.0"`, ...), and when centered the mean gradients
/// (`"gradientAverage.0"`, ...), in parameter order.
public struct RMSprop<Scalar: TensorScalar>: Optimizer, Sendable {
  /// The step size of the next update.
  public var learningRate: Scalar

  /// The decay α of the running mean square (PyTorch's `alpha`).
  public var alpha: Scalar

  /// The constant ε added to the root mean square.
  public var epsilon: Scalar

  /// The factor λ of the L2 penalty, whose gradient `λ·p` is added to the gradient.
  public var weightDecay: Scalar

  /// The decay μ of the momentum buffer; 0 for none.
  public let momentum: Scalar

  /// Whether the mean square is centered by the running mean gradient (an estimate of the
  /// variance rather than of the second moment).
  public let centered: Bool

  /// The number of updates made so far (restored with the state).
  public private(set) var step = 0

  /// The shapes of the parameters the optimizer was created for.
  private let shapes: [[Int]]

  /// v, one per parameter.
  private var squareAverages: [Tensor<Scalar>]

  /// b, one per parameter, or none without momentum.
  private var momentumBuffers: [Tensor<Scalar>]

  /// ḡ, one per parameter, or none unless centered.
  private var gradientAverages: [Tensor<Scalar>]

  /// Creates an optimizer for parameters of the shapes of `parameters`, with PyTorch's defaults.
  ///
  /// - Parameters:
  ///   - parameters: The model's parameters, in the order updates will pass them.
  ///   - learningRate: The step size, ≥ 0.
  ///   - alpha: The decay of the mean square, in [0, 1).
  ///   - epsilon: The constant added to the root mean square, ≥ 0.
  ///   - weightDecay: The L2 factor λ added to the gradient as `λ·p`, ≥ 0.
  ///   - momentum: The decay μ of the momentum buffer, ≥ 0; 0 for none.
  ///   - centered: Whether to divide by an estimate of the gradient's variance.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: The hyperparameters lie in the ranges above.
  public init(
    for parameters: [Tensor<Scalar>], learningRate: Scalar = 1e-2, alpha: Scalar = 0.99,
    epsilon: Scalar = 1e-8, weightDecay: Scalar = 0, momentum: Scalar = 0, centered: Bool = false,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    let location = SourceLocation(file: file, line: line)
    requireNN(
      learningRate >= 0 && epsilon >= 0 && weightDecay >= 0 && momentum >= 0,
      "RMSprop: learningRate \(learningRate), epsilon \(epsilon), weightDecay \(weightDecay) "
        + "and momentum \(momentum) must be ≥ 0", at: location)
    requireNN(
      (0..<1).contains(alpha), "RMSprop: alpha \(alpha) must lie in [0, 1)", at: location)
    self.learningRate = learningRate
    self.alpha = alpha
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    self.momentum = momentum
    self.centered = centered
    self.shapes = parameters.map(\.shape)
    let zeros = shapes.map { Tensor<Scalar>(zeros: $0) }
    self.squareAverages = zeros
    self.momentumBuffers = momentum > 0 ? zeros : []
    self.gradientAverages = centered ? zeros : []
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
    checkUpdate("RMSprop", parameters: parameters, gradients: gradients, shapes: shapes)
    step += 1
    let (rate, alpha, epsilon, decay, mu) = (learningRate, alpha, epsilon, weightDecay, momentum)
    for index in parameters.indices {
      gradients[index].withUnsafeBufferPointer { g in
        parameters[index].withUnsafeMutableBufferPointer { p in
          squareAverages[index].withUnsafeMutableBufferPointer { v in
            withOptionalBuffer(&gradientAverages, index) { gBar in
              withOptionalBuffer(&momentumBuffers, index) { b in
                // The count from the buffer: `gradients[index]` would copy the tensor here.
                let count = p.count
                guard let g = g.baseAddress, let p = p.baseAddress, let v = v.baseAddress else {
                  return
                }
                // Split across cores for large parameters; each range runs Autodiff's
                // vectorized kernel, whose operations and their order are a plain loop's, so its
                // bits too (a Swift loop took 6 times as long as Adam's kernel on mlp-wide's
                // parameters, on one core).
                forEachRange(count: count, grain: elementwiseGrain) { range in
                  let j = range.lowerBound
                  Scalar.rmspropStep(
                    parameters: p + j, gradients: g + j, squareAverages: v + j,
                    gradientAverages: gBar.map { $0 + j }, momentumBuffer: b.map { $0 + j },
                    count: range.count, rate: rate, alpha: alpha, epsilon: epsilon, decay: decay,
                    momentum: mu)
                }
              }
            }
          }
        }
      }
    }
  }

  /// `"step"` (a scalar), `"squareAverage.<i>"`, and `"momentum.<i>"` with momentum and
  /// `"gradientAverage.<i>"` when centered (each its parameter's shape).
  public var state: [String: Tensor<Scalar>] {
    var state = ["step": Tensor(Scalar(step))]
    store(squareAverages, as: "squareAverage", into: &state)
    store(momentumBuffers, as: "momentum", into: &state)
    store(gradientAverages, as: "gradientAverage", into: &state)
    return state
  }

  /// Replaces the step count and running values with those of `state`; other entries are
  /// ignored.
  ///
  /// - Throws: ``CheckpointError`` when a tensor is missing, has the wrong shape, or the step is
  ///   not a whole number ≥ 0; the optimizer is then unchanged.
  public mutating func restore(state: [String: Tensor<Scalar>]) throws {
    let step = try restoredStep(from: state)
    let squares = try restoredTensors("squareAverage", shapes: shapes, from: state)
    let buffers = momentum > 0 ? try restoredTensors("momentum", shapes: shapes, from: state) : []
    let averages =
      centered ? try restoredTensors("gradientAverage", shapes: shapes, from: state) : []
    (self.step, squareAverages, momentumBuffers, gradientAverages) = (
      step, squares, buffers, averages
    )
  }
}
