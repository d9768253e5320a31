// Stacking and splitting, products, variances, log-sum-exp, running sums, minima and the
// positions of extrema: values against NumPy's definitions, the edge cases NumPy and JAX define
// (zeros in a product, infinities in log-sum-exp, ties and NaN in argmax), and gradients against
// finite differences. Random programs over these operations are also compared with JAX
// (DifferentialTests.swift).

import Autodiff
import Foundation
import Testing

@Suite struct ReductionAndJoiningTests {
  // MARK: Column sums

  @Test(
    "A sum over the rows adds 128 rows at a time in row order, the blocks pairwise, for any shape",
    arguments: [
      [1, 5], [64, 128], [7, 10], [3, 1_030], [2, 2_049], [100, 17], [128, 3], [129, 3],
      [300, 5], [1_000, 1_030], [4_096, 2],
    ])
  func columnSumsInBlocks(shape: [Int]) {
    var rng = SeededGenerator(seed: 2102)
    let x = Tensor<Float>(Tensor.uniform(shape, in: -1..<1, using: &rng))
    let (rows, columns) = (shape[0], shape[1])
    let elements = x.scalars
    // The definition: each block of 128 rows in row order (all of a batch of up to 128), then
    // the blocks' sums added as a binary counter carries, earlier rows first.
    let expected = (0..<columns).map { column in
      let blocks = (rows + 127) / 128
      var partials: [Int: Float] = [:]
      for block in 0..<blocks {
        let rowsOfBlock = (block * 128)..<Swift.min(rows, block * 128 + 128)
        var sum = rowsOfBlock.dropFirst().reduce(
          elements[rowsOfBlock.lowerBound * columns + column]
        ) {
          $0 + elements[$1 * columns + column]
        }
        var level = 0
        while (block >> level) & 1 == 1 {
          sum = partials[level]! + sum
          level += 1
        }
        partials[level] = sum
      }
      return (0..<64).reversed().filter { (blocks >> $0) & 1 == 1 }.map { partials[$0]! }
        .reduce(0, +)
    }
    // Bit for bit: the order of the adds is the definition's (0 + the first partial is exact).
    #expect(x.sum(alongAxes: [0]).scalars.map(\.bitPattern) == expected.map(\.bitPattern))
    let batched = Tensor(stacking: [x, x * 2]).sum(alongAxes: [1])
    #expect(batched.scalars.prefix(columns).map(\.bitPattern) == expected.map(\.bitPattern))
  }

  @Test("A Float column of 10⁶ rows sums to within 2·10⁻⁶, not 1% off as in row order")
  func longColumnSumIsAccurate() {
    let x = Tensor<Float>(repeating: 0.1, shape: [1_000_000, 2])
    let sums = x.sum(squeezingAxes: [0]).scalars
    // Σ of 10⁶ copies of Float(0.1) = 1.00000001490116e5 exactly; PyTorch's cascade gives
    // 99999.945, row order 100958.34.
    let exact = 1_000_000 * Double(Float(0.1))
    #expect(sums.allSatisfy { Swift.abs(Double($0) - exact) / exact < 2e-6 }, "\(sums)")
  }

  // MARK: Stacking and splitting

