// Copies that move elements: strided gathers (transpose, broadcast, indexing) and their
// scatters, the block copies of slicing and concatenation, and the row gathers of
// `gathering(atIndices:alongAxis:)` with their scatter-adds.

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
  let (source, target) = (x.baseAddress!, y.baseAddress!)
  // Split by rows across threads when large: a transpose or a broadcast of a batch.
  forEachRow(of: shape, strides: strides, splittingRowsOf: inner) { row, offset, _ in
    let (from, to) = (source + offset, target + row * inner)
    if step == 1 {
      to.update(from: from, count: inner)
    } else {
      for i in 0..<inner { to[i] = from[i * step] }
    }
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

/// Writes `y[offset(i)] = x[i]` for every row-major index `i` of `shape`, where `offset` adds up
/// `strides[axis] · index[axis]`: the inverse of `gatherKernel`, writing a contiguous block into
/// a strided region of `y` (an indexed assignment, an indexing pullback). No stride is 0, so no
/// position of `y` is written twice.
@_specialize(where T == Float)
@_specialize(where T == Double)
func scatterKernel<T: TensorScalar>(
  _ x: UnsafeBufferPointer<T>, into y: UnsafeMutableBufferPointer<T>, strides: [Int], shape: [Int]
) {
  guard let last = shape.indices.last else {
    if !x.isEmpty { y[0] = x[0] }
    return
  }
  let inner = shape[last]
  let step = strides[last]
  guard inner > 0, x.count > 0 else { return }
  var index = [Int](repeating: 0, count: last)
  var offset = 0
  var source = x.baseAddress!
  let target = y.baseAddress!
  while true {
    if step == 1 {
      (target + offset).update(from: source, count: inner)
    } else {
      for i in 0..<inner { target[offset + i * step] = source[i] }
    }
    source += inner
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

/// Gathers rows between a tensor `x` viewed as `[outer, n, inner]` and `y` viewed as
/// `[outer, indices.count, inner]`: `y[o, j, :] = x[o, indices[j], :]`, one block copy of
/// `inner` elements per row, so a gather runs at the speed of memory (Gather benchmark).
///
/// - Precondition: Every index is in `0..<n` (checked by the caller).
@_specialize(where T == Float)
@_specialize(where T == Double)
func gatherRowsKernel<T: TensorScalar>(
  from x: UnsafeBufferPointer<T>, rows n: Int, indices: [Int],
  to y: UnsafeMutableBufferPointer<T>, outer: Int, inner: Int
) {
  guard inner > 0, !indices.isEmpty, outer > 0 else { return }
  let (source, target) = (x.baseAddress!, y.baseAddress!)
  let k = indices.count
  for o in 0..<outer {
    for (j, row) in indices.enumerated() {
      (target + (o * k + j) * inner).update(from: source + (o * n + row) * inner, count: inner)
    }
  }
}

/// The transpose of `gatherRowsKernel`: `y[o, indices[j], :] += g[o, j, :]` for `g` viewed as
/// `[outer, indices.count, inner]` and `y` as `[outer, n, inner]`, so that rows gathered more
/// than once receive the sum of their gradients.
///
/// - Precondition: Every index is in `0..<n` (checked by the caller).
@_specialize(where T == Float)
@_specialize(where T == Double)
func scatterAddRowsKernel<T: TensorScalar>(
  from g: UnsafeBufferPointer<T>, indices: [Int], into y: UnsafeMutableBufferPointer<T>,
  rows n: Int, outer: Int, inner: Int
) {
  guard inner > 0, !indices.isEmpty, outer > 0 else { return }
  let (source, target) = (g.baseAddress!, y.baseAddress!)
  let k = indices.count
  for o in 0..<outer {
    for (j, row) in indices.enumerated() {
      let from = source + (o * k + j) * inner
      let to = target + (o * n + row) * inner
      for i in 0..<inner { to[i] += from[i] }
    }
  }
}
