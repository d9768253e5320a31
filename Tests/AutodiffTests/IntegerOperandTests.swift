// The integer forms of + - * / (Ops/Arithmetic.swift): an integer converts to the tensor's
// scalar type first, so each gives the value and the gradients of the scalar form.

import Autodiff
import Testing

@Suite struct IntegerOperandTests {
  enum Operator: String, CaseIterable, Sendable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"
  }

  /// `n op x` and `x op n` through the integer forms, and through the scalar forms.
  static func apply<Scalar: TensorScalar>(
    _ op: Operator, _ n: Int, _ x: Tensor<Scalar>
  ) -> (integer: [Tensor<Scalar>], scalar: [Tensor<Scalar>]) {
    let c = Scalar(n)
    switch op {
    case .add: return ([n + x, x + n], [c + x, x + c])
    case .subtract: return ([n - x, x - n], [c - x, x - c])
    case .multiply: return ([n * x, x * n], [c * x, x * c])
    case .divide: return ([n / x, x / n], [c / x, x / c])
    }
  }

  @Test("An integer on either side gives the scalar form's value", arguments: Operator.allCases)
  func values(op: Operator) {
    let x = Tensor<Float>(shape: [2, 2], scalars: [1.5, -2, 4, 0.25])
    let (integer, scalar) = Self.apply(op, 3, x)
    #expect(integer == scalar)
    let y = Tensor<Double>([0.5, -3, 7])
    let (integerDouble, scalarDouble) = Self.apply(op, -2, y)
    #expect(integerDouble == scalarDouble)
  }

  @Test("An integer on either side gives the scalar form's gradient", arguments: Operator.allCases)
  func gradients(op: Operator) {
    let x = Tensor<Double>([0.5, -3, 7])
    for side in 0..<2 {
      let integer = gradient(at: x) { Self.apply(op, 5, $0).integer[side].sum() }
      let scalar = gradient(at: x) { Self.apply(op, 5, $0).scalar[side].sum() }
      #expect(integer == scalar)
    }
  }

  @Test("Integers of any width and literals mix with tensors, as in NumPy")
  func integerTypes() {
    let x = Tensor<Float>([1, 2])
    let (n, m, k): (Int, UInt8, Int64) = (2, 3, -1)
    #expect(n * x + m - x / k == Tensor([6, 9]))
    #expect(1 / (1 + x) == Tensor([0.5, 1 / 3]))
  }
}
