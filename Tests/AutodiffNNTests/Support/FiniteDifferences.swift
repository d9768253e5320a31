import AutodiffNN

/// The gradient of a scalar function `f` at `x` by central differences,
/// `(f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h` for each element `i`: accurate to O(h²) for smooth `f`.
func finiteDifferenceGradient(
  at x: Tensor<Double>, step h: Double = 1e-5, of f: (Tensor<Double>) -> Tensor<Double>
) -> Tensor<Double> {
  var gradient = Tensor<Double>(zeros: x.shape)
  for index in 0..<x.scalarCount {
    var plus = x
    var minus = x
    plus.withUnsafeMutableBufferPointer { $0[index] += h }
    minus.withUnsafeMutableBufferPointer { $0[index] -= h }
    let slope = (f(plus).scalar - f(minus).scalar) / (2 * h)
    gradient.withUnsafeMutableBufferPointer { $0[index] = slope }
  }
  return gradient
}
