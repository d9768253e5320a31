// On `@_specialize`, see the Performance article in Documentation.docc.

// Indexing with integers and ranges, `x[i]`, `x[0, 1..<3]`, `x[.all, -1]`, as NumPy's basic
// indexing: an integer picks one position and drops its axis, a range keeps the axis. Reading
// is the operation `index`, whose pullback places the gradient in a tensor of zeros (the
// operation `embed`); the two are each other's transpose. Writing through a subscript changes
// an unrecorded tensor in place.

/// An index along one axis of a tensor: what a subscript of ``Tensor`` takes in each position.
///
/// `Int` picks one position and removes the axis (negative positions count from the end, `-1`
/// is the last); a range of `Int` (`1..<3`, `1...2`, `2...`, `..<2`) keeps the positions it
/// covers; ``TensorIndexExpression/all`` keeps the whole axis.
///
/// ```swift
/// let x: Tensor<Float> = [[1, 2, 3], [4, 5, 6]]
/// x[1]            // [4.0, 5.0, 6.0]
/// x[0, 1..<3]     // [2.0, 3.0]
/// x[.all, -1]     // [3.0, 6.0]
/// ```
public protocol TensorIndexExpression {
  /// The index this expression stands for.
  var tensorIndex: TensorIndex { get }
}

/// An index along one axis: one position, a range of positions or the whole axis.
///
/// You usually write an `Int`, a range or ``TensorIndexExpression/all`` in a subscript of ``Tensor``; see
/// ``TensorIndexExpression``.
public struct TensorIndex: TensorIndexExpression, Hashable, Sendable, CustomStringConvertible {
  enum Kind: Hashable, Sendable {
    /// One position, which may count from the end; the axis is removed.
    case position(Int)
    /// The positions `lower..<upper`, each bound the axis's end when missing.
    case range(lower: Int?, upper: Int?)
  }

  let kind: Kind

  public var tensorIndex: TensorIndex { self }

  /// The index as it appears in messages: `2`, `1..<3`, `2...`, `all`.
  public var description: String {
    switch kind {
    case .position(let position): "\(position)"
    case .range(nil, nil): "all"
    case .range(let lower, let upper):
      (lower.map(String.init) ?? "") + (upper.map { "..<\($0)" } ?? "...")
    }
  }
}

extension TensorIndexExpression where Self == TensorIndex {
  /// The whole axis, as `:` is in NumPy: `x[.all, 2]` is column 2 of a matrix.
  public static var all: TensorIndex { TensorIndex(kind: .range(lower: nil, upper: nil)) }
}

extension Int: TensorIndexExpression {
  /// The position `self`; negative positions count from the end of the axis.
  public var tensorIndex: TensorIndex { TensorIndex(kind: .position(self)) }
}

extension Range: TensorIndexExpression where Bound == Int {
  /// The positions `lowerBound..<upperBound`.
  public var tensorIndex: TensorIndex {
    TensorIndex(kind: .range(lower: lowerBound, upper: upperBound))
  }
}

extension ClosedRange: TensorIndexExpression where Bound == Int {
  /// The positions `lowerBound...upperBound`.
  public var tensorIndex: TensorIndex {
    TensorIndex(kind: .range(lower: lowerBound, upper: upperBound &+ 1))
  }
}

extension PartialRangeFrom: TensorIndexExpression where Bound == Int {
  /// The positions from `lowerBound` to the end of the axis.
  public var tensorIndex: TensorIndex { TensorIndex(kind: .range(lower: lowerBound, upper: nil)) }
}

extension PartialRangeUpTo: TensorIndexExpression where Bound == Int {
  /// The positions before `upperBound`.
  public var tensorIndex: TensorIndex { TensorIndex(kind: .range(lower: 0, upper: upperBound)) }
}

extension PartialRangeThrough: TensorIndexExpression where Bound == Int {
  /// The positions up to and including `upperBound`.
  public var tensorIndex: TensorIndex {
    TensorIndex(kind: .range(lower: 0, upper: upperBound &+ 1))
  }
}

