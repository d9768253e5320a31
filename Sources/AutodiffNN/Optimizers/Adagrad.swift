// On `@_specialize`, see the note at the top of Adam.swift.

/// Adagrad (Duchi, Hazan and Singer, 2011), step for step as PyTorch's `torch.optim.Adagrad`:
/// each parameter's step is divided by the root of the sum of all its squared gradients so far,
/// so parameters with rare, small gradients keep larger steps than those with frequent, large
/// ones.
///
/// For each parameter `p` with gradient `g`, step `t` (counting from 1) computes
///
/// ```
/// g ← g + weightDecay·p                              (L2, only when weightDecay ≠ 0)
/// s ← s + g²                                         (s starts at initialAccumulatorValue)
/// p ← p − (learningRate / (1 + (t − 1)·learningRateDecay)) · g/(√s + ε)
/// ```
///
/// The rate of step t is computed in Double, as PyTorch computes it in Python floats, then
/// rounded once to the parameters' precision.
///
/// ```swift
/// var optimizer = Adagrad(for: model.parameters, learningRate: 1e-2)
/// optimizer.update(&model.parameters, along: gradients)
/// ```
///
/// Its ``state`` is the step count (`"step"`) and the sums of squares (`"sum.0"`, `"sum.1"`, ...;
/// PyTorch's `sum`), in parameter order.
public struct Adagrad<Scalar: TensorScalar>: Optimizer, Sendable {
  /// The step size of the first update.
  public var learningRate: Scalar

  /// The decay of the rate: step t takes `learningRate / (1 + (t − 1)·learningRateDecay)`
  /// (PyTorch's `lr_decay`).
  public var learningRateDecay: Scalar

  /// The constant ε added to the root of the sum of squares.
  public var epsilon: Scalar

  /// The factor λ of the L2 penalty, whose gradient `λ·p` is added to the gradient.
  public var weightDecay: Scalar

  /// The number of updates made so far (restored with the state).
  public private(set) var step = 0

  /// The shapes of the parameters the optimizer was created for.
  private let shapes: [[Int]]

  /// s, one per parameter.
  private var squareSums: [Tensor<Scalar>]

  /// Creates an optimizer for parameters of the shapes of `parameters`, with PyTorch's defaults.
  ///
  /// - Parameters:
  ///   - parameters: The model's parameters, in the order updates will pass them.
  ///   - learningRate: The step size, ≥ 0.
  ///   - learningRateDecay: The decay of the rate over the steps, ≥ 0.
  ///   - epsilon: The constant added to the root of the sum of squares, ≥ 0.
  ///   - weightDecay: The L2 factor λ added to the gradient as `λ·p`, ≥ 0.
  ///   - initialAccumulatorValue: The value the sums of squares start at, ≥ 0.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: The hyperparameters lie in the ranges above.
  public init(
    for parameters: [Tensor<Scalar>], learningRate: Scalar = 1e-2, learningRateDecay: Scalar = 0,
    epsilon: Scalar = 1e-10, weightDecay: Scalar = 0, initialAccumulatorValue: Scalar = 0,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    requireNN(
      learningRate >= 0 && learningRateDecay >= 0 && epsilon >= 0 && weightDecay >= 0
        && initialAccumulatorValue >= 0,
      "Adagrad: learningRate \(learningRate), learningRateDecay \(learningRateDecay), epsilon "
        + "\(epsilon), weightDecay \(weightDecay) and initialAccumulatorValue "
        + "\(initialAccumulatorValue) must be ≥ 0", at: SourceLocation(file: file, line: line))
    self.learningRate = learningRate
    self.learningRateDecay = learningRateDecay
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    self.shapes = parameters.map(\.shape)
    self.squareSums = shapes.map { Tensor(repeating: initialAccumulatorValue, shape: $0) }
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
    checkUpdate("Adagrad", parameters: parameters, gradients: gradients, shapes: shapes)
    step += 1
    let rate = Scalar(
      Double(learningRate) / (1 + Double(step - 1) * Double(learningRateDecay)))
    let (epsilon, decay) = (epsilon, weightDecay)
    for index in parameters.indices {
      gradients[index].withUnsafeBufferPointer { g in
        parameters[index].withUnsafeMutableBufferPointer { p in
          squareSums[index].withUnsafeMutableBufferPointer { s in
            // The count from the buffer: `gradients[index]` would copy the tensor here.
            let count = p.count
            guard let g = g.baseAddress, let p = p.baseAddress, let s = s.baseAddress else {
              return
            }
            // Split across cores for large parameters; each range runs Autodiff's vectorized
            // kernel, whose operations and their order are a plain loop's, so its bits too.
            forEachRange(count: count, grain: elementwiseGrain) { range in
              let j = range.lowerBound
              Scalar.adagradStep(
                parameters: p + j, gradients: g + j, squareSums: s + j, count: range.count,
                rate: rate, epsilon: epsilon, decay: decay)
            }
          }
        }
      }
    }
  }

  /// `"step"` (a scalar) and `"sum.0"`, `"sum.1"`, ... (each its parameter's shape).
  public var state: [String: Tensor<Scalar>] {
    var state = ["step": Tensor(Scalar(step))]
    store(squareSums, as: "sum", into: &state)
    return state
  }

  /// Replaces the step count and sums of squares with those of `state`; other entries are
  /// ignored.
  ///
  /// - Throws: ``CheckpointError`` when a tensor is missing, has the wrong shape, or the step is
  ///   not a whole number ≥ 0; the optimizer is then unchanged.
  public mutating func restore(state: [String: Tensor<Scalar>]) throws {
    let step = try restoredStep(from: state)
    let sums = try restoredTensors("sum", shapes: shapes, from: state)
    (self.step, squareSums) = (step, sums)
  }
}
