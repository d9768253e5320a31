import Foundation

/// An array read from an IDX file, the format of MNIST and Fashion-MNIST.
///
/// An IDX file is a header followed by the elements in row-major order, all big-endian:
///
/// ```
/// 0x00 0x00 <type> <rank>        magic number: two zero bytes, a type code, the number of axes
/// <extent 0> ... <extent rank-1> one 32-bit unsigned integer per axis
/// <elements>                     product(extents) elements of the type's size
/// ```
///
/// The type code is one of 0x08 (unsigned byte), 0x09 (signed byte), 0x0B (16-bit integer),
/// 0x0C (32-bit integer), 0x0D (32-bit float) or 0x0E (64-bit float). The reader accepts a file
/// that is gzipped or not, deciding by its first two bytes (`1f 8b`), never by its name:
///
/// ```swift
/// let labels = try IDXArray(contentsOf: URL(fileURLWithPath: "t10k-labels-idx1-ubyte.gz"))
/// labels.shape           // [10000]
/// try labels.integers()  // [9, 2, 1, 1, 6, ...]
/// ```
///
/// ## Limits
///
/// Every size the reader allocates or inflates is bounded by what the header declares and by
/// explicit limits, checked before the work is done: a header that announces absurd sizes, a
/// rank over ``maximumRank`` (64), or more than ``maximumByteCount`` bytes (4 GiB unless
/// changed) throws a ``DatasetError``. A gzipped file is inflated incrementally: first its
/// header, then exactly the bytes the header declares, then one more to check that the data
/// ends there; so a small file that inflates to gigabytes (a decompression bomb) is refused
/// after a few bytes of work, and no buffer is ever sized from the gzip trailer.
public struct IDXArray: Sendable, Equatable {
  /// The type of the elements, as the third byte of the magic number codes it.
  public enum ElementType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// 0x08: `UInt8`, as MNIST's images and labels.
    case unsignedByte = 0x08
    /// 0x09: `Int8`.
    case signedByte = 0x09
    /// 0x0B: `Int16`, big-endian.
    case int16 = 0x0B
    /// 0x0C: `Int32`, big-endian.
    case int32 = 0x0C
    /// 0x0D: IEEE 754 single precision, big-endian.
    case float32 = 0x0D
    /// 0x0E: IEEE 754 double precision, big-endian.
    case float64 = 0x0E

    /// The size of one element in bytes.
    public var byteCount: Int {
      switch self {
      case .unsignedByte, .signedByte: 1
      case .int16: 2
      case .int32, .float32: 4
      case .float64: 8
      }
    }

    /// Whether the elements are integers (and so can be labels).
    public var isInteger: Bool { self != .float32 && self != .float64 }

