import AutodiffNN
import Testing

@Suite struct ModelSummaryTests {
  static func model() -> Sequential<Float> {
    var rng = SeededGenerator(seed: 1)
    return Sequential(
      Dense(inputSize: 2, outputSize: 16, using: &rng), BatchNorm(featureCount: 16), ReLU(),
      Dropout(rate: 0.1, seed: 2),
      Sequential(Dense(inputSize: 16, outputSize: 8, using: &rng), Tanh()),
      Dense(inputSize: 8, outputSize: 3, using: &rng))
  }

  @Test("The summary lists each layer's output shape, parameters and FLOPs, nested rows indented")
  func rows() {
    let summary = Self.model().summary(inputShape: [32, 2])
    #expect(summary.rows.map(\.name) == ["0", "1", "2", "3", "4", "4.0", "4.1", "5"])
    #expect(
      summary.rows.map(\.type) == [
        "Dense", "BatchNorm", "ReLU", "Dropout", "Sequential", "Dense", "Tanh", "Dense",
      ])
    #expect(summary.rows.map(\.depth) == [0, 0, 0, 0, 0, 1, 1, 0])
    #expect(
      summary.rows.map(\.outputShape) == [
        [32, 16], [32, 16], [32, 16], [32, 16], [32, 8], [32, 8], [32, 8], [32, 3],
      ])
    // Dense 2→16: 32 + 16; BatchNorm: 16 + 16; Dense 16→8: 128 + 8; Dense 8→3: 24 + 3.
    #expect(summary.rows.map(\.parameterCount) == [48, 32, 0, 0, 136, 136, 0, 27])
    // Dense: 2·32·in·out + 32·out; BatchNorm in inference 4 per element; ReLU, Tanh one per
    // element; Dropout in inference none.
    let dense1 = 2 * 32 * 2 * 16 + 32 * 16
    let dense2 = 2 * 32 * 16 * 8 + 32 * 8
    let dense3 = 2 * 32 * 8 * 3 + 32 * 3
    #expect(
      summary.rows.map(\.flops) == [dense1, 4 * 512, 512, 0, dense2 + 256, dense2, 256, dense3])
    #expect(summary.parameterCount == 243 && summary.stateCount == 32)
    #expect(summary.totalFLOPs == dense1 + 2048 + 512 + dense2 + 256 + dense3)
  }

  @Test("The printed table lines up, as torchinfo's")
  func description() {
    let text = Self.model().summary(inputShape: [32, 2]).description
    #expect(
      text == """
        Sequential<Float> on input [32, 2]
        ======================================================
        Layer (type)   Output shape        Parameters    FLOPs
        ======================================================
        0  Dense       [32, 16]                    48    2,560
        1  BatchNorm   [32, 16]                    32    2,048
        2  ReLU        [32, 16]                     0      512
        3  Dropout     [32, 16]                     0        0
        4  Sequential  [32, 8]                    136    8,704
          4.0  Dense   [32, 8]                    136    8,448
          4.1  Tanh    [32, 8]                      0      256
        5  Dense       [32, 3]                     27    1,632
        ======================================================
        Total parameters: 243
        Non-trainable state: 32
        Output shape: [32, 3]
        Forward FLOPs: 15,456
        ======================================================
        """, "\(text)")
  }

  @Test("The summary runs on a copy in inference: the model's statistics are untouched")
  func untouched() {
    let model = Self.model()
    let before = model.state
    _ = model.summary(inputShape: [4, 2])
    #expect(model.state == before && model.mode == .training)
  }

  @Test("A layer that does not count its FLOPs shows a dash, and the total is unknown")
  func uncounted() {
    let summary = Sequential<Float>(Function { $0 * 2 }).summary(inputShape: [1, 3])
    #expect(summary.rows[0].flops == nil && summary.totalFLOPs == nil)
    #expect(summary.description.contains("—"))
  }
}
