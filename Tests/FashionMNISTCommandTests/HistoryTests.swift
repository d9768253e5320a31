import AutodiffNN
import Foundation
import Testing

@testable import fashion_mnist

@Suite struct HistoryTests {
  @Test("The CSV log has a header and one row per epoch, every figure of the record")
  func csv() {
    let history = TrainingHistory(epochs: [
      EpochRecord(
        trainingLoss: 0.51234567, testAccuracy: 0.8431, seconds: 0.4512, trainingAccuracy: 0.8125,
        testLoss: 0.4412, learningRate: 0.001),
      EpochRecord(
        trainingLoss: 0.4, testAccuracy: 0.85, seconds: 0.46, trainingAccuracy: 0.86,
        testLoss: 0.42, learningRate: 0.00075),
    ])
    #expect(
      history.csv == """
        epoch,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,seconds
        1,0.512346,0.812500,0.441200,0.843100,0.001,0.451
        2,0.400000,0.860000,0.420000,0.850000,0.00075,0.460

        """)
  }

  @Test("A checkpoint's history from before training accuracy and test loss were kept still reads")
  func olderMetadata() throws {
    let history = try TrainingHistory(metadata: [
      "history": #"[{"trainingLoss":0.5,"testAccuracy":0.84,"seconds":1.5}]"#
    ])
    #expect(history.epochs == [EpochRecord(trainingLoss: 0.5, testAccuracy: 0.84, seconds: 1.5)])
    #expect(history.csv.hasSuffix("\n1,0.500000,,,0.840000,,1.500\n"))
  }

  @Test("The metadata round-trips every figure")
  func roundTrip() throws {
    let history = ChartTests.history
    #expect(try TrainingHistory(metadata: history.metadata) == history)
    #expect(history.metadata["epochs"] == "20")
  }

  @Test("A checkpoint without a history is not one of this job's")
  func missingHistory() {
    #expect(throws: JobFailure.self) { try TrainingHistory(metadata: [:]) }
  }

  @Test("The best epoch is the first of the highest test accuracy")
  func bestEpoch() {
    let records = [0.84, 0.86, 0.85, 0.86].map {
      EpochRecord(trainingLoss: 0.5, testAccuracy: $0, seconds: 1)
    }
    #expect(TrainingHistory(epochs: records).bestEpoch == 2)
    #expect(TrainingHistory().bestEpoch == nil)
    #expect(ChartTests.history.bestEpoch == 17)
  }

  @Test("The options a checkpoint records are the resolved ones, keyed by option name")
  func options() throws {
    let json = ChartTests.configuration.optionsJSON
    #expect(
      json
        == #"{"activation":"relu","batch-norm":"false","batch-size":"128","dropout":"0.0","#
        + #""epochs":"20","hidden":"256,128","learning-rate":"0.001","optimizer":"adam","#
        + #""seed":"42","weight-decay":"0.0"}"#)
    #expect(RunConfiguration.decodeOptions(json)?["hidden"] == "256,128")
    var sgd = ChartTests.configuration
    sgd.optimizer = .sgd
    sgd.momentum = 0.9
    #expect(sgd.options.map(\.name).contains("momentum"))
    #expect(sgd.trainingDescription.hasPrefix("SGD (momentum 0.9), batch 128"))
  }

  @Test("The model has the layer sizes asked for, with the default one the job always had")
  func model() {
    var generator = SeededGenerator(seed: 42)
    let model = ChartTests.configuration.makeModel(using: &generator)
    #expect(
      model.parameters.map(\.shape) == [[784, 256], [256], [256, 128], [128], [128, 10], [10]])
    #expect(
      model.parameterNames == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"])
    var linear = ChartTests.configuration
    linear.hidden = []
    #expect(linear.makeModel(using: &generator).parameters.map(\.shape) == [[784, 10], [10]])
    #expect(linear.modelDescription == "784-10 (linear)")
  }
}
