import AutodiffNN
import Foundation
import Testing

@Suite struct DatasetTests {
  /// `count` examples; example i has inputs [i, i + 0.5] and label i, so any row can be checked
  /// against its label after a reordering.
  static func numbered(_ count: Int) -> LabeledDataset<Float> {
    let inputs = (0..<count).flatMap { [Float($0), Float($0) + 0.5] }
    return LabeledDataset(
      inputs: Tensor(shape: [count, 2], scalars: inputs), labels: Array(0..<count))
  }

  /// Whether each row of `dataset` is the row of its label in `numbered`.
  static func rowsFollowLabels(_ dataset: LabeledDataset<Float>) -> Bool {
    dataset.inputs.scalars == dataset.labels.flatMap { [Float($0), Float($0) + 0.5] }
  }

  @Test("Shuffling is a permutation that keeps each example with its label")
  func shuffleIsPermutation() {
    var generator = SeededGenerator(seed: 1)
    let shuffled = Self.numbered(100).shuffled(using: &generator)
    #expect(shuffled.count == 100)
    #expect(shuffled.labels.sorted() == Array(0..<100))
    #expect(shuffled.labels != Array(0..<100))
    #expect(Self.rowsFollowLabels(shuffled))
  }

  @Test("The same seed gives the same order; another seed another order")
  func shuffleIsReproducible() {
    let dataset = Self.numbered(100)
    var (first, second, other) = (
      SeededGenerator(seed: 7), SeededGenerator(seed: 7), SeededGenerator(seed: 8)
    )
    let order = dataset.shuffled(using: &first).labels
    #expect(dataset.shuffled(using: &second).labels == order)
    #expect(dataset.shuffled(using: &other).labels != order)
    // The next epoch continues the generator: a new order.
    #expect(dataset.shuffled(using: &first).labels != order)
  }

  @Test("The order for a seed does not change between versions")
  func shuffleIsStable() {
    // Computed independently by a Python transcription of SeededGenerator (xoshiro256** seeded
    // by SplitMix64), Lemire's bounded draw and Fisher–Yates from the last position down. If it
    // changes, every seeded experiment's batches change with it.
    var generator = SeededGenerator(seed: 42)
    #expect(Self.numbered(10).shuffled(using: &generator).labels == [9, 1, 4, 2, 8, 7, 6, 5, 3, 0])
  }

  @Test(
    "Batches cover every example exactly once, in order",
    arguments: [
      (10, 3, false, [3, 3, 3, 1]), (10, 3, true, [3, 3, 3]), (9, 3, true, [3, 3, 3]),
      (4, 10, false, [4]), (4, 10, true, []), (0, 5, false, []),
    ])
  func batchesCoverExamples(count: Int, size: Int, droppingLast: Bool, sizes: [Int]) {
    let batches = Self.numbered(count).batches(ofSize: size, droppingLast: droppingLast)
    #expect(batches.count == sizes.count)
    #expect(batches.map(\.labels.count) == sizes)
    #expect(batches.flatMap(\.labels) == Array(0..<sizes.reduce(0, +)))
    for (inputs, labels) in batches {
      #expect(inputs.shape == [labels.count, 2])
      #expect(inputs.scalars == labels.flatMap { [Float($0), Float($0) + 0.5] })
    }
  }

  @Test("A split has the rounded fraction in the first part and is a reproducible partition")
  func splitSizes() {
    let dataset = Self.numbered(10)
    let (training, test) = dataset.split(fraction: 0.75, seed: 3)  // 7.5 rounds to 8
    #expect(training.count == 8 && test.count == 2)
    #expect((training.labels + test.labels).sorted() == Array(0..<10))
    #expect(Self.rowsFollowLabels(training) && Self.rowsFollowLabels(test))
    #expect(dataset.split(fraction: 0.75, seed: 3).training.labels == training.labels)
    #expect(dataset.split(fraction: 0, seed: 3).training.count == 0)
    #expect(dataset.split(fraction: 1, seed: 3).test.count == 0)
  }

  @Test("Ranges and prefixes keep examples with their labels")
  func subsets() {
    let dataset = Self.numbered(10)
    #expect(dataset[2..<5].labels == [2, 3, 4])
    #expect(Self.rowsFollowLabels(dataset[2..<5]))
    #expect(dataset.prefix(3).labels == [0, 1, 2])
    #expect(dataset.prefix(30).count == 10)
    #expect(dataset.featureCount == 2)
  }

