import Autodiff
import Foundation
import Testing

/// Subscripts with integers and ranges, assignment through them, and gathering by a list of
/// positions: values as NumPy computes them, gradients against finite differences, tangents and
/// second derivatives. (The differential test against JAX runs both operations in random
/// programs too: Support/RandomPrograms.swift.)
@Suite struct IndexingTests {
  /// [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
  static let x = Tensor<Float>(rangeFrom: 0, to: 12).reshaped(to: [3, 4])

  // MARK: Reading

  @Test("An integer picks one position and drops its axis; negative ones count from the end")
  func integerIndices() {
    let x = Self.x
    #expect(x[1] == [4, 5, 6, 7])
    #expect(x[1, 2] == Tensor(6))
    #expect(x[1, 2].shape == [])
    #expect(x[-1] == [8, 9, 10, 11])
    #expect(x[-1, -4] == Tensor(8))
    let cube = Tensor<Double>(rangeFrom: 0, to: 24).reshaped(to: [2, 3, 4])
    #expect(cube[1, 2] == [20, 21, 22, 23])
    #expect(cube[0][2][1] == cube[0, 2, 1])
  }

  @Test("Ranges keep their axis; .all keeps a whole axis; integers and ranges mix")
  func rangesAndAll() {
    let x = Self.x
    #expect(x[0, 1..<3] == [1, 2])
    #expect(x[.all, 2] == [2, 6, 10])
    #expect(x[.all, -1] == [3, 7, 11])
    #expect(x[1..., ..<2] == [[4, 5], [8, 9]])
    #expect(x[0...1, 3] == [3, 7])
    #expect(x[...1, 2...] == [[2, 3], [6, 7]])
    #expect(x[2..<2].shape == [0, 4])
    #expect(x[.all, 4...].shape == [3, 0])
    #expect(x[.all, .all] == x)
  }

  @Test(
    "Indexing matches finite differences: the gradient is placed at the positions read",
    arguments: [
      ([5], "2"), ([5], "-1"), ([4, 3], "1"), ([4, 3], "-2,0"), ([4, 3], ":,1"),
      ([4, 3], "1:3,0:2"), ([2, 3, 4], "1,:,-1"), ([2, 3, 4], "0,1:3"), ([2, 3, 4], "-1,2,3"),
    ])
  func indexingGradient(shape: [Int], indices: String) {
    var rng = SeededGenerator(seed: 7)
    let x = Tensor.uniform(shape, in: -2..<2, using: &rng)
    expectGradientMatchesFiniteDifferences(at: x) { x in
      sin(index(x, tensorIndices(indices))) * index(x, tensorIndices(indices))
    }
  }

  @Test("Indexing's tangent is the tangent indexed, and its second derivative is f's only")
  func indexingForwardAndSecondOrder() {
    let x = Tensor<Double>([[0.5, -1, 2], [1.5, 0.25, -0.75]])
    let v = Tensor<Double>([[1, 2, 3], [4, 5, 6]])
    let (value, tangent) = jvp(at: x, tangent: v) { x in x[1, 0...1] }
    #expect(value == [1.5, 0.25])
    #expect(tangent == [4, 5])
    // φ(x) = Σ sin(x[.all, 2]): H·v is −sin(x)·v at column 2, zero elsewhere.
    let hvp = hessianVectorProduct(at: x, direction: v) { x in sin(x[.all, 2]).sum() }
    let (a, b) = (-Foundation.sin(2.0) * 3, Foundation.sin(0.75) * 6)
    let expected = Tensor<Double>(shape: [2, 3], scalars: [0, 0, a, 0, 0, b])
    #expect(hvp.isAlmostEqual(to: expected, relativeTolerance: 1e-12))
  }

  // MARK: Writing

