// exp, log, sin, cos, tanh and the logistic function as branch-free arithmetic that the compiler
// vectorizes, in place of a call to libm per element.
//
// Each function reduces its argument with the usual identities (eˣ = 2ᵏ·eʳ, log x = k·ln 2 +
// log m, sin x = ±sin r or ±cos r with x = q·π/2 + r) and evaluates a truncated Taylor series on
// the reduced range, with enough terms that the truncation is below half an ulp. Every step is an
// add, multiply, divide, compare-and-select or integer operation on the bit pattern, so the loops
// over a buffer compile to packed SSE. Rounding the reduction's multiple uses the 1.5·2ᵖ shifter
// trick (adding and subtracting it rounds to an integer, and the integer then sits in the low
// bits of the sum's pattern), which avoids conversions that SSE2 lacks for 64-bit integers.
//
// Each function has a *fast domain* where this arithmetic is exact to a few ulps: normal results
// for exp, positive normal arguments for log, |x| small enough for the three-part reduction of
// sin and cos. Blocks of elements entirely inside it take the vectorized loop; a block holding
// an element outside (NaN, ±∞, a subnormal, a huge angle) is computed element by element, with
// libm for those elements, so special values keep C's answers.

/// `Float` and `Double`: the arithmetic the vectorized functions need, and per type the
/// constants and series lengths that make them accurate.
protocol VectorMathScalar: TensorScalar {
  associatedtype Bits: FixedWidthInteger & UnsignedInteger
  var bitPattern: Bits { get }
  init(bitPattern: Bits)

  /// 1.5·2ᵖ with p the significand's bit count: `(x + shifter) − shifter` is x rounded to an
  /// integer, for |x| < 2ᵖ⁻¹.
  static var shifter: Self { get }
  /// ln 2 in two parts: `k · ln2High` is exact for every k of the fast domain.
  static var ln2High: Self { get }
  static var ln2Low: Self { get }
  /// π/2 in four parts: `q` times each of the first three is exact for every quadrant `q` of
  /// the fast domain of sin and cos, so x − q·π/2 loses nothing to cancellation.
  static var piOver2Parts: (Self, Self, Self, Self) { get }
  /// |x| bounds of the fast domains.
  static var expLimit: Self { get }
  static var trigonometricLimit: Self { get }
  /// A |x| past which tanh x rounds to ±1.
  static var tanhSaturation: Self { get }
  /// The bit pattern of √½: log's argument is scaled into [√½, √2).
  static var sqrtHalfBits: Bits { get }

  /// eʳ − 1 and eʳ for |r| ≤ ln 2 / 2.
  static func expm1Series(_ r: Self) -> Self
  /// sin r and cos r for |r| ≤ π/4.
  static func sinSeries(_ r: Self) -> Self
  static func cosSeries(_ r: Self) -> Self
  /// R(z) = 2z/3 + 2z²/5 + 2z³/7 + …, with z = s², s = f/(2 + f): log(1 + f) = f − s·(f − R).
  static func logSeries(_ z: Self) -> Self
}

extension Float: VectorMathScalar {
  static var shifter: Float { 12_582_912 }  // 1.5·2²³
  static var ln2High: Float { 0.693_145_751_953_125 }  // 16 significant bits
  static var ln2Low: Float { 1.428_606_765_330_187e-06 }
  static var piOver2Parts: (Float, Float, Float, Float) {
    // 11, 11 and 11 significant bits of π/2, then the next 24.
    (1.570_312_5, 4.837_512_969_970_703e-04, 7.549_533_620_476_723e-08, 2.563_344_068_257_089_6e-12)
  }
  static var expLimit: Float { 87 }
  static var trigonometricLimit: Float { 8192 }
  static var tanhSaturation: Float { 10 }
  static var sqrtHalfBits: UInt32 { 0x3f35_04f3 }

  @inline(__always)
  static func expm1Series(_ r: Float) -> Float {
    // Terms to r⁷/7!: r⁸/8! < 6e-9 for |r| ≤ ln 2 / 2.
    r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040)))))))
  }

  @inline(__always)
  static func sinSeries(_ r: Float) -> Float {
    let r2 = r * r
    return r + r * r2 * (-1 / 6 + r2 * (1 / 120 + r2 * (-1 / 5040 + r2 * (1 / 362_880))))
  }

  @inline(__always)
  static func cosSeries(_ r: Float) -> Float {
    let r2 = r * r
    return 1 + r2 * (-1 / 2 + r2 * (1 / 24 + r2 * (-1 / 720 + r2 * (1 / 40320 - r2 * (1 / 3_628_800)))))
  }

  @inline(__always)
  static func logSeries(_ z: Float) -> Float {
    z * (2 / 3 + z * (2 / 5 + z * (2 / 7 + z * (2 / 9 + z * (2 / 11)))))
  }
}

