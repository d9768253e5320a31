internal import CVectorMath

// exp, log, sin, cos, tanh and the logistic function over buffers, vectorized. The kernels are
// C (Modules/CVectorMath), compiled for AVX-512, AVX2 and the baseline x86-64, with the best the
// CPU has picked at load time: Swift compiles this module for the baseline only, four Floats per
// SSE instruction, and the gradient of Σ relu(x)² + σ(x) over 2²⁰ Floats spent most of its time
// in the SSE sigmoid (elementwise benchmark). VectorMath.c describes the algorithms and their
// accuracy; every CPU gets the same results to the bit.

/// The transcendental functions of one element, vectorized over buffers.
enum VectorMath {
  /// Applies `function` to the `count` elements of `x`, writing `y`, and returns true; returns
  /// false, writing nothing, for a function that is not one of the transcendental ones. `y` may
  /// be `x`.
  static func apply(
    _ function: UnaryFunction, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    count: Int
  ) -> Bool {
    guard let number = function.vectorFunction else { return false }
    autodiff_vector_math_float(number, x, y, count)
    return true
  }

  /// See the `Float` form.
  static func apply(
    _ function: UnaryFunction, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>,
    count: Int
  ) -> Bool {
    guard let number = function.vectorFunction else { return false }
    autodiff_vector_math_double(number, x, y, count)
    return true
  }
}

extension UnaryFunction {
  /// The function's number in CVectorMath, or `nil` when it has no vectorized kernel there.
  fileprivate var vectorFunction: Int32? {
    let function: autodiff_vector_function? =
      switch self {
      case .exp: autodiff_vector_exp
      case .log: autodiff_vector_log
      case .sin: autodiff_vector_sin
      case .cos: autodiff_vector_cos
      case .tanh: autodiff_vector_tanh
      case .sigmoid: autodiff_vector_sigmoid
      default: nil
      }
    return function.map { Int32(bitPattern: $0.rawValue) }
  }
}
