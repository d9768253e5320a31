// On `@_specialize`, see the Performance article in Documentation.docc.

// Sums, means, maxima and minima over axes. `…(alongAxes:)` keeps the reduced axes with extent 1, so the
// result broadcasts against the operand; `…(squeezingAxes:)` drops them.

extension Tensor {
  /// The sum over `axes`, which are kept with extent 1.
  ///
  /// ```swift
  /// let x = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
  /// x.sum(alongAxes: [1])   // [[6], [15]], shape [2, 1]
  /// ```
  ///
  /// ∂/∂x = g broadcast back to x's shape. Axes may be negative (−1 is the last).
  ///
  /// - Precondition: Each axis is in `-rank..<rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sum(
    alongAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let axes = normalized(axes, "sum(alongAxes:)", at: location)
    return record(
      "sum", output: reduced(.sum, alongAxes: axes), operands: self, at: location,
      rule: .unary { g, x, _ in g.expanded(to: x.shape) },
      tangent: .unary { dx, _, _ in dx.sum(alongAxes: axes) })
  }

  /// The sum over `axes`, which are removed from the shape.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sum(
    squeezingAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    squeezing(axes, "sum(squeezingAxes:)", file, line) {
      sum(alongAxes: $0, file: file, line: line)
    }
  }

  /// The sum of all elements, as a scalar tensor.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sum(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    sum(alongAxes: Array(shape.indices), file: file, line: line).reshaped(
      to: [], file: file, line: line)
  }

  /// The mean over `axes`, which are kept with extent 1.
  ///
  /// - Precondition: Each axis is in `-rank..<rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func mean(
    alongAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let axes = normalized(axes, "mean(alongAxes:)", at: location)
    let count = axes.reduce(1) { $0 * shape[$1] }
    return sum(alongAxes: axes, file: file, line: line) / Scalar(count)
  }

  /// The mean over `axes`, which are removed from the shape.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func mean(
    squeezingAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    squeezing(axes, "mean(squeezingAxes:)", file, line) {
      mean(alongAxes: $0, file: file, line: line)
    }
  }

  /// The mean of all elements, as a scalar tensor.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func mean(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    sum(file: file, line: line) / Scalar(scalarCount)
  }

  /// The maximum over `axes`, which are kept with extent 1.
  ///
  /// The gradient goes to the first maximal element of each reduced group, in row-major order;
  /// the other elements that tie with it get 0.
  ///
  /// - Precondition: Each axis is in `-rank..<rank`, and the reduced extents are not 0.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func max(
    alongAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    extremum(.max, "max", "maximum", alongAxes: axes, at: SourceLocation(file: file, line: line))
  }

  /// The maximum over `axes`, which are removed from the shape, as NumPy's `max(axis=)` and
  /// PyTorch's `amax(dim)`; the gradient goes as in ``max(alongAxes:file:line:)``.
  ///
  /// ```swift
  /// let x = Tensor<Float>(shape: [2, 3], scalars: [4, 1, 3, 2, 6, 2])
  /// x.max(squeezingAxes: [1])   // [4, 6], shape [2]
  /// ```
  ///
  /// - Precondition: Each axis is in `-rank..<rank`, and the reduced extents are not 0.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func max(
    squeezingAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    squeezing(axes, "max(squeezingAxes:)", file, line) {
      max(alongAxes: $0, file: file, line: line)
    }
  }

  /// The maximum of all elements, as a scalar tensor.
  ///
  /// - Precondition: The tensor is not empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func max(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    max(alongAxes: Array(shape.indices), file: file, line: line).reshaped(
      to: [], file: file, line: line)
  }

  /// The minimum over `axes`, which are kept with extent 1; NaN where a group holds a NaN, as
  /// NumPy's `min`.
  ///
  /// ```swift
  /// let x = Tensor<Float>(shape: [2, 3], scalars: [4, 1, 3, 2, 6, 2])
  /// x.min(alongAxes: [1])   // [[1], [2]], shape [2, 1]
  /// ```
  ///
  /// The gradient goes to the first minimal element of each reduced group, in row-major order;
  /// the other elements that tie with it get 0 (JAX splits it between them instead).
  ///
  /// - Precondition: Each axis is in `-rank..<rank`, and the reduced extents are not 0.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func min(
    alongAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    extremum(.min, "min", "minimum", alongAxes: axes, at: SourceLocation(file: file, line: line))
  }

  /// The maximum or minimum over `axes` (`function`), kept with extent 1, recorded as `name`:
  /// the gradient goes to the first extremal element of each group.
  private func extremum(
    _ function: ReductionFunction, _ name: StaticString, _ noun: String, alongAxes axes: [Int],
    at location: SourceLocation
  ) -> Tensor {
    let axes = normalized(axes, "\(name)(alongAxes:)", at: location)
    check(
      axes.allSatisfy { shape[$0] > 0 },
      "\(name)(alongAxes:): cannot take the \(noun) over an empty axis of shape "
        + shape.shapeDescription, at: location)
    return record(
      name, output: reduced(function, alongAxes: axes), operands: self, at: location,
      // Selected, not multiplied by the mask: the other elements get exactly 0, even where g is
      // infinite or NaN (as PyTorch's max along a dimension scatters g to the index).
      rule: .unary { g, x, y in elementwise(.select, x.firstExtremumMask(y), g, "select") },
      tangent: .unary { dx, x, y in
        elementwise(.select, x.firstExtremumMask(y), dx, "select").sum(alongAxes: axes)
      })
  }

  /// The minimum over `axes`, which are removed from the shape, as NumPy's `min(axis=)` and
  /// PyTorch's `amin(dim)`; the gradient goes as in ``min(alongAxes:file:line:)``.
  ///
  /// - Precondition: Each axis is in `-rank..<rank`, and the reduced extents are not 0.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func min(
    squeezingAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    squeezing(axes, "min(squeezingAxes:)", file, line) {
      min(alongAxes: $0, file: file, line: line)
    }
  }

  /// The minimum of all elements, as a scalar tensor.
  ///
  /// - Precondition: The tensor is not empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func min(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    min(alongAxes: Array(shape.indices), file: file, line: line).reshaped(
      to: [], file: file, line: line)
  }
}

