// The vectorized exp, expm1, log, log1p, sin, cos, tanh, sigmoid, sinh, cosh, and Float's erf,
// tan, asin, acos, atan and atan2, against the C library, element by element, in ulps of the C
// library's answer, over seeded inputs across each function's range, the edges of the vectorized
// forms' domains and the special values (which must match C's exactly); and the functions that
// call the C library per element (Double's erf, tan, asin, acos, atan and atan2), which must give
// its bits.

import Autodiff
import Foundation
import Testing

/// A function as Autodiff computes it on a tensor, and as the C library computes it per element.
struct ElementaryCase<Scalar: TensorScalar>: CustomTestStringConvertible, Sendable {
  let name: String
  let tensor: @Sendable (Tensor<Scalar>) -> Tensor<Scalar>
  let reference: @Sendable (Scalar) -> Scalar
  /// Uniform ranges to sample, as (low, high); `logarithmic` samples the exponent instead.
  let ranges: [(Scalar, Scalar)]
  var logarithmic = false
  /// The largest error allowed, in ulps of the reference value.
  var tolerance: Double = 2
  var testDescription: String { name }
}

/// The largest error of `testCase` over its inputs, in ulps; special values must agree exactly.
func largestError<Scalar: TensorScalar>(
  _ testCase: ElementaryCase<Scalar>, specialValues: [Scalar], samplesPerRange: Int = 20_000
) -> (ulps: Double, at: Scalar) where Scalar.RawSignificand: FixedWidthInteger {
  var rng = SeededGenerator(seed: 7)
  var inputs = specialValues
  for (low, high) in testCase.ranges {
    for _ in 0..<samplesPerRange {
      if testCase.logarithmic {
        let e = Double.random(in: Double(low)...Double(high), using: &rng)
        inputs.append(Scalar(Foundation.exp(e)))
      } else {
        inputs.append(Scalar.random(in: low...high, using: &rng))
      }
    }
  }
  // Odd counts exercise the loops' tails; one tensor holds every block kind.
  let outputs = testCase.tensor(Tensor(shape: [inputs.count], scalars: inputs)).scalars
  var worst: (ulps: Double, at: Scalar) = (0, 0)
  for (x, y) in zip(inputs, outputs) {
    let expected = testCase.reference(x)
    let ulps: Double
    if expected.isNaN || !expected.isFinite || expected == 0 {
      // Special results must be C's, to the bit (the sign of zero included).
      ulps = y.widePattern == expected.widePattern || (y.isNaN && expected.isNaN) ? 0 : .infinity
    } else {
      ulps = Double(Swift.abs(y - expected) / expected.ulp)
    }
    if ulps > worst.ulps { worst = (ulps, x) }
  }
  return worst
}

extension TensorScalar {
  /// The bit pattern, widened.
  var widePattern: UInt64 {
    if let x = self as? Float { return UInt64(x.bitPattern) }
    return (self as! Double).bitPattern
  }
}

func specialValues<Scalar: TensorScalar>(_: Scalar.Type) -> [Scalar] {
  [
    0, -0.0, 1, -1, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
    .leastNormalMagnitude, .leastNormalMagnitude / 3, .greatestFiniteMagnitude,
    -.greatestFiniteMagnitude, 88, -88, 89, -104, 710, -710, 745, -746, 20, -20, 9.5, 8192,
    8193, 100_000, 100_001, 1e10, -1e10, .pi, -.pi, .pi / 2, .pi / 4, 3 * .pi / 4,
    -.pi / 2, 3 * .pi / 2, (1 as Scalar).nextUp, (1 as Scalar).nextDown, (-1 as Scalar).nextDown,
    (-1 as Scalar).nextUp,
  ]
}

