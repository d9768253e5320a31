#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The one-element storages that a thread made for scalars, kept to be used again.
///
/// A computation on scalars (the gradient of a function of a few numbers) makes a storage for
/// every result and frees it soon after. Each one went to the system allocator and back, with
/// the object's release and deinitialization on the way, and that round trip was a quarter of a
/// scalar-graph gradient. Swift frees an object when its last reference goes, so a freed storage
/// cannot be caught and kept. Instead, each thread keeps a ring of the last storages it made;
/// a new scalar takes the ring's next one when the ring is the only thing still referring to it,
/// and otherwise puts a new storage in its place.
///
/// Sharing is unchanged: the ring's reference counts like any other, so a tensor's storage is
/// never written in place while the ring holds it (copy-on-write copies it), and the ring hands
/// a storage out only when no tensor refers to it. Another thread that still reads it holds a
/// reference too. A ring holds at most ``capacity`` storages of about 50 bytes, and is freed
/// with its thread.
enum ScalarStorages {
  /// The storages in a thread's ring, for each of `Float` and `Double`.
  static let capacity = 64

  /// A one-element storage holding `value`, from this thread's ring when one is free.
  @inline(__always)
  static func make<Scalar: TensorScalar>(_ value: Scalar) -> Storage<Scalar> {
    let storage: Storage<Scalar>
    if Scalar.self == Double.self {
      storage = unsafeDowncast(take(doubleRingKey, Double.self), to: Storage<Scalar>.self)
    } else if Scalar.self == Float.self {
      storage = unsafeDowncast(take(floatRingKey, Float.self), to: Storage<Scalar>.self)
    } else {
      storage = .uninitialized(count: 1)
    }
    // A ring's storages are never pending, so the element is in the storage's own allocation.
    storage.withUnsafeMutablePointerToElements { $0.initialize(to: value) }
    return storage
  }

  /// The next storage of the ring in `key`'s slot, or a new one in its place when something else
  /// still refers to it.
  private static func take<Scalar: TensorScalar>(
    _ key: pthread_key_t, _ type: Scalar.Type
  ) -> Storage<Scalar> {
    let ring = pthread_getspecific(key).map(Ring<Scalar>.init) ?? Ring<Scalar>.make(in: key)
    let slot = ring.nextSlot()
    if isKnownUniquelyReferenced(&slot.pointee) { return slot.pointee.unsafelyUnwrapped }
    let storage = Storage<Scalar>.uninitialized(count: 1)
    slot.pointee = storage
    return storage
  }

  /// A ring: a block holding the position of the next slot, then ``capacity`` slots.
  private struct Ring<Scalar: TensorScalar> {
    let block: UnsafeMutableRawPointer

    private var cursor: UnsafeMutablePointer<Int> { block.assumingMemoryBound(to: Int.self) }

    private static var slotsOffset: Int { MemoryLayout<Int>.stride }

    private var slots: UnsafeMutablePointer<Storage<Scalar>?> {
      (block + Self.slotsOffset).assumingMemoryBound(to: Storage<Scalar>?.self)
    }

    init(_ block: UnsafeMutableRawPointer) { self.block = block }

    /// A new, empty ring, put in this thread's `key` slot.
    static func make(in key: pthread_key_t) -> Ring {
      let block = UnsafeMutableRawPointer.allocate(
        byteCount: slotsOffset + capacity * MemoryLayout<Storage<Scalar>?>.stride,
        alignment: MemoryLayout<Int>.alignment)
      block.initializeMemory(as: Int.self, repeating: 0, count: 1)
      (block + slotsOffset).initializeMemory(
        as: Storage<Scalar>?.self, repeating: nil, count: capacity)
      pthread_setspecific(key, block)
      return Ring(block)
    }

    /// The slot to use now; the next call gets the one after it.
    func nextSlot() -> UnsafeMutablePointer<Storage<Scalar>?> {
      let position = cursor.pointee
      cursor.pointee = position + 1 == capacity ? 0 : position + 1
      return slots + position
    }

    /// Releases the storages of the ring at `block`, if any, and frees it: when the thread exits.
    static func free(_ block: UnsafeMutableRawPointer?) {
      guard let block else { return }
      Ring(block).slots.deinitialize(count: capacity)
      block.deallocate()
    }
  }

  #if canImport(Darwin)
    private typealias Destructor = @convention(c) (UnsafeMutableRawPointer) -> Void
  #else
    private typealias Destructor = @convention(c) (UnsafeMutableRawPointer?) -> Void
  #endif

  private static let floatRingKey = makeKey { Ring<Float>.free($0) }
  private static let doubleRingKey = makeKey { Ring<Double>.free($0) }

  private static func makeKey(_ destructor: Destructor) -> pthread_key_t {
    var key = pthread_key_t()
    let status = pthread_key_create(&key, destructor)
    precondition(status == 0, "ScalarStorages: pthread_key_create failed with status \(status)")
    return key
  }
}
