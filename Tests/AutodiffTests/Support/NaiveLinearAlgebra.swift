// Reference implementations for the linear-algebra tests: textbook algorithms in Double on
// arrays of rows, written for clarity and independent of LAPACK, and the seeded matrices the
// tests run on. Small matrices only.

import Autodiff

/// A dense matrix as an array of rows.
typealias Rows = [[Double]]

extension Tensor {
  /// The rows of a matrix, converted to Double.
  var rows: Rows {
    let values = Tensor<Double>(self).scalars
    let (m, n) = (shape[0], shape[1])
    return (0..<m).map { i in Array(values[(i * n)..<(i * n + n)]) }
  }

  /// The matrix with these rows.
  init(rows: Rows) {
    let double = Tensor<Double>(
      shape: [rows.count, rows.first?.count ?? 0], scalars: rows.flatMap { $0 })
    self.init(double)
  }
}

enum Naive {
  static func identity(_ n: Int) -> Rows {
    (0..<n).map { i in (0..<n).map { j in i == j ? 1 : 0 } }
  }

  static func transpose(_ a: Rows) -> Rows {
    guard let columns = a.first?.count else { return [] }
    return (0..<columns).map { j in a.map { $0[j] } }
  }

  static func multiply(_ a: Rows, _ b: Rows) -> Rows {
    a.map { row in
      (0..<(b.first?.count ?? 0)).map { j in
        row.indices.reduce(0) { $0 + row[$1] * b[$1][j] }
      }
    }
  }

  /// The determinant by cofactor expansion along the first row: no factorization at all.
  static func determinant(_ a: Rows) -> Double {
    let n = a.count
    if n == 0 { return 1 }
    if n == 1 { return a[0][0] }
    var sum = 0.0
    for j in 0..<n {
      let minor = a.dropFirst().map { row in
        row.enumerated().filter { $0.offset != j }.map(\.element)
      }
      sum += (j.isMultiple(of: 2) ? 1 : -1) * a[0][j] * determinant(Array(minor))
    }
    return sum
  }

  /// The solution of A·X = B by Gauss–Jordan elimination with partial pivoting.
  static func solve(_ a: Rows, _ b: Rows) -> Rows {
    let n = a.count
    var augmented = zip(a, b).map { $0 + $1 }
    for column in 0..<n {
      let pivot = (column..<n).max { abs(augmented[$0][column]) < abs(augmented[$1][column]) }!
      augmented.swapAt(column, pivot)
      let scale = augmented[column][column]
      augmented[column] = augmented[column].map { $0 / scale }
      for row in 0..<n where row != column {
        let factor = augmented[row][column]
        augmented[row] = zip(augmented[row], augmented[column]).map { $0 - factor * $1 }
      }
    }
    return augmented.map { Array($0[n...]) }
  }

  static func inverse(_ a: Rows) -> Rows { solve(a, identity(a.count)) }

  /// The Cholesky factor by the Cholesky–Banachiewicz recurrence.
  static func cholesky(_ a: Rows) -> Rows {
    let n = a.count
    var l = Rows(repeating: Array(repeating: 0, count: n), count: n)
    for i in 0..<n {
      for j in 0...i {
        let sum = (0..<j).reduce(0.0) { $0 + l[i][$1] * l[j][$1] }
        l[i][j] = i == j ? (a[i][i] - sum).squareRoot() : (a[i][j] - sum) / l[j][j]
      }
    }
    return l
  }

  /// The solution of op(A)·X = B for triangular A by forward or back substitution.
  static func triangularSolve(_ a: Rows, _ b: Rows, lower: Bool, transposed: Bool) -> Rows {
    let matrix = transposed ? transpose(a) : a
    let isLower = lower != transposed
    let n = matrix.count
    var x = b
    let order = isLower ? Array(0..<n) : Array((0..<n).reversed())
    for i in order {
      for column in x[i].indices {
        var value = b[i][column]
        for j in 0..<n where j != i && (isLower ? j < i : j > i) {
          value -= matrix[i][j] * x[j][column]
        }
        x[i][column] = value / matrix[i][i]
      }
    }
    return x
  }

  /// Q (m×k) and R (k×n) by modified Gram–Schmidt on the first k = min(m, n) columns, with
  /// R's diagonal positive; the first k columns must be linearly independent.
  static func qr(_ a: Rows) -> (q: Rows, r: Rows) {
    let (m, n) = (a.count, a[0].count)
    let k = min(m, n)
    var columns = transpose(a)
    var q = Rows()
    for j in 0..<k {
      var v = columns[j]
      for qi in q {
        let projection = zip(qi, v).reduce(0) { $0 + $1.0 * $1.1 }
        v = zip(v, qi).map { $0 - projection * $1 }
      }
      let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
      q.append(v.map { $0 / norm })
      columns[j] = v
    }
    let qMatrix = transpose(q)
    let r = multiply(q, a)  // Qᵀ·A, upper triangular up to rounding
    let rClean = r.enumerated().map { i, row in
      row.enumerated().map { j, value in j < i ? 0 : value }
    }
    return (qMatrix, rClean)
  }