  @Test("stack inserts a new axis at any position, negative ones counted from the result's end")
  func stackValues() {
    let a = Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4])
    let b = Tensor<Float>(shape: [2, 2], scalars: [5, 6, 7, 8])
    #expect(
      Tensor(stacking: [a, b]) == Tensor(shape: [2, 2, 2], scalars: [1, 2, 3, 4, 5, 6, 7, 8]))
    #expect(
      Tensor(stacking: [a, b], alongAxis: 1)
        == Tensor(shape: [2, 2, 2], scalars: [1, 2, 5, 6, 3, 4, 7, 8]))
    let last = Tensor(shape: [2, 2, 2], scalars: [1, 5, 2, 6, 3, 7, 4, 8] as [Float])
    #expect(Tensor(stacking: [a, b], alongAxis: 2) == last)
    #expect(Tensor(stacking: [a, b], alongAxis: -1) == last)
    #expect(Tensor(stacking: [Tensor<Double>(3)]) == Tensor([3]))
  }

  @Test(
    "stack's gradients are the slices of the upstream gradient", arguments: [[], [3], [2, 3]],
    [0, -1])
  func stackGradient(shape: [Int], axis: Int) {
    var rng = SeededGenerator(seed: 2101)
    let a = Tensor.uniform(shape, in: -1..<1, using: &rng)
    let b = Tensor.uniform(shape, in: -1..<1, using: &rng)
    let weights = Tensor.uniform(
      Tensor(stacking: [a, b, a], alongAxis: axis).shape, in: -1..<1, using: &rng)
    expectGradientsMatchFiniteDifferences(at: a, b) {
      Tensor(stacking: [$0, $1, $0 * $1], alongAxis: axis) * weights
    }
  }

  @Test("split, split(sizes:) and chunked cut as NumPy and PyTorch do, and concatenate back")
  func splitValues() {
    let x = Tensor<Double>(shape: [2, 6], scalars: (0..<12).map(Double.init))
    let thirds = x.split(into: 3, alongAxis: 1)
    #expect(thirds.map(\.shape) == [[2, 2], [2, 2], [2, 2]])
    #expect(thirds[1] == Tensor(shape: [2, 2], scalars: [2, 3, 8, 9]))
    #expect(Tensor(concatenating: thirds, alongAxis: -1) == x)
    #expect(x.split(sizes: [1, 0, 5], alongAxis: -1).map(\.shape) == [[2, 1], [2, 0], [2, 5]])
    #expect(
      x.split(into: 2).map(\.scalars) == [Array(0..<6), Array(6..<12)].map { $0.map(Double.init) })
    let v = Tensor<Float>([1, 2, 3, 4, 5])
    #expect(v.chunked(into: 3).map(\.scalars) == [[1, 2], [3, 4], [5]])
    // torch.chunk: 5 rows in 4 chunks are chunks of 2, so only 3 of them.
    #expect(v.chunked(into: 4).map(\.scalars) == [[1, 2], [3, 4], [5]])
    #expect(v.chunked(into: 9).count == 5)
  }

  @Test("The gradient of a piece is zero outside it, and the pieces' gradients add up to the whole")
  func splitGradient() {
    var rng = SeededGenerator(seed: 2102)
    let x = Tensor.uniform([3, 4], in: -1..<1, using: &rng)
    let first = gradient(at: x) { $0.split(into: 2, alongAxis: 1)[0].sum() }
    #expect(first == Tensor(shape: [3, 4], scalars: [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]))
    let whole = gradient(at: x) { x in
      x.split(sizes: [1, 3], alongAxis: 1).map { ($0 * $0).sum() }.reduce(Tensor(0), +)
    }
    #expect(whole.isAlmostEqual(to: 2 * x, relativeTolerance: 1e-15, absoluteTolerance: 0))
    expectGradientMatchesFiniteDifferences(at: x) { x in
      let pieces = x.chunked(into: 3, alongAxis: 0)
      return pieces[0] * pieces[2] + sin(pieces[1])
    }
  }

  // MARK: Products

  @Test("A Float product of 2²⁰ factors near 1, and its gradient, are within 10⁻⁶ of Double's")
  func longFloatProduct() {
    // In Float the tree's roundings leaned one way: 0.7% off here (2.75% at 2²²).
    var rng = SeededGenerator(seed: 4)
    let factors = Tensor<Float>(randomNormal: [1 << 20], using: &rng) * 1e-4 + 1
    let exact = factors.scalars.reduce(1.0) { $0 * Double($1) }
    #expect(Swift.abs(Double(factors.product().scalar) - exact) <= 1e-6 * exact)
    let slopes = gradient(at: factors) { $0.product() }.scalars
    let others = exact / Double(factors.scalars[7])
    #expect(Swift.abs(Double(slopes[7]) - others) <= 1e-6 * others)
  }

  @Test("product's gradient is the product of the other elements, exact where elements are 0")
  func productWithZeros() {
    let oneZero = Tensor<Double>([2, 0, 3, 4])
    #expect(oneZero.product() == Tensor(0))
    #expect(gradient(at: oneZero) { $0.product() } == Tensor([0, 24, 0, 0]))
    let twoZeros = Tensor<Double>([2, 0, 3, 0])
    #expect(gradient(at: twoZeros) { $0.product() } == Tensor([0, 0, 0, 0]))
    let rows = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 0, 5, 6])
    #expect(rows.product(squeezingAxes: [1]) == Tensor([6, 0]))
    #expect(
      gradient(at: rows) { $0.product(alongAxes: [1]).sum() }
        == Tensor(shape: [2, 3], scalars: [6, 3, 2, 30, 0, 0]))
    // The empty product is 1, as NumPy's prod.
    #expect(Tensor<Double>(zeros: [2, 0]).product(alongAxes: [1]) == Tensor(ones: [2, 1]))
    #expect(Tensor<Double>([1, .nan, 0]).product().scalar.isNaN)
  }

  @Test("product's second derivative: ∂²(xyz)/∂x∂y = z, ∂²/∂x² = 0", arguments: [5, 7, 8])
  func productSecondOrder(count: Int) {
    var rng = SeededGenerator(seed: 2103)
    let x = Tensor.uniform([count], in: 0.5..<1.5, using: &rng)
    let v = Tensor.uniform([count], in: -1..<1, using: &rng)
    // H·v for f = Πxᵢ: (Hv)ᵢ = Σ_{j≠i} Π_{k≠i,j} xₖ · vⱼ.
    let (xs, vs) = (x.scalars, v.scalars)
    func productOfOthers(_ i: Int, _ j: Int) -> Double {
      (0..<count).filter { $0 != i && $0 != j }.reduce(1.0) { $0 * xs[$1] }
    }
    let expected: [Double] = (0..<count).map { i in
      (0..<count).filter { $0 != i }.reduce(0.0) { $0 + productOfOthers(i, $1) * vs[$1] }
    }
    let hvp = hessianVectorProduct(at: x, direction: v) { $0.product() }
    #expect(
      hvp.isAlmostEqual(to: Tensor(expected), relativeTolerance: 1e-12, absoluteTolerance: 1e-14))
  }

  @Test("max and min drop the reduced axes with squeezingAxes:, as NumPy's max(axis=)")
  func extremaSqueezingAxes() {
    let x = Tensor<Float>(shape: [2, 3], scalars: [4, 1, 3, 2, 6, 2])
    #expect(x.max(squeezingAxes: [1]) == Tensor([4, 6]))
    #expect(x.min(squeezingAxes: [0]) == Tensor([2, 1, 2]))
    #expect(x.max(squeezingAxes: [0, -1]) == Tensor(6))
    #expect(x.min(squeezingAxes: []) == x)
  }

  @Test("The Tensor type's overview example prints what its comment says")
  func tensorOverviewExample() {
    let x = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let y = 3 * x * x + 1
    #expect(y.sum() == Tensor(279))
  }

  // MARK: Variance and standard deviation

  @Test("variance and standardDeviation default to NumPy's ddof = 0; correction: 1 is torch's")
  func varianceConventions() {
    let x = Tensor<Double>([1, 2, 3, 4])
    #expect(x.variance() == Tensor(1.25))
    #expect(
      x.variance(correction: 1).isAlmostEqual(
        to: Tensor(5.0 / 3), relativeTolerance: 1e-15, absoluteTolerance: 0))
    #expect(
      x.standardDeviation().isAlmostEqual(
        to: Tensor(1.25.squareRoot()), relativeTolerance: 1e-15, absoluteTolerance: 0))
    let m = Tensor<Float>(shape: [2, 2], scalars: [1, 3, 2, 6])
    #expect(m.variance(alongAxes: [0]) == Tensor(shape: [1, 2], scalars: [0.25, 2.25]))
    #expect(m.standardDeviation(squeezingAxes: [-1]) == Tensor([1, 2]))
    // One element with correction 1: 0/0, as NumPy.
    #expect(Tensor<Double>([3]).variance(correction: 1).scalar.isNaN)
  }

  @Test("Float variances of data far from 0 beside their spread are accurate, along any axes")
  func varianceOfOffsetData() {
    // 10⁴ + k·2⁻¹⁰ for k = i mod 11: every value exact in Float. The mean rounds to a value as
    // far from the true mean as the data's spread, so a plain two-pass variance in Float came
    // out 2.6× too large (NumPy and PyTorch: within 10%).
    let n = 1000
    let values = (0..<n).map { 10_000 + Double($0 % 11) / 1024 }
    let mean = values.reduce(0, +) / Double(n)
    let exact = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
    let x = Tensor<Float>(values.map { Float($0) })
    #expect(abs(Double(x.variance().scalar) / exact - 1) < 1e-4)
    #expect(
      abs(
        Double(x.standardDeviation(correction: 1).scalar)
          / ((exact * Double(n) / Double(n - 1)).squareRoot()) - 1) < 1e-4)
    // The same data as rows and as columns.
    let rows = x.reshaped(to: [10, 100])
    let columns = rows.transposed()
    for (tensor, axes) in [(rows, [1]), (columns, [0]), (rows, [0, 1])] {
      let variances = tensor.variance(squeezingAxes: axes).scalars
      let groups =
        axes == [0, 1] ? [values] : (0..<10).map { Array(values[($0 * 100)..<($0 * 100 + 100)]) }
      for (variance, group) in zip(variances, groups) {
        let m = group.reduce(0, +) / Double(group.count)
        let expected = group.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(group.count)
        #expect(abs(Double(variance) / expected - 1) < 1e-4, "axes \(axes)")
      }
    }
    // The gradient, 2·(x − mean)/n, is as accurate.
    let g = gradient(at: x) { $0.variance() }.scalars
    let worst = zip(g, values).map { abs(Double($0) - 2 * ($1 - mean) / Double(n)) }.max()!
    #expect(worst < 1e-4 * 2 * (exact.squareRoot()) / Double(n))
  }

  @Test("standardDeviation's gradient matches finite differences", arguments: [[0], [1], [0, 1]])
  func standardDeviationGradient(axes: [Int]) {
    var rng = SeededGenerator(seed: 2104)
    let x = Tensor.distinct([3, 4], using: &rng)
    expectGradientMatchesFiniteDifferences(at: x) { $0.standardDeviation(alongAxes: axes) }
    expectGradientMatchesFiniteDifferences(at: x) {
      $0.standardDeviation(squeezingAxes: axes, correction: 1)
    }
  }

  // MARK: Log-sum-exp

  @Test("logSumExp is stable for large inputs, and its gradient is the softmax")
  func logSumExpStable() {
    let x = Tensor<Float>(shape: [2, 2], scalars: [1000, 1000, -1000, 0])
    let y = x.logSumExp(squeezingAxes: [1])
    #expect(
      y.isAlmostEqual(
        to: Tensor([1000 + log(2), 0]), relativeTolerance: 1e-6, absoluteTolerance: 0))
    let z = Tensor<Double>(shape: [2, 3], scalars: [0.5, -1, 2, 3, 0, -2])
    let g = gradient(at: z) { $0.logSumExp(alongAxes: [1]).sum() }
    #expect(
      g.isAlmostEqual(
        to: softmax(z, alongAxis: 1), relativeTolerance: 1e-14, absoluteTolerance: 1e-16))
  }

  @Test("logSumExp of −∞ is −∞ with a zero gradient; +∞ gives +∞ and NaN gives NaN, as JAX")
  func logSumExpNonFinite() {
    let x = Tensor<Double>(shape: [3, 2], scalars: [-.infinity, -.infinity, -.infinity, 1, 2, 3])
    let y = x.logSumExp(alongAxes: [1])
    #expect(y.scalars[0] == -.infinity)
    #expect(y.scalars[1] == 1)
    let g = gradient(at: x) { $0.logSumExp(alongAxes: [1]).sum() }
    #expect(g.scalars[0...2] == [0, 0, 0])
    #expect(g.scalars[3] == 1)
    #expect(!g.scalars.contains { $0.isNaN })
    #expect(Tensor<Double>(-.infinity).logSumExp() == Tensor(-.infinity))
    #expect(Tensor<Float>([1, .infinity]).logSumExp() == Tensor(.infinity))
    #expect(Tensor<Float>([1, .nan, .infinity]).logSumExp().scalar.isNaN)
  }

  // MARK: Running sums

  @Test("cumulativeSum along each axis, and its gradient the running sum from the other end")
  func cumulativeSum() {
    let x = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    #expect(x.cumulativeSum(alongAxis: 1) == Tensor(shape: [2, 3], scalars: [1, 3, 6, 4, 9, 15]))
    #expect(x.cumulativeSum(alongAxis: -2) == Tensor(shape: [2, 3], scalars: [1, 2, 3, 5, 7, 9]))
    let weights = Tensor<Double>([1, 10, 100])
    #expect(
      gradient(at: Tensor<Double>([4, 5, 6])) { ($0.cumulativeSum(alongAxis: 0) * weights).sum() }
        == Tensor([111, 110, 100]))
    var rng = SeededGenerator(seed: 2105)
    let z = Tensor.uniform([2, 3, 4], in: -1..<1, using: &rng)
    for axis in [0, 1, 2, -1] {
      expectGradientMatchesFiniteDifferences(at: z) { $0.cumulativeSum(alongAxis: axis).squared() }
    }
  }

  @Test("A Float cumulativeSum of 2²⁰ elements and its gradient are each within a rounding")
  func longFloatRunningSum() {
    // A Float running total was 1.3·10⁻⁵ off at the end (PyTorch, accumulating in Double: 6·10⁻⁸).
    var rng = SeededGenerator(seed: 9)
    let count = 1 << 20
    let x = Tensor<Float>(randomUniform: [count], in: 0..<1, using: &rng)
    let exact = x.scalars.reduce(into: [Double]()) { sums, element in
      sums.append((sums.last ?? 0) + Double(element))
    }
    let sums = x.cumulativeSum(alongAxis: 0).scalars
    #expect(zip(sums, exact).allSatisfy { Swift.abs(Double($0) - $1) <= 0.5 * Double($0.ulp) })
    // The pullback runs from the other end: the gradient of Σ cumsum(x) is n, n − 1, …, 1.
    let slopes = gradient(at: x) { $0.cumulativeSum(alongAxis: 0).sum() }.scalars
    #expect(slopes.first == Float(count) && slopes.last == 1)
  }

  // MARK: Positions of extrema

  @Test("argmax and argmin along an axis: first index on ties, negative axes, every run")
  func argExtremaAlongAxis() {
    let x = Tensor<Float>(shape: [2, 3], scalars: [0.1, 2, 2, 5, 5, -1])
    #expect(x.argmax(alongAxis: 1) == [1, 0])
    #expect(x.argmax(alongAxis: -1) == [1, 0])
    #expect(x.argmin(alongAxis: 1) == [0, 2])
    #expect(x.argmax(alongAxis: 0) == [1, 1, 0])
    #expect(x.argmin(alongAxis: -2) == [0, 0, 1])
    let cube = Tensor<Double>(shape: [2, 2, 2], scalars: [1, 8, 3, 4, 7, 2, 5, 6])
    #expect(cube.argmax(alongAxis: 1) == [1, 0, 0, 1])  // np.argmax(cube, axis=1).ravel()
    #expect(cube.argmax() == 1)
    #expect(cube.argmin() == 0)
  }

  @Test("A NaN wins argmax and argmin, the first NaN when there are several, as NumPy")
  func argExtremaNaN() {
    let x = Tensor<Double>([1, .nan, 7, .nan])
    #expect(x.argmax() == 1)
    #expect(x.argmin() == 1)
    let rows = Tensor<Float>(shape: [2, 3], scalars: [.nan, 9, 1, 3, -.infinity, .nan])
    #expect(rows.argmax(alongAxis: 1) == [0, 2])
    #expect(rows.argmin(alongAxis: 1) == [0, 2])
    #expect(Tensor<Float>([-.infinity, .infinity]).argmax() == 1)
  }

  @Test("min along axes sends the gradient to the first minimum and propagates NaN")
  func minAlongAxes() {
    let x = Tensor<Double>(shape: [2, 3], scalars: [3, 1, 1, 2, .nan, 0])
    let y = x.min(alongAxes: [1])
    #expect(y.scalars[0] == 1 && y.scalars[1].isNaN)
    let finite = Tensor<Double>(shape: [2, 3], scalars: [3, 1, 1, 2, 4, 0])
    #expect(
      gradient(at: finite) { $0.min(alongAxes: [1]).sum() }
        == Tensor(shape: [2, 3], scalars: [0, 1, 0, 0, 0, 1]))
    #expect(finite.min() == Tensor(0))
  }
}

