// Copies that move elements: strided gathers (transpose, broadcast), and the block copies of
// slicing and concatenation.

/// Writes `y[i] = x[offset(i)]` for every row-major index `i` of `shape`, where `offset` adds up
/// `strides[axis] · index[axis]`: a transpose when the strides are permuted, a broadcast when some
/// are 0.
@_specialize(where T == Float)
@_specialize(where T == Double)
func gatherKernel<T: TensorScalar>(
  _ x: UnsafeBufferPointer<T>, strides: [Int], into y: UnsafeMutableBufferPointer<T>, shape: [Int]
) {
  guard let last = shape.indices.last, x.count > 1 else {
    // One element repeated (a scalar's gradient spread over a sum's operand): a fill.
    if !y.isEmpty { y.initialize(repeating: x[0]) }
    return
  }
  let inner = shape[last]
  let step = strides[last]
  guard inner > 0, y.count > 0 else { return }
  var index = [Int](repeating: 0, count: last)
  var offset = 0
  var target = y.baseAddress!
  let source = x.baseAddress!
  while true {
    if step == 1 {
      target.update(from: source + offset, count: inner)
    } else {
      for i in 0..<inner { target[i] = source[offset + i * step] }
    }
    target += inner
    var axis = last - 1
    while axis >= 0 {
      index[axis] += 1
      offset += strides[axis]
      if index[axis] < shape[axis] { break }
      offset -= strides[axis] * shape[axis]
      index[axis] = 0
      axis -= 1
    }
    if axis < 0 { return }
  }
}

/// Copies blocks between a tensor viewed as `[outer, n, inner]` and one viewed as
/// `[outer, m, inner]`: for each `o`, `count` rows starting at `sourceRow` go to `targetRow`.
func copyRowsKernel<T: TensorScalar>(
  from x: UnsafeBufferPointer<T>, rows n: Int, startingAt sourceRow: Int,
  to y: UnsafeMutableBufferPointer<T>, rows m: Int, startingAt targetRow: Int,
  count: Int, outer: Int, inner: Int
) {
  let length = count * inner
  guard length > 0 else { return }
  for o in 0..<outer {
    (y.baseAddress! + (o * m + targetRow) * inner)
      .update(from: x.baseAddress! + (o * n + sourceRow) * inner, count: length)
  }
}