  /// The eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix by cyclic
  /// Jacobi rotations.
  static func symmetricEigen(_ a: Rows) -> (values: [Double], vectors: Rows) {
    let n = a.count
    var d = a
    var v = identity(n)
    for _ in 0..<100 {
      var offDiagonal = 0.0
      for i in 0..<n { for j in 0..<n where i != j { offDiagonal += d[i][j] * d[i][j] } }
      if offDiagonal < 1e-30 { break }
      for p in 0..<n {
        for q in (p + 1)..<n where d[p][q] != 0 {
          let theta = (d[q][q] - d[p][p]) / (2 * d[p][q])
          let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
          let c = 1 / (t * t + 1).squareRoot()
          let s = t * c
          for k in 0..<n {
            let (dkp, dkq) = (d[k][p], d[k][q])
            d[k][p] = c * dkp - s * dkq
            d[k][q] = s * dkp + c * dkq
          }
          for k in 0..<n {
            let (dpk, dqk) = (d[p][k], d[q][k])
            d[p][k] = c * dpk - s * dqk
            d[q][k] = s * dpk + c * dqk
          }
          for k in 0..<n {
            let (vkp, vkq) = (v[k][p], v[k][q])
            v[k][p] = c * vkp - s * vkq
            v[k][q] = s * vkp + c * vkq
          }
        }
      }
    }
    let order = (0..<n).sorted { d[$0][$0] < d[$1][$1] }
    return (order.map { d[$0][$0] }, v.map { row in order.map { row[$0] } })
  }

  /// The singular values (descending) and right singular vectors (columns) from the
  /// eigendecomposition of AᵀA, and U = A·V·S⁻¹; for full-rank A with m ≥ n.
  static func svd(_ a: Rows) -> (u: Rows, s: [Double], v: Rows) {
    let (values, vectors) = symmetricEigen(multiply(transpose(a), a))
    let order = Array(values.indices.reversed())
    let s = order.map { values[$0].squareRoot() }
    let v = vectors.map { row in order.map { row[$0] } }
    let av = multiply(a, v)
    let u = av.map { row in row.enumerated().map { $1 / s[$0] } }
    return (u, s, v)
  }
}

// MARK: - Seeded matrices

enum Matrices {
  /// Entries uniform in −1..<1, plus `n` on the diagonal: diagonally dominant, so
  /// well-conditioned (condition number of order 1).
  static func wellConditioned(_ n: Int, using rng: inout SeededGenerator) -> Rows {
    let random = Tensor<Double>(randomUniform: [n, n], in: -1..<1, using: &rng).rows
    return random.enumerated().map { i, row in
      row.enumerated().map { j, value in i == j ? value + Double(n) : value }
    }
  }

  /// Entries uniform in −1..<1.
  static func uniform(_ m: Int, _ n: Int, using rng: inout SeededGenerator) -> Rows {
    Tensor<Double>(randomUniform: [m, n], in: -1..<1, using: &rng).rows
  }

  /// M·Mᵀ + n·I for uniform M: symmetric positive definite, eigenvalues at least n.
  static func positiveDefinite(_ n: Int, using rng: inout SeededGenerator) -> Rows {
    let m = uniform(n, n, using: &rng)
    let product = Naive.multiply(m, Naive.transpose(m))
    return product.enumerated().map { i, row in
      row.enumerated().map { j, value in i == j ? value + Double(n) : value }
    }
  }

  /// A random m×n matrix with orthonormal columns (m ≥ n).
  static func orthonormalColumns(_ m: Int, _ n: Int, using rng: inout SeededGenerator) -> Rows {
    var q = Naive.qr(uniform(m, n, using: &rng)).q
    // Random signs, so that no column convention is built in.
    for j in 0..<n where Bool.random(using: &rng) {
      for i in 0..<m { q[i][j] = -q[i][j] }
    }
    return q
  }

  /// Q·diag(values)·Qᵀ for a random orthogonal Q: a symmetric matrix with these eigenvalues.
  static func symmetric(eigenvalues values: [Double], using rng: inout SeededGenerator) -> Rows {
    let q = orthonormalColumns(values.count, values.count, using: &rng)
    let scaled = q.map { row in row.enumerated().map { $1 * values[$0] } }
    return Naive.multiply(scaled, Naive.transpose(q))
  }

  /// U·diag(values)·Vᵀ for random U (m×k), V (n×k) with orthonormal columns, k = min(m, n).
  static func withSingularValues(
    _ values: [Double], rows m: Int, columns n: Int, using rng: inout SeededGenerator
  ) -> Rows {
    let u = orthonormalColumns(m, values.count, using: &rng)
    let v = orthonormalColumns(n, values.count, using: &rng)
    let scaled = u.map { row in row.enumerated().map { $1 * values[$0] } }
    return Naive.multiply(scaled, Naive.transpose(v))
  }
}
