// Property-based tests (x-sheep/swift-property-based): random shapes and broadcasting pairs,
// random sequences of operations, random values from every floating-point regime. Each case is
// drawn by the library's generators (the failing case and its seed are printed, and shrunk);
// tensor elements come from a `SeededGenerator` seeded by a generated number, so a case
// reproduces from what the failure prints.
//
// The properties, for every case:
// - shapes agree: each result has the shape that NumPy's rules give (computed here
//   independently), and each gradient has its operand's shape;
// - where the function is smooth at the inputs, the tape's gradient matches central finite
//   differences in Double, and forward mode agrees with it (J·v = ⟨∇, v⟩);
// - at ±0, subnormals, tiny and huge magnitudes, the gradient of each elementwise operation is
//   its derivative's formula, bit for bit up to a few ulps, with the sign of zero kept where the
//   formula keeps it;
// - nothing stops the program: the cases only ever call operations within their documented
//   preconditions, which PreconditionTests checks separately.

import Autodiff
import PropertyBased
import Testing

@Suite struct PropertyTests {
  // MARK: Broadcasting pairs

  /// Two shapes that broadcast: a base shape, and for each operand which axes it keeps (the
  /// others become 1) and how many leading axes it drops.
  struct BroadcastPair: CustomStringConvertible, Sendable {
    var lhs: [Int]
    var rhs: [Int]
    var description: String { "\(lhs) with \(rhs)" }

    init(base: [Int], lhsKeeps: [Bool], rhsKeeps: [Bool], lhsDrops: Int, rhsDrops: Int) {
      func operand(_ keeps: [Bool], _ drops: Int) -> [Int] {
        let shape = base.enumerated().map { axis, extent in keeps[axis] ? extent : 1 }
        return Array(shape.dropFirst(Swift.min(drops, shape.count)))
      }
      lhs = operand(lhsKeeps, lhsDrops)
      rhs = operand(rhsKeeps, rhsDrops)
    }
  }

  /// Extents 0 to 3, so that empty tensors come up; ranks 0 to 3.
  static let broadcastPairs = zip(
    Gen.int(in: 0...3).array(of: 0...3), Gen.bool.array(of: 3), Gen.bool.array(of: 3),
    Gen.int(in: 0...3)
  ).map { base, lhsKeeps, rhsKeeps, drops in
    BroadcastPair(
      base: base, lhsKeeps: lhsKeeps, rhsKeeps: rhsKeeps, lhsDrops: drops % 2, rhsDrops: drops / 2)
  }

  /// The binary operations, with inputs where each is smooth: a divisor and a base of `pow`
  /// kept away from 0, operands of max and min apart.
  static let binaryOperations:
    [(name: String, f: @Sendable (Tensor<Double>, Tensor<Double>) -> Tensor<Double>)] = [
      ("+", { $0 + $1 }), ("-", { $0 - $1 }), ("*", { $0 * $1 }), ("/", { $0 / $1 }),
      ("pow", { pow(abs($0) + 0.5, $1) }), ("max", { max($0, $1 + 0.01) }),
      ("min", { min($0, $1 + 0.01) }), ("a·b + a", { $0 * $1 + $0 }),
    ]

  static var propertyIterations: Int { 300 }

