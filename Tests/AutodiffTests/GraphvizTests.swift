import Autodiff
import Testing

/// `Tape.graphviz` draws the recorded graph as DOT text, and `renderSVG(dot:)` renders it with
/// Graphviz when it is installed.
@Suite struct GraphvizTests {
  typealias T = Tensor<Double>

  /// Whether Graphviz's `dot` is on the search path.
  static let isGraphvizInstalled: Bool = (try? renderSVG(dot: "digraph {}")) != nil

  /// f = Σ (x·w + 1)² at x = 3, w = [1, −2]: x·w = [3, −6], + 1 = [4, −5], squared [16, 25],
  /// sum 41. Backwards: ∂f/∂(x·w + 1) = 2·[4, −5] = [8, −10], so ∂f/∂x = 8·1 + (−10)·(−2) = 28
  /// and ∂f/∂w = 3·[8, −10] = [24, −30].
  static func smallGraph() -> (tape: Tape, x: T, w: T, f: T) {
    let tape = Tape()
    let x = tape.watch(T(3))
    let w = tape.watch(T([1, -2]))
    let f = (x * w + 1).squared().sum()
    return (tape, x, w, f)
  }

  /// The DOT text of `smallGraph()`, with the gradient of f and labels x, w, f. `sum()` is a
  /// reduction along every axis followed by a reshape to a scalar; both carry `sum()`'s call site.
  static let smallGraphGolden = #"""
    digraph tape {
      node [fontname="Helvetica", fontsize=11];
      edge [fontname="Helvetica", fontsize=9, color="#555555"];
      n0 [label="x #0\nscalar\nvalue 3\ngrad 28", shape=ellipse, style=filled, fillcolor="#d5e8d4"];
      n1 [label="w #1\n[2]\nvalue ∈ [-2, 1]\ngrad ∈ [-30, 24]", shape=ellipse, style=filled, fillcolor="#d5e8d4"];
      n2 [label="multiply #2\n[2]\nvalue ∈ [-6, 3]\ngrad ∈ [-10, 8]", shape=box, style=rounded];
      n0 -> n2 [label="0"];
      n1 -> n2 [label="1"];
      c3_1 [label="constant\nscalar\nvalue 1", shape=note, style=filled, fillcolor="#eeeeee", fontsize=10];
      n3 [label="add #3\n[2]\nvalue ∈ [-5, 4]\ngrad ∈ [-10, 8]", shape=box, style=rounded];
      n2 -> n3 [label="0"];
      c3_1 -> n3 [label="1"];
      n4 [label="square #4\n[2]\nvalue ∈ [16, 25]\ngrad ∈ [1, 1]", shape=box, style=rounded];
      n3 -> n4;
      n5 [label="sum #5\n[1]\nat AutodiffTests/GraphvizTests.swift:19\nvalue 41\ngrad 1", shape=box, style=rounded];
      n4 -> n5;
      n6 [label="f = reshape #6\nscalar\nat AutodiffTests/GraphvizTests.swift:19\nvalue 41\ngrad 1", shape=box, style="rounded,filled,bold", fillcolor="#f8cecc"];
      n5 -> n6;
    }

