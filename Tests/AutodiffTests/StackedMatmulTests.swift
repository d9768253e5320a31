import Autodiff
import Testing

/// `matmul` of vectors and stacks of matrices, as NumPy's `matmul` takes them, against a plain
/// loop over the broadcast batch: values, gradients against central differences, and shapes.
@Suite struct StackedMatmulTests {
  /// A product's operand shapes and transpose flags, and the shape NumPy gives its result.
  struct Case: Sendable, CustomTestStringConvertible {
    let a: [Int]
    var transposeA = false
    let b: [Int]
    var transposeB = false
    let result: [Int]
    var testDescription: String {
      "\(a)\(transposeA ? "ᵀ" : "")·\(b)\(transposeB ? "ᵀ" : "") → \(result)"
    }
  }

  static let cases = [
    Case(a: [3], b: [3], result: []),  // inner product
    Case(a: [3], b: [3, 4], result: [4]),
    Case(a: [2, 3], b: [3], result: [2]),
    Case(a: [3, 2], transposeA: true, b: [3], result: [2]),
    Case(a: [3], b: [4, 3], transposeB: true, result: [4]),
    Case(a: [3], b: [5, 3, 4], result: [5, 4]),
    Case(a: [5, 2, 3], b: [3], result: [5, 2]),
    Case(a: [4, 2, 3], b: [4, 3, 5], result: [4, 2, 5]),
    Case(a: [4, 2, 3], b: [3, 5], result: [4, 2, 5]),  // one product of the stacked rows
    Case(a: [4, 2, 3], b: [5, 3], transposeB: true, result: [4, 2, 5]),
    Case(a: [4, 3, 2], transposeA: true, b: [3, 5], result: [4, 2, 5]),
    Case(a: [2, 3], b: [4, 3, 5], result: [4, 2, 5]),
    Case(a: [4, 2, 3], b: [4, 5, 3], transposeB: true, result: [4, 2, 5]),
    Case(a: [1, 3, 2], transposeA: true, b: [4, 5, 3], transposeB: true, result: [4, 2, 5]),
    Case(a: [2, 1, 2, 3], b: [3, 3, 4], result: [2, 3, 2, 4]),  // batch axes broadcast
    Case(a: [3, 1, 2, 3], b: [1, 2, 3, 2], result: [3, 2, 2, 2]),
    Case(a: [2, 3, 9, 7], b: [3, 7, 8], result: [2, 3, 9, 8]),
  ]

  /// Cases with an empty axis: an empty sum gives zeros, an empty batch an empty result.
  static let emptyCases = [
    Case(a: [0], b: [0], result: []),
    Case(a: [3], b: [3, 0], result: [0]),
    Case(a: [0, 2, 3], b: [3, 4], result: [0, 2, 4]),
    Case(a: [4, 2, 0], b: [4, 0, 5], result: [4, 2, 5]),
    Case(a: [2, 0], b: [3, 0, 4], result: [3, 2, 4]),
    Case(a: [0, 2, 3], b: [1, 3, 4], result: [0, 2, 4]),
  ]

  @Test("Values equal a loop over the broadcast batch, in Double", arguments: cases + emptyCases)
  func valuesDouble(_ c: Case) {
    checkValues(Double.self, c)
  }

  @Test("Values equal a loop over the broadcast batch, in Float", arguments: cases + emptyCases)
  func valuesFloat(_ c: Case) {
    checkValues(Float.self, c)
  }

  @Test("Gradients match central finite differences", arguments: cases)
  func gradients(_ c: Case) {
    var rng = SeededGenerator(seed: UInt64(c.a.reduce(7, *) + 31 * c.b.reduce(3, *)))
    let a = Tensor<Double>.uniform(c.a, in: -1..<1, using: &rng)
    let b = Tensor<Double>.uniform(c.b, in: -1..<1, using: &rng)
    expectGradientsMatchFiniteDifferences(at: a, b) {
      matmul($0, transposed: c.transposeA, $1, transposed: c.transposeB)
    }
  }

  @Test("The gradients of an empty product have the operands' shapes and are zero")
  func emptyGradients() {
    for c in Self.emptyCases {
      let (a, b) = (Tensor<Double>(ones: c.a), Tensor<Double>(ones: c.b))
      let (dA, dB) = gradient(at: a, b) {
        matmul($0, transposed: c.transposeA, $1, transposed: c.transposeB).sum()
      }
      #expect(dA == Tensor(zeros: c.a), "\(c.testDescription)")
      #expect(dB == Tensor(zeros: c.b), "\(c.testDescription)")
    }
  }

  @Test("A stack times a vector equals the product with the vector as a column, then squeezed")
  func vectorAsColumn() {
    var rng = SeededGenerator(seed: 5)
    let a = Tensor<Double>(randomNormal: [3, 2, 4], using: &rng)
    let v = Tensor<Double>(randomNormal: [4], using: &rng)
    #expect(matmul(a, v) == matmul(a, v.reshaped(to: [4, 1])).reshaped(to: [3, 2]))
    #expect(matmul(v, a.transposed(permutation: [0, 2, 1])).shape == [3, 2])
  }

