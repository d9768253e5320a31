// On `@_specialize`, see the Performance article in Documentation.docc.

/// The matrix product `op(a)·op(b)` through BLAS gemm, where `op` transposes its operand when
/// asked; of matrices, and as NumPy's `matmul` and `torch.matmul`, of vectors and of stacks of
/// matrices.
///
/// ```swift
/// let d = matmul(w, x)                                    // [5, 10]·[10, 3] → [5, 3]
/// let g = matmul(d, transposed: false, x, transposed: true)   // d·xᵀ, no transpose copied
/// let y = matmul(w, v)                                    // [5, 10]·[10] → [5]
/// let s = matmul(q, transposed: false, k, transposed: true)   // [8, 4, 16]·[8, 6, 16]ᵀ → [8, 4, 6]
/// ```
///
/// The operands' ranks decide what is multiplied:
///
/// - Two matrices (rank 2): their product, `m×n`.
/// - A vector (rank 1) on the left is a row `[1, k]`, on the right a column `[k, 1]`; the result
///   then loses that axis: a matrix times a vector is a vector, two vectors give their inner
///   product as a scalar (rank 0). A vector has no transpose.
/// - Rank 3 and more: a stack of matrices in the last two axes, batch axes before them. The batch
///   axes broadcast as elementwise operations' do (a matrix is a stack of one), and each matrix
///   of the result is the product of the operands' matrices there.
///
/// The pullback of `C = A·B` is `dA = dC·Bᵀ`, `dB = Aᵀ·dC`, each one gemm call with transpose
/// flags on the saved operands' buffers (per matrix of a stack, then summed over the batch axes
/// an operand was broadcast along). Where a matrix's gradient already holds a value, the product
/// is added into it by gemm (β = 1) instead of into a new buffer. A stack times a matrix, the
/// stack not transposed, is one product of the stack's rows.
///
/// - Parameters:
///   - a: A matrix `m×k` (`k×m` when `transposeA`), a vector of `k`, or a stack of matrices.
///   - transposeA: Whether the product reads `a`'s matrices transposed (a gemm flag; nothing is
///     copied).
///   - b: A matrix `k×n` (`n×k` when `transposeB`), a vector of `k`, or a stack of matrices.
///   - transposeB: Whether the product reads `b`'s matrices transposed.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: The product: `m×n` for matrices; for stacks the broadcast batch shape followed by
///   `[m, n]`, less the axis of a vector operand.
/// - Precondition: Both operands have rank 1 or more, the inner dimensions agree, the batch axes
///   broadcast, and no vector is transposed.
/// - Complexity: O(m·n·k) per matrix of the result.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func matmul<Scalar>(
  _ a: Tensor<Scalar>, transposed transposeA: Bool = false,
  _ b: Tensor<Scalar>, transposed transposeB: Bool = false,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  guard a.rank == 2 && b.rank == 2 else {
    return generalProduct(a, transposeA, b, transposeB, at: location)
  }
  let (m, n) = productShape(a, transposeA, b, transposeB, "matmul", at: location)
  var product = Tensor<Scalar>(shape: [m, n], storage: .uninitialized(count: m * n))
  product.gemm(a, transposed: transposeA, b, transposed: transposeB, accumulating: false)
  return record(
    "matmul", output: product, operands: a, b, at: location,
    rule: .custom(productPullback(transposeA, transposeB)),
    tangent: .custom(productTangent(transposeA, transposeB)))
}

/// The pullback of `C = op(A)·op(B)` for the transpose flags, as a closure that captures nothing:
/// one literal per pair of flags, where a closure capturing them would allocate its context with
/// every recorded product (matgrad benchmark).
private func productPullback<Scalar>(_ transposeA: Bool, _ transposeB: Bool)
  -> (PullbackContext<Scalar>) -> Void
{
  switch (transposeA, transposeB) {
  case (false, false): { accumulateProductGradients($0, false, false) }
  case (false, true): { accumulateProductGradients($0, false, true) }
  case (true, false): { accumulateProductGradients($0, true, false) }
  case (true, true): { accumulateProductGradients($0, true, true) }
  }
}

