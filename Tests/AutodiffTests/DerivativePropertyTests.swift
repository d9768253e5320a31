// Property tests for the classes of derivative bugs an independent reference found (issue 19):
// second-order APIs over inputs that enter affinely, as constants or not at all; gradients with
// respect to intermediate results; nested reverse and forward mode on both sides of the fusion
// threshold. Triangular inputs and NaN/∞ have their own files (TriangularInputTests,
// NonFiniteValueTests).

import Autodiff
import PropertyBased
import Testing

@Suite struct DerivativePropertyTests {
  /// Smooth functions of one tensor, bounded on moderate inputs.
  static let smooth: [(name: String, f: @Sendable (Tensor<Double>) -> Tensor<Double>)] = [
    ("sin", { sin($0) }), ("cos", { cos($0) }), ("tanh", { tanh($0) }),
    ("sigmoid", { sigmoid($0) }), ("exp(0.3x)", { exp(0.3 * $0) }), ("x²", { $0.squared() }),
    ("log(1+x²)", { log(1 + $0.squared()) }), ("√(1+x²)", { sqrt(1 + $0.squared()) }),
    ("x·sin x", { $0 * sin($0) }), ("softmax", { softmax($0, alongAxis: -1) }),
  ]

  /// Σ of a chain of smooth functions of `x`, plus terms affine in `y`, plus `z` used only as a
  /// constant (or not at all): the Hessian is zero in every row and column of `y` and `z`.
  static func mixed(
    _ chain: [Int], usesZ: Bool
  ) -> @Sendable (Tensor<Double>, Tensor<Double>, Tensor<Double>) -> Tensor<Double> {
    { x, y, z in
      var h = x
      for index in chain { h = smooth[index].f(h) }
      let affine = (3 * y - 1).sum() + (y * 0.5).mean()
      let constant = usesZ ? (withoutDerivative(at: z) * h).sum() : Tensor(0)
      return h.sum() + affine + constant
    }
  }

  @Test("Second-order APIs over inputs that enter affinely, as constants or not at all")
  func secondOrderOverAffineInputs() async {
    await propertyCheck(
      count: 80, input: Gen.int(in: 0..<Self.smooth.count).array(of: 1...4), Gen.bool,
      Gen.int(in: 1...4), Gen.int(in: 0...Int(UInt32.max))
    ) { chain, usesZ, n, seed in
      Self.checkSecondOrder(chain: chain, usesZ: usesZ, n: n, seed: seed)
    }
  }

