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
/// allocated. Other dtypes (integers, float16, objects, structured arrays) throw
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
/// ``write(_:to:)`` writes version 1.0 (2.0 when the header needs more than 65,535 bytes),
/// C order, little-endian (`'<f4'` or `'<f8'`), with the data aligned to 64 bytes as NumPy
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

  /// The largest rank read, NumPy's own limit (`NPY_MAXDIMS` in NumPy 2).
  public static let maximumRank = 64

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
  ///   (a malformed dictionary, missing or extra keys, a negative extent, a rank over
  ///   ``maximumRank``, extents whose product overflows), ``NumPyError/unsupportedDtype(descr:)``.
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
    var parser = HeaderParser(bytes[(8 + lengthSize)..<dataStart])
    let header = try parser.parse()

    guard let descr = Self.descriptors[header.descr] else {
      throw .unsupportedDtype(descr: header.descr)
    }
    guard header.shape.count <= Self.maximumRank else {
      throw .corruptHeader(
        reason: "the shape has \(header.shape.count) axes, more than NumPy's \(Self.maximumRank)")
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

  /// The bytes of a `.npy` file holding `tensor`: version 1.0 (2.0 for a header over 65,535
  /// bytes), C order, little-endian, data aligned to 64 bytes.
  public static func encode<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) -> Data {
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
    // Version 1.0 unless the padded header needs a 4-byte length; pad with spaces and a final
    // newline so that the data starts at a multiple of 64, as NumPy writes it.
    var preamble = 10
    var version: UInt8 = 1
    if header.utf8.count + 1 + 63 > Int(UInt16.max) {
      (preamble, version) = (12, 2)
    }
    let padding = (64 - (preamble + header.utf8.count + 1) % 64) % 64
    header += String(repeating: " ", count: padding) + "\n"

    var file = Data(capacity: preamble + header.utf8.count + tensor.scalarCount * 8)
    file.append(contentsOf: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0])
    if version == 1 {
      withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
    } else {
      withUnsafeBytes(of: UInt32(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
    }
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
  /// 0666 less the umask. No temporary file outlives the save (see ``SafeTensors``).
  ///
  /// - Throws: ``NumPyError/writeFailed(path:reason:)`` when the directory does not exist or is
  ///   not writable, or the disk is full; any file already at `url` is then unchanged.
  public static func write<Scalar: TensorScalar>(
    _ tensor: Tensor<Scalar>, to url: URL
  ) throws(NumPyError) {
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

// MARK: - Header

/// A parser for the header's Python literal, which is all `numpy.lib.format` writes:
///
/// ```
/// dict   = '{' [item (',' item)* [',']] '}'       whitespace allowed between tokens
/// item   = string ':' value
/// value  = string | 'True' | 'False' | tuple | integer
/// tuple  = '(' [integer (',' integer)* [',']] ')'  (a one-element tuple needs its comma)
/// string = '...' or "..." without escapes
/// ```
///
/// followed by spaces and a newline. It reads bytes by index within the header only, so no
/// input can make it read outside the file, and it allocates no more than the header's size.
private struct HeaderParser {
  struct Header {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]
  }

  enum Value {
    case string(String)
    case bool(Bool)
    case integer(Int)
    case tuple([Int])
  }

  let bytes: [UInt8]
  var position = 0

  init(_ data: Data) { bytes = Array(data) }

  mutating func parse() throws(NumPyError) -> Header {
    skipWhitespace()
    try expect(UInt8(ascii: "{"), "the header does not start with '{'")
    var items: [String: Value] = [:]
    skipWhitespace()
    while peek() != UInt8(ascii: "}") {
      let key = try string()
      skipWhitespace()
      try expect(UInt8(ascii: ":"), "no ':' after the key '\(key)'")
      skipWhitespace()
      let value = try value()
      guard items.updateValue(value, forKey: key) == nil else {
        throw .corruptHeader(reason: "the key '\(key)' appears twice")
      }
      skipWhitespace()
      if peek() == UInt8(ascii: ",") {
        position += 1
        skipWhitespace()
      } else if peek() != UInt8(ascii: "}") {
        throw problem("expected ',' or '}' after the value of '\(key)'")
      }
    }
    position += 1
    skipWhitespace()
    guard position == bytes.count else {
      throw problem("unexpected text after the dictionary")
    }

    let keys = Set(items.keys)
    guard keys == ["descr", "fortran_order", "shape"] else {
      throw .corruptHeader(
        reason: "the keys are \(keys.sorted()), not exactly descr, fortran_order and shape")
    }
    guard case .string(let descr) = items["descr"] else {
      throw .corruptHeader(reason: "descr is not a string (a structured dtype?)")
    }
    guard case .bool(let fortranOrder) = items["fortran_order"] else {
      throw .corruptHeader(reason: "fortran_order is not True or False")
    }
    guard case .tuple(let shape) = items["shape"] else {
      throw .corruptHeader(reason: "shape is not a tuple of integers")
    }
    return Header(descr: descr, fortranOrder: fortranOrder, shape: shape)
  }

  private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

  private func problem(_ reason: String) -> NumPyError {
    .corruptHeader(reason: "\(reason) (at byte \(position) of the header)")
  }

  private mutating func skipWhitespace() {
    while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D {
      position += 1
    }
  }

  private mutating func expect(_ byte: UInt8, _ reason: String) throws(NumPyError) {
    guard peek() == byte else { throw problem(reason) }
    position += 1
  }

  private mutating func string() throws(NumPyError) -> String {
    guard let quote = peek(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
      throw problem("expected a quoted key or string")
    }
    position += 1
    let start = position
    while let byte = peek(), byte != quote {
      guard byte != UInt8(ascii: "\\"), byte != 0x0A else {
        throw problem("a string holds an escape or a line break")
      }
      position += 1
    }
    guard peek() == quote else { throw problem("a string is not closed") }
    let text = String(decoding: bytes[start..<position], as: UTF8.self)
    position += 1
    return text
  }

  private mutating func value() throws(NumPyError) -> Value {
    switch peek() {
    case UInt8(ascii: "'"), UInt8(ascii: "\""):
      return .string(try string())
    case UInt8(ascii: "("):
      position += 1
      var elements: [Int] = []
      skipWhitespace()
      var sawComma = false
      while peek() != UInt8(ascii: ")") {
        elements.append(try integer())
        skipWhitespace()
        sawComma = false
        if peek() == UInt8(ascii: ",") {
          position += 1
          sawComma = true
          skipWhitespace()
        } else if peek() != UInt8(ascii: ")") {
          throw problem("expected ',' or ')' in a tuple")
        }
      }
      position += 1
      if elements.count == 1 && !sawComma {
        throw problem("'(n)' is a parenthesized integer, not a tuple: a shape needs '(n,)'")
      }
      return .tuple(elements)
    case UInt8(ascii: "T"):
      try keyword("True")
      return .bool(true)
    case UInt8(ascii: "F"):
      try keyword("False")
      return .bool(false)
    default:
      return .integer(try integer())
    }
  }

  private mutating func keyword(_ word: String) throws(NumPyError) {
    let word = Array(word.utf8)
    guard bytes.count - position >= word.count,
      bytes[position..<(position + word.count)].elementsEqual(word)
    else { throw problem("expected True, False, a string, a tuple or an integer") }
    position += word.count
  }

  /// A non-negative decimal integer, with Python 2's optional `L` suffix.
  private mutating func integer() throws(NumPyError) -> Int {
    var value = 0
    var digits = 0
    while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
      let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
      let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
      guard !overflow1 && !overflow2 else { throw problem("an integer is too large") }
      value = sum
      digits += 1
      position += 1
    }
    guard digits > 0 else {
      throw problem(peek() == UInt8(ascii: "-") ? "a negative extent" : "expected an integer")
    }
    if peek() == UInt8(ascii: "L") { position += 1 }
    return value
  }
}
