// The elementwise kernels of Autodiff: the arithmetic of Kernels/Elementwise.swift's unary and
// binary functions (Elementwise.inc), and exp, expm1, log, log1p, sin, cos, tanh, sinh, cosh and
// the logistic function as branch-free arithmetic that the compiler vectorizes, in place of a call
// to libm per element (VectorMath.inc; Float's erf and tan below).
//
// Each function reduces its argument with the usual identities (eˣ = 2ᵏ·eʳ, log x = k·ln 2 +
// log m, sin x = ±sin r or ±cos r with x = q·π/2 + r) and evaluates a truncated Taylor series on
// the reduced range, with enough terms that the truncation is below half an ulp. Every step is an
// add, multiply, divide, compare-and-select or integer operation on the bit pattern. Rounding the
// reduction's multiple uses the 1.5·2ᵖ shifter trick (adding and subtracting it rounds to an
// integer, and the integer then sits in the low bits of the sum's pattern).
//
// Each function has a *fast domain* where this arithmetic is exact to a few ulps: normal results
// for exp, positive normal arguments for log, |x| small enough for the three-part reduction of
// sin and cos. Blocks of elements entirely inside it take the vectorized loop; a block holding
// an element outside (NaN, ±∞, a subnormal, a huge angle) is computed element by element, with
// libm for those elements, so special values keep C's answers.
//
// Why C: Swift compiles for the baseline x86-64 (SSE2, four Floats per instruction) and has no
// way to compile one function for a wider vector unit. Here `target_clones` compiles the loops
// for AVX-512, AVX2 and the baseline, and the loader picks the best the CPU has. The gradient of
// Σ relu(x)² + σ(x) over 2²⁰ Floats spent most of its time in the SSE sigmoid and the SSE
// arithmetic around it (elementwise benchmark).
//
// Floating-point contraction is off, and the polynomials and reductions fuse their multiplies
// and adds explicitly with fma (`FMA`), which rounds once by definition: every clone computes the
// same bits, so the results do not depend on the CPU. The AVX2 and AVX-512 clones run fma as one
// instruction (exp went from 0.40 to 0.21 ns per Float in L1, sigmoid from 0.48 to 0.31: AVX-512
// clone, one thread); the baseline clone, for x86-64 CPUs older than AVX2 (2013), calls the C
// library's fma, correct but several times slower.

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#include "CElementwise.h"

// A switch over the kernels that misses one does not build.
#pragma clang diagnostic error "-Wswitch"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// The rows autodiff_column_sum adds in row order before it adds blocks pairwise: a batch of up
// to 128 rows sums as adding one row after another does.
#define COLUMN_SUM_BLOCK 128

// Under ThreadSanitizer the loops are compiled once, for the baseline: it instruments the
// resolver that picks a clone, which the loader runs before the sanitizer has started, and the
// test binary crashed as it loaded.
#if defined(__x86_64__) && defined(__clang__)
#if __has_feature(thread_sanitizer)
#define VECTOR_CLONES
#else
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#else
#define VECTOR_CLONES
#endif

static inline uint32_t bits_float(float x) { uint32_t b; memcpy(&b, &x, 4); return b; }
static inline float float_bits(uint32_t b) { float x; memcpy(&x, &b, 4); return x; }
static inline uint64_t bits_double(double x) { uint64_t b; memcpy(&b, &x, 8); return b; }
static inline double double_bits(uint64_t b) { double x; memcpy(&x, &b, 8); return x; }

// MARK: Float's inverse tangents, in Double

