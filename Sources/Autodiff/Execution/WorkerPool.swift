import Dispatch
internal import Foundation
internal import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The threads that run the parts of Autodiff's parallel loops (`forEachRange`) and of products
/// side by side (`concurrently`), with the calling thread taking parts too.
///
/// A worker that finishes a part keeps looking for the next job for ``spinTime`` before it
/// sleeps, as OpenBLAS's and OpenMP's workers do. Waking a sleeping thread takes a system call
/// and, on a virtual machine whose other core sits idle, about 20 µs before the thread runs
/// (this project's 2-core VM): as long as one of mlp-small's products, which a second thread
/// is meant to halve. Dispatch's pool, which ran these loops before, has no such window.
///
/// One job runs at a time. A loop started while another runs (from another thread, or from
/// inside a part) goes to Dispatch's pool instead, as every loop did before.
final class WorkerPool: @unchecked Sendable {
  static let shared = WorkerPool()

  /// How long an idle worker looks for work before it sleeps, in nanoseconds.
  static let spinTime: UInt64 = 200_000

  /// The job being run: its generation (from bit 40), its number of parts (bits 20..<40) and
  /// the next part to claim (bits 0..<20). One word, so that a worker claims a part of the job
  /// it read and never one of the next.
  private let job = Atomic<UInt64>(0)
  /// The parts of the job that have finished.
  private let finished = Atomic<Int>(0)
  /// Whether a caller holds the pool.
  private let held = Atomic<Bool>(false)
  /// The job's parts. Written by the caller that holds the pool before it publishes the job's
  /// generation, read by a thread only after it claims a part of that generation, and the job
  /// does not end before that part finishes: never written while read.
  private var body: ((Int) -> Void)?

  /// The workers started, and the sleeping ones wait on `wakeUp` under `sleepLock`.
  private var workerCount = 0
  private var sleeping = 0
  private let sleepLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

  private init() {
    pthread_mutex_init(sleepLock, nil)
    pthread_cond_init(wakeUp, nil)
    // A child of `fork` has none of the workers, and a lock one of them held stays held there.
    pthread_atfork(nil, nil) { WorkerPool.shared.forgetWorkers() }
  }

  /// In the child of a `fork`, which has only the thread that called it: starts afresh, with no
  /// worker, the lock and condition new, and the pool free.
  private func forgetWorkers() {
    pthread_mutex_init(sleepLock, nil)
    pthread_cond_init(wakeUp, nil)
    (workerCount, sleeping) = (0, 0)
    held.store(false, ordering: .relaxed)
  }

  /// Calls `body` for each part in `0..<parts`, on up to `parts` threads (this one among them),
  /// and returns when all have run.
  func run(parts: Int, _ body: (Int) -> Void) {
    precondition(parts > 0 && parts < 1 << 20)
    guard held.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      // Busy: the loop of another thread, or this one nested in a part.
      withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: parts) { shared.value($0) }
      }
      return
    }
    defer { held.store(false, ordering: .releasing) }
    startWorkers(parts - 1)
    withoutActuallyEscaping(body) { body in
      self.body = body
      finished.store(0, ordering: .relaxed)
      let generation = (job.load(ordering: .relaxed) >> 40) + 1
      job.store(generation << 40 | UInt64(parts) << 20, ordering: .releasing)
      pthread_mutex_lock(sleepLock)
      if sleeping > 0 { pthread_cond_broadcast(wakeUp) }
      pthread_mutex_unlock(sleepLock)
      runParts(of: generation)
      // Yielding: a worker that took a part may be waiting for this very core (more threads
      // than cores, as under `taskset` with a larger thread count).
      while finished.load(ordering: .acquiring) < parts { sched_yield() }
      self.body = nil
    }
  }

  /// Claims and runs parts of job `generation` until none is left.
  private func runParts(of generation: UInt64) {
    var current = job.load(ordering: .acquiring)
    while current >> 40 == generation {
      let (parts, next) = ((current >> 20) & 0xFFFFF, current & 0xFFFFF)
      guard next < parts else { return }
      let (exchanged, original) = job.compareExchange(
        expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
      guard exchanged else {
        current = original
        continue
      }
      body!(Int(next))
      finished.add(1, ordering: .releasing)
      current = job.load(ordering: .acquiring)
    }
  }

  /// Starts workers until there are `count`.
  private func startWorkers(_ count: Int) {
    while workerCount < count {
      workerCount += 1
      let thread = Thread { [self] in work() }
      thread.name = "Autodiff worker \(workerCount)"
      thread.start()
    }
  }

  /// A worker's life: run the parts of each new job, look for the next for `spinTime`, then
  /// sleep until one comes.
  private func work() {
    var seen = job.load(ordering: .acquiring) >> 40
    while true {
      var spinStart = DispatchTime.now().uptimeNanoseconds
      var polls = 0
      while job.load(ordering: .acquiring) >> 40 == seen {
        polls += 1
        // Let a thread waiting for this core run (OpenBLAS's worker, say), and check the
        // clock only now and then.
        sched_yield()
        guard polls & 63 == 0 else { continue }
        if DispatchTime.now().uptimeNanoseconds - spinStart < Self.spinTime { continue }
        pthread_mutex_lock(sleepLock)
        sleeping += 1
        while job.load(ordering: .acquiring) >> 40 == seen {
          pthread_cond_wait(wakeUp, sleepLock)
        }
        sleeping -= 1
        pthread_mutex_unlock(sleepLock)
        spinStart = DispatchTime.now().uptimeNanoseconds
      }
      seen = job.load(ordering: .acquiring) >> 40
      runParts(of: seen)
    }
  }
}

/// A value handed to Dispatch's workers for a call that outlives none of them.
private struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