  @Test(
    "Every binary operation on a random broadcasting pair has the broadcast shape, gradients of its operands' shapes, and matches finite differences"
  )
  func broadcastingPairs() async {
    var cases = 0
    await propertyCheck(
      count: Self.propertyIterations * 2, input: Self.broadcastPairs,
      Gen.int(in: 0..<Self.binaryOperations.count), Gen.int(in: 0...Int(UInt32.max))
    ) { pair, operation, seed in
      cases += 1
      let (name, f) = Self.binaryOperations[operation]
      var rng = SeededGenerator(seed: UInt64(seed))
      let a = Tensor<Double>.awayFromZero(pair.lhs, magnitudes: 0.5..<2, using: &rng)
      let b = Tensor<Double>.awayFromZero(pair.rhs, magnitudes: 0.5..<2, using: &rng)
      let expectedShape = referenceBroadcast(pair.lhs, pair.rhs)
      #expect(f(a, b).shape == expectedShape, "\(name) of \(pair)")
      let (ga, gb) = gradient(at: a, b) { a, b in f(a, b).sum() }
      #expect(ga.shape == pair.lhs && gb.shape == pair.rhs, "\(name) of \(pair)")
      expectGradientsMatchFiniteDifferences(at: a, b) { f($0, $1) }
      // Swapping the operands of a symmetric operation swaps nothing in the value.
      if name == "+" || name == "*" { #expect(f(a, b) == f(b, a), "\(name) of \(pair)") }
    }
    reportCases(cases, Self.propertyIterations * 2)
  }

  // MARK: Sequences of operations

  /// One step of a random program: what it does to the running tensor `x` (and the second
  /// input `y`, of the shape of `x`'s last axis) and to the shape model.
  enum Step: Int, CaseIterable, Sendable {
    case tanh, sigmoid, sin, square, scale, addInput, multiplyInput, sumAxis, meanAxis
    case transpose, flatten, logSoftmax, softmax, expandRows, matmulConstant

    /// Whether the step is smooth, and finite differences (with a step relative to the input)
    /// are accurate, at large and huge inputs: linear steps and saturating ones. The others run
    /// only once a bounded step has brought the values back to moderate.
    var toleratesHuge: Bool {
      switch self {
      case .tanh, .sigmoid, .scale, .sumAxis, .meanAxis, .transpose, .flatten, .logSoftmax,
        .softmax, .expandRows:
        true
      // x + y absorbs a moderate y into a huge x; sin and squares lose accuracy or overflow.
      case .sin, .square, .addInput, .multiplyInput, .matmulConstant: false
      }
    }

    /// Whether the step's output is bounded by a small number whatever its input.
    var bounds: Bool { self == .tanh || self == .sigmoid || self == .sin || self == .softmax }
  }

  /// The regimes values are drawn from, one per tensor: within a tensor, magnitudes that
  /// differ by hundreds of orders would make finite differences meaningless (adding a moderate
  /// element to a huge one absorbs it), whereas the special-value tests below mix every regime
  /// in one tensor.
  enum Regime: Int, CaseIterable, Sendable {
    /// ±0, subnormals and normals near the least one.
    case tiny
    /// Magnitudes 0.1 to 3.
    case moderate
    /// Magnitudes 10⁵ to 10⁷.
    case large
    /// Magnitudes 10²⁹⁹ to 10³⁰⁰.
    case huge
  }

  @Test(
    "Random sequences of operations: the shape model holds at every step, the gradient matches finite differences, forward mode agrees"
  )
  func operationSequences() async {
    var cases = 0
    await propertyCheck(
      count: Self.propertyIterations,
      input: Gen.int(in: 0..<Step.allCases.count).array(of: 1...6),
      Gen.int(in: 1...3).array(of: 1...3), Gen.int(in: 0..<Regime.allCases.count),
      Gen.int(in: 0...Int(UInt32.max))
    ) { program, shape, regime, seed in
      cases += 1
      let steps = program.map { Step(rawValue: $0)! }
      let regime = Regime(rawValue: regime)!
      var rng = SeededGenerator(seed: UInt64(seed))
      let x = Tensor<Double>.sampled(shape, regime, using: &rng)
      let y = Tensor<Double>.sampled([shape.last!], .moderate, using: &rng)
      let constant = Tensor<Double>(randomNormal: [shape.last!, 2], using: &rng)
      let run = { (x: Tensor<Double>, y: Tensor<Double>) -> Tensor<Double> in
        Self.run(steps, x, y, constant, hugeAllowed: regime == .large || regime == .huge)
      }
      expectGradientsMatchFiniteDifferences(
        at: x, y, relativeTolerance: 1e-5, absoluteTolerance: 1e-7, of: run)

      // Forward mode along a random direction equals the gradient's inner product with it.
      let direction = Tensor<Double>(randomUniform: shape, in: -1..<1, using: &rng)
      let (_, tangent) = jvp(at: x, tangent: direction) { run($0, y).sum() }
      let g = gradient(at: x) { run($0, y).sum() }
      let inner = (g * direction).sum().scalar
      #expect(
        abs(tangent.scalar - inner) <= 1e-9 * Swift.max(1, abs(inner)),
        "jvp \(tangent.scalar) vs ⟨∇, v⟩ \(inner) for \(steps) on \(shape)")
    }
    reportCases(cases, Self.propertyIterations)
  }