// atan t for |t| ≤ tan(π/8) = 0.4142, as t + t·(Σ (−1)ⁿ t²ⁿ/(2n + 1) − 1): terms to t²⁷/27,
// the next below 3·10⁻¹² of t, far below Float's half ulp.
static inline double atan_series_in_double(double t) {
  double z = t * t;
  double p = __builtin_fma(z, -1.0 / 27, 1.0 / 25);
  p = __builtin_fma(z, p, -1.0 / 23);
  p = __builtin_fma(z, p, 1.0 / 21);
  p = __builtin_fma(z, p, -1.0 / 19);
  p = __builtin_fma(z, p, 1.0 / 17);
  p = __builtin_fma(z, p, -1.0 / 15);
  p = __builtin_fma(z, p, 1.0 / 13);
  p = __builtin_fma(z, p, -1.0 / 11);
  p = __builtin_fma(z, p, 1.0 / 9);
  p = __builtin_fma(z, p, -1.0 / 7);
  p = __builtin_fma(z, p, 1.0 / 5);
  p = __builtin_fma(z, p, -1.0 / 3);
  return __builtin_fma(t * z, p, t);
}

// atan(y/x) for y, x ≥ 0 (Float's, widened), in [0, π/2], with the ratio reduced to |t| ≤
// tan(π/8) by the angle's octant and one division: π/2 + atan(−x/y) above tan(3π/8), π/4 +
// atan((y − x)/(y + x)) above tan(π/8), atan(y/x) below (y − x and y + x are exact for Floats).
// Where y = x the angle is π/4, or 0 when both are 0 (atan2's rule), also for two infinities,
// whose quotients would be NaN; otherwise a NaN or an infinity falls through the comparisons
// and the quotient to C's answer (NaN, 0 or π/2). Every operation rounds to Double, so the
// result is within 10⁻¹⁵ of the exact angle, and within half an ulp once rounded to Float.
static inline double atan_of_ratio_in_double(double y, double x) {
  int high = y > 2.414213562373095 * x;
  int middle = y > 0.41421356237309503 * x;
  double numerator = high ? -x : (middle ? y - x : y);
  double denominator = high ? y : (middle ? y + x : x);
  double base = high ? 1.5707963267948966 : (middle ? 0.7853981633974483 : 0);
  double t = y == x ? 0 : numerator / denominator;
  base = y == x ? (y == 0 ? 0 : 0.7853981633974483) : base;
  return base + atan_series_in_double(t);
}

// MARK: Float

#define T float
#define U uint32_t
#define NAME(name) name##_float
#define BITS bits_float
#define FROM_BITS float_bits
#define SIGNIFICAND_BITS 23
#define EXPONENT_BIAS 127
#define SHIFTER 12582912.0f /* 1.5·2²³ */
#define LOG2E 1.4426950408889634f
#define TWO_OVER_PI 0.6366197723675813f
#define LN2_HIGH 0.693145751953125f /* 16 significant bits */
#define LN2_LOW 1.428606765330187e-06f
#define PI_OVER_2_0 1.5703125f /* 11, 11 and 11 significant bits of π/2, then the next 24 */
#define PI_OVER_2_1 4.837512969970703e-04f
#define PI_OVER_2_2 7.549533620476723e-08f
#define PI_OVER_2_3 2.5633440682570896e-12f
#define EXP_LIMIT 87.0f
#define TRIGONOMETRIC_LIMIT 8192.0f
#define TANH_SATURATION 10.0f
#define SQRT_HALF_BITS 0x3f3504f3u
#define LEAST_NORMAL 1.17549435e-38f
#define GREATEST_FINITE 3.40282347e+38f
#define LIBM(name) name##f
#define FMA __builtin_fmaf
#define SQRT __builtin_elementwise_sqrt

