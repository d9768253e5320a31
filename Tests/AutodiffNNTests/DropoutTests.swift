import AutodiffNN
import Testing

@Suite struct DropoutTests {
  @Test(
    "Dropout keeps a fraction 1 − p of the elements, each scaled by 1/(1 − p)",
    arguments: [0.1, 0.5, 0.8])
  func maskStatistics(rate: Double) {
    let layer = Dropout<Double>(rate: rate, seed: 42)
    let n = 100_000
    let y = layer(Tensor(ones: [100, 1000])).scalars
    let kept = y.filter { $0 != 0 }
    // Every kept element is 1/(1 − p) exactly as computed in Double.
    #expect(kept.allSatisfy { $0 == 1 * (1 / (1 - rate)) })
    // The kept count is binomial(n, 1 − p): standard deviation √(n·p·(1 − p)) ≤ 158; 5σ bounds.
    let deviation = (Double(n) * rate * (1 - rate)).squareRoot()
    #expect(Swift.abs(Double(kept.count) - Double(n) * (1 - rate)) < 5 * deviation)
    // So the mean is 1 (E[y] = x) within 5σ of its estimate.
    let mean = y.reduce(0, +) / Double(n)
    #expect(Swift.abs(mean - 1) < 5 * deviation / Double(n) / (1 - rate))
  }

  @Test("In inference Dropout returns its input unchanged, and draws nothing")
  func inferenceIsIdentity() {
    var layer = Dropout<Double>(rate: 0.5, seed: 1)
    let x = randomMatrix(4, 5, seed: 2)
    layer.mode = .inference
    #expect(layer(x) == x)
    #expect(gradient(at: x) { layer($0).sum() } == Tensor(ones: [4, 5]))
  }

  @Test("The gradient is the mask scaled by 1/(1 − p): y/x elementwise")
  func gradientIsScaledMask() {
    let layer = Dropout<Double>(rate: 0.3, seed: 3)
    let x = randomMatrix(3, 4, seed: 4) + 5  // no zero inputs
    let tape = Tape()
    let watched = tape.watch(x)
    let y = layer(watched)
    let dx = tape.gradient(of: y.sum(), wrt: [watched])[0]
    let ratio = zip(y.scalars, x.scalars).map { $0 / $1 }
    #expect(dx.isAlmostEqual(to: Tensor(shape: [3, 4], scalars: ratio), relativeTolerance: 1e-14))
  }

  @Test("The same seed draws the same masks; copies share one stream")
  func seeded() {
    let (a, b) = (Dropout<Double>(rate: 0.5, seed: 9), Dropout<Double>(rate: 0.5, seed: 9))
    let x = Tensor<Double>(ones: [8, 8])
    #expect(a(x) == b(x))
    let copy = a
    let (fromCopy, fromOriginal) = (copy(x), a(x))
    #expect(fromCopy != fromOriginal)  // the second call draws the stream's next mask
    #expect(b(x) == fromCopy)
  }

  @Test func rateOfOne() async {
    await #expect(processExitsWith: .failure) { _ = Dropout<Float>(rate: 1, seed: 0) }
  }
}