  @Test("Standardized columns have mean 0 and standard deviation 1; constant ones are centered")
  func standardization() {
    // Column 0: 1, 2, 3, 6 (mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5); column 1: all 5.
    let inputs = Tensor<Float>(shape: [4, 2], scalars: [1, 5, 2, 5, 3, 5, 6, 5])
    let standardization = Standardization(fittedTo: inputs)
    #expect(standardization.mean.scalars == [3, 5])
    #expect(
      standardization.standardDeviation.isAlmostEqual(
        to: Tensor([Float(3.5).squareRoot(), 1]), relativeTolerance: 1e-6))
    let dataset = LabeledDataset(inputs: inputs, labels: [0, 1, 2, 3]).standardized(
      by: standardization)
    let columns = dataset.inputs.transposed().scalars
    let first: [Float] = Array(columns[0..<4])
    let mean: Float = first.reduce(0, +) / 4
    let variance: Float = first.map { $0 * $0 }.reduce(0, +) / 4
    #expect(abs(mean) < 1e-6)
    #expect(abs(variance - 1) < 1e-6)
    #expect(Array(columns[4..<8]) == [0, 0, 0, 0])
    #expect(dataset.labels == [0, 1, 2, 3])
  }

  @Test("A Float column whose deviation rounds to 0 is only centered, never divided by 0")
  func standardizationOfATinyDeviation() {
    // σ ≈ 1.4e-46 in Double, below Float's smallest subnormal: it rounds to 0 as a Float.
    var scalars = [Float](repeating: 0, count: 100)
    scalars[0] = .leastNonzeroMagnitude
    let inputs = Tensor<Float>(shape: [100, 1], scalars: scalars)
    let standardization = Standardization(fittedTo: inputs)
    #expect(standardization.standardDeviation.scalars == [1])
    let standardized = standardization(inputs).scalars
    #expect(standardized.allSatisfy { $0.isFinite })
  }

  @Test("Standardization over all features pools the columns")
  func globalStandardization() {
    // All eight values 1, 5, 2, 5, 3, 5, 6, 5: mean 32 / 8 = 4, variance
    // (9 + 1 + 4 + 1 + 1 + 1 + 4 + 1) / 8 = 2.75.
    let inputs = Tensor<Double>(shape: [4, 2], scalars: [1, 5, 2, 5, 3, 5, 6, 5])
    let standardization = Standardization(fittedTo: inputs, perFeature: false)
    #expect(standardization.mean.shape == [])
    #expect(abs(standardization.mean.scalar - 4) < 1e-12)
    #expect(abs(standardization.standardDeviation.scalar - 2.75.squareRoot()) < 1e-12)
  }

  @Test("IDX images and labels pair into flattened rows; different counts throw naming both files")
  func fromIDX() throws {
    let images = try IDXArray(
      parsing: idxFile(type: 0x08, shape: [3, 2, 2], payload: Array(0..<12)), source: "images")
    let labels = try IDXArray(
      parsing: idxFile(type: 0x08, shape: [3], payload: [7, 8, 9]), source: "labels")
    let dataset = try LabeledDataset<Float>(images: images, labels: labels, dividingInputsBy: 2)
    #expect(dataset.inputs.shape == [3, 4])
    #expect(dataset.inputs.scalars == (0..<12).map { Float($0) / 2 })
    #expect(dataset.labels == [7, 8, 9])

    let fewer = try IDXArray(
      parsing: idxFile(type: 0x08, shape: [2], payload: [7, 8]), source: "labels2")
    let error = #expect(throws: DatasetError.self) {
      try LabeledDataset<Float>(images: images, labels: fewer)
    }
    #expect(
      error
        == .countMismatch(imagesPath: "images", imageCount: 3, labelsPath: "labels2", labelCount: 2)
    )
    let description = error?.description ?? ""
    #expect(
      description.contains("images holds 3 examples")
        && description.contains("labels2 holds 2 labels"))
  }
}

@Suite struct DataPreconditionTests {
  @Test func batchSizeMustBePositive() async {
    await #expect(processExitsWith: .failure) {
      _ = DatasetTests.numbered(3).batches(ofSize: 0)
    }
  }

  @Test func splitFractionMustBeInUnitInterval() async {
    await #expect(processExitsWith: .failure) {
      _ = DatasetTests.numbered(3).split(fraction: 1.5, seed: 0)
    }
  }

  @Test func standardizationNeedsTheFittedColumns() async {
    await #expect(processExitsWith: .failure) {
      let standardization = Standardization(fittedTo: Tensor<Float>(zeros: [2, 3]))
      _ = standardization(Tensor<Float>(zeros: [2, 4]))
    }
  }

  @Test func inputsNeedOneRowPerLabel() async {
    await #expect(processExitsWith: .failure) {
      _ = LabeledDataset(inputs: Tensor<Float>(zeros: [3, 2]), labels: [0, 1])
    }
  }
}
