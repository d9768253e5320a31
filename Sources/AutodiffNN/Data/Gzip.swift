// With GzipReader.swift, the only file that imports zlib: everything else sees `Data` in and
// `Data` out, so no C type reaches the public interface.
internal import CZlib
import Foundation

/// Whole-buffer gzip compression and decompression, on zlib.
///
/// ```swift
/// let packed = Gzip.compress(Data("hello".utf8))
/// let bytes = try Gzip.decompress(packed)        // Data("hello".utf8)
/// ```
///
/// Decompression accepts a gzip file as `gzip` writes it (also one of several members, one after
/// the other, as `cat a.gz b.gz` makes), and a zlib stream; it checks the CRC and the length in
/// each gzip trailer, so a corrupt or cut-off file throws instead of returning wrong bytes. Give
/// it a `maximumByteCount` for data you do not trust: a 4 MB file can inflate to 4 GB.
public enum Gzip {
  /// Whether `data` starts with the gzip magic number `1f 8b`.
  ///
  /// Readers use this, not a file's name, to decide whether to decompress.
  public static func isCompressed(_ data: Data) -> Bool {
    data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
  }

  /// Decompresses a whole gzip (or zlib) stream.
  ///
  /// - Parameters:
  ///   - data: The compressed bytes: one or more gzip members, optionally followed by zero
  ///     bytes (tape-style padding, which `gzip -d` also ignores).
  ///   - maximumByteCount: The most decompressed bytes accepted. Decompression stops as soon as
  ///     the output would exceed it, so a small file that inflates to terabytes (a
  ///     "decompression bomb") costs no more than this much memory and time.
  /// - Returns: The decompressed bytes.
  /// - Throws: ``GzipError/truncated(decompressedBytes:)`` when the input ends inside the
  ///   stream, ``GzipError/corrupt(reason:)`` when it is not valid gzip data, fails its checksum,
  ///   or is followed by other bytes, ``GzipError/exceedsLimit(limit:)`` past
  ///   `maximumByteCount`, ``GzipError/outOfMemory(byteCount:)`` when the system cannot
  ///   allocate the output.
  /// - Precondition: `maximumByteCount` is not negative.
  /// - Complexity: O(*n*) in the decompressed size. The first buffer is sized from the length
  ///   recorded in the gzip trailer (bounded by deflate's best ratio, by `maximumByteCount` and
  ///   by 256 MiB, since anyone can forge a trailer), so a well-formed file of up to 256 MiB is
  ///   inflated in one pass without reallocation.
  public static func decompress(
    _ data: Data, maximumByteCount: Int = .max
  ) throws(GzipError) -> Data {
    requireNN(
      maximumByteCount >= 0,
      "Gzip.decompress: maximumByteCount is \(maximumByteCount); it must not be negative")
    var reader = try GzipReader(data)
    let first = min(initialCapacity(forCompressed: data), maximumByteCount)
    guard var output = ByteBuffer(capacity: first) else { throw .outOfMemory(byteCount: first) }
    var produced = 0
    while !reader.isAtEnd {
      if produced == output.capacity {
        if output.capacity == maximumByteCount {
          // Full at the limit: the data must end here.
          if try !reader.read(upTo: 1).isEmpty { throw .exceedsLimit(limit: maximumByteCount) }
          break
        }
        let grown = min(max(2 * output.capacity, 1 << 16), maximumByteCount)
        guard output.reallocate(to: grown) else { throw .outOfMemory(byteCount: grown) }
      }
      produced += try reader.read(into: output.bytes(produced..<output.capacity))
    }
    return output.data(count: produced)
  }

