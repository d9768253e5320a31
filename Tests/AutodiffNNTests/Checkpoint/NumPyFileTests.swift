import AutodiffNN
import Foundation
import Testing

/// A `.npy` file with the given version, header text (used as is) and data bytes.
func npyFile(version: UInt8 = 1, header: String, data: [UInt8] = []) -> Data {
  var file = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0])
  let length = header.utf8.count
  if version == 1 {
    withUnsafeBytes(of: UInt16(length).littleEndian) { file.append(contentsOf: $0) }
  } else {
    withUnsafeBytes(of: UInt32(length).littleEndian) { file.append(contentsOf: $0) }
  }
  return file + Data(header.utf8) + Data(data)
}

/// The little-endian bytes of `values`.
func littleEndianBytes(_ values: [Double]) -> [UInt8] {
  values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

@Suite struct NumPyFileTests {
  @Test("Float and Double tensors round-trip bit for bit: special values, rank 0, empty, rank 4")
  func roundTrip() throws {
    let directory = ScratchDirectory()
    let floats: [Tensor<Float>] = [
      Tensor(shape: [2, 5], scalars: SafeTensorsTests.specialFloats), Tensor(-0.0),
      Tensor(zeros: [0]), Tensor(zeros: [2, 0, 3]), Tensor([1, 2, 3]),
      Tensor(shape: [1, 2, 1, 3], scalars: [1, 2, 3, 4, 5, 6]),
    ]
    for (index, tensor) in floats.enumerated() {
      let url = directory.file("f\(index).npy")
      try NumPyArray.write(tensor, to: url)
      let array = try NumPyArray(contentsOf: url)
      #expect(array.elementType == .float32 && array.shape == tensor.shape)
      #expect(!array.isFortranOrder && !array.isBigEndian)
      let read = try array.tensor(as: Float.self)
      #expect(read.shape == tensor.shape && bitPatterns(read) == bitPatterns(tensor))
    }
    let doubles = Tensor<Double>(shape: [2, 4], scalars: SafeTensorsTests.specialDoubles)
    let read = try NumPyArray(bytes: NumPyArray.encode(doubles)).tensor(as: Double.self)
    #expect(read.shape == [2, 4] && bitPatterns(read) == bitPatterns(doubles))
  }

  @Test("A .npy file read through a pipe, as from a process writing it, reads whole")
  func readThroughPipe() throws {
    let directory = ScratchDirectory()
    let fifo = directory.file("pipe.npy")
    #expect(mkfifo(fifo.path, 0o600) == 0)
    let tensor = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let bytes = NumPyArray.encode(tensor)
    // The writer on another thread: opening a FIFO waits for the other end.
    let writer = Thread {
      let handle = FileHandle(forWritingAtPath: fifo.path)
      handle?.write(bytes)
      try? handle?.close()
    }
    writer.start()
    let array = try NumPyArray(contentsOf: fifo)
    #expect(try array.tensor(as: Double.self) == tensor)
  }

  @Test("The header is NumPy's: version 1.0, the dictionary literal, data aligned to 64 bytes")
  func headerLayout() throws {
    let bytes = NumPyArray.encode(Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
    #expect(Array(bytes.prefix(8)) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    #expect((10 + headerLength) % 64 == 0)
    #expect(bytes.count == 10 + headerLength + 24)
    let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
    #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
    #expect(header.hasSuffix(" \n"))
    let vector = NumPyArray.encode(Tensor<Double>([1]))
    #expect(String(decoding: vector, as: UTF8.self).contains("'shape': (1,), }"))
    let scalar = NumPyArray.encode(Tensor<Double>(1))
    #expect(String(decoding: scalar, as: UTF8.self).contains("'shape': (), }"))
  }

  @Test("Fortran-order files are read transposed into row-major order")
  func fortranOrder() throws {
    // The 2×3 array [[1, 2, 3], [4, 5, 6]] stored column by column.
    let file = npyFile(
      header: "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }\n",
      data: littleEndianBytes([1, 4, 2, 5, 3, 6]))
    let array = try NumPyArray(bytes: file)
    #expect(array.isFortranOrder && array.shape == [2, 3])
    #expect(
      try array.tensor(as: Double.self) == Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))

    // Rank 3: element (i, j, k) at i + 2j + 4k.
    let column = (0..<8).map(Double.init)
    let rank3 = try NumPyArray(
      bytes: npyFile(
        header: "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2, 2), }\n",
        data: littleEndianBytes(column))
    ).tensor(as: Double.self)
    #expect(rank3.scalars == [0, 4, 2, 6, 1, 5, 3, 7])
  }

  @Test("Big-endian files, versions 2.0 and 3.0, double quotes and Python 2's 3L (in 2.0) read")
  func headerVariants() throws {
    let bigEndian = [1.5, -2.0].flatMap { value in
      withUnsafeBytes(of: Float(value).bitPattern.bigEndian) { Array($0) }
    }
    let big = try NumPyArray(
      bytes: npyFile(
        header: "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", data: bigEndian))
    let read = try big.tensor(as: Float.self)
    #expect(big.isBigEndian && read == Tensor([1.5, -2]))

    // NumPy reads Python 2's 'L' suffix in versions 1.0 and 2.0 only.
    for (version, shape) in [(2, "(1L, 2L)"), (3, "(1, 2)")] as [(UInt8, String)] {
      let file = npyFile(
        version: version,
        header: "{\"descr\": \"<f8\", \"shape\": \(shape), \"fortran_order\": False}  \n",
        data: littleEndianBytes([7, 8]))
      #expect(
        try NumPyArray(bytes: file).tensor(as: Double.self)
          == Tensor(shape: [1, 2], scalars: [7, 8]))
    }
  }

  @Test("Writing more than 64 axes throws rankTooLarge and writes nothing; 64 round-trip")
  func rankLimitOnWriting() throws {
    let directory = ScratchDirectory()
    let url = directory.file("deep.npy")
    let deep = Tensor<Float>(zeros: [Int](repeating: 1, count: 20_000))
    let error = #expect(throws: NumPyError.rankTooLarge(rank: 20_000, limit: 64)) {
      try NumPyArray.write(deep, to: url)
    }
    #expect(error?.description.contains("reshape it to at most 64 axes") == true)
    #expect(directory.contents.isEmpty)
    let widest = Tensor<Float>(zeros: [Int](repeating: 1, count: 63) + [2])
    try NumPyArray.write(widest, to: url)
    #expect(try NumPyArray.tensor(contentsOf: url, as: Float.self) == widest)
    #expect(NumPyArray.maximumRank == 64)
  }

  @Test func encodingMoreThan64Axes() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = NumPyArray.encode(Tensor<Float>(zeros: [Int](repeating: 1, count: 65)))
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("NumPyArray.encode") && message.contains("65 axes"))
  }

  @Test("Reading at the other precision throws, with no silent conversion")
  func dtypeMismatch() throws {
    let array = try NumPyArray(bytes: NumPyArray.encode(Tensor<Double>([1, 2])))
    #expect(throws: NumPyError.dtypeMismatch(expected: "float32", found: "float64")) {
      try array.tensor(as: Float.self)
    }
  }

  @Test(
    "Each kind of malformed file throws its typed error",
    arguments: [
      (Data([0x50, 0x4B, 3, 4, 0, 0, 0, 0, 0, 0]), "notNumPy"),
      (npyFile(version: 4, header: ""), "unsupportedVersion"),
      (Data([0x93, 0x4E, 0x55]), "truncated"),
      (
        npyFile(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n")
          + Data(count: 16), "truncated"
      ),
      (
        npyFile(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n")
          + Data(count: 9), "trailingBytes"
      ),
      (
        npyFile(header: "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }\n")
          + Data(count: 8), "unsupportedDtype"
      ),
      (
        npyFile(header: "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n")
          + Data(count: 8), "unsupportedDtype"
      ),
      (
        npyFile(header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n"),
        "corruptHeader"
      ),
      (
        npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n"),
        "corruptHeader"
      ),
      (
        npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }\n"),
        "corruptHeader"
      ),
      (
        npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n"),
        "corruptHeader"
      ),
      (
        npyFile(header: "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }\n"),
        "corruptHeader"
      ),
      (npyFile(header: "{'descr': '<f4', 'descr': '<f4', 'shape': (1,), }\n"), "corruptHeader"),
      (
        npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n x"),
        "corruptHeader"
      ),
      // Absurd shapes: an overflowing product, one hidden behind a zero, a huge rank, a number
      // past Int.max. Each throws before any allocation.
      (
        npyFile(
          header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n"),
        "corruptHeader"
      ),
      (
        npyFile(
          header: "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904, "
            + "4611686018427387904), }\n"), "corruptHeader"
      ),
      (
        npyFile(
          header: "{'descr': '<f4', 'fortran_order': False, 'shape': ("
            + String(repeating: "1, ", count: 65) + "), }\n"), "rankTooLarge"
      ),
      (
        npyFile(
          header: "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n"),
        "corruptHeader"
      ),
      (
        npyFile(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }\n"),
        "truncated"
      ),
    ])
  func malformed(file: Data, kind: String) {
    do {
      let array = try NumPyArray(bytes: file)
      Issue.record("accepted, shape \(array.shape); expected \(kind)")
    } catch {
      #expect(String(describing: error).count > 20)
      #expect(Self.kind(of: error) == kind, "\(error)")
    }
  }

  static func kind(of error: NumPyError) -> String {
    switch error {
    case .notNumPy: "notNumPy"
    case .unsupportedVersion: "unsupportedVersion"
    case .truncated: "truncated"
    case .trailingBytes: "trailingBytes"
    case .corruptHeader: "corruptHeader"
    case .unsupportedDtype: "unsupportedDtype"
    case .rankTooLarge: "rankTooLarge"
    case .dtypeMismatch: "dtypeMismatch"
    case .fileNotFound: "fileNotFound"
    case .readFailed: "readFailed"
    case .writeFailed: "writeFailed"
    }
  }

  @Test("Missing files, directories and unwritable places throw typed errors; nothing is left")
  func fileErrors() throws {
    let directory = ScratchDirectory()
    #expect(throws: NumPyError.fileNotFound(path: directory.file("none.npy").path)) {
      try NumPyArray(contentsOf: directory.file("none.npy"))
    }
    #expect {
      try NumPyArray(contentsOf: directory.url)
    } throws: { error in
      guard case .readFailed = error as? NumPyError else { return false }
      return true
    }
    let target = directory.file("missing/sub/x.npy")
    #expect {
      try NumPyArray.write(Tensor<Float>([1]), to: target)
    } throws: { error in
      guard case .writeFailed(let path, _) = error as? NumPyError else { return false }
      return path == target.path
    }
    // An existing file is replaced whole.
    let url = directory.file("x.npy")
    try NumPyArray.write(Tensor<Float>([1, 2, 3]), to: url)
    try NumPyArray.write(Tensor<Float>([4]), to: url)
    #expect(try NumPyArray.tensor(contentsOf: url, as: Float.self) == Tensor([4]))
    #expect(directory.contents == ["x.npy"])
  }
}

