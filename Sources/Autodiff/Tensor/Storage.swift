/// The heap buffer behind a tensor.
///
/// A small buffer is one allocation holding the header and the elements. A large one (at least
/// ``BufferCache/minimumByteCount``) takes its elements from the ``BufferCache`` and gives them
/// back when freed, so that a training step or a gradient over big tensors reuses the memory of
/// the previous one instead of asking the system for fresh pages each time.
///
/// `Tensor` owns a `Storage` and copies it before a write when it is shared (copy-on-write), so
/// the buffer seen through `withUnsafeMutableBufferPointer` is never visible to another value.
final class Storage<Scalar: TensorScalar>: ManagedBuffer<StorageHeader<Scalar>, Scalar> {
  /// A buffer of `count` elements, uninitialized: the caller writes every element before reading.
  /// `Scalar` is a trivial type, so no element needs deinitializing.
  static func uninitialized(count: Int) -> Storage {
    let byteCount = count * MemoryLayout<Scalar>.stride
    let buffer: ManagedBuffer<StorageHeader<Scalar>, Scalar>
    if byteCount >= BufferCache.minimumByteCount {
      let elements = BufferCache.take(byteCount: byteCount).bindMemory(to: Scalar.self, capacity: count)
      buffer = Storage.create(minimumCapacity: 0) { _ in StorageHeader(count: count, cached: elements) }
    } else {
      buffer = Storage.create(minimumCapacity: count) { _ in StorageHeader(count: count, cached: nil) }
    }
    return unsafeDowncast(buffer, to: Storage.self)
  }

  deinit {
    if let cached = storedHeader.cached {
      BufferCache.give(UnsafeMutableRawPointer(cached), byteCount: count * MemoryLayout<Scalar>.stride)
    }
  }

  static func repeating(_ value: Scalar, count: Int) -> Storage {
    let storage = uninitialized(count: count)
    storage.withUnsafeMutableBufferPointer { $0.initialize(repeating: value) }
    return storage
  }

  static func copying(_ source: UnsafeBufferPointer<Scalar>) -> Storage {
    let storage = uninitialized(count: source.count)
    storage.withUnsafeMutableBufferPointer { _ = $0.initialize(fromContentsOf: source) }
    return storage
  }

  var count: Int { storedHeader.count }

  /// The header, read through its pointer: ManagedBuffer's `header` property pays a dynamic
  /// exclusivity check on every read (about 40 per scalar-graph gradient), and the header is
  /// never written after creation.
  private var storedHeader: StorageHeader<Scalar> {
    withUnsafeMutablePointerToHeader { $0.pointee }
  }

  func copy() -> Storage { withUnsafeBufferPointer { Storage.copying($0) } }

  func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
    try withUnsafeMutableBufferPointer { try body(UnsafeBufferPointer($0)) }
  }

  func withUnsafeMutableBufferPointer<R>(
    _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    let header = storedHeader
    if let cached = header.cached {
      return try body(UnsafeMutableBufferPointer(start: cached, count: header.count))
    }
    return try withUnsafeMutablePointerToElements {
      try body(UnsafeMutableBufferPointer(start: $0, count: header.count))
    }
  }
}

/// A storage's element count, and where its elements are when they are not inline: a block of
/// the buffer cache.
struct StorageHeader<Scalar> {
  let count: Int
  let cached: UnsafeMutablePointer<Scalar>?
}
