import AutodiffNN
import Testing

/// The losses in forward mode: their tangents agree with their gradients (⟨∇L, v⟩ = J·v), so
/// forward-over-reverse Hessians and Jacobian-vector products go through them.
@Suite struct LossForwardModeTests {
  @Test("Each loss's tangent equals its gradient contracted with the direction")
  func tangentsMatchGradients() {
    var rng = SeededGenerator(seed: 21)
    let logits = Tensor<Double>(randomNormal: [4, 3], standardDeviation: 3, using: &rng)
    let direction = Tensor<Double>(randomNormal: [4, 3], using: &rng)
    let targets = Tensor<Double>(randomUniform: [4, 3], using: &rng)
    let labels = [2, 0, 1, 1]
    let losses: [(String, (Tensor<Double>) -> Tensor<Double>)] = [
      ("softmaxCrossEntropy", { softmaxCrossEntropy(logits: $0, labels: labels) }),
      ("binaryCrossEntropy", { binaryCrossEntropy(logits: $0, labels: targets) }),
      ("meanSquaredError", { meanSquaredError(predictions: $0, targets: targets) }),
    ]
    for (name, loss) in losses {
      let forward = jvp(at: logits, tangent: direction, of: loss).tangent.scalar
      let reverse = (gradient(at: logits, of: loss) * direction).sum().scalar
      #expect(abs(forward - reverse) <= 1e-12 * max(1, abs(reverse)), "\(name)")
    }
  }

  @Test(
    "A Hessian-vector product through the fused softmax cross-entropy matches finite differences of its gradient"
  )
  func hessianVectorProductThroughSoftmaxCrossEntropy() {
    var rng = SeededGenerator(seed: 22)
    let x = Tensor<Double>(randomNormal: [6, 4], using: &rng)
    let w = Tensor<Double>(randomNormal: [4, 3], using: &rng)
    let v = Tensor<Double>(randomNormal: [4, 3], using: &rng)
    let labels = [0, 2, 1, 1, 0, 2]
    func loss(_ w: Tensor<Double>) -> Tensor<Double> {
      softmaxCrossEntropy(logits: tanh(matmul(x, w)), labels: labels)
    }
    let hv = hessianVectorProduct(at: w, direction: v, of: loss)
    let h = 1e-6
    let numeric = (gradient(at: w + h * v, of: loss) - gradient(at: w - h * v, of: loss)) / (2 * h)
    #expect(hv.isAlmostEqual(to: numeric, relativeTolerance: 1e-6, absoluteTolerance: 1e-9))
  }
}