  /// Runs `steps` on `x`, checking after each that the result has the shape the model predicts.
  static func run(
    _ steps: [Step], _ x: Tensor<Double>, _ y: Tensor<Double>, _ constant: Tensor<Double>,
    hugeAllowed: Bool
  ) -> Tensor<Double> {
    var x = x
    var shape = x.shape
    // Whether x may hold large values: from the start in those regimes, until a bounded step.
    var mayBeHuge = hugeAllowed
    for var step in steps {
      if mayBeHuge && !step.toleratesHuge { step = .tanh }
      // Steps that need an axis or a matrix fall back to one that needs none.
      if shape.isEmpty && [.sumAxis, .meanAxis, .logSoftmax, .softmax].contains(step) {
        step = .sigmoid
      }
      if step == .matmulConstant && (shape.count != 2 || shape[1] != constant.shape[0]) {
        step = .square
        if mayBeHuge { step = .tanh }
      }
      if (step == .addInput || step == .multiplyInput) && shape.last != y.shape[0] {
        step = .scale
      }
      switch step {
      case .tanh: x = tanh(x)
      case .sigmoid: x = sigmoid(x)
      case .sin: x = sin(x)
      case .square: x = x.squared() * 0.5
      case .scale: x = 1.5 * x - 0.25
      case .addInput: x = x + y
      case .multiplyInput: x = x * y
      case .sumAxis:
        x = x.sum(alongAxes: [shape.count - 1])
        shape[shape.count - 1] = 1
      case .meanAxis:
        x = x.mean(alongAxes: [0])
        shape[0] = 1
      case .transpose:
        x = x.transposed()
        shape.reverse()
      case .flatten:
        x = x.reshaped(to: [-1])
        shape = [shape.reduce(1, *)]
      case .logSoftmax: x = logSoftmax(x)
      case .softmax: x = softmax(x, alongAxis: 0)
      case .expandRows:
        x = x.expanded(to: [2] + shape)
        shape = [2] + shape
      case .matmulConstant:
        x = matmul(x, constant)
        shape[1] = constant.shape[1]
      }
      if step.bounds { mayBeHuge = false }
      if x.shape != shape {
        Issue.record("after \(step): shape \(x.shape), the model says \(shape); steps \(steps)")
      }
    }
    return x
  }

  // MARK: Special values

  /// Elementwise operations with their derivative written out in scalars.
  struct Elementwise<Scalar: TensorScalar> {
    var name: String
    var f: (Tensor<Scalar>) -> Tensor<Scalar>
    var derivative: (Scalar) -> Scalar
  }

  static func elementwiseOperations<Scalar: TensorScalar>(
    _ type: Scalar.Type
  ) -> [Elementwise<Scalar>] {
    [
      .init(name: "x + 2", f: { $0 + 2 }, derivative: { _ in 1 }),
      .init(name: "-3x", f: { -3 * $0 }, derivative: { _ in -3 }),
      .init(name: "x·x", f: { $0 * $0 }, derivative: { x in x + x }),
      // 1 − tanh² and σ(1 − σ) with the library's own tanh and σ: where tanh nears ±1 or σ
      // nears 0 or 1, these formulas turn an ulp of difference between two correct values into
      // many ulps of the derivative. VectorMathTests checks the library's tanh and σ against the
      // C library's.
      .init(
        name: "tanh", f: tanh,
        derivative: { x in
          let t = tanh(Tensor(x)).scalar
          return 1 - t * t
        }),
      .init(
        name: "sigmoid", f: sigmoid,
        derivative: { x in
          let s = sigmoid(Tensor(x)).scalar
          return s * (1 - s)
        }),
      .init(name: "sin", f: sin, derivative: { x in Scalar.cos(x) }),
      .init(name: "exp", f: exp, derivative: { x in Scalar.exp(x) }),
      .init(name: "squared", f: { $0.squared() }, derivative: { x in 2 * x }),
    ]
  }

  @Test(
    "At ±0, subnormals, tiny, huge and infinite magnitudes each elementwise gradient is its derivative's formula (Double)"
  )
  func specialValuesDouble() async { await checkSpecialValues(Double.self) }

  @Test(
    "At ±0, subnormals, tiny, huge and infinite magnitudes each elementwise gradient is its derivative's formula (Float)"
  )
  func specialValuesFloat() async { await checkSpecialValues(Float.self) }

  /// The special-values property in one precision.
  func checkSpecialValues<Scalar: TensorScalar>(_: Scalar.Type) async {
    var cases = 0
    await propertyCheck(
      count: Self.propertyIterations, input: Gen.int(in: 1...40),
      Gen.int(in: 0...Int(UInt32.max))
    ) { count, seed in
      cases += 1
      var rng = SeededGenerator(seed: UInt64(seed))
      let x = Tensor<Scalar>(specialValues: count, using: &rng)
      for operation in Self.elementwiseOperations(Scalar.self) {
        expectDerivative(operation, at: x)
      }
    }
    reportCases(cases, Self.propertyIterations)
  }

  @Test("The gradient of x·y keeps the sign of zero: ∂/∂x = y bit for bit, -0 included")
  func signedZeroProduct() async {
    var cases = 0
    await propertyCheck(
      count: Self.propertyIterations, input: Gen.int(in: 1...40),
      Gen.int(in: 0...Int(UInt32.max))
    ) { count, seed in
      cases += 1
      var rng = SeededGenerator(seed: UInt64(seed))
      let x = Tensor<Double>(specialValues: count, using: &rng)
      let y = Tensor<Double>(specialValues: count, using: &rng)
      let tape = Tape()
      let (wx, wy) = (tape.watch(x), tape.watch(y))
      let (gx, gy) = tape.gradient(of: wx * wy, wrt: wx, wy, seed: Tensor(ones: [count]))
      #expect(gx.scalars.map(\.bitPattern) == y.scalars.map(\.bitPattern))
      #expect(gy.scalars.map(\.bitPattern) == x.scalars.map(\.bitPattern))
    }
    reportCases(cases, Self.propertyIterations)
  }
}

