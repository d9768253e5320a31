// Hostile input that stops with a message instead of crashing silently, and long runs that do
// not grow (issue 20): shapes past Int or past memory, recorded tensors kept after their
// gradient call, compound assignments that would change their left side's shape, and the
// messages of named functions.

@_spi(Messages) import Autodiff
import Testing

@Suite struct HardeningTests {
  static let callSite = "(at AutodiffTests/HardeningTests.swift:"

  // MARK: Shapes past Int and past memory

  @Test(
    "Shapes whose element count overflows Int stop with the operation, the shape and the caller",
    arguments: 0..<9)
  func overflowingShapes(_ index: Int) async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      [index] in
      let empty = Tensor<Float>(zeros: [0, 4])
      switch index {
      case 0: _ = Tensor<Float>(zeros: [1 << 40, 1 << 40])
      case 1: _ = Tensor<Float>(repeating: 1, shape: [Int.max, 2])
      case 2: _ = Tensor<Double>(shape: [1 << 62, 4, 0], scalars: [])
      case 3: _ = Tensor<Float>(randomUniform: [1 << 62, 1 << 3], using: &globalGenerator)
      case 4: _ = empty.reshaped(to: [0, 1 << 62, 1 << 62])
      case 5: _ = Tensor<Float>(zeros: [1, 0]).expanded(to: [1 << 62, 0, 1 << 62])
      case 6: _ = Tensor<Float>(zeros: [0, 1 << 40, 1]) + Tensor<Float>(zeros: [0, 1, 1 << 40])
      case 7: _ = matmul(Tensor<Float>(zeros: [1 << 40, 0]), Tensor<Float>(zeros: [0, 1 << 40]))
      default:
        _ = Tensor<Float>(zeros: [Int.max / 2, 0]).transposed().reshaped(to: [0, 1 << 62, 8])
      }
    }
    guard let result else { return }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    // Operators (case 6, +) cannot take the caller's file and line; named functions name it.
    #expect(
      message.contains("than an Int can count") && (index == 6 || message.contains(Self.callSite)),
      "\(message)")
  }

  @Test(
    "A shape that fits Int but not memory stops before allocating, naming the bytes and the caller")
  func shapeLargerThanMemory() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [1 << 30, 1 << 30])
    }
    expectMessage(
      result,
      contains: [
        "Tensor(repeating:shape:)", "[1073741824, 1073741824]", "4611686018427387904 bytes",
        "memory", Self.callSite,
      ])
  }

  @Test("Empty tensors with large extents that fit are fine")
  func largeEmptyShapes() {
    let x = Tensor<Float>(zeros: [1 << 40, 0])
    #expect(x.scalarCount == 0 && x.transposed().shape == [0, 1 << 40])
    #expect(x.reshaped(to: [0, 1 << 50]).shape == [0, 1 << 50])
  }

  @Test("A tensor of rank 100,000 prints without overflowing the stack")
  func deepRankPrints() {
    let x = Tensor<Float>(shape: Array(repeating: 1, count: 100_000), scalars: [2])
    #expect(
      x.description.hasPrefix("rank 100000, shape [1, 1, ") && x.description.hasSuffix(": [2.0]"))
    #expect(
      Tensor<Float>(shape: Array(repeating: 1, count: 64), scalars: [2]).description.hasPrefix(
        "[[[["))
  }

  // MARK: Recorded tensors kept after their gradient call

  @Test(
    "A recorded tensor kept from a gradient call is a constant afterwards: nothing nests on its finished tape"
  )
  func escapedRecordedTensor() {
    nonisolated(unsafe) var saved: Tensor<Double>?
    _ = gradient(at: Tensor<Double>([1, 2, 3])) { x in
      saved = x * 3
      return x.sum()
    }
    var p = try! #require(saved)
    #expect(!p.isRecorded)
    for _ in 0..<2000 {
      let g = gradient(at: p) { ($0 * $0).sum() }
      #expect(g == 2 * p)
      p = p - 1e-6 * g
    }
    #expect(!p.isRecorded)
    // Operations on it inside a new differentiation treat it as a constant.
    let q = try! #require(saved)
    #expect(gradient(at: Tensor<Double>(2)) { t in (t * q).sum() }.scalar == 18)
    // A kept pullback still sweeps its tape.
    let (_, pullback) = valueWithPullback(at: Tensor<Double>([1, 2])) { $0.squared().sum() }
    #expect(pullback(Tensor(1)) == Tensor([2, 4]))
    let (_, differential) = valueWithDifferential(at: Tensor<Double>([1, 2])) { $0.squared() }
    #expect(differential(Tensor([1, 1])) == Tensor([2, 4]))
  }

  // MARK: Compound assignment keeps its left side's shape

  @Test("A compound assignment that would change its left side's shape stops with both shapes")
  func compoundAssignmentKeepsShape() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      var bias = Tensor<Float>(zeros: [3])
      bias -= 0.1 * Tensor(ones: [4, 3])
    }
    expectMessage(result, contains: ["-=", "[4, 3]", "[3]", "keeps its left side's shape"])
    var bias = Tensor<Float>(zeros: [4, 3])
    bias -= Tensor(ones: [3])  // broadcasts to the left side: fine
    #expect(bias == Tensor(repeating: -1, shape: [4, 3]))
  }

  // MARK: Messages of named functions

  @Test("pow, max and min name themselves, the shapes and the caller", arguments: 0..<3)
  func namedBinaryFunctions(_ index: Int) async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      [index] in
      let (a, b) = (Tensor<Double>(zeros: [2, 3]), Tensor<Double>(zeros: [4]))
      switch index {
      case 0: _ = pow(a, b)
      case 1: _ = max(a, b)
      default: _ = min(a, b)
      }
    }
    expectMessage(
      result, contains: [["pow", "max", "min"][index], "[2, 3]", "[4]", Self.callSite])
  }

  @Test("softmax over an empty axis names softmax, not the maximum it starts with")
  func softmaxOverEmptyAxis() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = softmax(Tensor<Float>(zeros: [2, 0]), alongAxis: 1)
    }
    expectMessage(result, contains: ["softmax", "[2, 0]", "empty", Self.callSite])
  }

  @Test("Tensor(randomUniform:in:) over an empty range says so")
  func emptyUniformRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      var rng = SeededGenerator(seed: 1)
      _ = Tensor<Float>(randomUniform: [2], in: 1..<1, using: &rng)
    }
    expectMessage(result, contains: ["randomUniform", "empty", Self.callSite])
  }
}

nonisolated(unsafe) private var globalGenerator = SeededGenerator(seed: 7)

extension HardeningTests {
  @Test("The caller of the library is found on the stack, for the messages of operators")
  func callerFoundOnTheStack() {
    // From here, the first frame outside the library is this line (not inside #expect, whose
    // expansion would be the caller).
    let (caller, line) = (callerOutsideLibrary(), #line)
    #expect(caller == "AutodiffTests/HardeningTests.swift:\(line)")
  }

  @Test("An operator's message names its caller, found on the stack", arguments: 0..<2)
  func operatorNamesItsCaller(_ index: Int) async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      [index] in
      let (a, b) = (Tensor<Float>(zeros: [2, 3]), Tensor<Float>(zeros: [4]))
      _ = index == 0 ? a .> b : a + b
    }
    // An exit test's body is compiled from a macro expansion: its caller's line is there.
    expectMessage(
      result, contains: [[".>", "+"][index], "[2, 3]", "[4]", "(at swift-generated-sources/"])
  }
}
