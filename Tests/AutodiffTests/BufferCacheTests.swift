// The buffer cache: the shared cache as tensors use it, and its table of free blocks alone,
// where each test sees every block it keeps and the order of eviction.

import Foundation
import Testing

@testable import Autodiff

// Other suites allocate and free tensors at the same time, so these tests watch a byte count
// that no other test uses, and the cache's invariants rather than its total.
@Suite(.serialized) struct BufferCacheTests {
  /// 2¹⁶ + 13 Floats: above the cache's minimum, and a size no other test allocates.
  let count = (1 << 16) + 13
  var byteCount: Int { count * MemoryLayout<Float>.stride }

  @Test(
    "A large buffer of a size seen twice is reused by the next tensor of its size; a small one is not cached"
  )
  func reuse() {
    // The first tensor of the size makes the cache remember it, the second makes it recur: its
    // buffer is kept.
    for _ in 0..<2 {
      let x = Tensor<Float>(repeating: 1, shape: [count])
      #expect(x.scalarCount == count)
    }
    let before = BufferCache.cachedBufferCount(byteCount: byteCount)
    #expect(before >= 1)
    let y = Tensor<Float>(repeating: 2, shape: [count])  // takes the cached buffer
    #expect(BufferCache.cachedBufferCount(byteCount: byteCount) == before - 1)
    #expect(y.scalars.allSatisfy { $0 == 2 })
    do { _ = Tensor<Float>(repeating: 1, shape: [16]) }
    #expect(BufferCache.cachedBufferCount(byteCount: 16 * 4) == 0)
  }

  @Test("The cache keeps at most its limit, and clear() empties it")
  func limit() {
    let saved = BufferCache.limit
    defer { BufferCache.limit = saved }
    BufferCache.limit = 3 * byteCount
    do {
      let tensors = (0..<5).map { Tensor<Float>(repeating: Float($0), shape: [count]) }
      #expect(tensors.count == 5)
    }
    #expect(BufferCache.cachedByteCount <= 3 * byteCount)
    #expect((1...3).contains(BufferCache.cachedBufferCount(byteCount: byteCount)))
    BufferCache.clear()
    #expect(BufferCache.cachedBufferCount(byteCount: byteCount) == 0)
    BufferCache.limit = 0
    do { _ = Tensor<Float>(repeating: 1, shape: [count]) }
    #expect(BufferCache.cachedByteCount == 0)
  }

  @Test("Gradients in a loop reuse their buffers: the cache does not grow from step to step")
  func steadyState() {
    var rng = SeededGenerator(seed: 3)
    let x = Tensor<Float>(randomNormal: [count], using: &rng)
    func step() { _ = gradient(at: x) { x in (relu(x).squared() + sigmoid(x)).sum() } }
    step()
    let afterOne = BufferCache.cachedBufferCount(byteCount: byteCount)
    #expect(afterOne > 0)
    for _ in 0..<5 { step() }
    #expect(BufferCache.cachedBufferCount(byteCount: byteCount) == afterOne)
  }

  @Test("Tensors made and freed on many tasks at once stay intact")
  func concurrentUse() async {
    let count = self.count
    await withTaskGroup(of: Bool.self) { group in
      for task in 0..<8 {
        group.addTask {
          var intact = true
          for step in 0..<20 {
            let value = Float(task * 100 + step)
            let x = Tensor<Float>(repeating: value, shape: [count])
            let y = x + 1
            intact = intact && y.scalars.allSatisfy { $0 == value + 1 }
          }
          return intact
        }
      }
      for await intact in group { #expect(intact) }
    }
  }

  @Test("100,000 buffers of distinct sizes leave the cache at most its bound of sizes")
  func manyDistinctSizes() {
    // Storages without their tensors: the cache's path without filling 21 GB of elements.
    for i in 0..<100_000 {
      let storage = Storage<Float>.uninitialized(count: BufferCache.minimumByteCount / 4 + i)
      #expect(storage.count > 0)
    }
    #expect(BufferCache.cachedSizeCount <= BufferCache.maximumSizeCount)
    #expect(BufferCache.cachedByteCount <= BufferCache.limit)
  }
}

/// The free blocks of the cache alone, with blocks of one byte that claim the byte counts the
/// tests give them (the table never reads a block).
@Suite struct FreeBlocksTests {
  /// A table of free blocks that frees them all when it goes. A class, because the table is not
  /// copyable and `#expect` copies what it calls.
  final class Table {
    var blocks: BufferCache.FreeBlocks

    init(limit: Int, maximumSizeCount: Int) {
      blocks = BufferCache.FreeBlocks(limit: limit, maximumSizeCount: maximumSizeCount)
    }

    deinit { blocks.freeAll() }

    func take(_ byteCount: Int) -> BufferCache.Block? { blocks.take(byteCount: byteCount) }
    func keep(_ block: BufferCache.Block, _ byteCount: Int) -> Bool {
      blocks.keep(block, byteCount: byteCount)
    }
    func count(_ byteCount: Int) -> Int { blocks.blockCount(byteCount: byteCount) }
    var byteCount: Int { blocks.cachedByteCount }
    var sizeCount: Int { blocks.sizeCount }
    var recency: [Int] { blocks.byteCountsByRecency }

    /// Makes the table remember `byteCount` as recurring: two takes that miss, as two tensors of
    /// the size made one after the other would.
    func recur(_ byteCount: Int) {
      #expect(take(byteCount) == nil)
      #expect(take(byteCount) == nil)
    }
  }

