internal import CElementwise

// The vectorized update steps of AutodiffNN's optimizers. They live beside the other C kernels
// and are `package`: AutodiffNN calls them, and they are no part of Autodiff's public API.

private typealias AdamStep<T> = (
  UnsafeMutablePointer<T>?, UnsafePointer<T>?, UnsafeMutablePointer<T>?, UnsafeMutablePointer<T>?,
  UnsafeMutablePointer<T>?, Int, T, T, T, T, T, T, T
) -> Void
private typealias AdagradStep<T> = (
  UnsafeMutablePointer<T>?, UnsafePointer<T>?, UnsafeMutablePointer<T>?, Int, T, T, T
) -> Void
private typealias RMSpropStep<T> = (
  UnsafeMutablePointer<T>?, UnsafePointer<T>?, UnsafeMutablePointer<T>?, UnsafeMutablePointer<T>?,
  UnsafeMutablePointer<T>?, Int, T, T, T, T, T
) -> Void
private typealias SGDStep<T> = (
  UnsafeMutablePointer<T>?, UnsafePointer<T>?, UnsafeMutablePointer<T>?, Int, T, T, T, Int32
) -> Void

extension TensorScalar {
  /// One Adam step over `count` parameters in place: p ← p·shrink; g ← g + l2·p;
  /// m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; with `secondMomentMaxima` (AMSGrad)
  /// v̂ ← max(v̂, v), else v̂ = v; p ← p − stepSize·m / (√v̂ / correction2Root + ε).
  package static func adamStep(
    parameters: UnsafeMutablePointer<Self>, gradients: UnsafePointer<Self>,
    firstMoments: UnsafeMutablePointer<Self>, secondMoments: UnsafeMutablePointer<Self>,
    secondMomentMaxima: UnsafeMutablePointer<Self>?, count: Int, beta1: Self, beta2: Self,
    stepSize: Self, correction2Root: Self, epsilon: Self, l2: Self, shrink: Self
  ) {
    let step: AdamStep<Self> = pick(
      single: autodiff_adam_float as AdamStep<Float>,
      double: autodiff_adam_double as AdamStep<Double>)
    step(
      parameters, gradients, firstMoments, secondMoments, secondMomentMaxima, count, beta1, beta2,
      stepSize, correction2Root, epsilon, l2, shrink)
  }

  /// One Adagrad step over `count` parameters in place: d = g + decay·p (d = g when decay is 0);
  /// s ← s + d²; p ← p − rate·(d/(√s + ε)).
  package static func adagradStep(
    parameters: UnsafeMutablePointer<Self>, gradients: UnsafePointer<Self>,
    squareSums: UnsafeMutablePointer<Self>, count: Int, rate: Self, epsilon: Self, decay: Self
  ) {
    let step: AdagradStep<Self> = pick(
      single: autodiff_adagrad_float as AdagradStep<Float>,
      double: autodiff_adagrad_double as AdagradStep<Double>)
    step(parameters, gradients, squareSums, count, rate, epsilon, decay)
  }

  /// One RMSprop step over `count` parameters in place: d = g + decay·p (d = g when decay is 0);
  /// v ← αv + (1 − α)d²; centered (`gradientAverages` given), ḡ ← αḡ + (1 − α)d and s = v − ḡ²,
  /// else s = v; with momentum (`momentumBuffer` given), b ← μb + d/(√s + ε) and p ← p − rate·b,
  /// else p ← p − rate·(d/(√s + ε)).
  package static func rmspropStep(
    parameters: UnsafeMutablePointer<Self>, gradients: UnsafePointer<Self>,
    squareAverages: UnsafeMutablePointer<Self>, gradientAverages: UnsafeMutablePointer<Self>?,
    momentumBuffer: UnsafeMutablePointer<Self>?, count: Int, rate: Self, alpha: Self,
    epsilon: Self, decay: Self, momentum: Self
  ) {
    let step: RMSpropStep<Self> = pick(
      single: autodiff_rmsprop_float as RMSpropStep<Float>,
      double: autodiff_rmsprop_double as RMSpropStep<Double>)
    step(
      parameters, gradients, squareAverages, gradientAverages, momentumBuffer, count, rate, alpha,
      epsilon, decay, momentum)
  }

  /// One SGD step over `count` parameters in place: d = g + decay·p (d = g when decay is 0, so
  /// that an infinite parameter stays infinite, as in PyTorch); with momentum μ ≠ 0,
  /// b ← μb + d and p ← p − rate·(nesterov ? d + μb : b); else p ← p − rate·d (`momentumBuffer`
  /// unused, and may be `nil`).
  package static func sgdStep(
    parameters: UnsafeMutablePointer<Self>, gradients: UnsafePointer<Self>,
    momentumBuffer: UnsafeMutablePointer<Self>?, count: Int, rate: Self, decay: Self,
    momentum: Self, nesterov: Bool
  ) {
    let step: SGDStep<Self> = pick(
      single: autodiff_sgd_float as SGDStep<Float>, double: autodiff_sgd_double as SGDStep<Double>)
    step(parameters, gradients, momentumBuffer, count, rate, decay, momentum, nesterov ? 1 : 0)
  }
}