/// Prints how many cases a property ran, and checks it ran as many as it was asked (more when
/// a failure was shrunk).
private func reportCases(
  _ cases: Int, _ requested: Int, sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  print("\(Test.current?.name ?? "property"): \(cases) cases")
  #expect(cases >= requested, sourceLocation: sourceLocation)
}

/// Records an issue for each element whose gradient differs from `operation`'s derivative by
/// more than 4 ulps (NaN must meet NaN, an infinity the same infinity).
private func expectDerivative<Scalar: TensorScalar>(
  _ operation: PropertyTests.Elementwise<Scalar>, at x: Tensor<Scalar>,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  let tape = Tape()
  let watched = tape.watch(x)
  let y = operation.f(watched)
  guard y.shape == x.shape else {
    Issue.record(
      "\(operation.name): shape \(y.shape) for \(x.shape)", sourceLocation: sourceLocation)
    return
  }
  let g = tape.gradient(of: y, wrt: [watched], seed: Tensor(ones: x.shape))[0]
  for (value, (actual, expected)) in zip(
    x.scalars, zip(g.scalars, x.scalars.map(operation.derivative)))
  {
    let agrees =
      actual.isNaN
      ? expected.isNaN
      : actual == expected
        || abs(actual - expected) <= 4 * Swift.max(actual.ulp, expected.ulp)
    if !agrees {
      Issue.record(
        "\(operation.name) at \(value) (\(Scalar.self)): gradient \(actual), derivative \(expected)",
        sourceLocation: sourceLocation)
    }
  }
}

/// The NumPy broadcast of two shapes, written independently of the library's.
private func referenceBroadcast(_ a: [Int], _ b: [Int]) -> [Int] {
  let rank = Swift.max(a.count, b.count)
  let a = [Int](repeating: 1, count: rank - a.count) + a
  let b = [Int](repeating: 1, count: rank - b.count) + b
  return zip(a, b).map { $0 == 1 ? $1 : $0 }
}

extension Tensor where Scalar == Double {
  /// Elements of `shape` drawn from `regime`, each with a random sign.
  static func sampled(
    _ shape: [Int], _ regime: PropertyTests.Regime, using rng: inout SeededGenerator
  ) -> Tensor {
    let scalars = (0..<shape.reduce(1, *)).map { _ -> Double in
      let magnitude: Double
      switch regime {
      case .tiny: magnitude = tinyMagnitude(using: &rng)
      case .moderate: magnitude = Double.random(in: 0.1...3, using: &rng)
      case .large: magnitude = Double.random(in: 1e5...1e7, using: &rng)
      case .huge: magnitude = Double.random(in: 1e299...1e300, using: &rng)
      }
      return Bool.random(using: &rng) ? magnitude : -magnitude
    }
    return Tensor(shape: shape, scalars: scalars)
  }

  private static func tinyMagnitude(using rng: inout SeededGenerator) -> Double {
    switch Int.random(in: 0..<3, using: &rng) {
    case 0: 0
    case 1: Double.leastNonzeroMagnitude * Double(Int.random(in: 1...1 << 40, using: &rng))
    default: Double.leastNormalMagnitude * Double.random(in: 1...1e10, using: &rng)
    }
  }
}

extension Tensor where Scalar: TensorScalar {
  /// `count` elements drawn from every regime: ±0, subnormals, the least normal, moderate,
  /// huge, the greatest finite magnitude, ±∞ and NaN.
  init(specialValues count: Int, using rng: inout SeededGenerator) {
    let scalars = (0..<count).map { _ -> Scalar in
      let magnitude: Scalar
      switch Int.random(in: 0..<9, using: &rng) {
      case 0: magnitude = 0
      case 1: magnitude = .leastNonzeroMagnitude * Scalar(Int.random(in: 1...1000, using: &rng))
      case 2: magnitude = .leastNormalMagnitude * Scalar(Double.random(in: 1...4, using: &rng))
      case 3: magnitude = Scalar(Double.random(in: 0.01...10, using: &rng))
      case 4:
        magnitude = .greatestFiniteMagnitude / Scalar(Double.random(in: 1...1000, using: &rng))
      case 5: magnitude = .greatestFiniteMagnitude
      case 6: magnitude = .infinity
      case 7: magnitude = .nan
      default: magnitude = Scalar(Double.random(in: 20...1000, using: &rng))
      }
      return Bool.random(using: &rng) ? magnitude : -magnitude
    }
    self.init(shape: [count], scalars: scalars)
  }
}