// MARK: - Preconditions

extension PreconditionTests {
  static let joiningCallSite = "(at AutodiffTests/ReductionAndJoiningTests.swift:"

  @Test("stack of tensors of different shapes names both shapes and the call site")
  func stackShapeMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor(stacking: [Tensor<Float>(zeros: [2, 3]), Tensor<Float>(zeros: [3, 2])])
    }
    expectMessage(result, contains: ["stack", "[2, 3]", "[3, 2]", Self.joiningCallSite])
  }

  @Test("stack along an axis past rank + 1 names the axis, the shape and the call site")
  func stackBadAxis() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor(stacking: [Tensor<Float>(zeros: [2])], alongAxis: 2)
    }
    expectMessage(result, contains: ["stack", "axis 2", "[2]", Self.joiningCallSite])
  }

  @Test(
    "split into pieces that do not divide the axis names the extent, the count and the call site")
  func splitNotDivisible() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 5]).split(into: 3, alongAxis: 1)
    }
    expectMessage(
      result,
      contains: ["split(into:alongAxis:)", "[2, 5]", "5", "3 equal pieces", Self.joiningCallSite])
  }

  @Test("split(sizes:) whose sizes do not add up names them, the shape and the call site")
  func splitSizesMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [4, 2]).split(sizes: [1, 2])
    }
    expectMessage(
      result, contains: ["split(sizes:alongAxis:)", "[1, 2]", "[4, 2]", Self.joiningCallSite])
  }

  @Test("argmax along an axis out of range names the axis, the shape and the call site")
  func argmaxBadAxis() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).argmax(alongAxis: 2)
    }
    expectMessage(
      result, contains: ["argmax(alongAxis:)", "axis 2", "[2, 3]", Self.joiningCallSite])
  }

  @Test("argmin of an empty tensor names the shape and the call site")
  func argminEmpty() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [0, 3]).argmin()
    }
    expectMessage(result, contains: ["argmin()", "[0, 3]", "empty", Self.joiningCallSite])
  }

  @Test("squeezed and unsqueezed move axes of extent 1, as PyTorch's squeeze and unsqueeze")
  func squeezeAndUnsqueeze() {
    let x = Tensor<Float>(shape: [1, 3, 1, 2], scalars: [1, 2, 3, 4, 5, 6])
    #expect(x.squeezed().shape == [3, 2])
    #expect(x.squeezed(axes: [0]).shape == [3, 1, 2])
    #expect(x.squeezed(axes: [-2, 0]).shape == [3, 2])
    #expect(x.squeezed().scalars == x.scalars)
    let v = Tensor<Float>([1, 2, 3])
    #expect(v.unsqueezed(at: 0).shape == [1, 3])
    #expect(v.unsqueezed(at: 1).shape == [3, 1])
    #expect(v.unsqueezed(at: -1).shape == [3, 1])
    #expect(v.unsqueezed(at: -2).shape == [1, 3])
    #expect(Tensor<Float>(2).unsqueezed(at: 0).shape == [1])
  }

  @Test("squeezing an axis whose extent is not 1 names the axis, the shape and the call site")
  func squeezeWrongAxis() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [1, 3]).squeezed(axes: [1])
    }
    expectMessage(
      result, contains: ["squeezed(axes:)", "axis 1", "[1, 3]", "extent 3", Self.joiningCallSite])
  }

  @Test("unsqueezing at an axis out of range names the axis, the shape and the call site")
  func unsqueezeBadAxis() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).unsqueezed(at: 4)
    }
    expectMessage(result, contains: ["unsqueezed(at:)", "axis 4", "[2, 3]", Self.joiningCallSite])
  }

  @Test("cumulativeSum along an axis out of range names the axis, the shape and the call site")
  func cumulativeSumBadAxis() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [2, 3]).cumulativeSum(alongAxis: -3)
    }
    expectMessage(
      result, contains: ["cumulativeSum(alongAxis:)", "axis -3", "[2, 3]", Self.joiningCallSite])
  }

  @Test("logSumExp over an empty axis names the shape and the call site")
  func logSumExpEmpty() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [2, 0]).logSumExp(alongAxes: [1])
    }
    expectMessage(
      result, contains: ["logSumExp(alongAxes:)", "[2, 0]", "empty", Self.joiningCallSite])
  }

  @Test("A negative variance correction names the value and the call site")
  func varianceNegativeCorrection() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [3]).variance(correction: -1)
    }
    expectMessage(result, contains: ["variance", "-1", "negative", Self.joiningCallSite])
  }
}
