// On `@_specialize`, see the Performance article in Documentation.docc.

// Sorting along an axis, and the k largest or smallest elements: PyTorch's `sort` (stable) and
// `topk`. The order is found on the values; the values are then gathered by their flat
// positions (the `gather` operation), so their gradient goes back to the elements they came
// from, and forward mode and second derivatives go through the gather. Indices are not
// differentiable and are Swift integers, as `argmax`'s.

extension Tensor {
  /// The elements of each run along `axis` in ascending (or descending) order, and the index
  /// along `axis` each came from: PyTorch's `sort(stable=True)`, NumPy's `sort` and `argsort`
  /// (kind `"stable"`).
  ///
  /// ```swift
  /// let x = Tensor<Double>([[3, 1, 2], [0, 5, 5]])
  /// let (values, indices) = x.sorted()      // [[1, 2, 3], [0, 5, 5]], [1, 2, 0, 0, 1, 2]
  /// x.sorted(descending: true).values        // [[3, 2, 1], [5, 5, 0]]
  /// ```
  ///
  /// Equal elements keep their order, in both directions. A NaN sorts above every number (last
  /// in ascending order, first in descending), as in PyTorch and NumPy, NaNs in their order.
  /// The gradient of the values goes to the elements they came from.
  ///
  /// - Parameters:
  ///   - axis: The axis to sort along (default the last); negative axes count from the end.
  ///   - descending: Whether the largest come first.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: The sorted values, of the tensor's shape, and for each of them its index along
  ///   `axis`, in row-major order of the values.
  /// - Precondition: `rank ≥ 1` and `axis` is in `-rank..<rank`.
  /// - Complexity: O(n log n) for each run of n elements.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sorted(
    alongAxis axis: Int = -1, descending: Bool = false, file: StaticString = #fileID,
    line: UInt = #line
  ) -> (values: Tensor, indices: [Int]) {
    let location = SourceLocation(file: file, line: line)
    check(rank >= 1, "sorted(alongAxis:): a scalar has no axis to sort along", at: location)
    let axis = normalized([axis], "sorted(alongAxis:)", at: location)[0]
    return ordered(alongAxis: axis, first: shape[axis], largest: descending, at: location)
  }

  /// The `k` largest (or smallest) elements of each run along `axis`, largest (smallest)
  /// first, and the index along `axis` each came from: PyTorch's `topk`, JAX's `lax.top_k`.
  ///
  /// ```swift
  /// let scores = Tensor<Float>([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]])
  /// let (best, classes) = scores.topK(2)    // [[0.7, 0.2], [0.5, 0.4]], [1, 2, 0, 2]
  /// ```
  ///
  /// Of equal elements the first along `axis` comes first; a NaN counts as the largest, as in
  /// PyTorch. The gradient of the values goes to the elements they came from, and the other
  /// elements get 0.
  ///
  /// - Parameters:
  ///   - k: How many to keep from each run, in `0...shape[axis]`.
  ///   - axis: The axis to search along (default the last); negative axes count from the end.
  ///   - largest: Whether to keep the largest (the default) or the smallest.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: The values, of the tensor's shape with `k` along `axis`, and for each of them
  ///   its index along `axis`, in row-major order of the values.
  /// - Precondition: `rank ≥ 1`, `axis` is in `-rank..<rank`, and `0 ≤ k ≤ shape[axis]`.
  /// - Complexity: O(n log n) for each run of n elements.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func topK(
    _ k: Int, alongAxis axis: Int = -1, largest: Bool = true, file: StaticString = #fileID,
    line: UInt = #line
  ) -> (values: Tensor, indices: [Int]) {
    let location = SourceLocation(file: file, line: line)
    check(rank >= 1, "topK: a scalar has no axis to search along", at: location)
    let axis = normalized([axis], "topK", at: location)[0]
    check(
      k >= 0 && k <= shape[axis],
      "topK: k = \(k) is out of range 0...\(shape[axis]) for axis \(axis) of shape "
        + shape.shapeDescription, at: location)
    return ordered(alongAxis: axis, first: k, largest: largest, at: location)
  }

  /// The first `count` elements of each run along `axis` in the order that puts the largest
  /// (or the smallest) first, ties in index order, NaN above every number; with their indices.
  private func ordered(
    alongAxis axis: Int, first count: Int, largest: Bool, at location: SourceLocation
  ) -> (values: Tensor, indices: [Int]) {
    let (outer, n, inner) = (
      shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *)
    )
    var resultShape = shape
    resultShape[axis] = count
    var indices = [Int](repeating: 0, count: outer * count * inner)
    var positions = [Int](repeating: 0, count: indices.count)
    // The buffers are written through pointers, with no closure capturing a variable: the
    // dynamic exclusivity checks of such captures took a third of the time.
    indices.withUnsafeMutableBufferPointer { indices in
      positions.withUnsafeMutableBufferPointer { positions in
        withUnsafeBufferPointer { x in
          // The runs on several threads when there are enough elements: each is sorted on its
          // own, so the result does not depend on the thread count.
          let runsPerPart = Swift.max(1, (1 << 14) / Swift.max(n, 1))
          forEachRange(count: outer * inner, grain: runsPerPart, alignment: 1) { runs in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: n) { order in
              for run in runs {
                let (o, i) = run.quotientAndRemainder(dividingBy: inner)
                let base = o * n * inner + i
                sortRun(x, base: base, stride: inner, count: n, largest: largest, into: order)
                for p in 0..<count {
                  let slot = (o * count + p) * inner + i
                  indices[slot] = order[p]
                  positions[slot] = base + order[p] * inner
                }
              }
            }
          }
        }
      }
    }
    // The positions are in range by construction: `gathered`, without `gathering(atIndices:)`'s
    // check and normalized copy of a million indices.
    let values = reshaped(to: [scalarCount], file: location.file, line: location.line)
      .gathered(positions, alongAxis: 0, at: location)
      .reshaped(to: resultShape, file: location.file, line: location.line)
    return (values, indices)
  }
}

