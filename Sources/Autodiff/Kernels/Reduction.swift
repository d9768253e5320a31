internal import CElementwise

// Reductions along one axis of a tensor viewed as [outer, n, inner]: every reduction over a set
// of axes is a sequence of these, one per run of adjacent axes.

/// A reduction of a run of elements to one.
enum ReductionFunction {
  case sum, max, min
}

/// Reduces `x`, viewed as `[outer, n, inner]`, along its middle axis into `y` (`[outer, inner]`).
///
/// Large reductions run on several threads, split by output elements: each thread reduces its
/// own outputs (a range of `outer`, or of columns when `outer` is small, as for a bias gradient's
/// column sums), each in the same order as on one thread, so the bits do not depend on the
/// thread count.
@_specialize(where T == Float)
@_specialize(where T == Double)
func reduceKernel<T: TensorScalar>(
  _ function: ReductionFunction, _ x: UnsafeBufferPointer<T>,
  outer: Int, n: Int, inner: Int, into y: UnsafeMutableBufferPointer<T>
) {
  assert(x.count == outer * n * inner && y.count == outer * inner && n > 0)
  guard !y.isEmpty else { return }
  let (x, y) = (x.baseAddress!, y.baseAddress!)
  if inner > 1, n * inner >= 2 * elementwiseGrain {
    // Few, long slabs: split each slab's columns.
    for o in 0..<outer {
      forEachRange(count: inner, grain: max(64, elementwiseGrain / n)) { columns in
        reduceColumns(
          function, x + o * n * inner + columns.lowerBound, n: n, inner: inner,
          count: columns.count, into: y + o * inner + columns.lowerBound)
      }
    }
    return
  }
  forEachRange(count: outer, grain: max(1, elementwiseGrain / (n * inner)), alignment: 1) { range in
    for o in range {
      let (source, target) = (x + o * n * inner, y + o * inner)
      if inner == 1 {
        switch function {
        case .sum where n < 2 * LaneSums<T>.lanes:
          // What `sumKernel` adds for so few elements, without its setup: a run of a few
          // elements (a repeat's gradient) cost more to start than to add.
          target[0] = orderedSum(source, count: n)
        case .sum: target[0] = sumKernel(source, count: n)
        case .max: target[0] = T._extremum(source, count: n, maximum: true)
        case .min: target[0] = T._extremum(source, count: n, maximum: false)
        }
      } else {
        reduceColumns(function, source, n: n, inner: inner, count: inner, into: target)
      }
    }
  }
}

/// Reduces `count` columns of the `n×inner` row-major slab at `x` (the slab's first `count`
/// columns from `x`) into `y`, row after row.
@inline(__always)
private func reduceColumns<T: TensorScalar>(
  _ function: ReductionFunction, _ x: UnsafePointer<T>, n: Int, inner: Int, count: Int,
  into y: UnsafeMutablePointer<T>
) {
  guard function != .sum else {
    // The vectorized kernel (CElementwise): the same adds, in the same order, as `y[i] += row[i]`
    // row after row, in one call (a call per row cost more than its adds for short rows).
    return T._columnSum(x, rows: n, stride: inner, count: count, into: y)
  }
  T._columnExtremum(x, rows: n, stride: inner, count: count, into: y, maximum: function == .max)
}

