// Every operation that reads only a triangle of a matrix, with garbage (random values, NaN, ∞)
// in the part it does not read: the value, the gradient, the tangent and the second derivatives
// are those of the same matrix with that part zero, and the part gets an exact zero gradient.

import Autodiff
import PropertyBased
import Testing

@Suite struct TriangularInputTests {
  /// An operation with a triangular input `a` and a right-hand side `b`, and which elements of
  /// `a` it reads.
  struct Operation: Sendable {
    var name: String
    var reads: @Sendable (_ i: Int, _ j: Int) -> Bool
    var f: @Sendable (Tensor<Double>, Tensor<Double>) -> Tensor<Double>
  }

  static let operations: [Operation] = {
    var operations = [
      Operation(name: "choleskySolve", reads: { i, j in j <= i }) { a, b in
        try! choleskySolve(a, b)
      }
    ]
    for lower in [true, false] {
      for transposed in [false, true] {
        for unitDiagonal in [false, true] {
          operations.append(
            Operation(
              name:
                "triangularSolve(lower: \(lower), transposed: \(transposed), unit: \(unitDiagonal))",
              reads: { i, j in i == j ? !unitDiagonal : (lower ? j < i : j > i) }
            ) { a, b in
              try! triangularSolve(
                a, b, lower: lower, transposed: transposed, unitDiagonal: unitDiagonal)
            })
        }
      }
    }
    return operations
  }()

  @Test("Triangular inputs are read only where documented, at every order")
  func garbageIsIgnored() async {
    await propertyCheck(
      count: 120, input: Gen.int(in: 0..<Self.operations.count), Gen.int(in: 1...4),
      Gen.int(in: 1...3), Gen.int(in: 0...2), Gen.int(in: 0...Int(UInt32.max))
    ) { operation, n, k, garbageKind, seed in
      Self.check(Self.operations[operation], n: n, k: k, garbageKind: garbageKind, seed: seed)
    }
  }

  static func check(_ operation: Operation, n: Int, k: Int, garbageKind: Int, seed: Int) {
    var rng = SeededGenerator(seed: UInt64(seed))
    // The read part: a well-conditioned triangle (diagonal 1.5–2.5, off-diagonal within ±0.5).
    var clean = [Double](repeating: 0, count: n * n)
    var garbage = clean
    for i in 0..<n {
      for j in 0..<n {
        let value =
          i == j
          ? Double.random(in: 1.5..<2.5, using: &rng) : Double.random(in: -0.5..<0.5, using: &rng)
        if operation.reads(i, j) {
          clean[i * n + j] = value
          garbage[i * n + j] = value
        } else {
          garbage[i * n + j] =
            [Double.random(in: -9..<9, using: &rng), .nan, .infinity][garbageKind]
        }
      }
    }
    let a = Tensor<Double>(shape: [n, n], scalars: clean)
    let messy = Tensor<Double>(shape: [n, n], scalars: garbage)
    let b = Tensor<Double>.uniform([n, k], in: -1..<1, using: &rng)
    let (u, direction) = (
      Tensor<Double>.uniform([n, k], in: -1..<1, using: &rng),
      Tensor<Double>.uniform([n, n], in: -1..<1, using: &rng)
    )
    let loss = { (a: Tensor<Double>) in (operation.f(a, b) * u).sum() }
    let label = "\(operation.name), n \(n), k \(k), garbage \(garbage)"

    #expect(operation.f(messy, b) == operation.f(a, b), "\(label): value")
    let gradient = Autodiff.gradient(at: messy, of: loss)
    #expect(gradient == Autodiff.gradient(at: a, of: loss), "\(label): gradient")
    for i in 0..<n {
      for j in 0..<n where !operation.reads(i, j) {
        #expect(gradient.scalars[i * n + j] == 0, "\(label): gradient at [\(i), \(j)]")
      }
    }
    #expect(
      jvp(at: messy, tangent: direction, of: loss).tangent
        == jvp(at: a, tangent: direction, of: loss).tangent,
      "\(label): tangent")
    #expect(
      hessianVectorProduct(at: messy, direction: direction, of: loss)
        == hessianVectorProduct(at: a, direction: direction, of: loss), "\(label): H·v")
    let reverseOverReverse = { (a: Tensor<Double>) in
      Autodiff.gradient(at: a) { a in (Autodiff.gradient(at: a, of: loss) * direction).sum() }
    }
    #expect(reverseOverReverse(messy) == reverseOverReverse(a), "\(label): reverse over reverse")
  }
}