  static func checkSecondOrder(chain: [Int], usesZ: Bool, n: Int, seed: Int) {
    var rng = SeededGenerator(seed: UInt64(seed))
    let f = Self.mixed(chain, usesZ: usesZ)
    let (x, y, z) = (
      Tensor<Double>.uniform([n], in: -1..<1, using: &rng),
      Tensor<Double>.uniform([n], in: -1..<1, using: &rng),
      Tensor<Double>.uniform([n], in: -1..<1, using: &rng)
    )
    let v = (0..<3).map { _ in Tensor<Double>.uniform([n], in: -1..<1, using: &rng) }
    let label = "chain \(chain.map { Self.smooth[$0].name }), z \(usesZ), n \(n)"

    // Forward over reverse, over all three inputs, against reverse over reverse.
    let hv = hessianVectorProduct(at: [x, y, z], directions: v) { f($0[0], $0[1], $0[2]) }
    let rr = gradient(at: [x, y, z]) { inputs in
      let g = gradient(at: inputs) { f($0[0], $0[1], $0[2]) }
      return (g[0] * v[0] + g[1] * v[1] + g[2] * v[2]).sum()
    }
    #expect(
      hv[1].scalars.allSatisfy { $0 == 0 } && hv[2].scalars.allSatisfy { $0 == 0 }, "\(label)")
    #expect(
      rr[1].scalars.allSatisfy { $0 == 0 } && rr[2].scalars.allSatisfy { $0 == 0 }, "\(label)")
    #expect(
      hv[0].isAlmostEqual(to: rr[0], relativeTolerance: 1e-10, absoluteTolerance: 1e-12), "\(label)"
    )
    // Against central differences of the gradient along v.
    let h = 1e-5
    let plus = gradient(at: x + h * v[0], y, of: { a, b in f(a, b, z) }).0
    let minus = gradient(at: x - h * v[0], y, of: { a, b in f(a, b, z) }).0
    #expect(
      hessianVectorProduct(at: x, direction: v[0]) { f($0, y, z) }
        .isAlmostEqual(
          to: (plus - minus) / (2 * h), relativeTolerance: 1e-6, absoluteTolerance: 1e-8),
      "\(label)")

    // One input at a time: the affine one, the constant one.
    #expect(
      hessianVectorProduct(at: y, direction: v[1]) { f(x, $0, z) }.scalars.allSatisfy { $0 == 0 })
    #expect(hessian(at: y) { f(x, $0, z) }.scalars.allSatisfy { $0 == 0 }, "\(label)")
    #expect(hessian(at: z) { f(x, y, $0) }.scalars.allSatisfy { $0 == 0 }, "\(label)")
    #expect(jacobian(at: y) { y in gradient(at: y) { f(x, $0, z) } }.scalars.allSatisfy { $0 == 0 })

    // The four nestings of first-order forms along a line agree.
    let line = { (t: Tensor<Double>) in f(x + t * v[0], y + t * v[1], z) }
    let t0 = Tensor<Double>(0.25)
    let second = [
      derivative(at: t0) { t in derivative(at: t, of: line) },
      gradient(at: t0) { t in gradient(at: t, of: line) },
      derivative(at: t0) { t in gradient(at: t, of: line) },
      gradient(at: t0) { t in derivative(at: t, of: line) },
    ].map(\.scalar)
    #expect(
      second.allSatisfy { Swift.abs($0 - second[0]) <= 1e-10 * Swift.max(1, Swift.abs(second[0])) },
      "\(label): \(second)")
  }

  // MARK: Intermediate results as sources

  /// A step of a chain of 3×3 matrices and scalars: the next register from one or two earlier
  /// ones. The linear-algebra steps return their operation's result itself, so that it can be a
  /// source on its own (the sweep then starts above its operand).
  static let steps:
    [(name: String, f: @Sendable (Tensor<Double>, Tensor<Double>) -> Tensor<Double>)] = [
      ("sin", { a, _ in sin(a) }), ("tanh·b", { a, b in tanh(a) * b }),
      ("a·b/2", { a, b in matmul(matrix(a), matrix(b)) * 0.5 }),
      (
        "aᵀ·b/2",
        { a, b in matmul(matrix(a), transposed: true, matrix(b), transposed: false) * 0.5 }
      ),
      ("det", { a, _ in determinant(tanh(matrix(a)) + 3 * identity) }),
      ("inverse", { a, _ in try! inverse(spd(a)) }),
      ("cholesky", { a, _ in try! cholesky(spd(a)) }),
      ("solve", { a, b in try! solve(spd(a), matrix(b)) }),
      ("rows", { a, b in matrix(a).sum(alongAxes: [1]) * b * 0.5 }),
      ("eigh", { a, _ in try! eigh(spd(a)).values }),
      ("qr", { a, _ in qr(matrix(a) + 3 * identity).r }),
    ]
  /// A register as a 3×3 matrix: a scalar, a vector or a column ([3, 1], from "rows") times the
  /// identity, broadcast.
  static func matrix(_ t: Tensor<Double>) -> Tensor<Double> {
    t.shape == [3, 3] ? t : t * identity
  }
  static let identity = Tensor<Double>(shape: [3, 3], scalars: [1, 0, 0, 0, 1, 0, 0, 0, 1])
  /// A symmetric positive definite matrix made from any `a`.
  static func spd(_ a: Tensor<Double>) -> Tensor<Double> {
    let m = tanh(matrix(a))
    return matmul(m, transposed: false, m, transposed: true) + 3 * identity
  }

  @Test(
    "Tape.gradient with respect to random intermediate results equals the gradient of the rest of the program"
  )
  func gradientsWithRespectToIntermediates() async {
    await propertyCheck(
      count: 120, input: Gen.int(in: 0..<Self.steps.count).array(of: 1...6),
      Gen.int(in: 0...Int(UInt32.max))
    ) { program, seed in
      Self.checkIntermediates(program: program, seed: seed)
    }
  }

  static func checkIntermediates(program: [Int], seed: Int) {
    var rng = SeededGenerator(seed: UInt64(seed))
    // Register 0 is the watched input; step i writes register i + 1 from two earlier ones.
    let operands = program.indices.map { i in
      (Int.random(in: 0...i, using: &rng), Int.random(in: 0...i, using: &rng))
    }
    let u = Tensor<Double>.uniform([3, 3], in: -1..<1, using: &rng)
    func run(_ registers: inout [Tensor<Double>], from first: Int) {
      for i in first..<program.count {
        let (a, b) = operands[i]
        registers.append(Self.steps[program[i]].f(registers[a], registers[b]))
      }
    }
    let tape = Tape()
    var registers = [tape.watch(Tensor<Double>.uniform([3, 3], in: -1..<1, using: &rng))]
    run(&registers, from: 0)
    let target =
      (registers.last! * u).sum() + registers.dropLast().reduce(Tensor(0)) { $0 + $1.mean() }
    // Any non-empty subset of the registers, the input included or not.
    let chosen = registers.indices.filter { _ in Bool.random(using: &rng) }
    let sources = chosen.isEmpty ? [registers.count - 1] : chosen
    let gradients = tape.gradient(of: target, wrt: sources.map { registers[$0] })
    for (source, g) in zip(sources, gradients) {
      // The rest of the program, from register `source` on, with the earlier ones constant.
      let expected = gradient(at: withoutDerivative(at: registers[source])) { h in
        var replay = registers.prefix(source).map { withoutDerivative(at: $0) } + [h]
        run(&replay, from: source)
        return (replay.last! * u).sum() + replay.dropLast().reduce(Tensor(0)) { $0 + $1.mean() }
      }
      #expect(
        g.isAlmostEqual(to: expected, relativeTolerance: 1e-10, absoluteTolerance: 1e-12),
        "program \(program.map { Self.steps[$0].name }) operands \(operands), source \(source) of \(sources)"
      )
    }
  }

  // MARK: Nested modes on both sides of the fusion threshold

  /// f(t) = Σ g(concat(y + t·vy, x + t·vx)) for a chain g of steps that keep the shape.
  static let wideSteps: [(name: String, f: @Sendable (Tensor<Double>) -> Tensor<Double>)] = [
    ("sin", { sin($0) }), ("tanh", { tanh($0) }), ("x²/4", { $0.squared() * 0.25 }),
    ("sigmoid", { sigmoid($0) }), ("rowsum·x", { $0.sum(alongAxes: [1]) * $0 * 0.01 }),
    ("colmean+x", { $0.mean(alongAxes: [0]) + $0 }), ("exp(x/4)", { exp($0 * 0.25) }),
  ]

  @Test(
    "Nested reverse and forward mode agree, and match finite differences, below and above the fusion threshold"
  )
  func nestedModesAroundFusion() async {
    await propertyCheck(
      count: 40, input: Gen.int(in: 0..<Self.wideSteps.count).array(of: 1...4),
      Gen.int(in: 0..<4), Gen.int(in: 0...Int(UInt32.max))
    ) { chain, size, seed in
      Self.checkNestedModes(chain: chain, size: size, seed: seed)
    }
  }

  static func checkNestedModes(chain: [Int], size: Int, seed: Int) {
    var rng = SeededGenerator(seed: UInt64(seed))
    // 2¹⁵ elements is the threshold: [127, 256] below, [128, 256] at it, [200, 256] above.
    let rows = [8, 127, 128, 200][size]
    let (x, vx) = (
      Tensor<Double>.uniform([rows, 256], in: -1..<1, using: &rng),
      Tensor<Double>.uniform([rows, 256], in: -1..<1, using: &rng)
    )
    let (y, vy) = (
      Tensor<Double>.uniform([2, 256], in: -1..<1, using: &rng),
      Tensor<Double>.uniform([2, 256], in: -1..<1, using: &rng)
    )
    let f = { (t: Tensor<Double>) -> Tensor<Double> in
      var h = Tensor(concatenating: [y + t * vy, x + t * vx])
      for index in chain { h = Self.wideSteps[index].f(h) }
      return h.sum()
    }
    let t0 = Tensor<Double>(0.1)
    let label = "chain \(chain.map { Self.wideSteps[$0].name }), rows \(rows)"
    let first = [derivative(at: t0, of: f), gradient(at: t0, of: f)].map(\.scalar)
    #expect(Swift.abs(first[0] - first[1]) <= 1e-10 * Swift.max(1, Swift.abs(first[0])), "\(label)")
    let second = [
      derivative(at: t0) { t in derivative(at: t, of: f) },
      gradient(at: t0) { t in gradient(at: t, of: f) },
      derivative(at: t0) { t in gradient(at: t, of: f) },
      gradient(at: t0) { t in derivative(at: t, of: f) },
    ].map(\.scalar)
    let scale = Swift.max(1, Swift.abs(second[0]))
    #expect(second.allSatisfy { Swift.abs($0 - second[0]) <= 1e-9 * scale }, "\(label): \(second)")
    let h = 1e-4
    let difference =
      (derivative(at: t0 + h, of: f).scalar - derivative(at: t0 - h, of: f).scalar) / (2 * h)
    #expect(
      Swift.abs(difference - second[0]) <= 1e-5 * scale, "\(label): \(second[0]) vs \(difference)")
  }
}
