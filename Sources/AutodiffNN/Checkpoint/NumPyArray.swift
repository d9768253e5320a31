import Foundation

/// One array in NumPy's `.npy` format, as `numpy.save` writes it and `numpy.load` reads it.
///
/// ## Layout
///
/// ```
/// \x93NUMPY       6 bytes of magic
/// major, minor    2 bytes: the format version, 1.0, 2.0 or 3.0
/// N               the header's length, little-endian: 2 bytes in 1.0, 4 bytes in 2.0 and 3.0
/// header          N bytes: a Python dictionary literal, padded with spaces and ended by '\n'
///                 {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
/// data            the elements, in C (row-major) or Fortran (column-major) order
/// ```
///
/// ## Reading
///
/// ``init(contentsOf:)`` checks the whole file before it reads an element: the magic and
/// version, that the header is a dictionary with exactly the keys `descr`, `fortran_order` and
/// `shape`, that the dtype is a 32- or 64-bit float in either byte order, and that the shape's
/// element count times the element size is exactly the number of bytes after the header. A
/// header that announces an absurd shape is rejected by arithmetic, before anything is
/// allocated; headers are limited to ``maximumHeaderLength`` bytes and shapes to
/// ``maximumRank`` axes, as `numpy.load` limits them. The header is parsed as strictly as NumPy
/// parses it, and stricter where Python would read it silently one way of two (a key that
/// appears twice). Other dtypes (integers, float16, objects, structured arrays) throw
/// ``NumPyError/unsupportedDtype(descr:)``.
///
/// An array saved in Fortran order (`fortran_order: True`, as `numpy.save` writes a transposed
/// or `order='F'` array) is read by transposing: ``tensor(as:)`` returns the same logical array,
/// row-major, as `numpy.load` followed by `np.ascontiguousarray` would.
///
/// ``tensor(as:)`` reads only at the stored precision: a float64 array read as `Float` throws
/// ``NumPyError/dtypeMismatch(expected:found:)`` rather than rounding silently.
///
/// ## Writing
///
/// ``write(_:to:)`` writes version 1.0, C order, little-endian (`'<f4'` or `'<f8'`), with the data aligned to 64 bytes as NumPy
/// aligns it, atomically: a reader sees the old file or the new one, never a part of either.
///
/// ```swift
/// try NumPyArray.write(weights, to: URL(fileURLWithPath: "weights.npy"))
/// let loaded = try NumPyArray(contentsOf: URL(fileURLWithPath: "weights.npy")).tensor(as: Float.self)
/// ```
public struct NumPyArray: Sendable, Equatable {
  /// The element types this library reads.
  public enum ElementType: Sendable, Equatable, CustomStringConvertible {
    case float32
    case float64

    /// The size of one element in bytes.
    public var byteCount: Int { self == .float32 ? 4 : 8 }

    /// NumPy's name: `"float32"`, `"float64"`.
    public var description: String { self == .float32 ? "float32" : "float64" }
  }

  /// The type of the elements.
  public let elementType: ElementType

  /// Whether the elements are stored big-endian (`descr` `'>f4'` or `'>f8'`).
  public let isBigEndian: Bool

  /// Whether the elements are stored in Fortran (column-major) order.
  public let isFortranOrder: Bool

  /// The extent of each axis, outermost first; `[]` for a 0-d array.
  public let shape: [Int]

  /// The elements as stored: exactly `scalarCount * elementType.byteCount` bytes.
  private let payload: Data

  /// The largest rank read or written: 64, NumPy's own limit (`NPY_MAXDIMS` in NumPy 2), which
  /// every AutodiffNN reader and writer keeps to.
  public static var maximumRank: Int { maximumFileRank }

  /// The longest header read, in bytes: 10,000, the limit of `numpy.load` for a file it does
  /// not trust (`max_header_size`). A header of 64 extents takes under 1,500.
  public static let maximumHeaderLength = 10_000

  /// The number of elements: the product of the extents.
  public var scalarCount: Int { shape.reduce(1, *) }

  // MARK: Reading

  /// Reads and validates a `.npy` file.
  ///
  /// - Throws: ``NumPyError/fileNotFound(path:)``, ``NumPyError/readFailed(path:reason:)``, and
  ///   the errors of ``init(bytes:)``.
  public init(contentsOf url: URL) throws(NumPyError) {
    let bytes: Data
    switch contentsOfFile(at: url) {
    case .success(let contents): bytes = contents
    case .failure(.notFound): throw .fileNotFound(path: url.path)
    case .failure(.unreadable(let reason)): throw .readFailed(path: url.path, reason: reason)
    }
    try self.init(bytes: bytes)
  }

