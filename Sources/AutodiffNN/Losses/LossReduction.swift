/// How a loss combines the losses of its elements or rows, as PyTorch's `reduction` argument.
///
/// ```swift
/// let perRow = softmaxCrossEntropy(logits: logits, labels: labels, reduction: .none)  // [batch]
/// let weighted = (perRow * weights).sum()   // each example weighted on its own
/// ```
public enum LossReduction: Sendable, Hashable {
  /// Their mean: the default, which keeps a gradient's scale independent of the batch size.
  case mean
  /// Their sum.
  case sum
  /// No reduction: each element's loss (the shape of the predictions), or each row's
  /// (`[batch]`) for a loss of class labels.
  case none

  /// `losses` reduced: their mean, their sum, or themselves.
  func reduce<Scalar>(_ losses: Tensor<Scalar>) -> Tensor<Scalar> {
    switch self {
    case .mean: losses.mean()
    case .sum: losses.sum()
    case .none: losses
    }
  }

}
