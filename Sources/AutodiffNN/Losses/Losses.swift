// On `@_specialize`, see the note at the top of Optimizers/Adam.swift.

// Loss functions: each reduces a batch of predictions and targets to a scalar, the mean over the
// batch, to be differentiated with respect to the model's parameters.

/// The mean of the squared differences, `mean((predictions − targets)²)`, over every element.
///
/// ```swift
/// let loss = meanSquaredError(predictions: Tensor([0.5, 2]), targets: Tensor([1, 2]))  // 0.125
/// ```
///
/// The gradient with respect to `predictions` is `2·(predictions − targets)/n` for `n` elements.
///
/// - Parameters:
///   - predictions: The model's outputs.
///   - targets: The values they should have, of the same shape.
///   - reduction: The mean of the squared differences (the default), their sum, or the squared
///     differences themselves (`.none`, of the predictions' shape).
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Precondition: `predictions` and `targets` have the same shape, with at least one element.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func meanSquaredError<Scalar>(
  predictions: Tensor<Scalar>, targets: Tensor<Scalar>, reduction: LossReduction = .mean,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  regressionLoss(
    "meanSquaredError", predictions, targets, reduction, at: SourceLocation(file: file, line: line)
  ) { $0.squared() }
}

/// `reduction` of `loss` of each difference `predictions − targets`, after checking that the
/// shapes agree and are not empty; `name` names the loss in the message.
func regressionLoss<Scalar: TensorScalar>(
  _ name: String, _ predictions: Tensor<Scalar>, _ targets: Tensor<Scalar>,
  _ reduction: LossReduction, at location: SourceLocation,
  _ loss: (Tensor<Scalar>) -> Tensor<Scalar>
) -> Tensor<Scalar> {
  requireNN(
    predictions.shape == targets.shape && predictions.scalarCount > 0,
    "\(name): predictions \(predictions.shape.shapeText) and targets "
      + "\(targets.shape.shapeText) must have the same, non-empty shape", at: location)
  return reduction.reduce(loss(predictions - targets))
}

/// The binary cross-entropy of labels given logits, averaged over every element: for each logit
/// `z` and label `y` in [0, 1], `−y·log σ(z) − (1 − y)·log(1 − σ(z))`.
///
/// It is computed from the logits, never from σ(z), in the stable form
/// `max(z, 0) − z·y + log(1 + e^(−|z|))`, which neither overflows nor takes `log 0`: logits of
/// ±1000 give exact, finite losses and gradients. Labels may be soft (any value in [0, 1]).
///
/// ```swift
/// let loss = binaryCrossEntropy(logits: model(x), labels: y)   // no sigmoid on the model output
/// ```
///
/// The gradient is `(σ(z) − y)/n` with respect to the logits and `−z/n` with respect to the
/// labels, for `n` elements (without the `/n` for a sum, and elementwise for `.none`); it is
/// exact at `z = 0` too, where the piecewise formula has a kink that its parts' subgradients
/// would get wrong.
///
/// - Parameters:
///   - logits: The model's raw scores, before any sigmoid.
///   - labels: The targets, of the same shape, each in [0, 1].
///   - reduction: The mean of the elements' losses (the default), their sum, or the losses
///     themselves (`.none`, of the logits' shape).
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Precondition: `logits` and `labels` have the same shape, with at least one element.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func binaryCrossEntropy<Scalar>(
  logits: Tensor<Scalar>, labels: Tensor<Scalar>, reduction: LossReduction = .mean,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  requireNN(
    logits.shape == labels.shape && logits.scalarCount > 0,
    "binaryCrossEntropy: logits \(logits.shape.shapeText) and labels "
      + "\(labels.shape.shapeText) must have the same, non-empty shape",
    at: SourceLocation(file: file, line: line))
  let count = Scalar(logits.scalarCount)
  // An operand that is not recorded now cannot need a gradient in the sweep.
  let (logitsNeedGradient, labelsNeedGradient) = (logits.isRecorded, labels.isRecorded)
  return customOperation(
    "binaryCrossEntropy", operands: [logits, labels],
    forward: { operands in
      // Σ max(z, 0) − z·y + log1p(e^(−|z|)) with the vectorized kernels (from 2¹⁵ elements one
      // fused pass, the sum included), summed as `sum()` adds: libm per element took 2.6 times
      // PyTorch's time, and a running total of 2²² Float terms was 0.5% off. log1p keeps the
      // last term exact when e^(−|z|) is far below 1, where log(1 + ·) would round it away.
      let (z, y) = (operands[0], operands[1])
      return reduction.reduce(relu(z) - z * y + log1p(exp(-abs(z))))
    },
    pullback: { g, operands, _ in
      // ∂/∂z [max(z, 0) − z·y + log(1 + e^(−|z|))] = σ(z) − y on both sides of 0 and at 0, where
      // it is 1/2 − y. Tensor operations, so the rule can itself be differentiated. The
      // upstream gradient is a scalar, or elementwise for `.none`.
      let (z, y) = (operands[0], operands[1])
      let scale = reduction == .mean ? g / count : g
      return [
        logitsNeedGradient ? scale * (sigmoid(z) - y) : nil,
        labelsNeedGradient ? -(scale * z) : nil,
      ]
    },
    tangent: { tangents, operands, _ in
      // The same partial derivatives, contracted with the tangents: (σ(z) − y)·ż − z·ẏ, summed
      // and divided by n as the loss is.
      let (z, y) = (operands[0], operands[1])
      let fromLogits = tangents[0].map { (sigmoid(z) - y) * $0 }
      let fromLabels = tangents[1].map { -(z * $0) }
      let present = [fromLogits, fromLabels].compactMap { $0 }
      return reduction.reduce(present.dropFirst().reduce(present[0], +))
    }, file: file, line: line)
}

