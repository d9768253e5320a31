// On `@_specialize`, see the Performance article in Documentation.docc.

// Operations that move or copy elements: reshape, transpose, broadcast, slice and concatenate.

extension Tensor {
  /// The same elements with a new shape; one extent may be −1, inferred from the others.
  ///
  /// No element is copied. ∂/∂x = g reshaped back.
  ///
  /// - Precondition: The new shape holds as many elements as `self`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func reshaped(to newShape: [Int], file: StaticString = #fileID, line: UInt = #line)
    -> Tensor
  {
    let location = SourceLocation(file: file, line: line)
    var target = newShape
    if let inferred = newShape.firstIndex(of: -1) {
      let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element)
      let product = known.allSatisfy { $0 >= 0 } ? known.countingElements() ?? 0 : 0
      check(
        product > 0 && scalarCount % product == 0,
        "reshaped(to:): cannot infer the −1 in \(newShape.shapeDescription) for "
          + "\(shape.shapeDescription)", at: location)
      target[inferred] = scalarCount / product
    }
    let count = target.allSatisfy { $0 >= 0 } ? target.countingElements() : nil
    check(
      count == scalarCount,
      "reshaped(to:): shape \(shape.shapeDescription) has \(scalarCount) elements, "
        + "\(newShape.shapeDescription) has "
        + (count.map { "\($0)" } ?? "more than an Int can count or a negative extent"),
      at: location)
    if target == shape { return self }
    return record(
      "reshape", output: Tensor(shape: target, storage: storage), operands: self, at: location,
      rule: .unary { g, x, _ in g.reshaped(to: x.shape) },
      tangent: .unary { dx, _, y in dx.reshaped(to: y.shape) })
  }

  /// The same elements without the axes of extent 1 in `axes`, or without every axis of extent
  /// 1 when `axes` is `nil`: PyTorch's `squeeze`, NumPy's `squeeze`. Axes may be negative.
  ///
  /// ```swift
  /// let x = Tensor<Float>(zeros: [1, 3, 1, 2])
  /// x.squeezed().shape              // [3, 2]
  /// x.squeezed(axes: [0]).shape     // [3, 1, 2]
  /// ```
  ///
  /// No element is copied; it is a ``reshaped(to:file:line:)``, and differentiates as one.
  ///
  /// - Precondition: Each axis in `axes` is in `-rank..<rank` and has extent 1 (NumPy's rule;
  ///   PyTorch leaves an axis of another extent in place).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func squeezed(axes: [Int]? = nil, file: StaticString = #fileID, line: UInt = #line)
    -> Tensor
  {
    let location = SourceLocation(file: file, line: line)
    let removed =
      axes.map { normalized($0, "squeezed(axes:)", at: location) }
      ?? shape.indices.filter { shape[$0] == 1 }
    for axis in removed {
      check(
        shape[axis] == 1,
        "squeezed(axes:): axis \(axis) of shape \(shape.shapeDescription) has extent "
          + "\(shape[axis]), not 1", at: location)
    }
    return reshaped(to: shape(removing: removed), file: file, line: line)
  }

  /// The same elements with a new axis of extent 1 at `axis`, which counts positions in the
  /// result (−1 appends one): PyTorch's `unsqueeze`, NumPy's `expand_dims`.
  ///
  /// ```swift
  /// let v = Tensor<Float>([1, 2, 3])
  /// v.unsqueezed(at: 0).shape    // [1, 3], a row
  /// v.unsqueezed(at: -1).shape   // [3, 1], a column
  /// ```
  ///
  /// No element is copied; it is a ``reshaped(to:file:line:)``, and differentiates as one.
  ///
  /// - Precondition: `axis` is in `-(rank + 1)...rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func unsqueezed(at axis: Int, file: StaticString = #fileID, line: UInt = #line)
    -> Tensor
  {
    let location = SourceLocation(file: file, line: line)
    check(
      axis >= -(rank + 1) && axis <= rank,
      "unsqueezed(at:): axis \(axis) is out of range for a new axis of shape "
        + "\(shape.shapeDescription) (rank \(rank))", at: location)
    var newShape = shape
    newShape.insert(1, at: axis < 0 ? axis + rank + 1 : axis)
    return reshaped(to: newShape, file: file, line: line)
  }

  /// The matrix transpose of a rank-2 tensor, or the reversal of the axes of any rank.
  ///
  /// The elements are copied into the new order; `matmul(_:transposed:_:transposed:)` multiplies
  /// by a transpose without copying.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func transposed() -> Tensor {
    transposed(permutation: Array(shape.indices.reversed()))
  }

  /// The tensor with its axes reordered: axis `i` of the result is axis `permutation[i]` of
  /// `self`. ∂/∂x = g transposed by the inverse permutation.
  ///
  /// - Precondition: `permutation` is a permutation of `0..<rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func transposed(
    permutation: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    check(
      permutation.sorted() == Array(shape.indices),
      "transposed(permutation:): \(permutation) is not a permutation of the axes of "
        + shape.shapeDescription, at: location)
    if permutation == Array(shape.indices) { return self }
    let strides = shape.rowMajorStrides
    let newShape = permutation.map { shape[$0] }
    let output = gathered(shape: newShape, strides: permutation.map { strides[$0] })
    var inverse = permutation
    for (position, axis) in permutation.enumerated() { inverse[axis] = position }
    return record(
      "transpose", output: output, operands: self, at: location,
      rule: .custom { context in
        context.accumulate(context.upstream.transposed(permutation: inverse), into: 0)
      },
      tangent: .unary { dx, _, _ in dx.transposed(permutation: permutation) })
  }

  /// The tensor broadcast to `shape`, its elements repeated along the new and the unit axes.
  /// ∂/∂x = g summed over the repeated axes.
  ///
  /// - Precondition: `self`'s shape broadcasts to `shape`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func expanded(
    to shape: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    checkShape(shape, of: Scalar.self, "expanded(to:)", at: location)
    check(
      broadcastShape(self.shape, shape) == shape,
      "expanded(to:): shape \(self.shape.shapeDescription) does not broadcast to "
        + shape.shapeDescription, at: location)
    if shape == self.shape { return self }
    // One element to many, as a sum's gradient is: pending, so that fused pullbacks read the
    // value instead of an array of copies.
    let output =
      scalarCount == 1 && shape.elementCount >= Fusion.minimumCount
      ? .pending(shape: shape, .fill(storage.withUnsafeBufferPointer { $0[0] }))
      : gathered(shape: shape, strides: broadcastStrides(from: self.shape, to: shape))
    return record(
      "expand", output: output,
      operands: self, at: location, rule: .unary { g, x, _ in g.unbroadcast(to: x.shape) },
      tangent: .unary { dx, _, y in dx.expanded(to: y.shape) })
  }

  /// The rows `range` of the first axis.
  ///
  /// ```swift
  /// let batch = images[128..<256]   // shape [128, 784]
  /// ```
  ///
  /// - Precondition: `rank ≥ 1` and `range` lies within `0..<shape[0]`.
  public subscript(
    range: Range<Int>, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    sliced(alongAxis: 0, range, at: SourceLocation(file: file, line: line))
  }

  /// The elements at positions `range` along `axis`, all others kept. ∂/∂x = g placed at
  /// `range`, zeros elsewhere.
  ///
  /// - Precondition: `axis` is in `-rank..<rank` and `range` lies within its extent.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sliced(
    alongAxis axis: Int, _ range: Range<Int>, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    sliced(alongAxis: axis, range, at: SourceLocation(file: file, line: line))
  }

  func sliced(alongAxis axis: Int, _ range: Range<Int>, at location: SourceLocation?) -> Tensor {
    check(rank >= 1, "slice: a scalar has no axis to slice", at: location)
    let axis = normalized([axis], "slice", at: location)[0]
    check(
      range.lowerBound >= 0 && range.upperBound <= shape[axis],
      "slice: range \(range) is outside 0..<\(shape[axis]) of axis \(axis) of "
        + shape.shapeDescription, at: location)
    if range == 0..<shape[axis] { return self }
    var newShape = shape
    newShape[axis] = range.count
    let (outer, inner) = (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
    let storage = Storage<Scalar>.uninitialized(count: newShape.elementCount)
    withUnsafeBufferPointer { x in
      storage.withUnsafeMutableBufferPointer { y in
        copyRowsKernel(
          from: x, rows: shape[axis], startingAt: range.lowerBound, to: y, rows: range.count,
          startingAt: 0, count: range.count, outer: outer, inner: inner)
      }
    }
    let extent = shape[axis]
    return record(
      "slice", output: Tensor(shape: newShape, storage: storage), operands: self, at: location,
      rule: .custom { context in
        let g = context.upstream
        var pieces: [Tensor] = []
        var padShape = g.shape
        if range.lowerBound > 0 {
          padShape[axis] = range.lowerBound
          pieces.append(Tensor(zeros: padShape))
        }
        pieces.append(g)
        if range.upperBound < extent {
          padShape[axis] = extent - range.upperBound
          pieces.append(Tensor(zeros: padShape))
        }
        context.accumulate(Tensor(concatenating: pieces, alongAxis: axis), into: 0)
      },
      tangent: .unary { dx, _, _ in dx.sliced(alongAxis: axis, range, at: nil) })
  }

  /// The tensors joined along `axis`; all other extents must agree. ∂/∂xᵢ = g's slice of xᵢ.
  ///
  /// ```swift
  /// let rows = Tensor(concatenating: [a, b])   // a's rows, then b's
  /// ```
  ///
  /// - Precondition: `tensors` is not empty, all have the same rank and the same extents but
  ///   along `axis`, which is in `-rank..<rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(
    concatenating tensors: [Tensor], alongAxis axis: Int = 0,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    let location = SourceLocation(file: file, line: line)
    guard let first = tensors.first else { fail("concatenate: no tensors to join", at: location) }
    check(first.rank >= 1, "concatenate: scalars have no axis to join along", at: location)
    let axis = first.normalized([axis], "concatenate", at: location)[0]
    for tensor in tensors {
      var expected = first.shape
      expected[axis] = tensor.rank == first.rank ? tensor.shape[axis] : -1
      check(
        tensor.shape == expected,
        "concatenate: shapes \(first.shape.shapeDescription) and "
          + "\(tensor.shape.shapeDescription) differ outside axis \(axis)", at: location)
    }
    if tensors.count == 1 {
      self = first
      return
    }
    var shape = first.shape
    let extents = tensors.map { $0.shape[axis] }
    var total = 0
    for extent in extents {
      let (sum, overflow) = total.addingReportingOverflow(extent)
      if overflow {
        fail("concatenate: the extents along axis \(axis) add up past \(Int.max)", at: location)
      }
      total = sum
    }
    shape[axis] = total
    checkShape(shape, of: Scalar.self, "concatenate", at: location)
    let (outer, inner) = (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
    let storage = Storage<Scalar>.uninitialized(count: shape.elementCount)
    var row = 0
    for tensor in tensors {
      tensor.withUnsafeBufferPointer { x in
        storage.withUnsafeMutableBufferPointer { y in
          copyRowsKernel(
            from: x, rows: tensor.shape[axis], startingAt: 0, to: y, rows: shape[axis],
            startingAt: row, count: tensor.shape[axis], outer: outer, inner: inner)
        }
      }
      row += tensor.shape[axis]
    }
    self = record(
      "concatenate", output: Tensor(shape: shape, storage: storage), operands: tensors,
      at: location,
      rule: .custom { context in
        var start = 0
        for (position, extent) in extents.enumerated() {
          if context.needsGradient(position) {
            context.accumulate(
              context.upstream.sliced(alongAxis: axis, start..<(start + extent), at: nil),
              into: position)
          }
          start += extent
        }
      },
      tangent: .custom { tangents, operands, _ in
        Tensor(
          concatenating: zip(tangents, operands).map { $0 ?? Tensor(zeros: $1.shape) },
          alongAxis: axis)
      })
  }

  /// The elements read at `strides` into a new contiguous tensor of `shape`; unrecorded.
  func gathered(shape: [Int], strides: [Int]) -> Tensor {
    let storage = Storage<Scalar>.uninitialized(count: shape.elementCount)
    withUnsafeBufferPointer { x in
      storage.withUnsafeMutableBufferPointer { y in
        gatherKernel(x, strides: strides, into: y, shape: shape)
      }
    }
    return Tensor(shape: shape, storage: storage)
  }
}

/// `x` as a constant: the same value, not recorded on any tape, so no gradient flows through it.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func withoutDerivative<Scalar>(at x: Tensor<Scalar>) -> Tensor<Scalar> { x.detached }
