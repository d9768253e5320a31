import AutodiffNN
import Foundation
import Testing

/// A run whose numbers stop being finite ends at once, end to end: it names the epoch and the
/// batch, exits with status 1, and leaves the last good checkpoint as it was.
@Suite(.serialized) struct DivergenceTests {
  @Test("A loss that becomes NaN in the first epoch stops the run there; nothing is saved")
  func divergesInFirstEpoch() async throws {
    let folder = JobFolder()
    // SGD with a step of 10³⁰: the first update makes the weights ~10²⁸, the next logits
    // overflow, and the loss is NaN.
    let run = try await folder.run(
      folder.small + ["--optimizer", "sgd", "--learning-rate", "1e30", "--epochs", "3"])
    #expect(run.status == 1)
    let message = run.standardError
    #expect(
      message.hasPrefix("fashion-mnist: the training loss became NaN at epoch 1, batch ")
        || message.hasPrefix("fashion-mnist: the training loss became infinity at epoch 1, batch "),
      "\(message)")
    #expect(
      message.hasSuffix(
        " of 6; stopped: nothing of this run was saved; try a smaller --learning-rate (now 1e+30)\n"
      ), "\(message)")
    #expect(!folder.exists("fashion-mnist.safetensors"))
    #expect(!run.standardOutput.contains("1/3"), "no epoch row: \(run.standardOutput)")
  }

  @Test("A loss that becomes NaN after a resume stops it; the checkpoint keeps the last good epoch")
  func divergesAfterResume() async throws {
    let folder = JobFolder()
    var run = try await folder.run(folder.small + ["--epochs", "1"])
    try #require(run.status == 0, "\(run)")
    let good = folder.contents("fashion-mnist.safetensors")
    run = try await folder.run(
      folder.small + [
        "--epochs", "3", "--learning-rate", "1e30", "--resume", "--allow-changes",
      ])
    #expect(run.status == 1)
    #expect(
      run.standardError.contains(
        "at epoch 2, batch "), "\(run.standardError)")
    #expect(
      run.standardError.hasSuffix(
        "; stopped: fashion-mnist.safetensors still holds epoch 1, the last good one; try a "
          + "smaller --learning-rate (now 1e+30) with --resume --allow-changes\n"),
      "\(run.standardError)")
    #expect(folder.contents("fashion-mnist.safetensors") == good)
    let tensors = try SafeTensors(contentsOf: folder.file("fashion-mnist.safetensors"))
      .tensors(as: Float.self)
    #expect(tensors.values.allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
  }
}