  /// Parses and validates the bytes of a `.npy` file.
  ///
  /// - Throws: ``NumPyError/notNumPy(found:)``, ``NumPyError/unsupportedVersion(major:minor:)``,
  ///   ``NumPyError/truncated(section:expected:actual:)``,
  ///   ``NumPyError/trailingBytes(expected:actual:)``, ``NumPyError/corruptHeader(reason:)``
  ///   (a header over ``maximumHeaderLength`` bytes, a malformed dictionary, missing, extra or
  ///   repeated keys, a negative extent, extents whose product overflows),
  ///   ``NumPyError/rankTooLarge(rank:limit:)`` for a shape of more than ``maximumRank`` axes,
  ///   ``NumPyError/unsupportedDtype(descr:)``.
  public init(bytes: Data) throws(NumPyError) {
    let bytes = bytes.startIndex == 0 ? bytes : Data(bytes)  // offsets below count from 0
    let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    guard bytes.count >= 8 else {
      if !bytes.elementsEqual(magic.prefix(bytes.count)) {
        throw .notNumPy(found: Array(bytes))
      }
      throw .truncated(section: "the magic string and version", expected: 8, actual: bytes.count)
    }
    guard bytes.prefix(6).elementsEqual(magic) else {
      throw .notNumPy(found: Array(bytes.prefix(8)))
    }
    let (major, minor) = (bytes[6], bytes[7])
    let lengthSize: Int
    switch (major, minor) {
    case (1, 0): lengthSize = 2
    case (2, 0), (3, 0): lengthSize = 4
    default: throw .unsupportedVersion(major: major, minor: minor)
    }
    guard bytes.count >= 8 + lengthSize else {
      throw .truncated(section: "the header length", expected: 8 + lengthSize, actual: bytes.count)
    }
    let headerLength = bytes[8..<(8 + lengthSize)].reversed().reduce(0) { $0 << 8 | Int($1) }
    let dataStart = 8 + lengthSize + headerLength
    guard bytes.count >= dataStart else {
      throw .truncated(section: "the header", expected: dataStart, actual: bytes.count)
    }
    guard headerLength <= Self.maximumHeaderLength else {
      throw .corruptHeader(
        reason: "the header is \(headerLength) bytes long, more than NumPy's limit of "
          + "\(Self.maximumHeaderLength) for a file it loads without trusting it")
    }
    var parser = NumPyHeaderParser(
      bytes[(8 + lengthSize)..<dataStart], allowsLongSuffix: major <= 2)
    let header = try parser.parse()

    guard let descr = Self.descriptors[header.descr] else {
      throw .unsupportedDtype(descr: header.descr)
    }
    guard header.shape.count <= Self.maximumRank else {
      throw .rankTooLarge(rank: header.shape.count, limit: Self.maximumRank)
    }
    // The extents' product times the element size, where zero extents count as 1 so that every
    // stride of the shape fits in an Int too (an empty array of shape (0, 2⁶², 2⁶²) would
    // otherwise pass, and overflow the first operation that computes its strides).
    var byteCount = descr.type.byteCount
    for extent in header.shape {
      let (product, overflow) = byteCount.multipliedReportingOverflow(by: Swift.max(extent, 1))
      guard !overflow else {
        throw .corruptHeader(reason: "the shape \(header.shape) is too large to exist")
      }
      byteCount = product
    }
    if header.shape.contains(0) { byteCount = 0 }
    let dataLength = bytes.count - dataStart
    guard dataLength >= byteCount else {
      throw .truncated(
        section: "the data of shape \(header.shape) (\(descr.type))",
        expected: dataStart + byteCount,
        actual: bytes.count)
    }
    guard dataLength == byteCount else {
      throw .trailingBytes(expected: dataStart + byteCount, actual: bytes.count)
    }
    self.elementType = descr.type
    self.isBigEndian = descr.bigEndian
    self.isFortranOrder = header.fortranOrder
    self.shape = header.shape
    self.payload = bytes[dataStart...]
  }

  /// The array as a row-major tensor of its shape, bit for bit as stored (NaN payloads and `-0`
  /// included).
  ///
  /// - Throws: ``NumPyError/dtypeMismatch(expected:found:)`` when the array holds the other
  ///   precision; no conversion is made.
  /// - Complexity: O(*n*): one copy, plus a transpose for a Fortran-order array.
  public func tensor<Scalar: TensorScalar>(
    as type: Scalar.Type = Scalar.self
  ) throws(NumPyError) -> Tensor<Scalar> {
    let expected: ElementType
    switch (Scalar.exponentBitCount, Scalar.significandBitCount) {
    case (8, 23): expected = .float32
    case (11, 52): expected = .float64
    default: throw .dtypeMismatch(expected: "\(Scalar.self)", found: "\(elementType)")
    }
    guard expected == elementType, MemoryLayout<Scalar>.size == elementType.byteCount else {
      throw .dtypeMismatch(expected: "\(expected)", found: "\(elementType)")
    }
    // Column-major data of shape s is row-major data of shape reversed(s); reversing the axes
    // back gives the array in row-major order.
    let storedShape = isFortranOrder ? Array(shape.reversed()) : shape
    var tensor = Tensor<Scalar>(zeros: storedShape)
    let swapped = isBigEndian != (UInt16(1).bigEndian == 1)
    tensor.withUnsafeMutableBufferPointer { target in
      let target = UnsafeMutableRawBufferPointer(target)
      assert(target.count == payload.count)
      payload.withUnsafeBytes { target.copyMemory(from: $0) }
      if swapped { reverseBytes(ofElementsOf: target, size: MemoryLayout<Scalar>.size) }
    }
    return isFortranOrder && shape.count > 1 ? tensor.transposed() : tensor
  }

