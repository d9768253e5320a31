import Autodiff
import Dispatch
import Testing

/// Tensors cross tasks, and tapes on separate tasks run at the same time without sharing
/// mutable state: a computation gives the same bits on any number of concurrent tasks as alone.
@Suite struct ConcurrencyTests {
  /// Everything a training run produced: the loss at every step, the final parameters, and
  /// a forward-mode and a second-order figure of the trained model.
  struct RunResult: Equatable, Sendable {
    var losses: [Double]
    var parameters: [Tensor<Double>]
    var directionalDerivative: Tensor<Double>
    var hessianVectorProduct: Tensor<Double>
  }

  /// Trains a 6-16-3 tanh network with softmax cross-entropy by plain gradient descent, on
  /// data drawn from `seed`, for `steps` steps. Each step uses its own tape (the functional
  /// form); the end also runs forward mode (jvp) and forward-over-reverse (H·v), so every kind
  /// of sweep runs on every task.
  static func train(seed: UInt64, steps: Int) -> RunResult {
    var rng = SeededGenerator(seed: seed)
    let inputs = Tensor<Double>(randomNormal: [32, 6], using: &rng)
    let labels = (0..<32).map { _ in Int.random(in: 0..<3, using: &rng) }
    var oneHot = Tensor<Double>(zeros: [32, 3])
    oneHot.withUnsafeMutableBufferPointer { buffer in
      for (row, label) in labels.enumerated() { buffer[3 * row + label] = 1 }
    }
    var parameters = [
      Tensor<Double>(randomNormal: [6, 16], standardDeviation: 0.4, using: &rng),
      Tensor<Double>(zeros: [16]),
      Tensor<Double>(randomNormal: [16, 3], standardDeviation: 0.4, using: &rng),
      Tensor<Double>(zeros: [3]),
    ]
    func loss(_ p: [Tensor<Double>]) -> Tensor<Double> {
      let hidden = tanh(matmul(inputs, p[0]) + p[1])
      let logits = matmul(hidden, p[2]) + p[3]
      return -(logSoftmax(logits) * oneHot).sum() / 32
    }
    var losses: [Double] = []
    for _ in 0..<steps {
      let (value, gradients) = valueWithGradient(at: parameters, of: loss)
      losses.append(value.scalar)
      for index in parameters.indices { parameters[index] -= 0.5 * gradients[index] }
    }
    let trained = parameters
    let direction = Tensor<Double>(ones: [16, 3])
    let (_, derivative) = jvp(at: trained[2], tangent: direction) { w in
      loss([trained[0], trained[1], w, trained[3]])
    }
    let hv = hessianVectorProduct(at: trained[2], direction: direction) { w in
      loss([trained[0], trained[1], w, trained[3]])
    }
    return RunResult(
      losses: losses, parameters: parameters, directionalDerivative: derivative,
      hessianVectorProduct: hv)
  }

