import AutodiffNN
import Foundation
import Testing

/// Each loss with each `LossReduction`: `.none` gives the losses of the elements or rows, which
/// `.sum` and `.mean` add up and average; gradients (against central differences), tangents
/// and Hessian-vector products hold for every reduction.
@Suite struct LossReductionTests {
  /// A loss of the logits or predictions `x` (shape [4, 3]), with its other inputs fixed.
  struct Loss: Sendable, CustomTestStringConvertible {
    let name: String
    /// Whether `.none` gives one loss per row ([4]) rather than per element ([4, 3]).
    let perRow: Bool
    /// What `.mean` divides `.sum` by, when not the count of losses (class weights: their sum
    /// over the rows' labels).
    var meanDivisor: Double? = nil
    let f: @Sendable (Tensor<Double>, LossReduction) -> Tensor<Double>
    var testDescription: String { name }
  }

  static let labels = [2, 0, 1, 1]
  static let targets = Tensor<Double>(
    shape: [4, 3], scalars: (0..<12).map { 0.5 + 0.45 * Foundation.sin(Double(5 * $0 + 2)) })

  static let losses = [
    Loss(name: "meanSquaredError", perRow: false) {
      meanSquaredError(predictions: $0, targets: targets, reduction: $1)
    },
    Loss(name: "binaryCrossEntropy", perRow: false) {
      binaryCrossEntropy(logits: $0, labels: targets, reduction: $1)
    },
    Loss(name: "binaryCrossEntropy, positive weights", perRow: false) {
      binaryCrossEntropy(
        logits: $0, labels: targets, positiveWeight: Tensor([3, 0.5, 2]), reduction: $1)
    },
    Loss(name: "meanAbsoluteError", perRow: false) {
      meanAbsoluteError(predictions: $0, targets: targets, reduction: $1)
    },
    Loss(name: "huberLoss", perRow: false) {
      huberLoss(predictions: $0, targets: targets, delta: 0.7, reduction: $1)
    },
    Loss(name: "softmaxCrossEntropy", perRow: true) {
      softmaxCrossEntropy(logits: $0, labels: labels, reduction: $1)
    },
    Loss(name: "softmaxCrossEntropy, label smoothing 0.2", perRow: true) {
      softmaxCrossEntropy(logits: $0, labels: labels, labelSmoothing: 0.2, reduction: $1)
    },
    // The labels [2, 0, 1, 1] weigh 1.25 + 0.5 + 2 + 2.
    Loss(name: "softmaxCrossEntropy, class weights", perRow: true, meanDivisor: 5.75) {
      softmaxCrossEntropy(
        logits: $0, labels: labels, classWeights: Tensor([0.5, 2, 1.25]), reduction: $1)
    },
    Loss(
      name: "softmaxCrossEntropy, class weights and label smoothing 0.2", perRow: true,
      meanDivisor: 5.75
    ) {
      softmaxCrossEntropy(
        logits: $0, labels: labels, classWeights: Tensor([0.5, 2, 1.25]), labelSmoothing: 0.2,
        reduction: $1)
    },
    // Labels [2, 0, 1, 1] with class 1 ignored: rows 0 and 1 kept.
    Loss(name: "softmaxCrossEntropy, ignoring class 1", perRow: true, meanDivisor: 2) {
      softmaxCrossEntropy(logits: $0, labels: labels, ignoreIndex: 1, reduction: $1)
    },
    Loss(
      name: "negativeLogLikelihood of logSoftmax, ignoring class 2", perRow: true, meanDivisor: 3
    ) {
      negativeLogLikelihood(
        logProbabilities: logSoftmax($0, alongAxis: 1), labels: labels, ignoreIndex: 2,
        reduction: $1)
    },
    Loss(name: "negativeLogLikelihood of logSoftmax", perRow: true) {
      negativeLogLikelihood(
        logProbabilities: logSoftmax($0, alongAxis: 1), labels: labels, reduction: $1)
    },
    // Rows of probabilities, one of them holding a zero (a term of 0·log 0 = 0).
    Loss(name: "klDivergence of logSoftmax against probabilities", perRow: true) {
      klDivergence(
        logProbabilities: logSoftmax($0, alongAxis: 1), targets: probabilities, reduction: $1)
    },
  ]

