// What the linear-algebra operations share: shape checks, buffers for LAPACK, constant masks,
// the packing of several outputs into one recorded node, and the NaN rule.

// MARK: - Shape checks

extension Tensor {
  /// Stops unless `self` is a matrix (rank 2), naming the operation, the operand and its shape.
  func checkMatrix(_ operation: String, _ operand: String, at location: SourceLocation) {
    check(
      rank == 2,
      "\(operation): \(operand) must be a matrix (rank 2), but has shape "
        + "\(shape.shapeDescription)", at: location)
  }

  /// Stops unless `self` is a square matrix; returns its order.
  func checkSquareMatrix(
    _ operation: String, _ operand: String, at location: SourceLocation
  ) -> Int {
    checkMatrix(operation, operand, at: location)
    check(
      shape[0] == shape[1],
      "\(operation): \(operand) must be square, but has shape \(shape.shapeDescription)",
      at: location)
    return shape[0]
  }

  /// Stops unless `self` is a right-hand side for an `n×n` system: a matrix with `n` rows or a
  /// vector of `n` elements.
  func checkRightHandSide(
    rows n: Int, _ operation: String, matrix: [Int], at location: SourceLocation
  ) {
    check(
      (rank == 2 || rank == 1) && shape[0] == n,
      "\(operation): the right-hand side must have \(n) rows (a matrix [\(n), k] or a vector "
        + "[\(n)]) to match the matrix \(matrix.shapeDescription), but has shape "
        + "\(shape.shapeDescription)", at: location)
  }
}

// MARK: - Buffers

// The storage accessors are `rethrows`, which Swift treats as untyped; these carry a typed error
// out of the closure through a `Result`, so the LAPACK calls inside can throw
// `LinearAlgebraError` straight to the operation's caller.

extension Tensor {
  /// A new tensor of `shape` whose elements `body` writes (it must write every one); unrecorded.
  static func computing<E: Error>(
    shape: [Int], _ body: (UnsafeMutablePointer<Scalar>) throws(E) -> Void
  ) throws(E) -> Tensor {
    var tensor = Tensor(shape: shape, storage: .uninitialized(count: shape.elementCount))
    try tensor.withMutableElements(body)
    return tensor
  }

  /// A copy of the elements, contiguous and unrecorded, for LAPACK to overwrite.
  var copiedForLAPACK: Tensor { Tensor(shape: shape, storage: storage.copy()) }

  /// Calls `body` with a pointer to the elements.
  func withElements<R, E: Error>(
    _ body: (UnsafePointer<Scalar>) throws(E) -> R
  ) throws(E) -> R {
    var result: Result<R, E>!
    storage.withUnsafeBufferPointer { elements in
      result = Result { () throws(E) in try body(elements.baseAddress!) }
    }
    return try result.get()
  }

  /// Calls `body` with a writable pointer to the elements, copying them first if another tensor
  /// shares them; unrecorded.
  mutating func withMutableElements<R, E: Error>(
    _ body: (UnsafeMutablePointer<Scalar>) throws(E) -> R
  ) throws(E) -> R {
    assert(trace == nil)
    makeUnique()
    var result: Result<R, E>!
    storage.withUnsafeMutableBufferPointer { elements in
      result = Result { () throws(E) in try body(elements.baseAddress!) }
    }
    return try result.get()
  }

  /// Whether every element is finite (no NaN, no infinity).
  var isFinite: Bool {
    withUnsafeBufferPointer { elements in elements.allSatisfy(\.isFinite) }
  }

  /// Element `(i, j)` of a matrix; unrecorded.
  subscript(element i: Int, _ j: Int) -> Scalar {
    withUnsafeBufferPointer { $0[i * shape[1] + j] }
  }
}

// MARK: - Constant matrices

extension Tensor {
  /// The `n×n` identity matrix.
  static func identity(_ n: Int) -> Tensor {
    computing(shape: [n, n]) { pointer in
      let elements = UnsafeMutableBufferPointer(start: pointer, count: n * n)
      elements.initialize(repeating: 0)
      for i in 0..<n { elements[i * n + i] = 1 }
    }
  }

