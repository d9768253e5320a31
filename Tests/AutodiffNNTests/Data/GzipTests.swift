import AutodiffNN
import Foundation
import Testing

@Suite struct GzipTests {
  /// Bytes of a fixed pseudo-random pattern, compressible but not trivially so.
  static func sample(count: Int) -> Data {
    var generator = SeededGenerator(seed: UInt64(count))
    return Data((0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next() % 16) })
  }

  @Test("Decompressing what compress wrote gives back the bytes", arguments: [0, 1, 1000, 300_000])
  func roundTrip(count: Int) throws {
    let original = Self.sample(count: count)
    let packed = Gzip.compress(original)
    #expect(Gzip.isCompressed(packed))
    #expect(try Gzip.decompress(packed) == original)
  }

  @Test("Concatenated gzip members decompress to the concatenation, as gzip -d does")
  func multipleMembers() throws {
    let (first, second) = (Self.sample(count: 500), Self.sample(count: 700))
    let packed = Gzip.compress(first) + Gzip.compress(second) + Data(count: 16)  // zero padding
    #expect(try Gzip.decompress(packed) == first + second)
  }

  @Test("A cut-off stream throws truncated")
  func truncatedStream() {
    let packed = Gzip.compress(Self.sample(count: 10_000))
    let error = #expect(throws: GzipError.self) {
      try Gzip.decompress(packed.prefix(packed.count / 2))
    }
    guard case .truncated? = error else {
      Issue.record("expected .truncated, got \(String(describing: error))")
      return
    }
    #expect(error!.description.contains("truncated"))
  }

  @Test("Empty input is a truncated stream, not an empty result")
  func emptyInput() {
    #expect(throws: GzipError.truncated(decompressedBytes: 0)) { try Gzip.decompress(Data()) }
  }

  @Test("A damaged byte fails the checks and throws corrupt")
  func corruptStream() {
    var packed = Gzip.compress(Self.sample(count: 10_000))
    packed[packed.count - 6] ^= 0xFF  // inside the CRC-32 of the trailer
    let error = #expect(throws: GzipError.self) { try Gzip.decompress(packed) }
    guard case .corrupt(let reason)? = error else {
      Issue.record("expected .corrupt, got \(String(describing: error))")
      return
    }
    #expect(reason.contains("check"))
    #expect(error!.description.contains("corrupt"))
  }

  @Test("Garbage after the stream is reported, not silently ignored")
  func trailingGarbage() {
    let packed = Gzip.compress(Self.sample(count: 100)) + Data("junk".utf8)
    let error = #expect(throws: GzipError.self) { try Gzip.decompress(packed) }
    guard case .corrupt(let reason)? = error else {
      Issue.record("expected .corrupt, got \(String(describing: error))")
      return
    }
    #expect(reason.contains("4 bytes"))
  }

  @Test("Decompression stops at maximumByteCount: the exact size reads, one byte less throws")
  func limit() throws {
    let original = Self.sample(count: 100_000)
    let packed = Gzip.compress(original)
    #expect(try Gzip.decompress(packed, maximumByteCount: 100_000) == original)
    let error = #expect(throws: GzipError.self) {
      try Gzip.decompress(packed, maximumByteCount: 99_999)
    }
    #expect(error == .exceedsLimit(limit: 99_999))
    #expect(error?.description.contains("raise the limit") == true)
    #expect(try Gzip.decompress(Gzip.compress(Data()), maximumByteCount: 0) == Data())
  }

  @Test("A forged trailer announcing 4 GiB − 1 bytes neither allocates them nor fools the checks")
  func forgedTrailer() {
    var packed = Gzip.compress(Self.sample(count: 1000))
    packed.replaceSubrange((packed.count - 4)..., with: [0xFF, 0xFF, 0xFF, 0xFF])
    let error = #expect(throws: GzipError.self) { try Gzip.decompress(packed) }
    guard case .corrupt? = error else {
      Issue.record("expected .corrupt, got \(String(describing: error))")
      return
    }
  }

  @Test("A bomb of 1 GiB of zeros in many members throws at a 1 MiB limit")
  func bombAtLimit() {
    let zeros = Gzip.compress(Data(count: 1 << 24), level: 9)
    let bomb = Data((0..<64).flatMap { _ in zeros })
    #expect(throws: GzipError.exceedsLimit(limit: 1 << 20)) {
      try Gzip.decompress(bomb, maximumByteCount: 1 << 20)
    }
  }

  @Test("A negative maximumByteCount stops with the value")
  func negativeLimit() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Gzip.decompress(Data(), maximumByteCount: -1)
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("Gzip.decompress") && message.contains("-1"))
  }

  @Test("Data that is not compressed is detected by its first bytes")
  func detection() {
    #expect(!Gzip.isCompressed(Data([0, 0, 8, 1])))
    #expect(!Gzip.isCompressed(Data([0x1f])))
    #expect(Gzip.isCompressed(Data([0x1f, 0x8b])))
  }
}
