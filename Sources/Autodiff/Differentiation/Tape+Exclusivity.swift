// One task at a time: the check that stops two tasks from using one tape at once.
//
// A tape's node array is plain mutable state. Every access to it (recording, a backward or
// forward sweep, `count`, `statistics`, `graphviz`, the `detectsAnomalies` and
// `capturesCallSites` switches: every public API of `Tape`) runs between `beginUse()` and `endUse(_:)`, which mark the tape as used
// by the current thread in an atomic word: 0 when free, else the user's thread. A second thread
// arriving while the word names another thread stops the program with a message, instead of
// racing on the array. The same thread may enter again (a sweep that records itself appends
// while it sweeps); only its outermost entry frees the tape.
//
// A task runs on one thread between suspension points, and no tape operation suspends, so the
// thread stands for the task here. Tasks that take turns, each finishing before the next starts,
// are allowed: the acquiring exchange and the releasing store order their accesses.
//
// Cost: one compare-and-exchange and one store per recorded operation and per sweep, lost in
// the noise of the scalar graph (`swift run -c release soak scalar-graph`, best of 5 rounds of
// thread CPU time on a loaded 2-core machine: 7.8–7.9 µs per gradient before, 7.4–7.7 after).

internal import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

extension Tape {
  /// Marks the tape as used by the current thread, or stops if another thread is using it.
  ///
  /// - Returns: Whether this call took the tape (and `endUse(_:)` must free it), as opposed to
  ///   re-entering a use by this thread.
  func beginUse(_ operation: @autoclosure () -> String) -> Bool {
    let thread = currentThreadIdentifier()
    // Re-entry (a sweep recording itself appends once per operation) needs no read-modify-write:
    // only this thread ever stores its own identifier, so reading it back means this thread
    // holds the tape, and a relaxed load sees this thread's own store.
    if user.load(ordering: .relaxed) == thread { return false }
    let (taken, holder) = user.compareExchange(
      expected: 0, desired: thread, ordering: .acquiring)
    if !taken && holder != thread {
      fail(
        "Tape: \(operation()) while another thread is using the same tape. A tape may be used "
          + "by one task at a time: give each concurrent task its own tape (gradient(at:of:) and "
          + "its friends make one per call), and do not compute with one task's recorded "
          + "tensors in another while the first is still recording")
    }
    return taken
  }

  /// Frees the tape after `beginUse(_:)` returned `taken`.
  func endUse(_ taken: Bool) {
    if taken { user.store(0, ordering: .releasing) }
  }

  /// Runs `body` between `beginUse(_:)` and `endUse(_:)`: for every reader and setter of the
  /// tape's state (statistics, graphs, inspection switches), which take the same guard as
  /// recording.
  func exclusively<R>(_ operation: @autoclosure () -> String, _ body: () -> R) -> R {
    let taken = beginUse(operation())
    defer { endUse(taken) }
    return body()
  }
}

/// A number that differs between threads running at the same time, and is never 0.
private func currentThreadIdentifier() -> UInt {
  #if canImport(Darwin)
    UInt(bitPattern: pthread_self())
  #else
    UInt(pthread_self())
  #endif
}
