import Autodiff
import Foundation
import Testing

/// `sorted` and `topK` against Swift's sort of each run, with ties, NaN and every axis; their
/// gradients, tangents and second derivatives through the gathered values; their messages.
@Suite struct SortingTests {
  /// The run along `axis` through `index` (the other coordinates fixed), as (value, position).
  static func run(_ x: Tensor<Double>, axis: Int, outer: Int, inner: Int) -> [(Double, Int)] {
    let (n, innerCount) = (x.shape[axis], x.shape[(axis + 1)...].reduce(1, *))
    return (0..<n).map { (x.scalars[outer * n * innerCount + $0 * innerCount + inner], $0) }
  }

  /// The run in PyTorch's stable order: by value, NaN above every number, then by position.
  static func expectedOrder(_ run: [(Double, Int)], descending: Bool) -> [(Double, Int)] {
    func rank(_ value: Double) -> Double { value.isNaN ? .infinity : value }
    let ascending = run.enumerated().sorted { l, r in
      let (a, b) = (l.element.0, r.element.0)
      if a.isNaN != b.isNaN { return b.isNaN }
      if !a.isNaN && a != b { return a < b }
      return l.offset < r.offset
    }.map(\.element)
    guard descending else { return ascending }
    // Descending: by value the other way, equal values (and NaNs) still in position order.
    return ascending.enumerated().sorted { l, r in
      let (a, b) = (l.element.0, r.element.0)
      let same = (a.isNaN && b.isNaN) || a == b
      return same ? l.element.1 < r.element.1 : l.offset > r.offset
    }.map(\.element)
  }

  static let data = Tensor<Double>(
    shape: [2, 5, 3],
    scalars: [
      3, 1, .nan, -0.5, 2, 2, 3, 7, 1, .nan, 2, 0, -1, 2, -4,
      0, 0, 0, 5, -2, 1, .nan, .nan, 9, 1, 1, 1, -3, 4, 2,
    ])

  @Test(
    "sorted equals a stable sort of each run, NaN last ascending and first descending",
    arguments: [0, 1, 2, -1], [false, true])
  func sortsEachRun(axis: Int, descending: Bool) {
    let x = Self.data
    let axis = axis < 0 ? axis + 3 : axis
    let (values, indices) = x.sorted(alongAxis: axis, descending: descending)
    #expect(values.shape == x.shape)
    let (outerCount, innerCount) = (
      x.shape[..<axis].reduce(1, *), x.shape[(axis + 1)...].reduce(1, *)
    )
    let n = x.shape[axis]
    for o in 0..<outerCount {
      for i in 0..<innerCount {
        let expected = Self.expectedOrder(
          Self.run(x, axis: axis, outer: o, inner: i), descending: descending)
        for p in 0..<n {
          let slot = o * n * innerCount + p * innerCount + i
          let (value, index) = (values.scalars[slot], indices[slot])
          #expect(index == expected[p].1, "axis \(axis), run (\(o), \(i)), place \(p)")
          #expect(value.isNaN ? expected[p].0.isNaN : value == expected[p].0)
        }
      }
    }
  }

  @Test("topK keeps the first k of the sorted order, largest or smallest", arguments: [0, 1, 3, 5])
  func topKIsSortedPrefix(k: Int) {
    let x = Self.data
    for largest in [true, false] {
      let (values, indices) = x.topK(k, alongAxis: 1, largest: largest)
      let (sorted, order) = x.sorted(alongAxis: 1, descending: largest)
      #expect(values.shape == [2, k, 3])
      let prefix = sorted[.all, 0..<k]
      #expect(values.scalars.elementsEqual(prefix.scalars) { $0 == $1 || ($0.isNaN && $1.isNaN) })
      let orderPrefix = (0..<2).flatMap { o in (0..<(k * 3)).map { order[o * 15 + $0] } }
      #expect(indices == orderPrefix)
    }
  }

  @Test("Runs sorted on several threads give what one thread gives, in Float and in Double")
  func threads() {
    var rng = SeededGenerator(seed: 19)
    let x = Tensor<Float>(randomNormal: [96, 700], using: &rng)
    let y = Tensor<Double>(randomNormal: [50, 3, 90], using: &rng)
    let threads = Parallelism.threadCount
    defer { Parallelism.threadCount = threads }
    Parallelism.threadCount = 1
    let (one, oneColumns) = (x.sorted(), y.sorted(alongAxis: 0, descending: true))
    Parallelism.threadCount = 3
    let (many, manyColumns) = (x.sorted(), y.sorted(alongAxis: 0, descending: true))
    #expect(many.values == one.values && many.indices == one.indices)
    #expect(manyColumns.values == oneColumns.values && manyColumns.indices == oneColumns.indices)
  }

  @Test("The documented examples")
  func examples() {
    let x = Tensor<Double>([[3, 1, 2], [0, 5, 5]])
    let (values, indices) = x.sorted()
    #expect(values == [[1, 2, 3], [0, 5, 5]] && indices == [1, 2, 0, 0, 1, 2])
    #expect(x.sorted(descending: true).values == [[3, 2, 1], [5, 5, 0]])
    #expect(x.sorted(descending: true).indices == [0, 2, 1, 1, 2, 0])
    let scores = Tensor<Float>([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]])
    let (best, classes) = scores.topK(2)
    #expect(best == [[0.7, 0.2], [0.5, 0.4]] && classes == [1, 2, 0, 2])
    #expect(Tensor<Float>(zeros: [0, 3]).sorted(alongAxis: 0).values.shape == [0, 3])
  }

  @Test("Gradients, tangents and second derivatives go through the gathered values")
  func derivatives() {
    var rng = SeededGenerator(seed: 17)
    let x = Tensor<Double>.distinct([3, 4], using: &rng)
    let weights = Tensor<Double>(shape: [3, 2], scalars: [1, -2, 0.5, 3, -1, 2])
    expectGradientsMatchFiniteDifferences(at: [x]) { $0[0].sorted(alongAxis: 0).values }
    expectGradientsMatchFiniteDifferences(at: [x]) { $0[0].topK(2).values * weights }
    expectGradientsMatchFiniteDifferences(at: [x]) {
      $0[0].topK(2, alongAxis: 0, largest: false).values
    }
    let v = Tensor<Double>(randomNormal: [3, 4], using: &rng)
    let h = 1e-6
    let f = { (x: Tensor<Double>) in sin(x.topK(2).values) * weights }
    let tangent = jvp(at: x, tangent: v, of: f).tangent
    #expect(
      tangent.isAlmostEqual(
        to: (f(x + h * v) - f(x - h * v)) / (2 * h), relativeTolerance: 1e-7,
        absoluteTolerance: 1e-9))
    expectGradientMatchesFiniteDifferences(at: x) { x in
      gradient(at: x) { (sin($0.sorted(descending: true).values).squared() * $0).sum() }
    }
    // Elements not among the top k get no gradient.
    let g = gradient(at: x) { $0.topK(1).values.sum() }
    #expect(g.scalars.filter { $0 != 0 }.count == 3)
  }
}
