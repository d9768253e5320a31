import AutodiffNN
import Foundation
import Testing

/// The checkpoint, end to end: a run never destroys another run's checkpoint unasked, a resumed
/// run continues only the training its checkpoint holds, and what it says names the file, the
/// epochs and the options.
@Suite(.serialized) struct CheckpointSafetyTests {
  /// A folder whose `fashion-mnist.safetensors` holds `epochs` epochs of a run of `small`.
  private func trained(epochs: Int) async throws -> JobFolder {
    let folder = JobFolder()
    let run = try await folder.run(folder.small + ["--epochs", "\(epochs)"])
    try #require(run.status == 0, "\(run)")
    return folder
  }

  @Test("Without --resume or --overwrite, an existing checkpoint is kept and the run refused")
  func refusesToOverwrite() async throws {
    let folder = try await trained(epochs: 2)
    let before = folder.contents("fashion-mnist.safetensors")
    let run = try await folder.run(folder.small + ["--epochs", "1"])
    #expect(run.status == 64)
    #expect(
      run.standardError
        == "fashion-mnist: fashion-mnist.safetensors already holds a checkpoint of 2 epochs from "
        + "an earlier run: pass --resume to continue it, --overwrite to replace it, or "
        + "--checkpoint to write elsewhere\n")
    #expect(folder.contents("fashion-mnist.safetensors") == before)
  }

  @Test("--overwrite replaces the checkpoint with the new run's")
  func overwrites() async throws {
    let folder = try await trained(epochs: 2)
    let run = try await folder.run(folder.small + ["--epochs", "1", "--overwrite"])
    #expect(run.status == 0, "\(run)")
    #expect(try epochsHeld(by: folder.file("fashion-mnist.safetensors")) == 1)
  }

  @Test("--resume with fewer or as many epochs as the checkpoint holds has nothing to do: status 0")
  func nothingLeftToDo() async throws {
    let folder = try await trained(epochs: 3)
    let before = folder.contents("fashion-mnist.safetensors")
    for epochs in [2, 3] {
      let run = try await folder.run(folder.small + ["--resume", "--epochs", "\(epochs)"])
      #expect(run.status == 0, "\(run)")
      #expect(
        run.standardOutput.hasPrefix(
          "fashion-mnist.safetensors already holds 3 epochs and --epochs is \(epochs): nothing "
            + "to do"), "\(run.standardOutput)")
      #expect(run.standardError.isEmpty)
    }
    #expect(folder.contents("fashion-mnist.safetensors") == before)
  }

  @Test("--resume continues the checkpoint's history: its epochs' rows come first, unchanged")
  func resumes() async throws {
    let folder = try await trained(epochs: 1)
    let first = try String(contentsOf: folder.file("fashion-mnist-history.csv"), encoding: .utf8)
    let run = try await folder.run(
      folder.small + ["--epochs", "3", "--resume", "--allow-changes"])
    #expect(run.status == 0, "\(run)")
    #expect(
      run.standardOutput.contains(
        "Resuming after epoch 1 of 3 from fashion-mnist.safetensors; changed: --epochs 1 → 3"),
      "\(run.standardOutput)")
    let lines = run.standardOutput.split(separator: "\n")
    #expect(!lines.contains { $0.hasPrefix("1/3") } && lines.contains { $0.hasPrefix("2/3") })
    let resumed = try String(contentsOf: folder.file("fashion-mnist-history.csv"), encoding: .utf8)
    let rows = resumed.split(separator: "\n")
    #expect(rows.count == 4, "\(resumed)")
    #expect(Array(rows.prefix(2)) == first.split(separator: "\n"))
    #expect(try epochsHeld(by: folder.file("fashion-mnist.safetensors")) == 3)
  }

  @Test("Changed options on --resume are refused, each named with its old and new value")
  func refusesChangedOptions() async throws {
    let folder = try await trained(epochs: 1)
    let before = folder.contents("fashion-mnist.safetensors")
    let run = try await folder.run(
      [
        "--data", folder.data, "--hidden", "32", "--batch-size", "8", "--learning-rate", "0.01",
        "--epochs", "2", "--resume",
      ])
    #expect(run.status == 64)
    #expect(
      run.standardError
        == "fashion-mnist: fashion-mnist.safetensors was trained with other options: "
        + "--learning-rate 0.001 → 0.01, --batch-size 16 → 8, --epochs 1 → 2 (--epochs sets the "
        + "length of the learning rate's cosine decay); resume with the checkpoint's options, or "
        + "pass --allow-changes to continue with the new ones\n", "\(run.standardError)")
    #expect(folder.contents("fashion-mnist.safetensors") == before)
  }

  @Test("--allow-changes resumes with the new options, saying which changed")
  func allowsChanges() async throws {
    let folder = try await trained(epochs: 1)
    let run = try await folder.run(
      [
        "--data", folder.data, "--hidden", "32", "--batch-size", "8", "--epochs", "2", "--resume",
        "--allow-changes",
      ])
    #expect(run.status == 0, "\(run)")
    #expect(run.standardOutput.contains("changed: --batch-size 16 → 8, --epochs 1 → 2"))
    let options =
      try SafeTensors(contentsOf: folder.file("fashion-mnist.safetensors"))
      .metadata["options"] ?? ""
    #expect(options.contains("\"batch-size\":\"8\""), "\(options)")
  }

  @Test("The layer sizes cannot change on resume, even with --allow-changes")
  func refusesOtherModel() async throws {
    let folder = try await trained(epochs: 1)
    let run = try await folder.run(
      [
        "--data", folder.data, "--hidden", "64", "--batch-size", "16", "--epochs", "2",
        "--resume", "--allow-changes",
      ])
    #expect(run.status == 64)
    #expect(
      run.standardError.contains(
        "was trained with --hidden 32, this run asks for 64: its weights fit only the model it "
          + "was trained as"), "\(run.standardError)")
  }

  @Test("--resume without a checkpoint says so")
  func resumeWithoutCheckpoint() async throws {
    let folder = JobFolder(trainCount: 10, testCount: 10)
    let run = try await folder.run(folder.small + ["--resume"])
    #expect(run.status == 1)
    #expect(
      run.standardError
        == "fashion-mnist: no checkpoint at fashion-mnist.safetensors to resume from: leave out "
        + "--resume to start anew, or name the checkpoint with --checkpoint\n")
  }

  @Test(
    "A non-finite value in a checkpoint's weights or optimizer state stops the resume, naming it",
    arguments: ["optimizer.v.1", "model.0.weight"])
  func nonFiniteCheckpoint(tensor name: String) async throws {
    let folder = try await trained(epochs: 1)
    let url = folder.file("fashion-mnist.safetensors")
    let file = try SafeTensors(contentsOf: url)
    var tensors = try file.tensors(as: Float.self)
    var damaged = try #require(tensors[name])
    damaged.withUnsafeMutableBufferPointer { $0[3] = .nan }
    tensors[name] = damaged
    try SafeTensors.write(tensors, metadata: file.metadata, to: url)
    let before = folder.contents("fashion-mnist.safetensors")

    let run = try await folder.run(folder.small + ["--epochs", "2", "--resume"])
    #expect(run.status == 1)
    #expect(
      run.standardError.hasPrefix(
        "fashion-mnist: cannot resume from fashion-mnist.safetensors: its tensor '\(name)' holds "
          + "NaN at element 3 of "), "\(run.standardError)")
    #expect(!run.standardOutput.contains("epoch"), "no training: \(run.standardOutput)")
    #expect(folder.contents("fashion-mnist.safetensors") == before)
  }
}