/// Binary cross-entropy with the positive labels' terms weighted by `positiveWeight`, as
/// PyTorch's `nn.BCEWithLogitsLoss(pos_weight=w)`: for each logit `z` and label `y`,
/// `−w·y·log σ(z) − (1 − y)·log(1 − σ(z))`, so that a rare positive class counts w times. One
/// weight per class (a vector along the last axis) suits a multi-label model; `positiveWeight`
/// broadcasts against the logits.
///
/// It is computed from the logits as `(1 − y)·z + (1 + (w − 1)·y)·softplus(−z)`, which neither
/// overflows nor takes `log 0`; with `w = 1` it is
/// ``binaryCrossEntropy(logits:labels:reduction:file:line:)``. The gradient with respect to the
/// logits is `(1 − y) − (1 + (w − 1)·y)·σ(−z)` per element (divided by n for the mean); the
/// labels and the weights get theirs through the same expression.
///
/// ```swift
/// // 1 positive for every 9 negatives in each of 3 labels: weigh the positives 9 times.
/// let loss = binaryCrossEntropy(
///   logits: model(x), labels: y, positiveWeight: Tensor<Float>(repeating: 9, shape: [3]))
/// ```
///
/// - Parameters:
///   - logits: The model's raw scores, before any sigmoid.
///   - labels: The targets, of the same shape, each in [0, 1].
///   - positiveWeight: The weight w of the positive terms, whose shape broadcasts to the
///     logits' (a scalar, or one weight per class of the last axis).
///   - reduction: The mean of the elements' losses (the default), their sum, or the losses
///     themselves (`.none`, of the logits' shape).
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Precondition: `logits` and `labels` have the same shape, with at least one element, and
///   `positiveWeight` broadcasts to it.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func binaryCrossEntropy<Scalar>(
  logits: Tensor<Scalar>, labels: Tensor<Scalar>, positiveWeight: Tensor<Scalar>,
  reduction: LossReduction = .mean, file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  requireNN(
    logits.shape == labels.shape && logits.scalarCount > 0,
    "binaryCrossEntropy: logits \(logits.shape.shapeText) and labels "
      + "\(labels.shape.shapeText) must have the same, non-empty shape", at: location)
  let weightShape = positiveWeight.shape
  requireNN(
    weightShape.count <= logits.rank
      && zip(weightShape.reversed(), logits.shape.reversed()).allSatisfy { $0 == 1 || $0 == $1 },
    "binaryCrossEntropy: positiveWeight \(weightShape.shapeText) does not broadcast to the "
      + "logits' shape \(logits.shape.shapeText)", at: location)
  let (z, y) = (logits, labels)
  return reduction.reduce((1 - y) * z + (1 + (positiveWeight - 1) * y) * softplus(-z))
}