  @Test("Training runs on 6 concurrent tasks give bit for bit the results of the serial runs")
  func concurrentTrainingMatchesSerial() async {
    let seeds: [UInt64] = [1, 2, 3, 4, 5, 6]
    let steps = 150
    let serial = seeds.map { Self.train(seed: $0, steps: steps) }
    // Each seed twice, so two tasks also run the very same computation at the same time.
    let concurrent = await withTaskGroup(of: (Int, RunResult).self) { group in
      for (position, seed) in (seeds + seeds).enumerated() {
        group.addTask { (position, Self.train(seed: seed, steps: steps)) }
      }
      var results = [RunResult?](repeating: nil, count: 2 * seeds.count)
      for await (position, result) in group { results[position] = result }
      return results
    }
    for (position, result) in concurrent.enumerated() {
      let expected = serial[position % seeds.count]
      #expect(result == expected, "seed \(seeds[position % seeds.count])")
    }
    // The runs did learn, so the comparison is of something.
    for result in serial { #expect(result.losses.last! < 0.8 * result.losses.first!) }
  }

  @Test("Explicit tapes on concurrent tasks, each with its own tape, match the serial results")
  func concurrentExplicitTapes() async {
    func run(_ seed: UInt64) -> [Tensor<Double>] {
      var rng = SeededGenerator(seed: seed)
      let tape = Tape()
      let a = tape.watch(Tensor<Double>(randomNormal: [20, 20], using: &rng))
      let b = tape.watch(Tensor<Double>(randomUniform: [20], in: 0.5..<2, using: &rng))
      var y = a
      for _ in 0..<40 {
        y = sigmoid(matmul(y, transposed: false, a, transposed: true) / 20 + log(b))
      }
      let (ga, gb) = tape.gradient(of: y.sum(), wrt: a, b, createGraph: true)
      let second = tape.gradient(of: (ga * ga).sum() + gb.sum(), wrt: [b])[0]
      return [ga, gb, second]
    }
    let serial = (0..<8).map { run(UInt64($0)) }
    let concurrent = await withTaskGroup(of: (Int, [Tensor<Double>]).self) { group in
      for seed in 0..<8 { group.addTask { (seed, run(UInt64(seed))) } }
      var results = [[Tensor<Double>]](repeating: [], count: 8)
      for await (seed, result) in group { results[seed] = result }
      return results
    }
    #expect(concurrent == serial)
  }

  @Test(
    "A recorded tensor moves to another task, which finishes the tape's work: turns are allowed")
  func tapeUsedByTasksInTurn() async {
    let tape = Tape()
    let x = tape.watch(Tensor<Double>([1, 2, 3]))
    let y = await Task.detached { (x * x).sum() }.value
    let gradient = await Task.detached { tape.gradient(of: y, wrt: [x])[0] }.value
    #expect(gradient == Tensor([2, 4, 6]))
  }

  @Test("Copies of one tensor written on concurrent tasks leave the shared original unchanged")
  func copyOnWriteAcrossTasks() async {
    let shared = Tensor<Float>(repeating: 1, shape: [64, 64])
    let sums = await withTaskGroup(of: Float.self) { group in
      for task in 0..<8 {
        group.addTask {
          var copy = shared
          for _ in 0..<100 { copy += Float(task) }
          return copy.sum().scalar
        }
      }
      return await group.reduce(into: []) { $0.append($1) }
    }
    let expected: [Float] = (0..<8).map { task in Float(4096 * (1 + 100 * task)) }
    #expect(sums.sorted() == expected)
    #expect(shared == Tensor(repeating: 1, shape: [64, 64]))
  }

  @Test("Recording on a tape while another thread sweeps it stops, naming the misuse")
  func concurrentUseOfOneTapeStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let (_, x) = Self.tapeHeldBySweep()
      _ = x + 1  // records on the tape that the other thread is sweeping
    }
    guard let result else { return }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    for fragment in ["Tape: recording 'add'", "another thread", "one task at a time"] {
      #expect(message.contains(fragment), "standard error lacks \"\(fragment)\": \(message)")
    }
  }

  @Test(
    "Reading statistics, the graph or count, or switching the tools, while another thread sweeps stops with a message",
    arguments: 0..<5)
  func concurrentReadsOfOneTapeStop(reader: Int) async {
    let result = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) { [reader] in
      let (tape, _) = Self.tapeHeldBySweep()
      switch reader {
      case 0: _ = tape.statistics
      case 1: _ = tape.graphviz()
      case 2: _ = tape.count
      case 3: tape.detectsAnomalies = true
      default: tape.capturesCallSites = true
      }
    }
    guard let result else { return }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(
      message.contains("another thread") && message.contains("one task at a time"), "\(message)")
  }

  @Test("Statistics and graphs read while another thread records, taking turns, see whole nodes")
  func readersTakingTurnsWithRecording() async {
    let tape = Tape()
    var x = tape.watch(Tensor<Double>(ones: [4]))
    for round in 0..<50 {
      await Task.detached { [x] in _ = x * 2 }.value  // records on another thread
      x = x + 1
      #expect(tape.statistics.nodeCount == tape.count)
      #expect(tape.graphviz().contains("digraph"), "round \(round)")
    }
  }

  /// A tape and its watched tensor, whose sweep runs on another thread and holds the tape (in a
  /// pullback that never returns) until the process ends.
  static func tapeHeldBySweep() -> (Tape, Tensor<Double>) {
    let tape = Tape()
    let x = tape.watch(Tensor<Double>(1))
    let inPullback = DispatchSemaphore(value: 0)
    let y = customOperation(
      "hold", operands: [x], forward: { $0[0] },
      pullback: { g, _, _ in
        inPullback.signal()
        DispatchSemaphore(value: 0).wait()
        return [g]
      })
    DispatchQueue.global().async { _ = tape.gradient(of: y, wrt: [x]) }
    inPullback.wait()
    return (tape, x)
  }
}
