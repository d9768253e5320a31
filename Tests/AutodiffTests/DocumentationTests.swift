import Autodiff
import DocumentationSnippets
import Foundation
import Testing

/// The code of the DocC articles, compiled and checked.
///
/// Each article code block that follows a `<!-- snippet: name -->` comment is mirrored here
/// between `// snippet: name` and `// end snippet`, in a test named after the article's section
/// (in this file, or for a newer article in `DocumentationTests+Article.swift`);
/// `snippetsMatchArticles` checks that the two texts are identical, so the article shows what the
/// tests run. The expected numbers are the figures the backpropagation tutorials published.
@Suite struct DocumentationTests {
  // MARK: Backpropagation by Example

  @Test("Forward mode: inner derivatives first, then the outer block's partials")
  func forwardMode() {
    // snippet: forward-mode
    // f(x) = f1(f2(x), f3(x)) with f1(u, v) = 3u² + 5uv + 4v², f2(x) = sin x, f3(x) = √x + eˣ.
    let x = Tensor<Double>(1)

    // The innermost blocks first: their values and derivatives at x = 1.
    let (u, du) = valueWithGradient(at: x) { x in sin(x) }
    let (v, dv) = valueWithGradient(at: x) { x in sqrt(x) + exp(x) }

    // Then the outer block: its partial derivatives at (u, v), combined by the chain rule.
    let (d1, d2) = gradient(at: u, v) { u, v in 3 * u * u + 5 * u * v + 4 * v * v }
    let derivative = d1 * du + d2 * dv  // 122.045158140265

    // One reverse sweep over the whole composition gives the same number.
    let reverse = gradient(at: x) { x in
      let (u, v) = (sin(x), sqrt(x) + exp(x))
      return 3 * u * u + 5 * u * v + 4 * v * v
    }
    // end snippet
    expectClose(u, 0.841470984807897)
    expectClose(du, 0.54030230586814)
    expectClose(v, 3.71828182845905)
    expectClose(dv, 3.21828182845905)
    expectClose(derivative, 122.045158140265)
    expectClose(reverse, 122.045158140265)
  }

  @Test("Reverse mode: the expression graph of sin(π·x1^(x2^x1)) + cos(π·log x1) at (2, 3)")
  func reverseMode() throws {
    // snippet: reverse-mode
    let tape = Tape()
    let x1 = tape.watch(Tensor<Double>(2))
    let x2 = tape.watch(Tensor<Double>(3))
    let inner = pow(x2, x1)  // 9
    let outer = pow(x1, inner)  // 512
    let logarithm = log(x1)  // 0.693147180559945
    let f = sin(Double.pi * outer) + cos(Double.pi * logarithm)
    let (d1, d2) = tape.gradient(of: f, wrt: x1, x2)  // 18260.7627311899, 6689.544469…
    // end snippet
    expectClose(inner, 9)
    expectClose(outer, 512)
    expectClose(logarithm, 0.693147180559945)
    expectClose(d1, 18260.7627311899)
    #expect((d2.scalar - 6689.544469).magnitude <= 1e-6, "∂f/∂x2 = \(d2.scalar)")

    // snippet: expression-graph
    let dot = tape.graphviz(gradientOf: f, labels: ["x1": x1, "x2": x2, "f": f])
    // end snippet
    try expectMatchesResource(dot, named: "expression-graph.dot")
    if GraphvizTests.isGraphvizInstalled, Self.isRecording {
      try renderSVG(dot: dot).write(
        to: Self.resources.appendingPathComponent("expression-graph.svg"), atomically: true,
        encoding: .utf8)
    }
  }

