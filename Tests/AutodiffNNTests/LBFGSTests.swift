import AutodiffNN
import Foundation
import Testing

/// L-BFGS against SciPy's L-BFGS-B (scipy 1.17.1, `minimize(method="L-BFGS-B", jac=True)`, memory
/// m = 10) on the same problems; the script below printed the figures quoted here.
@Suite struct LBFGSTests {
  /// Rosenbrock's function, f(x, y) = (1 − x)² + 100·(y − x²)², minimum 0 at (1, 1).
  static func rosenbrock(_ p: [Tensor<Double>]) -> Tensor<Double> {
    let (x, y) = (p[0].sliced(alongAxis: 0, 0..<1), p[0].sliced(alongAxis: 0, 1..<2))
    return ((1 - x).squared() + 100 * (y - x.squared()).squared()).sum()
  }

  /// A logistic regression on 60 points in 3 features, made by formulas the Python script repeats:
  /// xᵢⱼ = sin(1.3i + 0.7j + 0.1)·(1 + j/2), labels from the sign of a noisy linear score.
  static let (features, labels): (Tensor<Double>, Tensor<Double>) = {
    let (n, d) = (60, 3)
    var x: [Double] = []
    var y: [Double] = []
    for i in 0..<n {
      var row: [Double] = []
      for j in 0..<d {
        let angle: Double = 1.3 * Double(i) + 0.7 * Double(j) + 0.1
        row.append(Foundation.sin(angle) * (1 + 0.5 * Double(j)))
      }
      x += row
      let linear: Double = 1.5 * row[0] - 2 * row[1] + 0.5 * row[2]
      let score: Double = linear + 0.3 + 0.8 * Foundation.sin(2.9 * Double(i))
      y.append(score > 0 ? 1 : 0)
    }
    return (Tensor(shape: [n, d], scalars: x), Tensor(shape: [n, 1], scalars: y))
  }()

  /// Mean binary cross-entropy plus (λ/2)‖w‖² with λ = 0.01: strictly convex, one minimum.
  static func logisticLoss(_ p: [Tensor<Double>]) -> Tensor<Double> {
    binaryCrossEntropy(logits: matmul(features, p[0]) + p[1], labels: labels)
      + 0.005 * p[0].squared().sum()
  }

  @Test("The points evaluated are PyTorch's: LBFGS(history_size=3, line_search_fn='strong_wolfe')")
  func pytorchEvaluations() {
    // torch 2.15, float64: LBFGS([p], lr=1, history_size=3, tolerance_grad=1e-7,
    // tolerance_change=1e-12, line_search_fn="strong_wolfe") on Rosenbrock from (−1.2, 1), the
    // closure's losses in order (12 significant digits). Evaluation 13 is the zoom's cubic
    // trial close to the bracket's end, which PyTorch keeps once (the midpoint gave 18.6).
    let torch = [
      24.2, 112.44805609, 4.14692710257, 4.12558671367, 4.12112677577, 4.11181645176,
      4.08491532809, 4.02019397822, 3.88657713685, 3.65723320496, 2.89755749802, 2.49323308829,
      61.870874419, 2.36961206674, 2.11177690394, 1.93907095827, 1.82663061854, 1.42372642416,
      1.20942510172, 0.975097441466, 0.822688685056, 0.667543139586, 0.539352010408,
      1.95279407717,
    ]
    var parameters = [Tensor<Double>([-1.2, 1])]
    var losses: [Double] = []
    _ = LBFGS<Double>(historySize: 3, gradientTolerance: 1e-7, changeTolerance: 1e-12)
      .minimize(&parameters) { p in
        let loss = Self.rosenbrock(p)
        losses.append(loss.scalar)
        return loss
      }
    #expect(losses.count >= torch.count)
    for (index, (ours, theirs)) in zip(losses, torch).enumerated() {
      #expect(Swift.abs(ours - theirs) <= 1e-8 * theirs, "evaluation \(index)")
    }
  }

