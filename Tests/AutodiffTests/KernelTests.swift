// The machinery under the elementwise operations: the buffer cache, the split of large loops
// across threads, the vectorized sum, and the fused pullbacks.

@testable import Autodiff
import Foundation
import Testing

// Other suites allocate and free tensors at the same time, so these tests watch a byte count
// that no other test uses, and the cache's invariants rather than its total.
@Suite(.serialized) struct BufferCacheTests {
  /// 2¹⁶ + 13 Floats: above the cache's minimum, and a size no other test allocates.
  let count = (1 << 16) + 13
  var byteCount: Int { count * MemoryLayout<Float>.stride }

  @Test("A freed large buffer is reused by the next tensor of its size; a small one is not cached")
  func reuse() {
    let before = BufferCache.cachedBufferCount(byteCount: byteCount)
    do {
      let x = Tensor<Float>(repeating: 1, shape: [count])
      #expect(x.scalarCount == count)
    }
    #expect(BufferCache.cachedBufferCount(byteCount: byteCount) == before + 1)
    let y = Tensor<Float>(repeating: 2, shape: [count])  // takes the cached buffer
    #expect(BufferCache.cachedBufferCount(byteCount: byteCount) == before)
    #expect(y.scalars.allSatisfy { $0 == 2 })
    do { _ = Tensor<Float>(repeating: 1, shape: [16]) }
    #expect(BufferCache.cachedBufferCount(byteCount: 16 * 4) == 0)
  }

  @Test("The cache keeps at most its limit, and clear() empties it")
  func limit() {
    let saved = BufferCache.limit
    defer { BufferCache.limit = saved }
    BufferCache.limit = 3 * byteCount
    do {
      let tensors = (0..<5).map { Tensor<Float>(repeating: Float($0), shape: [count]) }
      #expect(tensors.count == 5)
    }
    #expect(BufferCache.cachedByteCount <= 3 * byteCount)
    #expect((1...3).contains(BufferCache.cachedBufferCount(byteCount: byteCount)))
    BufferCache.clear()
    #expect(BufferCache.cachedBufferCount(byteCount: byteCount) == 0)
    BufferCache.limit = 0
    do { _ = Tensor<Float>(repeating: 1, shape: [count]) }
    #expect(BufferCache.cachedByteCount == 0)
  }

  @Test("Gradients in a loop reuse their buffers: the cache does not grow from step to step")
  func steadyState() {
    var rng = SeededGenerator(seed: 3)
    let x = Tensor<Float>(randomNormal: [count], using: &rng)
    func step() { _ = gradient(at: x) { x in (relu(x).squared() + sigmoid(x)).sum() } }
    step()
    let afterOne = BufferCache.cachedBufferCount(byteCount: byteCount)
    #expect(afterOne > 0)
    for _ in 0..<5 { step() }
    #expect(BufferCache.cachedBufferCount(byteCount: byteCount) == afterOne)
  }

  @Test("Tensors made and freed on many tasks at once stay intact")
  func concurrentUse() async {
    let count = self.count
    await withTaskGroup(of: Bool.self) { group in
      for task in 0..<8 {
        group.addTask {
          var intact = true
          for step in 0..<20 {
            let value = Float(task * 100 + step)
            let x = Tensor<Float>(repeating: value, shape: [count])
            let y = x + 1
            intact = intact && y.scalars.allSatisfy { $0 == value + 1 }
          }
          return intact
        }
      }
      for await intact in group { #expect(intact) }
    }
  }
}

@Suite struct ElementwiseKernelTests {
  @Test(
    "A loop long enough to be split across threads gives each element what a short loop gives",
    arguments: ["exp", "sigmoid", "relu", "x·y", "x - 1"])
  func splitEqualsUnsplit(_ name: String) {
    let f: (Tensor<Double>) -> Tensor<Double> =
      switch name {
      case "exp": { exp($0) }
      case "sigmoid": { sigmoid($0) }
      case "relu": { relu($0) }
      case "x·y": { $0 * $0 }
      default: { $0 - 1 }
      }
    var rng = SeededGenerator(seed: 11)
    let count = (1 << 18) + 77  // split on a multi-core machine, with an uneven tail
    let x = Tensor<Double>(randomNormal: [count], using: &rng)
    let whole = f(x).scalars
    let piece = 1000  // far below the split threshold: one thread
    var pieces: [Double] = []
    for start in stride(from: 0, to: count, by: piece) {
      pieces += f(x[start..<min(start + piece, count)]).scalars
    }
    #expect(whole == pieces)
  }

