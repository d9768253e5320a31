// NaN and infinity through every operation, fused and not: values as C and NumPy give them,
// gradients NaN where the derivative at a NaN is (the rule, in one place: the "NaN and
// infinity" section of the Autodiff documentation's landing page).

import Autodiff
import Foundation
import Testing

@Suite struct NonFiniteValueTests {
  static let specials: [Double] = [
    .nan, .infinity, -.infinity, 0, -0.0, 1, -2, 0.5, .leastNonzeroMagnitude,
  ]
  /// Element counts below and above the fusion threshold (2¹⁵).
  static let counts = [Self.specials.count, 1 << 16]

  /// `pattern` repeated to `count` elements.
  static func tiled(_ pattern: [Double], _ count: Int) -> Tensor<Double> {
    Tensor(shape: [count], scalars: (0..<count).map { pattern[$0 % pattern.count] })
  }

  static func same(_ a: Double, _ b: Double, ulps: Double = 4) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a == b { return true }
    return Swift.abs(a - b) <= ulps * Swift.max(a.ulp, b.ulp)
  }

  static let unary:
    [(
      name: String, f: @Sendable (Tensor<Double>) -> Tensor<Double>,
      c: @Sendable (Double) -> Double, linear: Bool
    )] = [
      ("negate", { -$0 }, { -$0 }, true), ("exp", { exp($0) }, { Foundation.exp($0) }, false),
      ("log", { log($0) }, { Foundation.log($0) }, false),
      ("sqrt", { sqrt($0) }, { $0.squareRoot() }, false),
      ("sin", { sin($0) }, { Foundation.sin($0) }, false),
      ("cos", { cos($0) }, { Foundation.cos($0) }, false),
      ("tanh", { tanh($0) }, { Foundation.tanh($0) }, false),
      (
        "sigmoid", { sigmoid($0) },
        { $0 >= 0 ? 1 / (1 + Foundation.exp(-$0)) : Foundation.exp($0) / (1 + Foundation.exp($0)) },
        false
      ),
      ("relu", { relu($0) }, { $0.isNaN ? $0 : Swift.max($0, 0) }, false),
      ("abs", { abs($0) }, { Swift.abs($0) }, false),
      ("squared", { $0.squared() }, { $0 * $0 }, false),
      ("tan", { tan($0) }, { Foundation.tan($0) }, false),
      ("asin", { asin($0) }, { Foundation.asin($0) }, false),
      ("acos", { acos($0) }, { Foundation.acos($0) }, false),
      ("atan", { atan($0) }, { Foundation.atan($0) }, false),
      ("sinh", { sinh($0) }, { Foundation.sinh($0) }, false),
      ("cosh", { cosh($0) }, { Foundation.cosh($0) }, false),
    ]

  @Test("Elementwise functions of one tensor: NaN and ±∞ as in C; the gradient at a NaN is NaN")
  func unaryFunctions() {
    for count in Self.counts {
      let x = Self.tiled(Self.specials, count)
      for (name, f, c, linear) in Self.unary {
        let y = f(x).scalars
        for i in 0..<Self.specials.count {
          #expect(
            Self.same(y[i], c(Self.specials[i])),
            "\(name)(\(Self.specials[i])) = \(y[i]), count \(count)")
        }
        #expect(zip(y, x.scalars).allSatisfy { !$1.isNaN || $0.isNaN }, "\(name), count \(count)")
        let g = gradient(at: x) { f($0).sum() }.scalars
        #expect(g[0].isNaN != linear, "\(name)'s gradient at NaN is \(g[0]), count \(count)")
      }
    }
  }

  static let binary:
    [(
      name: String, f: @Sendable (Tensor<Double>, Tensor<Double>) -> Tensor<Double>,
      c: @Sendable (Double, Double) -> Double
    )] = [
      ("+", { $0 + $1 }, { $0 + $1 }), ("-", { $0 - $1 }, { $0 - $1 }),
      ("*", { $0 * $1 }, { $0 * $1 }),
      ("/", { $0 / $1 }, { $0 / $1 }), ("pow", { pow($0, $1) }, { Foundation.pow($0, $1) }),
      ("max", { max($0, $1) }, { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }),
      ("min", { min($0, $1) }, { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }),
      ("atan2", { atan2($0, $1) }, { Foundation.atan2($0, $1) }),
    ]

  @Test(
    "Elementwise functions of two tensors: every pair of special values, both orders, as C and NumPy"
  )
  func binaryFunctions() {
    let pairs = Self.specials.flatMap { a in Self.specials.map { b in (a, b) } }
    for count in [pairs.count, 1 << 16] {
      let a = Self.tiled(pairs.map(\.0), count)
      let b = Self.tiled(pairs.map(\.1), count)
      for (name, f, c) in Self.binary {
        let y = f(a, b).scalars
        for (i, (p, q)) in pairs.enumerated() {
          #expect(Self.same(y[i], c(p, q)), "\(name)(\(p), \(q)) = \(y[i]), count \(count)")
        }
      }
      // max and min send NaN to both operands where either is NaN.
      for f in [{ max($0, $1) }, { min($0, $1) }]
        as [(Tensor<Double>, Tensor<Double>) -> Tensor<Double>]
      {
        let (ga, gb) = gradient(at: a, b) { f($0, $1).sum() }
        for (i, (p, q)) in pairs.enumerated() where p.isNaN || q.isNaN {
          #expect(ga.scalars[i].isNaN && gb.scalars[i].isNaN, "max/min gradient at (\(p), \(q))")
        }
      }
    }
  }

  @Test(
    "The side of a kink that does not pass its input on gets 0 when the gradient reaching it is ∞",
    arguments: [1, 4, 1 << 16])
  func inactiveSideGetsZero(count: Int) {
    // As in PyTorch: sqrt's gradient at 0 is ∞, and the flat side of relu, max, min and clamp
    // sends 0 back, not ∞·0 = NaN. Inputs −1 (flat side) and 4 (live side), one element (a
    // scalar sweep), a few, and a fused size.
    let x = Self.tiled([-1, 4], count)
    let expected = Self.tiled([0, 0.25], count)
    let flat: [(String, (Tensor<Double>) -> Tensor<Double>)] = [
      ("relu", { relu($0) }), ("max", { max($0, Tensor(0)) }), ("min", { -min(-$0, Tensor(0)) }),
      ("clamp min", { clamp($0, min: 0) }), ("clamp max", { -clamp(-$0, max: 0) }),
    ]
    for (name, f) in flat {
      let g = gradient(at: x) { sqrt(f($0)).sum() }
      #expect(g == expected, "\(name), \(count) elements: \(g.scalars.prefix(2))")
    }
    // The bound that clamp does not pick gets 0 while x takes the ∞.
    let (dx, dBound) = gradient(at: Self.tiled([4], count), Tensor(zeros: [count])) { x, b in
      sqrt(clamp(x, min: b) - 4).sum()
    }
    #expect(dx.scalars.allSatisfy { $0 == .infinity } && dBound.scalars.allSatisfy { $0 == 0 })
    // leakyRelu and elu at 0 take the negative side's slope, also of an infinite gradient:
    // d/dx 1/f(x) at x = 0 is −∞·slope (the relu inside them gives 0, not ∞·0).
    let zeros = Tensor<Double>(zeros: [count])
    for f in [{ leakyRelu($0, negativeSlope: 0.5) }, { elu($0, alpha: 0.5) }]
      as [(Tensor<Double>) -> Tensor<Double>]
    {
      let g = gradient(at: zeros) { (1 / f($0)).sum() }
      #expect(g.scalars.allSatisfy { $0 == -.infinity }, "\(g.scalars.prefix(2))")
    }
    // max over an axis: the elements it does not pick get 0.
    let rows = Self.tiled([5, 1, 2], 3 * count).reshaped(to: [count, 3])
    let dRows = gradient(at: rows) { log($0.max(alongAxes: [1]) - 5).sum() }.scalars
    #expect(
      dRows.indices.allSatisfy { $0 % 3 == 0 ? dRows[$0] == .infinity : dRows[$0] == 0 },
      "max(alongAxes:), \(count) rows: \(dRows.prefix(3))")
  }

  @Test("A dense layer's fused relu sends 0 back through its flat side, also of an ∞")
  func fusedReluInactiveSide() {
    let w = Tensor<Double>(shape: [2, 2], scalars: [-1, 4, 0.25, -2])
    let identity = Tensor<Double>(shape: [2, 2], scalars: [1, 0, 0, 1])
    let dW = gradient(at: w) { w in
      sqrt(matmul(identity, w, plus: Tensor(zeros: [2]), activation: .relu)).sum()
    }
    let expected = Tensor<Double>(shape: [2, 2], scalars: [0, 0.25, 1, 0])
    #expect(dW == expected)
  }

  @Test("An infinity in a group spoils only its own variance gradient, as in PyTorch")
  func varianceGradientAroundInfinity() {
    // 2·(x − mean)/n with mean = ∞: −∞ at the finite elements, NaN at the infinite one.
    for count in [6, 1 << 16] {
      let x = Self.tiled([1, 2, 4], count).scalars.enumerated().map {
        $0.offset == 2 ? .infinity : $0.element
      }
      let g = gradient(at: Tensor(x)) { $0.variance() }.scalars
      #expect(g[0] == -.infinity && g[1] == -.infinity && g[2].isNaN && g[3] == -.infinity)
    }
  }

  @Test("Reductions, softmax and matmul: a NaN spoils exactly what NumPy's would")
  func reductionsAndProducts() {
    for rows in [3, 200] {
      var scalars = [Double](repeating: 0.5, count: rows * 256)
      scalars[256 + 7] = .nan  // row 1
      scalars[2 * 256 + 9] = .infinity  // row 2
      let x = Tensor<Double>(shape: [rows, 256], scalars: scalars)
      #expect(x.sum().scalar.isNaN && x.mean().scalar.isNaN && x.max().scalar.isNaN)
      let rowSums = x.sum(alongAxes: [1]).scalars
      #expect(rowSums[0] == 128 && rowSums[1].isNaN && rowSums[2] == .infinity)
      let rowMax = x.max(alongAxes: [1]).scalars
      #expect(rowMax[0] == 0.5 && rowMax[1].isNaN && rowMax[2] == .infinity)
      let s = softmax(x, alongAxis: 1).scalars
      #expect(s[0..<256].allSatisfy { $0 == 1.0 / 256 })
      #expect(s[256..<512].allSatisfy { $0.isNaN })
      let product = matmul(x, Tensor(ones: [256, 2])).scalars
      #expect(product[0] == 128 && product[2].isNaN && product[3].isNaN && product[4] == .infinity)
      let g = gradient(at: x) { $0.max(alongAxes: [1]).sum() }.scalars
      #expect(g[256 + 7] == 1 && g[0..<256].reduce(0, +) == 1)
    }
  }

  @Test("Linear algebra: a NaN or an infinity in the input makes every result and gradient NaN")
  func linearAlgebra() {
    let a = Tensor<Double>(shape: [2, 2], scalars: [2, .nan, 0.5, 3])
    let b = Tensor<Double>([1, 2])
    let operations: [(String, (Tensor<Double>) -> Tensor<Double>)] = [
      ("solve", { try! solve($0, b) }), ("inverse", { try! inverse($0) }),
      ("determinant", { determinant($0) }), ("cholesky", { try! cholesky($0) }),
      ("qr", { qr($0).r }), ("eigh", { try! eigh($0).values }), ("svd", { try! svd($0).s }),
    ]
    for (name, f) in operations {
      for matrix in [a, Tensor(shape: [2, 2], scalars: [2, 1, 0.5, .infinity])] {
        #expect(f(matrix).scalars.allSatisfy { $0.isNaN }, "\(name)")
        #expect(
          gradient(at: matrix) { f($0).sum() }.scalars.allSatisfy { $0.isNaN }, "\(name)'s gradient"
        )
      }
    }
  }
}
