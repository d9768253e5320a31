import Foundation

/// One epoch's results.
///
/// The training loss and accuracy are running figures: each batch's, before its update, averaged
/// over the epoch (as Keras reports them), so they cost no extra pass. The test figures come
/// from one pass over the test set after the epoch. Checkpoints written before training accuracy,
/// test loss and the learning rate were recorded lack them (`nil`).
struct EpochRecord: Codable, Equatable {
  var trainingLoss: Double
  var testAccuracy: Double
  var seconds: Double
  var trainingAccuracy: Double?
  var testLoss: Double?
  /// The learning rate of the epoch's first step.
  var learningRate: Double?
}

/// The results of every epoch so far: stored in the checkpoint's metadata so that a resumed run
/// continues its curves, written as a CSV log, and drawn as an SVG chart (TrainingChart.swift).
struct TrainingHistory: Equatable {
  var epochs: [EpochRecord] = []

  init(epochs: [EpochRecord] = []) {
    self.epochs = epochs
  }

  /// Reads the history from a checkpoint's metadata.
  init(metadata: [String: String]) throws(JobFailure) {
    guard let text = metadata["history"] else {
      throw JobFailure(
        "the checkpoint has no training history: it was not written by fashion-mnist")
    }
    do {
      epochs = try JSONDecoder().decode([EpochRecord].self, from: Data(text.utf8))
    } catch {
      throw JobFailure("the checkpoint's training history is unreadable: \(error)")
    }
  }

  /// The history as checkpoint metadata.
  var metadata: [String: String] {
    ["history": json, "epochs": "\(epochs.count)"]
  }

  /// The epochs' records as JSON, as the metadata's `"history"` holds them. Every value is
  /// finite (training stops before it records a non-finite one), so encoding cannot fail.
  var json: String {
    let data = (try? JSONEncoder().encode(epochs)) ?? Data("[]".utf8)
    return String(decoding: data, as: UTF8.self)
  }

  /// The epoch (counted from 1) of the highest test accuracy, the first if several tie.
  var bestEpoch: Int? {
    guard let best = epochs.map(\.testAccuracy).max() else { return nil }
    return epochs.firstIndex { $0.testAccuracy == best }! + 1
  }

  /// The best epoch and its test accuracy when that is higher than the last epoch's: what a
  /// summary adds to the final accuracy.
  var improvedBest: (epoch: Int, testAccuracy: Double)? {
    guard let best = bestEpoch, let last = epochs.last,
      epochs[best - 1].testAccuracy > last.testAccuracy
    else { return nil }
    return (best, epochs[best - 1].testAccuracy)
  }

  /// The CSV log: a header, then one row per epoch; a value an old checkpoint lacks is empty.
  var csv: String {
    var text =
      "epoch,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,seconds\n"
    for (index, record) in epochs.enumerated() {
      let fields = [
        "\(index + 1)",
        fixed(record.trainingLoss, 6),
        record.trainingAccuracy.map { fixed($0, 6) } ?? "",
        record.testLoss.map { fixed($0, 6) } ?? "",
        fixed(record.testAccuracy, 6),
        record.learningRate.map { String(format: "%.6g", $0) } ?? "",
        fixed(record.seconds, 3),
      ]
      text += fields.joined(separator: ",") + "\n"
    }
    return text
  }

  private func fixed(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
  }
}
