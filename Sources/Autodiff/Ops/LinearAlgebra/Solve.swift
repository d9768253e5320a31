// On `@_specialize`, see the Performance article in Documentation.docc.

// Linear systems: the LU factorization behind `solve`, `inverse` and the determinants, and
// triangular solves. The pullbacks solve with the factors the forward pass computed, through
// the same recorded operations, so a sweep that records itself (createGraph) can differentiate
// them again.

// MARK: - LU factorization

/// The factorization `P·A = L·U` of a square matrix as LAPACK's `getrf` leaves it, computed once
/// by the forward pass and saved for the pullback.
struct LUFactorization<Scalar: TensorScalar> {
  /// `L` below the diagonal (its unit diagonal implied) and `U` on and above it; unrecorded.
  let factors: Tensor<Scalar>
  /// Row `i` was interchanged with row `pivots[i]` (counting from 1).
  let pivots: [Int]
  /// The first exactly zero diagonal element of `U` (counting from 1), or `nil`.
  let zeroPivot: Int?

  /// Factors the `n×n` matrix `a` (`n > 0`, finite elements).
  init(factoring a: Tensor<Scalar>) {
    let n = a.shape[0]
    var factors = a.copiedForLAPACK
    var pivots = [Int](repeating: 0, count: n)
    do throws(LinearAlgebraError) {
      try factors.withMutableElements { (lu) throws(LinearAlgebraError) in
        try Scalar._getrf(rows: n, columns: n, a: lu, lda: n, pivots: &pivots)
      }
      zeroPivot = nil
    } catch {
      // getrf completes the factorization even when U is singular; the determinant uses it.
      guard case .singular(let pivot) = error else { fatalError("getrf: \(error)") }
      zeroPivot = pivot
    }
    self.factors = factors
    self.pivots = pivots
  }

  var order: Int { factors.shape[0] }

  /// `op(A)⁻¹·b` for an `n×k` matrix `b`, unrecorded: getrs on the saved factors.
  func solving(_ b: Tensor<Scalar>, transposed: Bool) -> Tensor<Scalar> {
    assert(zeroPivot == nil)
    var x = b.copiedForLAPACK
    let (n, k) = (order, b.shape[1])
    guard k > 0 else { return x }
    factors.withElements { lu in
      x.withMutableElements { x in
        Scalar._getrs(
          transpose: transposed, n: n, rightHandSides: k, lu: lu, lda: n, pivots: pivots, b: x,
          ldb: k)
      }
    }
    return x
  }

  /// The sign (−1, 0 or 1) of det A and log |det A|: det A = det P · ∏ Uₖₖ, where det P is −1 to
  /// the number of interchanges. A zero pivot gives (0, −∞).
  var signAndLogAbsDeterminant: (sign: Scalar, logAbs: Scalar) {
    if zeroPivot != nil { return (0, -.infinity) }
    var sign: Scalar = 1
    var logAbs: Scalar = 0
    for k in 0..<order {
      if pivots[k] != k + 1 { sign = -sign }
      let u = factors[element: k, k]
      if u < 0 { sign = -sign }
      logAbs += Scalar.log(Swift.abs(u))
    }
    return (sign, logAbs)
  }

  /// det A = det P · ∏ Uₖₖ, multiplied out (it may overflow or underflow where the logarithm
  /// would not).
  var determinant: Scalar {
    var product: Scalar = 1
    for k in 0..<order {
      product *= factors[element: k, k]
      if pivots[k] != k + 1 { product = -product }
    }
    return product
  }
}

