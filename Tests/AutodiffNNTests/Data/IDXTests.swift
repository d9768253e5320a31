import AutodiffNN
import Foundation
import Testing

/// The bytes of an IDX file: magic 0 0 type rank, big-endian extents, then `payload` as is.
func idxFile(type: UInt8, shape: [UInt32], payload: [UInt8]) -> Data {
  var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
  for extent in shape { withUnsafeBytes(of: extent.bigEndian) { bytes += $0 } }
  return Data(bytes + payload)
}

@Suite struct IDXTests {
  /// A 2×2×3 array of unsigned bytes 0, 1, ..., 10, 255.
  static let images = idxFile(type: 0x08, shape: [2, 2, 3], payload: Array(0...10) + [255])

  @Test("An unsigned byte file parses to its shape and values, gzipped or not")
  func unsignedBytes() throws {
    for data in [Self.images, Gzip.compress(Self.images)] {
      let array = try IDXArray(parsing: data)
      #expect(array.elementType == .unsignedByte)
      #expect(array.shape == [2, 2, 3])
      #expect(array.scalarCount == 12)
      #expect(try array.integers() == Array(0...10) + [255])
      #expect(array.tensor(of: Float.self).scalars == (0...10).map(Float.init) + [255])
      let scaled = array.tensor(of: Double.self, dividedBy: 255)
      #expect(scaled.shape == [2, 2, 3])
      #expect(scaled.scalars.last == 1)  // 255 / 255 is exact
      #expect(scaled.scalars[1] == 1.0 / 255)
    }
  }

  @Test("Files are recognized as gzipped by their magic number, not their name")
  func detectionByContents() throws {
    let directory = ScratchDirectory()
    let compressed = directory.write(Gzip.compress(Self.images), to: "images.idx")
    let plain = directory.write(Self.images, to: "images.idx.gz")
    #expect(try IDXArray(contentsOf: compressed) == IDXArray(contentsOf: plain))
    #expect(try IDXArray(contentsOf: plain).source == plain.path)
  }

  @Test("Every IDX element type decodes big-endian")
  func elementTypes() throws {
    let signed = try IDXArray(parsing: idxFile(type: 0x09, shape: [2], payload: [0xFF, 0x7F]))
    #expect(try signed.integers() == [-1, 127])
    #expect(signed.tensor(of: Float.self).scalars == [-1, 127])

    let short = try IDXArray(
      parsing: idxFile(type: 0x0B, shape: [2], payload: [0xFF, 0xFE, 0x01, 0x00]))
    #expect(try short.integers() == [-2, 256])

    let int = try IDXArray(
      parsing: idxFile(type: 0x0C, shape: [1], payload: [0x00, 0x01, 0x00, 0x01]))
    #expect(try int.integers() == [65537])
    #expect(int.tensor(of: Double.self).scalars == [65537])

    // 1.5 = 0x3FC00000 in binary32; -0.25 = 0xBFD0000000000000 in binary64.
    let float = try IDXArray(parsing: idxFile(type: 0x0D, shape: [1], payload: [0x3F, 0xC0, 0, 0]))
    #expect(float.tensor(of: Float.self).scalars == [1.5])
    let double = try IDXArray(
      parsing: idxFile(type: 0x0E, shape: [1], payload: [0xBF, 0xD0, 0, 0, 0, 0, 0, 0]))
    #expect(double.tensor(of: Double.self).scalars == [-0.25])
    #expect(double.elementType.byteCount == 8)
  }

  @Test("Floating-point elements cannot be read as labels")
  func floatsAreNotLabels() throws {
    let float = try IDXArray(parsing: idxFile(type: 0x0D, shape: [1], payload: [0x3F, 0xC0, 0, 0]))
    let error = #expect(throws: DatasetError.self) { try float.integers() }
    guard case .unexpectedContents(_, let expected, let found)? = error else {
      Issue.record("expected .unexpectedContents, got \(String(describing: error))")
      return
    }
    #expect(expected == "integers" && found == "32-bit floats")
  }

