internal import Synchronization

/// Memory that freed tensors leave for new tensors of the same size.
///
/// A training step or a gradient allocates the same buffers every time: the activations, their
/// gradients, the temporaries of elementwise rules. Returned to the system allocator, they go
/// back to the operating system as soon as the freed memory at the top of the heap passes
/// glibc's trim threshold (128 KiB), and the next step pays a system call to grow the heap again
/// and a page fault for every 4 KiB it touches (a gradient over 2²⁰ elements spent most of its
/// time there; a step of a 64-128-128-10 network, a quarter). So a freed buffer of at least
/// ``minimumByteCount`` bytes stays here, and the next tensor of the same byte count takes it.
///
/// The cache keeps the buffers of sizes that recur: a size asked for a second time. It holds at
/// most ``limit`` bytes, of at most 256 different sizes; past either, it gives back to the
/// system the buffers of the size least recently used. So sizes that never come back (a batch
/// whose row count changes every step) neither pile up nor slow it down: taking and keeping a
/// buffer cost the same whatever sizes were seen before, and a size seen once costs what it
/// would without the cache. It is shared by all threads. Call ``clear()`` to give everything
/// back, for example after training; a limit of 0 turns it off:
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

  /// The most sizes the cache remembers. A training step uses a few dozen sizes; more are
  /// sizes that changed, and the buffers of those that recurred would wait, unused, for the
  /// limit.
  static let maximumSizeCount = 256

  /// The number of cached buffers of `byteCount` bytes (for tests).
  static func cachedBufferCount(byteCount: Int) -> Int {
    state.withOrderedLock { $0.blockCount(byteCount: byteCount) }
  }

  /// The number of sizes the cache has an entry for (for tests).
  static var cachedSizeCount: Int { state.withOrderedLock { $0.sizeCount } }

  private static let state = Mutex(FreeBlocks(limit: 1 << 30, maximumSizeCount: maximumSizeCount))

  /// A buffer of `byteCount` bytes, uninitialized: a cached one when there is one.
  static func take(byteCount: Int) -> UnsafeMutableRawPointer {
    let cached = state.withOrderedLock { state in state.take(byteCount: byteCount) }
    return cached?.pointer ?? .allocate(byteCount: byteCount, alignment: alignment)
  }

  /// Takes back a buffer from `take(byteCount:)` that is no longer used.
  static func give(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
    let block = Block(pointer: pointer)
    let kept = state.withOrderedLock { state in state.keep(block, byteCount: byteCount) }
    if !kept { pointer.deallocate() }
  }

  /// A cache line: what vectorized loops want, and more than any element needs.
  private static let alignment = 64
}
