/// The heap buffer behind a tensor: one allocation holding the element count and the elements.
///
/// `Tensor` owns a `Storage` and copies it before a write when it is shared (copy-on-write), so
/// the buffer seen through `withUnsafeMutableBufferPointer` is never visible to another value.
final class Storage<Scalar: TensorScalar>: ManagedBuffer<Int, Scalar> {
  /// A buffer of `count` elements, uninitialized: the caller writes every element before reading.
  /// `Scalar` is a trivial type, so no element needs deinitializing.
  static func uninitialized(count: Int) -> Storage {
    let buffer = Storage.create(minimumCapacity: count) { _ in count }
    return unsafeDowncast(buffer, to: Storage.self)
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

  var count: Int { header }

  func copy() -> Storage { withUnsafeBufferPointer { Storage.copying($0) } }

  func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
    try withUnsafeMutablePointerToElements { try body(UnsafeBufferPointer(start: $0, count: header)) }
  }

  func withUnsafeMutableBufferPointer<R>(
    _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    try withUnsafeMutablePointerToElements {
      try body(UnsafeMutableBufferPointer(start: $0, count: header))
    }
  }
}