/// The softmax cross-entropy of integer class labels given logits, averaged over the batch:
/// `mean over rows i of −log softmax(logitsᵢ)[labelᵢ]`.
///
/// Logits are the model's raw scores, `[batch, classes]`, with no softmax applied. The loss is
/// fused into one operation: the forward pass computes each row's stable log-sum-exp
/// (`m + log Σ e^(z − m)` with `m` the row's maximum) and the negative log-likelihood of the label
/// in one pass over the elements, so logits of ±1000 give an exact, finite loss and gradient.
///
/// ```swift
/// let loss = softmaxCrossEntropy(logits: model(images), labels: [3, 0, 9])   // images: 3 rows
/// ```
///
/// The gradient with respect to the logits is `(softmax(z) − onehot(labels))/batch` (without
/// the `/batch` for a sum, and each row scaled by its own upstream gradient for `.none`).
///
/// - Parameters:
///   - logits: The scores, `[batch, classes]`.
///   - labels: The class of each row, each in `0..<classes`.
///   - reduction: The mean of the rows' losses (the default), their sum, or the losses
///     themselves (`.none`, a `[batch]` vector).
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: A scalar tensor, or for `.none` the loss of each row.
/// - Precondition: `logits` has rank 2 with at least one row and one class; `labels` has one
///   entry per row, each in `0..<classes`.
/// - Complexity: O(batch·classes), one pass forwards and one backwards.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func softmaxCrossEntropy<Scalar>(
  logits: Tensor<Scalar>, labels: [Int], reduction: LossReduction = .mean,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  checkClassification(logits, labels, "softmaxCrossEntropy", at: location)
  let (batch, classes) = (logits.shape[0], logits.shape[1])
  // The forward pass computes softmax(z) on its way to the loss; when a gradient may be asked
  // for, it keeps it, so the pullback is one multiply-subtract pass with no exp (mlp benchmarks).
  let (loss, probabilities) = softmaxCrossEntropyForward(
    withoutDerivative(at: logits), labels, reduction, keepingSoftmax: logits.isRecorded)
  return customOperation(
    "softmaxCrossEntropy", operands: [logits],
    forward: { _ in loss },
    pullback: { g, operands, _ in
      let z = operands[0]
      guard !g.isRecorded && !z.isRecorded, let probabilities else {
        // The sweep records itself (second derivatives): the same rule with tensor operations,
        // which can be differentiated again. Each row's upstream gradient: g/batch or g, or for
        // `.none` g's row, as a column.
        let scales =
          switch reduction {
          case .mean: g / Scalar(batch)
          case .sum: g
          case .none: g.reshaped(to: [batch, 1])
          }
        let onehot = oneHot(labels, classes: classes, as: Scalar.self)
        return [(softmax(z, alongAxis: 1) - onehot) * scales]
      }
      return [
        reduction == .none
          ? softmaxCrossEntropyGradient(probabilities, labels, rowScales: g.scalars)
          : softmaxCrossEntropyGradient(
            probabilities, labels, scale: reduction == .mean ? g.scalar / Scalar(batch) : g.scalar)
      ]
    },
    tangent: { tangents, operands, _ in
      // The gradient contracted with the logits' tangent: Σ (softmax(z) − onehot)·ż over each
      // row, reduced as the loss is.
      let onehot = oneHot(labels, classes: classes, as: Scalar.self)
      let terms = (softmax(operands[0], alongAxis: 1) - onehot) * tangents[0]!
      return reduction.reduce(terms.sum(squeezingAxes: [1]))
    }, file: file, line: line)
}

