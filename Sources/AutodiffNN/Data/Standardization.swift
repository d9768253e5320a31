/// A shift and scale that gives each input feature mean 0 and standard deviation 1 on the data
/// it was fitted to.
///
/// Fit it on the training set only, then apply the same statistics to every set, so the test
/// set is transformed exactly as the model saw its training data:
///
/// ```swift
/// let standardization = Standardization(fittedTo: train.inputs)
/// let train = train.standardized(by: standardization)
/// let test = test.standardized(by: standardization)
/// ```
///
/// x′ = (x − μ) / σ, where μ and σ are the mean and the (population) standard deviation of each
/// column. A column that is constant on the training set (σ = 0, as the border pixels of many
/// images) gets σ = 1: it is only centered, never divided by zero.
public struct Standardization<Scalar: TensorScalar>: Sendable {
  /// The mean of each feature, shape `[featureCount]`, or `[]` for one mean over all features.
  public let mean: Tensor<Scalar>

  /// The standard deviation of each feature, with zeros replaced by 1, of the shape of ``mean``.
  public let standardDeviation: Tensor<Scalar>

  /// Computes the statistics of `inputs`, one example per row.
  ///
  /// The sums are accumulated in `Double`, two passes (mean, then squared deviations), so the
  /// statistics of 60,000 `Float` rows are accurate to `Float`'s precision.
  ///
  /// - Parameters:
  ///   - inputs: A matrix, shape `[count, featureCount]`.
  ///   - perFeature: Whether each column gets its own statistics (the default), or all columns
  ///     share one mean and one standard deviation.
  /// - Precondition: `inputs` has rank 2 and at least one row.
  /// - Complexity: O(*n*) in the number of elements, two passes.
  public init(fittedTo inputs: Tensor<Scalar>, perFeature: Bool = true) {
    guard inputs.rank == 2, inputs.shape[0] > 0 else {
      fatalError(
        "Standardization(fittedTo:): inputs of shape \(inputs.shape) need rank 2 and a row")
    }
    let (rows, columns) = (inputs.shape[0], inputs.shape[1])
    var (means, deviations) = inputs.withUnsafeBufferPointer { x in
      // Dispatch to the concrete type once, so the loops are specialized for it.
      if Scalar.self == Float.self {
        x.withMemoryRebound(to: Float.self) { columnStatistics($0, rows: rows, columns: columns) }
      } else if Scalar.self == Double.self {
        x.withMemoryRebound(to: Double.self) { columnStatistics($0, rows: rows, columns: columns) }
      } else {
        columnStatistics(x, rows: rows, columns: columns)
      }
    }
    if !perFeature {
      // Pool the columns: the overall mean is the mean of column means (equal row counts), and
      // the overall variance is the mean column variance plus the variance of the column means.
      let mean = means.reduce(0, +) / Double(columns)
      let variance =
        zip(means, deviations).reduce(0) { sum, column in
          sum + column.1 * column.1 + (column.0 - mean) * (column.0 - mean)
        } / Double(columns)
      (means, deviations) = ([mean], [variance.squareRoot()])
    }
    let shape = perFeature ? [columns] : []
    self.mean = Tensor(shape: shape, scalars: means.map { Scalar($0) })
    self.standardDeviation = Tensor(
      // Tested after rounding: a deviation below Float's smallest subnormal rounds to 0.
      shape: shape, scalars: deviations.map { Scalar($0) == 0 ? 1 : Scalar($0) })
  }

