internal import CElementwise

// Reductions along one axis of a tensor viewed as [outer, n, inner]: every reduction over a set
// of axes is a sequence of these, one per run of adjacent axes.

/// A reduction of a run of elements to one.
enum ReductionFunction {
  case sum, max
}

/// Reduces `x`, viewed as `[outer, n, inner]`, along its middle axis into `y` (`[outer, inner]`).
@_specialize(where T == Float)
@_specialize(where T == Double)
func reduceKernel<T: TensorScalar>(
  _ function: ReductionFunction, _ x: UnsafeBufferPointer<T>,
  outer: Int, n: Int, inner: Int, into y: UnsafeMutableBufferPointer<T>
) {
  assert(x.count == outer * n * inner && y.count == outer * inner && n > 0)
  for o in 0..<outer {
    let source = x.baseAddress! + o * n * inner
    let target = y.baseAddress! + o * inner
    if inner == 1 {
      switch function {
      case .sum: target[0] = sumKernel(source, count: n)
      case .max:
        var accumulator = source[0]
        for k in 1..<n where source[k] > accumulator || source[k].isNaN { accumulator = source[k] }
        target[0] = accumulator
      }
      continue
    }
    target.update(from: source, count: inner)
    for k in 1..<n {
      let row = source + k * inner
      switch function {
      case .sum: for i in 0..<inner { target[i] += row[i] }
      case .max: for i in 0..<inner where row[i] > target[i] || row[i].isNaN { target[i] = row[i] }
      }
    }
  }
}

/// Writes into `mask` (the shape of `x`) a 1 at the first element, in row-major order, of each
/// group of `x` equal to its group's value in `y`, and 0 elsewhere: the selector of `max`'s
/// gradient. `stridesY` reads `y` at `x`'s shape (0 along the reduced axes).
func firstMatchMaskKernel<T: TensorScalar>(
  _ x: UnsafeBufferPointer<T>, shape: [Int], _ y: UnsafeBufferPointer<T>, stridesY: [Int],
  into mask: UnsafeMutableBufferPointer<T>
) {
  mask.update(repeating: 0)
  var taken = [Bool](repeating: false, count: y.count)
  var index = [Int](repeating: 0, count: shape.count)
  var offset = 0
  for position in 0..<x.count {
    if !taken[offset] && (x[position] == y[offset] || (x[position].isNaN && y[offset].isNaN)) {
      taken[offset] = true
      mask[position] = 1
    }
    var axis = shape.count - 1
    while axis >= 0 {
      index[axis] += 1
      offset += stridesY[axis]
      if index[axis] < shape[axis] { break }
      offset -= stridesY[axis] * shape[axis]
      index[axis] = 0
      axis -= 1
    }
  }
}

/// The sum of `count` contiguous elements.
func sumKernel<T: TensorScalar>(_ x: UnsafePointer<T>, count n: Int) -> T {
  chunkedSum(count: n) { chunk in
    laneSum(count: chunk.count, blockCount: chunk.count) { offset, _ in x + chunk.lowerBound + offset }
  }
}

/// Elements per chunk of a long sum.
let sumChunkCount = 1 << 16

/// The sum of `count` elements as chunks of ``sumChunkCount`` elements, summed on the machine's
/// threads by `chunkSum` and then added in order.
///
/// The chunks are the same however many threads there are, so the result does not depend on the
/// thread count; a sum of at most one chunk is `chunkSum` of it, on this thread.
@inline(__always)
func chunkedSum<T: TensorScalar>(count n: Int, _ chunkSum: (Range<Int>) -> T) -> T {
  guard n > sumChunkCount else { return chunkSum(0..<n) }
  let chunks = (n + sumChunkCount - 1) / sumChunkCount
  return withUnsafeTemporaryAllocation(of: T.self, capacity: chunks) { sums in
    let base = sums.baseAddress!
    forEachRange(count: chunks, grain: 1, alignment: 1) { range in
      for chunk in range {
        base[chunk] = chunkSum(chunk * sumChunkCount..<Swift.min(n, (chunk + 1) * sumChunkCount))
      }
    }
    var total = base[0]
    for chunk in 1..<chunks { total += base[chunk] }
    return total
  }
}

/// The sum of `count` elements that `block` hands over in blocks of `blockCount` (a multiple
/// of 16) from the start, the last block possibly shorter.
///
/// One running sum would make every add wait for the previous one, and the compiler may not
/// reorder floating-point adds to vectorize it. So sixteen partial sums run side by side (lane j
/// adds elements j, j + 16, j + 32, …; the compiler keeps them in vector registers) and are added
/// at the end, then the last count mod 16 elements: the order is fixed, so the result is the
/// same on every run and however the elements are blocked, and the rounding error grows with
/// count/16 rather than count.
@inline(__always)
func laneSum<T: TensorScalar>(
  count n: Int, blockCount: Int, _ block: (_ offset: Int, _ count: Int) -> UnsafePointer<T>
) -> T {
  let lanes = 16
  assert(blockCount % lanes == 0 || blockCount >= n)
  guard n >= 2 * lanes else {
    let x = block(0, n)
    var total = x[0]
    for k in 1..<n { total += x[k] }
    return total
  }
  return withUnsafeTemporaryAllocation(of: T.self, capacity: lanes) { partial in
    // −0 + v is v for every v, so the lanes start with the first sixteen elements exactly.
    partial.initialize(repeating: -0.0)
    func total(adding tail: UnsafePointer<T>, count: Int) -> T {
      var total = partial[0]
      for j in 1..<lanes { total += partial[j] }
      for k in 0..<count { total += tail[k] }
      return total
    }
    var offset = 0
    while offset < n {
      let count = Swift.min(blockCount, n - offset)
      let x = block(offset, count)
      let k = count / lanes * lanes
      addLanes(x, groups: count / lanes, into: partial.baseAddress!)
      // Only the last block can end with a partial group.
      if k < count { return total(adding: x + k, count: count - k) }
      offset += count
    }
    return total(adding: partial.baseAddress!, count: 0)
  }
}

/// partial[j] += x[16g + j] for g < groups and j < 16, in the C kernel for the CPU's vectors.
@inline(__always)
private func addLanes<T: TensorScalar>(
  _ x: UnsafePointer<T>, groups: Int, into partial: UnsafeMutablePointer<T>
) {
  let (source, target) = (UnsafeRawPointer(x), UnsafeMutableRawPointer(partial))
  if T.self == Float.self {
    autodiff_add_lanes_float(
      source.assumingMemoryBound(to: Float.self), groups, target.assumingMemoryBound(to: Float.self))
  } else if T.self == Double.self {
    autodiff_add_lanes_double(
      source.assumingMemoryBound(to: Double.self), groups,
      target.assumingMemoryBound(to: Double.self))
  } else {
    preconditionFailure("sum kernels exist for Float and Double, not \(T._name)")
  }
}
