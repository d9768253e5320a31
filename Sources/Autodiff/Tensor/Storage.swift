/// The heap buffer behind a tensor.
///
/// A small buffer is one allocation holding the header and the elements. A large one (at least
/// ``BufferCache/minimumByteCount``) takes its elements from the ``BufferCache`` and gives them
/// back when freed, so that a training step or a gradient over big tensors reuses the memory of
/// the previous one instead of asking the system for fresh pages each time.
///
/// A large buffer may also be *pending*: its elements are the result of an elementwise operation
/// that has not run yet (Execution/Fusion/). The first access computes them, once, under a lock, so
/// every reader sees the same elements whichever thread reads first.
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
      let elements = BufferCache.take(byteCount: byteCount).bindMemory(
        to: Scalar.self, capacity: count)
      buffer = Storage.create(minimumCapacity: 0) { _ in
        StorageHeader(count: count, cached: elements, pending: nil)
      }
    } else {
      buffer = Storage.create(minimumCapacity: count) { _ in
        StorageHeader(count: count, cached: nil, pending: nil)
      }
    }
    return unsafeDowncast(buffer, to: Storage.self)
  }

  /// A buffer of `count` elements (at least ``Fusion/minimumCount``, or one for a sum) that
  /// `operation`, of `cost` operations, computes when they are first read. Its elements are a
  /// block of the buffer cache whatever its size, which its `PendingElements` takes when it
  /// computes them and gives back when freed.
  static func pending(count: Int, _ operation: PendingOperation<Scalar>, cost: Int) -> Storage {
    let pending = PendingElements(operation, count: count, cost: cost)
    let buffer = Storage.create(minimumCapacity: 0) { _ in
      StorageHeader(count: count, cached: nil, pending: pending)
    }
    return unsafeDowncast(buffer, to: Storage.self)
  }

  deinit {
    if let cached {
      BufferCache.give(
        UnsafeMutableRawPointer(cached), byteCount: count * MemoryLayout<Scalar>.stride)
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

  // The header's fields are read through its pointer: ManagedBuffer's `header` property pays a
  // dynamic exclusivity check on every read (about 40 per scalar-graph gradient), and the header
  // is never written after creation. Each is read alone, so that reading the count or the
  // pointer does not retain the pending operation.

  var count: Int { withUnsafeMutablePointerToHeader { $0.pointee.count } }

  private var cached: UnsafeMutablePointer<Scalar>? {
    withUnsafeMutablePointerToHeader { $0.pointee.cached }
  }

  /// The elements' address when they are not inline: a computed buffer's block, or a pending
  /// one's, computed first.
  private var outOfLine: UnsafeMutablePointer<Scalar>? {
    cached ?? pendingElements?.computed()
  }

  /// The operation that computes the elements, until it has run.
  private var pendingElements: PendingElements<Scalar>? {
    withUnsafeMutablePointerToHeader { $0.pointee.pending }
  }

  /// The operation that computes the elements, or `nil` when they are computed.
  var pendingOperation: PendingOperation<Scalar>? { pendingElements?.remaining }

  /// The number of elementwise operations that computing the elements takes, for bounding an
  /// expression: 0 when they are computed, and for a pending fill, which takes none (whether the
  /// elements are pending is `isPending`).
  var pendingCost: Int { pendingElements?.remainingCost ?? 0 }

  /// Whether the elements are still to be computed.
  var isPending: Bool { pendingElements?.remaining != nil }

  /// Calls `body` under the lock of the pending elements with their operation (`nil` once
  /// computed; `body` sets it to `nil` when it has computed them), their address and count, if
  /// no other thread holds the lock; returns `nil`, without waiting, when one does.
  ///
  /// - Precondition: The storage is pending or was.
  func withPendingOperationIfAvailable<R>(
    _ body: (inout PendingOperation<Scalar>?, UnsafeMutablePointer<Scalar>, Int) -> R
  ) -> R? {
    guard let pending = pendingElements else {
      preconditionFailure("withPendingOperationIfAvailable: the storage was never pending")
    }
    let count = count
    return pending.withOperationIfAvailable { body(&$0, $1, count) }
  }

  /// Computes the elements now if they are pending.
  func materialize() {
    _ = pendingElements?.computed()
  }

  /// The first element's address, for a fused program that keeps this storage alive while it
  /// reads. The elements must be computed.
  var unsafeElements: UnsafePointer<Scalar> {
    if let elements = outOfLine { return UnsafePointer(elements) }
    return withUnsafeMutablePointerToElements { UnsafePointer($0) }
  }

  /// The first element, computed first if it is pending: a scalar's value, read without the
  /// closures of `withUnsafeBufferPointer`, which made the reader copy its tensor (scalar-graph
  /// benchmark).
  var first: Scalar {
    if let elements = outOfLine { return elements.pointee }
    return withUnsafeMutablePointerToElements { $0.pointee }
  }

  func copy() -> Storage { withUnsafeBufferPointer { Storage.copying($0) } }

  func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
    try withUnsafeMutableBufferPointer { try body(UnsafeBufferPointer($0)) }
  }

  func withUnsafeMutableBufferPointer<R>(
    _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    let count = count
    if let elements = outOfLine {
      return try body(UnsafeMutableBufferPointer(start: elements, count: count))
    }
    return try withUnsafeMutablePointerToElements {
      try body(UnsafeMutableBufferPointer(start: $0, count: count))
    }
  }
}

/// A storage's element count, where its elements are when they are computed and not inline (a
/// block of the buffer cache), and what computes them when they are pending (and holds their
/// block: see `PendingElements`).
struct StorageHeader<Scalar: TensorScalar> {
  let count: Int
  let cached: UnsafeMutablePointer<Scalar>?
  let pending: PendingElements<Scalar>?
}
