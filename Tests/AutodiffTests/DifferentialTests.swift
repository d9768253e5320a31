// A differential test against JAX: random programs over the whole operation set
// (Support/RandomPrograms.swift, Support/RandomProgramGenerator.swift), evaluated by Autodiff in
// Double and by JAX in float64 (Support/JAXReference.swift), and compared.
//
// For each program f, its inputs x, a direction v per input and an upstream tensor u, with
// φ(x) = Σ f(x)·u, the quantities compared are:
//
//   value                     f(x)
//   pullback                  valueWithPullback(at: x, of: f), applied to u       vs ∇φ
//   gradient                  gradient(at: x, of: φ)                              vs ∇φ
//   jvp                       Σᵢ jvp(at: xᵢ, tangent: vᵢ), the other inputs fixed  vs J·v
//   tangent                   Tape.tangent(of: f(x), wrt: x, along: v)            vs J·v
//   hvp                       hessianVectorProduct(at: x, directions: v, of: φ)   vs H·v
//   hvp x0                    hessianVectorProduct(at: x₀, direction: v₀)         vs H₀₀·v₀
//   reverse over reverse x0   gradient(at: x₀) { Σ gradient(at: x₀, of: φ)·v₀ }   vs H₀₀·v₀
//
// The random programs are smooth at their inputs by construction (no argument near a kink,
// every matrix well conditioned), so none is skipped; a few more sit exactly on the kinks where
// both libraries choose the same rule (Support/KinkCases.swift). Precision conversion is left
// out: a round trip through Float loses what the comparison measures.
//
// Correct rules agree with JAX to about 10⁻¹³ of the largest element of the quantity (every
// program here passes at 10⁻¹²); the tolerance, 10⁻⁹ of it, passes them and flags a wrong rule,
// which is off by O(1) of it: a tanh with a wrong derivative fails 6 programs, a sin with a
// wrong second derivative 9, in their second-order quantities only.

import Autodiff
import Testing

@Suite(.enabled(if: JAXReference.isAvailable, "needs python3 with jax: pip install jax"))
struct DifferentialTests {
  static let programCount = 300
  static let seed: UInt64 = 0xD1FF_E2E7
  /// Allowed |Autodiff − JAX| per element, relative to the largest |JAX| element of the quantity.
  static let relativeTolerance = 1e-9
  /// Allowed |Autodiff − JAX| on top, for quantities that are 0 up to rounding.
  static let absoluteTolerance = 1e-12

