// The scalar way through an elementwise operation (`ElementwiseOperation`, `ScalarRecord`): on
// scalars (rank 0) it is computed on numbers and recorded by value, and a first-order sweep
// passes it back on plain numbers, without making tensors. It must give the bits the tensor
// kernels and rules give. Each test computes the same function on scalars (shape []) and on
// one-element vectors (shape [1], which take the tensor path), and compares the values and the
// gradients to the bit.

import Foundation
import Testing

@testable import Autodiff

@Suite struct ScalarSweepTests {
  /// The functions with a scalar rule, each of two inputs (most ignore the second).
  static let functions: [(String, @Sendable (Tensor<Double>, Tensor<Double>) -> Tensor<Double>)] = [
    ("add", { $0 + $1 }),
    ("subtract", { $0 - $1 }),
    ("multiply", { $0 * $1 }),
    ("divide", { $0 / $1 }),
    ("negate", { x, _ in -x }),
    ("exp", { x, _ in exp(x) }),
    ("log", { x, _ in log(abs(x) + 0.5) }),
    ("sqrt", { x, _ in sqrt(abs(x) + 0.5) }),
    ("sin", { x, _ in sin(x) }),
    ("cos", { x, _ in cos(x) }),
    ("tanh", { x, _ in tanh(x) }),
    ("sigmoid", { x, _ in sigmoid(x) }),
    ("relu", { x, y in relu(x) * y }),
    ("abs", { x, y in abs(x) * y }),
    ("square", { x, _ in x.squared() }),
    // A value used several times, so that contributions add up in one slot.
    ("reuse", { x, y in x * x + sigmoid(x) / (x + y).squared() - x }),
    // The benchmark's graph.
    ("scalar graph", { x, y in (x + sigmoid(y)) / (sigmoid(x) + (x + y).squared()) }),
  ]

  /// Inputs at random, and at the points where a derivative changes (relu and abs at 0).
  static func inputs() -> [(Double, Double)] {
    var rng = SeededGenerator(seed: 7)
    let random = (0..<20).map { _ in
      (Double.random(in: -3...3, using: &rng), Double.random(in: -3...3, using: &rng))
    }
    return random + [(0, 1.5), (-0.0, -2), (1, 0.25)]
  }

