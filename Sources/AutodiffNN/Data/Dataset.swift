/// Examples with integer class labels: one example per row of ``inputs``, its class in
/// ``labels``.
///
/// A data set is a value: shuffling, splitting and standardizing return new data sets whose
/// inputs are contiguous tensors, so that a mini-batch is a cheap copy of adjacent rows. An
/// epoch of training reads:
///
/// ```swift
/// let (train, test) = try FashionMNIST.load(as: Float.self)
/// var generator = SeededGenerator(seed: 42)
/// for epoch in 1...10 {
///   for (images, labels) in train.shuffled(using: &generator).batches(ofSize: 128) {
///     // images: [128, 784], labels: 128 class indices
///   }
/// }
/// ```
///
/// The inputs are constants: a data set never records on a tape.
public struct LabeledDataset<Scalar: TensorScalar>: Sendable {
  /// The examples, shape `[count, featureCount]`, one per row.
  public let inputs: Tensor<Scalar>

  /// The class of each example, in the order of the rows of ``inputs``.
  public let labels: [Int]

  /// Creates a data set from a matrix of examples and their labels.
  ///
  /// - Precondition: `inputs` has rank 2 and as many rows as there are labels.
  public init(
    inputs: Tensor<Scalar>, labels: [Int], file: StaticString = #fileID, line: UInt = #line
  ) {
    guard inputs.rank == 2, inputs.shape[0] == labels.count else {
      failNN(
        "LabeledDataset(inputs:labels:): inputs of shape \(inputs.shape) need rank 2 and one row "
          + "per label, but there are \(labels.count) labels",
        at: SourceLocation(file: file, line: line))
    }
    self.inputs = inputs
    self.labels = labels
  }

  /// Pairs an IDX array of examples with an IDX array of labels, flattening each example into
  /// one row: MNIST's `[60000, 28, 28]` images become inputs of shape `[60000, 784]`.
  ///
  /// - Parameters:
  ///   - images: The examples; axis 0 counts them.
  ///   - labels: One integer per example, rank 1.
  ///   - divisor: Every input is divided by it: 255 maps bytes to `[0, 1]`.
  /// - Throws: ``DatasetError/countMismatch(imagesPath:imageCount:labelsPath:labelCount:)`` when
  ///   the arrays hold different numbers of items, and
  ///   ``DatasetError/unexpectedContents(path:expected:found:)`` when the labels are not a
  ///   rank-1 array of integers.
  /// - Complexity: O(*n*) in the number of input elements, one pass.
  public init(images: IDXArray, labels: IDXArray, dividingInputsBy divisor: Scalar = 1)
    throws(DatasetError)
  {
    guard labels.shape.count == 1 else {
      throw .unexpectedContents(
        path: labels.source, expected: "a rank-1 array of labels",
        found: "an array of shape \(labels.shape)")
    }
    let count = images.shape[0]
    guard count == labels.shape[0] else {
      throw .countMismatch(
        imagesPath: images.source, imageCount: count, labelsPath: labels.source,
        labelCount: labels.shape[0])
    }
    let features = images.shape.dropFirst().reduce(1, *)
    self.inputs = images.tensor(shape: [count, features], dividedBy: divisor)
    self.labels = try labels.integers()
  }

  /// The number of examples.
  public var count: Int { labels.count }

  /// The number of inputs of each example: the number of columns of ``inputs``.
  public var featureCount: Int { inputs.shape[1] }

  /// The examples at positions `range`, in order.
  ///
  /// - Precondition: `range` lies within `0..<count`.
  public subscript(range: Range<Int>) -> LabeledDataset {
    guard range.lowerBound >= 0 && range.upperBound <= count else {
      failNN("LabeledDataset[\(range)]: outside 0..<\(count)")
    }
    return LabeledDataset(inputs: inputs[range], labels: Array(labels[range]))
  }

  /// The first `maxLength` examples, or all of them if there are fewer.
  ///
  /// - Precondition: `maxLength >= 0`.
  public func prefix(_ maxLength: Int) -> LabeledDataset {
    guard maxLength >= 0 else { failNN("LabeledDataset.prefix: negative length \(maxLength)") }
    return self[0..<Swift.min(maxLength, count)]
  }

  // MARK: Shuffling and splitting

  /// The same examples in a uniformly random order drawn from `generator`.
  ///
  /// The rows are copied once into a new contiguous tensor, so the batches of the result are
  /// plain row ranges. With a seeded generator the order is the same on every platform and Swift
  /// version: the permutation is a Fisher–Yates shuffle on bounded draws computed here, not by
  /// the standard library.
  ///
  /// - Complexity: O(*n*) in the number of input elements, one row copy each.
  public func shuffled<G: RandomNumberGenerator>(using generator: inout G) -> LabeledDataset {
    gathering(rows: randomPermutation(count: count, using: &generator))
  }

