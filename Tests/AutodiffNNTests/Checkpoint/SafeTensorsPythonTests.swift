import AutodiffNN
import Foundation
import Testing

private let pythonHasSafetensors = runPython(["-c", "import safetensors, numpy"]).status == 0

/// Interoperability with Hugging Face's reference implementation, the `safetensors` Python
/// package: files we write, it reads, and the other way round.
@Suite(
  .enabled(
    if: pythonHasSafetensors,
    "needs python3 with safetensors and numpy: pip install safetensors numpy"))
struct SafeTensorsPythonTests {
  /// Prints, as JSON, the metadata and each tensor's dtype, shape and element bit patterns.
  static let describeFile = """
    import json, sys, numpy as np
    from safetensors import safe_open
    tensors = {}
    with safe_open(sys.argv[1], framework="numpy") as f:
        metadata = f.metadata()
        for name in f.keys():
            a = f.get_tensor(name)
            unsigned = {4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
            tensors[name] = {"dtype": str(a.dtype), "shape": list(a.shape),
                             "bits": [int(b) for b in np.ascontiguousarray(a).view(unsigned).ravel()]}
    print(json.dumps({"metadata": metadata, "tensors": tensors}))
    """

  struct Description: Decodable {
    struct Tensor: Decodable {
      var dtype: String
      var shape: [Int]
      var bits: [UInt64]
    }
    var metadata: [String: String]?
    var tensors: [String: Tensor]
  }

  @Test("Python's safetensors reads our files bit for bit, metadata included")
  func pythonReadsOurs() throws {
    let directory = ScratchDirectory()
    let floats = directory.file("f32.safetensors")
    let doubles = directory.file("f64.safetensors")
    let floatTensors: [String: Tensor<Float>] = [
      "special": Tensor(shape: [2, 5], scalars: SafeTensorsTests.specialFloats),
      "scalar": Tensor(-0.0), "empty": Tensor(zeros: [0, 2]),
    ]
    let doubleTensors: [String: Tensor<Double>] = [
      "special": Tensor(SafeTensorsTests.specialDoubles)
    ]
    try SafeTensors.write(
      floatTensors, metadata: ["epoch": "3", "name": "ünïcödé/\"x\""], to: floats)
    try SafeTensors.write(doubleTensors, to: doubles)

    for (url, expected) in [
      (floats, floatTensors.mapValues { ($0.shape, bitPatterns($0).map(UInt64.init), "float32") }),
      (doubles, doubleTensors.mapValues { ($0.shape, bitPatterns($0), "float64") }),
    ] {
      let result = runPython(["-c", Self.describeFile, url.path])
      try #require(result.status == 0, "python3 could not read \(url.lastPathComponent)")
      let description = try JSONDecoder().decode(Description.self, from: result.output)
      #expect(description.tensors.count == expected.count)
      for (name, (shape, bits, dtype)) in expected {
        let read = try #require(description.tensors[name], "\(name)")
        #expect(read.dtype == dtype && read.shape == shape && read.bits == bits, "\(name)")
      }
      if url == floats {
        #expect(description.metadata == ["epoch": "3", "name": "ünïcödé/\"x\""])
      }
    }
  }

  @Test("We read files Python's safetensors wrote: both precisions, metadata, foreign dtypes")
  func weReadPythons() throws {
    let directory = ScratchDirectory()
    let url = directory.file("python.safetensors")
    let script = """
      import sys, numpy as np
      from safetensors.numpy import save_file
      save_file({
          "f32": np.array([1.5, -0.0, np.inf, np.nan], dtype=np.float32).reshape(2, 2),
          "f64": (np.arange(6, dtype=np.float64) / 3).reshape(2, 3),
          "scalar": np.array(7.25, dtype=np.float32),
          "empty": np.zeros((0, 3), dtype=np.float32),
          "i64": np.arange(3, dtype=np.int64),
          "half": np.ones(5, dtype=np.float16),
      }, sys.argv[1], metadata={"format": "np", "epoch": "12"})
      """
    try #require(runPython(["-c", script, url.path]).status == 0, "python3 could not write")

    let file = try SafeTensors(contentsOf: url)
    #expect(file.metadata == ["format": "np", "epoch": "12"])
    let f32 = try file.tensor(named: "f32", as: Float.self)
    #expect(f32.shape == [2, 2])
    // numpy's NaN is the default quiet NaN, 0x7FC00000 in binary32.
    #expect(
      bitPatterns(f32) == [
        Float(1.5).bitPattern, Float(-0.0).bitPattern, Float.infinity.bitPattern, 0x7FC0_0000,
      ])
    let f64 = try file.tensor(named: "f64", as: Double.self)
    #expect(f64.shape == [2, 3] && f64.scalars == (0..<6).map { Double($0) / 3 })
    #expect(try file.tensor(named: "scalar", as: Float.self).shape == [])
    #expect(try file.tensor(named: "scalar", as: Float.self).scalar == 7.25)
    #expect(try file.tensor(named: "empty", as: Float.self).shape == [0, 3])
    #expect(throws: CheckpointError.dtypeMismatch(name: "i64", expected: "F32", found: "I64")) {
      try file.tensor(named: "i64", as: Float.self)
    }
    #expect(file.entry(named: "half")?.dtype == "F16")
    #expect(file.entry(named: "half")?.shape == [5])
  }

  @Test("The reference accepts and rejects the headers we do, but for keys that appear twice")
  func sameVerdicts() throws {
    let directory = ScratchDirectory()
    let cases =
      SafeTensorsHeaderTests.accepted.map { ($0, true) }
      + SafeTensorsHeaderTests.rejected.map { ($0.header, false) }
      // The reference keeps the last of two keys; we refuse the file.
      + SafeTensorsHeaderTests.ambiguous.map { ($0, true) }
    var paths: [String] = []
    for (index, (header, _)) in cases.enumerated() {
      let file = safetensorsFile(headerBytes: Data(header.utf8), dataCount: 8)
      paths.append(directory.write(file, to: "\(index).safetensors").path)
    }
    let script = """
      import json, sys
      from safetensors.numpy import load_file
      verdicts = []
      for path in sys.argv[1:]:
          try:
              load_file(path)
              verdicts.append(True)
          except Exception:
              verdicts.append(False)
      print(json.dumps(verdicts))
      """
    let result = runPython(["-c", script] + paths)
    try #require(result.status == 0, "python3 could not run the reference reader")
    let verdicts = try JSONDecoder().decode([Bool].self, from: result.output)
    try #require(verdicts.count == cases.count)
    for ((header, expected), verdict) in zip(cases, verdicts) {
      #expect(verdict == expected, "the reference \(verdict ? "accepts" : "rejects") \(header)")
    }
  }
}
