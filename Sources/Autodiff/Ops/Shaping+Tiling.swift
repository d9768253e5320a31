// On `@_specialize`, see the Performance article in Documentation.docc.

// Reversing, tiling, repeating and padding: NumPy's `flip`, `tile`, `repeat` and `pad`.
//
// - A flip is one strided copy that reads the flipped axes backwards: the operation `flip`,
//   which is its own inverse and its own adjoint.
// - A tile and a repeat are broadcasts. Tiling `[s₀, s₁]` by `[r₀, r₁]` broadcasts the view
//   `[1, s₀, 1, s₁]` to `[r₀, s₀, r₁, s₁]` and reads it as `[r₀·s₀, r₁·s₁]`; repeating each
//   slice along axis a broadcasts a new axis of extent 1 after a. So they are `reshape`,
//   `expand`, `reshape` on the tape, and their pullback sums the copies back, as a broadcast's
//   does. Repeats of different counts per slice gather each slice as often as asked (the
//   operation `gather`, whose pullback adds the copies back).
// - A pad fills a larger tensor and writes the tensor into it: the operation `pad`, whose
//   pullback slices the padding off (`index`) and whose tangent pads the tangent with zeros
//   (`embed`).

extension Tensor {
  /// The tensor with the order of its elements reversed along each of `axes`: NumPy's `flip`,
  /// PyTorch's `flip`.
  ///
  /// ```swift
  /// let x = Tensor<Float>([[1, 2, 3], [4, 5, 6]])
  /// print(x.flipped(alongAxes: [1]))
  /// // [[3.0, 2.0, 1.0],
  /// //  [6.0, 5.0, 4.0]]
  /// print(x.flipped(alongAxes: [0, -1]))
  /// // [[6.0, 5.0, 4.0],
  /// //  [3.0, 2.0, 1.0]]
  /// ```
  ///
  /// A flip is its own inverse and its own adjoint: ∂/∂x = g flipped along the same axes, and
  /// the tangent is the operand's tangent flipped.
  ///
  /// - Parameters:
  ///   - axes: The axes to reverse; negative axes count from the end. `[]` reverses none.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: A tensor of `self`'s shape.
  /// - Precondition: Each axis is in `-rank..<rank`, and no axis is named twice (`[1, -1]` of
  ///   a matrix names axis 1 twice), as NumPy requires.
  /// - Complexity: O(n) for n elements, in one pass: runs along the last axis move as blocks
  ///   unless the last axis is itself reversed.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func flipped(
    alongAxes axes: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let normalizedAxes = axes.map { normalized([$0], "flipped(alongAxes:)", at: location)[0] }
    check(
      Set(normalizedAxes).count == axes.count,
      "flipped(alongAxes:): axes \(axes) name an axis twice for shape \(shape.shapeDescription)",
      at: location)
    return flipped(normalizedAxes, at: location)
  }

  /// The tensor reversed along `axes` (in range, each once), recorded: the operation `flip`.
  func flipped(_ axes: [Int], at location: SourceLocation?) -> Tensor {
    // Reversing an axis of extent 0 or 1 moves nothing.
    let axes = axes.filter { shape[$0] > 1 }.sorted()
    if axes.isEmpty { return self }
    // Read backwards along each flipped axis, from its last position.
    let rowMajor = shape.rowMajorStrides
    var strides = rowMajor
    var origin = 0
    for axis in axes {
      strides[axis] = -rowMajor[axis]
      origin += (shape[axis] - 1) * rowMajor[axis]
    }
    let view = coalesced(shape: shape, strides: strides)
    let storage = Storage<Scalar>.uninitialized(count: scalarCount)
    withUnsafeBufferPointer { x in
      storage.withUnsafeMutableBufferPointer { y in
        gatherKernel(x, startingAt: origin, strides: view.strides, into: y, shape: view.shape)
      }
    }
    return record(
      "flip", output: Tensor(shape: shape, storage: storage), operands: self, at: location,
      rule: .unary { g, _, _ in g.flipped(axes, at: nil) },
      tangent: .unary { dx, _, _ in dx.flipped(axes, at: nil) })
  }

  /// The tensor repeated `multiples[a]` times along each axis a, whole copies side by side:
  /// NumPy's `tile`, PyTorch's `tile`.
  ///
  /// ```swift
  /// let x = Tensor<Float>([[1, 2], [3, 4]])
  /// print(x.tiled([2, 3]))
  /// // [[1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
  /// //  [3.0, 4.0, 3.0, 4.0, 3.0, 4.0],
  /// //  [1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
  /// //  [3.0, 4.0, 3.0, 4.0, 3.0, 4.0]]
  /// print(Tensor<Float>([1, 2]).tiled([2, 2]))
  /// // [[1.0, 2.0, 1.0, 2.0],
  /// //  [1.0, 2.0, 1.0, 2.0]]
  /// x.tiled([3]).shape   // [2, 6]: fewer multiples than axes tile the last axes
  /// ```
  ///
  /// As in NumPy, `multiples` shorter than the rank are read with leading 1s (they tile the
  /// last axes), and longer ones add leading axes of extent 1 to the tensor first.
  /// ``repeated(_:alongAxis:file:line:)-(Int,_,_,_)`` repeats each slice in place instead:
  /// `[1, 1, 2, 2]` where a tile gives `[1, 2, 1, 2]`.
  ///
  /// ∂/∂x = the sum of g's tiles; the tangent is the operand's tangent tiled. A tile is a
  /// broadcast: on the tape it is `reshape`, `expand` and `reshape`.
  ///
  /// - Parameters:
  ///   - multiples: The number of copies along each axis, each ≥ 0 (0 gives an empty axis).
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: A tensor of rank `max(rank, multiples.count)` whose extent along each axis is
  ///   the tensor's extent (1 for an added axis) times its multiple.
  /// - Precondition: Each multiple is ≥ 0, and the result's elements can be counted in an `Int`
  ///   and fit in memory.
  /// - Complexity: O(n) for the n elements of the result, in one pass, copying the last axis's
  ///   runs as blocks.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func tiled(_ multiples: [Int], file: StaticString = #fileID, line: UInt = #line)
    -> Tensor
  {
    let location = SourceLocation(file: file, line: line)
    check(
      multiples.allSatisfy { $0 >= 0 },
      "tiled(_:): multiples \(multiples) for shape \(shape.shapeDescription) include a negative "
        + "count", at: location)
    let rank = Swift.max(self.rank, multiples.count)
    let extents = [Int](repeating: 1, count: rank - self.rank) + shape
    let counts = [Int](repeating: 1, count: rank - multiples.count) + multiples
    var newShape: [Int] = []
    // A view with an axis of extent `count` before each axis that is tiled, broadcast from 1.
    var view: [Int] = []
    var broadcast: [Int] = []
    for (extent, count) in zip(extents, counts) {
      let (product, overflow) = extent.multipliedReportingOverflow(by: count)
      if overflow {
        fail(
          "tiled(_:): \(count) copies of an axis of extent \(extent) of shape "
            + "\(shape.shapeDescription) are more than an Int can count", at: location)
      }
      newShape.append(product)
      if count != 1 {
        view.append(1)
        broadcast.append(count)
      }
      view.append(extent)
      broadcast.append(extent)
    }
    checkShape(newShape, of: Scalar.self, "tiled(_:)", at: location)
    return reshaped(to: view, file: file, line: line)
      .expanded(to: broadcast, file: file, line: line)
      .reshaped(to: newShape, file: file, line: line)
  }

  /// The tensor with each slice along `axis` repeated `count` times in place: NumPy's
  /// `repeat` with an axis, PyTorch's `repeat_interleave` with `dim`.
  ///
  /// ```swift
  /// let x = Tensor<Float>([[1, 2], [3, 4]])
  /// print(x.repeated(2, alongAxis: 1))
  /// // [[1.0, 1.0, 2.0, 2.0],
  /// //  [3.0, 3.0, 4.0, 4.0]]
  /// print(x.repeated(3, alongAxis: 0).shape)
  /// // [6, 2]
  /// ```
  ///
  /// ``tiled(_:file:line:)`` repeats the whole tensor instead: `[1, 2, 1, 2]` where a repeat
  /// gives `[1, 1, 2, 2]`.
  ///
  /// ∂/∂x = g with each run of `count` copies summed; the tangent is the operand's tangent
  /// repeated. A repeat is a broadcast: on the tape it is `reshape`, `expand` and `reshape`.
  ///
  /// - Parameters:
  ///   - count: The number of copies of each slice, ≥ 0 (0 gives an empty axis).
  ///   - axis: The axis along which to repeat; negative axes count from the end.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: A tensor of `self`'s shape but `count · shape[axis]` along `axis`.
  /// - Precondition: `rank ≥ 1`, `axis` is in `-rank..<rank`, `count ≥ 0`, and the result's
  ///   elements can be counted in an `Int` and fit in memory.
  /// - Complexity: O(n) for the n elements of the result, in one pass: each slice's runs are
  ///   copied as blocks, one element at a time when `axis` is the last.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func repeated(
    _ count: Int, alongAxis axis: Int, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let axis = repeatAxis(axis, at: location)
    check(
      count >= 0,
      "repeated(_:alongAxis:): count \(count) is negative (axis \(axis) of shape "
        + "\(shape.shapeDescription))", at: location)
    return repeatedUniformly(count, alongAxis: axis, at: location)
  }

  /// The tensor with slice j along `axis` repeated `counts[j]` times in place: NumPy's
  /// `repeat` with a list of repeats and an axis, PyTorch's `repeat_interleave` with a tensor
  /// of repeats and `dim`.
  ///
  /// ```swift
  /// let x = Tensor<Float>([[1, 2], [3, 4]])
  /// print(x.repeated([1, 2], alongAxis: 0))
  /// // [[1.0, 2.0],
  /// //  [3.0, 4.0],
  /// //  [3.0, 4.0]]
  /// print(x.repeated([0, 3], alongAxis: -1))
  /// // [[2.0, 2.0, 2.0],
  /// //  [4.0, 4.0, 4.0]]
  /// ```
  ///
  /// ∂/∂x = g's copies of each slice added back at the slice, 0 for a slice repeated 0 times;
  /// the tangent is the operand's tangent repeated. When every count is the same it is
  /// ``repeated(_:alongAxis:file:line:)-(Int,_,_,_)`` with that count; otherwise it gathers
  /// each slice as often as asked (the operation `gather` on the tape, as
  /// ``gathering(atIndices:alongAxis:file:line:)``).
  ///
  /// - Parameters:
  ///   - counts: The number of copies of each slice along `axis`, each ≥ 0, one per slice.
  ///   - axis: The axis along which to repeat; negative axes count from the end.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: A tensor of `self`'s shape but the sum of `counts` along `axis`.
  /// - Precondition: `rank ≥ 1`, `axis` is in `-rank..<rank`, `counts` has `shape[axis]`
  ///   elements, each ≥ 0, and the result's elements can be counted in an `Int` and fit in
  ///   memory.
  /// - Complexity: O(n) for the n elements of the result, and O(sum of `counts`) for the list
  ///   of the slices to copy; each copy of a slice moves as one block.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func repeated(
    _ counts: [Int], alongAxis axis: Int, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let axis = repeatAxis(axis, at: location)
    check(
      counts.count == shape[axis],
      "repeated(_:alongAxis:): \(counts.count) counts for the \(shape[axis]) slices along axis "
        + "\(axis) of shape \(shape.shapeDescription); give one count per slice", at: location)
    if let position = counts.firstIndex(where: { $0 < 0 }) {
      fail(
        "repeated(_:alongAxis:): count \(counts[position]) at position \(position) is negative "
          + "(axis \(axis) of shape \(shape.shapeDescription))", at: location)
    }
    guard let first = counts.first else { return self }
    if counts.allSatisfy({ $0 == first }) {
      return repeatedUniformly(first, alongAxis: axis, at: location)
    }
    var total = 0
    for count in counts {
      let (sum, overflow) = total.addingReportingOverflow(count)
      if overflow {
        fail(
          "repeated(_:alongAxis:): counts \(counts) for axis \(axis) of shape "
            + "\(shape.shapeDescription) add up past \(Int.max)", at: location)
      }
      total = sum
    }
    var newShape = shape
    newShape[axis] = total
    checkShape(newShape, of: Scalar.self, "repeated(_:alongAxis:)", at: location)
    var indices: [Int] = []
    indices.reserveCapacity(total)
    for (slice, count) in counts.enumerated() {
      indices.append(contentsOf: repeatElement(slice, count: count))
    }
    return gathered(indices, alongAxis: axis, at: location)
  }

  /// `axis` normalized, after checking that `self` has axes.
  private func repeatAxis(_ axis: Int, at location: SourceLocation) -> Int {
    check(
      rank >= 1, "repeated(_:alongAxis:): a scalar has no axis to repeat along", at: location)
    return normalized([axis], "repeated(_:alongAxis:)", at: location)[0]
  }

  /// Each slice along `axis` (normalized) repeated `count` (≥ 0) times: a broadcast of a new
  /// axis of extent 1 after `axis`.
  private func repeatedUniformly(
    _ count: Int, alongAxis axis: Int, at location: SourceLocation
  ) -> Tensor {
    let (total, overflow) = shape[axis].multipliedReportingOverflow(by: count)
    if overflow {
      fail(
        "repeated(_:alongAxis:): \(count) copies of the \(shape[axis]) slices along axis \(axis) "
          + "of shape \(shape.shapeDescription) are more than an Int can count", at: location)
    }
    var newShape = shape
    newShape[axis] = total
    checkShape(newShape, of: Scalar.self, "repeated(_:alongAxis:)", at: location)
    if count == 1 { return self }
    var (view, broadcast) = (shape, shape)
    view.insert(1, at: axis + 1)
    broadcast.insert(count, at: axis + 1)
    let (file, line) = (location.file, location.line)
    return reshaped(to: view, file: file, line: line)
      .expanded(to: broadcast, file: file, line: line)
      .reshaped(to: newShape, file: file, line: line)
  }

  /// The tensor inside a border of `value`, `widths[a].before` positions before it along each
  /// axis a and `widths[a].after` after: NumPy's `pad` in its `"constant"` mode, PyTorch's
  /// `nn.functional.pad` in its `"constant"` mode.
  ///
  /// ```swift
  /// let x = Tensor<Float>([[1, 2], [3, 4]])
  /// print(x.padded([(1, 0), (0, 2)]))
  /// // [[0.0, 0.0, 0.0, 0.0],
  /// //  [1.0, 2.0, 0.0, 0.0],
  /// //  [3.0, 4.0, 0.0, 0.0]]
  /// print(Tensor<Float>([1, 2]).padded([(2, 1)], with: -1))
  /// // [-1.0, -1.0, 1.0, 2.0, -1.0]
  /// ```
  ///
  /// `widths` names every axis, outermost first, as NumPy's `pad_width` does; PyTorch's `pad`
  /// lists the last axis first, so `F.pad(x, (0, 2, 1, 0))` is the first example. A list for
  /// fewer axes is an error rather than read as one of those conventions: NumPy repeats a
  /// single pair for every axis, PyTorch pads the last axes, and the same call would mean
  /// either.
  ///
  /// ∂/∂x = g without its border (a slice); the tangent is the operand's tangent inside a border
  /// of zeros, since `value` is a constant.
  ///
  /// - Parameters:
  ///   - widths: For each axis, the number of positions to add before and after it, each ≥ 0.
  ///   - value: The value of the added positions.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: A tensor of `self`'s rank whose extent along axis a is
  ///   `widths[a].before + shape[a] + widths[a].after`.
  /// - Precondition: `widths` has `rank` pairs, every width is ≥ 0, and the result's elements
  ///   can be counted in an `Int` and fit in memory.
  /// - Complexity: O(n) for the n elements of the result: a fill, then the tensor's runs along
  ///   the last axis copied in as blocks.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func padded(
    _ widths: [(before: Int, after: Int)], with value: Scalar = 0,
    file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    check(
      widths.count == rank,
      "padded(_:with:): \(widths.count) (before, after) pairs for shape "
        + "\(shape.shapeDescription) of rank \(rank); give one pair for every axis", at: location)
    var newShape = shape
    for (axis, width) in widths.enumerated() {
      check(
        width.before >= 0 && width.after >= 0,
        "padded(_:with:): widths (\(width.before), \(width.after)) of axis \(axis) of shape "
          + "\(shape.shapeDescription) are negative; slice to remove positions", at: location)
      let (total, overflow) = width.before.addingReportingOverflow(width.after)
      let (extent, overflowAgain) = total.addingReportingOverflow(shape[axis])
      if overflow || overflowAgain {
        fail(
          "padded(_:with:): widths (\(width.before), \(width.after)) of axis \(axis) of shape "
            + "\(shape.shapeDescription) make it longer than an Int can count", at: location)
      }
      newShape[axis] = extent
    }
    checkShape(newShape, of: Scalar.self, "padded(_:with:)", at: location)
    if newShape == shape { return self }
    let region = IndexRegion(
      starts: widths.map(\.before), counts: shape, kept: [Bool](repeating: true, count: rank))
    return embedded(in: newShape, region, filling: value, recordedAs: "pad", at: location)
  }
}