/// `log Σⱼ e^(zⱼ) − z[label]` of each row of logits `z` of shape `[batch, classes]`, reduced by
/// `reduction`, and, when `keepingSoftmax`, softmax(z): each row's maximum, its exponentials (Autodiff's
/// vectorized `exp` kernel, one call for a range of rows), then their sum.
///
/// Rows run on several threads when there are enough elements; each row's loss is kept and the
/// losses are added in row order, so the result does not depend on the thread count.
private func softmaxCrossEntropyForward<Scalar: TensorScalar>(
  _ logits: Tensor<Scalar>, _ labels: [Int], _ reduction: LossReduction, keepingSoftmax: Bool
) -> (loss: Tensor<Scalar>, softmax: Tensor<Scalar>?) {
  let (batch, classes) = (logits.shape[0], logits.shape[1])
  var softmax = keepingSoftmax ? Tensor<Scalar>(uninitializedShape: logits.shape) : nil
  let loss = withUnsafeTemporaryAllocation(of: Scalar.self, capacity: batch) { losses in
    logits.withUnsafeBufferPointer { z in
      // Row i: −log softmax(z)[y] = log Σⱼ e^(zⱼ − m) − (z[y] − m), m = maxⱼ zⱼ. Every exponent
      // is ≤ 0 and the largest is e⁰ = 1, so the sum lies in [1, classes]: no overflow, no
      // log 0. Subtracting z[y] − m, not z[y] from m + log Σ, keeps the small loss of a
      // confident right answer exact (m + log Σ would round it to an ulp of m, as PyTorch does
      // not). The exponentials of a range of rows are one call of the vectorized kernel, into
      // `p`: the softmax, which `normalizing` divides by each row's sum, or scratch.
      func rowLosses(
        _ rows: Range<Int>, into p: UnsafeMutablePointer<Scalar>, normalizing: Bool
      ) {
        let elements = (rows.lowerBound * classes)..<(rows.upperBound * classes)
        for row in rows {
          let start = row * classes
          var rowMax = z[start]
          for index in (start + 1)..<(start + classes) where z[index] > rowMax { rowMax = z[index] }
          for index in start..<(start + classes) { p[index] = z[index] - rowMax }
          losses[row] = p[start + labels[row]]
        }
        exponentiateInPlace(
          UnsafeMutableBufferPointer(start: p + elements.lowerBound, count: elements.count))
        for row in rows {
          let start = row * classes
          // In Double, as PyTorch accumulates Float: a Float total of 50,000 exponentials put
          // 10⁻⁵ into the softmax, and so into every gradient of the row.
          var total: Double = 0
          for index in start..<(start + classes) { total += Double(p[index]) }
          let sum = Scalar(total)
          if normalizing {
            let inverse = 1 / sum
            for index in start..<(start + classes) { p[index] *= inverse }
          }
          losses[row] = Scalar.log(sum) - losses[row]
        }
      }
      let grain = max(1, transcendentalGrain / classes)
      if softmax == nil {
        withUnsafeTemporaryAllocation(of: Scalar.self, capacity: z.count) { scratch in
          forEachRange(count: batch, grain: grain, alignment: 1) {
            rowLosses($0, into: scratch.baseAddress!, normalizing: false)
          }
        }
      } else {
        softmax!.withUnsafeMutableBufferPointer { p in
          forEachRange(count: batch, grain: grain, alignment: 1) {
            rowLosses($0, into: p.baseAddress!, normalizing: true)
          }
        }
      }
    }
    // Summed as `sum()` adds, not one after another.
    switch reduction {
    case .mean: return Tensor(sumKernel(losses.baseAddress!, count: batch) / Scalar(batch))
    case .sum: return Tensor(sumKernel(losses.baseAddress!, count: batch))
    case .none: return Tensor(shape: [batch], scalars: Array(losses))
    }
  }
  return (loss, softmax)
}

