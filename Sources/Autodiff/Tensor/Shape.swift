// Shape arithmetic shared by the operations: element counts, strides, broadcasting and axes.
// A shape is an `[Int]` of non-negative extents, outermost first; `[]` is the shape of a scalar.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

extension Array where Element == Int {
  /// The number of elements of a tensor with this shape; 1 for the scalar shape `[]`.
  ///
  /// Stops with a message naming the shape when the count does not fit an `Int`; the operations
  /// that make shapes check them first with `checkShape`, which names the operation and caller.
  var elementCount: Int {
    guard let count = countingElements() else {
      fail("shape \(shapeDescription) has more elements than an Int can count")
    }
    return count
  }

  /// The product of the extents, or `nil` when the product of the nonzero ones overflows an
  /// `Int`: such a shape has no row-major strides either, even when it holds no element.
  func countingElements() -> Int? {
    productOfNonzeroExtents(times: 1).map { contains(0) ? 0 : $0 }
  }

  /// `factor` times the product of the nonzero extents, or `nil` when it overflows an `Int`.
  func productOfNonzeroExtents(times factor: Int) -> Int? {
    var product = factor
    for extent in self where extent != 0 {
      let (next, overflow) = product.multipliedReportingOverflow(by: extent)
      if overflow { return nil }
      product = next
    }
    return product
  }

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

/// Stops, naming `operation`, the shape and the caller, unless a tensor of `Scalar` can have
/// `shape`: its extents are non-negative, the byte count of its nonzero extents fits an `Int`
/// (so that its element count and strides do too, even when it is empty), and its bytes fit
/// this machine's memory (`Tensor<Float>(zeros: [1 << 30, 1 << 30])` would need 4 EiB).
///
/// - Returns: The element count.
@discardableResult
func checkShape<Scalar>(
  _ shape: [Int], of type: Scalar.Type, _ operation: String, at location: SourceLocation?
) -> Int {
  check(
    shape.allSatisfy { $0 >= 0 },
    "\(operation): shape \(shape.shapeDescription) has a negative extent", at: location)
  let size = MemoryLayout<Scalar>.stride
  guard let bytes = shape.productOfNonzeroExtents(times: size) else {
    fail(
      "\(operation): shape \(shape.shapeDescription) has more elements than an Int can count "
        + "(its extents multiply past \(Int.max / size) elements of \(Scalar.self))", at: location)
  }
  guard !shape.contains(0) else { return 0 }
  check(
    bytes <= physicalMemoryBytes,
    "\(operation): shape \(shape.shapeDescription) needs \(bytes) bytes of \(Scalar.self), more "
      + "than this machine's \(physicalMemoryBytes) bytes of memory", at: location)
  return bytes / size
}

/// The machine's memory, in bytes.
private let physicalMemoryBytes: Int = {
  let pages = sysconf(Int32(_SC_PHYS_PAGES))
  let pageSize = sysconf(Int32(_SC_PAGESIZE))
  guard pages > 0, pageSize > 0 else { return .max }
  let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
  return overflow ? .max : bytes
}()