  @Test(
    "matmul(_:_:plus:) and its activation form take any rank, through the rows of the last axis",
    arguments: [[3], [2, 3, 3], [2, 1, 2, 3]])
  func affineOfAnyRank(shape: [Int]) {
    var rng = SeededGenerator(seed: 23)
    let x = Tensor<Double>(randomNormal: shape, using: &rng)
    let w = Tensor<Double>(randomNormal: [3, 4], using: &rng)
    let b = Tensor<Double>(randomNormal: [4], using: &rng)
    let rows = x.reshaped(to: [-1, 3])
    let expectedShape = Array(shape.dropLast()) + [4]
    let plain = matmul(x, w, plus: b)
    #expect(plain.shape == expectedShape)
    #expect(plain.reshaped(to: [-1, 4]) == matmul(rows, w, plus: b))
    let fused = matmul(x, w, plus: b, activation: .tanh)
    #expect(fused.reshaped(to: [-1, 4]) == matmul(rows, w, plus: b, activation: .tanh))
    expectGradientsMatchFiniteDifferences(at: [x, w, b]) {
      matmul($0[0], $0[1], plus: $0[2], activation: .sigmoid)
    }
  }

  /// Side by side on several threads (64 matrices) and one after the other (3).
  @Test("Each matrix of a stack's product equals matmul of the matrices, bit for bit")
  func matricesOfTheStack() {
    var rng = SeededGenerator(seed: 9)
    // 64 products of 30,720 multiply-adds: 18 to a thread (BLAS.productsPerThread(of:)).
    for count in [64, 3] {
      let a = Tensor<Float>(randomNormal: [count, 24, 40], using: &rng)
      let b = Tensor<Float>(randomNormal: [count, 32, 40], using: &rng)
      let c = matmul(a, transposed: false, b, transposed: true)
      for i in 0..<count {
        #expect(c[i] == matmul(a[i], transposed: false, b[i], transposed: true))
      }
    }
  }

  /// `op(a)·op(b)` of `c`'s shapes, drawn at random, against the plain loop.
  private func checkValues<Scalar: TensorScalar>(_: Scalar.Type, _ c: Case) {
    var rng = SeededGenerator(seed: UInt64(c.a.reduce(1, *) * 100 + c.b.reduce(1, *)))
    let a = Tensor<Scalar>(randomNormal: c.a, using: &rng)
    let b = Tensor<Scalar>(randomNormal: c.b, using: &rng)
    let product = matmul(a, transposed: c.transposeA, b, transposed: c.transposeB)
    #expect(product.shape == c.result)
    let (expected, bounds, inner) = Self.loop(a, c.transposeA, b, c.transposeB)
    #expect(expected.count == product.scalarCount)
    let gamma = Double(2 * (inner + 1)) * Double(Scalar.ulpOfOne)
    for (index, value) in product.scalars.enumerated() where index < expected.count {
      let error = (Double(value) - expected[index]).magnitude
      #expect(error <= gamma * bounds[index], "element \(index): \(value), not \(expected[index])")
    }
  }

  /// NumPy's matmul written out: vectors made a row (left) or a column (right), the batch axes
  /// broadcast, and a triple loop per matrix, in Double; with each element's Σ|aᵢₚ|·|bₚⱼ| and the
  /// inner length, for the rounding bound.
  static func loop<Scalar: TensorScalar>(
    _ a: Tensor<Scalar>, _ transposeA: Bool, _ b: Tensor<Scalar>, _ transposeB: Bool
  ) -> (values: [Double], bounds: [Double], inner: Int) {
    let aShape = a.rank == 1 ? [1, a.shape[0]] : a.shape
    let bShape = b.rank == 1 ? [b.shape[0], 1] : b.shape
    let (aBatch, bBatch) = (Array(aShape.dropLast(2)), Array(bShape.dropLast(2)))
    let rank = max(aBatch.count, bBatch.count)
    let aPadded = Array(repeating: 1, count: rank - aBatch.count) + aBatch
    let bPadded = Array(repeating: 1, count: rank - bBatch.count) + bBatch
    let batch = zip(aPadded, bPadded).map { $0 == 1 ? $1 : $0 }
    let (aRows, aColumns) = (aShape[aShape.count - 2], aShape[aShape.count - 1])
    let (bRows, bColumns) = (bShape[bShape.count - 2], bShape[bShape.count - 1])
    let (m, k) = transposeA ? (aColumns, aRows) : (aRows, aColumns)
    let n = transposeB ? bRows : bColumns
    let (x, y) = (a.scalars.map(Double.init), b.scalars.map(Double.init))
    var (values, bounds) = ([Double](), [Double]())
    for flat in 0..<batch.reduce(1, *) {
      // The batch index, and each operand's matrix there (index 0 along its broadcast axes).
      var (rest, aMatrix, bMatrix, aStride, bStride) = (flat, 0, 0, 1, 1)
      for axis in (0..<rank).reversed() {
        let position = rest % batch[axis]
        rest /= batch[axis]
        if aPadded[axis] > 1 { aMatrix += position * aStride }
        if bPadded[axis] > 1 { bMatrix += position * bStride }
        aStride *= aPadded[axis]
        bStride *= bPadded[axis]
      }
      for i in 0..<m {
        for j in 0..<n {
          var (sum, bound) = (0.0, 0.0)
          for p in 0..<k {
            let u = x[
              aMatrix * aRows * aColumns + (transposeA ? p * aColumns + i : i * aColumns + p)]
            let v = y[
              bMatrix * bRows * bColumns + (transposeB ? j * bColumns + p : p * bColumns + j)]
            sum += u * v
            bound += abs(u * v)
          }
          values.append(sum)
          bounds.append(bound)
        }
      }
    }
    return (values, bounds, k)
  }
}
