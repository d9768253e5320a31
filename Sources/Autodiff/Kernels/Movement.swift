// Copies that move elements: strided gathers (transpose, broadcast, indexing) and their
// scatters, the block copies of slicing and concatenation, the row gathers of
// `gathering(atIndices:alongAxis:)` with their scatter-adds, and conversions of precision.

/// Writes `y[i] = x[origin + offset(i)]` for every row-major index `i` of `shape`, where `offset`
/// adds up `strides[axis] · index[axis]`: a transpose when the strides are permuted, a broadcast
/// when some are 0, a reversal when some are negative (from an `origin` at the axis's far end).
@_specialize(where T == Float)
@_specialize(where T == Double)
func gatherKernel<T: TensorScalar>(
  _ x: UnsafeBufferPointer<T>, startingAt origin: Int = 0, strides: [Int],
  into y: UnsafeMutableBufferPointer<T>, shape: [Int]
) {
  guard let last = shape.indices.last, x.count > 1 else {
    // One element repeated (a scalar's gradient spread over a sum's operand): a fill.
    if !y.isEmpty { y.initialize(repeating: x[origin]) }
    return
  }
  let inner = shape[last]
  let step = strides[last]
  guard inner > 0, y.count > 0 else { return }
  let (source, target) = (x.baseAddress! + origin, y.baseAddress!)
  if last >= 1, strides[last - 1] == 1, step > 1, shape[last - 1] > 1 {
    return transposeTiles(source, strides: strides, into: target, shape: shape)
  }
  if last >= 1, strides[last - 1] == 1, step == 0, inner < 16 {
    // Each element of a contiguous run repeated `inner` times in place (a repeat along the last
    // axis, a column broadcast to a few columns): the last two axes as one row, since a row of
    // a few elements costs more to start than to write.
    let run = shape[last - 1]
    let rowLength = run * inner
    forEachRow(
      of: Array(shape.dropLast()), strides: Array(strides.dropLast()), splittingRowsOf: rowLength
    ) { row, offset, _ in
      let (from, to) = (source + offset, target + row * rowLength)
      if inner == 2 {
        // The commonest count, with a constant stride: the stores vectorize.
        for j in 0..<run {
          let value = from[j]
          to[2 * j] = value
          to[2 * j + 1] = value
        }
      } else {
        for j in 0..<run {
          let value = from[j]
          for k in 0..<inner { to[j * inner + k] = value }
        }
      }
    }
    return
  }
  // Split by rows across threads when large: a transpose (strided reads, bound by latency) from
  // `elementwiseGrain` elements, a copy of contiguous rows (a broadcast, a slice) only from
  // `copyGrain`, where threads gain bandwidth rather than share it.
  let grain = step == 1 ? copyGrain : elementwiseGrain
  forEachRow(of: shape, strides: strides, splittingRowsOf: inner, grain: grain) {
    row, offset, _ in
    let (from, to) = (source + offset, target + row * inner)
    if step == 1 {
      to.update(from: from, count: inner)
    } else {
      for i in 0..<inner { to[i] = from[i * step] }
    }
  }
}

/// `gatherKernel` where the last two axes of `shape` read the source transposed (the second
/// to last with stride 1, the last with a larger one), tile by tile: 32 source runs of 32
/// contiguous elements into a buffer, then 32 target runs out of it. Element by element, one of
/// the two sides steps a whole row between elements, and where rows lie a power of two apart
/// those lines share a few cache sets and evict each other before their next element is used.
/// Tiles of rows split across threads.
private func transposeTiles<T>(
  _ source: UnsafePointer<T>, strides: [Int], into target: UnsafeMutablePointer<T>, shape: [Int]
) {
  let tile = 32
  let last = shape.count - 1
  let (rows, columns, step) = (shape[last - 1], shape[last], strides[last])
  let matrices = shape[..<(last - 1)].reduce(1, *)
  let rowTiles = (rows + tile - 1) / tile
  forEachRange(
    count: matrices * rowTiles, grain: max(1, elementwiseGrain / (tile * columns)), alignment: 1
  ) { tasks in
    withUnsafeTemporaryAllocation(of: T.self, capacity: tile * tile) { buffer in
      let buffer = buffer.baseAddress!
      for task in tasks {
        let (matrix, rowTile) = task.quotientAndRemainder(dividingBy: rowTiles)
        // The matrix's offset in the source: its index along each outer axis times that stride.
        var (offset, remainder) = (0, matrix)
        for axis in (0..<(last - 1)).reversed() {
          offset += remainder % shape[axis] * strides[axis]
          remainder /= shape[axis]
        }
        let firstRow = rowTile * tile
        let height = min(tile, rows - firstRow)
        let (from, to) = (source + offset + firstRow, target + (matrix * rows + firstRow) * columns)
        for firstColumn in stride(from: 0, to: columns, by: tile) {
          let width = min(tile, columns - firstColumn)
          // buffer[c][r] = target[r][firstColumn + c]: each a contiguous run of the source.
          for c in 0..<width {
            (buffer + c * tile).initialize(from: from + (firstColumn + c) * step, count: height)
          }
          for r in 0..<height {
            let targetRow = to + r * columns + firstColumn
            for c in 0..<width { targetRow[c] = buffer[c * tile + r] }
          }
        }
      }
    }
  }
}