func elementaryCases<Scalar: TensorScalar>(_: Scalar.Type) -> [ElementaryCase<Scalar>] {
  let isFloat = Scalar.self == Float.self
  let expLimit: Scalar = isFloat ? 87 : 708
  let angleLimit: Scalar = isFloat ? 8192 : 100_000
  return [
    ElementaryCase(
      name: "exp", tensor: { exp($0) }, reference: { Scalar.exp($0) },
      ranges: [(-1, 1), (-expLimit, expLimit), (-expLimit - 20, -expLimit)]),
    ElementaryCase(
      name: "log", tensor: { log($0) }, reference: { Scalar.log($0) },
      ranges: isFloat ? [(-80, 80), (-0.01, 0.01)] : [(-700, 700), (-0.001, 0.001)],
      logarithmic: true),
    ElementaryCase(
      name: "sin", tensor: { sin($0) }, reference: { Scalar.sin($0) },
      ranges: [(-4, 4), (-angleLimit, angleLimit)]),
    ElementaryCase(
      name: "cos", tensor: { cos($0) }, reference: { Scalar.cos($0) },
      ranges: [(-4, 4), (-angleLimit, angleLimit)]),
    ElementaryCase(
      name: "tanh", tensor: { tanh($0) }, reference: { Scalar.tanh($0) },
      // 4: every Float checked once, 4 ulps from glibc at 0.17365234 (2.4 below the correctly
      // rounded value, glibc's tanhf 2.1 above it).
      ranges: [(-1e-6, 1e-6), (-1, 1), (-25, 25)], tolerance: 4),
    ElementaryCase(
      name: "sigmoid", tensor: { sigmoid($0) },
      reference: { x in
        // 1/(1 + e⁻ˣ) through the C library, in the form that does not overflow.
        x >= 0 ? 1 / (1 + Scalar.exp(-x)) : Scalar.exp(x) / (1 + Scalar.exp(x))
      },
      ranges: [(-1, 1), (-expLimit, expLimit), (-expLimit - 30, -expLimit)]),
    ElementaryCase(
      name: "expm1", tensor: { expm1($0) }, reference: { Scalar.expMinusOne($0) },
      ranges: [(-1e-6, 1e-6), (-1, 1), (-expLimit, expLimit), (-expLimit - 20, -expLimit)]),
    ElementaryCase(
      name: "log1p", tensor: { log1p($0) }, reference: { Scalar.log(onePlus: $0) },
      ranges: [(-1e-6, 1e-6), (-1, 1), (-1, -0.999), (1, 100), (100, 1e30)]),
    // Float's is vectorized (1.17 ulps from the exact value at most, every third Float of
    // [0, 6] checked), Double's is the C library's.
    ElementaryCase(
      name: "erf", tensor: { erf($0) }, reference: { Scalar.erf($0) },
      ranges: [(-1e-6, 1e-6), (-1, 1), (1, 2), (2, 4), (-6, 6), (-50, 50)], tolerance: 2),
    // Float's is Double's quotient of the sin and cos series, rounded once: 0.5 ulps from the
    // exact value, 1 from glibc's tanf (every Float of the fast domain checked once). Double's
    // is the C library's.
    ElementaryCase(
      name: "tan", tensor: { tan($0) }, reference: { Scalar.tan($0) },
      ranges: [
        (-1e-6, 1e-6), (-1.5, 1.5), (1.5707, 1.5709), (-4, 4), (-angleLimit, angleLimit),
        (-1e10, 1e10),
      ],
      tolerance: isFloat ? 1 : 0),
    // Within 1.5 ulps of the exact value, 2 of glibc (whose sinh is itself 1.3 ulps off in
    // Double near 0.85); past exp's fast domain, the C library's.
    ElementaryCase(
      name: "sinh", tensor: { sinh($0) }, reference: { Scalar.sinh($0) },
      ranges: [
        (-1e-6, 1e-6), (-1, 1), (0.9, 1.1), (-4, 4), (-expLimit, expLimit),
        (expLimit, expLimit + 5), (-expLimit - 5, -expLimit),
      ]),
    ElementaryCase(
      name: "cosh", tensor: { cosh($0) }, reference: { Scalar.cosh($0) },
      ranges: [
        (-1e-6, 1e-6), (-1, 1), (-4, 4), (-expLimit, expLimit), (expLimit, expLimit + 5),
        (-expLimit - 5, -expLimit),
      ]),
    // Float's from an arctangent in Double, rounded once: 0.5 ulps from the exact value, 1 from
    // glibc (every Float checked once). Double's are the C library's, to the bit. NaN outside
    // [−1, 1] for asin and acos.
    ElementaryCase(
      name: "asin", tensor: { asin($0) }, reference: { Scalar.asin($0) },
      ranges: [(-1e-6, 1e-6), (-1, 1), (0.999, 1), (-1, -0.999), (-3, 3)],
      tolerance: isFloat ? 1 : 0),
    ElementaryCase(
      name: "acos", tensor: { acos($0) }, reference: { Scalar.acos($0) },
      ranges: [(-1e-6, 1e-6), (-1, 1), (0.999, 1), (-1, -0.999), (-3, 3)],
      tolerance: isFloat ? 1 : 0),
    ElementaryCase(
      name: "atan", tensor: { atan($0) }, reference: { Scalar.atan($0) },
      ranges: [(-1e-6, 1e-6), (-1, 1), (-100, 100), (-1e30, 1e30)], tolerance: isFloat ? 1 : 0),
  ]
}

