// The buffer cache: the shared cache as tensors use it, and its table of free blocks alone,
// where each test sees every block it keeps and the order of eviction.

import Foundation
import Testing

@testable import Autodiff

// Other suites allocate and free tensors at the same time, so these tests watch a size class
// that no other test uses, and the cache's invariants rather than its total.
@Suite(.serialized) struct BufferCacheTests {
  /// 3·2¹⁹ Floats, 6 MiB: above the cache's minimum, the top of its size class (4 to 6 MiB),
  /// and a class no other test allocates.
  let count = 3 << 19
  var byteCount: Int { count * MemoryLayout<Float>.stride }

  @Test(
    "A freed large buffer is reused by the next tensor of its size class; a small one is not cached"
  )
  func reuse() {
    #expect(BufferCache.sizeClass(ofByteCount: byteCount) == byteCount)
    let before = BufferCache.cachedBufferCount(byteCount: byteCount)
    do {
      let x = Tensor<Float>(repeating: 1, shape: [count])
      #expect(x.scalarCount == count)
    }
    #expect(BufferCache.cachedBufferCount(byteCount: byteCount) == before + 1)
    // A few rows fewer: the same class, so the same buffer.
    let y = Tensor<Float>(repeating: 2, shape: [count - 1000])
    #expect(BufferCache.cachedBufferCount(byteCount: byteCount) == before)
    #expect(y.scalars.allSatisfy { $0 == 2 })
    do { _ = Tensor<Float>(repeating: 1, shape: [16]) }
    #expect(BufferCache.cachedBufferCount(byteCount: 16 * 4) == 0)
  }

  @Test(
    "A pending result takes its buffer when it is computed, so each gradient reuses the last one's"
  )
  func pendingResultsTakeTheirBuffersWhenComputed() {
    let x = Tensor<Float>(shape: [count], scalars: (0..<count).map { Float($0 % 7) - 3 })
    let before = BufferCache.cachedBufferCount(byteCount: byteCount)
    do {
      // Three pending tensors, none computed, so none holds a buffer.
      let pending = relu(x) * 2 + 1
      #expect(pending.shape == [count])
    }
    #expect(BufferCache.cachedBufferCount(byteCount: byteCount) == before)
    // The expression makes a pending tensor for each operation and computes only the gradient,
    // which writes into the buffer the previous gradient gave back, still in the caches.
    let addresses = (0..<4).map { _ in
      gradient(at: x) { (relu($0).squared() + sigmoid($0)).sum() }.withUnsafeBufferPointer {
        UInt(bitPattern: $0.baseAddress)
      }
    }
    #expect(Set(addresses).count == 1)
  }

  @Test("Size classes: two for each doubling, at most a half above the request")
  func sizeClasses() {
    let minimum = BufferCache.minimumByteCount
    var previous = 0
    for byteCount in stride(from: minimum, through: 1 << 28, by: 4093) {
      let sizeClass = BufferCache.sizeClass(ofByteCount: byteCount)
      #expect(sizeClass >= byteCount && sizeClass - byteCount <= byteCount / 2)
      #expect(BufferCache.sizeClass(ofByteCount: sizeClass) == sizeClass)
      #expect(sizeClass >= previous)
      previous = sizeClass
    }
    let octave = stride(from: (1 << 20) + 1, through: 1 << 21, by: 4)
    #expect(Set(octave.map { BufferCache.sizeClass(ofByteCount: $0) }).count == 2)
    // Below the minimum (the small buffers of pending sums), the same rule.
    for (byteCount, sizeClass) in [(1, 1), (2, 2), (3, 3), (4, 4), (5, 6), (8, 8), (13, 16)] {
      #expect(BufferCache.sizeClass(ofByteCount: byteCount) == sizeClass)
    }
    #expect(BufferCache.sizeClass(ofByteCount: minimum - 4) == minimum)
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

  @Test("100,000 buffers of distinct sizes reuse the buffers of their classes")
  func manyDistinctSizes() {
    // Storages without their tensors: the cache's path without filling 21 GB of elements. The
    // sizes, 16 KiB to 416 KiB, span 11 classes.
    let sizes = (0..<100_000).map { BufferCache.minimumByteCount / 4 + $0 }
    #expect(Set(sizes.map { BufferCache.sizeClass(ofByteCount: 4 * $0) }).count == 11)
    for count in sizes {
      let storage = Storage<Float>.uninitialized(count: count)
      #expect(storage.count == count)
    }
    #expect(BufferCache.cachedBufferCount(byteCount: 4 * sizes.last!) >= 1)
    #expect(BufferCache.cachedSizeCount <= BufferCache.classCount)
    #expect(BufferCache.cachedByteCount <= BufferCache.limit)
  }
}

/// The free blocks of the cache alone, with blocks of one byte that claim the byte counts (size
/// classes: 2ᵖ or 1.5·2ᵖ) the tests give them (the table never reads a block).
@Suite struct FreeBlocksTests {
  /// A table of free blocks that frees them all when it goes. A class, because the table is not
  /// copyable and `#expect` copies what it calls.
  final class Table {
    var blocks: BufferCache.FreeBlocks

