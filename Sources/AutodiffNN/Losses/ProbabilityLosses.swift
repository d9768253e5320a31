// Losses on probabilities: the negative log-likelihood of log-probabilities, label smoothing for
// softmax cross-entropy, and the Kullback-Leibler divergence. Composites of Autodiff's
// operations, so their gradients (and tangents) are the chain rule through them.

/// The negative log-likelihood of integer labels given log-probabilities, averaged over the
/// batch, as PyTorch's `nn.NLLLoss`: `−mean over rows i of logProbabilities[i, labelᵢ]`.
///
/// Give it the output of `logSoftmax(_:alongAxis:)`; the pair is ``softmaxCrossEntropy(logits:labels:reduction:file:line:)``
/// in two steps (which is the faster one):
///
/// ```swift
/// let loss = negativeLogLikelihood(logProbabilities: logSoftmax(logits, alongAxis: 1), labels: y)
/// ```
///
/// The gradient with respect to the log-probabilities is `−onehot(labels)/batch`. Only the
/// labels' entries are read: the loss is finite when another class's log-probability is −∞.
///
/// - Parameters:
///   - logProbabilities: Log-probabilities, `[batch, classes]`.
///   - labels: The class of each row, each in `0..<classes`.
///   - reduction: The mean over rows (the default), the sum, or each row's loss (`.none`, a
///     `[batch]` vector).
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: A scalar tensor, or for `.none` the loss of each row.
/// - Precondition: `logProbabilities` has rank 2 with at least one row and one class; `labels`
///   has one entry per row, each in `0..<classes`.
public func negativeLogLikelihood<Scalar: TensorScalar>(
  logProbabilities: Tensor<Scalar>, labels: [Int], reduction: LossReduction = .mean,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  checkClassification(
    logProbabilities, labels, "negativeLogLikelihood",
    at: SourceLocation(file: file, line: line))
  let (batch, classes) = (logProbabilities.shape[0], logProbabilities.shape[1])
  // Only the labels' entries are read, as in PyTorch: a product with the one-hot rows would
  // make a row with −∞ (log 0) or NaN at another class NaN, 0·(−∞) being NaN.
  let picked = logProbabilities.reshaped(to: [batch * classes]).gathering(
    atIndices: labels.enumerated().map { row, label in row * classes + label })
  return reduction.reduce(-picked)
}

/// Softmax cross-entropy of the rows whose label is not `ignoreIndex`, as PyTorch's
/// `nn.CrossEntropyLoss(ignore_index=i)`: an ignored row has no loss and no gradient, and the
/// mean divides by the rows kept, so padding or unlabeled rows neither count nor dilute it.
///
/// ```swift
/// // −100 marks the rows without a label, PyTorch's default ignore_index.
/// let loss = softmaxCrossEntropy(logits: logits, labels: [2, -100, 1, -100], ignoreIndex: -100)
/// ```
///
/// `.none` gives every row's loss, 0 for the ignored ones. When every row is ignored the mean is
/// NaN (0/0) and the gradient 0, as in PyTorch.
///
/// - Precondition: As for ``softmaxCrossEntropy(logits:labels:reduction:file:line:)``, except
///   that a label equal to `ignoreIndex` may lie outside `0..<classes`.
public func softmaxCrossEntropy<Scalar: TensorScalar>(
  logits: Tensor<Scalar>, labels: [Int], ignoreIndex: Int, reduction: LossReduction = .mean,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  keptRows(
    logits, labels, ignoring: ignoreIndex, reduction, "softmaxCrossEntropy",
    at: SourceLocation(file: file, line: line)
  ) { rows, kept in
    softmaxCrossEntropy(logits: rows, labels: kept, reduction: .none, file: file, line: line)
  }
}

/// The negative log-likelihood of the rows whose label is not `ignoreIndex`, as PyTorch's
/// `nn.NLLLoss(ignore_index=i)`: an ignored row has no loss and no gradient, and the mean
/// divides by the rows kept (NaN when there are none, with a gradient of 0).
///
/// - Precondition: As for ``negativeLogLikelihood(logProbabilities:labels:reduction:file:line:)``,
///   except that a label equal to `ignoreIndex` may lie outside `0..<classes`.
public func negativeLogLikelihood<Scalar: TensorScalar>(
  logProbabilities: Tensor<Scalar>, labels: [Int], ignoreIndex: Int,
  reduction: LossReduction = .mean, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  keptRows(
    logProbabilities, labels, ignoring: ignoreIndex, reduction, "negativeLogLikelihood",
    at: SourceLocation(file: file, line: line)
  ) { rows, kept in
    negativeLogLikelihood(
      logProbabilities: rows, labels: kept, reduction: .none, file: file, line: line)
  }
}