@Suite struct VectorMathTests {
  @Test(arguments: elementaryCases(Float.self))
  func float(_ testCase: ElementaryCase<Float>) {
    let worst = largestError(testCase, specialValues: specialValues(Float.self))
    #expect(worst.ulps <= testCase.tolerance, "\(testCase.name)(\(worst.at)): \(worst.ulps) ulps")
  }

  @Test(arguments: elementaryCases(Double.self))
  func double(_ testCase: ElementaryCase<Double>) {
    let worst = largestError(testCase, specialValues: specialValues(Double.self))
    #expect(worst.ulps <= testCase.tolerance, "\(testCase.name)(\(worst.at)): \(worst.ulps) ulps")
  }

  @Test(
    "atan2 is the C library's on every pair of special values, and over the plane within an ulp in Float, to the bit in Double"
  )
  func atan2AgreesWithTheCLibrary() {
    func check<Scalar: TensorScalar>(_: Scalar.Type)
    where Scalar.RawSignificand: FixedWidthInteger {
      var rng = SeededGenerator(seed: 11)
      let specials = specialValues(Scalar.self)
      var pairs = specials.flatMap { y in specials.map { x in (y, x) } }
      for range in [Scalar(1e-30), 1e-6, 1, 100, 1e30] {
        for _ in 0..<10_000 {
          pairs.append(
            (
              Scalar.random(in: -range...range, using: &rng),
              Scalar.random(in: -range...range, using: &rng)
            ))
        }
      }
      let y = Tensor(shape: [pairs.count], scalars: pairs.map(\.0))
      let x = Tensor(shape: [pairs.count], scalars: pairs.map(\.1))
      // Elementwise, and with each operand a repeated scalar (the kernels' strides of 0).
      let results = [
        atan2(y, x).scalars, atan2(y, Tensor(specials[0])).scalars,
        atan2(Tensor(specials[0]), x).scalars,
      ]
      let operands = [pairs, pairs.map { ($0.0, specials[0]) }, pairs.map { (specials[0], $0.1) }]
      // Float's is computed in Double and rounded once (within an ulp of glibc's atan2f over 2·10⁷
      // random bit patterns); Double's is the C library's.
      let tolerance: Scalar = Scalar.self == Float.self ? 1 : 0
      for (result, operands) in zip(results, operands) {
        let wrong = zip(result, operands).filter { z, p in
          let expected = Scalar.atan2(y: p.0, x: p.1)
          if expected.isNaN || !expected.isFinite || expected == 0 {
            // Special results are C's, to the bit (the sign of zero included).
            return z.widePattern != expected.widePattern && !(z.isNaN && expected.isNaN)
          }
          return Swift.abs(z - expected) > tolerance * expected.ulp
        }
        #expect(wrong.isEmpty, "\(Scalar.self) atan2 differs from C at \(wrong.prefix(3))")
      }
    }
    check(Float.self)
    check(Double.self)
  }
}