  @Test("The sum of many elements is accurate and the same on every call")
  func longSum() {
    var rng = SeededGenerator(seed: 5)
    let count = 1_000_003
    let x = Tensor<Float>(randomUniform: [count], using: &rng)
    let exact = x.scalars.reduce(0.0) { $0 + Double($1) }
    let sum = x.sum().scalar
    // One running Float sum of a million values in [0, 1) is typically off by ~1e-4 relative;
    // sixteen partial sums bring it near 1e-6.
    #expect(Swift.abs(Double(sum) - exact) / exact < 1e-5)
    #expect(x.sum().scalar == sum)
  }

  @Test(
    "A fused first-order pullback equals its recorded form (second-order sweeps) to the bit",
    arguments: ["sigmoid", "tanh", "relu", "squared"])
  func fusedEqualsComposite(_ name: String) {
    let f: (Tensor<Double>) -> Tensor<Double> =
      switch name {
      case "sigmoid": { sigmoid($0) }
      case "tanh": { tanh($0) }
      case "relu": { relu($0) }
      default: { $0.squared() }
      }
    var rng = SeededGenerator(seed: 9)
    let x = Tensor<Double>(randomNormal: [3, 7], using: &rng)
    let seed = Tensor<Double>(randomNormal: [3, 7], using: &rng)
    let tape = Tape()
    let watched = tape.watch(x)
    let y = f(watched)
    let fused = tape.gradient(of: y, wrt: [watched], seed: seed)[0]
    // A recorded seed makes every pullback take its recorded form (relu's gradient does not
    // depend on x, so with a constant seed it would not need to record).
    let composite = tape.gradient(
      of: y, wrt: [watched], seed: tape.watch(seed), createGraph: true)[0]
    #expect(composite.isRecorded)  // the second-order sweep took the recorded form
    #expect(fused.scalars == composite.scalars)
  }
}

@Suite struct BLASKernelChoiceTests {
  @Test("A generic OpenBLAS kernel set on an AVX-512 or AVX2 CPU gets a faster one; others none")
  func fasterCoreType() {
    let avx2: Set = ["sse3", "avx", "avx2", "fma"]
    let avx512 = avx2.union(["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])
    #expect(BLAS.fasterCoreType(than: "Prescott", cpuFlags: avx512) == "SkylakeX")
    #expect(BLAS.fasterCoreType(than: "Prescott", cpuFlags: avx2) == "Haswell")
    #expect(BLAS.fasterCoreType(than: "Prescott", cpuFlags: ["sse3", "avx"]) == nil)
    #expect(BLAS.fasterCoreType(than: "Haswell", cpuFlags: avx512) == nil)
    #expect(BLAS.fasterCoreType(than: "SkylakeX", cpuFlags: avx512) == nil)
    #expect(!BLAS.coreName.isEmpty)
  }

  @Test("Once Autodiff has called BLAS, no faster kernel set is left unused, unless pinned")
  func kernelsInUse() {
    let product = matmul(
      Tensor<Double>(shape: [1, 2], scalars: [1, 2]), Tensor(shape: [2, 1], scalars: [3, 4]))
    #expect(product.scalars == [11])
    if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil {
      #expect(BLAS.replacedCoreName == nil)
    } else {
      #expect(BLAS.fasterCoreType(than: BLAS.coreName, cpuFlags: BLAS.cpuFlags) == nil)
    }
    if let replaced = BLAS.replacedCoreName { #expect(replaced != BLAS.coreName) }
  }
}
