import Foundation

/// An axis's range and ticks at "nice" values: steps of 1, 2 or 5 × 10ⁿ, with the range
/// widened to whole steps (Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990).
///
/// ```swift
/// AxisScale(covering: 0.2713...0.5121).ticks   // [0.25, 0.3, 0.35, ..., 0.55]
/// ```
struct AxisScale: Equatable {
  /// The axis's ends, each a whole number of steps.
  var lower: Double
  var upper: Double
  /// The distance between ticks: 1, 2 or 5 × 10ⁿ.
  var step: Double

  /// A scale covering `range` with about `tickCount` ticks, its ends widened to whole steps and
  /// kept within `limits`. A range of one value is widened around it first.
  init(
    covering range: ClosedRange<Double>, tickCount: Int = 6,
    limits: ClosedRange<Double> = -.infinity ... .infinity
  ) {
    var (low, high) = (range.lowerBound, range.upperBound)
    if high - low <= 1e-12 * max(1, abs(high)) {
      let margin = low == 0 ? 1 : abs(low) * 0.1
      (low, high) = (low - margin, high + margin)
    }
    step = Self.niceNumber((high - low) / Double(max(tickCount - 1, 1)))
    // Computed from whole step counts, so that 0.3 is 6 × 0.05 and not 0.30000000000000004.
    // With a tolerance: 0.001 / 0.0002 is 5.000000000000001, a Float learning rate of 0.001 is
    // 0.0010000000475 as a Double, and both should end the axis at the tick 0.001.
    lower = max((low / step + 1e-6).rounded(.down) * step, limits.lowerBound)
    upper = min((high / step - 1e-6).rounded(.up) * step, limits.upperBound)
  }

  /// A scale for epochs 1 through `count`, with half an epoch of room at each end and whole
  /// epochs as ticks, about `tickCount` of them.
  init(epochs count: Int, tickCount: Int = 6) {
    lower = 0.5
    upper = Double(max(count, 1)) + 0.5
    step = max(1, Self.niceNumber(Double(count) / Double(max(tickCount - 1, 1))))
  }

  /// The tick values: the multiples of ``step`` from ``lower`` to ``upper``.
  var ticks: [Double] {
    let first = (lower / step - 1e-9).rounded(.up)
    let last = (upper / step + 1e-9).rounded(.down)
    guard first <= last else { return [] }
    return stride(from: first, through: last, by: 1).map { $0 * step }
  }

  /// The fraction of the way from ``lower`` to ``upper`` at which `value` lies.
  func fraction(_ value: Double) -> Double {
    (value - lower) / (upper - lower)
  }

  /// `value` with as many decimals as the step needs: `0.25` for a step of 0.05, `0.2` for a
  /// step of 0.2, `12` for a step of 2.
  func label(_ value: Double) -> String {
    let decimals = max(0, -Int((log10(step) + 1e-9).rounded(.down)))
    return String(format: "%.\(decimals)f", value == 0 ? 0 : value)
  }

  /// `value` in powers of ten, for small numbers such as learning rates: `0`, `5e-4`, `1e-3`,
  /// `2.5e-4`.
  func scientificLabel(_ value: Double) -> String {
    guard value != 0 else { return "0" }
    let exponent = Int((log10(abs(value)) + 1e-9).rounded(.down))
    let mantissa = value / pow(10, Double(exponent))
    var text = String(format: "%.2f", mantissa)
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return "\(text)e\(exponent)"
  }

  /// The nice number nearest `value` > 0: 1, 2 or 5 × 10ⁿ (Heckbert's rounding thresholds).
  static func niceNumber(_ value: Double) -> Double {
    guard value > 0, value.isFinite else { return 1 }
    let exponent = log10(value).rounded(.down)
    let power = pow(10, exponent)
    let fraction = value / power
    let nice: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
    return nice * power
  }
}