extension Double: VectorMathScalar {
  static var shifter: Double { 6_755_399_441_055_744 }  // 1.5·2⁵²
  static var ln2High: Double { 6.931_471_803_691_238_164_90e-01 }  // 32 significant bits
  static var ln2Low: Double { 1.908_214_929_270_587_700_02e-10 }
  static var piOver2Parts: (Double, Double, Double, Double) {
    // 33, 33 and 33 significant bits of π/2, then the next 53.
    (1.570_796_326_734_125_6, 6.077_100_506_303_966e-11, 2.022_266_248_711_166_5e-21, 8.478_427_660_368_9e-32)
  }
  static var expLimit: Double { 708 }
  static var trigonometricLimit: Double { 100_000 }
  static var tanhSaturation: Double { 20 }
  static var sqrtHalfBits: UInt64 { 0x3fe6_a09e_667f_3bcd }

  @inline(__always)
  static func expm1Series(_ r: Double) -> Double {
    // Terms to r¹³/13!: r¹⁴/14! < 5e-18 for |r| ≤ ln 2 / 2.
    r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040
      + r * (1 / 40320 + r * (1 / 362_880 + r * (1 / 3_628_800 + r * (1 / 39_916_800
      + r * (1 / 479_001_600 + r * (1 / 6_227_020_800)))))))))))))
  }

  @inline(__always)
  static func sinSeries(_ r: Double) -> Double {
    // Terms to r¹⁷/17!: r¹⁹/19! < 1e-19 for |r| ≤ π/4.
    let r2 = r * r
    return r + r * r2 * (-1 / 6 + r2 * (1 / 120 + r2 * (-1 / 5040 + r2 * (1 / 362_880
      + r2 * (-1 / 39_916_800 + r2 * (1 / 6_227_020_800 + r2 * (-1 / 1_307_674_368_000
      + r2 * (1 / 355_687_428_096_000))))))))
  }

  @inline(__always)
  static func cosSeries(_ r: Double) -> Double {
    // Terms to r¹⁸/18!: r²⁰/20! < 4e-21 for |r| ≤ π/4.
    let r2 = r * r
    return 1 + r2 * (-1 / 2 + r2 * (1 / 24 + r2 * (-1 / 720 + r2 * (1 / 40320
      + r2 * (-1 / 3_628_800 + r2 * (1 / 479_001_600 + r2 * (-1 / 87_178_291_200
      + r2 * (1 / 20_922_789_888_000 - r2 * (1 / 6_402_373_705_728_000)))))))))
  }

  @inline(__always)
  static func logSeries(_ z: Double) -> Double {
    // Terms to 2z¹⁰/21: the next, relative to log's value, is below 1e-18 for z ≤ 0.0295.
    z * (2 / 3 + z * (2 / 5 + z * (2 / 7 + z * (2 / 9 + z * (2 / 11 + z * (2 / 13 + z * (2 / 15
      + z * (2 / 17 + z * (2 / 19 + z * (2 / 21))))))))))
  }
}

// MARK: - The functions, for one element of the fast domain

extension VectorMathScalar {
  /// The exponent field's bias, 127 or 1023.
  @inline(__always)
  static var exponentBias: Bits { (1 << (Bits(exponentBitCount) - 1)) - 1 }

  /// The integer `k` held in the low bits of `t = k + shifter`, as a float: exact, and free of
  /// the 64-bit integer conversion that SSE2 lacks.
  @inline(__always)
  static func integerPart(_ t: Self) -> (value: Self, bits: Bits) {
    (t - shifter, t.bitPattern &- shifter.bitPattern)
  }

  /// 2ᵏ for an integer k of the normal range, given k's two's-complement bits.
  @inline(__always)
  static func powerOfTwo(_ k: Bits) -> Self {
    Self(bitPattern: (k &+ exponentBias) &<< Bits(significandBitCount))
  }

  /// eˣ − 1 as (2ᵏ, eʳ − 1) with x = k·ln 2 + r: eˣ = 2ᵏ·(1 + (eʳ − 1)).
  @inline(__always)
  static func reducedExp(_ x: Self) -> (scale: Self, expm1: Self) {
    let (k, kBits) = integerPart(x * 1.442_695_040_888_963_4 + shifter)  // x·log₂e
    let r = (x - k * ln2High) - k * ln2Low
    return (powerOfTwo(kBits), expm1Series(r))
  }

  @inline(__always)
  static func vectorExp(_ x: Self) -> Self {
    let (scale, e) = reducedExp(x)
    return scale + scale * e
  }

