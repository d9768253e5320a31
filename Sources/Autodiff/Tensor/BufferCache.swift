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
/// The cache holds at most ``limit`` bytes; past it, freed buffers go back to the system. It is
/// shared by all threads. Call ``clear()`` to give everything back, for example after training:
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

  /// The most bytes the cache keeps for reuse: 1 GiB unless set. Lowering it frees the excess.
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

  /// The number of cached buffers of `byteCount` bytes (for tests).
  static func cachedBufferCount(byteCount: Int) -> Int {
    state.withOrderedLock { $0.free.first { $0.byteCount == byteCount }?.blocks.count ?? 0 }
  }

  private static let state = Mutex(State())

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

  /// A cached block's address. Blocks are only reached under the lock.
  private struct Block: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
  }

  private struct State: ~Copyable {
    var limit = 1 << 30
    var cachedByteCount = 0
    /// The free blocks, grouped by byte count, one entry per size seen. A computation uses few
    /// sizes, so a linear search is quick, and an array's element changes in place, where a
    /// dictionary's value did not: its `_modify` accessor allocated, three mallocs for each
    /// tensor that the cache was meant to save one.
    var free: [(byteCount: Int, blocks: [Block])] = []

    mutating func take(byteCount: Int) -> Block? {
      guard let index = free.firstIndex(where: { $0.byteCount == byteCount }),
        let block = free[index].blocks.popLast()
      else { return nil }
      cachedByteCount -= byteCount
      return block
    }

    /// Keeps `block` unless it does not fit under the limit even after evicting others.
    mutating func keep(_ block: Block, byteCount: Int) -> Bool {
      guard byteCount <= limit else { return false }
      evict(toFit: byteCount)
      if let index = free.firstIndex(where: { $0.byteCount == byteCount }) {
        free[index].blocks.append(block)
      } else {
        free.append((byteCount, [block]))
      }
      cachedByteCount += byteCount
      return true
    }

    /// Frees blocks, of any size, until `byteCount` more bytes fit under the limit.
    mutating func evict(toFit byteCount: Int) {
      while cachedByteCount + byteCount > limit,
        let index = free.firstIndex(where: { !$0.blocks.isEmpty })
      {
        free[index].blocks.removeLast().pointer.deallocate()
        cachedByteCount -= free[index].byteCount
      }
    }

    mutating func freeAll() {
      for (_, blocks) in free {
        for block in blocks { block.pointer.deallocate() }
      }
      (free, cachedByteCount) = ([], 0)
    }
  }
}
