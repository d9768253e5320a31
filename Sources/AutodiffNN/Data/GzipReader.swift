// With Gzip.swift, the only file that imports zlib: readers see bytes in and bytes out.
internal import CZlib
import Foundation

/// Inflates gzip (or zlib) data in memory incrementally: each read produces only the bytes
/// asked for, so a reader can look at a file's header before it decides how much more to
/// inflate, and a small file that inflates to terabytes costs no more than what is read.
///
/// ```swift
/// var reader = try GzipReader(compressed)
/// let count = try reader.read(into: header)   // fewer than asked only at the end of the data
/// ```
///
/// It accepts what ``Gzip/decompress(_:maximumByteCount:)`` accepts: one or more gzip members,
/// optionally followed by zero bytes, or a zlib stream; each member's CRC and length are
/// checked when the read reaches its end.
struct GzipReader: ~Copyable {
  /// zlib keeps a pointer back to the stream and checks it on every call, so the stream must
  /// not move: it lives on the heap, not in a Swift variable that `&` may copy.
  private let stream: UnsafeMutablePointer<z_stream>
  private let input: Data
  /// Bytes of `input` that zlib has read.
  private var consumed = 0
  /// Decompressed bytes returned so far.
  private(set) var producedByteCount = 0
  /// Whether the data has ended: the last member's trailer was read and checked.
  private(set) var isAtEnd = false

  /// The size of the compressed input, read or not.
  var inputByteCount: Int { input.count }

  /// Prepares to inflate `data`; nothing is inflated yet.
  ///
  /// - Throws: ``GzipError/corrupt(reason:)`` when zlib cannot start (out of memory).
  init(_ data: Data) throws(GzipError) {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    // 15 + 32: a 32 KiB window, with automatic detection of a gzip or zlib header.
    guard inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
    else {
      // Before `self` is whole, so `deinit` does not run: release the stream here.
      stream.deallocate()
      throw .corrupt(reason: "zlib could not start (out of memory?)")
    }
    (self.stream, input) = (stream, data)
  }

  deinit {
    inflateEnd(stream)
    stream.deallocate()
  }

  /// Fills `buffer` with the next decompressed bytes.
  ///
  /// - Returns: The number of bytes written: `buffer.count`, or fewer when the data ends
  ///   first (then ``isAtEnd`` is true).
  /// - Throws: ``GzipError/truncated(decompressedBytes:)`` when the input ends inside a member,
  ///   ``GzipError/corrupt(reason:)`` for invalid data, a failed check, or bytes after the
  ///   last member that are neither another member nor zero padding.
  mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(GzipError) -> Int {
    var written = 0
    while written < buffer.count && !isAtEnd {
      let (status, produced, unread) = inflate(into: buffer, at: written)
      written += produced
      switch status {
      case Z_OK:
        continue
      case Z_STREAM_END:
        try endMember(unread: unread)
      case Z_BUF_ERROR:
        // No progress was possible with room in the output: the input ran out.
        if unread == 0 {
          throw .truncated(decompressedBytes: producedByteCount + written)
        }
        throw .corrupt(reason: "zlib made no progress")
      case Z_MEM_ERROR:
        throw .corrupt(reason: "zlib ran out of memory")
      case Z_NEED_DICT:
        throw .corrupt(reason: "the stream needs a preset dictionary")
      default:  // Z_DATA_ERROR, Z_STREAM_ERROR
        throw .corrupt(reason: stream.pointee.msg.map { String(cString: $0) } ?? "invalid data")
      }
    }
    producedByteCount += written
    return written
  }

  /// One call to zlib's `inflate`, from the unread input into `buffer` after `written`;
  /// returns its status, the bytes it wrote, and the input bytes left unread.
  private mutating func inflate(
    into buffer: UnsafeMutableRawBufferPointer, at written: Int
  ) -> (status: Int32, produced: Int, unread: Int) {
    let (stream, input, consumed) = (self.stream, self.input, self.consumed)
    let room = min(buffer.count - written, Int(UInt32.max))
    let (status, read) = input.withUnsafeBytes { raw in
      // `avail_in` and `avail_out` are 32 bits: inputs and outputs over 4 GiB go in pieces.
      let given = min(raw.count - consumed, Int(UInt32.max))
      stream.pointee.next_in =
        given == 0
        ? nil
        : UnsafeMutablePointer(
          mutating: raw.baseAddress!.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
      stream.pointee.avail_in = UInt32(given)
      stream.pointee.next_out = buffer.baseAddress!.advanced(by: written)
        .assumingMemoryBound(to: Bytef.self)
      stream.pointee.avail_out = UInt32(room)
      let status = CZlib.inflate(stream, Z_NO_FLUSH)
      return (status, given - Int(stream.pointee.avail_in))
    }
    self.consumed += read
    return (status, room - Int(stream.pointee.avail_out), input.count - self.consumed)
  }

  /// The next `count` decompressed bytes, or fewer when the data ends first; for small reads
  /// (headers), whose size the caller bounds.
  mutating func read(upTo count: Int) throws(GzipError) -> [UInt8] {
    assert(count <= 1 << 20, "read(upTo:) is for small reads")
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
    defer { buffer.deallocate() }
    return Array(buffer[..<(try read(into: buffer))])
  }

  /// At the end of a member: the data ends, another member follows, or only zero padding does.
  private mutating func endMember(unread: Int) throws(GzipError) {
    if unread == 0 {
      isAtEnd = true
      return
    }
    let rest = input[(input.startIndex + consumed)...]
    if rest.count >= 2 && rest[rest.startIndex] == 0x1f && rest[rest.startIndex + 1] == 0x8b {
      inflateReset(stream)  // another member follows
    } else if rest.allSatisfy({ $0 == 0 }) {
      consumed = input.count
      isAtEnd = true
    } else {
      throw .corrupt(
        reason: "\(unread) bytes after the end of the compressed stream are not gzip data")
    }
  }
}
