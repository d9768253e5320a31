import AutodiffNN
import Foundation
import Testing

@Suite struct MeanSquaredErrorTests {
  @Test("meanSquaredError is the mean of squared differences, with gradient 2(p − t)/n")
  func valueAndGradient() {
    let predictions = Tensor<Double>(shape: [2, 2], scalars: [0.5, 2, -1, 3])
    let targets = Tensor<Double>(shape: [2, 2], scalars: [1, 2, 1, 0])
    // Differences [−0.5, 0, −2, 3]; squares [0.25, 0, 4, 9]; mean 13.25 / 4 = 3.3125.
    let (loss, grad) = valueWithGradient(at: predictions) {
      meanSquaredError(predictions: $0, targets: targets)
    }
    #expect(loss.scalar == 3.3125)
    // 2·[−0.5, 0, −2, 3] / 4
    #expect(grad == Tensor(shape: [2, 2], scalars: [-0.25, 0, -1, 1.5]))
    let numeric = finiteDifferenceGradient(at: predictions) {
      meanSquaredError(predictions: $0, targets: targets)
    }
    #expect(grad.isAlmostEqual(to: numeric, relativeTolerance: 1e-8, absoluteTolerance: 1e-10))
  }
}

@Suite struct BinaryCrossEntropyTests {
  static let logits = Tensor<Double>([0, 2, -3])
  static let labels = Tensor<Double>([1, 0, 0.5])

  @Test("binaryCrossEntropy matches max(z, 0) − z·y + log(1 + e^(−|z|)) computed by hand")
  func valueMatchesHandComputation() {
    // z = 0, y = 1:    log 2                       = 0.6931471805599453
    // z = 2, y = 0:    2 + log(1 + e⁻²)            = 2.1269280110429727
    // z = −3, y = ½:   1.5 + log(1 + e⁻³)          = 1.548587351573742
    // mean                                         = 1.4562208477255532
    let loss = binaryCrossEntropy(logits: Self.logits, labels: Self.labels)
    #expect(Swift.abs(loss.scalar - 1.4562208477255532) < 1e-15)
  }

  @Test("binaryCrossEntropy of 2²⁰ Floats is as accurate as their sum: within 10⁻⁶ of Double's")
  func longFloatMean() {
    // A running Float total of the terms was 7·10⁻⁴ off here (5·10⁻³ at 2²²).
    var rng = SeededGenerator(seed: 5)
    let count = 1 << 20
    let logits = Tensor<Float>(randomNormal: [count], using: &rng) * 3
    let labels = Tensor<Float>((0..<count).map { _ in Float(Int.random(in: 0...1, using: &rng)) })
    let loss = Double(binaryCrossEntropy(logits: logits, labels: labels).scalar)
    let exact = binaryCrossEntropy(
      logits: Tensor<Double>(logits.scalars.map(Double.init)),
      labels: Tensor<Double>(labels.scalars.map(Double.init))
    ).scalar
    #expect(Swift.abs(loss - exact) <= 1e-6 * exact)
  }

  @Test("binaryCrossEntropy equals −y·log σ(z) − (1 − y)·log(1 − σ(z)) for moderate logits")
  func valueMatchesDefinition() {
    let z = Tensor<Double>([-4, -1, 0.3, 2.5, 6])
    let y = Tensor<Double>([0, 1, 0.2, 1, 0])
    let p = sigmoid(z)
    let definition = (-(y * log(p)) - (1 - y) * log(1 - p)).mean()
    let loss = binaryCrossEntropy(logits: z, labels: y)
    #expect(loss.isAlmostEqual(to: definition, relativeTolerance: 1e-12))
  }