extension Tensor {
  /// `axes` with negative axes counted from the end, sorted and without repeats.
  func normalized(_ axes: [Int], _ function: String, at location: SourceLocation?) -> [Int] {
    let result = axes.map { axis in
      check(
        axis >= -rank && axis < rank,
        "\(function): axis \(axis) is out of range for shape \(shape.shapeDescription) (rank "
          + "\(rank))", at: location)
      return axis < 0 ? axis + rank : axis
    }
    return Array(Set(result)).sorted()
  }

  /// What every `…(squeezingAxes:)` form computes: its `…(alongAxes:)` form `reduce` over the
  /// normalized `axes` (checked in the name of `function`), with those axes dropped.
  func squeezing(
    _ axes: [Int], _ function: String, _ file: StaticString, _ line: UInt,
    _ reduce: ([Int]) -> Tensor
  ) -> Tensor {
    let axes = normalized(axes, function, at: SourceLocation(file: file, line: line))
    return reduce(axes).reshaped(to: shape(removing: axes))
  }

  /// The shape without `axes`.
  func shape(removing axes: [Int]) -> [Int] {
    shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
  }

  /// The reduction over `axes` (normalized), kept with extent 1; unrecorded.
  ///
  /// Each run of adjacent axes is one pass of `reduceKernel` over the tensor viewed as
  /// `[outer, n, inner]`.
  func reduced(_ function: ReductionFunction, alongAxes axes: [Int]) -> Tensor {
    var result = self.detached
    var runStart = 0
    while runStart < axes.count {
      var runEnd = runStart
      while runEnd + 1 < axes.count && axes[runEnd + 1] == axes[runEnd] + 1 { runEnd += 1 }
      let (first, last) = (axes[runStart], axes[runEnd])
      let current = result.shape
      let outer = current[..<first].reduce(1, *)
      let n = current[first...last].reduce(1, *)
      let inner = current[(last + 1)...].reduce(1, *)
      var reducedShape = current
      for axis in first...last { reducedShape[axis] = 1 }
      if function == .sum, outer == 1, inner == 1, result.storage.isPending {
        // A sum of all the elements of a pending tensor is pending too: its elements are summed
        // as they are computed, never stored, possibly in one program with a gradient.
        result = .pending(shape: reducedShape, .sum(result.storage))
        runStart = runEnd + 1
        continue
      }
      let storage = Storage<Scalar>.uninitialized(count: outer * inner)
      if n > 0 {
        result.withUnsafeBufferPointer { x in
          storage.withUnsafeMutableBufferPointer { y in
            reduceKernel(function, x, outer: outer, n: n, inner: inner, into: y)
          }
        }
      } else {
        storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
      }
      result = Tensor(shape: reducedShape, storage: storage)
      runStart = runEnd + 1
    }
    return result
  }

  /// 1 at the first element of each group equal to the group's maximum (or minimum) `y` (kept
  /// rank), else 0; unrecorded.
  func firstExtremumMask(_ y: Tensor) -> Tensor {
    let mask = Storage<Scalar>.uninitialized(count: scalarCount)
    withUnsafeBufferPointer { x in
      y.withUnsafeBufferPointer { y2 in
        mask.withUnsafeMutableBufferPointer { m in
          firstMatchMaskKernel(
            x, shape: shape, y2, stridesY: broadcastStrides(from: y.shape, to: shape), into: m)
        }
      }
    }
    return Tensor(shape: shape, storage: mask)
  }
}
