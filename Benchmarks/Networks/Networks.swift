import Autodiff
import AutodiffNN
import CBLASFloor

// The networks the suites train, and their training step, written as AutodiffNN's documentation
// writes a step: shared by MLPStep and BufferCache.

/// A ReLU network's layer sizes and batch, with its initial parameters and a batch of random
/// inputs and labels.
public struct MLP: Sendable {
  public let sizes: [Int]
  public let batch: Int
  /// W₁, b₁, W₂, b₂, W₃, b₃, each Wₗ of shape [sizes[l-1], sizes[l]] (He, the last Glorot).
  public let parameters: [Tensor<Float>]
  public let x: Tensor<Float>
  public let labels: [Int]

  /// Three layers of `sizes` (four widths), and `batch` rows, drawn from a seeded generator.
  public init(sizes: [Int], batch: Int) {
    var rng = SeededGenerator(seed: 1)
    self.sizes = sizes
    self.batch = batch
    parameters = (1...3).flatMap { l -> [Tensor<Float>] in
      let initialization: WeightInitialization = l == 3 ? .glorotUniform : .heNormal
      return [
        initialization.weight(fanIn: sizes[l - 1], fanOut: sizes[l], using: &rng),
        Tensor(zeros: [sizes[l]]),
      ]
    }
    x = Tensor(randomNormal: [batch, sizes[0]], using: &rng)
    labels = (0..<batch).map { _ in Int.random(in: 0..<sizes[3], using: &rng) }
  }

  /// The model of these parameters, ReLU after the two hidden layers.
  public func model() -> Sequential<Float> {
    Sequential(
      Dense(weight: parameters[0], bias: parameters[1], activation: .relu),
      Dense(weight: parameters[2], bias: parameters[3], activation: .relu),
      Dense(weight: parameters[4], bias: parameters[5]))
  }
}

/// A training run of a network: its model and an SGD optimizer (learning rate 10⁻³, no
/// momentum), which every step updates in place, as a training loop's steps do.
///
/// A suite makes it once per process: package-benchmark calls a benchmark's closure once per
/// sample and times it to its return, so a model made in the closure would be freed inside the
/// timed region.
public final class Training: @unchecked Sendable {
  let mlp: MLP
  var model: Sequential<Float>
  var optimizer: SGD<Float>

  public init(_ mlp: MLP) {
    self.mlp = mlp
    model = mlp.model()
    optimizer = SGD(for: model.parameters, learningRate: 1e-3)
    // The first update copies the parameters, which `mlp`'s tensors share with the model; the
    // later ones update them in place, and those are what the suites measure.
    step()
  }

  /// One step (forward pass, softmax cross-entropy, gradients, SGD update) on the batch, or on
  /// its leading `rows` rows; returns the loss.
  @discardableResult
  public func step(rows: Int? = nil) -> Float {
    let (loss, gradients) = lossAndGradients(rows: rows)
    update(along: gradients)
    return loss.scalar
  }

  /// The loss on the batch (or its leading `rows` rows) and its gradients with respect to the
  /// parameters: a step's forward and backward passes.
  public func lossAndGradients(rows: Int? = nil) -> (Tensor<Float>, [Tensor<Float>]) {
    let (x, labels) =
      rows.map { (mlp.x[0..<$0], Array(mlp.labels[0..<$0])) } ?? (mlp.x, mlp.labels)
    return valueWithGradient(at: model.parameters) { parameters in
      var model = model
      model.parameters = parameters
      return Self.loss(of: model, x, labels)
    }
  }

  /// The loss on the whole batch, recording nothing: a step's forward pass alone.
  public func loss() -> Float {
    Self.loss(of: model, mlp.x, mlp.labels).scalar
  }

  /// The step's loss: softmax cross-entropy of `model`'s logits for `x` against `labels`.
  static func loss(of model: Sequential<Float>, _ x: Tensor<Float>, _ labels: [Int])
    -> Tensor<Float>
  {
    softmaxCrossEntropy(logits: model(x), labels: labels)
  }

  /// A step's SGD update along `gradients`.
  public func update(along gradients: [Tensor<Float>]) {
    optimizer.update(&model.parameters, along: gradients)
  }
}

/// A network's floor: the bare `cblas_sgemm` calls of its forward and backward passes, on
/// buffers made once per process (see `Training`): H₀ = X, H₁, H₂ ([b, s[l]]; H₁ and H₂ stand in
/// for the activations, any values do), W₁..W₃, and Z₁..Z₃, dZ₁..dZ₃ (dZ₃ the upstream gradient)
/// and dW₁..dW₃. MLPStep's floors and StepParts' products.
public final class Floor: @unchecked Sendable {
  let sizes: [Int]
  let batch: Int
  let activations: [[Float]]
  var weights, z, dZ, dW: [[Float]]

  public init(_ mlp: MLP) {
    let (s, b) = (mlp.sizes, mlp.batch)
    (sizes, batch) = (s, b)
    weights = [0, 2, 4].map { mlp.parameters[$0].scalars }
    activations = [mlp.x.scalars] + (1...2).map { [Float](repeating: 0.5, count: b * s[$0]) }
    z = (1...3).map { [Float](repeating: 0, count: b * s[$0]) }
    dZ = (1...3).map { [Float](repeating: 0.01, count: b * s[$0]) }
    dW = (1...3).map { [Float](repeating: 0, count: s[$0 - 1] * s[$0]) }
  }

  /// One forward and backward pass: the eight products.
  public func run() {
    forward()
    backward()
  }

  /// A bare SGD update after the products: Wₗ ← Wₗ − 10⁻³·dWₗ, one `cblas_saxpy` a layer
  /// (which OpenBLAS splits across its threads). The products of the next `run()` then read
  /// weights just written, as a training step's do; where cores share no cache, those written
  /// on another core come from that core. StepParts' "bare products and update".
  public func update() {
    for l in 0..<3 {
      weights[l].withUnsafeMutableBufferPointer { w in
        cblas_saxpy(Int32(w.count), -1e-3, dW[l], 1, w.baseAddress, 1)
      }
    }
  }

  /// The three products of the forward pass.
  public func forward() {
    let (s, b) = (sizes, batch)
    for l in 0..<3 {  // Zₗ₊₁ = Hₗ·Wₗ₊₁: [b, s[l]]·[s[l], s[l+1]]
      sgemm(false, false, b, s[l + 1], s[l], activations[l], weights[l], &z[l])
    }
  }

  /// The five products of the backward pass.
  public func backward() {
    let (s, b) = (sizes, batch)
    for l in (0..<3).reversed() {
      // dWₗ₊₁ = Hₗᵀ·dZₗ₊₁: [s[l], b]·[b, s[l+1]]
      sgemm(true, false, s[l], s[l + 1], b, activations[l], dZ[l], &dW[l])
      // dHₗ = dZₗ₊₁·Wₗ₊₁ᵀ: [b, s[l+1]]·[s[l+1], s[l]], into dZₗ (where ReLU's mask would go)
      if l > 0 { sgemm(false, true, b, s[l], s[l + 1], dZ[l], weights[l], &dZ[l - 1]) }
    }
  }
}

/// C ← op(A)·op(B) for row-major matrices, C of shape [m, n] and the inner dimension k.
func sgemm(
  _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int,
  _ a: [Float], _ b: [Float], _ c: inout [Float]
) {
  cblas_sgemm(
    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
    Int32(m), Int32(n), Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
    0, &c, Int32(n))
}
