import AutodiffNN
import Foundation
import Testing

@Suite struct HuberLossTests {
  @Test("Huber is d²/2 inside δ and δ(|d| − δ/2) outside, averaged")
  func forward() {
    let predictions = Tensor<Double>([0.5, 4, -3, 1])
    let targets = Tensor<Double>([0, 0, 0, 1.5])
    // δ = 1: 0.125, 1·(4 − 0.5) = 3.5, 1·(3 − 0.5) = 2.5, 0.125; mean 6.25/4.
    #expect(
      Swift.abs(huberLoss(predictions: predictions, targets: targets).scalar - 1.5625) < 1e-15)
    // δ = 2: 0.125, 2·(4 − 1) = 6, 2·(3 − 1) = 4, 0.125; mean 10.25/4.
    #expect(
      Swift.abs(huberLoss(predictions: predictions, targets: targets, delta: 2).scalar - 2.5625)
        < 1e-15)
  }

  @Test("Huber's gradients match finite differences on both sides of δ")
  func gradients() {
    let predictions = Tensor<Double>([0.3, -2.5, 1.7, -0.4, 3])
    let targets = Tensor<Double>([0, 0, 1, 0.5, -1])
    let (dp, dt) = gradient(at: predictions, targets) {
      huberLoss(predictions: $0, targets: $1, delta: 0.8)
    }
    let numericP = finiteDifferenceGradient(at: predictions) {
      huberLoss(predictions: $0, targets: targets, delta: 0.8)
    }
    let numericT = finiteDifferenceGradient(at: targets) {
      huberLoss(predictions: predictions, targets: $0, delta: 0.8)
    }
    #expect(dp.isAlmostEqual(to: numericP, relativeTolerance: 1e-7))
    #expect(dt.isAlmostEqual(to: numericT, relativeTolerance: 1e-7))
  }
}

extension HuberLossTests {
  @Test("Huber's second derivative is 1 inside δ (at d = 0 too) and 0 from δ on, as in PyTorch")
  func secondDerivative() {
    // d = 0, 0.5 (inside), 1 (= δ), 2 (outside), −3 (outside); the mean divides by 5.
    let predictions = Tensor<Double>([0, 0.5, 1, 2, -3])
    let targets = Tensor<Double>(zeros: [5])
    let hv = hessianVectorProduct(at: predictions, direction: Tensor(ones: [5])) {
      huberLoss(predictions: $0, targets: targets)
    }
    let expected = Tensor<Double>([0.2, 0.2, 0, 0, 0])
    #expect(hv == expected)
  }

  @Test("An infinite difference has the loss ∞ and the gradient δ·sign(d)")
  func infiniteDifference() {
    let differences = Tensor<Double>([.infinity, -.infinity, 0.5])
    let targets = Tensor<Double>(zeros: [3])
    let (loss, gradient) = valueWithGradient(at: differences) {
      huberLoss(predictions: $0, targets: targets, delta: 2)
    }
    #expect(loss.scalar == .infinity)
    let expected = Tensor<Double>([2.0 / 3, -2.0 / 3, 0.5 / 3])
    #expect(gradient == expected)
  }
}

@Suite struct MeanAbsoluteErrorTests {
  @Test("meanAbsoluteError is the mean of |p − t|, with gradient sign(p − t)/n and 0 where equal")
  func valueAndGradient() {
    let (p, t) = (Tensor<Double>([0.5, 4, 2]), Tensor<Double>([1, 2, 2]))
    #expect(meanAbsoluteError(predictions: p, targets: t).scalar == 2.5 / 3)
    #expect(meanAbsoluteError(predictions: p, targets: t, reduction: .sum).scalar == 2.5)
    #expect(meanAbsoluteError(predictions: p, targets: t, reduction: .none) == [0.5, 2, 0])
    let g = gradient(at: p) { meanAbsoluteError(predictions: $0, targets: t) }
    #expect(g == Tensor([-1, 1, 0]) / 3)
  }
}

@Suite struct ProbabilityLossTests {
  static let logits = Tensor<Double>(
    shape: [3, 4], scalars: [1, 2, 0.5, -1, 0, 0, 3, 1, -2, 1, 1, 0.2])
  static let labels = [1, 2, 0]

