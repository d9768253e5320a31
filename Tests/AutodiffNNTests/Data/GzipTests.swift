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

  @Test("Data that is not compressed is detected by its first bytes")
  func detection() {
    #expect(!Gzip.isCompressed(Data([0, 0, 8, 1])))
    #expect(!Gzip.isCompressed(Data([0x1f])))
    #expect(Gzip.isCompressed(Data([0x1f, 0x8b])))
  }
}