  static let probabilities = Tensor<Double>(
    shape: [4, 3],
    scalars: [0.2, 0.3, 0.5, 0, 0.25, 0.75, 0.6, 0.3, 0.1, 1.0 / 3, 1.0 / 3, 1.0 / 3])

  static func input() -> Tensor<Double> {
    var rng = SeededGenerator(seed: 41)
    return Tensor(randomNormal: [4, 3], standardDeviation: 1.5, using: &rng)
  }

  @Test(
    ".none gives each element's or row's loss; .sum adds them and .mean averages them",
    arguments: losses)
  func reductionsAgree(_ loss: Loss) {
    let x = Self.input()
    let each = loss.f(x, .none)
    #expect(each.shape == (loss.perRow ? [4] : [4, 3]))
    let (sum, mean) = (loss.f(x, .sum).scalar, loss.f(x, .mean).scalar)
    #expect(abs(sum - each.sum().scalar) <= 1e-13 * abs(sum))
    let divisor = loss.meanDivisor ?? Double(each.scalarCount)
    #expect(abs(mean - sum / divisor) <= 1e-13 * abs(mean))
  }

  @Test("Each reduction's gradient matches central finite differences", arguments: losses)
  func gradients(_ loss: Loss) {
    let x = Self.input()
    // .none contracted with fixed weights, so that each loss has its own upstream gradient.
    let weights = Tensor<Double>(
      shape: loss.perRow ? [4] : [4, 3],
      scalars: (0..<(loss.perRow ? 4 : 12)).map { 1 + Foundation.cos(Double($0)) })
    let scalarLosses: [(LossReduction, (Tensor<Double>) -> Tensor<Double>)] = [
      (.mean, { loss.f($0, .mean) }), (.sum, { loss.f($0, .sum) }),
      (.none, { (loss.f($0, .none) * weights).sum() }),
    ]
    for (reduction, f) in scalarLosses {
      let analytic = gradient(at: x, of: f)
      let numeric = finiteDifferenceGradient(at: x, of: f)
      #expect(
        analytic.isAlmostEqual(to: numeric, relativeTolerance: 1e-7, absoluteTolerance: 1e-9),
        "\(reduction): \(analytic) against \(numeric)")
    }
  }

  @Test("Each reduction's tangent is the derivative along a direction", arguments: losses)
  func tangents(_ loss: Loss) {
    let x = Self.input()
    let v = Tensor<Double>(shape: [4, 3], scalars: (0..<12).map { Foundation.sin(Double($0)) })
    let h = 1e-6
    for reduction in [LossReduction.mean, .sum, .none] {
      let tangent = jvp(at: x, tangent: v) { loss.f($0, reduction) }.tangent
      let numeric = (loss.f(x + h * v, reduction) - loss.f(x - h * v, reduction)) / (2 * h)
      #expect(
        tangent.isAlmostEqual(to: numeric, relativeTolerance: 1e-7, absoluteTolerance: 1e-9),
        "\(reduction): \(tangent) against \(numeric)")
    }
  }

  @Test(
    "Hessian-vector products through each reduction match differences of the gradient",
    arguments: losses)
  func hessianVectorProducts(_ loss: Loss) {
    let x = Self.input()
    let v = Tensor<Double>(shape: [4, 3], scalars: (0..<12).map { Foundation.cos(Double(3 * $0)) })
    let weights = Tensor<Double>(
      shape: loss.perRow ? [4] : [4, 3],
      scalars: (0..<(loss.perRow ? 4 : 12)).map { 2 - Foundation.sin(Double($0)) })
    let h = 1e-5
    for reduction in [LossReduction.mean, .sum, .none] {
      let f = { (x: Tensor<Double>) in
        reduction == .none ? (loss.f(x, .none) * weights).sum() : loss.f(x, reduction)
      }
      let hv = hessianVectorProduct(at: x, direction: v, of: f)
      let numeric = (gradient(at: x + h * v, of: f) - gradient(at: x - h * v, of: f)) / (2 * h)
      #expect(
        hv.isAlmostEqual(to: numeric, relativeTolerance: 1e-6, absoluteTolerance: 1e-8),
        "\(reduction): \(hv) against \(numeric)")
    }
  }

  @Test("softmaxCrossEntropy's rows are −log softmax at the label, computed apart")
  func softmaxCrossEntropyRows() {
    let x = Self.input()
    let rows = softmaxCrossEntropy(logits: x, labels: Self.labels, reduction: .none)
    for (row, label) in Self.labels.enumerated() {
      let z = (0..<3).map { x.scalars[row * 3 + $0] }
      let expected = Foundation.log(z.map(Foundation.exp).reduce(0, +)) - z[label]
      #expect(abs(rows.scalars[row] - expected) <= 1e-14 * max(1, expected))
    }
  }

  @Test("Class weights scale each row by its label's weight; the mean divides by their sum")
  func classWeights() {
    let x = Self.input()
    let weights = Tensor<Double>([0.5, 2, 1.25])
    let rows = softmaxCrossEntropy(logits: x, labels: Self.labels, reduction: .none)
    let rowWeights = Self.labels.map { weights.scalars[$0] }
    let weighted = softmaxCrossEntropy(
      logits: x, labels: Self.labels, classWeights: weights, reduction: .none)
    for row in 0..<4 {
      #expect(abs(weighted.scalars[row] - rows.scalars[row] * rowWeights[row]) <= 1e-15)
    }
    let mean = softmaxCrossEntropy(logits: x, labels: Self.labels, classWeights: weights)
    let expected = weighted.scalars.reduce(0, +) / rowWeights.reduce(0, +)
    #expect(abs(mean.scalar - expected) <= 1e-15)
    // Equal weights give the unweighted loss.
    let equal = softmaxCrossEntropy(
      logits: x, labels: Self.labels, classWeights: Tensor([3, 3, 3]))
    #expect(abs(equal.scalar - softmaxCrossEntropy(logits: x, labels: Self.labels).scalar) <= 1e-15)
  }

  @Test(
    "klDivergence's rows are Σ p·(log p − log q) over each row; the mean is PyTorch's batchmean")
  func klDivergenceRows() {
    let logQ = logSoftmax(Self.input(), alongAxis: 1)
    let rows = klDivergence(logProbabilities: logQ, targets: Self.probabilities, reduction: .none)
    let (p, q) = (Self.probabilities.scalars, logQ.scalars)
    for row in 0..<4 {
      let expected = (0..<3).map { 3 * row + $0 }.reduce(0.0) { total, i in
        p[i] == 0 ? total : total + p[i] * (Foundation.log(p[i]) - q[i])
      }
      #expect(abs(rows[row].scalar - expected) <= 1e-15 * abs(expected), "row \(row)")
    }
    #expect(
      klDivergence(logProbabilities: logQ, targets: Self.probabilities)
        == klDivergence(logProbabilities: logQ, targets: Self.probabilities, reduction: .mean))
    // A rank-1 input is a batch of one-element rows.
    let single = klDivergence(
      logProbabilities: Tensor<Double>([-1, -2]), targets: Tensor([0.5, 0]), reduction: .none)
    #expect(single.shape == [2] && single[1].scalar == 0)
  }

  @Test("The default reduction is the mean, bit for bit")
  func defaultIsMean() {
    let x = Self.input()
    #expect(
      softmaxCrossEntropy(logits: x, labels: Self.labels)
        == softmaxCrossEntropy(logits: x, labels: Self.labels, reduction: .mean))
    #expect(
      binaryCrossEntropy(logits: x, labels: Self.targets)
        == binaryCrossEntropy(logits: x, labels: Self.targets, reduction: .mean))
  }

  @Test("A Float softmaxCrossEntropy's per-row gradients split across threads give the same bits")
  func perRowGradientAcrossThreads() {
    var rng = SeededGenerator(seed: 43)
    let logits = Tensor<Float>(randomNormal: [4096, 40], using: &rng)
    let labels = (0..<4096).map { ($0 * 7) % 40 }
    let weights = Tensor<Float>(randomUniform: [4096], using: &rng)
    func rowGradient() -> Tensor<Float> {
      gradient(at: logits) {
        (softmaxCrossEntropy(logits: $0, labels: labels, reduction: .none) * weights).sum()
      }
    }
    let threads = Parallelism.threadCount
    defer { Parallelism.threadCount = threads }
    Parallelism.threadCount = 1
    let one = rowGradient()
    Parallelism.threadCount = 3
    #expect(rowGradient() == one)
  }
}