/// A box of a tensor picked by indices: along each axis, `counts[axis]` positions from
/// `starts[axis]`; the axes not `kept` (indexed by an integer) are removed from the result.
struct IndexRegion: Sendable {
  var starts: [Int]
  var counts: [Int]
  var kept: [Bool]

  /// The shape of the elements picked: the counts of the kept axes.
  var shape: [Int] { counts.indices.filter { kept[$0] }.map { counts[$0] } }

  /// Where the box starts in a row-major buffer with `strides`.
  func offset(strides: [Int]) -> Int { zip(starts, strides).reduce(0) { $0 + $1.0 * $1.1 } }
}

extension Tensor {
  /// The elements picked by one index per leading axis; the axes after the last index are kept
  /// whole.
  ///
  /// ```swift
  /// let x: Tensor<Float> = [[1, 2, 3], [4, 5, 6]]
  /// x[1]               // [4.0, 5.0, 6.0]: row 1, shape [3]
  /// x[1, 2]            // 6.0, shape []
  /// x[-1, 1...]        // [5.0, 6.0]
  /// x[.all, 0]         // [1.0, 4.0]: column 0
  /// var y = x
  /// y[0] = Tensor([7, 8, 9])   // row 0 replaced
  /// y[1, 2] = Tensor(0)        // one element
  /// ```
  ///
  /// Reading is differentiable: ∂/∂x = g placed at the picked positions, zeros elsewhere. Writing
  /// replaces the picked elements by `newValue`, broadcast to their shape; it changes `self` in
  /// place and is not differentiable.
  ///
  /// - Parameters:
  ///   - indices: At most `rank` indices: an `Int` (negative counts from the end), a range of
  ///     `Int`, or ``TensorIndexExpression/all``.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: Each position lies in `-extent..<extent` of its axis and each range
  ///   within `0...extent`. To write, `self` is not recorded on a tape that is still recording,
  ///   nor is `newValue`, and `newValue`'s shape broadcasts to the shape read.
  public subscript(
    _ indices: any TensorIndexExpression..., file file: StaticString = #fileID,
    line line: UInt = #line
  ) -> Tensor {
    get {
      let location = SourceLocation(file: file, line: line)
      return indexed(region(indices.map(\.tensorIndex), "index", at: location), at: location)
    }
    set {
      assign(newValue, indices.map(\.tensorIndex), at: SourceLocation(file: file, line: line))
    }
  }

  /// The box that `indices` pick, or a stop naming the index, the axis and the caller.
  func region(_ indices: [TensorIndex], _ operation: String, at location: SourceLocation)
    -> IndexRegion
  {
    check(
      indices.count <= rank,
      "\(operation): \(indices.count) indices \(indices) for a tensor of rank \(rank), shape "
        + shape.shapeDescription, at: location)
    var region = IndexRegion(starts: [], counts: [], kept: [])
    region.starts.reserveCapacity(rank)
    region.counts.reserveCapacity(rank)
    region.kept.reserveCapacity(rank)
    for (axis, extent) in shape.enumerated() {
      switch axis < indices.count ? indices[axis].kind : .range(lower: nil, upper: nil) {
      case .position(let position):
        check(
          position >= -extent && position < extent,
          "\(operation): index \(position) is out of range for axis \(axis) of extent \(extent) "
            + "(shape \(shape.shapeDescription))", at: location)
        region.starts.append(position < 0 ? position + extent : position)
        region.counts.append(1)
        region.kept.append(false)
      case .range(let lower, let upper):
        let (lower, upper) = (lower ?? 0, upper ?? extent)
        check(
          lower >= 0 && lower <= upper && upper <= extent,
          "\(operation): range \(lower)..<\(upper) is outside 0..<\(extent) of axis \(axis) "
            + "(shape \(shape.shapeDescription))", at: location)
        region.starts.append(lower)
        region.counts.append(upper - lower)
        region.kept.append(true)
      }
    }
    return region
  }