  @inline(__always)
  static func vectorLog(_ x: Self) -> Self {
    // Scale x = 2ᵏ·m with m in [√½, √2) by moving the exponent field, so that f = m − 1 is small.
    let one = Self(1).bitPattern
    let shifted = x.bitPattern &+ (one &- sqrtHalfBits)
    let kBits = (shifted >> Bits(significandBitCount)) &- exponentBias
    let significandMask: Bits = (1 << Bits(significandBitCount)) - 1
    let m = Self(bitPattern: (shifted & significandMask) &+ sqrtHalfBits)
    let k = Self(bitPattern: shifter.bitPattern &+ kBits) - shifter
    let f = m - 1
    let s = f / (2 + f)
    let halfSquare = f * f / 2
    let r = logSeries(s * s)
    return k * ln2High + (f - (halfSquare - (s * (halfSquare + r) + k * ln2Low)))
  }

  /// x − q·π/2 for the nearest integer q, and q's bits.
  @inline(__always)
  static func quadrant(_ x: Self) -> (r: Self, q: Bits) {
    let (q, qBits) = integerPart(x * 0.636_619_772_367_581_3 + shifter)  // x·2/π
    let (p0, p1, p2, p3) = piOver2Parts
    return ((((x - q * p0) - q * p1) - q * p2) - q * p3, qBits)
  }

  /// Flips the sign of `x` when bit 1 of `q` is set.
  @inline(__always)
  static func negated(_ x: Self, whenBit1Of q: Bits) -> Self {
    Self(bitPattern: x.bitPattern ^ ((q & 2) &<< Bits(Bits.bitWidth - 2)))
  }

  @inline(__always)
  static func vectorSin(_ x: Self) -> Self {
    // sin(r + qπ/2) is sin r, cos r, −sin r, −cos r for q mod 4 = 0, 1, 2, 3.
    let (r, q) = quadrant(x)
    let value = q & 1 == 0 ? sinSeries(r) : cosSeries(r)
    return x == 0 ? x : negated(value, whenBit1Of: q)  // sin(−0) = −0
  }

  @inline(__always)
  static func vectorCos(_ x: Self) -> Self {
    // cos(r + qπ/2) is cos r, −sin r, −cos r, sin r for q mod 4 = 0, 1, 2, 3.
    let (r, q) = quadrant(x)
    let value = q & 1 == 0 ? cosSeries(r) : sinSeries(r)
    return negated(value, whenBit1Of: q &+ 1)
  }

  @inline(__always)
  static func vectorTanh(_ x: Self) -> Self {
    // With e = e^(2|x|) − 1: tanh |x| = e/(e + 2), which keeps its precision near 0 (eʳ − 1 is
    // the series itself when k = 0), and = 1 − 2/(e + 2) from |x| = 0.55 (tanh > 0.5) on, where
    // the first form would lose the small 2/(e + 2) to rounding (tanh 8.7 in Float is 1 − 1 ulp,
    // not 1). Past the saturation point both are 1 exactly.
    let a = Swift.min(x.magnitude, tanhSaturation)
    let (scale, e) = reducedExp(2 * a)
    let expm1 = scale * e + (scale - 1)
    let t = a < 0.55 ? expm1 / (expm1 + 2) : 1 - 2 / (expm1 + 2)
    let signBit = x.bitPattern & (1 &<< Bits(Bits.bitWidth - 1))
    return Self(bitPattern: t.bitPattern | signBit)
  }

  @inline(__always)
  static func vectorSigmoid(_ x: Self) -> Self {
    // With e = e^(−|x|) ≤ 1: σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0; neither
    // overflows.
    let e = vectorExp(-x.magnitude)
    return (x >= 0 ? 1 : e) / (1 + e)
  }
}

// MARK: - Loops over buffers

/// A function with a vectorized form on its fast domain and a reference form (libm) for every
/// argument.
private protocol VectorizedFunction {
  static func vectorized<T: VectorMathScalar>(_ x: T) -> T
  /// 1 when `x` is outside the fast domain, else 0.
  static func outside<T: VectorMathScalar>(_ x: T) -> T.Bits
  static func reference<T: VectorMathScalar>(_ x: T) -> T
}

// The domain tests work on bit patterns: a float comparison turned into a count does not
// vectorize (LLVM keeps it a branch), integer subtraction and shift do. For non-negative floats
// the order of the patterns is the order of the values, and a NaN's magnitude pattern is above
// infinity's.
extension VectorMathScalar {
  /// 1 when |x| > limit or x is NaN, else 0.
  @inline(__always)
  static func outside(_ x: Self, magnitudeAbove limit: Self) -> Bits {
    let magnitude = x.bitPattern & ~(1 &<< Bits(Bits.bitWidth - 1))
    return (limit.bitPattern &- magnitude) &>> Bits(Bits.bitWidth - 1)
  }

