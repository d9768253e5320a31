// How many floating-point operations each layer's forward pass takes, for ``ModelSummary``. A
// multiply-add counts as two (the convention of FLOP counts in papers; torchinfo's "mult-adds"
// are half of a matrix product's count here). Elementwise functions count one per element, as
// fvcore and ptflops count activations.

/// A layer that can say how many floating-point operations its forward pass takes, shown by
/// ``Layer/summary(inputShape:)``. A layer that does not adopt it shows `—`.
///
/// ```swift
/// extension Scale: FLOPCounting {
///   func flops(inputShape: [Int], outputShape: [Int]) -> Int { outputShape.reduce(1, *) }
/// }
/// ```
public protocol FLOPCounting {
  /// The floating-point operations of one forward pass from `inputShape` to `outputShape`, a
  /// multiply-add counting as two.
  func flops(inputShape: [Int], outputShape: [Int]) -> Int
}

extension Dense: FLOPCounting {
  /// `2·rows·inputSize·outputSize` for the product and `rows·outputSize` for the bias, where
  /// `rows` is the product of the input's leading axes (all but the last: a `[batch, tokens,
  /// inputSize]` input has `batch·tokens` rows); the activation, a closure, is not counted.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int {
    let rows = inputShape.dropLast().reduce(1, *)
    return 2 * rows * inputSize * outputSize + rows * outputSize
  }
}

extension Embedding: FLOPCounting {
  /// None: the lookup copies rows of the table and computes nothing.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int { 0 }
}

extension ReLU: FLOPCounting {
  /// One per element.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int { outputShape.reduce(1, *) }
}

extension Sigmoid: FLOPCounting {
  /// One per element.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int { outputShape.reduce(1, *) }
}

extension Tanh: FLOPCounting {
  /// One per element.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int { outputShape.reduce(1, *) }
}

extension LeakyReLU: FLOPCounting {
  /// One per element.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int { outputShape.reduce(1, *) }
}

extension Softplus: FLOPCounting {
  /// One per element.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int { outputShape.reduce(1, *) }
}

extension GELU: FLOPCounting {
  /// One per element.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int { outputShape.reduce(1, *) }
}

extension SiLU: FLOPCounting {
  /// One per element.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int { outputShape.reduce(1, *) }
}

extension Dropout: FLOPCounting {
  /// One per element in training (the masked multiply), none in inference.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int {
    mode == .training && rate > 0 ? outputShape.reduce(1, *) : 0
  }
}

extension LayerNorm: FLOPCounting {
  /// Seven per element: the mean's add, the centring, the square, the variance's add, the
  /// division, the scale and the shift.
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int { 7 * outputShape.reduce(1, *) }
}

extension BatchNorm: FLOPCounting {
  /// Seven per element in training (as ``LayerNorm``), four in inference (subtract, divide,
  /// scale, shift).
  public func flops(inputShape: [Int], outputShape: [Int]) -> Int {
    (mode == .training ? 7 : 4) * outputShape.reduce(1, *)
  }
}
