import Testing

@testable import Autodiff

/// Anomaly detection stops at the first operation whose output or gradient is NaN or infinite,
/// naming the operation, its call site and its operands' ranges. The stopping cases run as exit
/// tests (in a child process, which must fail) of the computations in `Scenarios`.
@Suite struct AnomalyDetectionTests {
  typealias T = Tensor<Double>

  static let file = "AutodiffTests/AnomalyDetectionTests.swift"

  // MARK: Forward

  @Test("log(0) in the forward pass names log, its line and its operand's range")
  func forwardLogOfZero() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Scenarios.forwardLogOfZero()
    }
    expectMessage(
      result,
      contains: [
        "anomaly detection: log returned a non-finite value in the forward pass: -inf at "
          + "element 1 of its output, shape [3] (at \(Self.file):\(Scenarios.forwardLogLine))",
        "  operand 0 (node 0, watch): shape [3], range [0, 2]",
        "  output: shape [3], range [-inf, 0.693147]",
      ])
  }

  @Test("0/0 in the forward pass names divide, its line and both operands' ranges")
  func forwardZeroOverZero() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Scenarios.forwardZeroOverZero()
    }
    expectMessage(
      result,
      contains: [
        "anomaly detection: divide returned a non-finite value in the forward pass: nan at "
          + "element 1 of its output, shape [2] (at \(Self.file):\(Scenarios.forwardDivideLine))",
        "  operand 0 (node 2, multiply): shape [2], range [0, 2]",
        "  operand 1 (node 1, watch): shape [2], range [0, 2]",
        "  output: shape [2], range [1, 1] and 1 NaN",
      ])
  }

  @Test("A named function reports the call site it was given")
  func forwardNamedFunction() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Scenarios.forwardMatmulOverflow()
    }
    expectMessage(
      result,
      contains: [
        "anomaly detection: matmul returned a non-finite value in the forward pass: inf at "
          + "element 0 of its output, shape [1, 1] (at \(Self.file):\(Scenarios.matmulLine))",
        "  operand 0 (node 0, watch): shape [1, 1], value 1e+30",
      ])
  }

  @Test("A watched tensor that is already NaN is reported as such")
  func watchedNaN() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Scenarios.watchedNaN()
    }
    expectMessage(
      result,
      contains: [
        "anomaly detection: a watched tensor (node 0) is not finite: nan at element 1, shape [2] "
          + "(at \(Self.file):\(Scenarios.watchLine))"
      ])
  }

  // MARK: Backward

  @Test("log at 0 in the backward pass names log's pullback and where log was recorded")
  func backwardLogOfZero() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Scenarios.backwardLogOfZero()
    }
    expectMessage(
      result,
      contains: [
        "anomaly detection: the pullback of log (recorded at \(Self.file):"
          + "\(Scenarios.backwardLogLine)) sent a non-finite gradient to operand 0 in the "
          + "backward pass: inf at element 0 of the gradient, shape []",
        "  upstream gradient: shape [], value 1",
        "  operand 0 (node 0, watch): shape [], value 0",
        "  output: shape [], value -inf",
      ])
  }

  @Test("0/0 in a pullback (√x at 0 under a zero gradient) names sqrt, with finite forward values")
  func backwardZeroOverZero() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Scenarios.backwardZeroOverZero()
    }
    expectMessage(
      result,
      contains: [
        "anomaly detection: the pullback of sqrt (recorded at \(Self.file):"
          + "\(Scenarios.backwardSqrtLine)) sent a non-finite gradient to operand 0 in the "
          + "backward pass: nan at element 1 of the gradient, shape [2]",
        "  upstream gradient: shape [2], range [0, 0]",
        "  operand 0 (node 0, watch): shape [2], range [0, 4]",
        "  output: shape [2], range [0, 2]",
      ])
  }

  @Test("0/0 recorded unchecked is caught in divide's pullback, at the operand it sends 1/0 to")
  func backwardDivide() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Scenarios.backwardDivide()
    }
    expectMessage(
      result,
      contains: [
        "anomaly detection: the pullback of divide (recorded at \(Self.file):"
          + "\(Scenarios.backwardDivideLine)) sent a non-finite gradient to operand 0 in the "
          + "backward pass: inf at element 0",
        "  operand 1 (node 1, watch): shape [], value 0",
      ])
  }

  @Test("In a nested differentiation the inner sweep's own operations are checked as gradients")
  func backwardNested() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Scenarios.backwardNested()
    }
    expectMessage(
      result,
      contains: [
        "anomaly detection: the pullback of sqrt (recorded at \(Self.file):"
          + "\(Scenarios.nestedLine)) sent a non-finite gradient to operand 0 in the backward "
          + "pass: inf"
      ])
  }

  @Test("A non-finite seed stops the sweep before it starts")
  func nonFiniteSeed() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let tape = Tape()
      tape.detectsAnomalies = true
      let x = tape.watch(Tensor<Double>([1, 2]))
      let y = x * 2
      _ = tape.gradient(of: y, wrt: [x], seed: Tensor([.infinity, 1]))
    }
    expectMessage(
      result,
      contains: [
        "anomaly detection: the seed of a backward sweep from node 1 is not finite: inf at "
          + "element 0, shape [2]"
      ])
  }

  /// The computations that stop, in ordinary functions: the body of an exit test is expanded by
  /// a macro, so call sites inside it point into generated source. Each `…Line` is the line of
  /// the operation that goes wrong.
  enum Scenarios {
    static let forwardLogLine = #line + 5
    static func forwardLogOfZero() {
      withAnomalyDetection {
        let tape = Tape()
        let x = tape.watch(Tensor<Double>([1, 0, 2]))
        _ = log(x)
      }
    }

    static let forwardDivideLine = #line + 7
    static func forwardZeroOverZero() {
      let tape = Tape()
      tape.detectsAnomalies = true
      let x = tape.watch(Tensor<Double>([1, 0]))
      let y = tape.watch(Tensor<Double>([2, 0]))
      let z = x * 2
      _ = z / y
    }

    static let matmulLine = #line + 5
    static func forwardMatmulOverflow() {
      let tape = Tape()
      tape.detectsAnomalies = true
      let a = tape.watch(Tensor<Float>(shape: [1, 1], scalars: [1e30]))
      _ = matmul(a, a)  // 10⁶⁰ overflows Float
    }

    static let watchLine = #line + 3
    static func watchedNaN() {
      withAnomalyDetection {
        _ = Tape().watch(Tensor<Double>([1, .nan]))
      }
    }

    static let backwardLogLine = #line + 6
    static func backwardLogOfZero() {
      // Recorded without checks, so the forward −∞ passes; the sweep is checked.
      let tape = Tape()
      tape.capturesCallSites = true
      let x = tape.watch(Tensor<Double>(0))
      let y = log(x)
      tape.detectsAnomalies = true
      _ = tape.gradient(of: y, wrt: [x])
    }

    static let backwardSqrtLine = #line + 5
    static func backwardZeroOverZero() {
      withAnomalyDetection {
        let tape = Tape()
        let x = tape.watch(Tensor<Double>([4, 0]))
        let y = (sqrt(x) * 0).sum()  // 0, and ∂/∂√x = 0: sqrt's pullback computes 0/(2·0)
        _ = tape.gradient(of: y, wrt: [x])
      }
    }

    static let backwardDivideLine = #line + 7
    static func backwardDivide() {
      let tape = Tape()
      tape.capturesCallSites = true
      let x = tape.watch(Tensor<Double>(0))
      let y = tape.watch(Tensor<Double>(0))
      let z = x + 1
      let q = z / y
      tape.detectsAnomalies = true
      _ = tape.gradient(of: q, wrt: [x, y])
    }

    static let nestedLine = #line + 4
    static func backwardNested() {
      withAnomalyDetection {
        _ = gradient(at: Tensor<Double>(0)) { x in
          gradient(at: x) { x in sqrt(x) }
        }
      }
    }
  }

  // MARK: Off by default, and transparent when on

  @Test("Off by default: a new tape has no inspector, so recording pays a single nil check")
  func offByDefault() {
    let tape = Tape()
    #expect(!tape.detectsAnomalies)
    #expect(!tape.capturesCallSites)
    #expect(tape.inspector == nil)
    _ = tape.watch(T(1)) * 2
    #expect(tape.inspector == nil)
  }

  @Test("withAnomalyDetection turns detection on for tapes made inside it, and only those")
  func scope() {
    let before = Tape()
    withAnomalyDetection {
      let inside = Tape()
      #expect(inside.detectsAnomalies)
      #expect(inside.capturesCallSites)
      #expect(!before.detectsAnomalies)
    }
    #expect(!Tape().detectsAnomalies)
  }

  @Test("The asynchronous form turns detection on across suspension points and in child tasks")
  func asyncScope() async {
    let (here, child) = await withAnomalyDetection { () async -> (Bool, Bool) in
      await Task.yield()
      let here = Tape().detectsAnomalies
      let child = await Task { Tape().detectsAnomalies }.value
      return (here, child)
    }
    #expect(here)
    #expect(child)
  }

  @Test("Switching both features off drops the inspector once it holds no call sites")
  func switchingOff() {
    let tape = Tape()
    tape.detectsAnomalies = true
    #expect(tape.capturesCallSites)
    tape.detectsAnomalies = false
    tape.capturesCallSites = false
    #expect(tape.inspector == nil)
  }

  @Test("With detection on, finite computations give the same values and gradients")
  func transparentWhenFinite() {
    func f(_ x: T, _ y: T) -> T { (sin(x) * y + sqrt(y)).squared().sum() }
    let x = T([0.5, -1, 2])
    let y = T([1, 4, 9])
    let plain = valueWithGradient(at: x, y, of: f)
    let detected = withAnomalyDetection { valueWithGradient(at: x, y, of: f) }
    #expect(plain.value == detected.value)
    #expect(plain.gradient.0 == detected.gradient.0)
    #expect(plain.gradient.1 == detected.gradient.1)

    // A second derivative: the sweep that records itself is checked too, and changes nothing.
    let second = withAnomalyDetection {
      gradient(at: T(2)) { x in gradient(at: x) { x in x * x * x } }
    }
    #expect(second == T(12))
  }
}