  @Test(
    "Random programs over every operation agree with JAX in float64: values, gradients, JVPs and Hessian-vector products"
  )
  func randomProgramsAgreeWithJAX() throws {
    var random = SeededGenerator(seed: Self.seed)
    let randomCases = (0..<Self.programCount).map { _ in DifferentialCase.random(using: &random) }
    let kinkCases = DifferentialCase.kinkCases(using: &random)
    let cases = randomCases + kinkCases
    let (operations, results) = try JAXReference.evaluate(cases)
    #expect(
      Set(operations) == Set(Operation.allCases.map(\.rawValue)),
      "the Python interpreter and Operation list different operations")
    let used = Set(randomCases.flatMap { $0.program.instructions.map(\.operation) })
    #expect(
      used.count == Operation.allCases.count,
      "operations no program used: \(Operation.allCases.filter { !used.contains($0) })")
    try #require(results.count == cases.count)

    var agreeing = 0
    var worst = (excess: 0.0, quantity: "")
    for (index, (differentialCase, result)) in zip(cases, results).enumerated() {
      let comparisons = compare(differentialCase, with: result)
      let differences = comparisons.filter { $0.excess > 1 }
      if !differences.isEmpty {
        Issue.record(
          """
          differential: program \(index) disagrees with JAX float64 in \
          \(differences.map(\.quantity).joined(separator: ", "))
          \(differentialCase.program.text)
          inputs: \(differentialCase.inputs.map(\.scalars))
          directions: \(differentialCase.directions.map(\.scalars))
          upstream: \(differentialCase.upstream.scalars)
          \(differences.map(\.description).joined(separator: "\n"))
          """)
      }
      if differences.isEmpty { agreeing += 1 }
      for comparison in comparisons where comparison.excess > worst.excess {
        worst = (comparison.excess, "program \(index), \(comparison.quantity)")
      }
    }
    let summary =
      "differential: \(cases.count) programs compared with JAX float64 (\(randomCases.count) "
      + "random, \(kinkCases.count) on kinks), \(agreeing) agree"
    #expect(agreeing == cases.count, "\(summary)")
    print("\(summary) (largest error \(worst.excess) × tolerance, \(worst.quantity))")
  }

  // MARK: Comparison

  /// One quantity of one program compared: its largest error relative to the tolerance (≤ 1
  /// agrees; infinite for a shape mismatch or an error), and what to print when it disagrees.
  struct Comparison: CustomStringConvertible {
    var quantity: String
    var excess: Double
    var detail: String
    var description: String { "\(quantity) (error \(excess) × tolerance): \(detail)" }
  }

  /// Autodiff's quantities for `differentialCase` compared with JAX's.
  func compare(_ differentialCase: DifferentialCase, with result: JAXResult) -> [Comparison] {
    if let error = result.error {
      return [Comparison(quantity: "evaluation", excess: .infinity, detail: "JAX raised\n\(error)")]
    }
    return autodiffQuantities(differentialCase).map { quantity, tensors in
      let reference = referenceQuantity(quantity, result)
      guard reference.count == tensors.count,
        zip(tensors, reference).allSatisfy({ $0.scalarCount == $1.count }),
        quantity != "value" || result.shape == tensors[0].shape
      else {
        return Comparison(
          quantity: quantity, excess: .infinity,
          detail: "shapes \(tensors.map(\.shape)), JAX has \(reference.map(\.count)) elements"
            + (quantity == "value" ? " of shape \(result.shape ?? [])" : ""))
      }
      return Comparison(
        quantity: quantity, excess: excess(tensors, reference),
        detail: "\n  Autodiff \(tensors.map(\.scalars))\n  JAX      \(reference)")
    }
  }

  /// The largest |a − b| over the elements, divided by the tolerance of each tensor's elements;
  /// infinite where one is not finite and the other differs.
  func excess(_ tensors: [Tensor<Double>], _ reference: [[Double]]) -> Double {
    zip(tensors, reference).map { tensor, expected in
      let scale = expected.map(Swift.abs).max() ?? 0
      let allowed = Self.relativeTolerance * scale + Self.absoluteTolerance
      return zip(tensor.scalars, expected).map { actual, expected in
        if actual == expected || (actual.isNaN && expected.isNaN) { return 0 }
        let error = Swift.abs(actual - expected)
        return error.isFinite ? error / allowed : .infinity
      }.max() ?? 0
    }.max() ?? 0
  }

  /// JAX's elements for an Autodiff quantity's tensors.
  func referenceQuantity(_ quantity: String, _ result: JAXResult) -> [[Double]] {
    switch quantity {
    case "value": [result.value ?? []]
    case "pullback", "gradient": result.gradient ?? []
    case "jvp", "tangent": [result.tangent ?? []]
    case "hvp": result.hvp ?? []
    default: [result.hvp0 ?? []]
    }
  }

  // MARK: Autodiff's side

  /// Autodiff's quantities for the case, each a list of tensors (one per input for gradients).
  func autodiffQuantities(_ c: DifferentialCase) -> KeyValuePairs<String, [Tensor<Double>]> {
    let f = c.program
    let u = c.upstream
    let phi = { (x: [Tensor<Double>]) in (f(x) * u).sum() }
    /// φ as a function of input 0, the others fixed.
    let phi0 = { (x0: Tensor<Double>) in phi([x0] + c.inputs.dropFirst()) }
    func replacing(_ i: Int, with x: Tensor<Double>) -> [Tensor<Double>] {
      var inputs = c.inputs
      inputs[i] = x
      return inputs
    }

    let jvpSum = c.inputs.indices.map { i in
      jvp(at: c.inputs[i], tangent: c.directions[i]) { x in f(replacing(i, with: x)) }.tangent
    }.reduce(Tensor(zeros: f.outputShape), +)
    let tape = Tape()
    let watched = c.inputs.map { tape.watch($0) }
    let tangent = tape.tangent(of: f(watched), wrt: watched, along: c.directions)
    let reverseOverReverse = gradient(at: c.inputs[0]) { x0 in
      (gradient(at: x0, of: phi0) * c.directions[0]).sum()
    }
    return [
      "value": [f(c.inputs)],
      "pullback": valueWithPullback(at: c.inputs, of: { f($0) }).pullback(u),
      "gradient": gradient(at: c.inputs, of: phi),
      "jvp": [jvpSum],
      "tangent": [tangent],
      "hvp": hessianVectorProduct(at: c.inputs, directions: c.directions, of: phi),
      "hvp x0": [hessianVectorProduct(at: c.inputs[0], direction: c.directions[0], of: phi0)],
      "reverse over reverse x0": [reverseOverReverse],
    ]
  }
}