  @Test("NLL of logSoftmax is softmax cross-entropy, value and gradient")
  func nllOfLogSoftmax() {
    let (nll, dNLL) = valueWithGradient(at: Self.logits) { z in
      negativeLogLikelihood(logProbabilities: logSoftmax(z, alongAxis: 1), labels: Self.labels)
    }
    let (ce, dCE) = valueWithGradient(at: Self.logits) {
      softmaxCrossEntropy(logits: $0, labels: Self.labels)
    }
    #expect(Swift.abs(nll.scalar - ce.scalar) < 1e-14)
    #expect(dNLL.isAlmostEqual(to: dCE, relativeTolerance: 1e-12, absoluteTolerance: 1e-15))
    // −mean of the picked log-probabilities, and its gradient −onehot/batch.
    let p = Tensor<Double>(shape: [2, 2], scalars: [-0.1, -2.4, -1.2, -0.4])
    #expect(negativeLogLikelihood(logProbabilities: p, labels: [0, 1]).scalar == 0.25)
    #expect(
      gradient(at: p) { negativeLogLikelihood(logProbabilities: $0, labels: [0, 1]) }
        == Tensor(shape: [2, 2], scalars: [-0.5, 0, 0, -0.5]))
  }

  @Test("NLL reads only the labels' entries: −∞ or NaN at another class leaves it finite")
  func nllIgnoresOtherClasses() {
    // As PyTorch's nll_loss: log 0 = −∞ for an impossible class is ordinary input.
    let scalars: [Double] = [-0.1, -.infinity, .nan, -.infinity, -0.4, -5]
    let p = Tensor<Double>(shape: [2, 3], scalars: scalars)
    let (loss, dp) = valueWithGradient(at: p) {
      negativeLogLikelihood(logProbabilities: $0, labels: [0, 1])
    }
    #expect(loss.scalar == 0.25)
    let expected = Tensor<Double>(shape: [2, 3], scalars: [-0.5, 0, 0, 0, -0.5, 0])
    #expect(dp == expected)
  }

  @Test(
    "Label smoothing is cross-entropy against (1 − ε)·onehot + ε/K, with gradient (softmax − target)/batch"
  )
  func labelSmoothing() {
    let epsilon = 0.1
    let target = 0.9 * oneHot(Self.labels, classes: 4, as: Double.self) + epsilon / 4
    let expected = -(target * logSoftmax(Self.logits, alongAxis: 1)).sum().scalar / 3
    let (value, g) = valueWithGradient(at: Self.logits) {
      softmaxCrossEntropy(logits: $0, labels: Self.labels, labelSmoothing: epsilon)
    }
    #expect(Swift.abs(value.scalar - expected) < 1e-14)
    let analytic = (softmax(Self.logits, alongAxis: 1) - target) / 3
    #expect(g.isAlmostEqual(to: analytic, relativeTolerance: 1e-12, absoluteTolerance: 1e-15))
    #expect(
      softmaxCrossEntropy(logits: Self.logits, labels: Self.labels, labelSmoothing: 0)
        == softmaxCrossEntropy(logits: Self.logits, labels: Self.labels))
  }

  @Test("KL divergence is Σ p(log p − log q)/batch, 0 for q = p, with 0·log 0 = 0")
  func klForward() {
    let p = Tensor<Double>(shape: [2, 3], scalars: [0.2, 0.3, 0.5, 0, 1, 0])
    let logQ = logSoftmax(
      Tensor<Double>(shape: [2, 3], scalars: [0.1, 0.4, -0.2, 1, 2, 0]), alongAxis: 1)
    var expected = 0.0
    for (pi, lq) in zip(p.scalars, logQ.scalars) where pi > 0 {
      expected += pi * (Foundation.log(pi) - lq)
    }
    #expect(
      Swift.abs(klDivergence(logProbabilities: logQ, targets: p).scalar - expected / 2) < 1e-14)
    let logP = Tensor<Double>(shape: [1, 3], scalars: [0.2, 0.3, 0.5].map { Foundation.log($0) })
    #expect(
      Swift.abs(
        klDivergence(logProbabilities: logP, targets: logP.scalars.map(Foundation.exp).tensorRow)
          .scalar) < 1e-16)
  }

  @Test("KL's gradients with respect to log q and to p match finite differences")
  func klGradients() {
    let p = Tensor<Double>(shape: [2, 3], scalars: [0.2, 0.3, 0.5, 0.6, 0.1, 0.3])
    let logQ = logSoftmax(
      Tensor<Double>(shape: [2, 3], scalars: [0.1, 0.4, -0.2, 1, 2, 0]), alongAxis: 1)
    let (dq, dp) = gradient(at: logQ, p) { klDivergence(logProbabilities: $0, targets: $1) }
    #expect(dq.isAlmostEqual(to: -p / 2, relativeTolerance: 1e-14))
    let numeric = finiteDifferenceGradient(at: p) {
      klDivergence(logProbabilities: logQ, targets: $0)
    }
    #expect(dp.isAlmostEqual(to: numeric, relativeTolerance: 1e-7))
  }
}

extension Array where Element == Double {
  /// The values as a `[1, count]` tensor.
  fileprivate var tensorRow: Tensor<Double> { Tensor(shape: [1, count], scalars: self) }
}