    /// The type in words: `"unsigned bytes"`, `"32-bit floats"`.
    public var description: String {
      switch self {
      case .unsignedByte: "unsigned bytes"
      case .signedByte: "signed bytes"
      case .int16: "16-bit integers"
      case .int32: "32-bit integers"
      case .float32: "32-bit floats"
      case .float64: "64-bit floats"
      }
    }
  }

  /// The type of the elements.
  public let elementType: ElementType

  /// The extent of each axis, outermost first: `[60000, 28, 28]` for MNIST's training images.
  public let shape: [Int]

  /// Where the array was read from, for error messages: a path, or `"<memory>"`.
  public let source: String

  /// The elements, big-endian, exactly `scalarCount * elementType.byteCount` bytes.
  private let payload: Data

  /// The number of elements: the product of the extents.
  public var scalarCount: Int { shape.reduce(1, *) }

  /// An array of `elementType` and `shape` whose elements are `payload`, as read from
  /// `source`.
  init(elementType: ElementType, shape: [Int], source: String, payload: Data) {
    assert(payload.count == shape.reduce(elementType.byteCount, *))
    (self.elementType, self.shape, self.source, self.payload) =
      (elementType, shape, source, payload)
  }

  /// Whether two arrays have the same type, shape and elements, wherever they were read from.
  public static func == (lhs: IDXArray, rhs: IDXArray) -> Bool {
    lhs.elementType == rhs.elementType && lhs.shape == rhs.shape && lhs.payload == rhs.payload
  }

  /// The elements as a tensor of the array's shape, each converted to `Scalar` and divided by
  /// `divisor`.
  ///
  /// ```swift
  /// let images = try IDXArray(contentsOf: url).tensor(of: Float.self, dividedBy: 255)  // in [0, 1]
  /// ```
  ///
  /// Conversion rounds to the nearest `Scalar` (32-bit integers and doubles may not be exact in
  /// `Float`); the division is correctly rounded, so 255 / 255 is exactly 1.
  ///
  /// - Complexity: O(*n*), one pass writing the tensor's buffer in place.
  public func tensor<Scalar: TensorScalar>(
    of type: Scalar.Type = Scalar.self, dividedBy divisor: Scalar = 1
  ) -> Tensor<Scalar> {
    tensor(shape: shape, dividedBy: divisor)
  }

  /// The elements as a tensor of `shape`, which has as many elements as the array.
  func tensor<Scalar: TensorScalar>(shape: [Int], dividedBy divisor: Scalar) -> Tensor<Scalar> {
    assert(shape.reduce(1, *) == scalarCount, "shape \(shape) for \(self.shape)")
    var result = Tensor<Scalar>(zeros: shape)
    result.withUnsafeMutableBufferPointer { buffer in
      // Dispatch to a concrete type once, so the loop below is specialized for it even when
      // this generic function is called from another module without specialization.
      if Scalar.self == Float.self {
        buffer.withMemoryRebound(to: Float.self) { decode(into: $0, dividedBy: Float(divisor)) }
      } else if Scalar.self == Double.self {
        buffer.withMemoryRebound(to: Double.self) { decode(into: $0, dividedBy: Double(divisor)) }
      } else {
        decode(into: buffer, dividedBy: divisor)
      }
    }
    return result
  }

  /// The elements as integers, for labels.
  ///
  /// - Throws: ``DatasetError/unexpectedContents(path:expected:found:)`` when the elements are
  ///   floating-point.
  public func integers() throws(DatasetError) -> [Int] {
    guard elementType.isInteger else {
      throw .unexpectedContents(path: source, expected: "integers", found: "\(elementType)")
    }
    let count = scalarCount
    return payload.withUnsafeBytes { raw in
      [Int](unsafeUninitializedCapacity: count) { buffer, initialized in
        for index in 0..<count { buffer[index] = integer(at: index, in: raw) }
        initialized = count
      }
    }
  }

  private func integer(at index: Int, in raw: UnsafeRawBufferPointer) -> Int {
    switch elementType {
    case .unsignedByte: Int(raw[index])
    case .signedByte: Int(Int8(bitPattern: raw[index]))
    case .int16:
      Int(
        Int16(
          bitPattern: UInt16(
            bigEndian: raw.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))))
    case .int32:
      Int(
        Int32(
          bitPattern: UInt32(
            bigEndian: raw.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))))
    case .float32, .float64:
      fatalError("integer(at:) on \(elementType)")
    }
  }

  private func decode<S: BinaryFloatingPoint>(
    into output: UnsafeMutableBufferPointer<S>, dividedBy divisor: S
  ) {
    assert(output.count == scalarCount)
    payload.withUnsafeBytes { raw in
      switch elementType {
      case .unsignedByte, .signedByte:
        // 256 possible values: convert and divide each once, then look every element up.
        let signed = elementType == .signedByte
        let table = (0..<256).map { byte in
          (signed ? S(Int8(truncatingIfNeeded: byte)) : S(byte)) / divisor
        }
        table.withUnsafeBufferPointer { table in
          for index in output.indices { output[index] = table[Int(raw[index])] }
        }
      case .int16, .int32:
        for index in output.indices { output[index] = S(integer(at: index, in: raw)) / divisor }
      case .float32:
        for index in output.indices {
          let bits = UInt32(
            bigEndian: raw.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
          output[index] = S(Float(bitPattern: bits)) / divisor
        }
      case .float64:
        for index in output.indices {
          let bits = UInt64(
            bigEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
          output[index] = S(Double(bitPattern: bits)) / divisor
        }
      }
    }
  }
}
