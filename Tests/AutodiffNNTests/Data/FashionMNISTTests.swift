import AutodiffNN
import Foundation
import Testing

@Suite struct FashionMNISTTests {
  /// A directory in Fashion-MNIST's layout with `trainCount` and `testCount` 28×28 images whose
  /// pixels are all equal to their label; some files gzipped, some not, as a user might have.
  static func fakeDirectory(
    trainCount: Int, testCount: Int, trainLabels: [UInt8]? = nil
  ) -> ScratchDirectory {
    let directory = ScratchDirectory()
    func images(_ labels: [UInt8]) -> Data {
      idxFile(
        type: 0x08, shape: [UInt32(labels.count), 28, 28],
        payload: labels.flatMap { Array(repeating: $0, count: 784) })
    }
    let train = trainLabels ?? (0..<trainCount).map { UInt8($0 % 10) }
    let test = (0..<testCount).map { UInt8(9 - $0 % 10) }
    directory.write(
      Gzip.compress(images((0..<trainCount).map { UInt8($0 % 10) })),
      to: "train-images-idx3-ubyte.gz")
    directory.write(
      idxFile(type: 0x08, shape: [UInt32(train.count)], payload: train),
      to: "train-labels-idx1-ubyte")
    directory.write(images(test), to: "t10k-images-idx3-ubyte")
    directory.write(
      Gzip.compress(idxFile(type: 0x08, shape: [UInt32(testCount)], payload: test)),
      to: "t10k-labels-idx1-ubyte.gz")
    return directory
  }

  @Test("Loading a directory in Fashion-MNIST's layout gives flattened images in [0, 1]")
  func loadsLayout() throws {
    let directory = Self.fakeDirectory(trainCount: 12, testCount: 3)
    let (train, test) = try FashionMNIST.load(from: directory.url, as: Float.self)
    #expect(train.inputs.shape == [12, 784] && test.inputs.shape == [3, 784])
    #expect(train.labels == (0..<12).map { $0 % 10 })
    #expect(test.labels == [9, 8, 7])
    #expect(test.inputs[0..<1].scalars.allSatisfy { $0 == Float(9) / 255 })
    #expect(FashionMNIST.classNames[test.labels[0]] == "Ankle boot")
  }

  @Test("A missing data set names the path and says how to install it")
  func missingDirectory() {
    let directory = ScratchDirectory()
    let error = #expect(throws: DatasetError.self) {
      try FashionMNIST.load(from: directory.url, as: Float.self)
    }
    guard case .fileNotFound(let path, _)? = error else {
      Issue.record("expected .fileNotFound, got \(String(describing: error))")
      return
    }
    #expect(path == directory.file("train-images-idx3-ubyte.gz").path)
    let description = error!.description
    #expect(description.contains(path))
    #expect(description.contains("apt-get install dataset-fashion-mnist"))
    #expect(description.contains("--data DIR"))
  }

  @Test("Images and labels of different counts throw countMismatch naming both files")
  func mismatchedCounts() {
    let directory = Self.fakeDirectory(
      trainCount: 12, testCount: 3, trainLabels: Array(repeating: 1, count: 11))
    let error = #expect(throws: DatasetError.self) {
      try FashionMNIST.load(from: directory.url, as: Float.self)
    }
    #expect(
      error
        == .countMismatch(
          imagesPath: directory.file("train-images-idx3-ubyte.gz").path, imageCount: 12,
          labelsPath: directory.file("train-labels-idx1-ubyte").path, labelCount: 11))
    #expect(error?.description.contains("do not belong together") == true)
  }

  @Test("A label outside 0..<10 throws invalidLabel")
  func labelOutOfRange() {
    let directory = Self.fakeDirectory(trainCount: 3, testCount: 3, trainLabels: [1, 10, 2])
    let error = #expect(throws: DatasetError.self) {
      try FashionMNIST.load(from: directory.url, as: Float.self)
    }
    #expect(
      error
        == .invalidLabel(
          path: directory.file("train-labels-idx1-ubyte").path, index: 1, value: 10, classCount: 10)
    )
  }

  static let installedTestLabels = FashionMNIST.defaultDirectory
    .appendingPathComponent("t10k-labels-idx1-ubyte.gz")

  @Test(
    "The installed Fashion-MNIST test labels are the published ones",
    .enabled(
      if: FileManager.default.fileExists(atPath: installedTestLabels.path),
      "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"))
  func installedTestLabelsFile() throws {
    let labels = try IDXArray(contentsOf: Self.installedTestLabels)
    #expect(labels.shape == [10_000])
    // The first five test labels of Fashion-MNIST (zalandoresearch/fashion-mnist):
    // Ankle boot, Pullover, Trouser, Trouser, Shirt.
    #expect(try Array(labels.integers().prefix(5)) == [9, 2, 1, 1, 6])
    // The test set is balanced: 1,000 images per class.
    let counts = try labels.integers().reduce(into: [Int](repeating: 0, count: 10)) { $0[$1] += 1 }
    #expect(counts == Array(repeating: 1000, count: 10))
  }

  @Test(
    "The installed Fashion-MNIST loads as 60,000 training and 10,000 test images of 784 pixels",
    .enabled(
      if: FileManager.default.fileExists(atPath: installedTestLabels.path),
      "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"))
  func installedDataSet() throws {
    let (train, test) = try FashionMNIST.load(as: Float.self)
    #expect(train.inputs.shape == [60_000, 784] && test.inputs.shape == [10_000, 784])
    #expect(train.labels.count == 60_000 && test.labels.prefix(5) == [9, 2, 1, 1, 6])
    // Pixels are bytes divided by 255: within [0, 1], both ends reached.
    let pixels = test.inputs.scalars
    #expect(pixels.min() == 0 && pixels.max() == 1)
  }
}