/// Copies blocks between a tensor viewed as `[outer, n, inner]` and one viewed as
/// `[outer, m, inner]`: for each `o`, `count` rows starting at `sourceRow` go to `targetRow`.
///
/// Large copies run on several threads (one core does not reach the memory's bandwidth): the
/// blocks are split between them when there are enough, else each block is split into ranges.
func copyRowsKernel<T: TensorScalar>(
  from x: UnsafeBufferPointer<T>, rows n: Int, startingAt sourceRow: Int,
  to y: UnsafeMutableBufferPointer<T>, rows m: Int, startingAt targetRow: Int,
  count: Int, outer: Int, inner: Int
) {
  let length = count * inner
  guard length > 0, outer > 0 else { return }
  let (source, target) = (x.baseAddress!, y.baseAddress!)
  if outer >= Parallelism.threadCount || length < copyGrain {
    forEachRange(count: outer, grain: max(1, copyGrain / length), alignment: 1) { blocks in
      for o in blocks {
        (target + (o * m + targetRow) * inner)
          .update(from: source + (o * n + sourceRow) * inner, count: length)
      }
    }
  } else {
    for o in 0..<outer {
      let (from, to) = (source + (o * n + sourceRow) * inner, target + (o * m + targetRow) * inner)
      forEachRange(count: length, grain: copyGrain) { range in
        (to + range.lowerBound).update(from: from + range.lowerBound, count: range.count)
      }
    }
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
  let (source, target) = (x.baseAddress!, y.baseAddress!)
  // Rows write disjoint positions of `y`, so they split across threads when large.
  forEachRow(of: shape, strides: strides, splittingRowsOf: inner, grain: copyGrain) {
    row, offset, _ in
    let (from, to) = (source + row * inner, target + offset)
    if step == 1 {
      to.update(from: from, count: inner)
    } else {
      for i in 0..<inner { to[i * step] = from[i] }
    }
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
  // Each of the outer·k rows written is one copy; they split across threads when large.
  indices.withUnsafeBufferPointer { indices in
    forEachRange(count: outer * k, grain: max(1, copyGrain / inner), alignment: 1) {
      rows in
      // The first row's (o, j), then a counter: no division per row.
      var (o, j) = rows.lowerBound.quotientAndRemainder(dividingBy: k)
      for written in rows {
        (target + written * inner).update(from: source + (o * n + indices[j]) * inner, count: inner)
        j += 1
        if j == k { (o, j) = (o + 1, 0) }
      }
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

/// Writes `y[i] = x[i]` converted to `Target`'s precision (Float to Double exactly, Double to
/// Float to nearest, ties to even, as `Float(_:)`), vectorized and split across threads when
/// long. (The generic `Target(x[i])` went through the standard library's generic conversion: 24
/// ns an element.)
func convertKernel<Source: TensorScalar, Target: TensorScalar>(
  _ x: UnsafeBufferPointer<Source>, into y: UnsafeMutableBufferPointer<Target>
) {
  assert(x.count == y.count)
  guard let source = x.baseAddress, let target = y.baseAddress else { return }
  let (from, to) = (UnsafeRawPointer(source), UnsafeMutableRawPointer(target))
  forEachRange(count: x.count, grain: elementwiseGrain) { range in
    if Source.self == Float.self, Target.self == Double.self {
      let (x, y) = (
        from.assumingMemoryBound(to: Float.self), to.assumingMemoryBound(to: Double.self)
      )
      for i in range { y[i] = Double(x[i]) }
    } else if Source.self == Double.self, Target.self == Float.self {
      let (x, y) = (
        from.assumingMemoryBound(to: Double.self), to.assumingMemoryBound(to: Float.self)
      )
      for i in range { y[i] = Float(x[i]) }
    } else {
      for i in range { target[i] = Target(source[i]) }
    }
  }
}

/// `shape` and `strides` without the axes of extent 1, and with each two adjacent axes that step
/// as one (`strides[a] == strides[a + 1] · shape[a + 1]`) merged into one: the same positions in
/// the same order, in fewer and longer rows for `gatherKernel` to copy. Empty when every extent
/// is 1.
func coalesced(shape: [Int], strides: [Int]) -> (shape: [Int], strides: [Int]) {
  var result: (shape: [Int], strides: [Int]) = ([], [])
  for (extent, stride) in zip(shape, strides) where extent != 1 {
    if let outer = result.shape.last, result.strides[result.strides.count - 1] == stride * extent {
      result.shape[result.shape.count - 1] = outer * extent
      result.strides[result.strides.count - 1] = stride
    } else {
      result.shape.append(extent)
      result.strides.append(stride)
    }
  }
  return result
}
