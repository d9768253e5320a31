/// A growable array that a tape owns alone and empties for reuse: its nodes and scalar records.
///
/// `Array.removeAll(keepingCapacity:)` ran unspecialized here, looking up type metadata at each
/// call: about 800 instructions per array per gradient, in the scalar-graph benchmark, where a
/// tape is emptied after every gradient (`Tape.keepAsSpare()`). This one is emptied by
/// deinitializing its elements in place.
struct TapeBuffer<Element>: ~Copyable {
  private var elements: UnsafeMutablePointer<Element>
  private var capacity: Int
  private(set) var count = 0

  init(capacity: Int) {
    self.capacity = Swift.max(capacity, 1)
    elements = .allocate(capacity: self.capacity)
  }

  deinit {
    elements.deinitialize(count: count)
    elements.deallocate()
  }

  var indices: Range<Int> { 0..<count }

  subscript(position: Int) -> Element {
    precondition(position >= 0 && position < count, "TapeBuffer: index \(position) of \(count)")
    return elements[position]
  }

  mutating func append(_ element: consuming Element) {
    if count == capacity {
      capacity *= 2
      let grown = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
      grown.moveInitialize(from: elements, count: count)
      elements.deallocate()
      elements = grown
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
