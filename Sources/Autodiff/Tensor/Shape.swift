// Shape arithmetic shared by the operations: element counts, strides, broadcasting and axes.
// A shape is an `[Int]` of non-negative extents, outermost first; `[]` is the shape of a scalar.

extension Array where Element == Int {
  /// The number of elements of a tensor with this shape; 1 for the scalar shape `[]`.
  var elementCount: Int { reduce(1, *) }

  /// The row-major strides of a contiguous tensor with this shape.
  var rowMajorStrides: [Int] {
    var strides = [Int](repeating: 1, count: count)
    var stride = 1
    for axis in indices.reversed() {
      strides[axis] = stride
      stride *= self[axis]
    }
    return strides
  }

  /// Describes the shape as it appears in messages: `[2, 3]`.
  var shapeDescription: String { "[" + map(String.init).joined(separator: ", ") + "]" }
}

/// The NumPy broadcast of two shapes, or `nil` when they are not compatible.
///
/// Shapes are aligned at their last axis; each pair of extents must be equal or contain a 1,
/// and a missing leading axis counts as 1.
func broadcastShape(_ lhs: [Int], _ rhs: [Int]) -> [Int]? {
  if lhs == rhs { return lhs }
  let rank = Swift.max(lhs.count, rhs.count)
  var result = [Int](repeating: 1, count: rank)
  for axis in 0..<rank {
    let l = axis < rank - lhs.count ? 1 : lhs[axis - (rank - lhs.count)]
    let r = axis < rank - rhs.count ? 1 : rhs[axis - (rank - rhs.count)]
    guard l == r || l == 1 || r == 1 else { return nil }
    result[axis] = l == 1 ? r : l
  }
  return result
}

/// The axes of `broadcast` along which a tensor of shape `operand` was repeated: the leading axes
/// it lacks and the axes where it has extent 1 but `broadcast` does not.
func broadcastAxes(from operand: [Int], to broadcast: [Int]) -> [Int] {
  let leading = broadcast.count - operand.count
  return broadcast.indices.filter { axis in
    axis < leading || (operand[axis - leading] == 1 && broadcast[axis] != 1)
  }
}

/// Strides for reading a tensor of shape `operand` as if it had shape `broadcast`: 0 along the
/// axes it is repeated on.
func broadcastStrides(from operand: [Int], to broadcast: [Int]) -> [Int] {
  let leading = broadcast.count - operand.count
  let strides = operand.rowMajorStrides
  return broadcast.indices.map { axis in
    axis < leading || operand[axis - leading] == 1 ? 0 : strides[axis - leading]
  }
}