  /// The `rows×columns` matrix with `diagonal` on the diagonal, `below` under it and `above` over
  /// it: the masks that pick a triangle, or a triangle with its diagonal scaled.
  static func triangleMask(
    rows: Int, columns: Int, below: Scalar, diagonal: Scalar, above: Scalar
  ) -> Tensor {
    computing(shape: [rows, columns]) { pointer in
      for i in 0..<rows {
        for j in 0..<columns {
          pointer[i * columns + j] = i > j ? below : (i == j ? diagonal : above)
        }
      }
    }
  }
}

/// The elements of a square matrix that a triangular operation reads (its lower or upper
/// triangle, with or without the diagonal) and zeros elsewhere, whatever is there (NaN
/// included): ``Tensor/lowerTriangular(diagonal:file:line:)`` or its upper form. The triangular
/// operations read their matrix through it, so every rule, at every order, sees only what the
/// operation documents as read.
func triangularPart<Scalar>(_ a: Tensor<Scalar>, lower: Bool, diagonal: Bool) -> Tensor<Scalar> {
  a.triangle(lower: lower, offset: diagonal ? 0 : (lower ? -1 : 1), "triangularPart", at: nil)
}

extension Tensor {
  /// The lower triangle of each matrix (the last two axes), zeros above it: the elements (i, j)
  /// with `j − i ≤ diagonal`, as `torch.tril` and `jnp.tril`. `diagonal` 0 keeps the main
  /// diagonal, −1 starts below it, 1 keeps the first superdiagonal too.
  ///
  /// ```swift
  /// let a = Tensor<Double>([[1, 2, 3], [4, 5, 6]])
  /// a.lowerTriangular()               // [[1, 0, 0], [4, 5, 0]]
  /// a.upperTriangular(diagonal: 1)    // [[0, 2, 3], [0, 0, 6]]
  /// ```
  ///
  /// The elements dropped become 0 whatever they were, NaN and ∞ included; the gradient and
  /// tangent keep the same elements of theirs.
  ///
  /// - Precondition: `rank ≥ 2`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func lowerTriangular(diagonal: Int = 0, file: StaticString = #fileID, line: UInt = #line)
    -> Tensor
  {
    triangle(
      lower: true, offset: diagonal, "lowerTriangular(diagonal:)",
      at: SourceLocation(file: file, line: line))
  }

  /// The upper triangle of each matrix (the last two axes), zeros below it: the elements (i, j)
  /// with `j − i ≥ diagonal`, as `torch.triu` and `jnp.triu`; see
  /// ``lowerTriangular(diagonal:file:line:)``.
  ///
  /// - Precondition: `rank ≥ 2`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func upperTriangular(diagonal: Int = 0, file: StaticString = #fileID, line: UInt = #line)
    -> Tensor
  {
    triangle(
      lower: false, offset: diagonal, "upperTriangular(diagonal:)",
      at: SourceLocation(file: file, line: line))
  }

  /// The elements (i, j) of each matrix with `j − i ≤ offset` (`lower`) or `≥ offset`, zeros
  /// elsewhere; recorded as `triangularPart`, its pullback and tangent the same of theirs.
  func triangle(lower: Bool, offset: Int, _ name: String, at location: SourceLocation?) -> Tensor {
    check(
      rank >= 2, "\(name): needs a matrix or a stack of them, got shape \(shape.shapeDescription)",
      at: location)
    guard scalarCount > 0 else { return self }
    let (rows, columns) = (shape[rank - 2], shape[rank - 1])
    let part = Tensor.computing(shape: shape) { t in
      withElements { a in
        for matrix in 0..<(scalarCount / (rows * columns)) {
          let start = matrix * rows * columns
          for i in 0..<rows {
            for j in 0..<columns {
              let kept = lower ? j - i <= offset : j - i >= offset
              t[start + i * columns + j] = kept ? a[start + i * columns + j] : 0
            }
          }
        }
      }
    }
    return record(
      "triangularPart", output: part, operands: self, at: location,
      rule: .unary { g, _, _ in g.triangle(lower: lower, offset: offset, name, at: nil) },
      tangent: .unary { da, _, _ in da.triangle(lower: lower, offset: offset, name, at: nil) })
  }
}