/// `scale · (softmax − onehot(labels))` for `softmax` of shape `[batch, classes]`, with one
/// `scale` for every row or `rowScales` one for each, in one pass (on several threads when
/// large) and one allocation.
private func softmaxCrossEntropyGradient<Scalar: TensorScalar>(
  _ softmax: Tensor<Scalar>, _ labels: [Int], scale: Scalar = 1, rowScales: [Scalar]? = nil
) -> Tensor<Scalar> {
  let classes = softmax.shape[1]
  var gradient = Tensor<Scalar>(uninitializedShape: softmax.shape)
  softmax.withUnsafeBufferPointer { p in
    gradient.withUnsafeMutableBufferPointer { dz in
      forEachRange(count: labels.count, grain: max(1, elementwiseGrain / classes), alignment: 1) {
        rows in
        if let rowScales {
          for row in rows {
            for index in (row * classes)..<((row + 1) * classes) {
              dz[index] = rowScales[row] * p[index]
            }
            dz[row * classes + labels[row]] -= rowScales[row]
          }
        } else {
          for index in (rows.lowerBound * classes)..<(rows.upperBound * classes) {
            dz[index] = scale * p[index]
          }
          for row in rows { dz[row * classes + labels[row]] -= scale }
        }
      }
    }
  }
  return gradient
}

/// The fraction of rows whose largest logit is at the label's position, in [0, 1].
///
/// A row whose maximum is shared counts its first maximal position; a row holding NaN counts as
/// wrong unless its first maximum is the label.
///
/// ```swift
/// let trainingAccuracy = accuracy(logits: model(images), labels: labels)   // 0.97
/// ```
///
/// - Precondition: `logits` has rank 2 with at least one row and one class; `labels` has one
///   entry per row, each in `0..<classes`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func accuracy<Scalar>(
  logits: Tensor<Scalar>, labels: [Int], file: StaticString = #fileID, line: UInt = #line
) -> Double {
  checkClassification(logits, labels, "accuracy", at: SourceLocation(file: file, line: line))
  let classes = logits.shape[1]
  var correct = 0
  logits.withUnsafeBufferPointer { z in
    for (row, label) in labels.enumerated() {
      let start = row * classes
      var best = start
      for index in (start + 1)..<(start + classes) where z[index] > z[best] { best = index }
      if best - start == label { correct += 1 }
    }
  }
  return Double(correct) / Double(labels.count)
}

/// A `[labels.count, classes]` matrix that is 1 at each label's column and 0 elsewhere:
/// Autodiff's `Tensor(oneHot:classes:)`, with the scalar type named by an argument.
///
/// ```swift
/// oneHot([2, 0], classes: 3, as: Float.self)   // [[0, 0, 1], [1, 0, 0]]
/// ```
///
/// - Precondition: Each label is in `0..<classes`.
public func oneHot<Scalar: TensorScalar>(
  _ labels: [Int], classes: Int, as type: Scalar.Type = Scalar.self,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  Tensor(oneHot: labels, classes: classes, file: file, line: line)
}

/// Stops with a message unless `logits` is `[batch, classes]` with `batch, classes ≥ 1` and
/// `labels` holds `batch` classes in `0..<classes`.
func checkClassification<Scalar>(
  _ logits: Tensor<Scalar>, _ labels: [Int], _ function: String, ignoring ignored: Int? = nil,
  at location: SourceLocation
) {
  requireNN(
    logits.rank == 2 && logits.shape[0] > 0 && logits.shape[1] > 0,
    "\(function): logits must have shape [batch, classes] with batch, classes ≥ 1, got "
      + logits.shape.shapeText, at: location)
  let (batch, classes) = (logits.shape[0], logits.shape[1])
  requireNN(
    labels.count == batch,
    "\(function): \(labels.count) labels for logits \(logits.shape.shapeText): one label per row "
      + "is needed", at: location)
  if let position = labels.firstIndex(where: { ($0 < 0 || $0 >= classes) && $0 != ignored }) {
    failNN(
      "\(function): label \(labels[position]) at position \(position) is out of range 0..<"
        + "\(classes) for logits \(logits.shape.shapeText)", at: location)
  }
}
