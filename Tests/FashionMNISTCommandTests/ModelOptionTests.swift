import AutodiffNN
import Foundation
import Testing

/// Dropout, batch normalization and the model summary, through the main job's options.
@Suite struct ModelOptionTests {
  @Test("--summary prints every layer with its output shape and parameters, and trains nothing")
  func summary() async throws {
    let folder = JobFolder(trainCount: 10, testCount: 10)
    let run = try await folder.run(
      ["--data", folder.data, "--summary", "--batch-norm", "--dropout", "0.2"])
    #expect(run.status == 0, "\(run)")
    for fragment in ["Dense", "BatchNorm", "Dropout", "[128, 256]", "[128, 10]", "235,914"] {
      #expect(run.standardOutput.contains(fragment), "\(fragment): \(run.standardOutput)")
    }
    #expect(!folder.exists("fashion-mnist.safetensors"))
  }

  @Test(
    "A run with dropout and batch norm trains, saves BatchNorm's running statistics, and resumes")
  func dropoutAndBatchNorm() async throws {
    let folder = JobFolder(trainCount: 64, testCount: 32)
    let options = folder.small + ["--batch-norm", "--dropout", "0.25"]
    let first = try await folder.run(options + ["--epochs", "1"])
    #expect(first.status == 0, "\(first)")
    let file = try SafeTensors(contentsOf: folder.file("fashion-mnist.safetensors"))
    let names = Set(file.entries.map(\.name))
    #expect(
      names.contains("model.1.runningMean") && names.contains("model.1.runningVariance"), "\(names)"
    )
    #expect(
      first.standardOutput.contains("batch norm") && first.standardOutput.contains("dropout 0.25"))
    let resumed = try await folder.run(options + ["--epochs", "2", "--resume", "--allow-changes"])
    #expect(resumed.status == 0, "\(resumed)")
    let changed = try await folder.run(
      folder.small + ["--epochs", "3", "--resume", "--allow-changes"])
    #expect(changed.status != 0 && changed.standardError.contains("batch-norm"), "\(changed)")
  }
}
