// On `@_specialize`, see the Performance article in Documentation.docc.

// Products, variances, log-sum-exp and running sums. Products, variances and log-sum-exp are
// built from primitives, so their gradients, tangents and second derivatives are those of the
// primitives; the running sum is a primitive of its own, linear, whose pullback is the running
// sum from the other end.

extension Tensor {
  /// The product over `axes`, which are kept with extent 1; 1 over an empty axis.
  ///
  /// ```swift
  /// let x = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 0, 6])
  /// x.product(alongAxes: [1])   // [[6], [0]], shape [2, 1]
  /// ```
  ///
  /// ∂/∂xᵢ = g·Πⱼ≠ᵢ xⱼ, the product of the other elements of xᵢ's group: exact where elements
  /// are 0, because the product is a tree of pairwise products (never y/xᵢ).
  ///
  /// A Float product is computed in Double and rounded once, value and gradient: in Float the
  /// tree's roundings lean one way for factors near 1 (2²² factors 1 + 10⁻⁴·N(0, 1) came out
  /// 2.75% off, PyTorch's 0.2%; through Double, 10⁻⁷).
  ///
  /// - Precondition: Each axis is in `-rank..<rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func product(
    alongAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let axes = normalized(axes, "product(alongAxes:)", at: location)
    guard Scalar.self == Double.self else {
      // The conversions are recorded operations: gradients, tangents and second derivatives go
      // through them.
      return Tensor(Tensor<Double>(self).productTree(alongAxes: axes))
    }
    return productTree(alongAxes: axes)
  }

  /// The product over normalized `axes`, each a tree of pairwise products.
  private func productTree(alongAxes axes: [Int]) -> Tensor {
    var result = self
    for axis in axes { result = result.product(alongAxis: axis) }
    return result
  }

  /// The product over `axes`, which are removed from the shape.
  ///
  /// - Precondition: Each axis is in `-rank..<rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func product(
    squeezingAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    squeezing(axes, "product(squeezingAxes:)", file, line) {
      product(alongAxes: $0, file: file, line: line)
    }
  }

  /// The product of all elements, as a scalar tensor; 1 for an empty tensor.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func product(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    product(alongAxes: Array(shape.indices), file: file, line: line).reshaped(to: [])
  }

  /// The product along one normalized axis, kept with extent 1: the halves multiplied
  /// elementwise until one row is left (an odd extent first gets a row of ones).
  private func product(alongAxis axis: Int) -> Tensor {
    var rowShape = shape
    rowShape[axis] = 1
    guard shape[axis] > 0 else { return Tensor(ones: rowShape) }
    var result = self
    while result.shape[axis] > 1 {
      if result.shape[axis] % 2 == 1 {
        result = Tensor(concatenating: [result, Tensor(ones: rowShape)], alongAxis: axis)
      }
      let half = result.shape[axis] / 2
      result =
        result.sliced(alongAxis: axis, 0..<half, at: nil)
        * result.sliced(alongAxis: axis, half..<(2 * half), at: nil)
    }
    return result
  }

  /// The variance over `axes`, which are kept with extent 1: Σ(x − mean)² / (n − correction),
  /// n the number of elements in each group.
  ///
  /// ```swift
  /// let x = Tensor<Double>([1, 2, 3, 4])
  /// x.variance(alongAxes: [0])                  // [1.25], as NumPy's var(x) and jnp.var(x)
  /// x.variance(alongAxes: [0], correction: 1)   // [1.6667], as torch.var(x)
  /// ```
  ///
  /// The default `correction` is 0, the population variance of NumPy and JAX (their `ddof`);
  /// PyTorch's `torch.var` defaults to 1, the unbiased estimate: pass `correction: 1` for it.
  /// Where `n − correction ≤ 0` the result is infinite or NaN, as in NumPy: the divisor is
  /// `max(0, n − correction)`, as in NumPy and PyTorch, and the gradient divides by it too
  /// (±∞, or NaN where x equals the mean; PyTorch's gradient there differs between its
  /// whole-tensor and per-axis forms).
  ///
  /// The deviations are taken from the mean and then from their own mean, which removes the
  /// mean's rounding error (the corrected two-pass algorithm): data far from 0 beside their
  /// spread keep an accurate variance. For a million Floats 10⁴ + u, u uniform in [0, 0.01), it
  /// is within 2·10⁻⁵ of the exact value, where a plain two-pass sum in Float made it 3.95 times
  /// too large (NumPy's float32 variance of the same data: 14% too large, PyTorch's: 51%).
  ///
  /// ∂/∂x = 2·g·(x − mean)/(n − correction), as PyTorch computes it: an infinity in a group
  /// makes the gradients of the group's finite elements infinite, and its own NaN.
  ///
  /// - Parameters:
  ///   - axes: The axes to reduce; negative axes count from the end.
  ///   - correction: Subtracted from the element count in the denominator (NumPy's `ddof`).
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: The variances, with the reduced axes kept with extent 1.
  /// - Precondition: Each axis is in `-rank..<rank`, and `correction ≥ 0`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func variance(
    alongAxes axes: [Int], correction: Int = 0, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let axes = normalized(axes, "variance(alongAxes:)", at: location)
    check(
      correction >= 0, "variance(alongAxes:): the correction \(correction) is negative",
      at: location)
    let count = axes.reduce(1) { $0 * shape[$1] }
    let divisor = Scalar(Swift.max(0, count - correction))
    let value = detached.centered(alongAxes: axes).squared().sum(alongAxes: axes) / divisor
    // The pullback in closed form, 2·g·(x − mean)/(n − correction), as PyTorch's: through the
    // mean, the chain rule adds a term that is 0 in exact arithmetic, and NaN where a group
    // holds an infinity (which then spoiled the gradient of the group's finite elements too).
    return record(
      "variance", output: value, operands: self, at: location,
      rule: .unary { g, x, _ in g * x.centered(alongAxes: axes) * (2 / divisor) },
      tangent: .unary { dx, x, _ in
        (dx * x.centered(alongAxes: axes)).sum(alongAxes: axes) * (2 / divisor)
      })
  }

  /// `x − mean(x)` over `axes` (kept with extent 1 in the mean), accurate where the data sit far
  /// from 0 beside their spread: variances and normalization layers build on it.
  ///
  /// The computed mean is off by its rounding, up to a few units in its last place, and for data
  /// such as 10⁴ + 0.01·u in Float that error is as large as the deviations themselves (the
  /// variance of a thousand such values came out 2.6× too large). In exact arithmetic the
  /// deviations' own mean is 0; computed from the deviations, which are small and exact, it is
  /// the first mean's error, and subtracting it removes the error (the corrected two-pass
  /// algorithm). A group whose correction is not finite (it holds an infinity or a NaN) keeps
  /// its deviations as they are.
  ///
  /// Recorded as one operation, whose derivative is that of `x − mean(x)`: the pullback
  /// `g − mean(g)`, the tangent `ẋ − mean(ẋ)`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func centered(alongAxes axes: [Int]) -> Tensor {
    centeredAndMean(alongAxes: axes).centered
  }

  /// ``centered(alongAxes:)`` and, unrecorded, the mean it subtracted first (BatchNorm's running
  /// statistics take it as a constant).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func centeredAndMean(alongAxes axes: [Int]) -> (centered: Tensor, mean: Tensor) {
    let axes = normalized(axes, "centered(alongAxes:)", at: nil)
    let x = detached
    let mean = x.mean(alongAxes: axes)
    var deviations = x - mean
    let residual = deviations.mean(alongAxes: axes)
    let corrections = residual.scalars.map { $0.isFinite ? $0 : 0 }
    if corrections.contains(where: { $0 != 0 }) {
      deviations = deviations - Tensor(shape: residual.shape, scalars: corrections)
    }
    let centered = record(
      "centered", output: deviations, operands: self,
      rule: .unary { g, _, _ in g - g.mean(alongAxes: axes) },
      tangent: .unary { dx, _, _ in dx - dx.mean(alongAxes: axes) })
    return (centered, mean)
  }

  /// The variance over `axes`, which are removed from the shape; see
  /// ``variance(alongAxes:correction:file:line:)`` for `correction` (default 0, as NumPy).
  ///
  /// - Precondition: Each axis is in `-rank..<rank`, and `correction ≥ 0`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func variance(
    squeezingAxes axes: [Int], correction: Int = 0, file: StaticString = #fileID,
    line: UInt = #line
  ) -> Tensor {
    squeezing(axes, "variance(squeezingAxes:)", file, line) {
      variance(alongAxes: $0, correction: correction, file: file, line: line)
    }
  }

  /// The variance of all elements, as a scalar tensor; see
  /// ``variance(alongAxes:correction:file:line:)`` for `correction` (default 0, as NumPy).
  ///
  /// - Precondition: `correction ≥ 0`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func variance(
    correction: Int = 0, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    variance(alongAxes: Array(shape.indices), correction: correction, file: file, line: line)
      .reshaped(to: [])
  }

  /// The standard deviation over `axes`, which are kept with extent 1: the square root of
  /// ``variance(alongAxes:correction:file:line:)``, whose `correction` defaults to 0 as in NumPy
  /// and JAX (`torch.std` defaults to 1).
  ///
  /// ```swift
  /// let x = Tensor<Double>([1, 2, 3, 4])
  /// x.standardDeviation(alongAxes: [0])   // [1.1180], as jnp.std(x)
  /// ```
  ///
  /// Where the variance is 0 (a constant group) the gradient is NaN, as in JAX.
  ///
  /// - Precondition: Each axis is in `-rank..<rank`, and `correction ≥ 0`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func standardDeviation(
    alongAxes axes: [Int], correction: Int = 0, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    sqrt(variance(alongAxes: axes, correction: correction, file: file, line: line))
  }

  /// The standard deviation over `axes`, which are removed from the shape (correction 0 by
  /// default, as NumPy).
  ///
  /// - Precondition: Each axis is in `-rank..<rank`, and `correction ≥ 0`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func standardDeviation(
    squeezingAxes axes: [Int], correction: Int = 0, file: StaticString = #fileID,
    line: UInt = #line
  ) -> Tensor {
    sqrt(variance(squeezingAxes: axes, correction: correction, file: file, line: line))
  }

  /// The standard deviation of all elements, as a scalar tensor (correction 0 by default, as
  /// NumPy).
  ///
  /// - Precondition: `correction ≥ 0`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func standardDeviation(
    correction: Int = 0, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    sqrt(variance(correction: correction, file: file, line: line))
  }

  /// `log Σ eˣ` over `axes`, which are kept with extent 1, computed stably: the group's maximum
  /// m is taken out first, `m + log Σ eˣ⁻ᵐ`, so no exp overflows.
  ///
  /// ```swift
  /// let x = Tensor<Double>(shape: [2, 2], scalars: [1000, 1000, 0, -.infinity])
  /// x.logSumExp(alongAxes: [1])   // [[1000.6931], [0]]
  /// ```
  ///
  /// ∂/∂x = g·softmax(x) over each group. A group of −∞ gives −∞ with a zero gradient (PyTorch
  /// and JAX give NaN there); a +∞ gives +∞; a NaN gives NaN.
  ///
  /// - Precondition: Each axis is in `-rank..<rank`, and the reduced extents are not 0.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func logSumExp(
    alongAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let axes = normalized(axes, "logSumExp(alongAxes:)", at: location)
    check(
      axes.allSatisfy { shape[$0] > 0 },
      "logSumExp(alongAxes:): cannot reduce over an empty axis of shape "
        + shape.shapeDescription, at: location)
    // The shift is a constant: the result does not depend on it, so it carries no gradient. An
    // infinite or NaN maximum shifts by 0, so that −∞ − (−∞) never makes a NaN.
    let maxima = reduced(.max, alongAxes: axes)
    let shift = Tensor(shape: maxima.shape, scalars: maxima.scalars.map { $0.isFinite ? $0 : 0 })
    let sums = exp(self - shift).sum(alongAxes: axes)
    let emptyGroups = sums.scalars.map { $0 == 0 }
    guard emptyGroups.contains(true) else { return shift + log(sums) }
    // A group of −∞ sums to 0: its log is taken at 1 instead and −∞ added as a constant, so the
    // value is −∞ and the gradient g·eˣ⁻ᵐ/1 = 0, not ∞·0.
    let ones = Tensor(shape: sums.shape, scalars: emptyGroups.map { $0 ? 1 : 0 })
    let infinities = Tensor(shape: sums.shape, scalars: emptyGroups.map { $0 ? -.infinity : 0 })
    return shift + log(sums + ones) + infinities
  }

  /// `log Σ eˣ` over `axes`, which are removed from the shape; see
  /// ``logSumExp(alongAxes:file:line:)``.
  ///
  /// - Precondition: Each axis is in `-rank..<rank`, and the reduced extents are not 0.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func logSumExp(
    squeezingAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    squeezing(axes, "logSumExp(squeezingAxes:)", file, line) {
      logSumExp(alongAxes: $0, file: file, line: line)
    }
  }

  /// `log Σ eˣ` over all elements, as a scalar tensor; see ``logSumExp(alongAxes:file:line:)``.
  ///
  /// - Precondition: The tensor is not empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func logSumExp(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    logSumExp(alongAxes: Array(shape.indices), file: file, line: line).reshaped(to: [])
  }

  /// The running sums along `axis`: element k is the sum of elements 0…k, as NumPy's `cumsum`.
  ///
  /// ```swift
  /// Tensor<Float>([1, 2, 3, 4]).cumulativeSum(alongAxis: 0)   // [1, 3, 6, 10]
  /// ```
  ///
  /// ∂/∂x = the running sums of g from the other end (element k gets g's elements k…n−1).
  ///
  /// The running totals are kept in Double, so a Float element is its running sum rounded once,
  /// as in PyTorch (NumPy's float32 `cumsum` rounds every partial sum).
  ///
  /// - Precondition: `rank ≥ 1` and `axis` is in `-rank..<rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func cumulativeSum(
    alongAxis axis: Int, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    check(
      rank >= 1, "cumulativeSum(alongAxis:): a scalar has no axis to sum along", at: location)
    let axis = normalized([axis], "cumulativeSum(alongAxis:)", at: location)[0]
    return cumulativeSum(alongAxis: axis, reverse: false, at: location)
  }

  /// The running sums along the normalized `axis`, from its end when `reverse` is true.
  func cumulativeSum(alongAxis axis: Int, reverse: Bool, at location: SourceLocation?) -> Tensor {
    let (outer, inner) = (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
    let storage = Storage<Scalar>.uninitialized(count: scalarCount)
    withUnsafeBufferPointer { x in
      storage.withUnsafeMutableBufferPointer { y in
        _ = y.initialize(fromContentsOf: x)
        cumulativeSumKernel(y, outer: outer, n: shape[axis], inner: inner, reverse: reverse)
      }
    }
    return record(
      "cumsum", output: Tensor(shape: shape, storage: storage), operands: self, at: location,
      rule: .unary { g, _, _ in g.cumulativeSum(alongAxis: axis, reverse: !reverse, at: nil) },
      tangent: .unary { dx, _, _ in dx.cumulativeSum(alongAxis: axis, reverse: reverse, at: nil) }
    )
  }
}