  /// Standardizes `inputs`: (x − ``mean``) / ``standardDeviation``, column by column.
  ///
  /// The result is a new constant tensor (not recorded on a tape): standardization prepares
  /// data, it is not part of a model.
  ///
  /// - Precondition: `inputs` is a matrix with as many columns as the data this was fitted to
  ///   (any number of columns for statistics over all features).
  /// - Complexity: O(*n*), one pass writing the result in place.
  public func callAsFunction(_ inputs: Tensor<Scalar>) -> Tensor<Scalar> {
    let columns = inputs.rank == 2 ? inputs.shape[1] : -1
    guard columns >= 0, mean.scalarCount == 1 || mean.scalarCount == columns else {
      fatalError(
        "Standardization: inputs of shape \(inputs.shape) do not have the \(mean.scalarCount) "
          + "columns of the data the statistics were fitted to")
    }
    var result = Tensor<Scalar>(zeros: inputs.shape)
    inputs.withUnsafeBufferPointer { x in
      result.withUnsafeMutableBufferPointer { y in
        mean.withUnsafeBufferPointer { mean in
          standardDeviation.withUnsafeBufferPointer { deviation in
            // Dispatch to the concrete type once, so the loop is specialized for it.
            if Scalar.self == Float.self {
              standardizeRows(
                x.rebound(to: Float.self), into: y.rebound(to: Float.self),
                mean: mean.rebound(to: Float.self), deviation: deviation.rebound(to: Float.self),
                columns: columns)
            } else if Scalar.self == Double.self {
              standardizeRows(
                x.rebound(to: Double.self), into: y.rebound(to: Double.self),
                mean: mean.rebound(to: Double.self), deviation: deviation.rebound(to: Double.self),
                columns: columns)
            } else {
              standardizeRows(x, into: y, mean: mean, deviation: deviation, columns: columns)
            }
          }
        }
      }
    }
    return result
  }
}

extension LabeledDataset {
  /// The data set with its inputs standardized by `standardization`; the labels are unchanged.
  public func standardized(by standardization: Standardization<Scalar>) -> LabeledDataset {
    LabeledDataset(inputs: standardization(inputs), labels: labels)
  }
}

/// The mean and population standard deviation of each column of a row-major matrix, summed in
/// `Double`. Generic over the element type, so that each concrete call is specialized.
private func columnStatistics<S: BinaryFloatingPoint>(
  _ x: UnsafeBufferPointer<S>, rows: Int, columns: Int
) -> (means: [Double], deviations: [Double]) {
  var sums = [Double](repeating: 0, count: columns)
  var squares = [Double](repeating: 0, count: columns)
  sums.withUnsafeMutableBufferPointer { sums in
    for row in 0..<rows {
      for column in 0..<columns { sums[column] += Double(x[row * columns + column]) }
    }
    for column in 0..<columns { sums[column] /= Double(rows) }
  }
  squares.withUnsafeMutableBufferPointer { squares in
    sums.withUnsafeBufferPointer { means in
      for row in 0..<rows {
        for column in 0..<columns {
          let deviation = Double(x[row * columns + column]) - means[column]
          squares[column] += deviation * deviation
        }
      }
    }
  }
  return (sums, squares.map { ($0 / Double(rows)).squareRoot() })
}

/// y = (x − mean) / deviation row by row, with one mean and deviation per column, or a single
/// one for all columns.
private func standardizeRows<S: BinaryFloatingPoint>(
  _ x: UnsafeBufferPointer<S>, into y: UnsafeMutableBufferPointer<S>,
  mean: UnsafeBufferPointer<S>, deviation: UnsafeBufferPointer<S>, columns: Int
) {
  guard columns > 0 else { return }
  if mean.count == 1 {
    for index in x.indices { y[index] = (x[index] - mean[0]) / deviation[0] }
    return
  }
  for start in stride(from: 0, to: x.count, by: columns) {
    for column in 0..<columns {
      y[start + column] = (x[start + column] - mean[column]) / deviation[column]
    }
  }
}

extension UnsafeBufferPointer {
  /// The same memory seen as elements of `type`, which must be `Element` itself: a way to call
  /// code specialized for `Float` or `Double` from code generic over the scalar type.
  fileprivate func rebound<T>(to type: T.Type) -> UnsafeBufferPointer<T> {
    assert(T.self == Element.self)
    return UnsafeBufferPointer<T>(
      start: UnsafeRawPointer(baseAddress)?.assumingMemoryBound(to: T.self), count: count)
  }
}

extension UnsafeMutableBufferPointer {
  /// The same memory seen as elements of `type`, which must be `Element` itself.
  fileprivate func rebound<T>(to type: T.Type) -> UnsafeMutableBufferPointer<T> {
    assert(T.self == Element.self)
    return UnsafeMutableBufferPointer<T>(
      start: UnsafeMutableRawPointer(baseAddress)?.assumingMemoryBound(to: T.self), count: count)
  }
}