/// C = op(A)·op(B). With the flags folded in, dA = dC·op(B)ᵀ (or its transpose op(B)·dCᵀ when A
/// was transposed), and dB = op(A)ᵀ·dC (or dCᵀ·op(A) when B was).
private func accumulateProductGradients<Scalar>(
  _ context: PullbackContext<Scalar>, _ transposeA: Bool, _ transposeB: Bool
) {
  // `product(into:...)` is nil for an operand that needs no gradient.
  let (dC, a, b) = (context.upstream, context.operand(0), context.operand(1))
  context.accumulateProducts(
    transposeA
      ? context.product(into: 0, b, transposed: transposeB, dC, transposed: true)
      : context.product(into: 0, dC, transposed: false, b, transposed: !transposeB),
    transposeB
      ? context.product(into: 1, dC, transposed: true, a, transposed: transposeA)
      : context.product(into: 1, a, transposed: !transposeA, dC, transposed: false))
}

/// The tangent of `op(A)·op(B)`, capture-free as `productPullback(_:_:)`; of matrices and of
/// stacks (MatrixMultiplication+Batched.swift).
func productTangent<Scalar>(_ transposeA: Bool, _ transposeB: Bool)
  -> ([Tensor<Scalar>?], [Tensor<Scalar>], Tensor<Scalar>) -> Tensor<Scalar>
{
  switch (transposeA, transposeB) {
  case (false, false): { tangents, operands, _ in productTangent(tangents, operands, false, false) }
  case (false, true): { tangents, operands, _ in productTangent(tangents, operands, false, true) }
  case (true, false): { tangents, operands, _ in productTangent(tangents, operands, true, false) }
  case (true, true): { tangents, operands, _ in productTangent(tangents, operands, true, true) }
  }
}

/// d(op(A)·op(B)) = op(dA)·op(B) + op(A)·op(dB).
private func productTangent<Scalar>(
  _ tangents: [Tensor<Scalar>?], _ operands: [Tensor<Scalar>], _ transposeA: Bool,
  _ transposeB: Bool
) -> Tensor<Scalar> {
  let (a, b) = (operands[0], operands[1])
  return sumOfPresent(
    tangents[0].map { matmul($0, transposed: transposeA, b, transposed: transposeB) },
    tangents[1].map { matmul(a, transposed: transposeA, $0, transposed: transposeB) })!
}

extension Tensor {
  /// `self ← op(a)·op(b) + β·self` through gemm on the buffers, β being 1 when `accumulating`
  /// and 0 otherwise. Unrecorded; `self` must already have the product's shape.
  mutating func gemm(
    _ a: Tensor, transposed transposeA: Bool, _ b: Tensor, transposed transposeB: Bool,
    accumulating: Bool
  ) {
    let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let n = transposeB ? b.shape[0] : b.shape[1]
    // Checked in release builds too: gemm writes m·n elements into this buffer.
    check(
      shape.count == 2 && shape[0] == m && shape[1] == n && trace == nil,
      "gemm: the result has shape \(shape.shapeDescription) for a product of shape [\(m), \(n)]")
    guard m > 0, n > 0 else { return }
    if accumulating { makeUnique() }
    storage.withUnsafeMutableBufferPointer { c in
      guard k > 0 else {
        if !accumulating { c.update(repeating: 0) }
        return
      }
      a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          Scalar._gemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: 1, a: a.baseAddress!, lda: transposeA ? m : k,
            b: b.baseAddress!, ldb: transposeB ? k : n,
            beta: accumulating ? 1 : 0, c: c.baseAddress!, ldc: n)
        }
      }
    }
  }

  /// Adds `op(a)·op(b)` into `self` in place with gemm's β = 1. Unrecorded.
  mutating func addProductUnrecorded(
    _ a: Tensor, transposed transposeA: Bool, _ b: Tensor, transposed transposeB: Bool
  ) {
    gemm(a, transposed: transposeA, b, transposed: transposeB, accumulating: true)
  }
}