/// `op(A)⁻¹·B` from the saved LU factors of `A`, recorded with operands `A` and `B`.
///
/// Both `solve`'s forward pass and the pullbacks that need `A⁻¹` or `A⁻ᵀ` go through here: the
/// pullback of this operation calls it again with the other transpose flag, so when a sweep
/// records itself the solve in the pullback is recorded too, and a second derivative reuses the
/// same factors.
func luSolve<Scalar>(
  _ a: Tensor<Scalar>, _ lu: LUFactorization<Scalar>, _ b: Tensor<Scalar>, transposed: Bool,
  at location: SourceLocation? = nil
) -> Tensor<Scalar> {
  record(
    "solve", output: lu.solving(b.detached, transposed: transposed), operands: a, b,
    at: location,
    rule: .custom { context in
      // X = op(A)⁻¹·B. Differentiating op(A)·X = B gives op(A)·dX = dB − d op(A)·X, so
      //   B̄ = op(A)⁻ᵀ·X̄         (getrs on the same factors with the other transpose flag)
      //   op(A)̄ = −B̄·Xᵀ, that is Ā = −B̄·Xᵀ, or Ā = −X·B̄ᵀ when op(A) = Aᵀ.
      let bBar = luSolve(context.operand(0), lu, context.upstream, transposed: !transposed)
      if context.needsGradient(1) { context.accumulate(bBar, into: 1) }
      if context.needsGradient(0) {
        let x = context.output
        if transposed {
          context.accumulateProduct(into: 0, x, transposed: false, -bBar, transposed: true)
        } else {
          context.accumulateProduct(into: 0, -bBar, transposed: false, x, transposed: true)
        }
      }
    },
    tangent: .custom { tangents, operands, x in
      // op(A)·Ẋ = Ḃ − op(Ȧ)·X, solved with the same factors.
      let correction = tangents[0].map { da in
        -matmul(da, transposed: transposed, x, transposed: false)
      }
      return luSolve(
        operands[0], lu, sumOfPresent(tangents[1], correction)!, transposed: transposed)
    })
}

// MARK: - solve and inverse

/// The solution `X` of the linear system `A·X = B`, by LU factorization with partial pivoting
/// (LAPACK `getrf` and `getrs`).
///
/// ```swift
/// let a = Tensor<Double>(shape: [2, 2], scalars: [3, 1, 1, 2])
/// let x = try solve(a, Tensor([9, 8]))   // [2, 3]
/// ```
///
/// The pullback reuses the forward pass's factors: `B̄ = A⁻ᵀ·X̄` is one more `getrs` (with the
/// transpose flag), and `Ā = −B̄·Xᵀ` one gemm.
///
/// A NaN or an infinity in `a` or `b` makes every element of the solution NaN.
///
/// - Parameters:
///   - a: A square matrix `n×n`.
///   - b: The right-hand sides: a matrix `n×k`, or a vector of `n` elements.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: `A⁻¹·B`, of `b`'s shape.
/// - Throws: ``LinearAlgebraError/singular(pivot:)`` when `a` is exactly singular.
/// - Precondition: `a` is square and `b` has as many rows as `a`.
/// - Complexity: O(n³ + n²·k).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func solve<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) throws(LinearAlgebraError) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  let n = a.checkSquareMatrix("solve", "the matrix", at: location)
  b.checkRightHandSide(rows: n, "solve", matrix: a.shape, at: location)
  guard n > 0 else { return Tensor(zeros: b.shape) }
  guard a.isFinite && b.isFinite else {
    return nonFiniteResult("solve", shape: b.shape, operands: [a, b], at: location)
  }
  let lu = LUFactorization(factoring: a.detached)
  if let pivot = lu.zeroPivot { throw .singular(pivot: pivot) }
  guard b.rank == 1 else { return luSolve(a, lu, b, transposed: false, at: location) }
  return luSolve(a, lu, b.reshaped(to: [n, 1]), transposed: false, at: location)
    .reshaped(to: [n])
}

