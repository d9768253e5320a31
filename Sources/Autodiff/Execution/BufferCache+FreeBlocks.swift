extension BufferCache {
  /// A cached block's address. Blocks are only reached under the cache's lock.
  struct Block: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
  }

  /// The cache's free blocks: a stack of blocks for each byte count (a size class's), found
  /// through a dictionary, and the byte counts in a list ordered by last use, so that what the
  /// cache gives back to the system first is the least recently used size's.
  ///
  /// Every operation costs O(1) whatever the sizes seen before: a dictionary lookup, a push or a
  /// pop, and a move to the front of the list. Evicting loops, but each turn frees a block or
  /// drops a size, and each block and size was added by one `keep`: the turns are O(1) per
  /// `keep`, amortized. At most `maximumSizeCount` sizes have entries; a new size past that
  /// drops the least recently used one, and its blocks.
  ///
  /// The entries live in an array, each linked to the next newer and older by index, and the
  /// dictionary maps a byte count to its entry's index: an array's element changes in place,
  /// where a dictionary's value changed through its `_modify` accessor, which allocated (three
  /// mallocs for each tensor that the cache was meant to save one). A dropped entry's slot, with
  /// its stack's memory, serves the next new size, so that once `maximumSizeCount` sizes have
  /// been seen, nothing here allocates.
  struct FreeBlocks: ~Copyable {
    /// The most bytes kept.
    var limit: Int

    /// The most sizes with an entry.
    let maximumSizeCount: Int

    /// The bytes of all the blocks kept.
    private(set) var cachedByteCount = 0

    /// The turns of the evicting loops so far: each frees a block or drops an entry (for tests
    /// of the amortized bound).
    private(set) var evictionSteps = 0

    private struct Entry {
      var byteCount: Int
      /// The free blocks of `byteCount` bytes, the last kept last.
      var blocks: [Block]
      /// The neighbouring entries in order of use, or `none` at either end.
      var newer: Int
      var older: Int
    }

    /// An index that is no entry's.
    private static var none: Int { -1 }

    /// The slots: entries in use, and vacant ones (listed in `vacant`).
    private var entries: [Entry] = []
    /// The slot of each byte count's entry.
    private var slots: [Int: Int]
    private var vacant: [Int] = []
    /// The ends of the list of entries in use, by last use.
    private var newest = FreeBlocks.none
    private var oldest = FreeBlocks.none

    init(limit: Int, maximumSizeCount: Int) {
      assert(maximumSizeCount > 0)
      self.limit = limit
      self.maximumSizeCount = maximumSizeCount
      slots = Dictionary(minimumCapacity: maximumSizeCount)
      entries.reserveCapacity(maximumSizeCount)
      vacant.reserveCapacity(maximumSizeCount)
    }

    /// The number of sizes with an entry, whether it holds blocks or not.
    var sizeCount: Int { slots.count }

    /// The number of blocks of `byteCount` bytes kept.
    func blockCount(byteCount: Int) -> Int {
      slots[byteCount].map { entries[$0].blocks.count } ?? 0
    }

    /// The byte counts with an entry, the most recently used first.
    var byteCountsByRecency: [Int] {
      var byteCounts: [Int] = []
      var slot = newest
      while slot != Self.none {
        byteCounts.append(entries[slot].byteCount)
        slot = entries[slot].older
      }
      return byteCounts
    }

    /// A kept block of `byteCount` bytes, the last kept, or nil when there is none.
    mutating func take(byteCount: Int) -> Block? {
      guard let slot = slots[byteCount], let block = entries[slot].blocks.popLast() else {
        return nil
      }
      cachedByteCount -= byteCount
      moveToFront(slot)
      return block
    }

    /// Keeps `block` unless it does not fit under the limit even after evicting others.
    mutating func keep(_ block: Block, byteCount: Int) -> Bool {
      guard byteCount <= limit else { return false }
      evict(toFit: byteCount)
      let slot = slots[byteCount] ?? insert(byteCount: byteCount)
      entries[slot].blocks.append(block)
      cachedByteCount += byteCount
      moveToFront(slot)
      return true
    }

    /// Frees blocks, the least recently used size's first, until `byteCount` more bytes fit
    /// under the limit; drops the entries it empties on the way.
    mutating func evict(toFit byteCount: Int) {
      while cachedByteCount + byteCount > limit, oldest != Self.none {
        evictionSteps += 1
        if let block = entries[oldest].blocks.popLast() {
          block.pointer.deallocate()
          cachedByteCount -= entries[oldest].byteCount
        } else {
          remove(oldest)
        }
      }
    }

    /// Frees every block and drops every entry.
    mutating func freeAll() {
      while oldest != Self.none { remove(oldest) }
    }

    // MARK: The entries

    /// A new, empty entry for `byteCount` at the front, the least recently used one dropped
    /// first when there are `maximumSizeCount`.
    private mutating func insert(byteCount: Int) -> Int {
      if slots.count == maximumSizeCount {
        evictionSteps += 1
        remove(oldest)
      }
      let slot: Int
      if let reused = vacant.popLast() {
        slot = reused
        entries[slot].byteCount = byteCount
      } else {
        slot = entries.count
        entries.append(
          Entry(byteCount: byteCount, blocks: [], newer: Self.none, older: Self.none)
        )
      }
      slots[byteCount] = slot
      link(slot)
      return slot
    }

    /// Frees the blocks of the entry at `slot` and makes its slot vacant; its stack keeps its
    /// memory for the next entry.
    private mutating func remove(_ slot: Int) {
      let byteCount = entries[slot].byteCount
      for block in entries[slot].blocks { block.pointer.deallocate() }
      cachedByteCount -= byteCount * entries[slot].blocks.count
      entries[slot].blocks.removeAll(keepingCapacity: true)
      slots.removeValue(forKey: byteCount)
      unlink(slot)
      vacant.append(slot)
    }

    private mutating func moveToFront(_ slot: Int) {
      guard slot != newest else { return }
      unlink(slot)
      link(slot)
    }

    /// Puts the entry at `slot`, in no list, at the front.
    private mutating func link(_ slot: Int) {
      entries[slot].newer = Self.none
      entries[slot].older = newest
      if newest != Self.none { entries[newest].newer = slot } else { oldest = slot }
      newest = slot
    }

    /// Takes the entry at `slot` out of the list.
    private mutating func unlink(_ slot: Int) {
      let (newer, older) = (entries[slot].newer, entries[slot].older)
      if newer != Self.none { entries[newer].older = older } else { newest = older }
      if older != Self.none { entries[older].newer = newer } else { oldest = newer }
    }
  }
}
