// How many threads a matrix product gets from its work (BLAS.multiplyAddsPerThread), the two
// products of a small layer's pullback side by side, and the worker pool under both and under
// every parallel loop.

import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Autodiff

@Suite struct ProductThreadTests {
  /// Sets two BLAS and two Autodiff threads, in a child process; `false` where OpenBLAS's count
  /// is not lowered around a product (an OpenMP or serial build), which leaves nothing to test.
  static func useTwoThreads() -> Bool {
    guard BLAS.lowersThreads else { return false }
    BLAS.setThreadCount(2)
    Parallelism.threadCount = 2
    return true
  }

  @Test("A small product runs on the threads its work pays for, and the count comes back")
  func smallProductNarrows() async {
    // In a child process: OpenBLAS's count is process-wide, and other suites run in parallel.
    await #expect(processExitsWith: .success) {
      guard BLAS.lowersThreads else { exit(0) }  // an OpenMP or serial OpenBLAS: nothing to do
      BLAS.setThreadCount(4)
      let grain = Double(BLAS.multiplyAddsPerThread)
      func threads(for work: Double) -> (during: Int, configured: Int) {
        var seen = (0, 0)
        BLAS.withThreads(forMultiplyAdds: work) {
          seen = (BLAS.openBLASThreadCount, BLAS.threadCount)
        }
        return seen
      }
      guard threads(for: 1024) == (1, 4), threads(for: 1.99 * grain) == (1, 4),
        threads(for: 3 * grain) == (3, 4), threads(for: 100 * grain) == (4, 4),
        BLAS.openBLASThreadCount == 4, BLAS.threadCount == 4
      else { exit(1) }
      BLAS.multiplyAddsPerThread = 0
      guard threads(for: 1024) == (4, 4) else { exit(2) }
    }
  }

  @Test("A product's work counts Double's multiply-adds twice, alone and in a pullback's pair")
  func productWork() {
    #expect(Float.productWork(m: 3, n: 5, k: 7) == 105)
    #expect(Double.productWork(m: 3, n: 5, k: 7) == 210)
    // dB = Aᵀ·dC of a [7, 3]ᵀ·[7, 5] product: m = 3, n = 5, k = 7.
    let term = GradientProduct(
      node: 0, shape: [3, 5], a: Tensor<Double>(zeros: [7, 3]), transposeA: true,
      b: Tensor<Double>(zeros: [7, 5]), transposeB: false)
    #expect(term.work == 210)
  }

  @Test("A grain below 0 stops with a message")
  func negativeGrain() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      BLAS.multiplyAddsPerThread = -1
    }
    expectMessage(result, contains: ["BLAS.multiplyAddsPerThread: -1; it must be 0 or more"])
  }

  @Test("Small products on many threads at once leave OpenBLAS's count where it was set")
  func concurrentNarrowingRestores() async {
    await #expect(processExitsWith: .success) {
      BLAS.setThreadCount(3)
      var rng = SeededGenerator(seed: 5)
      let a = Tensor<Float>(randomNormal: [96, 96], using: &rng)
      let expected = matmul(a, a).scalars
      let mismatches = Atomic<Int>(0)
      DispatchQueue.concurrentPerform(iterations: 12) { index in
        for step in 0..<40 {
          if matmul(a, a).scalars != expected { mismatches.add(1, ordering: .relaxed) }
          if index == 0, step == 20 { BLAS.setThreadCount(2) }
        }
      }
      guard mismatches.load(ordering: .relaxed) == 0, BLAS.threadCount == 2,
        BLAS.openBLASThreadCount == 2
      else { exit(1) }
    }
  }

  @Test("Two products go side by side when each pays for a thread and runs on one")
  func sideBySideDecision() async {
    await #expect(processExitsWith: .success) {
      guard ProductThreadTests.useTwoThreads() else { exit(0) }
      let grain = Double(BLAS.multiplyAddsPerThread)
      guard BLAS.sideBySide(grain, grain), BLAS.sideBySide(grain / 4, 1.5 * grain),
        !BLAS.sideBySide(grain / 8, grain),  // one too small for a thread's start
        !BLAS.sideBySide(2 * grain, grain)  // the first would run on two threads
      else { exit(1) }
      Parallelism.threadCount = 1
      guard !BLAS.sideBySide(grain, grain) else { exit(2) }
      Parallelism.threadCount = 2
      BLAS.setThreadCount(1)
      guard !BLAS.sideBySide(grain, grain) else { exit(3) }
    }
  }

  @Test("A layer's gradients computed side by side equal those computed one after the other")
  func sideBySideGradientsMatch() async {
    await #expect(processExitsWith: .success) {
      guard ProductThreadTests.useTwoThreads() else { exit(0) }
      var rng = SeededGenerator(seed: 3)
      // [64, 96]·[96, 128]: both products of the pullback take 786,432 multiply-adds, twice
      // that in Double, so each runs on one thread and the pair goes side by side.
      let x = Tensor<Double>(randomNormal: [64, 96], using: &rng)
      let w = Tensor<Double>(randomNormal: [96, 128], using: &rng)
      let bias = Tensor<Double>(randomNormal: [128], using: &rng)
      let target = Tensor<Double>(randomNormal: [64, 128], using: &rng)
      guard BLAS.sideBySide(2 * 64 * 96 * 128, 2 * 64 * 96 * 128) else { exit(1) }
      func gradients() -> [[Double]] {
        let losses: [([Tensor<Double>]) -> Tensor<Double>] = [
          { p in (relu(matmul(p[0], p[1], plus: bias)) * target).sum() },
          { p in (matmul(p[0], p[1]) * target).sum() },
          { p in
            (matmul(p[1], transposed: true, p[0], transposed: true) * target.transposed()).sum()
          },
          // The weight used twice: its second product adds into the first (one after the other).
          { p in (matmul(p[0], p[1]) * target + matmul(p[0], p[1]).squared()).sum() },
        ]
        return losses.flatMap { loss in gradient(at: [x, w], of: loss).map(\.scalars) }
      }
      let sideBySide = gradients()
      BLAS.multiplyAddsPerThread = 0
      let inTurn = gradients()
      for (a, b) in zip(sideBySide, inTurn) {
        for (u, v) in zip(a, b) where abs(u - v) > 1e-12 * max(1, abs(v)) { exit(2) }
      }
    }
  }
}

