import AutodiffNN
import Testing

/// Records an issue unless the gradients of `Σ layer(x) ⊙ u` (a fixed, uneven weighting `u` of
/// the outputs) with respect to the input and to every parameter match central finite
/// differences.
func expectLayerGradientsMatchFiniteDifferences<L: Layer<Double>>(
  _ layer: L, input: Tensor<Double>, tolerance: Double = 1e-6,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  let output = layer(input)
  let upstream = Tensor<Double>(
    shape: output.shape,
    scalars: (0..<output.scalarCount).map { 0.3 + Double.sin(1.7 * Double($0)) })
  func loss(_ x: Tensor<Double>, _ parameters: [Tensor<Double>]) -> Tensor<Double> {
    (layer.replacingParameters(with: parameters)(x) * upstream).sum()
  }
  let parameters = layer.parameters
  let gradients = gradient(at: [input] + parameters) { all in
    loss(all[0], Array(all.dropFirst()))
  }
  let numericInput = finiteDifferenceGradient(at: input) { loss($0, parameters) }
  #expect(
    gradients[0].isAlmostEqual(
      to: numericInput, relativeTolerance: tolerance, absoluteTolerance: 1e-8),
    "input gradient \(gradients[0]) vs finite differences \(numericInput)",
    sourceLocation: sourceLocation)
  for index in parameters.indices {
    let numeric = finiteDifferenceGradient(at: parameters[index]) { p in
      var changed = parameters
      changed[index] = p
      return loss(input, changed)
    }
    #expect(
      gradients[index + 1].isAlmostEqual(
        to: numeric, relativeTolerance: tolerance, absoluteTolerance: 1e-8),
      "gradient of \(layer.parameterNames[index])", sourceLocation: sourceLocation)
  }
}

/// A `[rows, columns]` matrix of seeded normal draws.
func randomMatrix(_ rows: Int, _ columns: Int, seed: UInt64, scale: Double = 1) -> Tensor<Double> {
  var generator = SeededGenerator(seed: seed)
  return Tensor(randomNormal: [rows, columns], standardDeviation: scale, using: &generator)
}