/// Writes into `mask` (the shape of `x`) a 1 at the first element, in row-major order, of each
/// group of `x` equal to its group's value in `y`, and 0 elsewhere: the selector of `max`'s
/// gradient. `stridesY` reads `y` at `x`'s shape (0 along the reduced axes).
@_specialize(where T == Float)
@_specialize(where T == Double)
func firstMatchMaskKernel<T: TensorScalar>(
  _ x: UnsafeBufferPointer<T>, shape: [Int], _ y: UnsafeBufferPointer<T>, stridesY: [Int],
  into mask: UnsafeMutableBufferPointer<T>
) {
  mask.update(repeating: 0)
  guard !x.isEmpty else { return }
  // Reduced along the last axis alone, y one element per row: each row's first match found by a
  // scan (the first NaN when the row's value is NaN), rows split across threads.
  if let n = shape.last, n > 0, stridesY.last == 0,
    Array(stridesY.dropLast()) == Array(shape.dropLast()).rowMajorStrides
  {
    let rowCount = x.count / n
    let (x, y, mask) = (x.baseAddress!, y.baseAddress!, mask.baseAddress!)
    forEachRange(count: rowCount, grain: max(1, elementwiseGrain / n), alignment: 1) { rows in
      for row in rows {
        if let k = firstMatch(of: y[row], in: x + row * n, count: n) { mask[row * n + k] = 1 }
      }
    }
    return
  }
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

/// The position of the first of `count` contiguous elements equal to `value`, or of the first
/// NaN when `value` is NaN; `nil` when there is none.
@inline(__always)
private func firstMatch<T: TensorScalar>(
  of value: T, in run: UnsafePointer<T>, count: Int
) -> Int? {
  if value.isNaN {
    for k in 0..<count where run[k].isNaN { return k }
  } else {
    for k in 0..<count where run[k] == value { return k }
  }
  return nil
}

/// Replaces `x`, viewed as `[outer, n, inner]`, by its running sums along the middle axis: from
/// the first row when `reverse` is false, from the last when it is true.
///
/// The running totals are Doubles, each element rounded to `T` once, as PyTorch accumulates a
/// Float cumsum: a Float total was 3.5·10⁻⁵ off after 2²² elements, now within one rounding.
/// (For Double the sums are the same additions in the same order.)
@_specialize(where T == Float)
@_specialize(where T == Double)
func cumulativeSumKernel<T: TensorScalar>(
  _ x: UnsafeMutableBufferPointer<T>, outer: Int, n: Int, inner: Int, reverse: Bool
) {
  assert(x.count == outer * n * inner)
  guard n > 1, inner > 0, outer > 0 else { return }
  let x = x.baseAddress!
  // Each slab's totals are its own, so slabs split across threads without changing a bit.
  forEachRange(count: outer, grain: max(1, elementwiseGrain / (n * inner)), alignment: 1) { slabs in
    withUnsafeTemporaryAllocation(of: Double.self, capacity: inner) { totals in
      for o in slabs {
        let base = x + o * n * inner
        if inner == 1 {
          // One running total, kept in a register rather than in `totals`.
          var total = 0.0
          for step in 0..<n {
            let element = base + (reverse ? n - 1 - step : step)
            total += Double(element.pointee)
            element.pointee = T(total)
          }
          continue
        }
        for i in 0..<inner { totals[i] = 0 }
        for step in 0..<n {
          let row = base + (reverse ? n - 1 - step : step) * inner
          for i in 0..<inner {
            totals[i] += Double(row[i])
            row[i] = T(totals[i])
          }
        }
      }
    }
  }
}

/// The index along the middle axis of `x`, viewed as `[outer, n, inner]`, of the first maximum
/// (or minimum) of each of its `outer · inner` runs, in row-major order: NumPy's `argmax` and
/// `argmin`, where a NaN beats every number and the first NaN wins.
@_specialize(where T == Float)
@_specialize(where T == Double)
func extremumIndexKernel<T: TensorScalar>(
  _ x: UnsafeBufferPointer<T>, outer: Int, n: Int, inner: Int, maximum: Bool
) -> [Int] {
  assert(x.count == outer * n * inner && n > 0)
  var result = [Int](repeating: 0, count: outer * inner)
  if inner == 1 {
    // Contiguous runs: the extremum by the vectorized kernel, then the first element equal to
    // it (or the first NaN, when it is NaN), which is the element the loop below would keep.
    result.withUnsafeMutableBufferPointer { result in
      forEachRange(count: outer, grain: max(1, elementwiseGrain / n), alignment: 1) { runs in
        for o in runs {
          let run = x.baseAddress! + o * n
          result[o] = firstMatch(
            of: T._extremum(run, count: n, maximum: maximum), in: run, count: n)!
        }
      }
    }
    return result
  }
  for o in 0..<outer {
    for i in 0..<inner {
      let start = o * n * inner + i
      var best = x[start]
      var bestIndex = 0
      if !best.isNaN {
        for k in 1..<n {
          let value = x[start + k * inner]
          if value.isNaN || (maximum ? value > best : value < best) {
            (best, bestIndex) = (value, k)
            if value.isNaN { break }
          }
        }
      }
      result[o * inner + i] = bestIndex
    }
  }
  return result
}

/// The sum of `count` contiguous elements, as `Tensor.sum()` adds them (`package`: AutodiffNN's
/// losses sum their terms with it).
package func sumKernel<T: TensorScalar>(_ x: UnsafePointer<T>, count n: Int) -> T {
  chunkedSum(count: n) { chunk in
    laneSum(count: chunk.count, blockCount: chunk.count) { offset, _ in
      x + chunk.lowerBound + offset
    }
  }
}

/// `Σ a[i]·b[i]` over two buffers of one length (0 when empty), each product and sum in Double
/// (`b` may be `a`: the sum of squares), so that millions of Float products keep the small
/// ones. In chunks of ``sumChunkCount`` on the machine's threads, each summed in the C kernel's
/// fixed lanes, so the result is the same at any thread count. (`package`: AutodiffNN's
/// parameter lists measure their norms and inner products with it, and L-BFGS its vectors'.)
package func dotInDouble<T: TensorScalar>(
  _ a: UnsafeBufferPointer<T>, _ b: UnsafeBufferPointer<T>
) -> Double {
  assert(a.count == b.count)
  guard let first = a.baseAddress, let second = b.baseAddress else { return 0 }
  let kernel: DotInDouble<T> = T.pick(
    single: autodiff_dot_in_double_float as DotInDouble<Float>,
    double: autodiff_dot_in_double_double as DotInDouble<Double>)
  return chunkedSum(count: a.count) { chunk in
    kernel(first + chunk.lowerBound, second + chunk.lowerBound, chunk.count)
  }
}

private typealias DotInDouble<T> = (UnsafePointer<T>?, UnsafePointer<T>?, Int) -> Double

/// Elements per chunk of a long sum.
let sumChunkCount = 1 << 16

/// The sum of `count` elements as chunks of ``sumChunkCount`` elements, summed on the machine's
/// threads by `chunkSum` and then added pairwise.
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
    return pairwiseSum(base, count: chunks)
  }
}