  @Test(
    "Scalars computed and swept on numbers give the tensor kernels' values and gradients, to the bit",
    arguments: functions.indices)
  func sameBits(function: Int) {
    let (name, f) = Self.functions[function]
    for (a, b) in Self.inputs() {
      let (value, scalars) = valueWithGradient(at: Tensor(a), Tensor(b), of: f)
      let (vectorValue, vectors) = valueWithGradient(at: Tensor([a]), Tensor([b])) {
        f($0, $1).sum()
      }
      #expect(scalars.0.shape == [] && scalars.1.shape == [], "\(name)")
      #expect(
        value.scalar.bitPattern == vectorValue.scalar.bitPattern,
        "\(name) at (\(a), \(b)): \(value) on scalars, \(vectorValue) on vectors")
      #expect(
        scalars.0.scalar.bitPattern == vectors.0.scalar.bitPattern
          && scalars.1.scalar.bitPattern == vectors.1.scalar.bitPattern,
        "\(name) at (\(a), \(b)): \(scalars) on scalars, \(vectors) on vectors")
      // Unrecorded scalars are computed on numbers too.
      #expect(f(Tensor(a), Tensor(b)).scalar.bitPattern == value.scalar.bitPattern, "\(name)")
    }
  }

  @Test("Sweeping scalars in Float gives the tensor rules' gradients, to the bit")
  func sameBitsInFloat() {
    let f: (Tensor<Float>, Tensor<Float>) -> Tensor<Float> = { x, y in
      (x + sigmoid(y)) / (sigmoid(x) + (x + y).squared()) * tanh(x) - relu(y) * exp(x)
        + sin(x) * cos(y) - log(abs(y) + 1) / sqrt(abs(x) + 1) + abs(-x)
    }
    for (a, b) in Self.inputs() {
      let (a, b) = (Float(a), Float(b))
      let (value, scalars) = valueWithGradient(at: Tensor(a), Tensor(b), of: f)
      let (vectorValue, vectors) = valueWithGradient(at: Tensor([a]), Tensor([b])) {
        f($0, $1).sum()
      }
      #expect(value.scalar.bitPattern == vectorValue.scalar.bitPattern)
      #expect(scalars.0.scalar.bitPattern == vectors.0.scalar.bitPattern)
      #expect(scalars.1.scalar.bitPattern == vectors.1.scalar.bitPattern)
    }
  }

  @Test("A scalar whose gradient comes both as a number and as a tensor gets their sum")
  func mixedContributions() {
    // `x * v` broadcasts x over a vector: that gradient comes back as a tensor (summed to x's
    // shape), while sigmoid's comes as a number.
    let v = Tensor<Double>([0.5, -1.25, 2])
    let f: (Tensor<Double>) -> Tensor<Double> = { x in (x * v).sum() + sigmoid(x) * x }
    let x = 0.75
    let dx = gradient(at: Tensor(x), of: f)
    let s = 1 / (1 + Foundation.exp(-x))
    let expected = (0.5 - 1.25 + 2) + s * (1 - s) * x + s
    #expect(abs(dx.scalar - expected) < 1e-15)
    expectGradientMatchesFiniteDifferences(at: Tensor(x), of: f)
  }

  @Test("Anomaly detection, which needs each gradient as a tensor, gives the same gradients")
  func anomalyDetection() {
    let f = Self.functions.last!.1
    for (a, b) in Self.inputs() {
      let plain = gradient(at: Tensor(a), Tensor(b), of: f)
      let inspected = withAnomalyDetection { gradient(at: Tensor(a), Tensor(b), of: f) }
      #expect(plain.0.scalar.bitPattern == inspected.0.scalar.bitPattern)
      #expect(plain.1.scalar.bitPattern == inspected.1.scalar.bitPattern)
    }
  }

  @Test("Second derivatives of a scalar graph, where the sweep records itself, are unchanged")
  func secondOrder() {
    // d²/dx² of x³·σ(x) = 6x·σ + 6x²·σ′ + x³·σ″, with σ′ = σ(1 − σ), σ″ = σ′(1 − 2σ).
    let x = 0.8
    let d2 = gradient(at: Tensor(x)) { x in gradient(at: x) { x in x * x * x * sigmoid(x) } }
    let s = 1 / (1 + Foundation.exp(-x))
    let s1 = s * (1 - s)
    let s2 = s1 * (1 - 2 * s)
    #expect(abs(d2.scalar - (6 * x * s + 6 * x * x * s1 + x * x * x * s2)) < 1e-12)
  }

  @Test(
    "A tape is reused only when nothing refers to it: a recorded value kept from a gradient stays")
  func spareTape() {
    let f = Self.functions.last!.1
    let expected = gradient(at: Tensor(2.0), Tensor(-4.0), of: f)
    nonisolated(unsafe) var kept: Tensor<Double>?
    _ = gradient(at: Tensor(3.0)) { x in
      let y = x * x
      kept = y
      return y
    }
    for _ in 0..<3 {
      let again = gradient(at: Tensor(2.0), Tensor(-4.0), of: f)
      #expect(again.0.scalar.bitPattern == expected.0.scalar.bitPattern)
      #expect(again.1.scalar.bitPattern == expected.1.scalar.bitPattern)
    }
    // The kept value is a constant once its gradient call has returned (its tape is finished):
    // differentiating with respect to it starts a tape of its own.
    let y = try! #require(kept)
    #expect(!y.isRecorded && y.scalar == 9)
    #expect(gradient(at: y) { $0 * y }.scalar == 9)
  }

  @Test("Scalars of another type on the same tape are recorded as nodes, with the same gradients")
  func mixedScalarTypes() {
    let tape = Tape()
    let x = tape.watch(Tensor<Double>(0.5))
    let u = tape.watch(Tensor<Float>(0.5))
    let f = sigmoid(x) * x.squared() / (x + 1)
    let g = sigmoid(u) * u.squared() / (u + 1)
    let (dx, du) = (tape.gradient(of: f, wrt: [x])[0], tape.gradient(of: g, wrt: [u])[0])
    let reference = gradient(at: Tensor<Float>(0.5)) { u in sigmoid(u) * u.squared() / (u + 1) }
    #expect(du.scalar == reference.scalar)
    #expect(abs(dx.scalar - Double(du.scalar)) < 1e-6)
    // The statistics count the Double records' numbers by value, and the Float nodes' buffers.
    #expect(tape.statistics.nodeCount == 12)
  }

  @Test("A thread's spare tape records scalars of whichever type comes next")
  func spareTapeChangesType() {
    let double = gradient(at: Tensor(0.5), Tensor(2.0)) { x, y in sigmoid(x) * y }
    let float = gradient(at: Tensor<Float>(0.5), Tensor<Float>(2)) { x, y in sigmoid(x) * y }
    let again = gradient(at: Tensor(0.5), Tensor(2.0)) { x, y in sigmoid(x) * y }
    #expect(again.0.scalar.bitPattern == double.0.scalar.bitPattern)
    #expect(abs(Double(float.0.scalar) - double.0.scalar) < 1e-6)
    #expect(float.1.scalar == sigmoid(Tensor<Float>(0.5)).scalar)
  }
}
