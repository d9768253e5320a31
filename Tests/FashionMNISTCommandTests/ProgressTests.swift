import AutodiffNN
import Testing

@testable import fashion_mnist

@Suite struct ProgressTests {
  static let line = ProgressLine(
    epoch: 3, epochs: 20, done: 234, steps: 469, processed: 234 * 128, elapsed: 0.2,
    loss: 0.41234, accuracy: 0.8512)

  @Test(
    "The live line never exceeds the width it is given",
    arguments: [0, 10, 20, 30, 40, 49, 50, 60, 79, 80, 100, 120, 200])
  func fitsWidth(width: Int) {
    for done in [1, 234, 469] {
      var line = Self.line
      line.done = done
      line.processed = min(done * 128, 60_000)
      #expect(line.text(width: width).count <= width, "\(line.text(width: width))")
    }
  }

  @Test("A wide terminal shows every part: bar, batches, loss, accuracy, throughput, times left")
  func wideLine() {
    let text = Self.line.text(width: 160)
    #expect(text.hasPrefix("epoch  3/20  █"))
    for part in ["234/469", "loss 0.4123", "acc 0.8512", "149.8k img/s", "ETA 0:01", "run 0:08"] {
      #expect(text.contains(part), "\(part) missing from \(text)")
    }
  }

  @Test("A narrow terminal drops the run's time left, the throughput, then the accuracy")
  func narrowLine() {
    #expect(Self.line.text(width: 49) == "epoch  3/20  234/469  loss 0.4123  ETA 0:01")
    #expect(
      Self.line.text(width: 60) == "epoch  3/20  234/469  loss 0.4123  acc 0.8512  ETA 0:01")
    #expect(Self.line.text(width: 30) == "epoch  3/20  234/469")
  }

  @Test("The last epoch has no time left in the run to show")
  func lastEpoch() {
    var line = Self.line
    line.epoch = 20
    #expect(!line.text(width: 200).contains("run "))
  }

  @Test("Rows of the results table keep their columns past epoch 9, under the header's titles")
  func alignedRows() {
    let record = EpochRecord(
      trainingLoss: 0.5, testAccuracy: 0.84, seconds: 0.45, trainingAccuracy: 0.81,
      testLoss: 0.44, learningRate: 1e-3)
    let header = ResultsTable.header(epochs: 20)
    let rows = [1, 9, 10, 20].map { ResultsTable.row(epoch: $0, of: 20, record) }
    #expect(rows[0].hasPrefix(" 1/20  ") && rows[2].hasPrefix("10/20  "))
    #expect(Set(rows.map(\.count)) == [header.count])
    #expect(header == "epoch  train loss  train acc  test loss  test acc        lr      time")
    #expect(rows[0] == " 1/20      0.5000     0.8100     0.4400    0.8400  1.00e-03    0.45 s")
  }

  @Test("Counts, durations and padding read as English")
  func wording() {
    #expect(counted(1, "epoch") == "1 epoch" && counted(2, "epoch") == "2 epochs")
    #expect(counted(0, "epoch") == "0 epochs")
    #expect(duration(4) == "0:04" && duration(751) == "12:31" && duration(3723) == "1:02:03")
    #expect(duration(.infinity) == "?")
    #expect(padded(3, toWidthOf: 20) == " 3" && padded(100, toWidthOf: 100) == "100")
  }
}

@Suite struct FiniteCheckTests {
  @Test(
    "allFinite finds a NaN or an infinity anywhere, and accepts every finite value",
    arguments: [Float.nan, -.nan, .infinity, -.infinity])
  func findsNonFinite(value: Float) {
    for position in [0, 7, 16, 999] {
      var tensor = Tensor<Float>(zeros: [1000])
      tensor.withUnsafeMutableBufferPointer { $0[position] = value }
      #expect(!allFinite(tensor))
      #expect(nonFiniteValue(tensor).hasSuffix("at element \(position) of [1000]"))
    }
  }

  @Test("allFinite accepts the extremes of the finite range")
  func acceptsFinite() {
    let values: [Float] = [
      0, -0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 1,
    ]
    #expect(allFinite(Tensor(shape: [values.count], scalars: values)))
    #expect(allFinite(Tensor<Float>(zeros: [0])))
  }

  @Test("Non-finite values are spelled as a reader expects")
  func spelling() {
    #expect(spelled(.nan) == "NaN" && spelled(-.nan) == "NaN")
    #expect(spelled(.infinity) == "infinity" && spelled(-.infinity) == "-infinity")
    #expect(spelled(0.5) == "0.5")
  }
}
