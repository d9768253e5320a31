extension BufferCache {
  /// A cached block's address. Blocks are only reached under the cache's lock.
  struct Block: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
  }

  /// The cache's free blocks: a stack of blocks for each size class, and the classes in a list
  /// ordered by last use, so that what the cache gives back to the system first is the least
  /// recently used class's.
  ///
  /// Every byte count here is a size class's (``BufferCache/sizeClass(ofByteCount:)``): two
  /// for each doubling, so fewer than ``classCount`` in all. Each class has a fixed slot, found
  /// from the byte count's bits: a dictionary keyed by byte count hashed each key (SipHash),
  /// about 1% of the matgrad 64 benchmark's time.
  ///
  /// Every operation costs O(1) whatever the sizes seen before: a push or a pop, and a move to
  /// the front of the list. Evicting loops, but each turn frees a block or takes an emptied class
  /// off the list, and each block and each listing was added by one `keep`: the turns are O(1)
  /// per `keep`, amortized. Once a class's stack has grown to its largest, nothing here
  /// allocates.
  struct FreeBlocks: ~Copyable {
    /// The most bytes kept.
    var limit: Int

    /// The bytes of all the blocks kept.
    private(set) var cachedByteCount = 0

    /// The turns of the evicting loops so far: each frees a block or takes a class off the list
    /// (for tests of the amortized bound).
    private(set) var evictionSteps = 0

    private struct Entry {
      /// The free blocks of the class, the last kept last.
      var blocks: [Block] = []
      /// Whether the class is in the list of classes by use: from its first `keep` until
      /// eviction empties it and takes it off.
      var isListed = false
      /// The neighbouring listed classes in order of use, or `none` at either end.
      var newer = FreeBlocks.none
      var older = FreeBlocks.none
    }

    /// A slot that is no class's.
    private static var none: Int { -1 }

    /// One entry for each class, at `slot(of:)` of its byte count.
    private var entries = [Entry](repeating: Entry(), count: classCount)
    /// The ends of the list of classes by last use.
    private var newest = FreeBlocks.none
    private var oldest = FreeBlocks.none

    init(limit: Int) {
      self.limit = limit
    }

    /// The slot of the class of `byteCount` bytes: two for each power of two, the lower for
    /// 2ᵖ, the upper for 1.5·2ᵖ.
    private static func slot(of byteCount: Int) -> Int {
      assert(byteCount > 0 && sizeClass(ofByteCount: byteCount) == byteCount, "\(byteCount)")
      let power = Int.bitWidth - 1 - byteCount.leadingZeroBitCount
      return 2 * power + (byteCount > 1 << power ? 1 : 0)
    }

    /// The byte count of the class at `slot`.
    private static func byteCount(ofSlot slot: Int) -> Int {
      let power = slot / 2
      return slot % 2 == 0 ? 1 << power : 3 << (power - 1)
    }

    /// The number of classes listed by use, whether they hold blocks or not.
    var sizeCount: Int {
      var count = 0
      var slot = newest
      while slot != Self.none {
        count += 1
        slot = entries[slot].older
      }
      return count
    }

    /// The number of blocks of `byteCount` bytes kept.
    func blockCount(byteCount: Int) -> Int { entries[Self.slot(of: byteCount)].blocks.count }

    /// The byte counts of the listed classes, the most recently used first.
    var byteCountsByRecency: [Int] {
      var byteCounts: [Int] = []
      var slot = newest
      while slot != Self.none {
        byteCounts.append(Self.byteCount(ofSlot: slot))
        slot = entries[slot].older
      }
      return byteCounts
    }

    /// A kept block of `byteCount` bytes, the last kept, or nil when there is none.
    mutating func take(byteCount: Int) -> Block? {
      let slot = Self.slot(of: byteCount)
      guard let block = entries[slot].blocks.popLast() else { return nil }
      cachedByteCount -= byteCount
      moveToFront(slot)
      return block
    }

    /// Keeps `block` unless it does not fit under the limit even after evicting others.
    mutating func keep(_ block: Block, byteCount: Int) -> Bool {
      guard byteCount <= limit else { return false }
      evict(toFit: byteCount)
      let slot = Self.slot(of: byteCount)
      entries[slot].blocks.append(block)
      cachedByteCount += byteCount
      moveToFront(slot)
      return true
    }

    /// Frees blocks, the least recently used class's first, until `byteCount` more bytes fit
    /// under the limit; takes the classes it empties off the list on the way.
    mutating func evict(toFit byteCount: Int) {
      while cachedByteCount + byteCount > limit, oldest != Self.none {
        evictionSteps += 1
        if let block = entries[oldest].blocks.popLast() {
          block.pointer.deallocate()
          cachedByteCount -= Self.byteCount(ofSlot: oldest)
        } else {
          unlink(oldest)
        }
      }
    }

    /// Frees every block and takes every class off the list.
    mutating func freeAll() {
      while oldest != Self.none {
        let slot = oldest
        for block in entries[slot].blocks { block.pointer.deallocate() }
        cachedByteCount -= Self.byteCount(ofSlot: slot) * entries[slot].blocks.count
        entries[slot].blocks.removeAll(keepingCapacity: true)
        unlink(slot)
      }
    }

    // MARK: The list of classes by use

    /// Puts the class at `slot` at the front of the list, listing it if it is not.
    private mutating func moveToFront(_ slot: Int) {
      guard slot != newest else { return }
      if entries[slot].isListed { unlink(slot) }
      entries[slot].isListed = true
      entries[slot].newer = Self.none
      entries[slot].older = newest
      if newest != Self.none { entries[newest].newer = slot } else { oldest = slot }
      newest = slot
    }

    /// Takes the class at `slot` off the list.
    private mutating func unlink(_ slot: Int) {
      let (newer, older) = (entries[slot].newer, entries[slot].older)
      if newer != Self.none { entries[newer].older = older } else { newest = older }
      if older != Self.none { entries[older].newer = newer } else { oldest = newer }
      entries[slot].isListed = false
    }
  }
}