  /// 1 when x is not in [low, high], for positive bounds, or x is NaN, else 0.
  @inline(__always)
  static func outside(_ x: Self, from low: Self, through high: Self) -> Bits {
    let b = x.bitPattern  // the sign bit, or the sign of b − low or of high − b
    return (b | (b &- low.bitPattern) | (high.bitPattern &- b)) &>> Bits(Bits.bitWidth - 1)
  }
}

private enum Exp: VectorizedFunction {
  @inline(__always) static func vectorized<T: VectorMathScalar>(_ x: T) -> T { T.vectorExp(x) }
  @inline(__always) static func outside<T: VectorMathScalar>(_ x: T) -> T.Bits {
    T.outside(x, magnitudeAbove: T.expLimit)
  }
  static func reference<T: VectorMathScalar>(_ x: T) -> T { T.exp(x) }
}

private enum Log: VectorizedFunction {
  @inline(__always) static func vectorized<T: VectorMathScalar>(_ x: T) -> T { T.vectorLog(x) }
  @inline(__always) static func outside<T: VectorMathScalar>(_ x: T) -> T.Bits {
    T.outside(x, from: T.leastNormalMagnitude, through: T.greatestFiniteMagnitude)
  }
  static func reference<T: VectorMathScalar>(_ x: T) -> T { T.log(x) }
}

private enum Sin: VectorizedFunction {
  @inline(__always) static func vectorized<T: VectorMathScalar>(_ x: T) -> T { T.vectorSin(x) }
  @inline(__always) static func outside<T: VectorMathScalar>(_ x: T) -> T.Bits {
    T.outside(x, magnitudeAbove: T.trigonometricLimit)
  }
  static func reference<T: VectorMathScalar>(_ x: T) -> T { T.sin(x) }
}

private enum Cos: VectorizedFunction {
  @inline(__always) static func vectorized<T: VectorMathScalar>(_ x: T) -> T { T.vectorCos(x) }
  @inline(__always) static func outside<T: VectorMathScalar>(_ x: T) -> T.Bits {
    T.outside(x, magnitudeAbove: T.trigonometricLimit)
  }
  static func reference<T: VectorMathScalar>(_ x: T) -> T { T.cos(x) }
}

private enum Tanh: VectorizedFunction {
  @inline(__always) static func vectorized<T: VectorMathScalar>(_ x: T) -> T { T.vectorTanh(x) }
  @inline(__always) static func outside<T: VectorMathScalar>(_ x: T) -> T.Bits {
    T.outside(x, magnitudeAbove: T.infinity)
  }
  static func reference<T: VectorMathScalar>(_ x: T) -> T { T.tanh(x) }
}

private enum Sigmoid: VectorizedFunction {
  @inline(__always) static func vectorized<T: VectorMathScalar>(_ x: T) -> T {
    T.vectorSigmoid(x)
  }
  @inline(__always) static func outside<T: VectorMathScalar>(_ x: T) -> T.Bits {
    T.outside(x, magnitudeAbove: T.expLimit)
  }
  static func reference<T: VectorMathScalar>(_ x: T) -> T { T.sigmoid(x) }
}

/// Elements per block: small enough to stay in L1 between the domain check and the loop.
private let blockSize = 512

/// `y[i] = F(x[i])`, block by block. `x` and `y` may be the same buffer.
@inline(__always)
private func vectorizedLoop<F: VectorizedFunction, T: VectorMathScalar>(
  _: F.Type, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int
) {
  var start = 0
  while start < n {
    let end = Swift.min(start + blockSize, n)
    var outside: T.Bits = 0
    for i in start..<end { outside &+= F.outside(x[i]) }
    if outside == 0 {
      for i in start..<end { y[i] = F.vectorized(x[i]) }
    } else {
      for i in start..<end {
        let v = x[i]
        y[i] = F.outside(v) == 0 ? F.vectorized(v) : F.reference(v)
      }
    }
    start = end
  }
}

/// A transcendental function of the elements of `x`, written to `y`; `nil` for other functions.
enum VectorMath {
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  static func apply<T: VectorMathScalar>(
    _ function: UnaryFunction, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count n: Int
  ) -> Bool {
    switch function {
    case .exp: vectorizedLoop(Exp.self, x, y, n)
    case .log: vectorizedLoop(Log.self, x, y, n)
    case .sin: vectorizedLoop(Sin.self, x, y, n)
    case .cos: vectorizedLoop(Cos.self, x, y, n)
    case .tanh: vectorizedLoop(Tanh.self, x, y, n)
    case .sigmoid: vectorizedLoop(Sigmoid.self, x, y, n)
    default: return false
    }
    return true
  }
}
