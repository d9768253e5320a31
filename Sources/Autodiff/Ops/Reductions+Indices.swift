// The positions of maxima and minima: NumPy's argmax and argmin. Indices are not differentiable,
// so these return Swift integers, which compare with labels and index arrays directly.

extension Tensor {
  /// The index along `axis` of the largest element of each run along it, in row-major order
  /// over the other axes: NumPy's `argmax(x, axis=axis).ravel()`.
  ///
  /// ```swift
  /// let logits = Tensor<Float>(shape: [2, 3], scalars: [0.1, 2, 0.3, 5, 5, -1])
  /// logits.argmax(alongAxis: 1)   // [1, 0]: row 1 ties, and the first maximum wins
  /// ```
  ///
  /// On a tie the first index wins; a NaN beats every number, and the first NaN wins, as NumPy.
  ///
  /// - Parameters:
  ///   - axis: The axis to search; negative axes count from the end.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: `scalarCount / shape[axis]` indices in `0..<shape[axis]`, one per run, ordered
  ///   as the elements of the shape without `axis`.
  /// - Precondition: `rank ≥ 1`, `axis` is in `-rank..<rank`, and `shape[axis] > 0`.
  public func argmax(alongAxis axis: Int, file: StaticString = #fileID, line: UInt = #line)
    -> [Int]
  {
    extremumIndices(alongAxis: axis, maximum: true, "argmax(alongAxis:)", file, line)
  }

  /// The index along `axis` of the smallest element of each run along it; see
  /// ``argmax(alongAxis:file:line:)``. A NaN counts as the smallest, as in NumPy.
  ///
  /// ```swift
  /// Tensor<Double>(shape: [2, 2], scalars: [3, 1, 2, 4]).argmin(alongAxis: 0)   // [1, 0]
  /// ```
  ///
  /// - Parameters:
  ///   - axis: The axis to search; negative axes count from the end.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: One index per run along `axis`.
  /// - Precondition: `rank ≥ 1`, `axis` is in `-rank..<rank`, and `shape[axis] > 0`.
  public func argmin(alongAxis axis: Int, file: StaticString = #fileID, line: UInt = #line)
    -> [Int]
  {
    extremumIndices(alongAxis: axis, maximum: false, "argmin(alongAxis:)", file, line)
  }

  /// The row-major position of the largest element: NumPy's `argmax(x)` without an axis. The
  /// first maximum wins a tie; the first NaN beats every number.
  ///
  /// ```swift
  /// Tensor<Float>(shape: [2, 2], scalars: [1, 7, 7, 2]).argmax()   // 1
  /// ```
  ///
  /// - Precondition: The tensor is not empty.
  public func argmax(file: StaticString = #fileID, line: UInt = #line) -> Int {
    flatExtremumIndex(maximum: true, "argmax()", file, line)
  }

  /// The row-major position of the smallest element: NumPy's `argmin(x)` without an axis. The
  /// first minimum wins a tie; the first NaN beats every number.
  ///
  /// - Precondition: The tensor is not empty.
  public func argmin(file: StaticString = #fileID, line: UInt = #line) -> Int {
    flatExtremumIndex(maximum: false, "argmin()", file, line)
  }

  private func extremumIndices(
    alongAxis axis: Int, maximum: Bool, _ name: String, _ file: StaticString, _ line: UInt
  ) -> [Int] {
    let location = SourceLocation(file: file, line: line)
    check(rank >= 1, "\(name): a scalar has no axis to search", at: location)
    let axis = normalized([axis], name, at: location)[0]
    check(
      shape[axis] > 0,
      "\(name): axis \(axis) of shape \(shape.shapeDescription) is empty", at: location)
    let (outer, inner) = (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
    return withUnsafeBufferPointer { x in
      extremumIndexKernel(x, outer: outer, n: shape[axis], inner: inner, maximum: maximum)
    }
  }

  private func flatExtremumIndex(
    maximum: Bool, _ name: String, _ file: StaticString, _ line: UInt
  ) -> Int {
    check(
      scalarCount > 0, "\(name): the tensor of shape \(shape.shapeDescription) is empty",
      at: SourceLocation(file: file, line: line))
    return withUnsafeBufferPointer { x in
      extremumIndexKernel(x, outer: 1, n: x.count, inner: 1, maximum: maximum)[0]
    }
  }
}
