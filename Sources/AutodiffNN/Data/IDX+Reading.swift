import Foundation
internal import Synchronization

/// The value of ``IDXArray/maximumByteCount``, which any thread may read while a program sets
/// it.
private let byteCountLimit = Atomic<Int>(4 << 30)

extension IDXArray {
  /// The most axes an IDX array may have: 64, the limit of every AutodiffNN reader and writer
  /// (NumPy's).
  public static var maximumRank: Int { maximumFileRank }

  /// The largest IDX file the readers accept, in bytes after decompression (header and
  /// elements): 4 GiB unless changed.
  ///
  /// A file whose header announces more throws ``DatasetError/exceedsLimit(path:byteCount:limit:)``
  /// before anything is allocated or inflated. The default holds Fashion-MNIST (47 MB in
  /// all) many times over; raise it, before reading, for a larger data set you trust:
  ///
  /// ```swift
  /// IDXArray.maximumByteCount = 16 << 30  // 16 GiB
  /// ```
  ///
  /// - Precondition: The new value is not negative.
  public static var maximumByteCount: Int {
    get { byteCountLimit.load(ordering: .relaxed) }
    set {
      requireNN(
        newValue >= 0,
        "IDXArray.maximumByteCount: \(newValue) bytes; the limit must not be negative")
      byteCountLimit.store(newValue, ordering: .relaxed)
    }
  }

  /// Reads an IDX file, gzipped or not.
  ///
  /// - Parameter url: The file's location.
  /// - Throws: ``DatasetError/fileNotFound(path:suggestion:)`` when there is no file,
  ///   ``DatasetError/unreadable(path:reason:)`` when it cannot be read, and the errors of
  ///   ``init(parsing:source:)``.
  /// - Complexity: O(*n*) in the file's (decompressed) size; the file is mapped, not copied,
  ///   when it is not compressed.
  public init(contentsOf url: URL) throws(DatasetError) {
    let path = url.path
    let data: Data
    switch contentsOfFile(at: url) {
    case .success(let contents): data = contents
    case .failure(.notFound): throw .fileNotFound(path: path, suggestion: nil)
    case .failure(.unreadable(let reason)): throw .unreadable(path: path, reason: reason)
    }
    try self.init(parsing: data, source: path)
  }

  /// Parses the bytes of an IDX file, gzipped or not.
  ///
  /// A gzipped file is inflated only as far as its header declares (see "Limits" in
  /// ``IDXArray``): the work and the memory are bounded by the declared size, by
  /// ``maximumByteCount``, and by 1032 times the compressed size (deflate's best ratio).
  ///
  /// - Parameters:
  ///   - data: The whole file.
  ///   - source: A name for the data in error messages, usually its path.
  /// - Throws: ``DatasetError/compression(path:_:)`` for a gzip stream that does not
  ///   decompress, ``DatasetError/badMagic(path:found:)``,
  ///   ``DatasetError/unsupportedType(path:code:)``, ``DatasetError/invalidHeader(path:reason:)``
  ///   for a rank of 0 or over ``maximumRank``, or sizes that overflow,
  ///   ``DatasetError/truncated(path:expectedBytes:actualBytes:)`` and
  ///   ``DatasetError/trailingBytes(path:expectedBytes:actualBytes:)`` when the length
  ///   disagrees with the header, ``DatasetError/trailingCompressedData(path:expectedBytes:)``
  ///   when gzipped data goes on past it, ``DatasetError/exceedsLimit(path:byteCount:limit:)``
  ///   past ``maximumByteCount``, ``DatasetError/outOfMemory(path:byteCount:)`` when the
  ///   system cannot allocate the declared elements.
  public init(parsing data: Data, source: String = "<memory>") throws(DatasetError) {
    let limit = Self.maximumByteCount
    if Gzip.isCompressed(data) {
      var reader: GzipReader
      do {
        reader = try GzipReader(data)
      } catch {
        throw .compression(path: source, error)
      }
      let (header, payload) = try Self.inflate(from: &reader, source: source, limit: limit)
      self.init(
        elementType: header.elementType, shape: header.shape, source: source, payload: payload)
      return
    }
    let header = try Self.parseHeader(of: data, source: source, limit: limit)
    let start = data.startIndex + header.headerByteCount
    self.init(
      elementType: header.elementType, shape: header.shape, source: source,
      payload: data[start..<(start + header.payloadByteCount)])
  }

  // MARK: Header

  private struct Header {
    var elementType: ElementType
    var shape: [Int]
    var headerByteCount: Int
    var payloadByteCount: Int
    /// The size of the whole file: header and elements, at most `Int.max`.
    var byteCount: Int { headerByteCount + payloadByteCount }
  }

  /// Reads and checks the header against the length of `bytes`, allocating nothing that the
  /// header's sizes could make large.
  private static func parseHeader(
    of bytes: Data, source: String, limit: Int
  ) throws(DatasetError) -> Header {
    let count = bytes.count
    let (elementType, rank) = try parseMagic(Array(bytes.prefix(4)), source: source)
    let headerByteCount = 4 + 4 * rank
    guard count >= headerByteCount else {
      throw .truncated(path: source, expectedBytes: headerByteCount, actualBytes: count)
    }
    let header = try parseExtents(
      Array(bytes.dropFirst(4).prefix(4 * rank)), of: elementType, source: source)
    guard count >= header.byteCount else {
      throw .truncated(path: source, expectedBytes: header.byteCount, actualBytes: count)
    }
    guard count == header.byteCount else {
      throw .trailingBytes(path: source, expectedBytes: header.byteCount, actualBytes: count)
    }
    guard header.byteCount <= limit else {
      throw .exceedsLimit(path: source, byteCount: header.byteCount, limit: limit)
    }
    return header
  }

