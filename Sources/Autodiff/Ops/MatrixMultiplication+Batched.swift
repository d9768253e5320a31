// On `@_specialize`, see the Performance article in Documentation.docc.

// `matmul` of operands that are not both matrices: vectors and stacks of matrices, as NumPy's
// `matmul` and PyTorch's `torch.matmul` take them. Matrix by matrix is MatrixMultiplication.swift;
// everything here ends in that product or in one gemm call per matrix of a stack.

/// `op(a)·op(b)` where an operand is a vector or a stack of matrices (rank 1, or rank 3 and
/// more): the general case of ``matmul(_:transposed:_:transposed:file:line:)``.
func generalProduct<Scalar>(
  _ a: Tensor<Scalar>, _ transposeA: Bool, _ b: Tensor<Scalar>, _ transposeB: Bool,
  at location: SourceLocation
) -> Tensor<Scalar> {
  // Built only for a failed check's message.
  func description() -> String {
    "lhs \(a.shape.shapeDescription)\(transposeA ? "ᵀ" : ""), rhs "
      + "\(b.shape.shapeDescription)\(transposeB ? "ᵀ" : "")"
  }
  check(
    a.rank >= 1 && b.rank >= 1, "matmul: operands must have rank 1 or more: \(description())",
    at: location)
  check(
    !(transposeA && a.rank == 1) && !(transposeB && b.rank == 1),
    "matmul: a vector (rank 1) has no transpose: \(description())", at: location)
  // The inner extents, a vector's being its length.
  let (m, k) = a.rank == 1 ? (1, a.shape[0]) : matrixExtents(a, transposeA)
  let (k2, n) = b.rank == 1 ? (b.shape[0], 1) : matrixExtents(b, transposeB)
  check(k == k2, "matmul: inner dimensions differ: \(description())", at: location)
  let batch = broadcastShape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)))
  guard let batch else {
    fail("matmul: the batch dimensions do not broadcast: \(description())", at: location)
  }
  checkShape(batch + [m, n], of: Scalar.self, "matmul", at: location)
  let (file, line) = (location.file, location.line)
  if a.rank == 1 || b.rank == 1 {
    // A vector on the left is a row [1, k], on the right a column [k, 1]; the product then
    // loses that axis, as in NumPy.
    let row = a.rank == 1 ? a.reshaped(to: [1, k], file: file, line: line) : a
    let column = b.rank == 1 ? b.reshaped(to: [k, 1], file: file, line: line) : b
    let product = matmul(
      row, transposed: transposeA, column, transposed: transposeB, file: file, line: line)
    let shape = batch + (a.rank == 1 ? [] : [m]) + (b.rank == 1 ? [] : [n])
    return product.reshaped(to: shape, file: file, line: line)
  }
  if b.rank == 2 && !transposeA {
    // A stack times one matrix: the stack's rows are one matrix, and one product serves all.
    let rows = a.reshaped(to: [batch.reduce(m, *), k], file: file, line: line)
    return matmul(rows, transposed: false, b, transposed: transposeB, file: file, line: line)
      .reshaped(to: batch + [m, n], file: file, line: line)
  }
  return record(
    "matmul", output: stackedProduct(a, transposeA, b, transposeB, batch: batch),
    operands: a, b, at: location,
    rule: .custom { context in
      // As for two matrices (MatrixMultiplication.swift), each side summed over the batch
      // axes it was broadcast along.
      let (dC, a, b) = (context.upstream, context.operand(0), context.operand(1))
      if context.needsGradient(0) {
        let dA =
          transposeA
          ? matmul(b, transposed: transposeB, dC, transposed: true)
          : matmul(dC, transposed: false, b, transposed: !transposeB)
        context.accumulate(dA.unbroadcast(to: a.shape), into: 0)
      }
      if context.needsGradient(1) {
        let dB =
          transposeB
          ? matmul(dC, transposed: true, a, transposed: transposeA)
          : matmul(a, transposed: !transposeA, dC, transposed: false)
        context.accumulate(dB.unbroadcast(to: b.shape), into: 1)
      }
    },
    tangent: .custom(productTangent(transposeA, transposeB)))
}

/// The rows and columns of `op(x)`, the matrices of a stack `x` (its last two axes), transposed
/// when `transpose`.
private func matrixExtents<Scalar>(_ x: Tensor<Scalar>, _ transpose: Bool) -> (Int, Int) {
  let (rows, columns) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
  return transpose ? (columns, rows) : (rows, columns)
}

/// `op(a)·op(b)` for each matrix of the `batch` shape, unrecorded: one gemm call per matrix, on
/// the operands' buffers, an operand broadcast along a batch axis read again for each of its
/// positions there. Matrices too small for BLAS to split run side by side on Autodiff's threads
/// (``BLAS/productsPerThread(of:)``).
private func stackedProduct<Scalar>(
  _ a: Tensor<Scalar>, _ transposeA: Bool, _ b: Tensor<Scalar>, _ transposeB: Bool,
  batch: [Int]
) -> Tensor<Scalar> {
  let (m, k) = matrixExtents(a, transposeA)
  let n = matrixExtents(b, transposeB).1
  let count = batch.reduce(1, *)
  let (aSize, bSize) = (a.shape.suffix(2).reduce(1, *), b.shape.suffix(2).reduce(1, *))
  // Each operand's offset, in matrices, along each batch axis (0 where it is broadcast).
  let aStrides = broadcastStrides(from: Array(a.shape.dropLast(2)), to: batch)
  let bStrides = broadcastStrides(from: Array(b.shape.dropLast(2)), to: batch)
  let product = Storage<Scalar>.uninitialized(count: count * m * n)
  product.withUnsafeMutableBufferPointer { c in
    guard m > 0, n > 0 else { return }
    guard k > 0 else { return c.update(repeating: 0) }
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        let work = Scalar.productWork(m: m, n: n, k: k)
        // BLAS's threads are set once for all the products, from the thread that waits for them.
        let grain = BLAS.productsPerThread(of: work) ?? count
        BLAS.withThreads(forMultiplyAdds: work) {
          forEachRange(count: count, grain: grain, alignment: 1) { matrices in
            for matrix in matrices {
              // The operands' matrices at this batch index.
              var (rest, aMatrix, bMatrix) = (matrix, 0, 0)
              for axis in batch.indices.reversed() {
                let position = rest % batch[axis]
                rest /= batch[axis]
                aMatrix += position * aStrides[axis]
                bMatrix += position * bStrides[axis]
              }
              Scalar._gemmOnSetThreads(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                a: a.baseAddress! + aMatrix * aSize, lda: transposeA ? m : k,
                b: b.baseAddress! + bMatrix * bSize, ldb: transposeB ? k : n,
                beta: 0, c: c.baseAddress! + matrix * m * n, ldc: n)
            }
          }
        }
      }
    }
  }
  return Tensor(shape: batch + [m, n], storage: product)
}