/// `rowLosses` of the rows of `scores` whose label is not `ignored`, reduced over those rows,
/// or for `.none` in every row's place (0 for an ignored row).
private func keptRows<Scalar: TensorScalar>(
  _ scores: Tensor<Scalar>, _ labels: [Int], ignoring ignored: Int, _ reduction: LossReduction,
  _ function: String, at location: SourceLocation,
  _ rowLosses: (Tensor<Scalar>, [Int]) -> Tensor<Scalar>
) -> Tensor<Scalar> {
  checkClassification(scores, labels, function, ignoring: ignored, at: location)
  let kept = labels.indices.filter { labels[$0] != ignored }
  if kept.count == labels.count { return reduction.reduce(rowLosses(scores, labels)) }
  let rows = scores.gathering(atIndices: kept)
  // No row kept: an empty vector of losses that still leads back to the scores (its gradient
  // is 0 everywhere).
  let losses =
    kept.isEmpty ? rows.sum(squeezingAxes: [1]) : rowLosses(rows, kept.map { labels[$0] })
  switch reduction {
  case .mean: return losses.sum() / Scalar(kept.count)
  case .sum: return losses.sum()
  case .none:
    // Each kept row's loss in its place, and a 0 (the last element) in an ignored row's.
    var position = 0
    let places = labels.map { label -> Int in
      guard label != ignored else { return kept.count }
      defer { position += 1 }
      return position
    }
    return Tensor(concatenating: [losses, Tensor(zeros: [1])]).gathering(atIndices: places)
  }
}

/// Softmax cross-entropy against labels smoothed by `labelSmoothing`, averaged over the batch,
/// as PyTorch's `nn.CrossEntropyLoss(label_smoothing=ε)`.
///
/// The target of row i puts `1 − ε + ε/K` on its label and `ε/K` on each other of the K classes,
/// so the loss is
///
/// ```
/// (1 − ε) · softmaxCrossEntropy(z, labels) + ε · mean over rows and classes of −logSoftmax(z)
/// ```
///
/// which discourages overconfident logits. The gradient with respect to the logits is
/// `(softmax(z) − target)/batch`. With `ε = 0` it is ``softmaxCrossEntropy(logits:labels:reduction:file:line:)``.
///
/// ```swift
/// let loss = softmaxCrossEntropy(logits: model(images), labels: labels, labelSmoothing: 0.1)
/// ```
///
/// `reduction` applies to the rows' losses, each row's being `(1 − ε)·` its softmax
/// cross-entropy `+ ε·` the mean over its classes of `−logSoftmax(z)`.
///
/// - Precondition: As for ``softmaxCrossEntropy(logits:labels:reduction:file:line:)``, and
///   `0 ≤ labelSmoothing ≤ 1`.
public func softmaxCrossEntropy<Scalar: TensorScalar>(
  logits: Tensor<Scalar>, labels: [Int], labelSmoothing: Scalar,
  reduction: LossReduction = .mean, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  requireNN(
    labelSmoothing >= 0 && labelSmoothing <= 1,
    "softmaxCrossEntropy: labelSmoothing must lie in [0, 1], got \(labelSmoothing)",
    at: SourceLocation(file: file, line: line))
  let hard = softmaxCrossEntropy(
    logits: logits, labels: labels, reduction: reduction, file: file, line: line)
  guard labelSmoothing > 0 else { return hard }
  // Each row's mean over its classes, reduced as the rows' losses are.
  let uniform = reduction.reduce(-logSoftmax(logits, alongAxis: 1).mean(squeezingAxes: [1]))
  return (1 - labelSmoothing) * hard + labelSmoothing * uniform
}