  @Test("Reverse mode: the gradient is the sum over the paths from f back to x1")
  func sumOverPaths() {
    // snippet: paths
    // Each path from f back to x1, with x1's other uses held constant (`a` is not recorded).
    let (a, b) = (Tensor<Double>(2), Tensor<Double>(3))
    let viaBase = gradient(at: a) { x1 in sin(Double.pi * pow(x1, pow(b, a))) }
    let viaExponent = gradient(at: a) { x1 in sin(Double.pi * pow(a, pow(b, x1))) }
    let viaLogarithm = gradient(at: a) { x1 in cos(Double.pi * log(x1)) }
    let total = viaBase + viaExponent + viaLogarithm  // 18260.7627311899, as above
    // end snippet
    expectClose(viaBase, 7238.22947387088)
    expectClose(viaExponent, 11023.8236395328)
    expectClose(viaLogarithm, -1.29038221381431)
    expectClose(total, 18260.7627311899)
  }

  @Test("The diamond: o = (xy·yz)² has the published intermediate gradients")
  func diamond() {
    // snippet: diamond
    let tape = Tape()
    let x = tape.watch(Tensor<Double>(3))
    let y = tape.watch(Tensor<Double>(2))
    let z = tape.watch(Tensor<Double>(1))
    let h1 = x * y
    let h2 = y * z
    let h = h1 * h2
    let o = h * h  // 144
    let g = tape.gradient(of: o, wrt: [h, h1, h2, x, y, z])  // 24, 48, 144, 96, 288, 288
    // end snippet
    expectClose(o, 144)
    for (gradient, expected) in zip(g, [24.0, 48, 144, 96, 288, 288]) {
      expectClose(gradient, expected)
    }
  }

  @Test("Gradients add up at forks: (x + σ(y)) / (σ(x) + (x + y)²) at (2, −4)")
  func forks() {
    // snippet: forks
    let (dx, dy) = gradient(at: Tensor<Double>(2), Tensor<Double>(-4)) { x, y in
      (x + sigmoid(y)) / (sigmoid(x) + (x + y).squared())
    }  // 0.5348320870757595, 0.342460382923052
    // end snippet
    expectClose(dx, 0.5348320870757595)
    expectClose(dy, 0.342460382923052)
  }

  @Test("The neuron: a sigmoid unit and its squared error, with every intermediate gradient")
  func neuron() {
    // snippet: neuron
    let tape = Tape()
    let (x1, w1) = (tape.watch(Tensor<Double>(2)), tape.watch(Tensor<Double>(0.4)))
    let (x2, w2) = (tape.watch(Tensor<Double>(3)), tape.watch(Tensor<Double>(-0.2)))
    let h = x1 * w1 + x2 * w2  // 0.2 (0.19999999999999996)
    let y = sigmoid(h)  // 0.5498339973124778
    let e = y - 1  // -0.45016600268752216
    let loss = e.squared()  // 0.2026494299756622
    let g = tape.gradient(of: loss, wrt: [e, y, h, w1, w2, x1, x2])
    // -0.9003320053750443, -0.9003320053750443, -0.22284709227322685,
    // -0.4456941845464537, -0.6685412768196806, -0.08913883690929075, 0.044569418454645376
    // end snippet
    expectClose(h, 0.19999999999999996)
    expectClose(y, 0.5498339973124778)
    expectClose(e, -0.45016600268752216)
    expectClose(loss, 0.2026494299756622)
    let expected = [
      -0.9003320053750443, -0.9003320053750443, -0.22284709227322685, -0.4456941845464537,
      -0.6685412768196806, -0.08913883690929075, 0.044569418454645376,
    ]
    for (gradient, value) in zip(g, expected) { expectClose(gradient, value) }
  }