  @Test(
    "binaryCrossEntropy's gradient is (σ(z) − y)/n, exact at z = 0, and matches finite differences")
  func gradient() {
    let grad = AutodiffNN.gradient(at: Self.logits) {
      binaryCrossEntropy(logits: $0, labels: Self.labels)
    }
    // (σ(0) − 1)/3 = −1/6;  σ(2)/3 = 0.29359902599262744;  (σ(−3) − ½)/3 = −0.1508580422741444
    let expected = Tensor<Double>([-1.0 / 6, 0.29359902599262744, -0.1508580422741444])
    #expect(grad.isAlmostEqual(to: expected, relativeTolerance: 1e-14))
    let numeric = finiteDifferenceGradient(at: Self.logits) {
      binaryCrossEntropy(logits: $0, labels: Self.labels)
    }
    #expect(grad.isAlmostEqual(to: numeric, relativeTolerance: 1e-8, absoluteTolerance: 1e-10))
  }

  @Test("binaryCrossEntropy's gradient with respect to the labels is −z/n")
  func labelGradient() {
    let grad = AutodiffNN.gradient(at: Self.labels) {
      binaryCrossEntropy(logits: Self.logits, labels: $0)
    }
    #expect(grad.isAlmostEqual(to: Tensor([0, -2.0 / 3, 1]), relativeTolerance: 1e-15))
  }

  @Test("binaryCrossEntropy is exact and finite for logits of ±1000", arguments: [false, true])
  func extremeLogits(inFloat: Bool) {
    // Loss per element: z = 1000, y = 1 → 0;  z = −1000, y = 0 → 0;  z = 1000, y = 0 → 1000;
    // z = −1000, y = 1 → 1000. Mean 500. Gradient (σ(z) − y)/4: [0, 0, 1/4, −1/4].
    let z = Tensor<Double>([1000, -1000, 1000, -1000])
    let y = Tensor<Double>([1, 0, 0, 1])
    let (loss, grad): (Tensor<Double>, Tensor<Double>)
    if inFloat {
      let result = valueWithGradient(at: Tensor<Float>(z)) {
        binaryCrossEntropy(logits: $0, labels: Tensor<Float>(y))
      }
      (loss, grad) = (Tensor<Double>(result.value), Tensor<Double>(result.gradient))
    } else {
      (loss, grad) = valueWithGradient(at: z) { binaryCrossEntropy(logits: $0, labels: y) }
    }
    #expect(loss.scalar == 500)
    #expect(grad == Tensor([0, 0, 0.25, -0.25]))
  }

  @Test("binaryCrossEntropy's gradient can be differentiated again (Hessian-vector product)")
  func secondDerivative() {
    let z = Tensor<Double>([0.3, -1.2, 2])
    let y = Tensor<Double>([1, 0, 0.4])
    let v = Tensor<Double>([1, -0.5, 2])
    // d/dz ⟨∇L(z), v⟩ = H·v; H is diagonal with σ(z)(1 − σ(z))/n.
    let hv = AutodiffNN.gradient(at: z) { z in
      (AutodiffNN.gradient(at: z) { binaryCrossEntropy(logits: $0, labels: y) } * v).sum()
    }
    let s = sigmoid(z)
    #expect(hv.isAlmostEqual(to: s * (1 - s) * v / 3, relativeTolerance: 1e-12))
  }
}