// MARK: - NumPy itself

private let pythonHasNumPy = runPython(["-c", "import numpy"]).status == 0

/// Interoperability with NumPy: files `numpy.save` wrote load here bit for bit, and files we
/// write load in NumPy bit for bit.
@Suite(.enabled(if: pythonHasNumPy, "needs python3 with numpy: pip install numpy"))
struct NumPyPythonTests {
  @Test(
    "We read what numpy.save wrote: both precisions, Fortran order, big-endian, 0-d, empty, version 2.0"
  )
  func weReadNumPys() throws {
    let directory = ScratchDirectory()
    let script = """
      import sys, os, numpy as np
      from numpy.lib import format as fmt
      d = sys.argv[1]
      a = (np.arange(12, dtype=np.float64) / 7 - 0.5).reshape(3, 4)
      np.save(os.path.join(d, "f64.npy"), a)
      np.save(os.path.join(d, "f32.npy"), np.array([1.5, -0.0, np.inf, np.nan, 1e-45], dtype=np.float32))
      np.save(os.path.join(d, "fortran.npy"), np.asfortranarray(a))
      np.save(os.path.join(d, "transposed.npy"), a.T)
      np.save(os.path.join(d, "big.npy"), a.astype(">f8"))
      np.save(os.path.join(d, "scalar.npy"), np.float32(-2.25))
      np.save(os.path.join(d, "empty.npy"), np.zeros((0, 3), dtype=np.float32))
      np.save(os.path.join(d, "int.npy"), np.arange(3))
      with open(os.path.join(d, "v2.npy"), "wb") as f:
          fmt.write_array(f, a, version=(2, 0))
      """
    try #require(runPython(["-c", script, directory.url.path]).status == 0, "numpy failed")
    let a = Tensor<Double>(shape: [3, 4], scalars: (0..<12).map { Double($0) / 7 - 0.5 })
    for name in ["f64", "fortran", "big", "v2"] {
      let read = try NumPyArray.tensor(contentsOf: directory.file("\(name).npy"), as: Double.self)
      #expect(read.shape == [3, 4] && bitPatterns(read) == bitPatterns(a), "\(name)")
    }
    let fortran = try NumPyArray(contentsOf: directory.file("fortran.npy"))
    #expect(fortran.isFortranOrder)
    let transposed = try NumPyArray.tensor(
      contentsOf: directory.file("transposed.npy"), as: Double.self)
    #expect(transposed.shape == [4, 3] && bitPatterns(transposed) == bitPatterns(a.transposed()))
    let floats = try NumPyArray.tensor(contentsOf: directory.file("f32.npy"), as: Float.self)
    #expect(
      bitPatterns(floats) == [
        Float(1.5).bitPattern, Float(-0.0).bitPattern, Float.infinity.bitPattern, 0x7FC0_0000,
        Float.leastNonzeroMagnitude.bitPattern,
      ])
    let scalar = try NumPyArray.tensor(contentsOf: directory.file("scalar.npy"), as: Float.self)
    #expect(scalar.shape == [] && scalar.scalar == -2.25)
    #expect(
      try NumPyArray.tensor(contentsOf: directory.file("empty.npy"), as: Float.self).shape == [
        0, 3,
      ])
    #expect {
      try NumPyArray(contentsOf: directory.file("int.npy"))
    } throws: { error in
      guard case .unsupportedDtype(let descr) = error as? NumPyError else { return false }
      return descr == "<i8"
    }
  }

  @Test("numpy.load reads our files bit for bit")
  func numPyReadsOurs() throws {
    let directory = ScratchDirectory()
    let floats = Tensor<Float>(shape: [2, 5], scalars: SafeTensorsTests.specialFloats)
    let doubles = Tensor<Double>(shape: [2, 2, 2], scalars: SafeTensorsTests.specialDoubles)
    try NumPyArray.write(floats, to: directory.file("f.npy"))
    try NumPyArray.write(doubles, to: directory.file("d.npy"))
    try NumPyArray.write(Tensor<Double>(-0.0), to: directory.file("s.npy"))
    try NumPyArray.write(Tensor<Float>(zeros: [3, 0]), to: directory.file("e.npy"))
    let script = """
      import sys, os, json, numpy as np
      out = {}
      for name in ["f", "d", "s", "e"]:
          a = np.load(os.path.join(sys.argv[1], name + ".npy"))
          u = {4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
          out[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "c": bool(a.flags.c_contiguous),
                       "bits": [int(b) for b in a.view(u).ravel()]}
      print(json.dumps(out))
      """
    let result = runPython(["-c", script, directory.url.path])
    try #require(result.status == 0, "numpy could not load our files")
    struct Loaded: Decodable {
      var dtype: String
      var shape: [Int]
      var c: Bool
      var bits: [UInt64]
    }
    let arrays = try JSONDecoder().decode([String: Loaded].self, from: result.output)
    #expect(arrays["f"]?.dtype == "<f4" && arrays["f"]?.shape == [2, 5])
    #expect(arrays["f"]?.bits == bitPatterns(floats).map(UInt64.init))
    #expect(arrays["d"]?.dtype == "<f8" && arrays["d"]?.shape == [2, 2, 2])
    #expect(arrays["d"]?.bits == bitPatterns(doubles))
    #expect(arrays["s"]?.shape == [] && arrays["s"]?.bits == [Double(-0.0).bitPattern])
    #expect(arrays["e"]?.shape == [3, 0] && arrays["e"]?.bits == [])
    #expect(arrays.values.allSatisfy { $0.c })
  }
}