  @Test("Vectorized: a neuron on vectors, and D = W·X with dW = dD·Xᵀ, dX = Wᵀ·dD")
  func vectorized() {
    // snippet: vectorized-neuron
    let (dw, dx) = gradient(at: Tensor<Double>([2, -3, -3]), Tensor<Double>([-1, -2])) { w, x in
      sigmoid((w * Tensor(concatenating: [x, Tensor([1])])).sum())
    }
    // dw = [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185]
    // dx = [0.3932238664829637, -0.5898357997244456]
    // end snippet
    expectClose(dw, [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185])
    expectClose(dx, [0.3932238664829637, -0.5898357997244456])

    // snippet: matrix-product
    var generator = SeededGenerator(seed: 2024)
    let w = Tensor<Double>(randomNormal: [5, 10], using: &generator)
    let x = Tensor<Double>(randomNormal: [10, 3], using: &generator)
    let dD = Tensor<Double>(randomNormal: [5, 3], using: &generator)  // the gradient from above

    let tape = Tape()
    let (tw, tx) = (tape.watch(w), tape.watch(x))
    let (dW, dX) = tape.gradient(of: matmul(tw, tx), wrt: tw, tx, seed: dD)

    // dW = dD·Xᵀ and dX = Wᵀ·dD: one gemm each, the transposes as flags.
    let expectedW = matmul(dD, transposed: false, x, transposed: true)
    let expectedX = matmul(w, transposed: true, dD, transposed: false)
    // end snippet
    #expect(dW.isAlmostEqual(to: expectedW, relativeTolerance: 1e-12))
    #expect(dX.isAlmostEqual(to: expectedX, relativeTolerance: 1e-12))
  }

  // MARK: Seeing the Tape

  @Test("Seeing the tape: a picture of your own computation")
  func picture() throws {
    // snippet: picture
    let tape = Tape()
    tape.capturesCallSites = true  // operators name their line too
    let x = tape.watch(Tensor<Double>([0.5, -1, 2]))
    let loss = (tanh(x) * x).sum()
    let dot = tape.graphviz(gradientOf: loss, labels: ["x": x, "loss": loss])
    do {
      let svg = try renderSVG(dot: dot)
      _ = svg  // write it to a file, or show it
    } catch {
      print(error)  // says how to install Graphviz when dot is missing
    }
    // end snippet
    #expect(dot.contains(#"loss = reshape #4\nscalar\nat AutodiffTests/DocumentationTests.swift:"#))
    #expect(dot.contains(#"tanh #1\n[3]\nat AutodiffTests/DocumentationTests.swift:"#))
  }

  @Test("Seeing the tape: checking a custom rule against finite differences")
  func checkingGradients() {
    // snippet: gradient-check
    // softplus(x) = log(1 + eˣ), with its derivative σ(x) written by hand.
    func softplus(_ x: Tensor<Double>) -> Tensor<Double> {
      customOperation("softplus", operands: [x]) { x in
        log(1 + exp(x[0]))
      } pullback: { g, x, _ in
        [g * sigmoid(x[0])]
      }
    }
    let result = checkGradient(at: Tensor<Double>([-2, 0.5, 3])) { x in softplus(x).sum() }
    // result.passed is true; print(result) shows the element that matches worst.
    // end snippet
    #expect(result.passed, "\(result)")
    #expect(result.comparedCount == 3)
  }

  @Test("Seeing the tape: anomaly detection leaves finite computations alone")
  func anomalyDetection() {
    // snippet: anomaly-detection
    let (value, dx) = withAnomalyDetection {
      valueWithGradient(at: Tensor<Double>([1, 4])) { x in sqrt(x).sum() }
    }  // 3, [0.5, 0.25]; at x = [0, 4] it would stop in sqrt's pullback
    // end snippet
    #expect(value == Tensor(3))
    #expect(dx == Tensor([0.5, 0.25]))
  }