/// Writes into `order` the indices `0..<count` of the run `x[base + j·stride]`, sorted
/// ascending or largest first, ties in index order, NaN above every number.
private func sortRun<Scalar: TensorScalar>(
  _ x: UnsafeBufferPointer<Scalar>, base: Int, stride: Int, count: Int, largest: Bool,
  into order: UnsafeMutableBufferPointer<Int>
) {
  if MemoryLayout<Scalar>.size == 4 && count <= Int(UInt32.max) {
    // A Float's 32-bit key above its index is one integer, sorted by its key in four stable
    // passes of a radix sort (runs of 1,024 took a sixth of the standard library's sort).
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * count) { buffer in
      var run = UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
      for j in 0..<count {
        run[j] =
          UInt64(sortKey(Float(x[base + j * stride]), largestFirst: largest)) << 32 | UInt64(j)
      }
      if count < 64 {
        run.sort()
      } else {
        radixSortByKey(run, scratch: UnsafeMutableBufferPointer(rebasing: buffer[count...]))
      }
      for p in 0..<count { order[p] = Int(run[p] & 0xFFFF_FFFF) }
    }
  } else {
    var run = (0..<count).map { j in
      (key: sortKey(Double(x[base + j * stride]), largestFirst: largest), index: j)
    }
    // Keys, then indices: a total order, so the sort is stable whatever its method.
    run.sort { $0.key != $1.key ? $0.key < $1.key : $0.index < $1.index }
    for p in 0..<count { order[p] = run[p].index }
  }
}

/// Sorts `values`, each a 32-bit key above a 32-bit index, by their keys: a least significant
/// digit radix sort, one stable pass through `scratch` (as large) per byte of the key, a pass
/// skipped where every key has the same byte. Equal keys keep their order.
private func radixSortByKey(
  _ values: UnsafeMutableBufferPointer<UInt64>, scratch: UnsafeMutableBufferPointer<UInt64>
) {
  var (source, destination) = (values, scratch)
  withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { starts in
    for shift in stride(from: UInt64(32), to: 64, by: 8) {
      starts.update(repeating: 0)
      for value in source { starts[Int(truncatingIfNeeded: value >> shift) & 0xFF] += 1 }
      if starts[Int(truncatingIfNeeded: source[0] >> shift) & 0xFF] == source.count { continue }
      var total = 0
      for digit in 0..<256 { (starts[digit], total) = (total, total + starts[digit]) }
      for value in source {
        let digit = Int(truncatingIfNeeded: value >> shift) & 0xFF
        destination[starts[digit]] = value
        starts[digit] += 1
      }
      swap(&source, &destination)
    }
  }
  if source.baseAddress != values.baseAddress { _ = values.update(fromContentsOf: source) }
}

/// An integer whose order is `value`'s, ascending or with the largest first: its bits with the
/// sign bit flipped for a positive number and all bits flipped for a negative one, −0 as +0,
/// and every NaN above every number.
@inline(__always)
private func sortKey(_ value: Double, largestFirst: Bool) -> UInt64 {
  sortKey(bits: value.bitPattern, isNaN: value.isNaN, isZero: value == 0, largestFirst)
}

/// The `Float` form of `sortKey(_:largestFirst:)`, in 32 bits.
@inline(__always)
private func sortKey(_ value: Float, largestFirst: Bool) -> UInt32 {
  sortKey(bits: value.bitPattern, isNaN: value.isNaN, isZero: value == 0, largestFirst)
}

/// The key of an IEEE value from its bit pattern.
@inline(__always)
private func sortKey<Bits: FixedWidthInteger & UnsignedInteger>(
  bits: Bits, isNaN: Bool, isZero: Bool, _ largestFirst: Bool
) -> Bits {
  let signBit: Bits = 1 << (Bits.bitWidth - 1)
  let bits = isZero ? 0 : bits
  let key = isNaN ? .max : bits & signBit != 0 ? ~bits : bits | signBit
  return largestFirst ? ~key : key
}