  @Test("A truncated file throws truncated with the expected and actual byte counts")
  func truncatedFile() {
    // Header 4 + 3·4 = 16 bytes, data 12 bytes: 28 in all; 5 data bytes are cut off.
    let data = Self.images.prefix(23)
    let error = #expect(throws: DatasetError.self) {
      try IDXArray(parsing: data, source: "cut.idx")
    }
    #expect(error == .truncated(path: "cut.idx", expectedBytes: 28, actualBytes: 23))
    let description = error?.description ?? ""
    #expect(description.contains("cut.idx") && description.contains("truncated"))
    #expect(description.contains("23") && description.contains("28"))
  }

  @Test("A gzipped file cut short throws a compression error naming the file")
  func truncatedGzip() {
    let packed = Gzip.compress(
      idxFile(type: 0x08, shape: [5000], payload: (0..<5000).map { UInt8($0 % 251) }))
    let error = #expect(throws: DatasetError.self) {
      try IDXArray(parsing: packed.prefix(packed.count - 10), source: "cut.gz")
    }
    guard case .compression("cut.gz", .truncated)? = error else {
      Issue.record("expected .compression(.truncated), got \(String(describing: error))")
      return
    }
    #expect(error!.description.contains("cut.gz") && error!.description.contains("truncated"))
  }

  @Test("A file that is not IDX throws badMagic showing its first bytes")
  func wrongMagic() {
    let zip = Data([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0])
    let error = #expect(throws: DatasetError.self) { try IDXArray(parsing: zip, source: "a.zip") }
    #expect(error == .badMagic(path: "a.zip", found: [0x50, 0x4B, 0x03, 0x04]))
    #expect(error?.description.contains("a.zip is not an IDX file") == true)
    #expect(error?.description.contains("0x50 0x4B 0x03 0x04") == true)
  }

  @Test("An unknown type code throws unsupportedType")
  func unknownType() {
    let error = #expect(throws: DatasetError.self) {
      try IDXArray(parsing: idxFile(type: 0x0A, shape: [1], payload: [0]), source: "t.idx")
    }
    #expect(error == .unsupportedType(path: "t.idx", code: 0x0A))
    #expect(error?.description.contains("0x0A") == true)
  }

  @Test("Absurd extents are rejected from the header, before any allocation")
  func absurdExtents() {
    // 2³²−1 cubed overflows Int: the header is impossible.
    let overflowing = idxFile(type: 0x0E, shape: [.max, .max, .max], payload: [])
    let error = #expect(throws: DatasetError.self) { try IDXArray(parsing: overflowing) }
    guard case .invalidHeader(_, let reason)? = error else {
      Issue.record("expected .invalidHeader, got \(String(describing: error))")
      return
    }
    #expect(reason.contains("exceed"))

    // 2³¹ · 2³¹ = 2⁶² bytes fit in Int but not in the file: truncated, 2⁶² + 12 bytes expected.
    let huge = idxFile(type: 0x08, shape: [1 << 31, 1 << 31], payload: [1, 2, 3])
    #expect(
      throws: DatasetError.truncated(
        path: "<memory>", expectedBytes: (1 << 62) + 12, actualBytes: 15)
    ) {
      try IDXArray(parsing: huge)
    }
  }

  @Test("A rank of 0 and extra bytes after the data are rejected")
  func malformedSizes() {
    #expect(throws: DatasetError.self) { try IDXArray(parsing: Data([0, 0, 8, 0, 1])) }
    #expect(
      throws: DatasetError.trailingBytes(path: "<memory>", expectedBytes: 28, actualBytes: 29)
    ) {
      try IDXArray(parsing: Self.images + [7])
    }
  }

  @Test("A missing file throws fileNotFound naming the path")
  func missingFile() {
    let directory = ScratchDirectory()
    let path = directory.file("nothing-here.idx")
    let error = #expect(throws: DatasetError.self) { try IDXArray(contentsOf: path) }
    #expect(error == .fileNotFound(path: path.path, suggestion: nil))
    #expect(error?.description.contains(path.path) == true)
  }

  @Test("A directory in place of the file throws unreadable saying so")
  func directoryInPlace() {
    let directory = ScratchDirectory()
    let error = #expect(throws: DatasetError.self) { try IDXArray(contentsOf: directory.url) }
    #expect(error == .unreadable(path: directory.url.path, reason: "it is a directory, not a file"))
  }
}