/// The square matrix with `v` on its diagonal: `I ∘ v` with `v` broadcast along the rows, so
/// element `(i, j)` is `δᵢⱼ·vⱼ`. Recorded, so the gradient flows back to `v` (its diagonal).
func diagonalMatrix<Scalar>(_ v: Tensor<Scalar>) -> Tensor<Scalar> {
  Tensor.identity(v.shape[0]) * v
}

/// `(M + Mᵀ)/2`, recorded, as `M/2 + Mᵀ/2` so that it does not overflow near the largest value. The transpose is an O(n²) copy of a small square matrix inside a
/// pullback, not an operand handed to gemm.
func symmetricPart<Scalar>(_ m: Tensor<Scalar>) -> Tensor<Scalar> {
  m * 0.5 + m.transposed() * 0.5
}

/// `N ∘ F` for the spectral rules of `eigh` and `svd`: `Fᵢⱼ = 1/(dⱼ − dᵢ)` (or `1/(dⱼ + dᵢ)`,
/// `sum`) off the diagonal and 0 on it, from the vector `d` (eigenvalues or singular values).
/// Recorded in `N` and `d`, so a second derivative sees `F` depend on `d`.
///
/// Where a denominator is 0 (two equal values; for a sum, two zeros) the decomposition's vectors
/// have no derivative: any orthonormal basis of the shared space will do. The entry is then 0
/// where the loss cannot tell, and NaN (as in PyTorch and JAX, which give NaN at every repeated
/// value) where it can:
/// - `N` holds the part of the vectors' gradient that changes when the basis of the shared space
///   turns, and is 0 for a loss that does not depend on the basis chosen (one that uses the
///   vectors only through their span, such as the projector `V·Vᵀ` onto the space). Where it is
///   not 0 (beside rounding: more than `64·n·ε` of the largest of the vectors' gradients), the
///   loss depends on the basis LAPACK happened to pick and has no derivative: NaN.
/// - Where the loss uses both the repeated values (`valueGradient`, if given, is not 0 at `i` or
///   `j`; a tangent has none) and their vectors (one of `vectorGradients` is not 0 at `(i, j)`
///   or `(j, i)`), as a matrix function `V·f(Λ)·Vᵀ` does, its derivative exists but depends on
///   how the values would split, which the decomposition's outputs do not say: NaN rather than a
///   wrong finite number.
func spectralQuotient<Scalar>(
  _ n: Tensor<Scalar>, over d: Tensor<Scalar>, sum: Bool = false,
  valueGradient: Tensor<Scalar>? = nil, vectorGradients: [Tensor<Scalar>]
) -> Tensor<Scalar> {
  let k = d.shape[0]
  // Dᵢⱼ = dⱼ ∓ dᵢ: the row vector and the column vector.
  let (row, column) = (d.reshaped(to: [1, k]), d.reshaped(to: [k, 1]))
  let denominators = sum ? row + column : row - column
  // The entries whose denominator is 0, the diagonal included; constants, with no derivative.
  let values = withoutDerivative(at: denominators).scalars
  let zero = (0..<k * k).map { values[$0] == 0 || $0 / k == $0 % k }
  // 1 where the denominator is 0: added to it, it keeps it from being 0, and 1 − it clears the
  // entry.
  let mask = Tensor<Scalar>(shape: [k, k], scalars: zero.map { $0 ? 1 : 0 })
  let quotient = n * (1 - mask) / (denominators + mask)
  guard zero.indices.contains(where: { zero[$0] && $0 / k != $0 % k }) else { return quotient }
  let (numerators, slopes) = (withoutDerivative(at: n).scalars, valueGradient?.detached.scalars)
  let vectors = vectorGradients.map { $0.detached.scalars }
  let largest = vectors.flatMap { $0 }.reduce(Scalar(0)) { Swift.max($0, Swift.abs($1)) }
  let roundoff = Scalar(64 * k) * Scalar.ulpOfOne * largest
  let undefined = (0..<k * k).map { index -> Bool in
    let (i, j) = (index / k, index % k)
    guard zero[index] && i != j else { return false }
    if !(Swift.abs(numerators[index]) <= roundoff) { return true }
    let valuesUsed = slopes.map { $0[i] != 0 || $0[j] != 0 } ?? false
    let vectorsUsed = vectors.contains { $0[index] != 0 || $0[j * k + i] != 0 }
    return valuesUsed && vectorsUsed
  }
  // NaN times N, so that in a recorded sweep the NaN depends on the operands (second
  // derivatives NaN too, not 0).
  let nans = Tensor<Scalar>(shape: [k, k], scalars: undefined.map { $0 ? .nan : 0 })
  return quotient + n * nans
}