/// The affine map `a·b + bias`, the vector `bias` added to every row of the matrix product, as
/// one operation: what a fully connected layer computes.
///
/// ```swift
/// let z = matmul(x, w, plus: b)    // [64, 784]·[784, 128] + [128] → [64, 128]
/// ```
///
/// It equals `matmul(a, b) + bias` and is cheaper: the rows of the result are filled with the
/// bias and gemm adds the product into them (β = 1), so no separate product is allocated and
/// read back, and the pullback sums the upstream gradient's rows for the bias in one pass,
/// where the broadcast addition would record a second operation and reduce through the
/// general `sum(alongAxes:)`. The pullback of `C = A·B + 1·biasᵀ` is `dA = dC·Bᵀ`,
/// `dB = Aᵀ·dC` (as for ``matmul(_:transposed:_:transposed:file:line:)``) and
/// `dbias = Σᵢ dCᵢ`, the sum of `dC`'s rows.
///
/// As PyTorch's `F.linear`, `a` may be a vector or have more axes: its last axis is multiplied,
/// `[..., k]` giving `[..., n]`, through one product of the rows of its leading axes.
///
/// - Parameters:
///   - a: A matrix, `m×k` (or any rank ≥ 1 with `k` elements along its last axis).
///   - b: A matrix, `k×n`.
///   - bias: A vector of `n` elements, added to each row.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: The `m×n` result (`[..., n]`).
/// - Precondition: `b` is a matrix whose rows are as many as `a`'s last axis, `a` has rank 1 or
///   more, and `bias` has shape `[n]`.
/// - Complexity: O(m·n·k).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func matmul<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, plus bias: Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  if let result = onRows(
    of: a, b, "matmul(_:_:plus:)", at: location,
    { rows in
      matmul(rows, b, plus: bias, file: file, line: line)
    })
  {
    return result
  }
  return record(
    "matmulPlus", output: affine(a, b, bias, "matmul(_:_:plus:)", at: location),
    operands: a, b, bias, at: location,
    rule: .custom { context in accumulateAffineGradients(context, context.upstream) },
    tangent: .custom { tangents, operands, _ in affineTangent(tangents, operands) })
}

/// `affine` applied to the rows of `a`, a vector or a tensor of rank 3 or more, as one matrix
/// `[rows, k]`, and the result given `a`'s leading axes back; `nil` when `a` is a matrix or `b`
/// is not (the affine operations' own checks then apply). How the affine operations take an
/// input of any rank.
func onRows<Scalar>(
  of a: Tensor<Scalar>, _ b: Tensor<Scalar>, _ name: String, at location: SourceLocation,
  _ affine: (Tensor<Scalar>) -> Tensor<Scalar>
) -> Tensor<Scalar>? {
  guard a.rank != 2, b.rank == 2 else { return nil }
  check(
    a.rank >= 1 && a.shape[a.rank - 1] == b.shape[0],
    "\(name): inner dimensions differ: lhs \(a.shape.shapeDescription), rhs "
      + b.shape.shapeDescription, at: location)
  let leading = Array(a.shape.dropLast())
  let (file, line) = (location.file, location.line)
  let rows = a.reshaped(to: [leading.reduce(1, *), b.shape[0]], file: file, line: line)
  return affine(rows).reshaped(to: leading + [b.shape[1]], file: file, line: line)
}

/// `a·b + bias` unrecorded: the rows are filled with the bias, and gemm adds the product into
/// them (β = 1). `name` names the operation in a message about shapes.
func affine<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, _ bias: Tensor<Scalar>, _ name: String,
  at location: SourceLocation
) -> Tensor<Scalar> {
  let (m, n) = productShape(a, false, b, false, name, at: location)
  check(
    bias.shape == [n],
    "\(name): the bias must have shape [\(n)] for a product of shape [\(m), \(n)], "
      + "got \(bias.shape.shapeDescription)", at: location)
  // The result holds the only reference to its storage, so that the product accumulates in
  // place (a second reference would make `gemm` copy the bias rows first).
  var result = Tensor<Scalar>(shape: [m, n], storage: .uninitialized(count: m * n))
  result.storage.withUnsafeMutableBufferPointer { c in
    bias.withUnsafeBufferPointer { bias in
      guard n > 0 else { return }
      forEachRange(count: m, grain: max(1, elementwiseGrain / n), alignment: 1) { rows in
        fillRows(c.baseAddress! + rows.lowerBound * n, rows.count, with: bias.baseAddress!, n)
      }
    }
  }
  result.gemm(a, transposed: false, b, transposed: false, accumulating: true)
  return result
}

