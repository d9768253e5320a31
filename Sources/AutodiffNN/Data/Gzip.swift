// The only file that imports zlib: everything else sees `Data` in and `Data` out, so no C type
// reaches the public interface.
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
/// each gzip trailer, so a corrupt or cut-off file throws instead of returning wrong bytes.
public enum Gzip {
  /// Whether `data` starts with the gzip magic number `1f 8b`.
  ///
  /// Readers use this, not a file's name, to decide whether to decompress.
  public static func isCompressed(_ data: Data) -> Bool {
    data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
  }

  /// Decompresses a whole gzip (or zlib) stream.
  ///
  /// - Parameter data: The compressed bytes: one or more gzip members, optionally followed by
  ///   zero bytes (tape-style padding, which `gzip -d` also ignores).
  /// - Returns: The decompressed bytes.
  /// - Throws: ``GzipError/truncated(decompressedBytes:)`` when the input ends inside the
  ///   stream, ``GzipError/corrupt(reason:)`` when it is not valid gzip data, fails its checksum,
  ///   or is followed by other bytes.
  /// - Complexity: O(*n*) in the decompressed size. The output buffer is sized from the length
  ///   recorded in the gzip trailer, so a well-formed single-member file is inflated in one pass
  ///   without reallocation.
  public static func decompress(_ data: Data) throws(GzipError) -> Data {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    // zlib keeps a pointer back to the stream and checks it on every call, so the stream must
    // not move: it lives on the heap, not in a Swift variable that `&` may copy.
    stream.initialize(to: z_stream())
    defer { stream.deallocate() }
    // 15 + 32: a 32 KiB window, with automatic detection of a gzip or zlib header.
    guard inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
    else { throw .corrupt(reason: "zlib could not start (out of memory?)") }
    defer { inflateEnd(stream) }

    var output = Data(count: initialCapacity(forCompressed: data))
    var produced = 0
    let result: Result<Void, GzipError> = data.withUnsafeBytes { input in
      var consumed = 0  // bytes of `input` handed to zlib so far, minus those it has not read
      while true {
        if stream.pointee.avail_in == 0 && consumed < input.count {
          // `avail_in` is 32 bits: feed inputs larger than 4 GiB in pieces.
          let chunk = min(input.count - consumed, Int(UInt32.max))
          stream.pointee.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress!.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
          stream.pointee.avail_in = UInt32(chunk)
          consumed += chunk
        }
        if produced == output.count {
          output.count = max(2 * output.count, 1 << 16)
        }
        let status = output.withUnsafeMutableBytes { buffer in
          let room = min(buffer.count - produced, Int(UInt32.max))
          stream.pointee.next_out = buffer.baseAddress!.advanced(by: produced)
            .assumingMemoryBound(to: Bytef.self)
          stream.pointee.avail_out = UInt32(room)
          let status = inflate(stream, Z_NO_FLUSH)
          produced += room - Int(stream.pointee.avail_out)
          return status
        }
        let unread = Int(stream.pointee.avail_in) + (input.count - consumed)
        switch status {
        case Z_OK:
          continue
        case Z_STREAM_END:
          if unread == 0 { return .success(()) }
          let rest = UnsafeRawBufferPointer(rebasing: input[(input.count - unread)...])
          if rest.count >= 2 && rest[0] == 0x1f && rest[1] == 0x8b {
            inflateReset(stream)  // another member follows; zlib keeps next_in / avail_in
            continue
          }
          if rest.allSatisfy({ $0 == 0 }) { return .success(()) }
          return .failure(
            .corrupt(
              reason: "\(unread) bytes after the end of the compressed stream are not gzip data"))
        case Z_BUF_ERROR:
          // No progress was possible: either the output is full (grow it and go on) or the
          // input ran out before the end of the stream.
          if stream.pointee.avail_out == 0 || stream.pointee.avail_in == 0 && unread > 0 {
            continue
          }
          if unread == 0 { return .failure(.truncated(decompressedBytes: produced)) }
          return .failure(.corrupt(reason: "zlib made no progress"))
        case Z_MEM_ERROR:
          return .failure(.corrupt(reason: "zlib ran out of memory"))
        case Z_NEED_DICT:
          return .failure(.corrupt(reason: "the stream needs a preset dictionary"))
        default:  // Z_DATA_ERROR, Z_STREAM_ERROR
          return .failure(.corrupt(reason: message(of: stream) ?? "invalid compressed data"))
        }
      }
    }
    try result.get()
    output.count = produced
    return output
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

  /// A first guess at the decompressed size: the length a gzip trailer records (its last four
  /// bytes, the size modulo 2³²), bounded by deflate's best ratio (1032:1) so a forged trailer
  /// cannot make us allocate much more than the data could hold.
  private static func initialCapacity(forCompressed data: Data) -> Int {
    let ceiling = data.count.multipliedReportingOverflow(by: 1032)
    let bound = ceiling.overflow ? Int.max : ceiling.partialValue + 1024
    guard isCompressed(data), data.count >= 18 else { return min(bound, 1 << 16) }
    let trailer = data.suffix(4)
    let recorded = trailer.reversed().reduce(0) { $0 << 8 | Int($1) }
    return max(min(recorded, bound), 1)
  }

  private static func message(of stream: UnsafeMutablePointer<z_stream>) -> String? {
    stream.pointee.msg.map { String(cString: $0) }
  }
}

/// Why compressed data could not be decompressed.
public enum GzipError: Error, Equatable, CustomStringConvertible {
  /// The input ended before the end of the compressed stream: the file was cut off.
  case truncated(decompressedBytes: Int)
  /// The input is not valid gzip data, or fails its CRC or length check.
  case corrupt(reason: String)

  /// What is wrong and what to do about it, in one sentence naming the file or tensor.
  public var description: String {
    switch self {
    case .truncated(let decompressedBytes):
      "gzip data ends before the end of its compressed stream (after \(decompressedBytes) "
        + "decompressed bytes): the file is truncated; copy or download it again"
    case .corrupt(let reason):
      "gzip data is corrupt (\(reason)): the file is damaged or not a gzip file; copy or "
        + "download it again"
    }
  }
}