/// The inverse `A⁻¹` of a square matrix, by LU factorization (LAPACK `getrf` and `getri`).
///
/// To apply the inverse to a matrix, ``solve(_:_:file:line:)`` is cheaper and more accurate.
///
/// With `Y = A⁻¹`, `dY = −Y·dA·Y`, so the pullback is `Ā = −Yᵀ·Ȳ·Yᵀ`: two gemm calls with
/// transpose flags on the saved inverse.
///
/// A NaN or an infinity in `a` makes every element of the inverse NaN.
///
/// - Throws: ``LinearAlgebraError/singular(pivot:)`` when `a` is exactly singular.
/// - Precondition: `a` is a square matrix.
/// - Complexity: O(n³).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func inverse<Scalar>(
  _ a: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) throws(LinearAlgebraError) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  let n = a.checkSquareMatrix("inverse", "the matrix", at: location)
  guard n > 0 else { return Tensor(zeros: [0, 0]) }
  guard a.isFinite else {
    return nonFiniteResult("inverse", shape: [n, n], operands: [a], at: location)
  }
  let lu = LUFactorization(factoring: a.detached)
  if let pivot = lu.zeroPivot { throw .singular(pivot: pivot) }
  var y = lu.factors
  try y.withMutableElements { (y) throws(LinearAlgebraError) in
    try Scalar._getri(n: n, lu: y, lda: n, pivots: lu.pivots)
  }
  return record(
    "inverse", output: y, operands: a, at: location,
    rule: .custom { context in
      // Y = A⁻¹: dY = −Y·dA·Y, so Ā = −Yᵀ·Ȳ·Yᵀ.
      let y = context.output
      let left = matmul(y, transposed: true, context.upstream, transposed: false)
      context.accumulateProduct(into: 0, -left, transposed: false, y, transposed: true)
    },
    tangent: .unary { da, _, y in
      // Ẏ = −Y·Ȧ·Y.
      -matmul(matmul(y, da), y)
    })
}

// MARK: - Triangular systems

/// Which triangular system a triangular solve solves: `op(A)·X = B` (left) or `X·op(A) = B`
/// (right), `op(A)` being `A` or `Aᵀ`, for the lower or upper triangle of `A`.
struct TriangularSystem {
  var lower: Bool
  var transposed: Bool
  var unitDiagonal: Bool
  var rightSide: Bool

  /// The system with `op(A)ᵀ` in place of `op(A)`, whose solve is the pullback's.
  var adjoint: TriangularSystem {
    var adjoint = self
    adjoint.transposed.toggle()
    return adjoint
  }

  /// 1 on the elements of `A` the solve reads (its triangle, without the diagonal when that is
  /// taken as ones), 0 elsewhere.
  func mask<Scalar: TensorScalar>(order: Int) -> Tensor<Scalar> {
    .triangleMask(
      rows: order, columns: order, below: lower ? 1 : 0, diagonal: unitDiagonal ? 0 : 1,
      above: lower ? 0 : 1)
  }
}

/// The solution of a triangular system (BLAS `trsm`), recorded with operands `A` and `B`.
///
/// No zero on the diagonal is checked: the public ``triangularSolve(_:_:lower:transposed:unitDiagonal:file:line:)``
/// checks, and the pullbacks solve with factors that passed that check (or a Cholesky
/// factorization). Only the chosen triangle of `A` is read, so only it gets a gradient.
func triangularSolve<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, _ system: TriangularSystem,
  at location: SourceLocation? = nil
) -> Tensor<Scalar> {
  var x = b.detached.copiedForLAPACK
  let (m, n) = (b.shape[0], b.shape[1])
  if m > 0 && n > 0 {
    a.withElements { a2 in
      x.withMutableElements { x in
        Scalar._trsm(
          rightSide: system.rightSide, lower: system.lower, transposeA: system.transposed,
          unitDiagonal: system.unitDiagonal, m: m, n: n, alpha: 1, a: a2, lda: a.shape[0],
          b: x, ldb: n)
      }
    }
  }
  return record(
    "triangularSolve", output: x, operands: a, b, at: location,
    rule: .custom { context in
      // Left, X = op(A)⁻¹·B:  B̄ = op(A)⁻ᵀ·X̄ and op(A)̄ = −B̄·Xᵀ.
      // Right, X = B·op(A)⁻¹: B̄ = X̄·op(A)⁻ᵀ and op(A)̄ = −Xᵀ·B̄.
      // B̄ is the adjoint system's solve; Ā is op(A)̄, transposed when op(A) = Aᵀ, restricted to
      // the triangle that was read (without the diagonal when it is taken as ones).
      let bBar = triangularSolve(context.operand(0), context.upstream, system.adjoint)
      if context.needsGradient(1) { context.accumulate(bBar, into: 1) }
      guard context.needsGradient(0) else { return }
      let x = context.output
      let aBar =
        switch (system.rightSide, system.transposed) {
        case (false, false): matmul(-bBar, transposed: false, x, transposed: true)
        case (false, true): matmul(x, transposed: false, -bBar, transposed: true)
        case (true, false): matmul(x, transposed: true, -bBar, transposed: false)
        case (true, true): matmul(-bBar, transposed: true, x, transposed: false)
        }
      context.accumulate(aBar * system.mask(order: aBar.shape[0]), into: 0)
    },
    tangent: .custom { tangents, operands, x in
      // Left: op(A)·Ẋ = Ḃ − op(Ȧ)·X; right: Ẋ·op(A) = Ḃ − X·op(Ȧ); Ȧ on the triangle read.
      let correction = tangents[0].map { da in
        let daTriangle = da * system.mask(order: da.shape[0])
        return system.rightSide
          ? -matmul(x, transposed: false, daTriangle, transposed: system.transposed)
          : -matmul(daTriangle, transposed: system.transposed, x, transposed: false)
      }
      return triangularSolve(operands[0], sumOfPresent(tangents[1], correction)!, system)
    })
}

