import AutodiffNN

// A test-only layer and optimizer, so checkpoints are tested on the protocols alone, whatever
// the library's layers and optimizers become.

/// y = x·weight + bias, with parameters named "weight" and "bias".
struct TinyAffine<Scalar: TensorScalar>: Layer {
  var weight: Tensor<Scalar>
  var bias: Tensor<Scalar>

  init(inputs: Int, outputs: Int, seed: UInt64) {
    var generator = SeededGenerator(seed: seed)
    weight = Tensor(randomNormal: [inputs, outputs], using: &generator)
    bias = Tensor(randomNormal: [outputs], using: &generator)
  }

  func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> { matmul(input, weight) + bias }

  var parameters: [Tensor<Scalar>] {
    get { [weight, bias] }
    set {
      weight = newValue[0]
      bias = newValue[1]
    }
  }

  var parameterNames: [String] { ["weight", "bias"] }
}

/// Gradient descent with momentum: state "step" (a scalar) and "velocity.<i>" per parameter.
struct TinyMomentum<Scalar: TensorScalar>: Optimizer {
  var learningRate: Scalar
  var momentum: Scalar = 0.9
  var velocities: [Tensor<Scalar>]
  var step = 0

  init(for parameters: [Tensor<Scalar>], learningRate: Scalar) {
    self.learningRate = learningRate
    velocities = parameters.map { Tensor(zeros: $0.shape) }
  }

  mutating func update(_ parameters: inout [Tensor<Scalar>], along gradients: [Tensor<Scalar>]) {
    for index in parameters.indices {
      velocities[index] = momentum * velocities[index] + gradients[index]
      parameters[index] -= learningRate * velocities[index]
    }
    step += 1
  }

  var state: [String: Tensor<Scalar>] {
    var state = ["step": Tensor(Scalar(step))]
    for (index, velocity) in velocities.enumerated() { state["velocity.\(index)"] = velocity }
    return state
  }

  mutating func restore(state: [String: Tensor<Scalar>]) throws {
    guard let step = state["step"] else { throw CheckpointError.missingTensor(name: "step") }
    var restored: [Tensor<Scalar>] = []
    for (index, velocity) in velocities.enumerated() {
      let name = "velocity.\(index)"
      guard let tensor = state[name] else { throw CheckpointError.missingTensor(name: name) }
      guard tensor.shape == velocity.shape else {
        throw CheckpointError.shapeMismatch(
          name: name, expected: velocity.shape, found: tensor.shape)
      }
      restored.append(tensor)
    }
    self.step = Int(step.scalar)
    velocities = restored
  }
}
