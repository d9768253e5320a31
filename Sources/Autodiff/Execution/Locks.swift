internal import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// The standard library's `Mutex` locks with atomics and futexes that ThreadSanitizer does not
// see, so a program run under it (`swift test --sanitize=thread`) saw races between accesses
// that the lock orders: the buffer cache's lists, a pending tensor's operation. The library's
// locks tell ThreadSanitizer the order themselves, when it is there.

extension Mutex where Value: ~Copyable {
  /// `withLock(_:)`, with the lock's ordering told to ThreadSanitizer when the process runs
  /// under it.
  borrowing func withOrderedLock<Result>(
    _ body: (inout sending Value) -> sending Result
  ) -> sending Result {
    withLock { value in
      ThreadSanitizer.acquire(&value)
      defer { ThreadSanitizer.release(&value) }
      return body(&value)
    }
  }

  /// `withLockIfAvailable(_:)`, with the lock's ordering told to ThreadSanitizer when the
  /// process runs under it.
  borrowing func withOrderedLockIfAvailable<Result>(
    _ body: (inout sending Value) -> sending Result
  ) -> sending Result? {
    withLockIfAvailable { value in
      ThreadSanitizer.acquire(&value)
      defer { ThreadSanitizer.release(&value) }
      return body(&value)
    }
  }
}

/// ThreadSanitizer's annotations of an ordering it cannot see: nothing unless the process runs
/// under it (its runtime is found by name, once).
enum ThreadSanitizer {
  private typealias Annotation = @convention(c) (UnsafeMutableRawPointer?) -> Void

  private static let annotations: (acquire: Annotation, release: Annotation)? = {
    guard let process = dlopen(nil, RTLD_NOW),
      let acquire = dlsym(process, "__tsan_acquire"),
      let release = dlsym(process, "__tsan_release")
    else { return nil }
    return (
      unsafeBitCast(acquire, to: Annotation.self), unsafeBitCast(release, to: Annotation.self)
    )
  }()

  /// What follows happens after everything before a `release` of the same `address`.
  static func acquire<T: ~Copyable>(_ address: UnsafeMutablePointer<T>) {
    annotations?.acquire(UnsafeMutableRawPointer(address))
  }

  /// What comes before happens before what follows an `acquire` of the same `address`.
  static func release<T: ~Copyable>(_ address: UnsafeMutablePointer<T>) {
    annotations?.release(UnsafeMutableRawPointer(address))
  }
}