/// The solution `X` of `op(A)·X = B` for a triangular matrix `A`, by substitution (BLAS `trsm`,
/// the routine LAPACK's `trtrs` runs after checking the diagonal, as this function does).
///
/// ```swift
/// let l = try cholesky(a)
/// let y = try triangularSolve(l, b, lower: true)                    // L·Y = B
/// let x = try triangularSolve(l, y, lower: true, transposed: true)  // Lᵀ·X = Y
/// ```
///
/// Only the lower (or upper) triangle of `a` is read, and only it gets a gradient. With
/// `X = op(A)⁻¹·B`, the pullback is `B̄ = op(A)⁻ᵀ·X̄` (one more triangular solve) and
/// `op(A)̄ = −B̄·Xᵀ`, restricted to the triangle.
///
/// A NaN or an infinity in `b` or in the elements of `a` that are read makes every element of
/// the solution NaN.
///
/// - Parameters:
///   - a: A square matrix `n×n`; only its lower (`lower: true`) or upper triangle is read.
///   - b: The right-hand sides: a matrix `n×k`, or a vector of `n` elements.
///   - lower: Whether `a` is lower triangular, else upper.
///   - transposed: Solves `Aᵀ·X = B` instead of `A·X = B`.
///   - unitDiagonal: Takes `a`'s diagonal as ones without reading it.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: `op(A)⁻¹·B`, of `b`'s shape.
/// - Throws: ``LinearAlgebraError/singular(pivot:)`` when a diagonal element of `a` is zero.
/// - Precondition: `a` is square and `b` has as many rows as `a`.
/// - Complexity: O(n²·k).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func triangularSolve<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, lower: Bool, transposed: Bool = false,
  unitDiagonal: Bool = false, file: StaticString = #fileID, line: UInt = #line
) throws(LinearAlgebraError) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  let n = a.checkSquareMatrix("triangularSolve", "the matrix", at: location)
  b.checkRightHandSide(rows: n, "triangularSolve", matrix: a.shape, at: location)
  guard n > 0 else { return Tensor(zeros: b.shape) }
  // Every rule below reads these elements, never the others of `a`.
  let a = triangularPart(a, lower: lower, diagonal: !unitDiagonal)
  guard a.isFinite && b.isFinite else {
    return nonFiniteResult("triangularSolve", shape: b.shape, operands: [a, b], at: location)
  }
  if !unitDiagonal, let zero = (0..<n).first(where: { a[element: $0, $0] == 0 }) {
    throw .singular(pivot: zero + 1)
  }
  let system = TriangularSystem(
    lower: lower, transposed: transposed, unitDiagonal: unitDiagonal, rightSide: false)
  guard b.rank == 1 else { return triangularSolve(a, b, system, at: location) }
  return triangularSolve(a, b.reshaped(to: [n, 1]), system, at: location).reshaped(to: [n])
}