  @Test("Assigning through a subscript writes the picked elements, broadcast, and nothing else")
  func assignment() {
    var x = Self.x
    let original = x
    x[0] = Tensor([-1, -2, -3, -4])
    x[1, 2] = Tensor(100)
    x[.all, 0] = Tensor(0)
    x[2, 2...] = Tensor([7, 7])
    #expect(x == [[0, -2, -3, -4], [0, 5, 100, 7], [0, 9, 7, 7]])
    #expect(original == Self.x, "copy-on-write: the original is unchanged")
    var y = Self.x
    y[1..<3, 1..<3] = [[1], [2]]
    #expect(y == [[0, 1, 2, 3], [4, 1, 1, 7], [8, 2, 2, 11]])
    var z = Self.x
    z[1..<3] = Tensor(0)  // one range: the get-only x[a..<b] gives way to this subscript
    #expect(z == [[0, 1, 2, 3], [0, 0, 0, 0], [0, 0, 0, 0]])
  }

  @Test("A tensor recorded on a finished tape may be assigned into: it is a constant")
  func assignmentAfterDifferentiation() {
    var value = Tensor<Double>(0)
    _ = gradient(at: Tensor<Double>([1, 2, 3])) { x in
      value = x * 2
      return value.sum()
    }
    value[0] = Tensor(-1)
    #expect(value == [-1, 4, 6])
    #expect(!value.isRecorded)
  }

  // MARK: Gathering

  @Test("gathering picks slices along an axis in the order given, repeats and negatives too")
  func gatheringValues() {
    let x = Self.x
    #expect(
      x.gathering(atIndices: [2, 0, 2]) == [[8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]])
    #expect(x.gathering(atIndices: [-1, 1], alongAxis: 1) == [[3, 1], [7, 5], [11, 9]])
    #expect(x.gathering(atIndices: [], alongAxis: -1).shape == [3, 0])
    let cube = Tensor<Double>(rangeFrom: 0, to: 24).reshaped(to: [2, 3, 4])
    #expect(
      cube.gathering(atIndices: [1, 1], alongAxis: 1)
        == Tensor(concatenating: [cube[.all, 1...1], cube[.all, 1...1]], alongAxis: 1))
  }

  @Test(
    "gathering matches finite differences; repeated positions accumulate their gradients",
    arguments: [
      ([5], 0, [4, 0, 4, 4]), ([4, 3], 0, [1, 1, -1]), ([4, 3], 1, [2, 0]),
      ([2, 3, 4], 1, [0, 2, 0]), ([2, 3, 4], -1, [3, 3, 1, 0, 2]),
    ])
  func gatheringGradient(shape: [Int], axis: Int, indices: [Int]) {
    var rng = SeededGenerator(seed: 11)
    let x = Tensor.uniform(shape, in: -2..<2, using: &rng)
    expectGradientMatchesFiniteDifferences(at: x) { x in
      let y = x.gathering(atIndices: indices, alongAxis: axis)
      return y * y
    }
  }

  @Test("gathering the same row three times sends back three times its gradient")
  func repeatedRowsAccumulate() {
    let g = gradient(at: Tensor<Float>(zeros: [3, 2])) { x in
      x.gathering(atIndices: [1, 1, 1, 0]).sum()
    }
    #expect(g == [[1, 1], [3, 3], [0, 0]])
  }

  @Test("gathering's tangent is the tangent gathered, and its Hessian is f's composed with it")
  func gatheringForwardAndSecondOrder() {
    let x = Tensor<Double>([0.5, -1, 2])
    let v = Tensor<Double>([1, 2, 3])
    let (_, tangent) = jvp(at: x, tangent: v) { x in x.gathering(atIndices: [2, 0, 2]) }
    #expect(tangent == [3, 1, 3])
    // φ(x) = Σ y² with y = (x₂, x₀, x₂): φ = x₀² + 2x₂², H = diag(2, 0, 4).
    let hvp = hessianVectorProduct(at: x, direction: v) { x in
      x.gathering(atIndices: [2, 0, 2]).squared().sum()
    }
    #expect(hvp == [2, 0, 12])
    // φ linear in x: its second derivative is zero.
    let linear = hessianVectorProduct(at: x, direction: v) { x in
      (x.gathering(atIndices: [1, 1]) * 3).sum()
    }
    #expect(linear == [0, 0, 0])
  }

  /// x[indices...] for indices held in an array.
  func index(_ x: Tensor<Double>, _ i: [any TensorIndexExpression]) -> Tensor<Double> {
    switch i.count {
    case 1: x[i[0]]
    case 2: x[i[0], i[1]]
    default: x[i[0], i[1], i[2]]
    }
  }
}
