// On `@_specialize`, see the Performance article in Documentation.docc.

// Stacking along a new axis and splitting into pieces, built from reshape, concatenate and
// slice: the gradient of a stack splits back, and the gradient of a piece is placed at its rows
// with zeros elsewhere, so the pieces' gradients add up to the whole.

extension Tensor {
  /// The tensors joined along a new axis `axis`, so the result has shape
  /// `shape[..<axis] + [tensors.count] + shape[axis...]`: NumPy's and PyTorch's `stack`.
  ///
  /// ```swift
  /// let a = Tensor<Float>([1, 2, 3])
  /// let b = Tensor<Float>([4, 5, 6])
  /// Tensor(stacking: [a, b])                 // [[1, 2, 3], [4, 5, 6]], shape [2, 3]
  /// Tensor(stacking: [a, b], alongAxis: 1)   // [[1, 4], [2, 5], [3, 6]], shape [3, 2]
  /// ```
  ///
  /// ∂/∂xᵢ = g's slice i along `axis`.
  ///
  /// - Parameters:
  ///   - tensors: The tensors to stack, all of one shape.
  ///   - axis: The new axis, in `-(rank + 1)...rank`; negative axes count from the end of the
  ///     result's shape (−1 stacks along a new last axis).
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `tensors` is not empty, all have the same shape, and `axis` is in
  ///   `-(rank + 1)...rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(
    stacking tensors: [Tensor], alongAxis axis: Int = 0,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    let location = SourceLocation(file: file, line: line)
    guard let first = tensors.first else { fail("stack: no tensors to stack", at: location) }
    for tensor in tensors where tensor.shape != first.shape {
      fail(
        "stack: shapes \(first.shape.shapeDescription) and \(tensor.shape.shapeDescription) "
          + "differ; stacked tensors must have one shape", at: location)
    }
    let rank = first.rank
    check(
      axis >= -(rank + 1) && axis <= rank,
      "stack: axis \(axis) is out of range for stacking tensors of shape "
        + "\(first.shape.shapeDescription) (a new axis in \(-(rank + 1))...\(rank))",
      at: location)
    let newAxis = axis < 0 ? axis + rank + 1 : axis
    var pieceShape = first.shape
    pieceShape.insert(1, at: newAxis)
    let pieces = tensors.map { $0.reshaped(to: pieceShape, file: file, line: line) }
    self.init(concatenating: pieces, alongAxis: newAxis, file: file, line: line)
  }

  /// The tensor cut along `axis` into `count` pieces of equal extent: NumPy's `split` with a
  /// number of sections.
  ///
  /// ```swift
  /// let x = Tensor<Float>(shape: [2, 6], scalars: Array(0..<12).map(Float.init))
  /// let parts = x.split(into: 3, alongAxis: 1)   // three tensors of shape [2, 2]
  /// ```
  ///
  /// The gradient of each piece goes to its rows of `self`, zeros elsewhere.
  ///
  /// - Parameters:
  ///   - count: The number of pieces, which divides the extent of `axis`.
  ///   - axis: The axis to cut; negative axes count from the end.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: `count` tensors, each of `self`'s shape but `shape[axis] / count` along `axis`.
  /// - Precondition: `rank ≥ 1`, `axis` is in `-rank..<rank`, `count ≥ 1`, and `count` divides
  ///   `shape[axis]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func split(
    into count: Int, alongAxis axis: Int = 0, file: StaticString = #fileID, line: UInt = #line
  ) -> [Tensor] {
    let location = SourceLocation(file: file, line: line)
    let axis = splitAxis(axis, "split(into:alongAxis:)", at: location)
    check(
      count >= 1, "split(into:alongAxis:): cannot split into \(count) pieces", at: location)
    check(
      shape[axis] % count == 0,
      "split(into:alongAxis:): axis \(axis) of shape \(shape.shapeDescription) has extent "
        + "\(shape[axis]), which \(count) equal pieces cannot divide; split(sizes:alongAxis:) "
        + "or chunked(into:alongAxis:) take unequal pieces", at: location)
    return pieces(Array(repeating: shape[axis] / count, count: count), alongAxis: axis, location)
  }

  /// The tensor cut along `axis` into consecutive pieces of the given extents: PyTorch's
  /// `split` with a list of sizes.
  ///
  /// ```swift
  /// let x = Tensor<Float>([1, 2, 3, 4, 5])
  /// let parts = x.split(sizes: [2, 3])   // [1, 2] and [3, 4, 5]
  /// ```
  ///
  /// - Parameters:
  ///   - sizes: The extent of each piece along `axis`, each ≥ 0, adding up to `shape[axis]`.
  ///   - axis: The axis to cut; negative axes count from the end.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: One tensor per size.
  /// - Precondition: `rank ≥ 1`, `axis` is in `-rank..<rank`, and `sizes` are non-negative and
  ///   add up to `shape[axis]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func split(
    sizes: [Int], alongAxis axis: Int = 0, file: StaticString = #fileID, line: UInt = #line
  ) -> [Tensor] {
    let location = SourceLocation(file: file, line: line)
    let axis = splitAxis(axis, "split(sizes:alongAxis:)", at: location)
    check(
      sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[axis],
      "split(sizes:alongAxis:): sizes \(sizes) do not add up to the extent \(shape[axis]) of "
        + "axis \(axis) of shape \(shape.shapeDescription)", at: location)
    return pieces(sizes, alongAxis: axis, location)
  }

  /// The tensor cut along `axis` into at most `count` pieces of ⌈extent / count⌉ rows, the last
  /// possibly shorter: PyTorch's `chunk`. There are fewer than `count` pieces when the extent is
  /// too short to give each one a row.
  ///
  /// ```swift
  /// Tensor<Float>([1, 2, 3, 4, 5]).chunked(into: 3)   // [1, 2], [3, 4] and [5]
  /// ```
  ///
  /// - Parameters:
  ///   - count: The largest number of pieces.
  ///   - axis: The axis to cut; negative axes count from the end.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: The pieces, in order.
  /// - Precondition: `rank ≥ 1`, `axis` is in `-rank..<rank`, and `count ≥ 1`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func chunked(
    into count: Int, alongAxis axis: Int = 0, file: StaticString = #fileID, line: UInt = #line
  ) -> [Tensor] {
    let location = SourceLocation(file: file, line: line)
    let axis = splitAxis(axis, "chunked(into:alongAxis:)", at: location)
    check(
      count >= 1, "chunked(into:alongAxis:): cannot cut into \(count) pieces", at: location)
    let extent = shape[axis]
    let size = Swift.max(1, (extent + count - 1) / count)
    let sizes = stride(from: 0, to: extent, by: size).map { Swift.min(size, extent - $0) }
    return pieces(sizes.isEmpty ? [0] : sizes, alongAxis: axis, location)
  }

  /// `axis` normalized, after checking that `self` has axes.
  private func splitAxis(_ axis: Int, _ name: String, at location: SourceLocation) -> Int {
    check(rank >= 1, "\(name): a scalar has no axis to split", at: location)
    return normalized([axis], name, at: location)[0]
  }

  /// Consecutive slices of the given extents along the normalized `axis`.
  private func pieces(_ sizes: [Int], alongAxis axis: Int, _ location: SourceLocation) -> [Tensor] {
    var start = 0
    return sizes.map { size in
      defer { start += size }
      return sliced(alongAxis: axis, start..<(start + size), at: location)
    }
  }
}
