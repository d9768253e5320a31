import Autodiff
import Testing

/// `Tape.statistics` counts what was recorded and the bytes the tape keeps alive;
/// `TapeGrowthMonitor` warns when the tapes of successive steps keep growing.
@Suite struct TapeStatisticsTests {
  typealias T = Tensor<Double>

  @Test("Operation counts by name add up to the tape's node count")
  func counts() {
    let tape = Tape()
    let x = tape.watch(T([1, 2, 3]))
    let w = tape.watch(T([0.5, 0.5, 0.5]))
    var h = x
    for _ in 0..<4 { h = sigmoid(h * w) }
    _ = (h - x).squared().mean()

    let statistics = tape.statistics
    #expect(statistics.nodeCount == tape.count)
    #expect(statistics.countsByOperation["watch"] == 2)
    #expect(statistics.countsByOperation["multiply"] == 4)
    #expect(statistics.countsByOperation["sigmoid"] == 4)
    #expect(statistics.countsByOperation["subtract"] == 1)
    #expect(statistics.countsByOperation["square"] == 1)
    #expect(statistics.countsByOperation.values.reduce(0, +) == tape.count)
  }

  @Test("Saved bytes count each buffer once: shared outputs and reshapes add nothing")
  func savedBytes() {
    let tape = Tape()
    let x = tape.watch(T(zeros: [2, 3]))  // 6·8 = 48 bytes
    let y = x * 2  // output 48, constant 2: 8
    let z = y.reshaped(to: [6])  // shares y's buffer: 0
    _ = z + T([1, 1, 1, 1, 1, 1])  // output 48, constant 48

    let statistics = tape.statistics(largest: 4)
    #expect(statistics.nodeCount == 4)
    #expect(statistics.bufferCount == 5)
    #expect(statistics.savedBytes == 48 + 48 + 8 + 48 + 48)
    #expect(statistics.largestNodes.map(\.index) == [3, 1, 0, 2])
    #expect(statistics.largestNodes.map(\.bytes) == [96, 56, 48, 0])
    #expect(statistics.largestNodes[0].name == "add")
    #expect(statistics.largestNodes[0].shape == [6])
  }

  @Test("Float elements count 4 bytes")
  func floatBytes() {
    let tape = Tape()
    _ = tape.watch(Tensor<Float>(zeros: [10])).sum()
    // watch 40, sum's output 4, reshape to a scalar shares it.
    #expect(tape.statistics.savedBytes == 40 + 4)
  }

  @Test("The largest nodes name their call site when it is known")
  func largestNodeCallSite() {
    let tape = Tape()
    let a = tape.watch(T(zeros: [2, 8]))  // 128 bytes
    let line = #line + 1
    _ = matmul(a, transposed: true, a)  // [8, 8]: 512 bytes
    let largest = tape.statistics(largest: 1).largestNodes
    #expect(largest.count == 1)
    #expect(largest.first?.name == "matmul")
    #expect(largest.first?.callSite == "AutodiffTests/TapeStatisticsTests.swift:\(line)")
  }

  @Test("The description lists totals, counts (most frequent first) and the largest nodes")
  func description() {
    let tape = Tape()
    let x = tape.watch(T([1, 2]))
    _ = (x * x) * x
    let text = tape.statistics(largest: 1).description
    #expect(
      text == """
        3 nodes, 3 buffers, 48 B saved
          multiply: 2
          watch: 1
        largest nodes:
          #0 watch [2]: 16 B
        """)
  }

  // MARK: Growth across steps

  @Test("A tape reused across steps is reported after `patience` growing steps, as the same tape")
  func reusedTape() {
    var received: [TapeGrowthWarning] = []
    var monitor = TapeGrowthMonitor(patience: 3) { received.append($0) }
    let tape = Tape()
    let w = tape.watch(T([1, 2]))
    var warnings: [TapeGrowthWarning?] = []
    for _ in 0..<4 {
      _ = (w * 3).sum()  // 3 nodes per step, all kept
      warnings.append(monitor.observe(tape))
    }
    #expect(warnings.map { $0 == nil } == [true, true, true, false])
    let warning = warnings[3]
    #expect(warning?.nodeCounts == [4, 7, 10, 13])
    #expect(warning?.isSameTape == true)
    #expect(warning?.description.contains("record each step on a new Tape") == true)
    #expect(received == monitor.warnings)
    #expect(received.count == 1)
  }

  @Test("After a warning the monitor is quiet until the tape has doubled")
  func quietUntilDoubled() {
    var monitor = TapeGrowthMonitor(patience: 1) { _ in }
    let tape = Tape()
    let w = tape.watch(T(1))
    var warned: [Int] = []
    for _ in 0..<12 {
      _ = w * 2  // one node per step
      if monitor.observe(tape) != nil { warned.append(tape.count) }
    }
    #expect(warned == [3, 6, 12])
  }

  @Test("New tapes of the same size each step raise nothing")
  func steadySteps() {
    var monitor = TapeGrowthMonitor(patience: 2) { _ in Issue.record("unexpected warning") }
    let w = T([1, 2])
    for _ in 0..<10 {
      let tape = Tape()
      _ = (tape.watch(w) * 3).sum()
      #expect(monitor.observe(tape) == nil)
    }
    #expect(monitor.warnings.isEmpty)
  }

  @Test("New tapes that grow each step are reported as a carried computation, not the same tape")
  func growingNewTapes() {
    var monitor = TapeGrowthMonitor(patience: 2) { _ in }
    var tapes: [Tape] = []
    var warning: TapeGrowthWarning?
    for step in 1...3 {
      let tape = Tape()
      tapes.append(tape)
      var h = tape.watch(T(1))
      for _ in 0..<step { h = h * 2 }  // one more operation each step
      warning = monitor.observe(tape)
    }
    #expect(warning?.nodeCounts == [2, 3, 4])
    #expect(warning?.isSameTape == false)
    #expect(warning?.description.contains("withoutDerivative(at:)") == true)
  }
}
