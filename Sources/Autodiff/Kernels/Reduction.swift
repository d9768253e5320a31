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
///
/// One running sum would make every add wait for the previous one, and the compiler may not
/// reorder floating-point adds to vectorize it. So sixteen partial sums run side by side (lane j
/// adds elements j, j + 16, j + 32, …; the compiler keeps them in vector registers) and are added
/// at the end: the order is fixed, so the result is the same on every run, and the rounding
/// error grows with count/16 rather than count.
@inline(__always)
private func sumKernel<T: TensorScalar>(_ x: UnsafePointer<T>, count n: Int) -> T {
  let lanes = 16
  guard n >= 2 * lanes else {
    var total = x[0]
    for k in 1..<n { total += x[k] }
    return total
  }
  return withUnsafeTemporaryAllocation(of: T.self, capacity: lanes) { partial in
    for j in 0..<lanes { partial[j] = x[j] }
    var k = lanes
    while k + lanes <= n {
      for j in 0..<lanes { partial[j] += x[k + j] }
      k += lanes
    }
    var total = partial[0]
    for j in 1..<lanes { total += partial[j] }
    while k < n {
      total += x[k]
      k += 1
    }
    return total
  }
}