  @Test("Seeing the tape: what a tape holds")
  func statistics() {
    // snippet: statistics
    let tape = Tape()
    let w = tape.watch(Tensor<Double>(zeros: [64, 32]))
    let x = Tensor<Double>(ones: [16, 64])
    let loss = sigmoid(matmul(x, w)).mean()
    print(tape.statistics(largest: 3))
    // end snippet
    _ = loss
    // 16 KB of weights, 8 KB of constant input, two 4 KB activations, the sum's scalar; the
    // division of two scalars keeps its three numbers by value, in no buffer.
    let text = tape.statistics(largest: 3).description
    #expect(
      text.hasPrefix(
        """
        6 nodes, 5 buffers, 32.0 KB saved
          divide: 1
          matmul: 1
          reshape: 1
          sigmoid: 1
          sum: 1
          watch: 1
        largest nodes:
          #0 watch [64, 32]: 16.0 KB
          #1 matmul [16, 32]: 12.0 KB at AutodiffTests/DocumentationTests.swift:
        """), "\(text)")
    #expect(text.hasSuffix("\n  #2 sigmoid [16, 32]: 4.0 KB"), "\(text)")
  }

  @Test("Seeing the tape: a training loop whose tapes do not grow")
  func growth() {
    // snippet: growth
    var monitor = TapeGrowthMonitor()
    var weights = Tensor<Double>([0.5, -0.5])
    for _ in 0..<100 {
      let tape = Tape()
      let w = tape.watch(weights)
      let loss = (w * w).sum()
      weights -= 0.1 * tape.gradient(of: loss, wrt: [w])[0]
      monitor.observe(tape)
    }
    // monitor.warnings is empty: every step's tape has the same size.
    // end snippet
    #expect(monitor.warnings.isEmpty)
  }

  // MARK: The articles show what these tests run

  @Test("Every snippet of the articles is identical to the code of its test, and vice versa")
  func snippetsMatchArticles() throws {
    let catalog = Self.sourceRoot.appendingPathComponent("Sources/Autodiff/Documentation.docc")
    // This file and its extensions by article, `DocumentationTests+Article.swift`.
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    let snippets = try DocumentationSnippets(
      articles: DocumentationSnippets.files(in: catalog) { $0.hasSuffix(".md") },
      tests: DocumentationSnippets.files(in: directory) {
        $0.hasPrefix("DocumentationTests") && $0.hasSuffix(".swift")
      })
    #expect(snippets.problems(expectingAtLeast: 12) == [])
  }

  // MARK: Helpers

  /// The package's root directory, from this file's path.
  static let sourceRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The documentation catalog's resources: pictures and the DOT text they are drawn from.
  static let resources = sourceRoot.appendingPathComponent(
    "Sources/Autodiff/Documentation.docc/Resources")

  /// Whether to write the resources instead of checking them: run the tests with
  /// `AUTODIFF_RECORD_DOCUMENTATION=1` after changing what `graphviz` draws, and review the
  /// difference.
  static let isRecording =
    ProcessInfo.processInfo.environment["AUTODIFF_RECORD_DOCUMENTATION"] == "1"

  /// Records an issue unless `text` is the content of the resource file `name` (or writes it,
  /// when recording).
  private func expectMatchesResource(
    _ text: String, named name: String,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) throws {
    let url = Self.resources.appendingPathComponent(name)
    if Self.isRecording {
      try text.write(to: url, atomically: true, encoding: .utf8)
      return
    }
    let golden = try String(contentsOf: url, encoding: .utf8)
    #expect(text == golden, "differs from \(name):\n\(text)", sourceLocation: sourceLocation)
  }

  /// Records an issue unless each element of `actual` is within 1e-9 of `expected`, relative to
  /// its magnitude.
  private func expectClose(
    _ actual: Tensor<Double>, _ expected: [Double],
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    let values = actual.scalars
    #expect(values.count == expected.count, sourceLocation: sourceLocation)
    for (value, target) in zip(values, expected) {
      let error = (value - target).magnitude / (target == 0 ? 1 : target.magnitude)
      #expect(error <= 1e-9, "\(value) is not \(target)", sourceLocation: sourceLocation)
    }
  }

  private func expectClose(
    _ actual: Tensor<Double>, _ expected: Double,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    expectClose(actual, [expected], sourceLocation: sourceLocation)
  }
}