@Suite struct SoftmaxCrossEntropyTests {
  static let logits = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 1, 1, 1])
  static let labels = [2, 0]

  @Test("softmaxCrossEntropy is the mean of log Σ eᶻ − z[label] over rows")
  func valueMatchesHandComputation() {
    // Row 0: log(e + e² + e³) − 3 = 0.40760596444438013;  row 1: log 3 = 1.0986122886681098.
    // Mean 0.753109126556245.
    let loss = softmaxCrossEntropy(logits: Self.logits, labels: Self.labels)
    #expect(Swift.abs(loss.scalar - 0.753109126556245) < 1e-15)
  }

  @Test("softmaxCrossEntropy's gradient is (softmax − onehot)/batch")
  func gradientMatchesHandComputation() {
    let grad = gradient(at: Self.logits) {
      softmaxCrossEntropy(logits: $0, labels: Self.labels)
    }
    // Row 0: softmax(1, 2, 3) = (0.0900…, 0.2447…, 0.6652…), minus onehot(2), halved.
    // Row 1: softmax = (⅓, ⅓, ⅓), minus onehot(0), halved: (−⅓, ⅙, ⅙).
    let expected = Tensor<Double>(
      shape: [2, 3],
      scalars: [
        0.04501528658519023, 0.12236423552739883, -0.16737952211258905,
        -1.0 / 3, 1.0 / 6, 1.0 / 6,
      ])
    #expect(grad.isAlmostEqual(to: expected, relativeTolerance: 1e-14))
  }

  @Test(
    "softmaxCrossEntropy and its gradient match log-softmax and finite differences on random logits"
  )
  func matchesCompositeAndFiniteDifferences() {
    var rng = SeededGenerator(seed: 11)
    let logits = Tensor<Double>(randomNormal: [5, 4], standardDeviation: 2, using: &rng)
    let labels = [3, 0, 1, 1, 2]
    let onehot = Tensor<Double>(
      shape: [5, 4],
      scalars: labels.flatMap { label in (0..<4).map { $0 == label ? 1.0 : 0.0 } })
    let (loss, grad) = valueWithGradient(at: logits) {
      softmaxCrossEntropy(logits: $0, labels: labels)
    }
    let (composite, compositeGrad) = valueWithGradient(at: logits) {
      -(logSoftmax($0) * onehot).sum() / 5
    }
    #expect(loss.isAlmostEqual(to: composite, relativeTolerance: 1e-13))
    #expect(
      grad.isAlmostEqual(to: compositeGrad, relativeTolerance: 1e-12, absoluteTolerance: 1e-15))
    let numeric = finiteDifferenceGradient(at: logits) {
      softmaxCrossEntropy(logits: $0, labels: labels)
    }
    #expect(grad.isAlmostEqual(to: numeric, relativeTolerance: 1e-7, absoluteTolerance: 1e-10))
  }

  @Test("softmaxCrossEntropy is exact and finite for logits of ±1000", arguments: [false, true])
  func extremeLogits(inFloat: Bool) {
    // Row 0 (label 0): log-sum-exp = 1000 + log(1 + e⁻¹⁰⁰⁰ + e⁻²⁰⁰⁰) = 1000 → loss 0.
    // Row 1 (label 0): log-sum-exp = 1000 → loss 1000 − (−1000) = 2000. Mean 1000.
    // Gradient: row 0 softmax (1, 0, 0) − onehot(0) = 0; row 1 (0, 1, 0) − (1, 0, 0), halved.
    let logits = Tensor<Double>(shape: [2, 3], scalars: [1000, -1000, 0, -1000, 1000, 0])
    let labels = [0, 0]
    let (loss, grad): (Tensor<Double>, Tensor<Double>)
    if inFloat {
      let result = valueWithGradient(at: Tensor<Float>(logits)) {
        softmaxCrossEntropy(logits: $0, labels: labels)
      }
      (loss, grad) = (Tensor<Double>(result.value), Tensor<Double>(result.gradient))
    } else {
      (loss, grad) = valueWithGradient(at: logits) {
        softmaxCrossEntropy(logits: $0, labels: labels)
      }
    }
    #expect(loss.scalar == 1000)
    #expect(grad == Tensor(shape: [2, 3], scalars: [0, 0, 0, -0.5, 0.5, 0]))
  }

  @Test("A confident right answer's small loss keeps its digits next to large logits")
  func confidentRightAnswer() {
    // log Σ − (z[label] − max) = log(1 + e⁻¹⁰), as PyTorch computes it; (max + log Σ) − z[label]
    // rounded it to an ulp of 1000 (6.1e-5 in Float, against 4.54e-5), or to 0 next to 1e5.
    let expected = Foundation.log(1 + Foundation.exp(Float(-10)))
    for offset in [Float(0), 1000, 100_000] {
      let logits = Tensor<Float>(shape: [1, 2], scalars: [offset + 10, offset])
      let loss = softmaxCrossEntropy(logits: logits, labels: [0]).scalar
      #expect(Swift.abs(loss - expected) <= 2 * expected.ulp, "offset \(offset): \(loss)")
    }
    let logits = Tensor<Double>(shape: [1, 2], scalars: [1e10, 1e10 - 30])
    let loss = softmaxCrossEntropy(logits: logits, labels: [0]).scalar
    let expectedDouble = Foundation.log(1 + Foundation.exp(-30.0))
    #expect(Swift.abs(loss - expectedDouble) <= 2 * expectedDouble.ulp)
  }

  @Test("softmaxCrossEntropy scales its gradient by the upstream gradient")
  func upstreamScaling() {
    let grad = gradient(at: Self.logits) {
      3 * softmaxCrossEntropy(logits: $0, labels: Self.labels)
    }
    let unscaled = gradient(at: Self.logits) {
      softmaxCrossEntropy(logits: $0, labels: Self.labels)
    }
    #expect(grad.isAlmostEqual(to: 3 * unscaled, relativeTolerance: 1e-15))
  }

  @Test("softmaxCrossEntropy's gradient can be differentiated again (Hessian-vector product)")
  func secondDerivative() {
    var rng = SeededGenerator(seed: 12)
    let logits = Tensor<Double>(randomNormal: [3, 4], using: &rng)
    let v = Tensor<Double>(randomNormal: [3, 4], using: &rng)
    let labels = [1, 3, 0]
    func loss(_ z: Tensor<Double>) -> Tensor<Double> {
      softmaxCrossEntropy(logits: z, labels: labels)
    }
    let hv = gradient(at: logits) { z in (gradient(at: z, of: loss) * v).sum() }
    // H·v by central differences of the gradient along v: (∇L(z + hv) − ∇L(z − hv)) / 2h.
    let h = 1e-5
    let numeric =
      (gradient(at: logits + h * v, of: loss) - gradient(at: logits - h * v, of: loss)) / (2 * h)
    #expect(hv.isAlmostEqual(to: numeric, relativeTolerance: 1e-6, absoluteTolerance: 1e-9))
  }
}