// eʳ − 1 as r + r²·(1/2 + r/6 + …): the small terms round once, in the fma, against r, which is
// exact. Terms to r⁷/7!: r⁸/8! < 6e-9 for |r| ≤ ln 2 / 2.
static inline float expm1_series_float(float r) {
  float p = FMA(r, 1.0f / 5040, 1.0f / 720);
  p = FMA(r, p, 1.0f / 120);
  p = FMA(r, p, 1.0f / 24);
  p = FMA(r, p, 1.0f / 6);
  p = FMA(r, p, 1.0f / 2);
  return FMA(r * r, p, r);
}
static inline float sin_series_float(float r) {
  float r2 = r * r;
  float q = FMA(r2, 1.0f / 362880, -1.0f / 5040);
  q = FMA(r2, q, 1.0f / 120);
  q = FMA(r2, q, -1.0f / 6);
  return FMA(r * r2, q, r);
}
static inline float cos_series_float(float r) {
  float r2 = r * r;
  float q = FMA(r2, -1.0f / 3628800, 1.0f / 40320);
  q = FMA(r2, q, -1.0f / 720);
  q = FMA(r2, q, 1.0f / 24);
  q = FMA(r2, q, -1.0f / 2);
  return FMA(r2, q, 1);
}
// Terms to a¹¹/11!: a¹³/13! < 2·10⁻¹⁰ for a < 1.
static inline float sinh_series_float(float a) {
  float a2 = a * a;
  float q = FMA(a2, 1.0f / 39916800, 1.0f / 362880);
  q = FMA(a2, q, 1.0f / 5040);
  q = FMA(a2, q, 1.0f / 120);
  q = FMA(a2, q, 1.0f / 6);
  return FMA(a * a2, q, a);
}
static inline float log_series_float(float z) {
  float p = FMA(z, 2.0f / 11, 2.0f / 9);
  p = FMA(z, p, 2.0f / 7);
  p = FMA(z, p, 2.0f / 5);
  p = FMA(z, p, 2.0f / 3);
  return z * p;
}

#include "VectorMath.inc"

/// c[0] + x·(c[1] + x·(c[2] + …)) for the `n` coefficients `c`, each step one fma.
static inline float polynomial_float(float x, const float *c, int n) {
  float p = c[n - 1];
  for (int i = n - 2; i >= 0; i--) p = FMA(x, p, c[i]);
  return p;
}

// erf(x) for |x| < 1 as x + x·(Σ aₙ·x²ⁿ − 1), aₙ = (2/√π)·(−1)ⁿ/(n!·(2n + 1)), its Taylor
// series to n = 10 (the next term is below 2·10⁻⁸ of the sum), so that only the last add rounds
// at x's scale. From 1 on, 1 − erfc(x), erfc(x) = e^(−x²)·R(x)/x with R(x) = x·erfc(x)·e^(x²) a
// polynomial in x − 1.5 on [1, 2) and in x − 3 on [2, 4), fitted to the exact function with
// relative error below 2.2·10⁻⁹ (weighted least squares on 400 Chebyshev nodes, mpmath at 50
// digits). e^(−x²) takes x² as hi + lo (an fma gives lo exactly) and is e^(−hi)·(1 − lo). Past
// 4, erfc(x) < 2·10⁻⁸, below half an ulp of 1: erf is ±1, ±∞ included. Every branch is computed
// and the right one selected, so the loop vectorizes.
static const float erf_taylor_float[] = {
    1.2837916709551257e-1f, -3.7612638903183752e-1f, 1.1283791670955126e-1f,
    -2.6866170645131252e-2f, 5.2239776254421878e-3f, -8.5483270234508528e-4f,
    1.2055332981789664e-4f, -1.4925650358406251e-5f, 1.6462114365889247e-6f,
    -1.6365844691234924e-7f, 1.4807192815879217e-8f};
static const float erfc_factor_1_to_2_float[] = {
    4.8237812452154773e-1f, 7.6151022912842952e-2f, -4.9396331804383378e-2f,
    2.67555784032113e-2f, -1.2865603295769249e-2f, 5.6456160978645689e-3f,
    -2.3098562969068869e-3f, 9.6038884936785275e-4f, -3.5468182748480129e-4f};
static const float erfc_factor_2_to_4_float[] = {
    5.3700345269682717e-1f, 1.5884372561189017e-2f, -6.7191045353359551e-3f,
    2.446051920809578e-3f, -8.1064601182716785e-4f, 2.5080089556294489e-4f,
    -7.2549070369625212e-5f, 2.0285912504402437e-5f, -6.5606579445023531e-6f,
    1.7275731821132153e-6f};