  /// Splits the examples at random into two data sets: a fraction `fraction` of them (rounded
  /// to the nearest count) in the first, the rest in the second.
  ///
  /// ```swift
  /// let (training, validation) = train.split(fraction: 0.9, seed: 7)   // 54,000 and 6,000
  /// ```
  ///
  /// The same seed gives the same split; each part is in random order.
  ///
  /// - Precondition: `fraction` is in `0...1`.
  public func split(
    fraction: Double, seed: UInt64
  ) -> (training: LabeledDataset, test: LabeledDataset) {
    guard (0...1).contains(fraction) else {
      failNN("LabeledDataset.split: fraction \(fraction) is outside 0...1")
    }
    var generator = SeededGenerator(seed: seed)
    let order = randomPermutation(count: count, using: &generator)
    let firstCount = Int((fraction * Double(count)).rounded())
    return (gathering(rows: order[..<firstCount]), gathering(rows: order[firstCount...]))
  }

  /// The examples at `rows`, in that order, copied into a new contiguous tensor: Autodiff's
  /// gather, one block copy a row, across cores for a large set.
  func gathering(rows: some Collection<Int>) -> LabeledDataset {
    let rows = Array(rows)
    return LabeledDataset(
      inputs: inputs.gathering(atIndices: rows), labels: rows.map { labels[$0] })
  }

  // MARK: Mini-batches

  /// The examples in consecutive mini-batches of `size`, in order.
  ///
  /// ```swift
  /// for (inputs, labels) in dataset.batches(ofSize: 128) { ... }
  /// ```
  ///
  /// Each batch copies its rows out of ``inputs`` (one contiguous copy). Shuffle the data set
  /// first, once per epoch, for batches in random order.
  ///
  /// - Parameters:
  ///   - size: The number of examples in each batch.
  ///   - droppingLast: Whether to leave out the last batch when it has fewer than `size`
  ///     examples (so every batch has the same shape).
  /// - Precondition: `size > 0`.
  public func batches(ofSize size: Int, droppingLast: Bool = false) -> Batches {
    guard size > 0 else { failNN("LabeledDataset.batches: size \(size) is not positive") }
    return Batches(dataset: self, batchSize: size, droppingLast: droppingLast)
  }

  /// Consecutive mini-batches of a data set, as ``LabeledDataset/batches(ofSize:droppingLast:)``
  /// returns them.
  public struct Batches: RandomAccessCollection, Sendable {
    /// One batch: `batchSize` rows of inputs (fewer for a last partial batch) and their labels.
    public typealias Element = (inputs: Tensor<Scalar>, labels: [Int])

    let dataset: LabeledDataset

    /// The number of examples in each full batch.
    public let batchSize: Int

    /// The position of the first batch: 0.
    public var startIndex: Int { 0 }

    /// The number of batches.
    public let endIndex: Int

    init(dataset: LabeledDataset, batchSize: Int, droppingLast: Bool) {
      self.dataset = dataset
      self.batchSize = batchSize
      let (full, partial) = dataset.count.quotientAndRemainder(dividingBy: batchSize)
      self.endIndex = full + (partial > 0 && !droppingLast ? 1 : 0)
    }

    /// The batch at `position`: examples `position * batchSize` up to the next batch's first.
    public subscript(position: Int) -> Element {
      guard (0..<endIndex).contains(position) else {
        failNN("LabeledDataset.Batches: batch \(position) is outside 0..<\(endIndex)")
      }
      let lower = position * batchSize
      let upper = Swift.min(lower + batchSize, dataset.count)
      return (dataset.inputs[lower..<upper], Array(dataset.labels[lower..<upper]))
    }
  }
}

/// A uniformly random permutation of `0..<count`: Fisher–Yates, swapping each position from the
/// last down with a position drawn uniformly at or below it.
private func randomPermutation<G: RandomNumberGenerator>(count: Int, using generator: inout G)
  -> [Int]
{
  var order = Array(0..<count)
  var position = count - 1
  while position > 0 {
    order.swapAt(position, Int(uniformDraw(below: UInt64(position + 1), using: &generator)))
    position -= 1
  }
  return order
}

/// A uniform draw from `0..<bound`, by Lemire's multiply-and-reject method: the high word of
/// `next() * bound` is uniform once draws whose low word falls in the first `2⁶⁴ mod bound`
/// values are rejected.
private func uniformDraw<G: RandomNumberGenerator>(
  below bound: UInt64, using generator: inout G
) -> UInt64 {
  assert(bound > 0)
  var product = generator.next().multipliedFullWidth(by: bound)
  if product.low < bound {
    let threshold = (0 &- bound) % bound
    while product.low < threshold { product = generator.next().multipliedFullWidth(by: bound) }
  }
  return product.high
}
