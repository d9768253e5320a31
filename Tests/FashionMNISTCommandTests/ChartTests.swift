import Foundation
import Testing

@testable import fashion_mnist

#if canImport(FoundationXML)
  import FoundationXML
#endif

@Suite struct ChartTests {
  /// A 20-epoch history with the shape of a real run's (784-256-128-10, Adam, batch 128): the
  /// training loss keeps falling while the test loss turns up after epoch 12, the test accuracy
  /// peaks at epoch 17, and the learning rate follows the cosine from 10⁻³.
  static let history = TrainingHistory(
    epochs: (0..<20).map { index in
      let t = Double(index)
      return EpochRecord(
        trainingLoss: 0.25 + 0.27 * exp(-t / 4) - 0.004 * t,
        testAccuracy: [
          0.8431, 0.8552, 0.8641, 0.8710, 0.8745, 0.8778, 0.8801, 0.8829, 0.8843, 0.8861,
          0.8874, 0.8880, 0.8893, 0.8897, 0.8902, 0.8899, 0.8913, 0.8905, 0.8908, 0.8906,
        ][index],
        seconds: 0.45,
        trainingAccuracy: 0.91 - 0.105 * exp(-t / 4) + 0.0035 * t,
        testLoss: 0.31 + 0.14 * exp(-t / 3) + 0.0004 * (t - 12) * (t - 12),
        learningRate: 0.001 * (1 + cos(Double.pi * t / 20)) / 2)
    })

  static let configuration = RunConfiguration(
    hidden: [256, 128], activation: .relu, optimizer: .adam, learningRate: 1e-3, momentum: nil,
    weightDecay: 0, batchSize: 128, epochs: 20, seed: 42)

  static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Golden/fashion-mnist-chart.svg")

  /// Whether to write the golden file instead of checking it: run the tests with
  /// `FASHION_MNIST_RECORD_CHART=1` after changing what the chart draws, then look at it
  /// (`rsvg-convert Golden/fashion-mnist-chart.svg -o chart.png`) and review the difference.
  static let isRecording = ProcessInfo.processInfo.environment["FASHION_MNIST_RECORD_CHART"] == "1"

  @Test("The chart of a fixed history is the golden SVG, character for character")
  func matchesGolden() throws {
    let svg = TrainingChart(history: Self.history, configuration: Self.configuration).svg()
    if Self.isRecording {
      try svg.write(to: Self.golden, atomically: true, encoding: .utf8)
      return
    }
    let golden = try String(contentsOf: Self.golden, encoding: .utf8)
    #expect(svg == golden, "differs from Golden/fashion-mnist-chart.svg; if intended, record it")
  }

  @Test(
    "The chart has the panels, curves, legend, best epoch and title a reader looks for",
    arguments: [1, 2, 20, 150])
  func structure(epochs: Int) throws {
    let history = TrainingHistory(
      epochs: (0..<epochs).map { Self.history.epochs[$0 % 20] })
    let svg = TrainingChart(history: history, configuration: Self.configuration).svg()
    try expectWellFormed(svg)
    for id in [
      "loss-panel", "accuracy-panel", "learning-rate-panel", "legend", "training-loss",
      "test-loss", "training-accuracy", "test-accuracy", "learning-rate",
    ] {
      #expect(svg.contains("id=\"\(id)\""), "\(id) missing")
    }
    #expect(svg.contains("784-256-128-10 ReLU network"))
    #expect(svg.contains("Adam, batch 128, learning rate 0.001 with cosine decay, seed 42"))
    #expect(svg.contains("best test accuracy"))
    #expect(!svg.contains("nan") && !svg.contains("inf"))
    // Markers with tooltips while they can be told apart; none for 150 epochs.
    #expect(svg.contains("<title>epoch 1: test accuracy") == (epochs <= 60))
  }

  @Test("A history from an older checkpoint, without test loss or training accuracy, still draws")
  func oldHistory() throws {
    let history = TrainingHistory(
      epochs: [
        EpochRecord(trainingLoss: 0.5, testAccuracy: 0.84, seconds: 1),
        EpochRecord(trainingLoss: 0.4, testAccuracy: 0.86, seconds: 1),
      ])
    let svg = TrainingChart(history: history, configuration: Self.configuration).svg()
    try expectWellFormed(svg)
    #expect(!svg.contains("id=\"test-loss\">\n      <path"))
  }