static inline float fast_erf_float(float x) {
  float a = float_bits(bits_float(x) & 0x7fffffffu);
  float small = FMA(x, polynomial_float(x * x, erf_taylor_float, 11), x);
  // a − 1.5 is exact on [1, 2), a − 3 on [2, 4).
  float r1 = polynomial_float(a - 1.5f, erfc_factor_1_to_2_float, 9);
  float r2 = polynomial_float(a - 3.0f, erfc_factor_2_to_4_float, 10);
  float b = a < 4.0f ? a : 4.0f;  // keeps e^(−b²) normal where the result is 1 anyway
  float high = b * b;
  float low = FMA(b, b, -high);
  float gaussian = fast_exp_float(-high) * (1.0f - low);
  float erfc = gaussian * (a < 2.0f ? r1 : r2) / b;
  float large = a < 4.0f ? 1.0f - erfc : 1.0f;
  return a < 1.0f ? small : float_bits(bits_float(large) | (bits_float(x) & 0x80000000u));
}

// Only a NaN leaves the fast domain (tanh's test, |x| ≤ ∞): ±∞ gives ±1 in the vector loop.
#define ERF_LOOP VECTOR_LOOP(fast_erf_float, outside_tanh_float, erff)
// Float's tan is Double's quotient of series (below), rounded once.
static inline double fast_tan_double(double x);
static inline float fast_tan_float(float x) { return (float)fast_tan_double(x); }
#define TAN_LOOP VECTOR_LOOP(fast_tan_float, outside_trigonometric_float, tanf)

// atan, asin, acos and atan2 of Floats from atan_of_ratio_in_double: every Float (and 2·10⁷
// pairs for atan2) within half an ulp of the exact value, an ulp of glibc's, and C's answer for
// ±0, ±∞ and NaN, with no element left to libm. asin x = atan(|x|/√(1 − x²)) and acos x =
// atan(√(1 − x²)/x) (π minus it for negative x), with 1 − x² as (1 − |x|)(1 + |x|), exact in
// Double; outside [−1, 1] the square root, and so the result, is NaN.
static inline float with_sign_of_float(double magnitude, float x) {
  return float_bits(bits_float((float)magnitude) | (bits_float(x) & 0x80000000u));
}
static inline float fast_atan_float(float x) {
  return with_sign_of_float(atan_of_ratio_in_double(fabsf(x), 1), x);
}
static inline float fast_asin_float(float x) {
  double a = fabsf(x);
  return with_sign_of_float(atan_of_ratio_in_double(a, SQRT((1 - a) * (1 + a))), x);
}
static inline float fast_acos_float(float x) {
  double a = fabsf(x);
  double angle = atan_of_ratio_in_double(SQRT((1 - a) * (1 + a)), a);
  return (float)(bits_float(x) >> 31 ? 3.141592653589793 - angle : angle);
}
// The angle of (|x|, |y|), mirrored across the y-axis where x's sign bit is set (−0 included:
// atan2(±0, −0) = ±π), with y's sign.
static inline float fast_atan2_float(float y, float x) {
  double angle = atan_of_ratio_in_double(fabsf(y), fabsf(x));
  return with_sign_of_float(bits_float(x) >> 31 ? 3.141592653589793 - angle : angle, y);
}
#define ATAN_LOOP UNARY_LOOP(fast_atan_float(X))
#define ASIN_LOOP UNARY_LOOP(fast_asin_float(X))
#define ACOS_LOOP UNARY_LOOP(fast_acos_float(X))
#define ATAN2_LOOP BINARY_LOOP(fast_atan2_float(A, B))
#include "Elementwise.inc"
#undef ERF_LOOP
#undef TAN_LOOP
#undef ATAN_LOOP
#undef ASIN_LOOP
#undef ACOS_LOOP
#undef ATAN2_LOOP