  @Test("Rosenbrock from (−1.2, 1): the minimum (1, 1) in as many iterations as SciPy's 36")
  func rosenbrock() {
    var parameters = [Tensor<Double>([-1.2, 1])]
    let result = LBFGS<Double>(gradientTolerance: 1e-5).minimize(&parameters, of: Self.rosenbrock)
    // SciPy (gtol 10⁻⁵, ftol 2.2·10⁻⁹): x = (0.99999895, 0.99999802), f = 2.8e−12, 36
    // iterations, 44 evaluations; with gtol 10⁻¹⁰: 38 iterations, 46 evaluations.
    #expect(result.stopReason == .gradientTolerance, "\(result)")
    #expect(
      parameters[0].isAlmostEqual(to: Tensor([1, 1]), relativeTolerance: 1e-5), "\(parameters[0])")
    #expect(result.value < 1e-10)
    #expect(result.iterations <= 50 && result.evaluations <= 60, "\(result)")
  }

  @Test("Rosenbrock to the limit of Double: (1, 1) to 10⁻¹⁰")
  func rosenbrockTight() {
    var parameters = [Tensor<Double>([-1.2, 1])]
    let result = LBFGS<Double>(gradientTolerance: 1e-10, changeTolerance: 1e-15)
      .minimize(&parameters, of: Self.rosenbrock)
    #expect(parameters[0].isAlmostEqual(to: Tensor([1, 1]), relativeTolerance: 1e-9), "\(result)")
    #expect(result.iterations <= 55, "\(result)")
  }

  @Test("Logistic regression: SciPy's minimizer and loss, in about its 11 iterations")
  func logisticRegression() {
    var parameters = [Tensor<Double>(zeros: [3, 1]), Tensor<Double>(zeros: [1])]
    let result = LBFGS<Double>(gradientTolerance: 1e-10, changeTolerance: 1e-15)
      .minimize(&parameters, of: Self.logisticLoss)
    // SciPy with gtol 10⁻¹⁰, ftol 10⁻¹⁵: w = (−0.34265808, −0.88705541, −1.12390359),
    // b = 1.26936516, f = 0.3332220577491272 after 11 iterations and 12 evaluations.
    let expected = [-0.3426580754614341, -0.8870554118777008, -1.1239035863120213]
    #expect(
      parameters[0].isAlmostEqual(
        to: Tensor(shape: [3, 1], scalars: expected), relativeTolerance: 1e-7))
    #expect(Swift.abs(parameters[1].scalars[0] - 1.2693651571351088) < 1e-7)
    #expect(Swift.abs(result.value - 0.3332220577491272) < 1e-13)
    #expect(result.iterations <= 20, "\(result)")
  }

  @Test("In Float, L-BFGS reaches the minimum to Float's precision")
  func float() {
    var parameters = [Tensor<Float>([-1.2, 1])]
    let result = LBFGS<Float>(gradientTolerance: 1e-4).minimize(&parameters) { p in
      let (x, y) = (p[0].sliced(alongAxis: 0, 0..<1), p[0].sliced(alongAxis: 0, 1..<2))
      return ((1 - x).squared() + 100 * (y - x.squared()).squared()).sum()
    }
    #expect(parameters[0].isAlmostEqual(to: Tensor([1, 1]), relativeTolerance: 1e-3), "\(result)")
  }

  @Test("An ill-conditioned quadratic converges in a few iterations, whatever its scale")
  func quadratic() {
    // f = ½xᵀAx with A = diag(1, 1000): gradient descent would need thousands of steps.
    var parameters = [Tensor<Double>([3, -2])]
    let result = LBFGS<Double>(gradientTolerance: 1e-9, changeTolerance: 0).minimize(&parameters) {
      p in
      (0.5 * p[0] * p[0] * Tensor([1, 1000])).sum()
    }
    #expect(result.stopReason == .gradientTolerance, "\(result)")
    #expect(
      parameters[0].isAlmostEqual(
        to: Tensor([0, 0]), relativeTolerance: 0, absoluteTolerance: 1e-9))
    #expect(result.iterations <= 15, "\(result)")
  }

  static let scipyScript = """
    import json, sys, numpy as np
    from scipy.optimize import minimize
    n, d, lam = 60, 3, 0.01
    i = np.arange(n)[:, None]; j = np.arange(d)[None, :]
    X = np.sin(1.3 * i + 0.7 * j + 0.1) * (1 + 0.5 * j)
    y = ((X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.8 * np.sin(2.9 * np.arange(n))) > 0).astype(float)
    def f(p):
        w, b = p[:d], p[d]; z = X @ w + b; s = 1 / (1 + np.exp(-z)); gz = (s - y) / n
        v = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))) + lam / 2 * w @ w
        return v, np.concatenate([X.T @ gz + lam * w, [gz.sum()]])
    r = minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-15})
    print(json.dumps({"x": r.x.tolist(), "fun": r.fun, "nit": int(r.nit)}))
    """

  struct SciPyResult: Decodable {
    var x: [Double]
    var fun: Double
    var nit: Int
  }

  @Test(
    "SciPy's L-BFGS-B, run now, finds the logistic regression's minimum where we do",
    .enabled(if: runPython(["-c", "import scipy"]).status == 0, "needs python3 with scipy"))
  func againstSciPy() throws {
    let run = runPython(["-c", Self.scipyScript])
    try #require(run.status == 0)
    let scipy = try JSONDecoder().decode(SciPyResult.self, from: run.output)
    var parameters = [Tensor<Double>(zeros: [3, 1]), Tensor<Double>(zeros: [1])]
    let result = LBFGS<Double>(gradientTolerance: 1e-10, changeTolerance: 1e-15)
      .minimize(&parameters, of: Self.logisticLoss)
    let ours = parameters[0].scalars + parameters[1].scalars
    for (a, b) in zip(ours, scipy.x) { #expect(Swift.abs(a - b) < 1e-7) }
    #expect(Swift.abs(result.value - scipy.fun) < 1e-13)
    #expect(result.iterations <= 2 * scipy.nit, "\(result); SciPy took \(scipy.nit) iterations")
  }
}