  /// Reads the `.npy` file at `url` as a tensor of `Scalar`.
  ///
  /// ```swift
  /// let x = try NumPyArray.tensor(contentsOf: url, as: Double.self)
  /// ```
  ///
  /// - Throws: The errors of ``init(contentsOf:)`` and ``tensor(as:)``.
  public static func tensor<Scalar: TensorScalar>(
    contentsOf url: URL, as type: Scalar.Type = Scalar.self
  ) throws(NumPyError) -> Tensor<Scalar> {
    try NumPyArray(contentsOf: url).tensor(as: Scalar.self)
  }

  // MARK: Writing

  /// The bytes of a `.npy` file holding `tensor`: version 1.0, C order, little-endian, data
  /// aligned to 64 bytes.
  ///
  /// - Precondition: `tensor` has at most ``maximumRank`` axes (``write(_:to:)`` throws
  ///   instead).
  public static func encode<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) -> Data {
    requireNN(
      tensor.rank <= maximumRank,
      "NumPyArray.encode: the tensor has \(tensor.rank) axes, more than the \(maximumRank) "
        + "that NumPy reads")
    let descr: String
    switch (Scalar.exponentBitCount, Scalar.significandBitCount) {
    case (8, 23): descr = "<f4"
    case (11, 52): descr = "<f8"
    default: fatalError("NumPyArray.encode: \(Scalar.self) has no .npy dtype")
    }
    let extents = tensor.shape.map(String.init)
    let shape =
      extents.count == 1 ? "(\(extents[0]),)" : "(" + extents.joined(separator: ", ") + ")"
    var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
    // Pad with spaces and a final newline so that the data starts at a multiple of 64, as NumPy
    // writes it. With at most 64 extents of at most 19 digits, the header stays under 1,500
    // bytes: version 1.0's 2-byte length always holds it.
    let preamble = 10
    let padding = (64 - (preamble + header.utf8.count + 1) % 64) % 64
    header += String(repeating: " ", count: padding) + "\n"
    assert(header.utf8.count <= maximumHeaderLength)

    var file = Data(capacity: preamble + header.utf8.count + tensor.scalarCount * 8)
    file.append(contentsOf: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
    withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(contentsOf: header.utf8)
    tensor.withUnsafeBufferPointer { elements in
      var bytes = [UInt8](UnsafeRawBufferPointer(elements))
      if UInt16(1).bigEndian == 1 {
        bytes.withUnsafeMutableBytes {
          reverseBytes(ofElementsOf: $0, size: MemoryLayout<Scalar>.size)
        }
      }
      file.append(contentsOf: bytes)
    }
    return file
  }

  /// Writes `tensor` to a `.npy` file at `url`, atomically: a temporary file in the same
  /// directory is written, flushed to disk, then renamed over `url` (over the file it names,
  /// when `url` is a symbolic link). An existing file keeps its permissions; a new file gets
  /// 0666 less the umask. A FIFO or a device (`/dev/stdout`) is written through, as NumPy
  /// writes it. No temporary file outlives the save (see ``SafeTensors``).
  ///
  /// - Throws: ``NumPyError/writeFailed(path:reason:)`` when the directory does not exist or is
  ///   not writable, or the disk is full; ``NumPyError/rankTooLarge(rank:limit:)`` for a tensor
  ///   of more than ``maximumRank`` axes, which NumPy cannot read. Any file already at `url` is
  ///   then unchanged.
  public static func write<Scalar: TensorScalar>(
    _ tensor: Tensor<Scalar>, to url: URL
  ) throws(NumPyError) {
    guard tensor.rank <= maximumRank else {
      throw .rankTooLarge(rank: tensor.rank, limit: maximumRank)
    }
    do {
      try writeAtomically(encode(tensor), to: url)
    } catch {
      guard case .writeFailed(let path, let reason) = error else {
        throw .writeFailed(path: url.path, reason: "\(error)")
      }
      throw .writeFailed(path: path, reason: reason)
    }
  }

  // MARK: Dtypes

  /// The `descr` strings read, with their element type and byte order. `'='` is native order,
  /// which NumPy never writes but may be given.
  private static let descriptors: [String: (type: ElementType, bigEndian: Bool)] = {
    let native = UInt16(1).bigEndian == 1
    return [
      "<f4": (.float32, false), "<f8": (.float64, false),
      ">f4": (.float32, true), ">f8": (.float64, true),
      "=f4": (.float32, native), "=f8": (.float64, native),
    ]
  }()
}

/// Reverses the bytes of each `size`-byte element.
private func reverseBytes(ofElementsOf buffer: UnsafeMutableRawBufferPointer, size: Int) {
  var start = 0
  while start + size <= buffer.count {
    var (low, high) = (start, start + size - 1)
    while low < high {
      buffer.swapAt(low, high)
      (low, high) = (low + 1, high - 1)
    }
    start += size
  }
}