    init(limit: Int) {
      blocks = BufferCache.FreeBlocks(limit: limit)
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
  }

  static func block() -> BufferCache.Block {
    BufferCache.Block(pointer: .allocate(byteCount: 1, alignment: 1))
  }

  @Test("A kept block is taken by the next take of its byte count, the last kept first")
  func reuse() {
    let table = Table(limit: 1 << 20)
    let (first, second, other) = (Self.block(), Self.block(), Self.block())
    #expect(table.keep(first, 96))
    #expect(table.keep(second, 96))
    #expect(table.keep(other, 192))
    #expect(table.count(96) == 2)
    #expect(table.byteCount == 384)
    #expect(table.take(96)?.pointer == second.pointer)
    #expect(table.take(96)?.pointer == first.pointer)
    #expect(table.take(96) == nil)
    #expect(table.take(256) == nil)
    #expect(table.byteCount == 192)
    // The class stays listed, empty, until it is evicted.
    #expect(table.sizeCount == 2)
    first.pointer.deallocate()
    second.pointer.deallocate()
  }

  @Test("Past the limit, the least recently used class gives its blocks first")
  func evictionOrder() {
    let table = Table(limit: 1000)
    for byteCount in [256, 192, 128] { #expect(table.keep(Self.block(), byteCount)) }
    #expect(table.recency == [128, 192, 256])
    // Taking and keeping 256 makes it the most recently used: 192 is now the oldest.
    let taken = table.take(256)!
    #expect(table.keep(taken, 256))
    #expect(table.recency == [256, 128, 192])
    // 576 + 384 fits; 960 + 96 > 1000: 192's block goes, and its class stays listed, empty.
    #expect(table.keep(Self.block(), 384))
    #expect(table.keep(Self.block(), 96))
    #expect(table.recency == [96, 384, 256, 128, 192])
    #expect(table.count(192) == 0)
    #expect(table.byteCount == 864)
    // 864 + 384 > 1000: the empty 192 is taken off the list, then 128's block goes and 128
    // with it, then 256's block; 256 stays listed, empty.
    #expect(table.keep(Self.block(), 384))
    #expect(table.recency == [384, 96, 256])
    #expect(table.count(128) == 0 && table.count(256) == 0 && table.count(384) == 2)
    #expect(table.byteCount == 864)
  }

  @Test("A block over the limit is refused; a lower limit frees the excess; freeAll empties")
  func limit() {
    let table = Table(limit: 100)
    let large = Self.block()
    #expect(!table.keep(large, 128))
    large.pointer.deallocate()
    for byteCount in [32, 48] { #expect(table.keep(Self.block(), byteCount)) }
    table.blocks.limit = 60
    table.blocks.evict(toFit: 0)
    #expect(table.byteCount == 48)
    #expect(table.count(32) == 0)
    table.blocks.freeAll()
    #expect(table.byteCount == 0)
    #expect(table.sizeCount == 0)
    #expect(table.recency.isEmpty)
  }

  @Test("Every class from 1 byte to 1.5 TiB has its own slot")
  func everyClass() {
    let table = Table(limit: .max)
    let classes = (0...40).flatMap { power in power == 0 ? [1] : [1 << power, 3 << (power - 1)] }
    #expect(classes.allSatisfy { BufferCache.sizeClass(ofByteCount: $0) == $0 })
    for byteCount in classes { #expect(table.keep(Self.block(), byteCount)) }
    #expect(table.sizeCount == classes.count)
    #expect(table.recency == classes.reversed())
    for byteCount in classes { #expect(table.count(byteCount) == 1) }
    for byteCount in classes { table.take(byteCount)?.pointer.deallocate() }
    #expect(table.byteCount == 0)
  }

  @Test("100,000 keeps of cycling classes under a small limit: evicting costs O(1) a keep")
  func evictionBound() {
    let table = Table(limit: 1 << 20)
    let classes = (14...20).flatMap { [1 << $0, 3 << ($0 - 1)] }.filter { $0 <= 1 << 20 }
    let keeps = 100_000
    for i in 0..<keeps {
      let byteCount = classes[(i * 7) % classes.count]
      table.take(byteCount)?.pointer.deallocate()
      #expect(table.keep(Self.block(), byteCount))
      #expect(table.byteCount <= 1 << 20)
    }
    // Each turn of an evicting loop frees a block or takes a class off the list, and each keep
    // adds at most one of each: the turns are bounded by the keeps.
    #expect(table.blocks.evictionSteps <= 2 * keeps)
  }
}