/// The sum of `count` values `stride` apart from `base`, added pairwise in place: each value to
/// its neighbour, then each pair to the next pair, and so on (the chunks of a long sum).
func pairwiseSum<T: TensorScalar>(_ base: UnsafeMutablePointer<T>, count: Int, stride: Int = 1)
  -> T
{
  var step = 1
  while step < count {
    var i = 0
    while i + step < count {
      base[i * stride] += base[(i + step) * stride]
      i += 2 * step
    }
    step *= 2
  }
  return base[0]
}

/// The sum of `count` elements that `block` hands over in blocks of `blockCount` (a multiple
/// of 16) from the start, the last block possibly shorter; see `LaneSums`.
@inline(__always)
func laneSum<T: TensorScalar>(
  count n: Int, blockCount: Int, _ block: (_ offset: Int, _ count: Int) -> UnsafePointer<T>
) -> T {
  withUnsafeTemporaryAllocation(of: T.self, capacity: LaneSums<T>.scratchCount(sums: 1)) { memory in
    var sums = LaneSums(count: n, scratch: memory.baseAddress!, sums: 1)
    var offset = 0
    while offset < n {
      let count = Swift.min(blockCount, n - offset)
      sums.add(block(offset, count), count: count, to: 0)
      offset += count
    }
    return sums.total(0)
  }
}

/// Sums of `count` elements each, fed block by block: the same blocks for every sum, each a
/// multiple of 16 elements but the last.
///
/// One running sum would make every add wait for the previous one, and the compiler may not
/// reorder floating-point adds to vectorize it. So sixteen partial sums run side by side (lane j
/// adds elements j, j + 16, j + 32, …, in one vector register), for a run of 16 of their
/// elements each; each run's lanes are then added pairwise and the run's sum joins a cascade of
/// pairwise sums (the C kernel `autodiff_add_lanes`). At the end the last partial run, the
/// cascade and the last count mod 16 elements are added; fewer than 32 elements are added one by
/// one. The order depends only on the elements' positions, so the result is the same on every
/// run and however the elements are blocked, and an element meets about log₂(count) adds rather
/// than count/16: a million Floats 10⁴ + u, u uniform in [0, 0.01), sum to within one unit in
/// the last place, where lanes that each ran through 4,096 elements were five off.
struct LaneSums<T: TensorScalar> {
  static var lanes: Int { 16 }
  /// A sum's state: its running lanes, the number of groups added, the cascade's levels.
  static var stateCount: Int { 2 * lanes }

  /// The scratch elements for `sums` sums: each one's state, then each one's result.
  static func scratchCount(sums: Int) -> Int { (stateCount + 1) * sums }

  let count: Int
  private let states: UnsafeMutablePointer<T>
  private let results: UnsafeMutablePointer<T>
  /// Whether the last block, shorter than a group, has been added: the results are final.
  private var finished = false

  init(count: Int, scratch: UnsafeMutablePointer<T>, sums: Int) {
    // The 15 levels hold up to 2¹⁵ − 1 runs of 256 elements; a sum is cut into chunks of
    // `sumChunkCount` long before that.
    precondition(count <= 1 << 22, "LaneSums: \(count) elements")
    self.count = count
    states = scratch
    results = scratch + Self.stateCount * sums
    for k in 0..<sums {
      // −0 + v is v for every v, so the lanes start with their first elements exactly.
      (states + Self.stateCount * k).update(repeating: -0.0, count: Self.lanes)
      states[Self.stateCount * k + Self.lanes] = 0
    }
  }

  /// Adds the block `x` of `n` elements to sum `k`.
  mutating func add(_ x: UnsafePointer<T>, count n: Int, to k: Int) {
    guard count >= 2 * Self.lanes else {
      // One block holds them all.
      results[k] = orderedSum(x, count: n)
      finished = true
      return
    }
    let groups = n / Self.lanes
    T._addLanes(x, groups: groups, into: states + Self.stateCount * k)
    let rest = n - groups * Self.lanes
    if rest > 0 {
      var total = T._lanesTotal(states + Self.stateCount * k)
      for element in UnsafeBufferPointer(start: x + groups * Self.lanes, count: rest) {
        total += element
      }
      results[k] = total
      finished = true
    }
  }

  /// Sum `k`, once every block has been added.
  func total(_ k: Int) -> T {
    finished ? results[k] : T._lanesTotal(states + Self.stateCount * k)
  }
}

/// `x[0] + x[1] + … + x[n − 1]`, added one by one in that order (n ≥ 1): what the lane sums
/// give for fewer elements than two rows of lanes, and so their bits.
@inline(__always)
func orderedSum<T: TensorScalar>(_ x: UnsafePointer<T>, count n: Int) -> T {
  var total = x[0]
  for i in 1..<n { total += x[i] }
  return total
}
