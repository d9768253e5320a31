import AutodiffNN
import Foundation
import Testing

/// The bit patterns of a tensor's elements, so NaN payloads and -0 compare exactly.
func bitPatterns(_ tensor: Tensor<Float>) -> [UInt32] { tensor.scalars.map(\.bitPattern) }
func bitPatterns(_ tensor: Tensor<Double>) -> [UInt64] { tensor.scalars.map(\.bitPattern) }

/// A safetensors file with the given header text (not padded) and data bytes.
func safetensorsFile(header: String, data: [UInt8] = []) -> Data {
  var file = Data()
  withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
  return file + Data(header.utf8) + Data(data)
}

@Suite struct SafeTensorsTests {
  static let specialFloats: [Float] = [
    .nan, Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFFA0_0001), .infinity, -.infinity,
    -0.0, 0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -1.5,
  ]
  static let specialDoubles: [Double] = [
    .nan, Double(bitPattern: 0x7FF8_0000_DEAD_BEEF), .infinity, -.infinity, -0.0,
    .leastNonzeroMagnitude, .greatestFiniteMagnitude, .pi,
  ]

  @Test("Float tensors round-trip bit for bit: special values, rank 0, empty tensors, metadata")
  func floatRoundTrip() throws {
    let tensors: [String: Tensor<Float>] = [
      "special": Tensor(shape: [2, 5], scalars: Self.specialFloats),
      "scalar": Tensor(-0.0),
      "empty": Tensor(zeros: [0]),
      "empty matrix": Tensor(zeros: [2, 0, 3]),
      "layers.0/weight": Tensor(shape: [3, 1], scalars: [1, 2, 3]),
    ]
    let metadata = ["epoch": "3", "quote \"and\" slash/": "ünïcödé ✓", "empty": ""]
    let directory = ScratchDirectory()
    let url = directory.file("model.safetensors")
    try SafeTensors.write(tensors, metadata: metadata, to: url)

    let file = try SafeTensors(contentsOf: url)
    #expect(file.metadata == metadata)
    #expect(Set(file.entries.map(\.name)) == Set(tensors.keys))
    for (name, tensor) in tensors {
      let read = try file.tensor(named: name, as: Float.self)
      #expect(read.shape == tensor.shape, "\(name)")
      #expect(bitPatterns(read) == bitPatterns(tensor), "\(name)")
      #expect(file.entry(named: name)?.dtype == "F32")
    }
    #expect(try file.tensors(as: Float.self).count == tensors.count)
  }

  @Test("Double tensors round-trip bit for bit")
  func doubleRoundTrip() throws {
    let tensors: [String: Tensor<Double>] = [
      "special": Tensor(Self.specialDoubles), "scalar": Tensor(.nan),
      "empty": Tensor(zeros: [3, 0]),
    ]
    let file = try SafeTensors(bytes: SafeTensors.encode(tensors))
    #expect(file.metadata.isEmpty)
    for (name, tensor) in tensors {
      let read = try file.tensor(named: name, as: Double.self)
      #expect(read.shape == tensor.shape && bitPatterns(read) == bitPatterns(tensor), "\(name)")
      #expect(file.entry(named: name)?.dtype == "F64")
    }
  }

  @Test("The encoding is the safetensors layout, byte for byte")
  func exactBytes() {
    // Header {"a":{...},"b":{...}} is 109 bytes, padded to 112; a = [1.0] (0x3F800000 little-
    // endian), then b = [[2.0]].
    let bytes = SafeTensors.encode([
      "b": Tensor<Float>(shape: [1, 1], scalars: [2]), "a": Tensor<Float>([1]),
    ])
    let header =
      #"{"a":{"data_offsets":[0,4],"dtype":"F32","shape":[1]},"#
      + #""b":{"data_offsets":[4,8],"dtype":"F32","shape":[1,1]}}"#
    let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
    var expected = Data()
    withUnsafeBytes(of: UInt64(padded.utf8.count).littleEndian) { expected.append(contentsOf: $0) }
    expected += Data(padded.utf8) + Data([0, 0, 0x80, 0x3F, 0, 0, 0, 0x40])
    #expect(bytes == expected)
    #expect((bytes.count - 8 - 8) % 8 == 0)
  }

  @Test("A file with tensors of dtypes newer or packed (C64, F8_E8M0, F4, F6) reads the others")
  func newerDtypes() throws {
    // As torch 2.15 and safetensors 0.8 write them: F4 packs two elements a byte, F6 four in
    // three bytes. Only the one of another dtype throws, when it is read.
    let header =
      #"{"c": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}, "#
      + #""e": {"dtype": "F8_E8M0", "shape": [2], "data_offsets": [8, 10]}, "#
      + #""f4": {"dtype": "F4", "shape": [2, 3], "data_offsets": [10, 13]}, "#
      + #""f6": {"dtype": "F6_E2M3", "shape": [4], "data_offsets": [13, 16]}, "#
      + #""w": {"dtype": "F32", "shape": [1], "data_offsets": [16, 20]}}"#
    let file = try SafeTensors(
      bytes: safetensorsFile(
        header: header, data: Array(repeating: 0, count: 16) + [0, 0, 128, 63]))
    #expect(try file.tensor(named: "w", as: Float.self) == Tensor([1]))
    #expect(throws: CheckpointError.dtypeMismatch(name: "c", expected: "F32", found: "C64")) {
      try file.tensor(named: "c", as: Float.self)
    }
    // Three F4 elements are a byte and a half: not a whole number of bytes.
    let odd = #"{"f4": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}"#
    guard
      case .corruptHeader(let reason)? = Self.readError(safetensorsFile(header: odd, data: [0, 0]))
    else { return }
    #expect(reason.contains("12 bits"))
  }

  @Test("Reading a tensor as another precision throws dtypeMismatch naming it")
  func dtypeMismatch() throws {
    let file = try SafeTensors(bytes: SafeTensors.encode(["w": Tensor<Float>([1, 2])]))
    let error = #expect(throws: CheckpointError.self) {
      try file.tensor(named: "w", as: Double.self)
    }
    #expect(error == .dtypeMismatch(name: "w", expected: "F64", found: "F32"))
    #expect(error?.description.contains("'w'") == true)
    #expect(throws: CheckpointError.missingTensor(name: "v")) {
      try file.tensor(named: "v", as: Float.self)
    }
  }

  // MARK: Corrupt files

  /// The error `SafeTensors(bytes:)` throws for `data`, recording an issue if it does not throw.
  static func readError(_ data: Data) -> CheckpointError? {
    #expect(throws: CheckpointError.self) { try SafeTensors(bytes: data) }
  }

  @Test("A file cut inside the data throws truncated naming the tensor")
  func truncatedData() {
    let bytes = SafeTensors.encode(["weight": Tensor<Float>(zeros: [4, 4])])
    let error = Self.readError(bytes.prefix(bytes.count - 10))
    #expect(error == .truncated(section: "the data of tensor 'weight'", expected: 64, actual: 54))
    #expect(error?.description.contains("'weight'") == true)
    #expect(error?.description.contains("truncated") == true)
  }

  @Test("A file shorter than the header length field throws truncated")
  func truncatedLength() {
    #expect(
      Self.readError(Data([1, 2, 3]))
        == .truncated(section: "the header length", expected: 8, actual: 3))
  }

  @Test("A header length past the end of the file throws truncated")
  func headerPastEnd() {
    var bytes = safetensorsFile(header: "{}")
    bytes[0] = 200  // the header claims 200 bytes; 2 follow
    #expect(Self.readError(bytes) == .truncated(section: "the header", expected: 200, actual: 2))
  }

  @Test("An absurd header length throws corruptHeader without allocating it")
  func absurdHeaderLength() {
    var bytes = Data(count: 16)
    bytes.withUnsafeMutableBytes {
      $0.storeBytes(of: UInt64(1 << 62).littleEndian, as: UInt64.self)
    }
    guard case .corruptHeader(let reason)? = Self.readError(bytes) else {
      Issue.record("expected .corruptHeader")
      return
    }
    #expect(reason.contains("exceeds"))
  }

  @Test(
    "Headers that are not valid JSON objects throw corruptHeader",
    arguments: [
      "{\"w\": {", "[1, 2]", "not json", "{\"w\": 3}",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}",
      "{\"__metadata__\": {\"epoch\": 3}}",
    ])
  func invalidJSON(header: String) {
    let error = Self.readError(safetensorsFile(header: header, data: [0, 0, 0, 0]))
    guard case .corruptHeader? = error else {
      Issue.record("expected .corruptHeader, got \(String(describing: error))")
      return
    }
    #expect(error!.description.contains("header is corrupt"))
  }

  @Test("Offsets past the end of the data throw truncated naming the tensor")
  func offsetsPastEnd() {
    let header = #"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#
    #expect(
      Self.readError(safetensorsFile(header: header, data: [0, 0, 0, 0]))
        == .truncated(section: "the data of tensor 'w'", expected: 8, actual: 4))
  }

  @Test("Overlapping tensors throw overlappingTensors naming both")
  func overlapping() {
    let header =
      #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "#
      + #""b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#
    let error = Self.readError(
      safetensorsFile(header: header, data: Array(repeating: 0, count: 12)))
    #expect(error == .overlappingTensors(first: "a", second: "b"))
    #expect(error?.description.contains("'a' and 'b' overlap") == true)
  }

  @Test("An unknown dtype throws unsupportedDtype naming the tensor")
  func unknownDtype() {
    let header = #"{"w": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}"#
    let error = Self.readError(safetensorsFile(header: header, data: [0, 0, 0, 0]))
    #expect(error == .unsupportedDtype(name: "w", dtype: "F33"))
    #expect(
      error?.description.contains("'w'") == true && error?.description.contains("F33") == true)
  }

  @Test("A shape too large to exist throws corruptHeader, not a crash or an allocation")
  func absurdShape() {
    let header =
      #"{"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}}"#
    guard
      case .corruptHeader(let reason)? = Self.readError(
        safetensorsFile(header: header, data: Array(repeating: 0, count: 8)))
    else {
      Issue.record("expected .corruptHeader")
      return
    }
    #expect(reason.contains("'w'") && reason.contains("too large"))
  }

  @Test(
    "Sizes that disagree, gaps, extra bytes and negative extents throw corruptHeader",
    arguments: [
      (#"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, 8, "needs 12 bytes"),
      (#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, 8, "belong to no tensor"),
      (
        #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, 8,
        "tensors end at byte 4"
      ),
      (#"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, 4, "negative"),
      (#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#, 4, "data_offsets"),
    ])
  func inconsistentHeader(header: String, dataCount: Int, expected: String) {
    let error = Self.readError(
      safetensorsFile(header: header, data: Array(repeating: 0, count: dataCount)))
    guard case .corruptHeader(let reason)? = error else {
      Issue.record("expected .corruptHeader, got \(String(describing: error))")
      return
    }
    #expect(reason.contains(expected), "\(reason)")
  }

  @Test("A file written by another tool with unpadded header and empty tensors reads")
  func foreignLayout() throws {
    let header =
      #"{"e": {"dtype": "F64", "shape": [0], "data_offsets": [0, 0]}, "#
      + #""x": {"dtype": "F64", "shape": [], "data_offsets": [0, 8]}, "__metadata__": {"k": "v"}}"#
    let file = try SafeTensors(
      bytes: safetensorsFile(header: header, data: [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]))
    #expect(try file.tensor(named: "x", as: Double.self).scalar == 1)
    #expect(try file.tensor(named: "e", as: Double.self).shape == [0])
    #expect(file.metadata == ["k": "v"])
  }

  // MARK: Atomic writes

  @Test("Writing replaces the previous file and leaves no temporary file behind")
  func replacesAtomically() throws {
    let directory = ScratchDirectory()
    let url = directory.file("c.safetensors")
    try SafeTensors.write(["w": Tensor<Float>([1])], to: url)
    try SafeTensors.write(["w": Tensor<Float>([2, 3])], to: url)
    #expect(directory.contents == ["c.safetensors"])
    #expect(try SafeTensors(contentsOf: url).tensor(named: "w", as: Float.self).scalars == [2, 3])
  }

  @Test("Writing into a missing directory throws writeFailed and creates nothing")
  func missingDirectory() {
    let directory = ScratchDirectory()
    let url = directory.file("absent").appendingPathComponent("c.safetensors")
    let error = #expect(throws: CheckpointError.self) {
      try SafeTensors.write(["w": Tensor<Float>([1])], to: url)
    }
    guard case .writeFailed(let path, let reason)? = error else {
      Issue.record("expected .writeFailed, got \(String(describing: error))")
      return
    }
    #expect(path == url.path)
    #expect(reason.contains("No such file or directory"))
    #expect(directory.contents.isEmpty)
  }

  @Test("A failed replacement leaves what was at the target intact and no temporary file")
  func failedReplacement() throws {
    // The target is a non-empty directory, which rename(2) cannot replace with a file: the
    // failure comes at the last step, after the temporary file was written in full.
    let directory = ScratchDirectory()
    let target = directory.file("c.safetensors")
    try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
    try Data("previous".utf8).write(to: target.appendingPathComponent("inside"))
    let error = #expect(throws: CheckpointError.self) {
      try SafeTensors.write(["w": Tensor<Float>([1])], to: target)
    }
    guard case .writeFailed? = error else {
      Issue.record("expected .writeFailed, got \(String(describing: error))")
      return
    }
    #expect(error!.description.contains("unchanged"))
    #expect(directory.contents == ["c.safetensors"])
    #expect(try Data(contentsOf: target.appendingPathComponent("inside")) == Data("previous".utf8))
  }

  @Test("Reading a missing file throws fileNotFound naming it")
  func missingFile() {
    let url = ScratchDirectory().file("none.safetensors")
    #expect(throws: CheckpointError.fileNotFound(path: url.path)) {
      try SafeTensors(contentsOf: url)
    }
  }

  @Test("Reading a directory throws readFailed saying so")
  func directoryInPlace() {
    let directory = ScratchDirectory()
    #expect(
      throws: CheckpointError.readFailed(
        path: directory.url.path, reason: "it is a directory, not a file")
    ) { try SafeTensors(contentsOf: directory.url) }
  }

  @Test func metadataNameIsReserved() async {
    await #expect(processExitsWith: .failure) {
      _ = SafeTensors.encode(["__metadata__": Tensor<Float>(1)])
    }
  }
}
