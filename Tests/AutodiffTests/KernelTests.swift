// The machinery under the elementwise operations: the split of large loops across threads, the
// vectorized sum, and the fused pullbacks. The buffer cache's tests are in BufferCacheTests.swift.

import Foundation
import Testing

@testable import Autodiff

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