  static func block() -> BufferCache.Block {
    BufferCache.Block(pointer: .allocate(byteCount: 1, alignment: 1))
  }

  @Test("A size seen once keeps nothing; once it recurs, takes get its blocks, the last kept first")
  func reuse() {
    let table = Table(limit: 1 << 20, maximumSizeCount: 8)
    let once = Self.block()
    #expect(table.take(100) == nil)
    #expect(!table.keep(once, 100))
    once.pointer.deallocate()
    #expect(table.take(100) == nil)  // the second take: 100 recurs
    let (first, second, other) = (Self.block(), Self.block(), Self.block())
    #expect(table.keep(first, 100))
    #expect(table.keep(second, 100))
    table.recur(200)
    #expect(table.keep(other, 200))
    #expect(table.count(100) == 2)
    #expect(table.byteCount == 400)
    #expect(table.take(100)?.pointer == second.pointer)
    #expect(table.take(100)?.pointer == first.pointer)
    #expect(table.take(100) == nil)
    #expect(table.byteCount == 200)
    // The size stays known, empty, until it is evicted: its next block is kept.
    #expect(table.sizeCount == 2)
    #expect(table.keep(first, 100))
    #expect(table.count(100) == 1)
    second.pointer.deallocate()
  }

  @Test("Past the limit, the least recently used size gives its blocks first")
  func evictionOrder() {
    let table = Table(limit: 1000, maximumSizeCount: 8)
    for byteCount in [300, 301, 302] {
      table.recur(byteCount)
      #expect(table.keep(Self.block(), byteCount))
    }
    #expect(table.recency == [302, 301, 300])
    // Taking and keeping 300 makes it the most recently used: 301 is now the oldest.
    let taken = table.take(300)!
    #expect(table.keep(taken, 300))
    #expect(table.recency == [300, 302, 301])
    // 903 + 303 > 1000: 301's block goes, and its entry stays, empty.
    table.recur(303)
    #expect(table.keep(Self.block(), 303))
    #expect(table.recency == [303, 300, 302, 301])
    #expect(table.count(301) == 0)
    #expect(table.byteCount == 905)
    // 905 + 304 > 1000: the empty 301 is dropped, then 302's block goes.
    table.recur(304)
    #expect(table.keep(Self.block(), 304))
    #expect(table.recency == [304, 303, 300, 302])
    #expect(table.count(302) == 0)
    #expect(table.byteCount == 907)
  }

  @Test("A new size past the bound drops the least recently used size, with its blocks")
  func sizeBound() {
    let table = Table(limit: 1 << 20, maximumSizeCount: 3)
    for byteCount in [10, 20, 30] { table.recur(byteCount) }
    for byteCount in [10, 20, 20, 30] { #expect(table.keep(Self.block(), byteCount)) }
    let taken = table.take(10)!
    #expect(table.keep(taken, 10))
    #expect(table.recency == [10, 30, 20])
    // 40's first take makes its entry, and drops 20's, both blocks with it.
    table.recur(40)
    #expect(table.recency == [40, 10, 30])
    #expect(table.count(20) == 0)
    #expect(table.byteCount == 40)
    #expect(table.keep(Self.block(), 40))
    #expect(table.byteCount == 80)
    #expect(table.sizeCount == 3)
  }

  @Test("A block over the limit is refused; a lower limit frees the excess; freeAll empties")
  func limit() {
    let table = Table(limit: 100, maximumSizeCount: 8)
    table.recur(101)
    let large = Self.block()
    #expect(!table.keep(large, 101))
    large.pointer.deallocate()
    for byteCount in [40, 50] {
      table.recur(byteCount)
      #expect(table.keep(Self.block(), byteCount))
    }
    table.blocks.limit = 60
    table.blocks.evict(toFit: 0)
    #expect(table.byteCount == 50)
    #expect(table.count(40) == 0)
    table.blocks.freeAll()
    #expect(table.byteCount == 0)
    #expect(table.sizeCount == 0)
    #expect(table.recency.isEmpty)
  }

  @Test(
    "100,000 distinct sizes keep at most the bound of entries, and evicting costs O(1) a call",
    arguments: [1, 2])
  func distinctSizes(takesPerSize: Int) {
    let table = Table(limit: 1 << 30, maximumSizeCount: 64)
    let sizes = 100_000
    var kept = 0
    for i in 0..<sizes {
      let byteCount = BufferCache.minimumByteCount + 4 * i
      for _ in 0..<takesPerSize { #expect(table.take(byteCount) == nil) }
      let freed = Self.block()
      if table.keep(freed, byteCount) { kept += 1 } else { freed.pointer.deallocate() }
      #expect(table.sizeCount <= 64)
    }
    // Seen once, a size keeps nothing; seen twice, it keeps its block until 64 newer sizes
    // push it out.
    #expect(kept == (takesPerSize == 1 ? 0 : sizes))
    #expect(
      table.byteCount
        == (takesPerSize == 1
          ? 0
          : (0..<64).reduce(0) { total, j in
            total + BufferCache.minimumByteCount + 4 * (sizes - 1 - j)
          }))
    // Each turn of an evicting loop frees a block or drops an entry, and each call adds at most
    // one of each: the turns are bounded by the calls, whatever the sizes.
    #expect(table.blocks.evictionSteps <= sizes * (takesPerSize + 1))
    #expect(table.recency.first == BufferCache.minimumByteCount + 4 * (sizes - 1))
  }
}
