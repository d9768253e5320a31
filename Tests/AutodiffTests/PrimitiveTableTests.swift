// Tests driven by the table of elementwise primitives (ElementwiseOperation.allCases): a new row
// is checked here without a line of its own, except its reference function below, which the
// exhaustive switch asks for. And the Swift and C tables of kernels name the same functions.

import Foundation
import Testing

@testable import Autodiff

@Suite struct PrimitiveTableTests {
  static let primitives = ElementwiseOperation.allCases.filter { $0 != .watch }

  /// The primitive in Double as libm and IEEE arithmetic give it, and the ulps the kernel may
  /// differ by (0: the same bits).
  static func reference(_ operation: ElementwiseOperation) -> (
    f: (Double, Double) -> Double, ulps: Double
  ) {
    switch operation {
    case .watch: ({ a, _ in a }, 0)
    case .add: ({ $0 + $1 }, 0)
    case .subtract: ({ $0 - $1 }, 0)
    case .multiply: ({ $0 * $1 }, 0)
    case .divide: ({ $0 / $1 }, 0)
    case .negate: ({ a, _ in -a }, 0)
    case .exp: ({ a, _ in Foundation.exp(a) }, 2)
    case .log: ({ a, _ in Foundation.log(a) }, 2)
    case .sqrt: ({ a, _ in a.squareRoot() }, 0)
    case .sin: ({ a, _ in Foundation.sin(a) }, 2)
    case .cos: ({ a, _ in Foundation.cos(a) }, 2)
    case .tanh: ({ a, _ in Foundation.tanh(a) }, 3)
    case .sigmoid: ({ a, _ in 1 / (1 + Foundation.exp(-a)) }, 4)
    case .softplus:
      ({ a, _ in Swift.max(a, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(a))) }, 2)
    case .relu: ({ a, _ in Swift.max(a, 0) }, 0)
    case .abs: ({ a, _ in Swift.abs(a) }, 0)
    case .square: ({ a, _ in a * a }, 0)
    case .log1p: ({ a, _ in Foundation.log1p(a) }, 2)
    case .expm1: ({ a, _ in Foundation.expm1(a) }, 2)
    case .erf: ({ a, _ in Foundation.erf(a) }, 0)
    case .tan: ({ a, _ in Foundation.tan(a) }, 0)
    case .asin: ({ a, _ in Foundation.asin(a) }, 0)
    case .acos: ({ a, _ in Foundation.acos(a) }, 0)
    case .atan: ({ a, _ in Foundation.atan(a) }, 0)
    case .sinh: ({ a, _ in Foundation.sinh(a) }, 2)
    case .cosh: ({ a, _ in Foundation.cosh(a) }, 2)
    case .sign: ({ a, _ in a > 0 ? 1 : (a < 0 ? -1 : a) }, 0)
    case .floor: ({ a, _ in a.rounded(.down) }, 0)
    case .ceil: ({ a, _ in a.rounded(.up) }, 0)
    case .round: ({ a, _ in a.rounded(.toNearestOrEven) }, 0)
    case .pow: ({ Foundation.pow($0, $1) }, 0)
    case .atan2: ({ Foundation.atan2($0, $1) }, 0)
    case .maximum, .clampMin: ({ Swift.max($0, $1) }, 0)
    case .minimum, .clampMax: ({ Swift.min($0, $1) }, 0)
    case .select: ({ $0 != 0 ? $1 : -0.0 }, 0)
    }
  }

  /// Operands of `shape` in the primitive's domain: `side` 0 for the first, 1 for the second.
  static func operand(
    _ operation: ElementwiseOperation, side: Int, _ shape: [Int], using rng: inout SeededGenerator
  ) -> Tensor<Double> {
    switch (operation.domain, side) {
    case (.real, _), (.nonzeroDivisor, 0), (.positiveBase, 1), (.maskFirst, 1), (.offBranchCut, 1):
      Tensor.uniform(shape, in: -2..<2, using: &rng)
    case (.insideUnitInterval, _):
      Tensor.uniform(shape, in: -0.9..<0.9, using: &rng)
    case (.betweenPoles, _):
      Tensor.uniform(shape, in: -1.3..<1.3, using: &rng)
    case (.aboveMinusOne, _):
      Tensor.uniform(shape, in: -0.7..<2, using: &rng)
    case (.betweenSteps, _):
      Tensor.betweenSteps(shape, using: &rng)
    case (.maskFirst, _):
      Tensor.uniform(shape, in: 0..<1, using: &rng) .> 0.5
    case (.positive, _), (.positiveBase, _):
      Tensor.uniform(shape, in: 0.3..<2, using: &rng)
    case (.awayFromZero, _), (.nonzeroDivisor, _), (.offBranchCut, _):
      Tensor.awayFromZero(shape, magnitudes: 0.3..<2, using: &rng)
    // Two ranges apart, in an order drawn per call: no ties.
    case (.distinctOperands, _):
      Tensor.uniform(shape, in: side == 0 ? 0.5..<1.5 : -1.5..<0.2, using: &rng)
    }
  }

  static func apply(_ operation: ElementwiseOperation, _ a: Tensor<Double>, _ b: Tensor<Double>)
    -> Tensor<Double>
  {
    operation.arity == 1 ? Tensor.apply(operation, a) : Tensor.apply(operation, a, b)
  }

  static let shapes: [([Int], [Int])] = [
    ([], []), ([5], [5]), ([2, 3], [3]), ([3, 1], [1, 4]), ([], [2, 3]),
  ]

  @Test(
    "Every primitive's gradient matches central differences over several shapes, broadcasting included",
    arguments: primitives)
  func gradients(_ operation: ElementwiseOperation) {
    var rng = SeededGenerator(seed: UInt64(operation.rawValue) + 100)
    for (lhs, rhs) in Self.shapes {
      let a = Self.operand(operation, side: 0, lhs, using: &rng)
      let b = Self.operand(operation, side: 1, operation.arity == 1 ? lhs : rhs, using: &rng)
      if operation.arity == 1 {
        expectGradientMatchesFiniteDifferences(at: a) { Self.apply(operation, $0, $0) }
      } else {
        expectGradientsMatchFiniteDifferences(at: a, b) { Self.apply(operation, $0, $1) }
      }
    }
  }

  @Test(
    "Every primitive's forward mode gives ⟨∇f, v⟩, and its second order matches differences of the gradient",
    arguments: primitives)
  func forwardAndSecondOrder(_ operation: ElementwiseOperation) {
    var rng = SeededGenerator(seed: UInt64(operation.rawValue) + 200)
    let a = Self.operand(operation, side: 0, [2, 3], using: &rng)
    let b = Self.operand(operation, side: 1, [2, 3], using: &rng)
    let u = Tensor<Double>.uniform([2, 3], in: -1..<1, using: &rng)
    let v = Tensor<Double>.uniform([2, 3], in: -1..<1, using: &rng)
    let f = { (a: Tensor<Double>) in
      (Self.apply(operation, a, operation.arity == 1 ? a : b) * u).sum()
    }
    let (_, tangent) = jvp(at: a, tangent: v, of: f)
    let expected = (gradient(at: a, of: f) * v).sum().scalar
    #expect(
      Swift.abs(tangent.scalar - expected) <= 1e-12 * Swift.max(1, Swift.abs(expected)),
      "\(operation)")
    let h = 1e-5
    let difference = (gradient(at: a + h * v, of: f) - gradient(at: a - h * v, of: f)) / (2 * h)
    let hv = hessianVectorProduct(at: a, direction: v, of: f)
    #expect(
      hv.isAlmostEqual(to: difference, relativeTolerance: 1e-6, absoluteTolerance: 1e-7),
      "\(operation): \(hv) vs \(difference)")
    let reverseOverReverse = gradient(at: a) { a in (gradient(at: a, of: f) * v).sum() }
    #expect(
      hv.isAlmostEqual(to: reverseOverReverse, relativeTolerance: 1e-12, absoluteTolerance: 1e-14),
      "\(operation)")
  }

  @Test(
    "Every primitive gives the same bits on numbers, tensors and fused programs, in value and gradient, within its ulps of libm",
    arguments: primitives)
  func sameBitsOnEveryPath(_ operation: ElementwiseOperation) {
    var rng = SeededGenerator(seed: UInt64(operation.rawValue) + 300)
    let count = Fusion.minimumCount + 5
    let a = Self.operand(operation, side: 0, [count], using: &rng)
    let b = Self.operand(operation, side: 1, [count], using: &rng)
    let (reference, ulps) = Self.reference(operation)
    let fused = Self.apply(operation, a, b).scalars
    let (ga, gb) = gradient(at: a, b) { Self.apply(operation, $0, $1).sum() }
    for i in stride(from: 0, to: count, by: 997) {
      let (x, y) = (a.scalars[i], b.scalars[i])
      let number = Self.apply(operation, Tensor(x), Tensor(y)).scalar
      let small = Self.apply(operation, Tensor([x, x]), Tensor([y, y])).scalars[0]
      #expect(
        number.bitPattern == small.bitPattern && small.bitPattern == fused[i].bitPattern,
        "\(operation)(\(x), \(y))")
      let expected = reference(x, y)
      #expect(
        Swift.abs(number - expected) <= ulps * expected.ulp,
        "\(operation)(\(x), \(y)) = \(number), libm \(expected)")
      let (na, nb) = gradient(at: Tensor(x), Tensor(y)) { Self.apply(operation, $0, $1) }
      let (sa, sb) = gradient(at: Tensor([x, x]), Tensor([y, y])) {
        Self.apply(operation, $0, $1).sum()
      }
      #expect(
        na.scalar.bitPattern == sa.scalars[0].bitPattern
          && sa.scalars[0].bitPattern == ga.scalars[i].bitPattern,
        "\(operation)'s gradient at (\(x), \(y))")
      if operation.arity == 2 {
        #expect(
          nb.scalar.bitPattern == sb.scalars[0].bitPattern
            && sb.scalars[0].bitPattern == gb.scalars[i].bitPattern,
          "\(operation)'s second gradient at (\(x), \(y))")
      }
    }
  }

  @Test("The Swift and C tables of kernels name the same functions, in the same number")
  func kernelTablesAgree() {
    func snakeCase(_ name: String) -> String {
      name.reduce(into: "") { result, character in
        if character.isUppercase {
          result += "_" + character.lowercased()
        } else {
          result.append(character)
        }
      }
    }
    #expect(UnaryFunction.allCases.count == UnaryFunction.kernelCount)
    for function in UnaryFunction.allCases {
      #expect(function.kernelName == snakeCase("\(function)"))
    }
    #expect(BinaryFunction.allCases.count - 1 == BinaryFunction.kernelCount)  // pow has none
    for function in BinaryFunction.allCases {
      #expect(function.kernelName == (function == .pow ? nil : snakeCase("\(function)")))
    }
  }
}
