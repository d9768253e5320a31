// Elementwise fusion (Execution/Fusion/): large elementwise results are pending expressions,
// computed block by block on first read. Fusion must change when the work happens, never what
// it computes: each test compares a fused computation with the same one on pieces small enough
// to run unfused, to the bit, or with the exact derivative.

import Foundation
import Testing

@testable import Autodiff

@Suite struct FusionTests {
  /// Above `Fusion.minimumCount`, and not a multiple of a block, a chunk or a thread's range.
  let count = 3 * Fusion.minimumCount + 77

  func input(seed: UInt64 = 1, count: Int? = nil) -> Tensor<Float> {
    var rng = SeededGenerator(seed: seed)
    return Tensor(randomNormal: [count ?? self.count], using: &rng)
  }

  /// `f` applied to `x` in pieces below the fusion threshold, concatenated: the unfused answer.
  func unfused(_ x: Tensor<Float>, _ f: (Tensor<Float>) -> Tensor<Float>) -> [Float] {
    let piece = Fusion.minimumCount / 4
    var result: [Float] = []
    var start = 0
    while start < x.scalarCount {
      let end = min(start + piece, x.scalarCount)
      result += f(x[start..<end]).scalars
      start = end
    }
    return result
  }

  @Test("A chain of elementwise operations gives the same elements fused as unfused, to the bit")
  func chain() {
    let x = input()
    let f: (Tensor<Float>) -> Tensor<Float> = { x in
      sigmoid(x) * exp(-x) + relu(x).squared() / 3 - tanh(x) * abs(x) + max(x, 0.25)
    }
    let fused = f(x)
    #expect(fused.storage.pendingCost > 0)
    #expect(fused.scalars == unfused(x, f))
    #expect(fused.storage.pendingCost == 0)
  }

  @Test("A value used twice in one expression is right (the program computes it once per block)")
  func sharedOperand() {
    let x = input(seed: 2)
    let f: (Tensor<Float>) -> Tensor<Float> = { x in
      let y = sigmoid(x)
      return y * y + y - log(y)
    }
    #expect(f(x).scalars == unfused(x, f))
  }

  @Test("The sum of a pending tensor, never stored, equals the sum of its elements, to the bit")
  func fusedSum() {
    for count in [Fusion.minimumCount, count, (1 << 18) + 5] {
      let x = input(seed: 3, count: count)
      let y = sigmoid(x) + x.squared()
      #expect(y.storage.pendingCost > 0)
      let fused = y.sum().scalar
      #expect(y.storage.pendingCost > 0, "the sum did not compute the elements")
      let stored = Tensor(shape: y.shape, scalars: y.scalars)
      #expect(stored.storage.pendingCost == 0)
      #expect(fused == stored.sum().scalar, "\(count) elements")
    }
  }

  @Test("A sum of a constant broadcast to many elements is the sum of the copies")
  func fillSum() {
    let g = Tensor<Float>(0.1).expanded(to: [count])
    #expect(g.sum().scalar == Tensor(shape: [count], scalars: g.scalars).sum().scalar)
    #expect(g.scalars.allSatisfy { $0 == 0.1 })
  }

  @Test("A sum of an expression that folds to a constant adds the constant's copies")
  func foldedConstantSum() {
    let g = Tensor<Float>(0.1).expanded(to: [count])
    let doubled = g * 2 + 1
    #expect(doubled.storage.pendingCost > 0)
    let copies = Tensor<Float>(repeating: Float(0.1) * 2 + 1, shape: [count])
    #expect(doubled.sum().scalar == copies.sum().scalar)
    #expect(doubled.scalars == copies.scalars)
  }

  @Test("A gradient that is a broadcast constant comes back computed")
  func constantGradientIsComputed() {
    let x = input(seed: 12)
    let (value, dx) = Autodiff.valueWithGradient(at: x) { x in (x * 3).sum() }
    #expect(!dx.storage.isPending && !value.storage.isPending)
    #expect(dx.scalars.allSatisfy { $0 == 3 })
    let dy = gradient(at: x) { x in x.sum() }
    #expect(!dy.storage.isPending)
    #expect(dy.scalars.allSatisfy { $0 == 1 })
  }

  @Test("The gradient of Σ relu(x)² + σ(x) is 2·relu(x) + σ(x)(1 − σ(x)) at every element")
  func gradientOfTheBenchmark() {
    let x = input(seed: 4, count: (1 << 17) + 1)
    let (value, dx) = valueWithGradient(at: x) { x in (relu(x).squared() + sigmoid(x)).sum() }
    #expect(dx.storage.pendingCost == 0, "gradients are returned computed")
    var expected = 0.0
    var worst = 0.0
    for (v, d) in zip(x.scalars, dx.scalars) {
      let (r, s) = (Double(max(v, 0)), 1 / (1 + Foundation.exp(-Double(v))))
      expected += r * r + s
      let exact = 2 * r + s * (1 - s)
      worst = max(worst, abs(Double(d) - exact) / max(1, exact))
    }
    #expect(worst <= 1e-6)
    #expect(abs(Double(value.scalar) - expected) <= 1e-5 * expected)
  }