/// Softmax cross-entropy with a weight for each class, as PyTorch's
/// `nn.CrossEntropyLoss(weight=w)`: row i's loss is multiplied by `w[labelᵢ]`, and the mean
/// divides by the sum of those weights rather than by the batch,
///
/// ```
/// Σᵢ w[labelᵢ] · (−log softmax(zᵢ)[labelᵢ]) / Σᵢ w[labelᵢ]
/// ```
///
/// so that a rare class counts as much as its weight says while the loss keeps its scale.
/// `.sum` adds the weighted losses and `.none` gives each row's.
///
/// With `labelSmoothing` ε > 0, as PyTorch's `nn.CrossEntropyLoss(weight=w, label_smoothing=ε)`,
/// row i's loss is `(1 − ε)·w[labelᵢ]·(−log softmax(zᵢ)[labelᵢ]) + (ε/C)·Σ_c w[c]·(−log
/// softmax(zᵢ)[c])` for C classes, and the mean still divides by `Σᵢ w[labelᵢ]`.
///
/// ```swift
/// // Class 1 is five times rarer than class 0 in the data.
/// let loss = softmaxCrossEntropy(logits: logits, labels: labels, classWeights: Tensor([1, 5]))
/// ```
///
/// - Precondition: As for ``softmaxCrossEntropy(logits:labels:reduction:file:line:)``,
///   `classWeights` has shape `[classes]`, and `0 ≤ labelSmoothing ≤ 1`.
public func softmaxCrossEntropy<Scalar: TensorScalar>(
  logits: Tensor<Scalar>, labels: [Int], classWeights: Tensor<Scalar>,
  labelSmoothing: Scalar = 0, reduction: LossReduction = .mean,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  checkClassification(logits, labels, "softmaxCrossEntropy", at: location)
  requireNN(
    classWeights.shape == [logits.shape[1]],
    "softmaxCrossEntropy: classWeights must have shape [\(logits.shape[1])] for logits "
      + "\(logits.shape.shapeText), got \(classWeights.shape.shapeText)", at: location)
  requireNN(
    labelSmoothing >= 0 && labelSmoothing <= 1,
    "softmaxCrossEntropy: labelSmoothing must lie in [0, 1], got \(labelSmoothing)",
    at: location)
  let rowWeights = classWeights.gathering(atIndices: labels)
  var losses =
    softmaxCrossEntropy(logits: logits, labels: labels, reduction: .none, file: file, line: line)
    * rowWeights
  if labelSmoothing > 0 {
    // Each row's weighted sum over its classes of −log softmax, spread evenly as ε/C.
    let spread = -(logSoftmax(logits, alongAxis: 1) * classWeights).sum(squeezingAxes: [1])
    let classes = Scalar(logits.shape[1])
    losses = (1 - labelSmoothing) * losses + (labelSmoothing / classes) * spread
  }
  switch reduction {
  case .mean: return losses.sum() / rowWeights.sum()
  case .sum: return losses.sum()
  case .none: return losses
  }
}

/// The Kullback-Leibler divergence of `targets` from the distribution whose logarithm is
/// `logProbabilities`, summed over each row and averaged over rows, as PyTorch's
/// `nn.KLDivLoss(reduction="batchmean")`:
///
/// ```
/// KL(p ‖ q) = Σᵢⱼ pᵢⱼ · (log pᵢⱼ − log qᵢⱼ) / batch
/// ```
///
/// with `p = targets` and `log q = logProbabilities`; a term with `pᵢⱼ = 0` is 0 (the limit of
/// `p log p`), so one-hot targets are fine. It is 0 when q equals p and positive otherwise. The
/// gradient with respect to `logProbabilities` is `−p/batch`; with respect to the targets,
/// `(log p + 1 − log q)/batch` where p > 0 and `−log q/batch` where p = 0, the `p log p` term
/// counting as the constant 0 there (its one-sided derivative is −∞; PyTorch's is NaN).
///
/// `reduction` applies to the rows' divergences, each row's being the sum of its terms: `.mean`
/// (the default) is PyTorch's `"batchmean"` above, `.sum` adds every term, and `.none` gives each
/// row's divergence, `[batch]`. (PyTorch's `"none"` keeps each term, `p·(log p − log q)`, and its
/// `"mean"` divides by the element count, which is not a divergence; neither has a case here.)
///
/// ```swift
/// // Distillation: the student's log-probabilities against the teacher's probabilities.
/// let loss = klDivergence(
///   logProbabilities: logSoftmax(student(x), alongAxis: 1),
///   targets: softmax(teacher(x), alongAxis: 1))
/// ```
///
/// - Parameters:
///   - logProbabilities: log q, `[batch, ...]`.
///   - targets: p, of the same shape, each element ≥ 0.
///   - reduction: The mean of the rows' divergences (the default), their sum, or the
///     divergences themselves (`.none`, `[batch]`).
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: A scalar tensor, or `[batch]` for `.none`.
/// - Precondition: The shapes agree, with rank ≥ 1 and at least one element.
public func klDivergence<Scalar: TensorScalar>(
  logProbabilities: Tensor<Scalar>, targets: Tensor<Scalar>, reduction: LossReduction = .mean,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  requireNN(
    logProbabilities.shape == targets.shape && logProbabilities.rank >= 1
      && logProbabilities.scalarCount > 0,
    "klDivergence: logProbabilities \(logProbabilities.shape.shapeText) and targets "
      + "\(targets.shape.shapeText) must have the same, non-empty shape of rank ≥ 1",
    at: SourceLocation(file: file, line: line))
  // p·log p with 0·log 0 = 0: where p = 0, log(p + 1) = 0 stands in for log p (the mask is a
  // constant, so the gradient where p > 0 is that of p·log p).
  let zeros = withoutDerivative(at: targets) .== 0
  let targetEntropyTerms = targets * log(targets + zeros)
  let terms = targetEntropyTerms - targets * logProbabilities
  switch reduction {
  case .mean: return terms.sum() / Scalar(logProbabilities.shape[0])
  case .sum: return terms.sum()
  case .none: return terms.sum(squeezingAxes: Array(1..<terms.rank))
  }
}
