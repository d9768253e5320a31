import AutodiffNN
import Foundation
import Testing

private let pythonHasSafetensors = runPython(["-c", "import safetensors, numpy"]).status == 0

/// The code of the article "Reading and writing models from Python", compiled and run: the Swift
/// snippets here, the Python snippets by python3 (skipped when it lacks numpy or safetensors).
@Suite(
  .enabled(
    if: pythonHasSafetensors,
    "needs python3 with safetensors and numpy: pip install safetensors numpy"))
struct PythonInteroperabilityTests {
  /// NumPy computes the model's forward pass from the checkpoint Swift wrote.
  static let forwardInNumPy = """
    # snippet: python-forward
    import numpy as np
    from safetensors.numpy import load_file

    p = load_file("model.safetensors")          # {"model.0.weight": array(2, 16), ...}
    x = np.load("inputs.npy")                    # float32, shape (5, 2)
    h = np.maximum(x @ p["model.0.weight"] + p["model.0.bias"], 0)   # Dense, then ReLU
    logits = h @ p["model.2.weight"] + p["model.2.bias"]
    np.save("logits-numpy.npy", logits)
    # end snippet
    """

  /// Python writes weights in the layout and names the Swift model expects.
  static let writeFromPython = """
    # snippet: python-write
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    # PyTorch's nn.Linear(2, 16).weight is [16, 2] (out, in); Dense's is [2, 16]: transpose.
    linear0 = rng.standard_normal((16, 2)).astype(np.float32)
    linear2 = rng.standard_normal((3, 16)).astype(np.float32)
    save_file({
        "model.0.weight": np.ascontiguousarray(linear0.T), "model.0.bias": np.zeros(16, np.float32),
        "model.2.weight": np.ascontiguousarray(linear2.T), "model.2.bias": np.ones(3, np.float32),
    }, "from-python.safetensors", metadata={"source": "numpy"})
    np.save("linear0.npy", linear0)
    # end snippet
    """

  @Test("Swift writes a checkpoint and inputs; NumPy computes the same logits from them")
  func pythonReadsSwift() throws {
    let directory = ScratchDirectory()
    var rng = SeededGenerator(seed: 3)
    let model = Sequential<Float>(
      Dense(inputSize: 2, outputSize: 16, using: &rng), ReLU(),
      Dense(inputSize: 16, outputSize: 3, using: &rng))
    let x = Tensor<Float>(randomNormal: [5, 2], using: &rng)
    let folder = directory.url
    // snippet: swift-write
    try Checkpoint.save(model: model, to: folder.appendingPathComponent("model.safetensors"))
    try NumPyArray.write(x, to: folder.appendingPathComponent("inputs.npy"))
    // end snippet
    try #require(runPythonScript(Self.forwardInNumPy, in: folder) == 0)
    let numpyLogits = try NumPyArray.tensor(
      contentsOf: folder.appendingPathComponent("logits-numpy.npy"), as: Float.self)
    #expect(
      numpyLogits.isAlmostEqual(to: model(x), relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
  }

  @Test("Python writes weights in Dense's layout; Swift loads them into the same architecture")
  func swiftReadsPython() throws {
    let directory = ScratchDirectory()
    let folder = directory.url
    try #require(runPythonScript(Self.writeFromPython, in: folder) == 0)
    var rng = SeededGenerator(seed: 4)
    // snippet: swift-read
    var model = Sequential<Float>(
      Dense(inputSize: 2, outputSize: 16, using: &rng), ReLU(),
      Dense(inputSize: 16, outputSize: 3, using: &rng))
    let metadata = try Checkpoint.load(
      into: &model, from: folder.appendingPathComponent("from-python.safetensors"))
    // A single array: PyTorch's layout, transposed into Dense's.
    let linear0 = try NumPyArray.tensor(
      contentsOf: folder.appendingPathComponent("linear0.npy"), as: Float.self)
    model[parameter: "0.weight"] = linear0.transposed()
    // end snippet
    #expect(metadata == ["source": "numpy"])
    #expect(model[parameter: "2.bias"] == Tensor(ones: [3]))
    let file = try SafeTensors(contentsOf: folder.appendingPathComponent("from-python.safetensors"))
    #expect(
      model[parameter: "0.weight"] == (try file.tensor(named: "model.0.weight", as: Float.self)))
  }
}

/// Runs `script` with python3 in `folder`; returns its exit status.
private func runPythonScript(_ script: String, in folder: URL) -> Int32 {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", "-c", script]
  process.currentDirectoryURL = folder
  do {
    try process.run()
  } catch {
    return -1
  }
  process.waitUntilExit()
  return process.terminationStatus
}