  @Test("Fused gradients in Double match a central difference along a random direction")
  func directionalDerivative() {
    var rng = SeededGenerator(seed: 5)
    let x = Tensor<Double>(randomNormal: [count], using: &rng)
    let v = Tensor<Double>(randomNormal: [count], using: &rng)
    let f: (Tensor<Double>) -> Tensor<Double> = { x in
      (sin(x) * sigmoid(x) + pow(x, 2) / (1 + exp(-x)) - log(1 + x.squared()) * tanh(x)
        + cos(x) / (2 + x.squared())).sum()
    }
    let dx = gradient(at: x, of: f)
    let h = 1e-5
    let difference = (f(x + h * v).scalar - f(x - h * v).scalar) / (2 * h)
    let derivative = (dx * v).sum().scalar
    #expect(abs(derivative - difference) <= 1e-6 * max(1, abs(derivative)))
  }

  @Test("A long chain stays bounded: past the maximum cost, operands are computed first")
  func longChain() {
    let x = input(seed: 6)
    let f: (Tensor<Float>) -> Tensor<Float> = { x in
      var y = x
      for step in 0..<100 { y = y * 0.99 + Float(step) / 1000 }
      return y
    }
    let y = f(x)
    #expect(y.storage.pendingCost <= Fusion.maximumCost)
    #expect(y.scalars == unfused(x, f))
  }

  @Test(
    "Writing to a tensor that a pending one reads copies it first: the pending result keeps the old value"
  )
  func copyOnWrite() {
    var x = input(seed: 7)
    let first = x.scalars[0]
    let doubled = x * 2
    x.withUnsafeMutableBufferPointer { $0[0] = 1000 }
    #expect(doubled.scalars[0] == first * 2)
    #expect(x.scalars[0] == 1000)
  }

  @Test("Tasks reading one pending tensor at once all see the same elements")
  func concurrentReads() async {
    let x = input(seed: 8)
    let y = sigmoid(x) * x
    let expected = unfused(x) { sigmoid($0) * $0 }
    let results = await withTaskGroup(of: [Float].self) { group in
      for _ in 0..<8 { group.addTask { y.scalars } }
      return await group.reduce(into: []) { $0.append($1) }
    }
    #expect(results.count == 8)
    #expect(results.allSatisfy { $0 == expected })
  }

  @Test("Every element of a split loop is computed, whatever the count's remainder")
  func splitCoversEveryElement() {
    // 2¹⁷ + 1 elements: half is a multiple of 64, where the split once stopped one short.
    for count in [(1 << 17) + 1, (1 << 14) + 1, (1 << 16) + 3] {
      let x = Tensor<Float>(repeating: -1, shape: [count])
      #expect(relu(x).scalars.allSatisfy { $0 == 0 }, "relu, \(count) elements")
      let e = exp(x).scalars
      #expect(e.allSatisfy { $0 == e[0] }, "exp, \(count) elements")
      #expect(abs(e[0] - 0.367_879_44) <= 1e-7)
    }
  }

  @Test(
    "Computing pending values together waits for no lock: with one held elsewhere, it computes none",
    .timeLimit(.minutes(1)))
  func togetherWaitsForNoLock() {
    // A thread computing one value alone holds its lock while it computes what that value reads,
    // which may be another value being computed together with it here: waiting for the first
    // value's lock while holding the second's would wait forever.
    let x = input()
    let (a, b) = (x * 2, x * 3)
    #expect(a.storage.isPending && b.storage.isPending)
    let held = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    Thread {
      _ = b.storage.withPendingOperationIfAvailable { _, _, _ in
        held.signal()
        release.wait()
      }
    }.start()
    held.wait()
    #expect(!computeTogether([a.storage, b.storage]))
    #expect(!computeTogether([b.storage, a.storage]))
    #expect(a.storage.isPending)  // nothing computed under a partial set of locks
    release.signal()
    materializeTogether(a, b)
    #expect(a.scalars == x.scalars.map { $0 * 2 })
    #expect(b.scalars == x.scalars.map { $0 * 3 })
  }
}

@Suite struct FusedValueAndGradientTests {
  @Test(
    "A sum of a pending tensor is pending, and valueWithGradient computes it with the gradient, to the bit"
  )
  func valueWithGradient() {
    var rng = SeededGenerator(seed: 9)
    let x = Tensor<Float>(randomNormal: [3 * Fusion.minimumCount + 5], using: &rng)
    let f: (Tensor<Float>) -> Tensor<Float> = { x in (relu(x).squared() + sigmoid(x)).sum() }
    let alone = f(x)
    #expect(alone.storage.pendingCost > 0, "the sum waits to be read")
    let (value, dx) = Autodiff.valueWithGradient(at: x, of: f)
    #expect(value.storage.pendingCost == 0 && dx.storage.pendingCost == 0)
    #expect(value.scalar == alone.scalar)
    #expect(dx.scalars == gradient(at: x, of: f).scalars)
  }

