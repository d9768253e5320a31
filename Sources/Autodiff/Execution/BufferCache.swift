internal import Synchronization

/// Memory that freed tensors leave for new tensors of about the same size.
///
/// A training step or a gradient allocates the same buffers every time: the activations, their
/// gradients, the temporaries of elementwise rules. Returned to the system allocator, they go
/// back to the operating system as soon as the freed memory at the top of the heap passes
/// glibc's trim threshold (128 KiB), and the next step pays a system call to grow the heap again
/// and a page fault for every 4 KiB it touches (a gradient over 2²⁰ elements spent most of its
/// time there; a step of a 64-128-128-10 network, a quarter). So a freed buffer of at least
/// ``minimumByteCount`` bytes stays here, and the next tensor of its size class takes it.
///
/// Buffers come in size classes, two for each doubling: a request is rounded up to the next
/// multiple of half its power of two (2ᵖ or 1.5·2ᵖ). So tensors whose sizes differ (a batch of
/// 1,000 rows, then of 1,037) share buffers: a size that changes every step finds a buffer of
/// its class, one that a recent step used and the processor's caches still hold, where one of
/// its exact byte count would never come back and would hold memory that the system allocator,
/// without the cache, would have reused at once. Finer classes were slower than no cache when
/// the batch size changed every step (eight per doubling: 2–5% slower; two: 6–10% faster, in
/// `swift run -c release soak buffer-cache`). The price is address space: a buffer has up to
/// half again the bytes asked for, but the pages past a tensor's elements are touched only when
/// a larger tensor of the class reuses it.
///
/// The cache holds at most ``limit`` bytes; past it, it gives back to the system the buffers of
/// the class least recently used. Taking and keeping a buffer cost
/// the same whatever sizes were seen before. It is shared by all threads. Call ``clear()`` to
/// give everything back, for example after training; a limit of 0 turns it off:
///
/// ```swift
/// BufferCache.limit = 256 << 20   // keep at most 256 MiB for reuse
/// train(&model)
/// BufferCache.clear()
/// ```
public enum BufferCache {
  /// Buffers of at least this many bytes (16 KiB, 4,096 `Float`s) come from the cache; smaller
  /// ones are part of their tensor's own allocation, where the system allocator's reuse costs
  /// less than the cache's lock.
  public static let minimumByteCount = 16 << 10

  /// The most bytes the cache keeps for reuse: 1 GiB unless set. Lowering it frees the excess;
  /// 0 turns the cache off.
  public static var limit: Int {
    get { state.withOrderedLock { $0.limit } }
    set {
      check(newValue >= 0, "BufferCache.limit: \(newValue) bytes; the limit must not be negative")
      state.withOrderedLock { state in
        state.limit = newValue
        state.evict(toFit: 0)
      }
    }
  }

  /// The bytes the cache holds for reuse now.
  public static var cachedByteCount: Int { state.withOrderedLock { $0.cachedByteCount } }

  /// Gives every cached buffer back to the system.
  public static func clear() {
    state.withOrderedLock { $0.freeAll() }
  }

  /// More than the number of size classes: two for each power of two an `Int` can hold.
  static let classCount = 2 * Int.bitWidth

  /// The number of cached buffers that serve `byteCount` bytes (for tests).
  static func cachedBufferCount(byteCount: Int) -> Int {
    let byteCount = sizeClass(ofByteCount: byteCount)
    return state.withOrderedLock { $0.blockCount(byteCount: byteCount) }
  }

  /// The number of size classes the cache has an entry for (for tests).
  static var cachedSizeCount: Int { state.withOrderedLock { $0.sizeCount } }

  /// The byte count of the buffers that serve `byteCount` bytes: `byteCount` rounded up to a
  /// multiple of 2ᵖ⁻¹, where 2ᵖ ≤ `byteCount` < 2ᵖ⁺¹, so at most 2ᵖ⁻¹ more, a half. Below
  /// ``minimumByteCount`` only the small buffers of pending sums come to the cache; they follow
  /// the same rule.
  static func sizeClass(ofByteCount byteCount: Int) -> Int {
    guard byteCount > 2 else { return Swift.max(byteCount, 1) }
    let power = Int.bitWidth - 1 - byteCount.leadingZeroBitCount
    let step = 1 << (power - 1)
    return (byteCount + step - 1) & ~(step - 1)
  }

  private static let state = Mutex(FreeBlocks(limit: 1 << 30))

  /// A buffer of at least `byteCount` bytes, uninitialized: a cached one of its size class when
  /// there is one. A new one has the whole class's bytes, whether the cache is on or not: it
  /// may be kept once the cache is on, and serve any size of its class.
  static func take(byteCount: Int) -> UnsafeMutableRawPointer {
    let byteCount = sizeClass(ofByteCount: byteCount)
    let cached = state.withOrderedLock { state in state.take(byteCount: byteCount) }
    return cached?.pointer ?? .allocate(byteCount: byteCount, alignment: alignment)
  }

  /// Takes back a buffer from `take(byteCount:)`, with the same `byteCount`, that is no longer
  /// used.
  static func give(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
    let byteCount = sizeClass(ofByteCount: byteCount)
    let block = Block(pointer: pointer)
    let kept = state.withOrderedLock { state in state.keep(block, byteCount: byteCount) }
    if !kept { pointer.deallocate() }
  }

  /// A cache line: what vectorized loops want, and more than any element needs.
  private static let alignment = 64
}
