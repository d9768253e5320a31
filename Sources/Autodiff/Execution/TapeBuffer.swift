#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A growable array that a tape owns alone and empties for reuse: its nodes and scalar records.
///
/// A tape is emptied after every gradient (`Tape.keepAsSpare()`), so emptying must cost no more
/// than deinitializing the elements: `Array.removeAll(keepingCapacity:)` ran unspecialized here,
/// looking up type metadata at each call. This one deinitializes its elements in place.
///
/// Its blocks come from `allocateTapeBlock(byteCount:)`. Growing moves the elements bit for bit,
/// as the tape's entries and records allow.
struct TapeBuffer<Element>: ~Copyable {
  private var elements: UnsafeMutablePointer<Element>
  private var capacity: Int
  private(set) var count = 0

  init(capacity: Int) {
    assert(_isBitwiseTakable(Element.self), "TapeBuffer: \(Element.self) cannot move bitwise")
    assert(MemoryLayout<Element>.alignment <= 16, "TapeBuffer: \(Element.self) is overaligned")
    self.capacity = Swift.max(capacity, 1)
    elements = Self.allocate(capacity: self.capacity)
  }

  deinit {
    elements.deinitialize(count: count)
    Self.deallocate(elements, capacity: capacity)
  }

  private static func allocate(capacity: Int) -> UnsafeMutablePointer<Element> {
    allocateTapeBlock(byteCount: byteCount(capacity: capacity))
      .bindMemory(to: Element.self, capacity: capacity)
  }

  private static func deallocate(_ elements: UnsafeMutablePointer<Element>, capacity: Int) {
    deallocateTapeBlock(elements, byteCount: byteCount(capacity: capacity))
  }

  private static func byteCount(capacity: Int) -> Int {
    let (byteCount, overflow) = capacity.multipliedReportingOverflow(
      by: MemoryLayout<Element>.stride)
    guard !overflow else { fatalError("TapeBuffer: \(capacity) elements of \(Element.self)") }
    return Swift.max(byteCount, 1)
  }

  var indices: Range<Int> { 0..<count }

  subscript(position: Int) -> Element {
    precondition(position >= 0 && position < count, "TapeBuffer: index \(position) of \(count)")
    return elements[position]
  }

  mutating func append(_ element: consuming Element) {
    if count == capacity {
      let grown = Self.allocate(capacity: capacity * 2)
      grown.moveInitialize(from: elements, count: count)
      Self.deallocate(elements, capacity: capacity)
      (elements, capacity) = (grown, capacity * 2)
    }
    (elements + count).initialize(to: element)
    count += 1
  }

  /// Deinitializes every element, keeping the capacity.
  mutating func removeAll() {
    elements.deinitialize(count: count)
    count = 0
  }

  /// Forgets every element, keeping the capacity, for elements that need no deinitializing
  /// (plain values): from unspecialized code, `removeAll()` looked up the elements' type
  /// metadata to find that out.
  @inline(__always)
  mutating func removeAllTrivial() {
    assert(_isPOD(Element.self), "removeAllTrivial: \(Element.self) needs deinitializing")
    count = 0
  }
}

/// The smallest block of a tape's memory mapped from the system rather than taken from `malloc`.
private let smallestMappedByteCount = 1 << 20

/// A block for memory whose size follows the tape's length (its entries and records, a sweep's
/// slots), uninitialized: from a megabyte on, pages mapped from the system (`mmap`), which go back
/// to it when freed.
///
/// From `malloc`, freeing each large block raised glibc's threshold for mapping, so that the next
/// tape's blocks came from the heap, which kept them resident after they were freed: a second tape
/// of a million operations peaked 11–17% above the first (`swift run soak graph`), though both
/// were freed.
func allocateTapeBlock(byteCount: Int) -> UnsafeMutableRawPointer {
  var block: UnsafeMutableRawPointer?
  #if canImport(Glibc) || canImport(Musl)
    if byteCount >= smallestMappedByteCount {
      let mapped = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
      block = mapped == MAP_FAILED ? nil : mapped
    } else {
      block = malloc(byteCount)
    }
  #else
    block = malloc(byteCount)
  #endif
  guard let block else { fatalError("Tape: cannot allocate \(byteCount) bytes") }
  return block
}

/// Frees a block of `allocateTapeBlock(byteCount:)`, given the same `byteCount`.
func deallocateTapeBlock(_ block: UnsafeMutableRawPointer, byteCount: Int) {
  #if canImport(Glibc) || canImport(Musl)
    if byteCount >= smallestMappedByteCount {
      munmap(block, byteCount)
      return
    }
  #endif
  free(block)
}

/// Calls `body` with uninitialized room for `capacity` elements: on the stack when small, else a
/// tape block (see `allocateTapeBlock(byteCount:)`).
func withTapeScratch<T, R>(
  of type: T.Type, capacity: Int, _ body: (UnsafeMutableBufferPointer<T>) -> R
) -> R {
  let byteCount = capacity * MemoryLayout<T>.stride
  guard byteCount >= smallestMappedByteCount else {
    return withUnsafeTemporaryAllocation(of: T.self, capacity: capacity, body)
  }
  let block = allocateTapeBlock(byteCount: byteCount)
  defer { deallocateTapeBlock(block, byteCount: byteCount) }
  return body(
    UnsafeMutableBufferPointer(
      start: block.bindMemory(to: T.self, capacity: capacity), count: capacity))
}
