import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Bytes on the heap whose allocation may fail without stopping the program.
///
/// Readers size buffers from what a file declares; under a memory limit (`ulimit -v`, a
/// container's) a large declared size must become a typed error, not a crash in
/// `Data(count:)`, which cannot fail. `malloc` and `realloc` return `nil` instead.
struct ByteBuffer: ~Copyable {
  /// The start of the bytes; never null, even for a capacity of 0.
  private(set) var baseAddress: UnsafeMutableRawPointer
  /// The number of bytes allocated.
  private(set) var capacity: Int

  /// Allocates `capacity` uninitialized bytes, or returns `nil` when the system cannot.
  init?(capacity: Int) {
    assert(capacity >= 0)
    guard let base = malloc(Swift.max(capacity, 1)) else { return nil }
    (baseAddress, self.capacity) = (base, capacity)
  }

  deinit { free(baseAddress) }

  /// Grows (or shrinks) the allocation to `newCapacity` bytes, keeping the first
  /// `min(capacity, newCapacity)`; returns `false`, changing nothing, when the system cannot.
  mutating func reallocate(to newCapacity: Int) -> Bool {
    guard let base = realloc(baseAddress, Swift.max(newCapacity, 1)) else { return false }
    (baseAddress, capacity) = (base, newCapacity)
    return true
  }

  /// The bytes `range` of the buffer, for a reader to fill.
  func bytes(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer {
    assert(range.lowerBound >= 0 && range.upperBound <= capacity)
    return UnsafeMutableRawBufferPointer(
      start: baseAddress + range.lowerBound, count: range.count)
  }

  /// The first `count` bytes as `Data`, which takes over the allocation without copying it.
  consuming func data(count: Int) -> Data {
    assert(count <= capacity)
    let base = baseAddress
    discard self
    guard count > 0 else {
      free(base)
      return Data()
    }
    return Data(bytesNoCopy: base, count: count, deallocator: .free)
  }
}