  /// The `rsvg-convert` of librsvg2-bin, if installed.
  static let rsvgConvert = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  @Test(
    "librsvg renders the chart to a PNG of the chart's size",
    .enabled(if: rsvgConvert != nil, "rsvg-convert is not installed (apt-get install librsvg2-bin)")
  )
  func renders() async throws {
    let folder = JobFolder(trainCount: 1, testCount: 1)
    let svg = TrainingChart(history: Self.history, configuration: Self.configuration).svg()
    try svg.write(to: folder.file("chart.svg"), atomically: true, encoding: .utf8)
    let run = try await CommandRun.run(
      ["chart.svg", "-o", "chart.png"], in: folder.url,
      executable: URL(fileURLWithPath: Self.rsvgConvert!))
    #expect(run.status == 0, "\(run)")
    #expect(run.standardError.isEmpty, "\(run.standardError)")
    let png = try #require(folder.contents("chart.png"))
    // The PNG signature, then the IHDR chunk: width and height, big-endian, at bytes 16 and 20.
    #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    let size = [16, 20].map { offset in
      png[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
    }
    #expect(size == [Int(TrainingChart.width), Int(TrainingChart.height)])
  }

  private func expectWellFormed(
    _ svg: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let parser = XMLParser(data: Data(svg.utf8))
    #expect(
      parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))",
      sourceLocation: sourceLocation)
  }
}

@Suite struct AxisScaleTests {
  @Test("Ticks are whole multiples of 1, 2 or 5 × 10ⁿ, and the axis ends on ticks")
  func niceTicks() {
    let loss = AxisScale(covering: 0.2713...0.5121)
    #expect(loss.step == 0.05 && loss.lower == 0.25 && loss.upper == 0.55)
    #expect(loss.ticks.map(loss.label) == ["0.25", "0.30", "0.35", "0.40", "0.45", "0.50", "0.55"])

    let accuracy = AxisScale(covering: 0.8052...0.9312, limits: 0...1)
    #expect(accuracy.step == 0.02)
    #expect(
      accuracy.ticks.map(accuracy.label) == [
        "0.80", "0.82", "0.84", "0.86", "0.88", "0.90", "0.92", "0.94",
      ])

    for highest in [0.001, Double(Float(0.001))] {
      let rate = AxisScale(covering: 0...highest, tickCount: 5)
      #expect(
        rate.ticks.map(rate.scientificLabel) == ["0", "2e-4", "4e-4", "6e-4", "8e-4", "1e-3"])
    }
  }

  @Test("Limits cut the axis where values cannot go: accuracy stops at 1, loss at 0")
  func limits() {
    let accuracy = AxisScale(covering: 0.95...0.999, limits: 0...1)
    #expect(accuracy.upper == 1)
    let loss = AxisScale(covering: 0.001...0.9, limits: 0 ... .infinity)
    #expect(loss.lower == 0)
  }

  @Test("A range of one value is widened around it")
  func singleValue() {
    let scale = AxisScale(covering: 0.5...0.5)
    #expect(scale.lower < 0.5 && scale.upper > 0.5 && !scale.ticks.isEmpty)
    let zero = AxisScale(covering: 0...0)
    #expect(zero.lower < 0 && zero.upper > 0)
  }

  @Test(
    "Epoch axes tick whole epochs",
    arguments: [
      (1, [1.0]), (3, [1, 2, 3]), (12, [2, 4, 6, 8, 10, 12]), (20, [5, 10, 15, 20]),
      (100, [20, 40, 60, 80, 100]),
    ])
  func epochTicks(count: Int, ticks: [Double]) {
    #expect(AxisScale(epochs: count).ticks == ticks)
  }

  @Test("Nice numbers round to 1, 2, 5 or 10 times a power of ten")
  func niceNumbers() {
    #expect(AxisScale.niceNumber(0.0275) == 0.02)
    #expect(AxisScale.niceNumber(0.04) == 0.05)
    #expect(AxisScale.niceNumber(7.5) == 10)
    #expect(AxisScale.niceNumber(1.2) == 1)
  }
}