  /// Compresses `data` into a single gzip member, as `gzip` would write it.
  ///
  /// - Parameters:
  ///   - data: The bytes to compress.
  ///   - level: zlib's compression level, from 0 (store) to 9 (smallest); 6 is `gzip`'s default.
  /// - Returns: A complete gzip file: header, deflate stream, CRC-32 and length trailer.
  /// - Precondition: `level` is in `0...9`.
  public static func compress(_ data: Data, level: Int = 6) -> Data {
    guard (0...9).contains(level) else {
      fatalError("Gzip.compress: level \(level) is outside 0...9")
    }
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer { stream.deallocate() }
    // 15 + 16: a 32 KiB window and a gzip (not zlib) wrapper; memory level 8 is zlib's default.
    let status = deflateInit2_(
      stream, Int32(level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
      Int32(MemoryLayout<z_stream>.size))
    guard status == Z_OK else { fatalError("Gzip.compress: deflateInit2 failed (\(status))") }
    defer { deflateEnd(stream) }

    var output = Data(count: Int(deflateBound(stream, UInt(data.count))) + 64)
    var produced = 0
    data.withUnsafeBytes { input in
      var consumed = 0
      while true {
        if stream.pointee.avail_in == 0 && consumed < input.count {
          let chunk = min(input.count - consumed, Int(UInt32.max))
          stream.pointee.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress!.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
          stream.pointee.avail_in = UInt32(chunk)
          consumed += chunk
        }
        if produced == output.count { output.count *= 2 }
        let finishing = consumed == input.count
        let status = output.withUnsafeMutableBytes { buffer in
          let room = min(buffer.count - produced, Int(UInt32.max))
          stream.pointee.next_out = buffer.baseAddress!.advanced(by: produced)
            .assumingMemoryBound(to: Bytef.self)
          stream.pointee.avail_out = UInt32(room)
          let status = deflate(stream, finishing ? Z_FINISH : Z_NO_FLUSH)
          produced += room - Int(stream.pointee.avail_out)
          return status
        }
        if status == Z_STREAM_END { return }
        // Z_BUF_ERROR only means "no progress this call" (output full); anything else is a bug.
        assert(status == Z_OK || status == Z_BUF_ERROR, "deflate returned \(status)")
      }
    }
    output.count = produced
    return output
  }

  /// The most bytes `count` compressed bytes can inflate to: deflate's best ratio is 1032:1
  /// (a 258-byte match in a 2-bit code), and a gzip or zlib wrapper only adds input.
  static func decompressedBound(ofCompressedCount count: Int) -> Int {
    let (ceiling, overflow) = count.multipliedReportingOverflow(by: 1032)
    return overflow ? Int.max : ceiling + 1024
  }

  /// A first guess at the decompressed size: the length a gzip trailer records (its last four
  /// bytes, the size modulo 2³²), which anyone can forge, so bounded by what the data could
  /// hold and by 256 MiB; larger outputs grow by doubling.
  private static func initialCapacity(forCompressed data: Data) -> Int {
    let bound = min(decompressedBound(ofCompressedCount: data.count), 1 << 28)
    guard isCompressed(data), data.count >= 18 else { return min(bound, 1 << 16) }
    let trailer = data.suffix(4)
    let recorded = trailer.reversed().reduce(0) { $0 << 8 | Int($1) }
    return max(min(recorded, bound), 1)
  }
}

/// Why compressed data could not be decompressed.
public enum GzipError: Error, Equatable, CustomStringConvertible {
  /// The input ended before the end of the compressed stream: the file was cut off.
  case truncated(decompressedBytes: Int)
  /// The input is not valid gzip data, or fails its CRC or length check.
  case corrupt(reason: String)
  /// The data decompresses to more than `limit` bytes, the most the caller accepts.
  case exceedsLimit(limit: Int)
  /// The system could not allocate `byteCount` bytes for the decompressed data.
  case outOfMemory(byteCount: Int)

  /// What is wrong and what to do about it, in one sentence naming the file or tensor.
  public var description: String {
    switch self {
    case .truncated(let decompressedBytes):
      "gzip data ends before the end of its compressed stream (after \(decompressedBytes) "
        + "decompressed bytes): the file is truncated; copy or download it again"
    case .corrupt(let reason):
      "gzip data is corrupt (\(reason)): the file is damaged or not a gzip file; copy or "
        + "download it again"
    case .exceedsLimit(let limit):
      "gzip data decompresses to more than \(limit) bytes, the limit given, and was not "
        + "decompressed further: raise the limit if the file is trusted; otherwise it is "
        + "corrupt or a decompression bomb"
    case .outOfMemory(let byteCount):
      "cannot allocate \(byteCount) bytes for decompressed gzip data: free memory or raise the "
        + "process's memory limit"
    }
  }
}