#undef T
#undef U
#undef NAME
#undef BITS
#undef FROM_BITS
#undef SIGNIFICAND_BITS
#undef EXPONENT_BIAS
#undef SHIFTER
#undef LOG2E
#undef TWO_OVER_PI
#undef LN2_HIGH
#undef LN2_LOW
#undef PI_OVER_2_0
#undef PI_OVER_2_1
#undef PI_OVER_2_2
#undef PI_OVER_2_3
#undef EXP_LIMIT
#undef TRIGONOMETRIC_LIMIT
#undef TANH_SATURATION
#undef SQRT_HALF_BITS
#undef LEAST_NORMAL
#undef GREATEST_FINITE
#undef LIBM
#undef FMA
#undef SQRT

// MARK: Double

#define T double
#define U uint64_t
#define NAME(name) name##_double
#define BITS bits_double
#define FROM_BITS double_bits
#define SIGNIFICAND_BITS 52
#define EXPONENT_BIAS 1023
#define SHIFTER 6755399441055744.0 /* 1.5·2⁵² */
#define LOG2E 1.4426950408889634
#define TWO_OVER_PI 0.6366197723675813
#define LN2_HIGH 6.93147180369123816490e-01 /* 32 significant bits */
#define LN2_LOW 1.90821492927058770002e-10
#define PI_OVER_2_0 1.5707963267341256 /* 33, 33 and 33 significant bits of π/2, then the next 53 */
#define PI_OVER_2_1 6.077100506303966e-11
#define PI_OVER_2_2 2.0222662487111665e-21
#define PI_OVER_2_3 8.4784276603689e-32
#define EXP_LIMIT 708.0
#define TRIGONOMETRIC_LIMIT 100000.0
#define TANH_SATURATION 20.0
#define SQRT_HALF_BITS 0x3fe6a09e667f3bcdull
#define LEAST_NORMAL 2.2250738585072014e-308
#define GREATEST_FINITE 1.7976931348623157e+308
#define LIBM(name) name
#define FMA __builtin_fma
#define SQRT __builtin_elementwise_sqrt