/// `(a + b)/2` without overflow for finite `a` and `b` near the type's largest value, where
/// `a + b` is infinite.
@inline(__always)
func midpoint<Scalar: TensorScalar>(_ a: Scalar, _ b: Scalar) -> Scalar {
  let sum = a + b
  return sum.isFinite || !a.isFinite || !b.isFinite ? sum / 2 : a / 2 + b / 2
}

// MARK: - Several outputs, one node

// An operation with several outputs (qr, eigh, svd) records ONE node whose output is the
// outputs' elements packed into a vector, then returns each output as a slice of that vector,
// reshaped. The slices are ordinary recorded operations: whichever outputs a loss uses, their
// gradients flow back through the slices (zeros for an unused one) and meet, summed, as the
// packed node's one upstream gradient, which its single pullback splits again. So the rule sees
// all the outputs' gradients at once, as the math of these decompositions needs, and the saved
// factorization is shared without a node per output.

/// The tensors' elements, one after the other, as a vector; unrecorded.
func packed<Scalar>(_ parts: [Tensor<Scalar>]) -> Tensor<Scalar> {
  let count = parts.reduce(0) { $0 + $1.scalarCount }
  return Tensor.computing(shape: [count]) { pointer in
    var offset = 0
    for part in parts {
      part.withUnsafeBufferPointer { elements in
        (pointer + offset).initialize(from: elements.baseAddress!, count: elements.count)
      }
      offset += part.scalarCount
    }
  }
}

/// The consecutive pieces of the vector `packed`, reshaped to `shapes`; recorded when `packed` is.
func unpacked<Scalar>(_ packed: Tensor<Scalar>, as shapes: [[Int]]) -> [Tensor<Scalar>] {
  var offset = 0
  return shapes.map { shape in
    let count = shape.elementCount
    defer { offset += count }
    return packed.sliced(alongAxis: 0, offset..<(offset + count), at: nil).reshaped(to: shape)
  }
}

// MARK: - NaN and infinity

/// The result of an operation whose input holds a NaN or an infinity: NaN everywhere, recorded
/// with a pullback that sends NaN to every operand and a tangent rule that gives NaN. LAPACK is not called (its LAPACKE layer would
/// report the NaN as an illegal argument); the NaN propagates as through any other operation.
func nonFiniteResult<Scalar>(
  _ name: StaticString, shape: [Int], operands: [Tensor<Scalar>], at location: SourceLocation
) -> Tensor<Scalar> {
  // The rule captures the operand count only: a recorded operand refers to the tape, which owns
  // the rule.
  let count = operands.count
  return record(
    name, output: Tensor(repeating: .nan, shape: shape), operands: operands, at: location,
    rule: .custom { context in
      // NaN times the operand rather than a constant NaN: in a recorded sweep the gradient then
      // depends on the operand, so second derivatives are NaN too, not 0.
      for position in 0..<count where context.needsGradient(position) {
        context.accumulate(context.operand(position) * Scalar.nan, into: position)
      }
    },
    tangent: .custom { _, _, y in Tensor(repeating: .nan, shape: y.shape) })
}