    """#

  @Test("The DOT text of a small graph, with gradients and labels, matches the golden text")
  func smallGraphMatchesGolden() {
    let (tape, x, w, f) = Self.smallGraph()
    let text = tape.graphviz(gradientOf: f, labels: ["x": x, "w": w, "f": f])
    #expect(text == Self.smallGraphGolden, "\(text)")
  }

  @Test("Without a target the graph shows values only, and unread results are outputs")
  func valuesOnly() {
    let (tape, _, _, _) = Self.smallGraph()
    let text = tape.graphviz()
    #expect(!text.contains("grad"))
    #expect(
      text.contains(
        #"n6 [label="reshape #6\nscalar\nat AutodiffTests/GraphvizTests.swift:19\nvalue 41", shape=box, style="rounded,filled,bold""#
      ))
    #expect(text.contains(#"n0 [label="watch #0\nscalar\nvalue 3", shape=ellipse"#))
  }

  @Test("A seed gives the gradient of a non-scalar target; nodes it does not reach have none")
  func seededTarget() {
    let tape = Tape()
    let x = tape.watch(T([1, 2]))
    let y = x * 3
    let unrelated = tape.watch(T(5)).squared()
    let text = tape.graphviz(gradientOf: y, seed: T([1, -1]))
    #expect(text.contains(#"n0 [label="watch #0\n[2]\nvalue ∈ [1, 2]\ngrad ∈ [-3, 3]""#))
    #expect(text.contains(#"n1 [label="multiply #1\n[2]\nvalue ∈ [3, 6]\ngrad ∈ [-1, 1]""#))
    #expect(text.contains(#"n3 [label="square #3\nscalar\nvalue 25", shape=box, style=rounded]"#))
    _ = unrelated
  }

  @Test("A named function shows its caller's line without capturing anything")
  func namedFunctionCallSite() {
    let tape = Tape()
    let a = tape.watch(T(shape: [2, 2], scalars: [1, 2, 3, 4]))
    let line = #line + 1
    let product = matmul(a, a)
    let text = tape.graphviz(labels: ["a²": product])
    #expect(
      text.contains(#"a² = matmul #1\n[2, 2]\nat AutodiffTests/GraphvizTests.swift:\#(line)"#))
  }

  @Test("With call sites captured, operators and elementary functions show their caller's line")
  func capturedCallSites() {
    let tape = Tape()
    tape.capturesCallSites = true
    let x = tape.watch(T(2))
    let line = #line + 1
    let y = log(x * x)
    let text = tape.graphviz(gradientOf: y)
    let site = "at AutodiffTests/GraphvizTests.swift:\(line)"
    #expect(text.contains(#"multiply #1\nscalar\n\#(site)\nvalue 4\ngrad 0.25"#), "\(text)")
    #expect(text.contains(#"log #2\nscalar\n\#(site)\nvalue 1.38629\ngrad 1"#), "\(text)")
  }

  @Test("Labels with quotes and backslashes are escaped")
  func escaping() {
    let tape = Tape()
    let x = tape.watch(T(1))
    let text = tape.graphviz(labels: [#"say "x" \ or y"#: x])
    #expect(text.contains(#"n0 [label="say \"x\" \\ or y #0\nscalar\nvalue 1""#))
  }

  @Test(
    "The golden DOT text parses with Graphviz's dot",
    .enabled(if: GraphvizTests.isGraphvizInstalled, "Graphviz is not installed"))
  func goldenParsesWithDot() throws {
    let svg = try renderSVG(dot: Self.smallGraphGolden)
    #expect(svg.contains("<svg"))
    #expect(svg.contains("<title>n6</title>"))
    #expect(svg.contains("<title>c3_1&#45;&gt;n3</title>"))
  }

  @Test(
    "Invalid DOT text makes renderSVG throw dot's own message",
    .enabled(if: GraphvizTests.isGraphvizInstalled, "Graphviz is not installed"))
  func invalidDot() {
    #expect {
      try renderSVG(dot: "digraph { a -> }")
    } throws: { error in
      guard case .dotFailed(let status, let message) = error as? GraphvizError else { return false }
      return status != 0 && message.contains("syntax error")
    }
  }

  @Test("Without dot on the search path, renderSVG throws an error that says how to install it")
  func dotNotFound() {
    #expect(throws: GraphvizError.dotNotFound(searchPath: "/nonexistent:/also/not")) {
      try renderSVG(dot: "digraph {}", searchPath: "/nonexistent:/also/not")
    }
    let description = GraphvizError.dotNotFound(searchPath: "/nonexistent").description
    #expect(description.contains("apt-get install graphviz"))
    #expect(description.contains("/nonexistent"))
  }

  @Test("graphviz(labels:) of a tensor from another tape stops with a message")
  func labelFromAnotherTape() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let tape = Tape()
      _ = tape.watch(Tensor<Double>(1))
      _ = tape.graphviz(labels: ["stranger": Tape().watch(Tensor<Double>(2))])
    }
    let message = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
    #expect(message.contains("graphviz: the tensor labeled \"stranger\""))
    #expect(message.contains("(at AutodiffTests/GraphvizTests.swift:"))
  }
}
