import Foundation
import Testing

@testable import Autodiff

/// The tape and the functional forms of reverse mode: what a sweep returns, what a tape records
/// and keeps alive, and the value semantics of tensors around it.
@Suite struct TapeTests {
  typealias T = Tensor<Double>

  // MARK: Sweeps

  @Test("Asking for the same gradient twice gives the same answer")
  func repeatedSweep() {
    let tape = Tape()
    let x = tape.watch(T([0.5, -1, 2]))
    let y = (sin(x) * x).sum()
    let first = tape.gradient(of: y, wrt: [x])[0]
    let second = tape.gradient(of: y, wrt: [x])[0]
    #expect(first == second)
    // d/dx (x·sin x) = sin x + x·cos x.
    #expect(
      first.isAlmostEqual(to: sin(T([0.5, -1, 2])) + T([0.5, -1, 2]) * cos(T([0.5, -1, 2]))))
  }

  @Test("A value used several times gets the sum of the gradients of its uses")
  func gradientsAddAtForks() {
    let tape = Tape()
    let x = tape.watch(T([1, 2, 3]))
    let y = (x * x + x + 3 * x).sum()  // d/dx = 2x + 4
    #expect(tape.gradient(of: y, wrt: [x])[0] == T([6, 8, 10]))
  }

  @Test("The seed given to a sweep is not modified, even where gradients add up in place")
  func seedIsNotModified() {
    let tape = Tape()
    let x = tape.watch(T([1, 2]))
    let seed = T([3, 5])
    let dx = tape.gradient(of: x + x + x, wrt: [x], seed: seed)[0]
    #expect(dx == T([9, 15]))
    #expect(seed == T([3, 5]))
  }

  @Test("Intermediate results can be sources, alongside watched tensors")
  func intermediateSources() {
    let tape = Tape()
    let x = tape.watch(T(0.5))
    let y = x * x
    let z = sin(y)
    let g = tape.gradient(of: z, wrt: [y, x])
    // dz/dy = cos(x²); dz/dx = cos(x²)·2x.
    #expect(g[0].isAlmostEqual(to: T(cos(0.25)), relativeTolerance: 1e-15))
    #expect(g[1].isAlmostEqual(to: T(cos(0.25) * 2 * 0.5), relativeTolerance: 1e-15))
  }

  @Test("A source the target does not depend on gets zeros of its shape")
  func unrelatedSourceGetsZeros() {
    let tape = Tape()
    let x = tape.watch(T([1, 2]))
    let unused = tape.watch(T(zeros: [2, 3]) + 7)
    let y = (x * x).sum()
    let later = y * 2  // recorded after the target, so the target cannot depend on it
    let g = tape.gradient(of: y, wrt: [x, unused, later])
    #expect(g[0] == T([2, 4]))
    #expect(g[1] == T(zeros: [2, 3]))
    #expect(g[2] == T(0))
  }

  @Test("A source asked for twice gets its gradient twice, in every form of gradient(of:wrt:)")
  func repeatedSource() {
    let tape = Tape()
    let x = tape.watch(T([1, 2]))
    let w = tape.watch(T(shape: [2, 2], scalars: [1, 2, 3, 4]))
    let y = (x * x).sum()
    let (a, b) = tape.gradient(of: y, wrt: x, x)
    #expect(a == T([2, 4]) && b == T([2, 4]))
    #expect(tape.gradient(of: y, wrt: [x, x]) == [T([2, 4]), T([2, 4])])
    // A product's gradients, which the sweep computes into buffers it then hands out.
    let d = matmul(w, w)
    let seed = T(shape: [2, 2], scalars: [1, 0, 0, 1])
    let (dw1, dw2) = tape.gradient(of: d, wrt: w, w, seed: seed)
    // The gradient of W·W against the seed G is G·Wᵀ + Wᵀ·G: 2Wᵀ for G = I.
    let expected = T(shape: [2, 2], scalars: [2, 6, 4, 8])
    #expect(dw1 == expected && dw2 == expected)
  }

  @Test(
    "A non-scalar target takes a seed of its shape: the gradient is the vector-Jacobian product")
  func seededNonScalarTarget() {
    let tape = Tape()
    let x = tape.watch(T(shape: [2, 2], scalars: [1, 2, 3, 4]))
    let y = x * x  // Jacobian diag(2x)
    let seed = T(shape: [2, 2], scalars: [1, -1, 0.5, 2])
    #expect(
      tape.gradient(of: y, wrt: [x], seed: seed)[0] == T(shape: [2, 2], scalars: [2, -4, 3, 16]))
  }

  @Test("withoutDerivative(at:) passes the value and stops the gradient")
  func withoutDerivativeStopsGradient() {
    // f = x·c where c is x held constant: df/dx = c = x, not 2x.
    let (value, dx) = valueWithGradient(at: T(3)) { x in x * withoutDerivative(at: x) }
    #expect(value == T(9))
    #expect(dx == T(3))
    #expect(!withoutDerivative(at: Tape().watch(T(1))).isRecorded)
  }

  // MARK: Functional forms

  @Test("gradient(at:of:) and valueWithGradient(at:of:) for one tensor")
  func functionalOne() {
    let x = T([1, -2, 3])
    let f = { (x: T) in (x * x * x).sum() }  // df/dx = 3x²
    #expect(gradient(at: x, of: f) == T([3, 12, 27]))
    let (value, g) = valueWithGradient(at: x, of: f)
    #expect(value == T(20))  // 1 − 8 + 27
    #expect(!value.isRecorded)
    #expect(g == T([3, 12, 27]))
  }

  @Test("gradient(at:_:of:) and valueWithGradient(at:_:of:) for two tensors")
  func functionalTwo() {
    let f = { (x: T, y: T) in (x * y + y).sum() }  // df/dx = y, df/dy = x + 1
    let (dx, dy) = gradient(at: T([1, 2]), T([3, 4]), of: f)
    #expect(dx == T([3, 4]))
    #expect(dy == T([2, 3]))
    let (value, (vx, vy)) = valueWithGradient(at: T([1, 2]), T([3, 4]), of: f)
    #expect(value == T(18))
    #expect(vx == dx && vy == dy)
  }

  @Test("gradient(at:_:_:of:) and valueWithGradient(at:_:_:of:) for three tensors")
  func functionalThree() {
    let f = { (x: T, y: T, z: T) in x * y * z + z }  // (yz, xz, xy + 1)
    let (dx, dy, dz) = gradient(at: T(2), T(3), T(5), of: f)
    #expect([dx, dy, dz] == [T(15), T(10), T(7)])
    let (value, g) = valueWithGradient(at: T(2), T(3), T(5), of: f)
    #expect(value == T(35))
    #expect([g.0, g.1, g.2] == [T(15), T(10), T(7)])
  }

  @Test("gradient(at:of:) and valueWithGradient(at:of:) for an array of tensors")
  func functionalArray() {
    let inputs = [T([1, 2]), T(3), T(shape: [2, 1], scalars: [4, 5])]
    // f = Σ (a·b + c) over the broadcast [2, 2]: df/da = 2b per element, df/db = Σa·2, df/dc = 2.
    let f = { (v: [T]) in (v[0] * v[1] + v[2]).sum() }
    let expected = [T([6, 6]), T(6), T(shape: [2, 1], scalars: [2, 2])]
    #expect(gradient(at: inputs, of: f) == expected)
    let (value, g) = valueWithGradient(at: inputs, of: f)
    #expect(value == T(36))  // (3 + 4) + (6 + 4) + (3 + 5) + (6 + 5)
    #expect(g == expected)
  }

  @Test("valueWithPullback(at:of:) for one tensor gives a pullback to call with several seeds")
  func pullbackOne() {
    let (value, pullback) = valueWithPullback(at: T([1, 2, 3])) { x in x * x }
    #expect(value == T([1, 4, 9]))
    #expect(pullback(T([1, 1, 1])) == T([2, 4, 6]))
    #expect(pullback(T([0, -1, 0.5])) == T([0, -4, 3]))
    #expect(pullback(T([1, 1, 1])) == T([2, 4, 6]))
  }

  @Test("valueWithPullback(at:_:of:) for two tensors gives a pullback to call with several seeds")
  func pullbackTwo() {
    let (value, pullback) = valueWithPullback(at: T([1, 2]), T([3, 4])) { x, y in x * y }
    #expect(value == T([3, 8]))
    let (dx1, dy1) = pullback(T([1, 1]))
    #expect(dx1 == T([3, 4]) && dy1 == T([1, 2]))
    let (dx2, dy2) = pullback(T([2, -1]))
    #expect(dx2 == T([6, -4]) && dy2 == T([2, -2]))
  }

  // MARK: Higher order

  @Test("The gradient of the gradient of x³ at 2 is 6·2 = 12")
  func secondDerivativeOfCube() {
    let d2 = gradient(at: T(2)) { x in gradient(at: x) { x in x * x * x }.sum() }
    #expect(d2.isAlmostEqual(to: T(12), relativeTolerance: 1e-15))
  }

  @Test("The second derivative of sin at 1 is −sin 1")
  func secondDerivativeOfSine() {
    let d2 = gradient(at: T(1)) { x in gradient(at: x) { x in sin(x) } }
    #expect(d2.isAlmostEqual(to: T(-Foundation.sin(1.0)), relativeTolerance: 1e-15))
  }

  // MARK: Long chains and memory

  @Test("A chain of 100,000 operations differentiates and frees without overflowing the stack")
  func longChain() {
    weak var weakTape: Tape?
    do {
      let tape = Tape()
      weakTape = tape
      let x = tape.watch(T(1))
      var y = x
      for _ in 0..<100_000 { y = y * 1.000_000_1 }
      // d/dx (x·cⁿ) = cⁿ = exp(n·log c).
      let expected = Foundation.exp(100_000 * Foundation.log(1.000_000_1))
      #expect(tape.count == 100_001)
      #expect(
        tape.gradient(of: y, wrt: [x])[0].isAlmostEqual(to: T(expected), relativeTolerance: 1e-9))
    }
    #expect(weakTape == nil)
  }

  @Test("A dropped tape frees itself and every buffer it saved, but not the gradients it returned")
  func droppedTapeFreesEverything() {
    weak var weakTape: Tape?
    weak var weakInput: Storage<Double>?
    weak var weakIntermediate: Storage<Double>?
    weak var weakResult: Storage<Double>?
    var gradient: T?
    do {
      let tape = Tape()
      weakTape = tape
      let x = tape.watch(T([1, 2, 3]) * 2)
      let hidden = sigmoid(matmul(x.reshaped(to: [1, 3]), x.reshaped(to: [3, 1])))
      let y = (hidden * x).sum()
      (weakInput, weakIntermediate, weakResult) = (x.storage, hidden.storage, y.storage)
      gradient = tape.gradient(of: y, wrt: [x])[0]
      #expect(weakTape != nil && weakIntermediate != nil)
    }
    #expect(weakTape == nil)
    #expect(weakInput == nil)
    #expect(weakIntermediate == nil)
    #expect(weakResult == nil)
    #expect(gradient?.shape == [3])
    #expect(gradient?.isRecorded == false)
  }

  @Test("A pullback keeps its tape alive until the pullback is dropped")
  func pullbackOwnsTape() {
    weak var weakTape: Tape?
    var pullback: ((T) -> T)? = valueWithPullback(at: T([1, 2])) { x in
      weakTape = x.trace?.tape
      return exp(x)
    }.pullback
    #expect(weakTape != nil)
    #expect(pullback?(T([1, 1])).isAlmostEqual(to: exp(T([1, 2]))) == true)
    pullback = nil
    #expect(weakTape == nil)
  }

  // MARK: Recording

  @Test("Operations on tensors that are not recorded add nothing to a tape")
  func unrecordedOperationsRecordNothing() {
    let tape = Tape()
    _ = tape.watch(T(1))
    let count = tape.count
    let a = T([1, 2, 3])
    let b = (sin(a) * a + 2).sum() + matmul(a.reshaped(to: [1, 3]), a.reshaped(to: [3, 1])).sum()
    #expect(tape.count == count)
    #expect(!b.isRecorded)
  }

  @Test("Each operation on a recorded tensor adds one node; watching adds one")
  func recordedOperationsAddNodes() {
    let tape = Tape()
    let x = tape.watch(T([1, 2]))
    #expect(tape.count == 1)
    let y = sin(x) * x
    #expect(tape.count == 3)
    #expect(y.isRecorded && x.isRecorded)
  }

  // MARK: Value semantics

  @Test("Mutating a copy leaves the original unchanged")
  func copyOnWrite() {
    let original = T([1, 2, 3])
    var copy = original
    copy += 10
    #expect(original == T([1, 2, 3]))
    #expect(copy == T([11, 12, 13]))

    var written = original
    written.withUnsafeMutableBufferPointer { $0[0] = -1 }
    #expect(original == T([1, 2, 3]))
    #expect(written == T([-1, 2, 3]))
  }

  @Test("Compound assignment on a uniquely held tensor updates it in place and stays correct")
  func compoundAssignmentInPlace() {
    var x = T(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let buffer = ObjectIdentifier(x.storage)
    x += T([1, 1, 1])  // broadcast along rows
    x *= 2
    x -= T(shape: [2, 1], scalars: [1, 2])
    x /= 2
    #expect(x == T(shape: [2, 3], scalars: [1.5, 2.5, 3.5, 4, 5, 6]))
    #expect(ObjectIdentifier(x.storage) == buffer)
  }

  @Test("Changing a tensor after watching it does not change what the tape recorded")
  func watchedValueIsKept() {
    let tape = Tape()
    var a = T([1, 2])
    let x = tape.watch(a)
    let y = (x * x).sum()
    a += 100
    a.withUnsafeMutableBufferPointer { $0[1] = -7 }
    #expect(tape.gradient(of: y, wrt: [x])[0] == T([2, 4]))
    #expect(x == T([1, 2]))
  }

  @Test("Compound assignment on a recorded tensor is recorded")
  func compoundAssignmentRecorded() {
    let tape = Tape()
    let x = tape.watch(T([1, 2]))
    var y = x
    y *= x  // y = x²
    y += 1
    #expect(y == T([2, 5]))
    #expect(tape.gradient(of: y.sum(), wrt: [x])[0] == T([2, 4]))
  }

  // MARK: Description and equality

  @Test("description prints the elements nested by axis")
  func description() {
    #expect(T(2.5).description == "2.5")
    #expect(T([1, -2]).description == "[1.0, -2.0]")
    #expect(T(shape: [2, 2], scalars: [1, 2, 3, 4]).description == "[[1.0, 2.0],\n [3.0, 4.0]]")
    #expect(Tensor<Float>(shape: [1, 1, 2], scalars: [0.5, 1]).description == "[[[0.5, 1.0]]]")
  }

  @Test("== compares shapes and elements exactly, not whether a tensor is recorded")
  func equality() {
    let a = T(shape: [2, 2], scalars: [1, 2, 3, 4])
    #expect(a == T(shape: [2, 2], scalars: [1, 2, 3, 4]))
    #expect(a != T([1, 2, 3, 4]))
    #expect(a != T(shape: [2, 2], scalars: [1, 2, 3, 4.000_000_000_000_001]))
    #expect(Tape().watch(a) == a)
    let nan = T([1, .nan])
    #expect(nan != nan)
    #expect(T([-0.0]) == T([0.0]))
  }

  @Test("isAlmostEqual(to:) accepts differences within tolerance and rejects others")
  func almostEqual() {
    let a = T([1, 100])
    #expect(a.isAlmostEqual(to: T([1 + 1e-10, 100 + 1e-8])))
    #expect(!a.isAlmostEqual(to: T([1 + 1e-6, 100])))
    #expect(a.isAlmostEqual(to: T([1.01, 101]), relativeTolerance: 0.02))
    #expect(!a.isAlmostEqual(to: T([1, 100, 0])))
    #expect(!T([0]).isAlmostEqual(to: T([1e-20])))
    #expect(T([0]).isAlmostEqual(to: T([1e-20]), absoluteTolerance: 1e-12))
    #expect(Tensor<Float>([1]).isAlmostEqual(to: Tensor<Float>([1.0001])))
  }

  // MARK: Random tensors

  @Test("SeededGenerator gives the same tensor for the same seed and another for another seed")
  func seededGenerator() {
    var first = SeededGenerator(seed: 42)
    var second = SeededGenerator(seed: 42)
    var third = SeededGenerator(seed: 43)
    let a = T(randomNormal: [4, 5], using: &first)
    #expect(a == T(randomNormal: [4, 5], using: &second))
    #expect(a != T(randomNormal: [4, 5], using: &third))
    #expect(T(randomUniform: [8], using: &first) == T(randomUniform: [8], using: &second))
  }

  @Test("Random normal draws have mean 0 and standard deviation 1 over 100,000 draws")
  func randomNormalMoments() {
    var rng = SeededGenerator(seed: 7)
    let draws = T(randomNormal: [100_000], using: &rng).scalars
    let mean = draws.reduce(0, +) / Double(draws.count)
    let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws.count - 1)
    // The standard error of the mean is 1/√100000 ≈ 0.003, of the deviation about 0.002.
    #expect(mean.magnitude < 0.015)
    #expect((variance.squareRoot() - 1).magnitude < 0.01)

    let shifted = T(randomNormal: [100_000], mean: 5, standardDeviation: 2, using: &rng).scalars
    #expect((shifted.reduce(0, +) / Double(shifted.count) - 5).magnitude < 0.03)
  }

  @Test("Nesting follows the thread: inner gradients record on the outer tape, other threads not")
  func nestingFollowsTheThread() {
    final class Box: @unchecked Sendable { var value = 0.0 }
    let other = Box()
    let dx = gradient(at: T(2)) { x in
      // Same thread: the inner gradient, of a constant input, records on the outer tape (its
      // function computes with the outer x), so it is differentiable: d/dy (y·x²) = x².
      let inner = gradient(at: T(1)) { y in y * x * x }
      #expect(inner.isRecorded)
      // Another thread started here: it makes a tape of its own, its result a constant.
      let done = DispatchSemaphore(value: 0)
      Thread {
        let g = gradient(at: T(3)) { $0 * $0 }
        other.value = g.isRecorded ? .nan : g.scalar
        done.signal()
      }.start()
      done.wait()
      return inner
    }
    #expect(other.value == 6)
    #expect(dx.scalar == 4)  // d/dx x² at 2
    #expect(Tape.active == nil)
  }
}
