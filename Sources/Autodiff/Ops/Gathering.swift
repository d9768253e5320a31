// On `@_specialize`, see the Performance article in Documentation.docc.

// Gathering slices by a list of positions, as `torch.index_select` and `jnp.take` do: the
// operation `gather`, whose pullback adds each slice of the gradient back at its position (the
// operation `scatterAdd`); the two are each other's transpose.

extension Tensor {
  /// The slices at `indices` along `axis`, in the order given; a position may repeat.
  ///
  /// ```swift
  /// let x: Tensor<Float> = [[1, 2], [3, 4], [5, 6]]
  /// x.gathering(atIndices: [2, 0, 2])              // [[5, 6], [1, 2], [5, 6]]
  /// x.gathering(atIndices: [1], alongAxis: 1)      // [[2], [4], [6]]
  /// let batch = images.gathering(atIndices: shuffled[0..<128].map { $0 })   // a random batch
  /// ```
  ///
  /// ∂/∂x = g's slices added at their positions, zeros elsewhere: a position gathered twice
  /// receives the sum of both slices' gradients. Each slice is copied as one block, so
  /// gathering rows of a matrix runs at the speed of memory.
  ///
  /// - Parameters:
  ///   - indices: Positions along `axis`; negative ones count from the end.
  ///   - axis: The axis to gather along, in `-rank..<rank`.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: A tensor of `self`'s shape with `indices.count` positions along `axis`.
  /// - Precondition: `rank ≥ 1`, `axis` is in `-rank..<rank`, and each index is in
  ///   `-extent..<extent` of that axis.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func gathering(
    atIndices indices: [Int], alongAxis axis: Int = 0, file: StaticString = #fileID,
    line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    check(rank >= 1, "gathering: a scalar has no axis to gather along", at: location)
    let axis = normalized([axis], "gathering", at: location)[0]
    let extent = shape[axis]
    if let position = indices.firstIndex(where: { $0 < -extent || $0 >= extent }) {
      fail(
        "gathering: index \(indices[position]) at position \(position) is out of range for axis "
          + "\(axis) of extent \(extent) (shape \(shape.shapeDescription))", at: location)
    }
    var newShape = shape
    newShape[axis] = indices.count
    checkShape(newShape, of: Scalar.self, "gathering", at: location)
    return gathered(indices.map { $0 < 0 ? $0 + extent : $0 }, alongAxis: axis, at: location)
  }

  /// The slices at `indices` (in range) along `axis` (normalized), recorded: the operation
  /// `gather`.
  func gathered(_ indices: [Int], alongAxis axis: Int, at location: SourceLocation?) -> Tensor {
    var newShape = shape
    newShape[axis] = indices.count
    let (outer, inner) = (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
    let storage = Storage<Scalar>.uninitialized(count: newShape.elementCount)
    withUnsafeBufferPointer { x in
      storage.withUnsafeMutableBufferPointer { y in
        gatherRowsKernel(
          from: x, rows: shape[axis], indices: indices, to: y, outer: outer, inner: inner)
      }
    }
    let extent = shape[axis]
    return record(
      "gather", output: Tensor(shape: newShape, storage: storage), operands: self, at: location,
      rule: .unary { g, _, _ in g.scatterAdded(indices, alongAxis: axis, extent: extent) },
      tangent: .unary { dx, _, _ in dx.gathered(indices, alongAxis: axis, at: nil) })
  }

  /// A tensor of zeros with `extent` positions along `axis` to which slice `j` of `self` is
  /// added at position `indices[j]`, recorded: the operation `scatterAdd`, the transpose of
  /// `gather`.
  func scatterAdded(_ indices: [Int], alongAxis axis: Int, extent: Int) -> Tensor {
    var newShape = shape
    newShape[axis] = extent
    let (outer, inner) = (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
    let storage = Storage<Scalar>.repeating(0, count: newShape.elementCount)
    withUnsafeBufferPointer { g in
      storage.withUnsafeMutableBufferPointer { y in
        scatterAddRowsKernel(
          from: g, indices: indices, into: y, rows: extent, outer: outer, inner: inner)
      }
    }
    return record(
      "scatterAdd", output: Tensor(shape: newShape, storage: storage), operands: self,
      rule: .unary { g, _, _ in g.gathered(indices, alongAxis: axis, at: nil) },
      tangent: .unary { dx, _, _ in dx.scatterAdded(indices, alongAxis: axis, extent: extent) })
  }
}