@Suite struct WorkerPoolTests {
  @Test("Every part of every job runs once, from any number of threads, nested or not")
  func everyPartRunsOnce() {
    let totals = Mutex<[Int]>([])
    DispatchQueue.concurrentPerform(iterations: 6) { caller in
      var local: [Int] = []
      for job in 0..<300 {
        let parts = 1 + (job + caller) % 5
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
        counts.initialize(repeating: 0)
        WorkerPool.shared.run(parts: parts) { part in
          // A nested job, from a worker or from the caller, runs too.
          var inner = 0
          let innerCounts = Mutex(0)
          WorkerPool.shared.run(parts: 2) { _ in innerCounts.withLock { $0 += 1 } }
          inner = innerCounts.withLock { $0 }
          counts[part] += inner == 2 ? 1 : 100
        }
        local.append(counts.reduce(0, +) == parts && counts.allSatisfy { $0 == 1 } ? 1 : 0)
        counts.deallocate()
      }
      totals.withLock { $0 += local }
    }
    let results = totals.withLock { $0 }
    #expect(results.count == 1_800)
    #expect(results.allSatisfy { $0 == 1 })
  }

  @Test("Jobs far apart, after the workers have gone to sleep, still run every part once")
  func jobsAfterSleep() {
    for _ in 0..<20 {
      usleep(1_000)  // five times the workers' look-out
      let counts = Mutex([Int](repeating: 0, count: 4))
      WorkerPool.shared.run(parts: 4) { part in counts.withLock { $0[part] += 1 } }
      #expect(counts.withLock { $0 } == [1, 1, 1, 1])
    }
  }

  @Test("A forked child runs parallel loops on its own")
  func forkedChild() async {
    // Forked from a child process of its own, whose only other threads are the pool's: the
    // test runner's threads could hold locks at the fork that the forked child then waits on.
    await #expect(processExitsWith: .success) {
      WorkerPool.shared.run(parts: 2) { _ in }  // the workers exist before the fork
      let child = fork()
      if child == 0 {
        alarm(20)  // a hang ends as a failure
        let counts = Mutex([Int](repeating: 0, count: 3))
        for _ in 0..<50 {
          WorkerPool.shared.run(parts: 3) { part in counts.withLock { $0[part] += 1 } }
        }
        _exit(counts.withLock { $0 } == [50, 50, 50] ? 0 : 1)
      }
      var status: Int32 = 0
      guard child > 0, waitpid(child, &status, 0) == child, status == 0 else { exit(1) }
    }
  }
}