  /// Inflates the header, then exactly the elements it declares, then checks that the data
  /// ends there.
  private static func inflate(
    from reader: inout GzipReader, source: String, limit: Int
  ) throws(DatasetError) -> (Header, Data) {
    let (elementType, rank) = try parseMagic(
      reader.read(upTo: 4, source: source), source: source)
    let extents = try reader.read(upTo: 4 * rank, source: source)
    guard extents.count == 4 * rank else {
      throw .truncated(
        path: source, expectedBytes: 4 + 4 * rank, actualBytes: 4 + extents.count)
    }
    let header = try parseExtents(extents, of: elementType, source: source)
    guard header.byteCount <= limit else {
      throw .exceedsLimit(path: source, byteCount: header.byteCount, limit: limit)
    }
    // Deflate's best ratio bounds what the data can hold, whatever the header says.
    let capacity = min(
      header.payloadByteCount, Gzip.decompressedBound(ofCompressedCount: reader.inputByteCount))
    guard let payload = ByteBuffer(capacity: capacity) else {
      throw .outOfMemory(path: source, byteCount: capacity)
    }
    var count = try reader.read(into: payload.bytes(0..<capacity), source: source)
    if count < header.payloadByteCount {
      while !reader.isAtEnd { count += try reader.read(upTo: 1 << 16, source: source).count }
      throw .truncated(
        path: source, expectedBytes: header.byteCount,
        actualBytes: header.headerByteCount + count)
    }
    guard try reader.read(upTo: 1, source: source).isEmpty else {
      throw .trailingCompressedData(path: source, expectedBytes: header.byteCount)
    }
    return (header, payload.data(count: count))
  }

  /// The element type and rank that the magic number (the first four bytes, or all of a shorter
  /// file) declares.
  private static func parseMagic(
    _ magic: [UInt8], source: String
  ) throws(DatasetError) -> (ElementType, rank: Int) {
    if magic.prefix(2).contains(where: { $0 != 0 }) {
      throw .badMagic(path: source, found: magic)
    }
    guard magic.count == 4 else {
      throw .truncated(path: source, expectedBytes: 4, actualBytes: magic.count)
    }
    guard let elementType = ElementType(rawValue: magic[2]) else {
      throw .unsupportedType(path: source, code: magic[2])
    }
    let rank = Int(magic[3])
    guard rank > 0 else {
      throw .invalidHeader(path: source, reason: "rank 0: the header declares no axes")
    }
    guard rank <= maximumRank else {
      throw .invalidHeader(
        path: source, reason: "rank \(rank): more than \(maximumRank) axes, NumPy's limit")
    }
    return (elementType, rank)
  }

  /// The header of an array of `elementType` whose big-endian extents are `bytes`, its sizes
  /// checked for overflow.
  private static func parseExtents(
    _ bytes: [UInt8], of elementType: ElementType, source: String
  ) throws(DatasetError) -> Header {
    let shape = stride(from: 0, to: bytes.count, by: 4).map { start in
      bytes[start..<(start + 4)].reduce(0) { $0 << 8 | Int($1) }
    }
    // product(shape) * size + header, each step checked: 2³² per axis overflows after two axes.
    // Zero extents count as 1 in the check, so that every stride of the shape fits in an Int
    // too: an empty array of extents [0, 2³²−1, 2³²−1, 2³²−1] would otherwise pass, and overflow
    // the first tensor operation that computes its strides.
    var total = elementType.byteCount
    for extent in shape {
      let (product, overflow) = total.multipliedReportingOverflow(by: Swift.max(extent, 1))
      guard !overflow else {
        throw .invalidHeader(
          path: source, reason: "extents \(shape) of \(elementType) exceed the addressable size")
      }
      total = product
    }
    let headerByteCount = 4 + bytes.count
    let payloadByteCount = shape.contains(0) ? 0 : total
    guard !payloadByteCount.addingReportingOverflow(headerByteCount).overflow else {
      throw .invalidHeader(
        path: source, reason: "extents \(shape) of \(elementType) exceed the addressable size")
    }
    return Header(
      elementType: elementType, shape: shape, headerByteCount: headerByteCount,
      payloadByteCount: payloadByteCount)
  }
}

extension GzipReader {
  /// ``read(into:)``, its errors those of the file at `source`.
  fileprivate mutating func read(
    into buffer: UnsafeMutableRawBufferPointer, source: String
  ) throws(DatasetError) -> Int {
    do { return try read(into: buffer) } catch { throw .compression(path: source, error) }
  }

  /// ``read(upTo:)``, its errors those of the file at `source`.
  fileprivate mutating func read(upTo count: Int, source: String) throws(DatasetError) -> [UInt8] {
    do { return try read(upTo: count) } catch { throw .compression(path: source, error) }
  }
}