@Suite struct AccuracyTests {
  @Test("accuracy is the fraction of rows whose first maximal logit is at the label")
  func fractionOfCorrectArgmax() {
    let logits = Tensor<Float>(
      shape: [4, 3],
      scalars: [
        0.1, 0.7, 0.2,  // argmax 1
        5, -1, 4,  // argmax 0
        1, 3, 3,  // tie between 1 and 2: the first, 1
        -2, -3, -1,  // argmax 2
      ])
    #expect(accuracy(logits: logits, labels: [1, 0, 1, 2]) == 1)
    #expect(accuracy(logits: logits, labels: [1, 2, 2, 2]) == 0.5)
    #expect(accuracy(logits: logits, labels: [0, 1, 0, 0]) == 0)
  }
}

@Suite struct LossPreconditionTests {
  @Test func softmaxCrossEntropyLabelOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = softmaxCrossEntropy(logits: Tensor<Float>(zeros: [2, 3]), labels: [0, 3])
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("softmaxCrossEntropy: label 3 at position 1 is out of range 0..<3"))
  }

  @Test func binaryCrossEntropyPositiveWeightThatDoesNotBroadcast() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = binaryCrossEntropy(
        logits: Tensor<Float>(zeros: [2, 3]), labels: Tensor(zeros: [2, 3]),
        positiveWeight: Tensor(ones: [2]))
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      message.contains(
        "binaryCrossEntropy: positiveWeight [2] does not broadcast to the logits' shape [2, 3]"),
      "\(message)")
    #expect(message.contains("(at AutodiffNNTests/LossTests.swift:"), "\(message)")
  }

  @Test func ignoreIndexKeepsTheRangeCheckForOtherLabels() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = softmaxCrossEntropy(
        logits: Tensor<Float>(zeros: [3, 3]), labels: [-100, 5, 0], ignoreIndex: -100)
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      message.contains("softmaxCrossEntropy: label 5 at position 1 is out of range 0..<3"),
      "\(message)")
    #expect(message.contains("(at AutodiffNNTests/LossTests.swift:"), "\(message)")
  }

  @Test func softmaxCrossEntropyNegativeLabel() async {
    await #expect(processExitsWith: .failure) {
      _ = softmaxCrossEntropy(logits: Tensor<Float>(zeros: [2, 3]), labels: [-1, 0])
    }
  }

  @Test func softmaxCrossEntropyLabelCountDiffersFromBatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = softmaxCrossEntropy(logits: Tensor<Float>(zeros: [2, 3]), labels: [0, 1, 2])
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("softmaxCrossEntropy: 3 labels for logits [2, 3]"))
  }

  @Test func softmaxCrossEntropyLogitsNotAMatrix() async {
    await #expect(processExitsWith: .failure) {
      _ = softmaxCrossEntropy(logits: Tensor<Float>(zeros: [3]), labels: [0, 1, 2])
    }
  }

  @Test func accuracyLabelOutOfRange() async {
    await #expect(processExitsWith: .failure) {
      _ = accuracy(logits: Tensor<Float>(zeros: [2, 3]), labels: [0, 5])
    }
  }

  @Test func binaryCrossEntropyShapeMismatch() async {
    await #expect(processExitsWith: .failure) {
      _ = binaryCrossEntropy(logits: Tensor<Float>(zeros: [4, 1]), labels: Tensor(zeros: [4]))
    }
  }

  @Test func meanSquaredErrorShapeMismatch() async {
    await #expect(processExitsWith: .failure) {
      _ = meanSquaredError(
        predictions: Tensor<Float>(zeros: [4, 1]), targets: Tensor(zeros: [1, 4]))
    }
  }

  @Test func meanAbsoluteErrorShapeMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = meanAbsoluteError(
        predictions: Tensor<Float>(zeros: [4, 1]), targets: Tensor(zeros: [1, 4]))
    }
    let message = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
    #expect(message.contains("meanAbsoluteError") && message.contains("[4, 1]"), "\(message)")
  }
}