/// Writes `row` (`n` elements) into each of the `count` rows from `c`: the first row from `row`,
/// then the rows written so far into as many more, so that a matrix takes log₂(count) block
/// copies rather than one short copy per row (mlp-small's bias rows: 192 copies of up to 512
/// bytes, 40% of its forward pass besides the products, became 12).
private func fillRows<Scalar>(
  _ c: UnsafeMutablePointer<Scalar>, _ count: Int, with row: UnsafePointer<Scalar>, _ n: Int
) {
  guard count > 0 else { return }
  c.update(from: row, count: n)
  var filled = 1
  while filled < count {
    let copied = Swift.min(filled, count - filled)
    (c + filled * n).update(from: c, count: copied * n)
    filled += copied
  }
}

/// The pullback of `C = A·B + 1·biasᵀ` for the upstream gradient `dC` of `C`: `dA = dC·Bᵀ`,
/// `dB = Aᵀ·dC` and `dbias = Σᵢ dCᵢ`, the sum of `dC`'s rows, each for the operands (A, B,
/// bias) that need one.
func accumulateAffineGradients<Scalar>(_ context: PullbackContext<Scalar>, _ dC: Tensor<Scalar>) {
  // `product(into:...)` is nil for an operand that needs no gradient.
  context.accumulateProducts(
    context.product(into: 0, dC, transposed: false, context.operand(1), transposed: true),
    context.product(into: 1, context.operand(0), transposed: true, dC, transposed: false))
  if context.needsGradient(2) {
    // A recorded sweep (second derivatives) sums with the recorded op; otherwise one pass
    // straight into a new vector.
    context.accumulate(dC.isRecorded ? dC.sum(squeezingAxes: [0]) : dC.rowSum(), into: 2)
  }
}

/// The tangent of `A·B + bias`: `dA·B + A·dB + dbias`, the last broadcast over the rows.
func affineTangent<Scalar>(_ tangents: [Tensor<Scalar>?], _ operands: [Tensor<Scalar>])
  -> Tensor<Scalar>
{
  // (The shape comes from the operands: a closure that captured m and n would allocate a
  // context with every recorded product.)
  let (a, b) = (operands[0], operands[1])
  let product = sumOfPresent(
    tangents[0].map { matmul($0, b) }, tangents[1].map { matmul(a, $0) })
  guard let bias = tangents[2] else { return product ?? Tensor(zeros: [a.shape[0], b.shape[1]]) }
  return product.map { $0 + bias } ?? bias.expanded(to: [a.shape[0], b.shape[1]])
}

extension Tensor {
  /// The sum of a matrix's rows, `[m, n]` → `[n]`, unrecorded: one vectorized pass.
  func rowSum() -> Tensor {
    assert(rank == 2 && trace == nil)
    let (m, n) = (shape[0], shape[1])
    let result = Storage<Scalar>.uninitialized(count: n)
    result.withUnsafeMutableBufferPointer { y in
      guard n > 0 else { return }
      guard m > 0 else { return y.update(repeating: 0) }
      withUnsafeBufferPointer { x in reduceKernel(.sum, x, outer: 1, n: m, inner: n, into: y) }
    }
    return Tensor(shape: [n], storage: result)
  }
}

/// The shape `[m, n]` of `op(a)·op(b)`, after checking that both are matrices whose inner
/// dimensions agree; `name` names the operation in the message.
private func productShape<Scalar>(
  _ a: Tensor<Scalar>, _ transposeA: Bool, _ b: Tensor<Scalar>, _ transposeB: Bool,
  _ name: String, at location: SourceLocation
) -> (m: Int, n: Int) {
  check(
    a.rank == 2 && b.rank == 2,
    "\(name): operands must be matrices: lhs \(a.shape.shapeDescription), rhs "
      + "\(b.shape.shapeDescription)", at: location)
  let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
  let (k2, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
  check(
    k == k2,
    "\(name): inner dimensions differ: lhs \(a.shape.shapeDescription)\(transposeA ? "ᵀ" : ""), "
      + "rhs \(b.shape.shapeDescription)\(transposeB ? "ᵀ" : "")", at: location)
  // m and n are extents of valid tensors; only their product can be too large for one. Below
  // 64 MiB, which any machine running this has, the full check (an array and three loops over
  // it, a third of recording a small product) cannot fail.
  let (count, overflow) = m.multipliedReportingOverflow(by: n)
  if overflow || count > (64 << 20) / MemoryLayout<Scalar>.stride {
    checkShape([m, n], of: Scalar.self, name, at: location)
  }
  return (m, n)
}