  @Test("Gradients with respect to inputs of different sizes are computed in one program per size")
  func differentSizes() {
    var rng = SeededGenerator(seed: 10)
    let x = Tensor<Double>(randomNormal: [Fusion.minimumCount + 3], using: &rng)
    let y = Tensor<Double>(randomNormal: [2 * Fusion.minimumCount + 1], using: &rng)
    let (value, (dx, dy)) = Autodiff.valueWithGradient(at: x, y) { x, y in
      sigmoid(x).sum() + (exp(y) * y).sum()
    }
    let xs = x.scalars.map { 1 / (1 + Foundation.exp(-$0)) }
    let expected = xs.reduce(0, +) + y.scalars.map { Foundation.exp($0) * $0 }.reduce(0, +)
    #expect(abs(value.scalar - expected) <= 1e-9 * abs(expected))
    #expect(zip(dx.scalars, xs).allSatisfy { abs($0 - $1 * (1 - $1)) <= 1e-15 })
    #expect(
      zip(dy.scalars, y.scalars).allSatisfy { d, v in
        abs(d - Foundation.exp(v) * (1 + v)) <= 1e-12 * max(1, abs(d))
      })
  }
}

extension FusedValueAndGradientTests {
  @Test(
    "Gradients with respect to an input and to a pending value computed from it come out together")
  func gradientThroughAnotherSource() {
    var rng = SeededGenerator(seed: 11)
    let tape = Tape()
    let a = tape.watch(Tensor<Float>(randomNormal: [Fusion.minimumCount + 9], using: &rng))
    let b = sigmoid(a)
    let f = (exp(b) * 3).sum()
    // The gradient with respect to a goes through the one with respect to b: one program reads
    // the other's expression while both are being computed.
    let (da, db) = tape.gradient(of: f, wrt: a, b)
    let expectedB = b.scalars.map { 3 * Foundation.exp($0) }
    #expect(zip(db.scalars, expectedB).allSatisfy { abs($0 - $1) <= 1e-6 * abs($1) })
    let expectedA = zip(expectedB, b.scalars).map { g, s in g * s * (1 - s) }
    #expect(zip(da.scalars, expectedA).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
  }
}

extension FusedValueAndGradientTests {
  /// The program that found it: (1 − tanh(s)²)·s·(1 − s) with s = σ(z), whose backward program
  /// reads one register twice in an instruction (tanh(s)·tanh(s)) while other values are live.
  @Test("An instruction that reads one register twice frees it once: x·x in a fused program")
  func sameRegisterTwice() {
    var rng = SeededGenerator(seed: 17)
    for count in [Fusion.minimumCount - 8, Fusion.minimumCount + 8] {
      let z = Tensor<Double>(randomUniform: [count], in: -1..<1, using: &rng)
      let u = Tensor<Double>(randomUniform: [count], in: -1..<1, using: &rng)
      func f(_ z: Tensor<Double>) -> Tensor<Double> {
        let s = sigmoid(z)
        let th = tanh(s)
        let w = (1 - th * th) * s * (1 - s)
        return (w.sliced(alongAxis: 0, 0..<8) * u.sliced(alongAxis: 0, 0..<8)).sum()
          + (w.sliced(alongAxis: 0, 8..<count) * u.sliced(alongAxis: 0, 8..<count)).sum()
      }
      // Each element's derivative, by hand: w = (1 − t²)·s·(1 − s), t = tanh s, s = σ(z).
      let expected = zip(z.scalars, u.scalars).map { z, u -> Double in
        let s = 1 / (1 + Foundation.exp(-z))
        let t = Foundation.tanh(s)
        let ds = s * (1 - s)
        let dw = (-2 * t * (1 - t * t) * s * (1 - s) + (1 - t * t) * (1 - 2 * s)) * ds
        return u * dw
      }
      let g = gradient(at: z, of: f).scalars
      #expect(
        zip(g, expected).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) }, "count \(count)")
      let values = (withoutDerivative(at: tanh(sigmoid(z))) * tanh(sigmoid(z)) * sigmoid(z)).scalars
      let expectedValues = z.scalars.map { z -> Double in
        let s = 1 / (1 + Foundation.exp(-z))
        return Foundation.tanh(s) * Foundation.tanh(s) * s
      }
      #expect(zip(values, expectedValues).allSatisfy { abs($0 - $1) <= 1e-14 }, "count \(count)")
    }
  }
}