@Suite struct SoftmaxCrossEntropyWideTests {
  @Test("A Float softmaxCrossEntropy over 50,000 classes has its gradient to Float's precision")
  func manyClasses() {
    // Each row's sum of exponentials in Float put 10⁻⁵ into the softmax and every gradient.
    var rng = SeededGenerator(seed: 13)
    let (batch, classes) = (4, 50_000)
    let logits = Tensor<Float>(randomNormal: [batch, classes], using: &rng) * 0.01
    let labels = (0..<batch).map { _ in Int.random(in: 0..<classes, using: &rng) }
    let slopes = gradient(at: logits) { softmaxCrossEntropy(logits: $0, labels: labels) }.scalars
    let exact = gradient(
      at: Tensor<Double>(shape: logits.shape, scalars: logits.scalars.map(Double.init))
    ) {
      softmaxCrossEntropy(logits: $0, labels: labels)
    }.scalars
    let worst = zip(slopes, exact).map { Swift.abs((Double($0) - $1) / $1) }.max()!
    #expect(worst < 1e-6, "largest relative error \(worst)")
  }
}

@Suite struct SoftmaxCrossEntropyThreadingTests {
  @Test("softmaxCrossEntropy's rows split across threads give the same loss and gradient bits")
  func threadCountKeepsResults() async {
    // In a child process: the thread count is process-wide, and other suites run in parallel.
    await #expect(processExitsWith: .success) {
      var rng = SeededGenerator(seed: 3)
      let logits = Tensor<Float>(randomNormal: [1024, 100], using: &rng)
      let labels = (0..<1024).map { $0 % 100 }
      func lossAndGradient() -> [Float] {
        let (loss, gradient) = valueWithGradient(at: logits) {
          softmaxCrossEntropy(logits: $0, labels: labels)
        }
        return [loss.scalar] + gradient.scalars
      }
      let original = Parallelism.threadCount
      Parallelism.threadCount = 1
      let one = lossAndGradient()
      Parallelism.threadCount = 3
      let three = lossAndGradient()
      Parallelism.threadCount = original
      guard one == three, one.allSatisfy(\.isFinite) else { exit(1) }
    }
  }
}