// Terms to r¹³/13!: r¹⁴/14! < 5e-18 for |r| ≤ ln 2 / 2.
static inline double expm1_series_double(double r) {
  double p = FMA(r, 1.0 / 6227020800.0, 1.0 / 479001600);
  p = FMA(r, p, 1.0 / 39916800);
  p = FMA(r, p, 1.0 / 3628800);
  p = FMA(r, p, 1.0 / 362880);
  p = FMA(r, p, 1.0 / 40320);
  p = FMA(r, p, 1.0 / 5040);
  p = FMA(r, p, 1.0 / 720);
  p = FMA(r, p, 1.0 / 120);
  p = FMA(r, p, 1.0 / 24);
  p = FMA(r, p, 1.0 / 6);
  p = FMA(r, p, 1.0 / 2);
  return FMA(r * r, p, r);
}
// Terms to r¹⁷/17!: r¹⁹/19! < 1e-19 for |r| ≤ π/4.
static inline double sin_series_double(double r) {
  double r2 = r * r;
  double q = FMA(r2, 1.0 / 355687428096000.0, -1.0 / 1307674368000.0);
  q = FMA(r2, q, 1.0 / 6227020800.0);
  q = FMA(r2, q, -1.0 / 39916800);
  q = FMA(r2, q, 1.0 / 362880);
  q = FMA(r2, q, -1.0 / 5040);
  q = FMA(r2, q, 1.0 / 120);
  q = FMA(r2, q, -1.0 / 6);
  return FMA(r * r2, q, r);
}
// Terms to r¹⁸/18!: r²⁰/20! < 4e-21 for |r| ≤ π/4.
static inline double cos_series_double(double r) {
  double r2 = r * r;
  double q = FMA(r2, -1.0 / 6402373705728000.0, 1.0 / 20922789888000.0);
  q = FMA(r2, q, -1.0 / 87178291200.0);
  q = FMA(r2, q, 1.0 / 479001600);
  q = FMA(r2, q, -1.0 / 3628800);
  q = FMA(r2, q, 1.0 / 40320);
  q = FMA(r2, q, -1.0 / 720);
  q = FMA(r2, q, 1.0 / 24);
  q = FMA(r2, q, -1.0 / 2);
  return FMA(r2, q, 1);
}
// Terms to a¹⁹/19!: a²¹/21! < 2·10⁻²⁰ for a < 1.
static inline double sinh_series_double(double a) {
  double a2 = a * a;
  double q = FMA(a2, 1.0 / 121645100408832000.0, 1.0 / 355687428096000.0);
  q = FMA(a2, q, 1.0 / 1307674368000.0);
  q = FMA(a2, q, 1.0 / 6227020800.0);
  q = FMA(a2, q, 1.0 / 39916800);
  q = FMA(a2, q, 1.0 / 362880);
  q = FMA(a2, q, 1.0 / 5040);
  q = FMA(a2, q, 1.0 / 120);
  q = FMA(a2, q, 1.0 / 6);
  return FMA(a * a2, q, a);
}
// Terms to 2z¹⁰/21: the next, relative to log's value, is below 1e-18 for z ≤ 0.0295.
static inline double log_series_double(double z) {
  double p = FMA(z, 2.0 / 21, 2.0 / 19);
  p = FMA(z, p, 2.0 / 17);
  p = FMA(z, p, 2.0 / 15);
  p = FMA(z, p, 2.0 / 13);
  p = FMA(z, p, 2.0 / 11);
  p = FMA(z, p, 2.0 / 9);
  p = FMA(z, p, 2.0 / 7);
  p = FMA(z, p, 2.0 / 5);
  p = FMA(z, p, 2.0 / 3);
  return z * p;
}

#include "VectorMath.inc"

// tan(r + qπ/2) is sin r / cos r for even q and −cos r / sin r for odd q: the two series at the
// reduced argument, which keeps its relative precision next to a pole (where sin r is r itself),
// and one division. Within 4 ulps of glibc's tan, too far for Double's, which calls libm; within
// an ulp of glibc's tanf once rounded to Float. tan(−0) = −0.
static inline double fast_tan_double(double x) {
  uint64_t q;
  double r = quadrant_double(x, &q);
  double s = sin_series_double(r);
  double c = cos_series_double(r);
  double value = (q & 1) == 0 ? s / c : -c / s;
  return x == 0 ? x : value;
}

// libm per element: the same bits on every CPU.
#define ERF_LOOP LIBM_LOOP(erf(X))
#define TAN_LOOP LIBM_LOOP(tan(X))
// A Double form as accurate would need Double's arithmetic doubled, or fitted polynomials.
#define ATAN_LOOP LIBM_LOOP(atan(X))
#define ASIN_LOOP LIBM_LOOP(asin(X))
#define ACOS_LOOP LIBM_LOOP(acos(X))
#define ATAN2_LOOP BINARY_LIBM_LOOP(atan2(A, B))
#include "Elementwise.inc"
#undef ERF_LOOP
#undef TAN_LOOP
#undef ATAN_LOOP
#undef ASIN_LOOP
#undef ACOS_LOOP
#undef ATAN2_LOOP

#define AUTODIFF_NAME(name) #name,

const char *autodiff_unary_function_name(int function) {
  static const char *const names[] = {AUTODIFF_UNARY_FUNCTIONS(AUTODIFF_NAME)};
  return function >= 0 && function < autodiff_unary_function_count ? names[function] : 0;
}

const char *autodiff_binary_function_name(int function) {
  static const char *const names[] = {AUTODIFF_BINARY_FUNCTIONS(AUTODIFF_NAME)};
  return function >= 0 && function < autodiff_binary_function_count ? names[function] : 0;
}
