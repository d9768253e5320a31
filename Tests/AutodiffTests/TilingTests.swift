import Autodiff
import Foundation
import Testing

/// `flipped`, `tiled`, `repeated` and `padded` against NumPy's definitions element by element
/// (each output element read from its source through its multi-index), against numbers NumPy
/// printed, on both precisions and on tensors large enough to split across threads; their
/// tangents and gradients in exact numbers. (Gradients against finite differences:
/// GradientTests.Shaping; tangents: ForwardModeTests; second order: SecondOrderTests; against
/// JAX: DifferentialTests.)
@Suite struct TilingTests {
  // MARK: A reference by multi-indices

  /// The row-major multi-index of the flat position `flat` in `shape`.
  static func multiIndex(_ flat: Int, in shape: [Int]) -> [Int] {
    var (index, rest) = ([Int](repeating: 0, count: shape.count), flat)
    for axis in shape.indices.reversed() {
      index[axis] = rest % shape[axis]
      rest /= shape[axis]
    }
    return index
  }

  /// The flat position of the multi-index `index` in `shape`.
  static func flat(_ index: [Int], in shape: [Int]) -> Int {
    zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
  }

  /// The tensor of `shape` whose element at each multi-index is `element` of it.
  static func tensor(_ shape: [Int], _ element: ([Int]) -> Double) -> Tensor<Double> {
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, scalars: (0..<count).map { element(multiIndex($0, in: shape)) })
  }

  /// Distinct elements 1, 2, 3, …, so that a value names its source.
  static func counting(_ shape: [Int]) -> Tensor<Double> {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Double($0 + 1) })
  }

  // MARK: Values

  @Test(
    "flipped(alongAxes:) reads position n − 1 − i along each flipped axis",
    arguments: [
      ([], []), ([5], [0]), ([5], [-1]), ([3, 4], [0]), ([3, 4], [1]), ([3, 4], [-1, 0]),
      ([2, 3, 4], [1]), ([2, 3, 4], [0, 2]), ([2, 3, 4], [2, 1, 0]), ([2, 1, 3], [1, 2]),
      ([0, 3], [1]), ([3, 4], []),
    ] as [([Int], [Int])])
  func flipValues(flip: ([Int], [Int])) {
    let (shape, axes) = flip
    let x = Self.counting(shape)
    let flipped = Set(axes.map { $0 < 0 ? $0 + shape.count : $0 })
    let expected = Self.tensor(shape) { i in
      let source = i.indices.map { flipped.contains($0) ? shape[$0] - 1 - i[$0] : i[$0] }
      return x.scalars[Self.flat(source, in: shape)]
    }
    #expect(x.flipped(alongAxes: axes) == expected)
    #expect(x.flipped(alongAxes: axes).flipped(alongAxes: axes) == x)
  }

  @Test(
    "tiled(_:) reads position i mod n along each axis, multiples padded with leading 1s",
    arguments: [
      ([], [3]), ([], []), ([4], [3]), ([4], [2, 3]), ([3, 2], [2, 3]), ([3, 2], [3]),
      ([2, 1, 3], [1, 4, 2]), ([2, 3], [2, 1, 2]), ([3, 2], [0, 2]), ([0, 2], [3, 1]),
      ([3, 2], [1, 1]), ([2, 3], [1, 1, 1, 1]),
    ] as [([Int], [Int])])
  func tileValues(tile: ([Int], [Int])) {
    let (shape, multiples) = tile
    let x = Self.counting(shape)
    let rank = max(shape.count, multiples.count)
    let extents = [Int](repeating: 1, count: rank - shape.count) + shape
    let counts = [Int](repeating: 1, count: rank - multiples.count) + multiples
    let expected = Self.tensor(zip(extents, counts).map(*)) { i in
      let source = i.indices.dropFirst(rank - shape.count).map { i[$0] % extents[$0] }
      return x.scalars[Self.flat(source, in: shape)]
    }
    let tiled = x.tiled(multiples)
    #expect(tiled.shape == expected.shape)
    #expect(tiled == expected)
  }

  @Test(
    "repeated(_:alongAxis:) gives slice j counts[j] places in a row, uniform or per slice",
    arguments: [
      ([4], 0, [1, 0, 3, 2]), ([3, 2], 0, [2, 1, 0]), ([3, 2], -1, [0, 3]),
      ([2, 3, 4], 1, [1, 2, 1]), ([2, 3, 4], -1, [2, 2, 2, 2]), ([2, 3, 4], 0, [3, 3]),
      ([2, 3], 1, [0, 0, 0]), ([2, 3], 1, [1, 1, 1]), ([2, 0], 1, []), ([0, 2], 0, []),
    ] as [([Int], Int, [Int])])
  func repeatValues(repetition: ([Int], Int, [Int])) {
    let (shape, signedAxis, counts) = repetition
    let axis = signedAxis < 0 ? signedAxis + shape.count : signedAxis
    let x = Self.counting(shape)
    // The slice each place along the axis comes from.
    let sources = counts.enumerated().flatMap { repeatElement($0.offset, count: $0.element) }
    var newShape = shape
    newShape[axis] = sources.count
    let expected = Self.tensor(newShape) { i in
      var source = i
      source[axis] = sources[i[axis]]
      return x.scalars[Self.flat(source, in: shape)]
    }
    #expect(x.repeated(counts, alongAxis: signedAxis) == expected)
    if let count = counts.first, counts.allSatisfy({ $0 == count }) {
      #expect(x.repeated(count, alongAxis: signedAxis) == expected)
    }
  }

  @Test(
    "padded(_:with:) puts the tensor at the before widths and the value everywhere else",
    arguments: [
      ([5], [(2, 1)]), ([3, 4], [(1, 0), (0, 2)]), ([3, 4], [(0, 0), (3, 3)]),
      ([2, 3, 2], [(1, 1), (0, 1), (2, 0)]), ([0, 2], [(1, 1), (1, 0)]), ([], []),
      ([3, 4], [(0, 0), (0, 0)]), ([1, 1, 1, 1], [(0, 1), (1, 0), (0, 0), (2, 2)]),
    ] as [([Int], [(before: Int, after: Int)])])
  func padValues(pad: ([Int], [(before: Int, after: Int)])) {
    let (shape, widths) = pad
    let x = Self.counting(shape)
    let newShape = shape.indices.map { widths[$0].before + shape[$0] + widths[$0].after }
    let expected = Self.tensor(newShape) { i in
      let source = i.indices.map { i[$0] - widths[$0].before }
      let inside = source.indices.allSatisfy { source[$0] >= 0 && source[$0] < shape[$0] }
      return inside ? x.scalars[Self.flat(source, in: shape)] : -7.5
    }
    #expect(x.padded(widths, with: -7.5) == expected)
  }

  @Test("The numbers NumPy prints for flip, tile, repeat and pad of arange(6).reshape(2, 3)")
  func numpyNumbers() {
    let a = Tensor<Double>([[0, 1, 2], [3, 4, 5]])
    // np.flip(a, (0, 1)), np.flip(a, 1)
    #expect(a.flipped(alongAxes: [0, 1]) == [[5, 4, 3], [2, 1, 0]])
    #expect(a.flipped(alongAxes: [1]) == [[2, 1, 0], [5, 4, 3]])
    // np.tile(a, 2), np.tile(a, (2, 1, 2)).shape, np.tile(np.float64(3), 3)
    #expect(a.tiled([2]) == [[0, 1, 2, 0, 1, 2], [3, 4, 5, 3, 4, 5]])
    #expect(a.tiled([2, 1, 2]).shape == [2, 2, 6])
    #expect(Tensor<Double>(3).tiled([3]) == [3, 3, 3])
    // np.repeat(a, 2, axis=1), np.repeat(a, [1, 0], axis=0)
    #expect(a.repeated(2, alongAxis: 1) == [[0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 5, 5]])
    #expect(a.repeated([1, 0], alongAxis: 0) == [[0, 1, 2]])
    // np.pad(a, ((1, 0), (0, 2)), constant_values=9)
    #expect(
      a.padded([(1, 0), (0, 2)], with: 9)
        == [[9, 9, 9, 9, 9], [0, 1, 2, 9, 9], [3, 4, 5, 9, 9]])
  }

  @Test("The documented examples print what their comments show")
  func documentedExamples() {
    let x = Tensor<Float>([[1, 2, 3], [4, 5, 6]])
    #expect(x.flipped(alongAxes: [1]).description == "[[3.0, 2.0, 1.0],\n [6.0, 5.0, 4.0]]")
    #expect(x.flipped(alongAxes: [0, -1]).description == "[[6.0, 5.0, 4.0],\n [3.0, 2.0, 1.0]]")
    let m = Tensor<Float>([[1, 2], [3, 4]])
    #expect(
      m.tiled([2, 3]).description
        == """
        [[1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
         [3.0, 4.0, 3.0, 4.0, 3.0, 4.0],
         [1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
         [3.0, 4.0, 3.0, 4.0, 3.0, 4.0]]
        """)
    #expect(
      Tensor<Float>([1, 2]).tiled([2, 2]).description
        == "[[1.0, 2.0, 1.0, 2.0],\n [1.0, 2.0, 1.0, 2.0]]")
    #expect(m.tiled([3]).shape == [2, 6])
    #expect(
      m.repeated(2, alongAxis: 1).description == "[[1.0, 1.0, 2.0, 2.0],\n [3.0, 3.0, 4.0, 4.0]]")
    #expect(m.repeated(3, alongAxis: 0).shape == [6, 2])
    #expect(
      m.repeated([1, 2], alongAxis: 0).description == "[[1.0, 2.0],\n [3.0, 4.0],\n [3.0, 4.0]]")
    #expect(
      m.repeated([0, 3], alongAxis: -1).description == "[[2.0, 2.0, 2.0],\n [4.0, 4.0, 4.0]]")
    #expect(
      m.padded([(1, 0), (0, 2)]).description
        == "[[0.0, 0.0, 0.0, 0.0],\n [1.0, 2.0, 0.0, 0.0],\n [3.0, 4.0, 0.0, 0.0]]")
    #expect(
      Tensor<Float>([1, 2]).padded([(2, 1)], with: -1).description
        == "[-1.0, -1.0, 1.0, 2.0, -1.0]")
  }

  @Test("Float gives Double's values, and several threads give one thread's bits")
  func precisionsAndThreads() {
    var rng = SeededGenerator(seed: 23)
    // 2,250,000 elements: copies of rows split across threads from 2²⁰ elements a thread.
    // (Every buffer here is of 9 MB or more, outside the size class that BufferCacheTests
    // watches, 4 to 6 MiB.)
    let x = Tensor<Float>(randomNormal: [1500, 1500], using: &rng)
    let operations: [(String, (Tensor<Float>) -> Tensor<Float>)] = [
      ("flip rows", { $0.flipped(alongAxes: [0]) }),
      ("flip columns", { $0.flipped(alongAxes: [1]) }),
      ("flip both", { $0.flipped(alongAxes: [0, 1]) }),
      ("tile", { $0.tiled([2, 2]) }),
      ("repeat rows", { $0.repeated(2, alongAxis: 0) }),
      ("repeat columns", { $0.repeated(2, alongAxis: 1) }),
      ("repeat each", { $0.repeated((0..<1500).map { $0 % 3 }, alongAxis: 0) }),
      ("pad", { $0.padded([(3, 1), (2, 5)], with: 0.5) }),
      ("gradient of a tile", { x in gradient(at: x) { ($0.tiled([2, 1]) * 0.5).sum() } }),
      ("gradient of a repeat", { x in gradient(at: x) { $0.repeated(2, alongAxis: 1).sum() } }),
    ]
    let threads = Parallelism.threadCount
    defer { Parallelism.threadCount = threads }
    for (name, operation) in operations {
      Parallelism.threadCount = 1
      let one = operation(x)
      Parallelism.threadCount = 3
      let many = operation(x)
      #expect(one == many, "\(name)")
      let double = Tensor<Double>(operation(Tensor<Float>(Tensor<Double>(x))))
      #expect(Tensor<Double>(one) == double, "\(name)")
    }
  }

  // MARK: Derivatives in exact numbers

  @Test("Each tangent is the operation applied to the tangent, and each gradient its adjoint")
  func tangentsAndGradients() {
    var rng = SeededGenerator(seed: 29)
    let x = Tensor<Double>(randomNormal: [3, 4], using: &rng)
    let v = Tensor<Double>(randomNormal: [3, 4], using: &rng)
    let operations: [(String, (Tensor<Double>) -> Tensor<Double>)] = [
      ("flip", { $0.flipped(alongAxes: [-1, 0]) }),
      ("tile", { $0.tiled([2, 1, 3]) }),
      ("repeat", { $0.repeated(3, alongAxis: 1) }),
      ("repeat each", { $0.repeated([2, 0, 1], alongAxis: 0) }),
      ("pad", { $0.padded([(1, 2), (0, 1)], with: 4) }),
    ]
    for (name, f) in operations {
      let (value, tangent) = jvp(at: x, tangent: v, of: f)
      #expect(value == f(x), "\(name)")
      // A linear map's tangent is the map of the tangent; a pad's border is constant.
      let linear = name == "pad" ? f(v) - f(Tensor(zeros: [3, 4])) : f(v)
      #expect(tangent == linear, "\(name)")
      // ⟨u, f(v)⟩ = ⟨fᵀ(u), v⟩.
      let u = Tensor<Double>(randomNormal: value.shape, using: &rng)
      let pulled = gradient(at: x) { (f($0) * u).sum() }
      let (forward, reverse) = ((u * tangent).sum().scalar, (pulled * v).sum().scalar)
      #expect(abs(forward - reverse) <= 1e-12 * max(1, abs(forward)), "\(name)")
    }
    // Exact gradients: the number of copies of each element.
    #expect(gradient(at: x) { $0.tiled([2, 3]).sum() } == Tensor(repeating: 6, shape: [3, 4]))
    #expect(
      gradient(at: x) { $0.repeated([1, 0, 3], alongAxis: 0).sum() }
        == Tensor<Double>([1, 0, 3]).reshaped(to: [3, 1]).expanded(to: [3, 4]))
    #expect(
      gradient(at: x) { $0.padded([(2, 2), (1, 1)], with: 5).sum() } == Tensor(ones: [3, 4]))
    let w = Self.counting([3, 4])
    #expect(gradient(at: x) { ($0.flipped(alongAxes: [1]) * w).sum() } == w.flipped(alongAxes: [1]))
  }
}
