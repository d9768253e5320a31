import Foundation

/// Fashion-MNIST: 70,000 grayscale 28×28 images of clothing in 10 classes, 60,000 for training
/// and 10,000 for testing (Xiao, Rasul and Vollgraf, 2017).
///
/// ```swift
/// let (train, test) = try FashionMNIST.load(as: Float.self)
/// train.inputs.shape                     // [60000, 784], pixels in [0, 1]
/// FashionMNIST.classNames[test.labels[0]] // "Ankle boot"
/// ```
///
/// The files are the four IDX files of the original distribution, gzipped or not; Debian's
/// `dataset-fashion-mnist` package installs them in ``defaultDirectory``.
public enum FashionMNIST {
  /// Where `apt-get install dataset-fashion-mnist` puts the files.
  public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

  /// The name of each class, indexed by label.
  public static let classNames = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
  ]

  /// The number of classes: 10.
  public static var classCount: Int { classNames.count }

  /// The height and width of an image: 28 × 28.
  public static let imageSize = (height: 28, width: 28)

  /// The number of inputs of an example: 784 pixels.
  public static var featureCount: Int { imageSize.height * imageSize.width }

  /// The files' names without `.gz`, as the original distribution spells them.
  public static let fileNames = (
    trainingImages: "train-images-idx3-ubyte", trainingLabels: "train-labels-idx1-ubyte",
    testImages: "t10k-images-idx3-ubyte", testLabels: "t10k-labels-idx1-ubyte"
  )

  /// Loads the training and test sets, with pixels scaled from bytes to `[0, 1]` (divided by
  /// 255) and flattened row by row into 784 features.
  ///
  /// Each file is looked up as `<name>.gz`, then as `<name>`; either may be compressed or not
  /// (the reader looks at its first bytes, not its name).
  ///
  /// - Parameters:
  ///   - directory: The folder holding the four files.
  ///   - type: The scalar type of the inputs.
  /// - Returns: The training set (60,000 examples in the original files) and the test set
  ///   (10,000), in file order.
  /// - Throws: ``DatasetError/fileNotFound(path:suggestion:)`` naming the path it looked for and
  ///   how to install the data set; the errors of ``IDXArray/init(contentsOf:)``;
  ///   ``DatasetError/unexpectedContents(path:expected:found:)`` when the images are not 28 × 28
  ///   bytes; ``DatasetError/countMismatch(imagesPath:imageCount:labelsPath:labelCount:)`` and
  ///   ``DatasetError/invalidLabel(path:index:value:classCount:)``.
  /// - Complexity: O(*n*) in the size of the files: decompression and one conversion pass.
  public static func load<Scalar: TensorScalar>(
    from directory: URL = defaultDirectory, as type: Scalar.Type = Scalar.self
  ) throws(DatasetError) -> (training: LabeledDataset<Scalar>, test: LabeledDataset<Scalar>) {
    let training = try loadSet(
      images: fileNames.trainingImages, labels: fileNames.trainingLabels, in: directory,
      as: Scalar.self)
    let test = try loadSet(
      images: fileNames.testImages, labels: fileNames.testLabels, in: directory, as: Scalar.self)
    return (training, test)
  }

  private static func loadSet<Scalar: TensorScalar>(
    images imagesName: String, labels labelsName: String, in directory: URL,
    as type: Scalar.Type
  ) throws(DatasetError) -> LabeledDataset<Scalar> {
    let images = try IDXArray(contentsOf: locate(imagesName, in: directory))
    guard images.elementType == .unsignedByte, images.shape.count == 3,
      images.shape[1] == imageSize.height, images.shape[2] == imageSize.width
    else {
      throw .unexpectedContents(
        path: images.source, expected: "28×28 images of unsigned bytes",
        found: "\(images.elementType) of shape \(images.shape)")
    }
    let labels = try IDXArray(contentsOf: locate(labelsName, in: directory))
    let dataset = try LabeledDataset<Scalar>(images: images, labels: labels, dividingInputsBy: 255)
    if let index = dataset.labels.firstIndex(where: { !(0..<classCount).contains($0) }) {
      throw .invalidLabel(
        path: labels.source, index: index, value: dataset.labels[index], classCount: classCount)
    }
    return dataset
  }

  /// `<name>.gz` if it exists, else `<name>` if it exists.
  private static func locate(_ name: String, in directory: URL) throws(DatasetError) -> URL {
    let compressed = directory.appendingPathComponent(name + ".gz")
    let plain = directory.appendingPathComponent(name)
    for candidate in [compressed, plain]
    where FileManager.default.fileExists(atPath: candidate.path) {
      return candidate
    }
    throw .fileNotFound(
      path: compressed.path,
      suggestion: "Fashion-MNIST is not in \(directory.path) (looked for \(name).gz and \(name)); "
        + "install it with `apt-get install dataset-fashion-mnist`, or pass --data DIR naming a "
        + "directory that holds the four files \(fileNames.trainingImages)[.gz], "
        + "\(fileNames.trainingLabels)[.gz], \(fileNames.testImages)[.gz] and "
        + "\(fileNames.testLabels)[.gz]")
  }
}