  // The subscript, which cannot be specialized, calls the specialized forms below.

  /// The elements of `region`, recorded: the operation `index`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func indexed(_ region: IndexRegion, at location: SourceLocation?) -> Tensor {
    if region.kept.allSatisfy({ $0 }) && region.counts == shape { return self }
    let storage = Storage<Scalar>.uninitialized(count: region.counts.elementCount)
    let strides = shape.rowMajorStrides
    let offset = region.offset(strides: strides)
    // An empty box may start past the end of the buffer; it reads nothing.
    if storage.count > 0 {
      withUnsafeBufferPointer { x in
        storage.withUnsafeMutableBufferPointer { y in
          gatherKernel(
            UnsafeBufferPointer(rebasing: x[offset...]), strides: strides, into: y,
            shape: region.counts)
        }
      }
    }
    return record(
      "index", output: Tensor(shape: region.shape, storage: storage), operands: self,
      at: location, rule: .unary { g, x, _ in g.embedded(in: x.shape, region) },
      tangent: .unary { dx, _, _ in dx.indexed(region, at: nil) })
  }

  /// A tensor of `shape` filled with `value` (zeros by default), with `self` written at
  /// `region`, recorded: the operation `embed`, the transpose of `index`, or under another name
  /// (`padded(_:with:)`'s `pad`). Its pullback reads the region back; its tangent embeds the
  /// operand's tangent in zeros, since the fill is a constant.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func embedded(
    in shape: [Int], _ region: IndexRegion, filling value: Scalar = 0,
    recordedAs name: StaticString = "embed", at location: SourceLocation? = nil
  ) -> Tensor {
    let storage = Storage<Scalar>.repeating(value, count: shape.elementCount)
    if scalarCount > 0 {
      withUnsafeBufferPointer { g in
        storage.withUnsafeMutableBufferPointer { y in
          let offset = region.offset(strides: shape.rowMajorStrides)
          scatterKernel(
            g, into: UnsafeMutableBufferPointer(rebasing: y[offset...]),
            strides: shape.rowMajorStrides, shape: region.counts)
        }
      }
    }
    return record(
      name, output: Tensor(shape: shape, storage: storage), operands: self, at: location,
      rule: .unary { g, _, _ in g.indexed(region, at: nil) },
      tangent: .unary { dx, _, _ in dx.embedded(in: shape, region) })
  }

  /// Writes `value`, broadcast, over the elements that `indices` pick.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  mutating func assign(_ value: Tensor, _ indices: [TensorIndex], at location: SourceLocation) {
    check(
      liveTrace == nil,
      "index assignment: the tensor is recorded on a tape that is still recording, and writing "
        + "into it would change a value its gradients depend on; write into an unrecorded "
        + "tensor (withoutDerivative(at:)) or build the result from pieces (concatenating, "
        + "embedding by arithmetic)", at: location)
    check(
      value.liveTrace == nil,
      "index assignment: the value is recorded on a tape that is still recording, and the "
        + "assignment would drop its gradient; pass withoutDerivative(at: value) to write it as "
        + "a constant", at: location)
    let region = region(indices, "index assignment", at: location)
    check(
      broadcastShape(value.shape, region.shape) == region.shape,
      "index assignment: a value of shape \(value.shape.shapeDescription) does not broadcast to "
        + "the shape \(region.shape.shapeDescription) of the elements at \(indices)",
      at: location)
    let source = value.detached.expanded(to: region.shape)
    let strides = shape.rowMajorStrides
    let offset = region.offset(strides: strides)
    trace = nil
    guard source.scalarCount > 0 else { return }
    makeUnique()
    source.withUnsafeBufferPointer { x in
      storage.withUnsafeMutableBufferPointer { y in
        scatterKernel(
          x, into: UnsafeMutableBufferPointer(rebasing: y[offset...]), strides: strides,
          shape: region.counts)
      }
    }
  }
}
